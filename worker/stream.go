package worker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/mesaopt/mesaopt/internal/grpcconf"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
)

// BatchEvaluator answers one batch as the unary Evaluate RPC does, errors
// as gRPC status errors. Implementations must be safe for concurrent use:
// ServeStream calls it once per batch, batches concurrently, and reuses
// the request message once Evaluate returned: keep no pointer to req
// itself (its tasks and shared fields are not reused).
type BatchEvaluator interface {
	Evaluate(ctx context.Context, req *pb.EvaluateRequest) (*pb.EvaluateResponse, error)
}

// SessionDigest returns the SHA-256 (32 bytes) of the fields every batch of
// req's generation shares: protocol version, run id, generation,
// environment and conditions, deterministically encoded. The tasks and
// req.SessionDigest itself do not count. Computed once per generation by
// whoever builds the requests, and again by a worker receiving the session.
func SessionDigest(req *pb.EvaluateRequest) []byte {
	return sessionDigest(&pb.EvaluationSession{ProtocolVersion: req.GetProtocolVersion(), RunId: req.GetRunId(),
		Generation: req.GetGeneration(), Environment: req.GetEnvironment(), Conditions: req.GetConditions()})
}

func sessionDigest(s *pb.EvaluationSession) []byte {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&pb.EvaluationSession{ProtocolVersion: s.GetProtocolVersion(),
		RunId: s.GetRunId(), Generation: s.GetGeneration(), Environment: s.GetEnvironment(), Conditions: s.GetConditions()})
	if err != nil {
		// Only invalid UTF-8 in a string field fails; such a request is
		// refused as invalid by every worker anyway.
		b = []byte(err.Error())
	}
	sum := sha256.Sum256(b)
	return sum[:]
}

// SessionOf returns the session message of req's shared fields under its
// digest (req.SessionDigest, computed if empty).
func SessionOf(req *pb.EvaluateRequest) *pb.EvaluationSession {
	d := req.GetSessionDigest()
	if len(d) == 0 {
		d = SessionDigest(req)
	}
	return &pb.EvaluationSession{Digest: d, ProtocolVersion: req.GetProtocolVersion(), RunId: req.GetRunId(),
		Generation: req.GetGeneration(), Environment: req.GetEnvironment(), Conditions: req.GetConditions()}
}

// streamSessions is how many sessions a stream remembers, most recent
// first: a generation's, and room for the previous one's late batches and
// the other runs sharing the coordinator (a sweep's runs interleave their
// batches on every worker). An older one is forgotten; a batch that refers
// to it is answered NotFound and the sender sends it again. A session is a
// few kilobytes (environment and instance seeds), so 64 cost little.
const streamSessions = 64

// Streaming returns an EvaluatorService server whose Evaluate is ev's and
// whose EvaluateStream serves ev through ServeStream: how test doubles
// written as a unary Evaluate serve the coordinator's dispatch stream.
func Streaming(ev BatchEvaluator) rpc.EvaluatorServiceServer { return streaming{ev: ev} }

type streaming struct {
	rpc.UnimplementedEvaluatorServiceServer
	ev BatchEvaluator
}

func (s streaming) Evaluate(ctx context.Context, req *pb.EvaluateRequest) (*pb.EvaluateResponse, error) {
	return s.ev.Evaluate(ctx, req)
}

func (s streaming) EvaluateStream(stream grpc.BidiStreamingServer[pb.EvaluateStreamRequest, pb.EvaluateStreamResponse]) error {
	return ServeStream(stream, s.ev)
}

