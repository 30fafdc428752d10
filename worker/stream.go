package worker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"sync"

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
// ServeStream calls it once per batch, batches concurrently.
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
// another run sharing the coordinator. An older one is forgotten; a batch
// that refers to it is answered NotFound and the sender sends it again.
const streamSessions = 8

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
// the stream (the last streamSessions), evaluates each batch with ev in a
// goroutine of its own, as the full EvaluateRequest the session and the
// batch make, and sends each answer when ready, its error as a status code
// and message. A batch of an unknown session is answered NotFound, one
// whose session failed its digest check InvalidArgument, an answer larger
// than the message limit ResourceExhausted. A cancel message cancels the
// batch's context and suppresses its answer. Returns when the client
// closes its side (nil) or the stream fails, after every batch goroutine
// has returned.
func ServeStream(stream grpc.BidiStreamingServer[pb.EvaluateStreamRequest, pb.EvaluateStreamResponse], ev BatchEvaluator) error {
	ctx, cancelAll := context.WithCancel(stream.Context())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancelAll()
	var sendMu sync.Mutex
	var sendErr error
	send := func(m *pb.EvaluateStreamResponse) {
		sendMu.Lock()
		defer sendMu.Unlock()
		if sendErr == nil {
			if sendErr = stream.Send(m); sendErr != nil {
				cancelAll()
			}
		}
	}
	var mu sync.Mutex
	running := map[uint64]*streamBatch{} // lookup by batch id only
	var sessions []streamSession         // most recent first
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch k := m.GetKind().(type) {
		case *pb.EvaluateStreamRequest_Session:
			s := k.Session
			ss := streamSession{digest: s.GetDigest(), req: &pb.EvaluateRequest{ProtocolVersion: s.GetProtocolVersion(), RunId: s.GetRunId(),
				Generation: s.GetGeneration(), Environment: s.GetEnvironment(), Conditions: s.GetConditions(), SessionDigest: s.GetDigest()}}
			if !bytes.Equal(sessionDigest(s), s.GetDigest()) {
				ss.err = status.Errorf(codes.InvalidArgument, "session digest %x does not match its content", s.GetDigest())
			}
			sessions = rememberSession(sessions, ss)
		case *pb.EvaluateStreamRequest_Batch:
			b := k.Batch
			var ss *streamSession
			for i := range sessions {
				if bytes.Equal(sessions[i].digest, b.GetSession()) {
					ss = &sessions[i]
					break
				}
			}
			switch {
			case ss == nil:
				send(&pb.EvaluateStreamResponse{BatchId: b.GetId(), Code: uint32(codes.NotFound), Message: "session unknown on this stream"})
				continue
			case ss.err != nil:
				send(errorResponse(b.GetId(), ss.err))
				continue
			}
			req := &pb.EvaluateRequest{ProtocolVersion: ss.req.ProtocolVersion, RunId: ss.req.RunId, Generation: ss.req.Generation,
				Environment: ss.req.Environment, Conditions: ss.req.Conditions, SessionDigest: ss.req.SessionDigest, Tasks: b.GetTasks()}
			bctx, cancel := context.WithCancel(ctx)
			sb := &streamBatch{cancel: cancel}
			id := b.GetId()
			mu.Lock()
			running[id] = sb
			mu.Unlock()
			wg.Go(func() {
				defer cancel()
				resp, err := ev.Evaluate(bctx, req)
				mu.Lock()
				delete(running, id)
				cancelled := sb.cancelled
				mu.Unlock()
				if cancelled {
					return
				}
				if err != nil {
					send(errorResponse(id, err))
					return
				}
				out := &pb.EvaluateStreamResponse{BatchId: id, Results: resp.GetResults(), Worker: resp.GetWorker()}
				if n := proto.Size(out); n > grpcconf.MaxMessageBytes {
					out = &pb.EvaluateStreamResponse{BatchId: id, Code: uint32(codes.ResourceExhausted),
						Message: status.Errorf(codes.ResourceExhausted, "answer of %d bytes exceeds the limit of %d", n, grpcconf.MaxMessageBytes).Error()}
				}
				send(out)
			})
		case *pb.EvaluateStreamRequest_Cancel:
			mu.Lock()
			if sb, ok := running[k.Cancel]; ok {
				sb.cancelled = true
				sb.cancel()
			}
			mu.Unlock()
		}
	}
}

type streamSession struct {
	digest []byte
	req    *pb.EvaluateRequest // the shared fields, no tasks
	err    error               // the session is refused: every batch of it gets this
}

type streamBatch struct {
	cancel    context.CancelFunc
	cancelled bool // by the client: answer nothing
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

func errorResponse(id uint64, err error) *pb.EvaluateStreamResponse {
	st := status.Convert(err)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		st = status.FromContextError(err)
	}
	return &pb.EvaluateStreamResponse{BatchId: id, Code: uint32(st.Code()), Message: st.Message()}
}
