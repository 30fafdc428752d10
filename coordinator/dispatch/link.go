package dispatch

import (
	"bytes"
	"context"
	"runtime"
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
	queue   outbox              // to send
	sent    [][]byte            // session digests sent, most recent first
	err     error               // once failed: every later send fails at once
	nextID  uint64
}

// sessionsKept is how many of the last sessions sent a link counts as
// known to the worker, and the most new ones one message carries: twice
// it is what a worker keeps per stream (worker.streamSessions, 64): the
// sessions of up to 32 concurrent runs stay known.
const sessionsKept = 32

// outbox is what the sender has yet to send. One message carries it all
// (batches up to coalesceBytes, sessions up to sessionsKept), sessions
// before the batches that need them.
type outbox struct {
	sessions []*pb.EvaluationSession
	opens    []int                 // for each session, the index of the batch it was queued with
	batches  []*pb.EvaluationBatch // pooled: back to batchPool once sent
	sizes    []int                 // each batch's encoded size, bytes
	cancels  []uint64
}

// coalesceBytes bounds the batches coalesced into one message (beyond the
// first), well under the gRPC limit.
const coalesceBytes = 1 << 20

var batchPool = sync.Pool{New: func() any { return new(pb.EvaluationBatch) }}

func putBatch(b *pb.EvaluationBatch) {
	b.Id, b.Session, b.Tasks = 0, nil, nil
	batchPool.Put(b)
}

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
	a      *attempt
	ans    *pb.BatchAnswer
	worker string
	err    error
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
		r := &pb.EvaluateStreamResponse{} // reused: the answers it held are handed over
		var ready []outcome
		for {
			if err := stream.RecvMsg(r); err != nil {
				l.fail(err)
				return
			}
			l.mu.Lock()
			for _, ans := range r.GetAnswers() {
				if a, ok := l.pending[ans.GetBatchId()]; ok { // else abandoned: nobody waits
					delete(l.pending, ans.GetBatchId())
					ready = append(ready, outcome{a: a, ans: ans, worker: r.GetWorker()})
				}
			}
			l.mu.Unlock()
			for _, o := range ready {
				o.a.out <- o
			}
			clear(ready)
			ready = ready[:0]
		}
	}()
	defer func() { <-recvDone }()
	var out outbox
	m := &pb.EvaluateStreamRequest{}
	for {
		select {
		case <-l.ctx.Done():
			l.fail(l.ctx.Err())
			return
		case <-l.wake:
		}
		runtime.Gosched() // let the calls about to send run first: their batches share the message
		l.mu.Lock()
		out, l.queue = l.queue, outbox{sessions: out.sessions[:0], opens: out.opens[:0], batches: out.batches[:0], sizes: out.sizes[:0], cancels: out.cancels[:0]}
		l.mu.Unlock()
		m.Cancels = out.cancels
		// A message's sessions all come before its batches, and the worker
		// keeps only the most recent ones: at most sessionsKept new ones per
		// message, so that they and the sessionsKept this link counts as
		// known all fit and every batch's session is there when the worker
		// reads the batch (concurrent runs interleave their batches).
		sent, si := 0, 0 // batches sent before this message; sessions sent
		for first := true; first || len(out.batches) > 0; first = false {
			n, size, sj := 0, 0, si
			for n < len(out.batches) {
				sk := sj
				for sk < len(out.sessions) && out.opens[sk] == sent+n {
					sk++
				}
				if n > 0 && (size+out.sizes[n] > coalesceBytes || sk-si > sessionsKept) {
					break
				}
				size += out.sizes[n]
				sj = sk
				n++
			}
			m.Sessions, si = out.sessions[si:sj], sj
			m.Batches = out.batches[:n]
			sent += n
			err := stream.Send(m)
			for _, b := range out.batches[:n] {
				putBatch(b)
			}
			clear(out.batches[:n])
			out.batches, out.sizes = out.batches[n:], out.sizes[n:]
			m.Sessions, m.Cancels = nil, nil
			if err != nil {
				for _, b := range out.batches {
					putBatch(b)
				}
				l.fail(err)
				return
			}
		}
		clear(out.sessions)
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
	for _, b := range l.queue.batches {
		putBatch(b)
	}
	l.queue = outbox{}
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
func (l *link) send(a *attempt, req *pb.EvaluateRequest, digest []byte, size int) {
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
		l.queue.sessions = append(l.queue.sessions, s)
		l.queue.opens = append(l.queue.opens, len(l.queue.batches))
		if len(l.sent) == sessionsKept {
			l.sent = l.sent[:sessionsKept-1]
		}
		l.sent = append([][]byte{digest}, l.sent...)
	}
	b := batchPool.Get().(*pb.EvaluationBatch)
	b.Id, b.Session, b.Tasks = a.id, digest, req.GetTasks()
	l.queue.batches = append(l.queue.batches, b)
	l.queue.sizes = append(l.queue.sizes, size)
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
		l.queue.cancels = append(l.queue.cancels, a.id)
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