// ServeStream serves one EvaluateStream call: it keeps the sessions sent on
// the stream (the last streamSessions), evaluates each batch with ev,
// batches concurrently in goroutines the stream keeps for it, as the full
// EvaluateRequest the session and the batch make, and sends the answers ready at the time together, each
// error as a status code and message, each result with the batch's
// evaluation time (see AddEvalTime). A batch of an unknown session is
// answered NotFound, one whose session failed its digest check
// InvalidArgument, an answer larger than the message limit
// ResourceExhausted. A cancel cancels the batch's context and suppresses
// its answer. Returns when the client closes its side (nil) or the stream
// fails, after every goroutine it started has returned.
func ServeStream(stream grpc.BidiStreamingServer[pb.EvaluateStreamRequest, pb.EvaluateStreamResponse], ev BatchEvaluator) error {
	ctx, cancelAll := context.WithCancel(stream.Context())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancelAll()
	out := &answerQueue{wake: make(chan struct{}, 1)}
	wg.Go(func() { out.run(ctx, stream, cancelAll) })
	var mu sync.Mutex
	running := map[uint64]*streamBatch{} // lookup by batch id only
	var sessions []streamSession         // most recent first
	// Runners: the goroutines evaluating batches. A batch goes to an idle
	// one (blocked sending on idle's other end) or, when none is, to a new
	// one; they end with the stream, so a stream keeps as many as it had
	// batches at once, their stacks grown already.
	idle := make(chan *streamBatch)
	done := func(sb *streamBatch) (cancelled bool) {
		mu.Lock()
		delete(running, sb.id)
		cancelled = sb.cancelled
		mu.Unlock()
		sb.reset()
		streamBatches.Put(sb)
		return cancelled
	}
	run := func(sb *streamBatch) { sb.evaluate(ev, out, done) }
	m := &pb.EvaluateStreamRequest{} // reused: the batches it held keep their tasks
	for {
		err := stream.RecvMsg(m)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, s := range m.GetSessions() {
			ss := streamSession{digest: s.GetDigest(), req: &pb.EvaluateRequest{ProtocolVersion: s.GetProtocolVersion(), RunId: s.GetRunId(),
				Generation: s.GetGeneration(), Environment: s.GetEnvironment(), Conditions: s.GetConditions(), SessionDigest: s.GetDigest()}}
			if !bytes.Equal(sessionDigest(s), s.GetDigest()) {
				ss.err = status.Errorf(codes.InvalidArgument, "session digest %x does not match its content", s.GetDigest())
			}
			sessions = rememberSession(sessions, ss)
		}
		mu.Lock()
		for _, id := range m.GetCancels() {
			if sb, ok := running[id]; ok {
				sb.cancelled = true
				sb.cancel()
			}
		}
		mu.Unlock()
		for _, b := range m.GetBatches() {
			var ss *streamSession
			for i := range sessions {
				if bytes.Equal(sessions[i].digest, b.GetSession()) {
					ss = &sessions[i]
					break
				}
			}
			switch {
			case ss == nil:
				out.put(&pb.BatchAnswer{BatchId: b.GetId(), Code: uint32(codes.NotFound), Message: "session unknown on this stream"}, 0)
				continue
			case ss.err != nil:
				out.put(errorAnswer(b.GetId(), ss.err), 0)
				continue
			}
			sb := streamBatches.Get().(*streamBatch)
			sb.Context, sb.cancel = context.WithCancel(ctx)
			sb.id = b.GetId()
			sb.req.ProtocolVersion, sb.req.RunId, sb.req.Generation = ss.req.ProtocolVersion, ss.req.RunId, ss.req.Generation
			sb.req.Environment, sb.req.Conditions, sb.req.SessionDigest = ss.req.Environment, ss.req.Conditions, ss.req.SessionDigest
			sb.req.Tasks = b.GetTasks()
			mu.Lock()
			running[sb.id] = sb
			mu.Unlock()
			select {
			case idle <- sb: // a runner was waiting
			default:
				first := sb
				wg.Go(func() {
					for sb := first; ; {
						run(sb)
						select {
						case sb = <-idle:
						case <-ctx.Done():
							return
						}
					}
				})
			}
		}
	}
}

// evaluate evaluates sb with ev and queues its answer on out, unless
// cancelled; done takes sb out of the running batches and reports whether
// it was cancelled.
func (sb *streamBatch) evaluate(ev BatchEvaluator, out *answerQueue, done func(*streamBatch) bool) {
	start := time.Now()
	resp, err := ev.Evaluate(sb, &sb.req)
	sb.cancel()
	spent := sb.spent.Load()
	if spent == 0 { // ev does not report its slots: its wall time
		spent = int64(time.Since(start))
	}
	id := sb.id
	if done(sb) {
		return
	}
	if err != nil {
		out.put(errorAnswer(id, err), 0)
		return
	}
	a := &pb.BatchAnswer{BatchId: id, Results: resp.GetResults(), EvalNs: uint64(max(1, spent))}
	out.worker.CompareAndSwap(nil, &resp.Worker)
	n := proto.Size(a)
	if n > grpcconf.MaxMessageBytes-1024 {
		a = &pb.BatchAnswer{BatchId: id, Code: uint32(codes.ResourceExhausted),
			Message: fmt.Sprintf("answer of %d bytes exceeds the limit of %d", n, grpcconf.MaxMessageBytes)}
		n = 0
	}
	out.put(a, n)
}

