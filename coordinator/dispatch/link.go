package dispatch

import (
	"bytes"
	"context"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/worker"
)

// link is the dispatch stream to one worker process (EvaluateStream). A
// batch is queued with send and answered on the attempt's channel; the
// link's sender goroutine opens the stream and writes the queue, its
// receiver goroutine matches answers to attempts by batch id. Neither a
// slow connection nor a hung worker ever blocks the caller of send: an
// attempt that waits too long is abandoned and its batch cancelled on the
// worker.
//
// A session (the fields a generation's batches share) goes out once per
// link, before the first batch that refers to it; the link remembers the
// last sessionsKept digests it sent. A worker that has forgotten one
// answers NotFound and the attempt sends it again. A link that failed
// fails every pending attempt (Unavailable, or the stream's status) and is
// replaced by a new one, with no session, at the next send: a restarted
// or replaced worker process gets every session anew.
//
// Goroutines: the sender and receiver are owned by the link and joined by
// the Dispatcher's WaitGroup; both end once the link's context is
// cancelled (close) or the stream fails.
type link struct {
	ctx    context.Context
	cancel context.CancelFunc
	wake   chan struct{} // cap 1: the queue is not empty

	mu      sync.Mutex
	pending map[uint64]*attempt // by batch id; lookup only
	queue   []queued            // to send, in order
	sent    [][]byte            // session digests sent, most recent first
	err     error               // once failed: every later send fails at once
	nextID  uint64
}

// sessionsKept matches how many sessions a worker keeps per stream.
const sessionsKept = 4

type queued struct {
	m      *pb.EvaluateStreamRequest
	pooled *batchMsg // m belongs to it; back to the pool once sent
}

// batchMsg is a batch message with its oneof wrapper, pooled: one
// allocation-free send per batch.
type batchMsg struct {
	m pb.EvaluateStreamRequest
	k pb.EvaluateStreamRequest_Batch
	b pb.EvaluationBatch
}

var batchPool = sync.Pool{New: func() any {
	bm := &batchMsg{}
	bm.k.Batch = &bm.b
	bm.m.Kind = &bm.k
	return bm
}}

var responsePool = sync.Pool{New: func() any { return new(pb.EvaluateStreamResponse) }}

// attempt is one call of a batch to one worker.
type attempt struct {
	w        *remote
	l        *link
	id       uint64
	out      chan<- outcome // the evaluation's; receives this attempt's outcome exactly once unless abandoned
	resent   bool           // the session was sent again after a NotFound answer
	deadline int64          // unix ns
	start    int64          // unix ns
}

type outcome struct {
	a    *attempt
	resp *pb.EvaluateStreamResponse // pooled: return with putResponse
	err  error
}

func putResponse(r *pb.EvaluateStreamResponse) {
	if r != nil {
		r.Reset()
		responsePool.Put(r)
	}
}

// newLink starts the link's goroutines on w's connection.
func (d *Dispatcher) newLink(w *remote) *link {
	ctx, cancel := context.WithCancel(d.base)
	l := &link{ctx: ctx, cancel: cancel, wake: make(chan struct{}, 1), pending: map[uint64]*attempt{}}
	d.links.Go(func() { l.run(w) })
	return l
}