// answerQueue collects a stream's answers for its sender goroutine, which
// sends what is ready in one message (up to coalesceBytes).
type answerQueue struct {
	wake   chan struct{} // cap 1: answers are queued
	worker atomic.Pointer[string]
	mu     sync.Mutex
	queue  []*pb.BatchAnswer
	sizes  []int // each queued answer's encoded size, bytes
}

// coalesceBytes bounds a coalesced message (beyond one batch or answer),
// well under the gRPC limit.
const coalesceBytes = 1 << 20

// put queues a, whose encoded size is size bytes (0: not computed yet).
func (q *answerQueue) put(a *pb.BatchAnswer, size int) {
	if size == 0 {
		size = proto.Size(a)
	}
	q.mu.Lock()
	q.queue = append(q.queue, a)
	q.sizes = append(q.sizes, size)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// run sends the queued answers until ctx ends or a send fails (then it
// cancels the stream's work with stop). Woken by an answer, it first lets
// the batches about to finish run (runtime.Gosched), so that their answers
// share the message.
func (q *answerQueue) run(ctx context.Context, stream grpc.BidiStreamingServer[pb.EvaluateStreamRequest, pb.EvaluateStreamResponse], stop context.CancelFunc) {
	var ready []*pb.BatchAnswer
	var sizes []int
	m := &pb.EvaluateStreamResponse{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		}
		runtime.Gosched()
		q.mu.Lock()
		ready, q.queue = q.queue, ready[:0]
		sizes, q.sizes = q.sizes, sizes[:0]
		q.mu.Unlock()
		for len(ready) > 0 {
			n, size := 0, 0
			for n < len(ready) && (n == 0 || size+sizes[n] <= coalesceBytes) {
				size += sizes[n]
				n++
			}
			m.Answers = ready[:n]
			if w := q.worker.Load(); w != nil {
				m.Worker = *w
			}
			if err := stream.Send(m); err != nil {
				stop()
				return
			}
			clear(ready[:n])
			ready, sizes = ready[n:], sizes[n:]
		}
		ready = ready[:0]
	}
}

type streamSession struct {
	digest []byte
	req    *pb.EvaluateRequest // the shared fields, no tasks
	err    error               // the session is refused: every batch of it gets this
}

// streamBatch is one batch being evaluated: its request, its context
// (cancelled by cancel), which also carries the evaluation time
// AddEvalTime reports. Pooled: ev must not keep the request after its
// Evaluate returned.
type streamBatch struct {
	context.Context
	cancel    context.CancelFunc
	id        uint64
	req       pb.EvaluateRequest // the session's fields and the batch's tasks
	cancelled bool               // by the client: answer nothing; under ServeStream's mu
	spent     atomic.Int64       // evaluation time reported with AddEvalTime, ns
}

var streamBatches = sync.Pool{New: func() any { return new(streamBatch) }}

func (sb *streamBatch) reset() {
	sb.Context, sb.cancel, sb.id, sb.cancelled = nil, nil, 0, false
	sb.req.Reset()
	sb.spent.Store(0)
}

type evalTimeKey struct{}

func (b *streamBatch) Value(key any) any {
	if key == (evalTimeKey{}) {
		return &b.spent
	}
	return b.Context.Value(key)
}

// AddEvalTime adds d to the evaluation time of the stream batch whose
// context ctx is (or derives from); without one it does nothing. A
// BatchEvaluator that evaluates a batch on several slots at once calls it
// once per slot with the time that slot worked for the batch, waiting for a
// slot excluded, so that BatchAnswer.eval_ns measures the batch's own cost
// and not the queue it waited in. When a batch reports nothing, ServeStream
// reports the wall time of its Evaluate call. Safe for concurrent use.
func AddEvalTime(ctx context.Context, d time.Duration) {
	if p, ok := ctx.Value(evalTimeKey{}).(*atomic.Int64); ok {
		p.Add(int64(d))
	}
}

// rememberSession puts s first, drops an older entry of the same digest
// and keeps at most streamSessions.
func rememberSession(ss []streamSession, s streamSession) []streamSession {
	out := make([]streamSession, 0, streamSessions)
	out = append(out, s)
	for _, o := range ss {
		if len(out) < streamSessions && !bytes.Equal(o.digest, s.digest) {
			out = append(out, o)
		}
	}
	return out
}

func errorAnswer(id uint64, err error) *pb.BatchAnswer {
	st := status.Convert(err)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		st = status.FromContextError(err)
	}
	return &pb.BatchAnswer{BatchId: id, Code: uint32(st.Code()), Message: st.Message()}
}