// run opens the stream and writes the queue until the link fails.
func (l *link) run(w *remote) {
	stream, err := w.client.EvaluateStream(l.ctx)
	if err != nil {
		l.fail(err)
		return
	}
	recvDone := make(chan struct{})
	go func() {
		defer close(recvDone)
		for {
			r := responsePool.Get().(*pb.EvaluateStreamResponse)
			if err := stream.RecvMsg(r); err != nil {
				putResponse(r)
				l.fail(err)
				return
			}
			l.mu.Lock()
			a, ok := l.pending[r.GetBatchId()]
			delete(l.pending, r.GetBatchId())
			l.mu.Unlock()
			if !ok { // abandoned: nobody waits
				putResponse(r)
				continue
			}
			a.out <- outcome{a: a, resp: r}
		}
	}()
	defer func() { <-recvDone }()
	var batch []queued
	for {
		select {
		case <-l.ctx.Done():
			l.fail(l.ctx.Err())
			return
		case <-l.wake:
		}
		l.mu.Lock()
		batch, l.queue = l.queue, batch[:0]
		l.mu.Unlock()
		for i, q := range batch {
			err := stream.Send(q.m)
			if q.pooled != nil {
				q.pooled.b.Tasks, q.pooled.b.Session, q.pooled.b.Id = nil, nil, 0
				batchPool.Put(q.pooled)
			}
			batch[i] = queued{}
			if err != nil {
				for _, r := range batch[i+1:] {
					if r.pooled != nil {
						batchPool.Put(r.pooled)
					}
				}
				clear(batch)
				l.fail(err)
				return
			}
		}
	}
}

// fail marks the link failed, fails every pending attempt and stops the
// goroutines. Idempotent; the first error stays.
func (l *link) fail(err error) {
	if s, ok := status.FromError(err); !ok || s.Code() == codes.OK || s.Code() == codes.Canceled {
		err = status.Errorf(codes.Unavailable, "dispatch stream: %v", err)
	}
	l.mu.Lock()
	if l.err == nil {
		l.err = err
	}
	pending := l.pending
	l.pending = map[uint64]*attempt{}
	for _, q := range l.queue {
		if q.pooled != nil {
			batchPool.Put(q.pooled)
		}
	}
	l.queue = nil
	err = l.err
	l.mu.Unlock()
	l.cancel()
	for _, a := range pending {
		a.out <- outcome{a: a, err: err}
	}
}

// send queues req's batch for attempt a (and its session first, if not
// sent on this link yet). When the link has failed, a's outcome is that
// failure, at once.
func (l *link) send(a *attempt, req *pb.EvaluateRequest, digest []byte) {
	l.mu.Lock()
	if l.err != nil {
		err := l.err
		l.mu.Unlock()
		a.out <- outcome{a: a, err: err}
		return
	}
	l.nextID++
	a.id, a.l = l.nextID, l
	l.pending[a.id] = a
	known := false
	for _, s := range l.sent {
		if bytes.Equal(s, digest) {
			known = true
			break
		}
	}
	if !known {
		s := worker.SessionOf(req)
		s.Digest = digest
		l.queue = append(l.queue, queued{m: &pb.EvaluateStreamRequest{Kind: &pb.EvaluateStreamRequest_Session{Session: s}}})
		if len(l.sent) == sessionsKept {
			l.sent = l.sent[:sessionsKept-1]
		}
		l.sent = append([][]byte{digest}, l.sent...)
	}
	bm := batchPool.Get().(*batchMsg)
	bm.b.Id, bm.b.Session, bm.b.Tasks = a.id, digest, req.GetTasks()
	l.queue = append(l.queue, queued{m: &bm.m, pooled: bm})
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// forget drops digest from the sessions sent, after the worker said it
// does not know it.
func (l *link) forget(digest []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, s := range l.sent {
		if bytes.Equal(s, digest) {
			l.sent = append(l.sent[:i:i], l.sent[i+1:]...)
			break
		}
	}
}

// abandon withdraws a pending attempt and cancels its batch on the worker.
// It reports false when the answer was already taken for delivery: it is
// then in (or about to be in) a.out, and the caller must receive it.
func (l *link) abandon(a *attempt) bool {
	l.mu.Lock()
	if l.pending[a.id] != a {
		l.mu.Unlock()
		return false
	}
	delete(l.pending, a.id)
	if l.err == nil {
		l.queue = append(l.queue, queued{m: &pb.EvaluateStreamRequest{Kind: &pb.EvaluateStreamRequest_Cancel{Cancel: a.id}}})
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return true
}

// failed reports whether the link can take no more batches.
func (l *link) failed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err != nil
}
