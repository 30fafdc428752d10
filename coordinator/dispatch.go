package coordinator

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/worker"
)

// Evaluator scores one batch of genomes. The Dispatcher implements it over
// gRPC workers; worker.Engine implements it in-process. Implementations
// must be safe for concurrent use and return results in task order.
type Evaluator interface {
	Evaluate(ctx context.Context, req *pb.EvaluateRequest) (*pb.EvaluateResponse, error)
}

// Dispatcher routes batches to the workers that gossip announces. Each
// worker takes at most its capacity of concurrent batches; a call that
// fails (worker gone, deadline missed) is retried on another worker, and a
// worker that failed is rested for a moment first. Because results are pure
// functions of the request, which worker answers never changes them.
type Dispatcher struct {
	log         *slog.Logger
	timeout     time.Duration
	maxAttempts int

	mu      sync.Mutex
	workers map[string]*remote // lookup by gossip name; never ranged where order matters
	changed chan struct{}      // closed and replaced whenever a slot may have freed up
	closed  bool
}

type remote struct {
	name      string
	addr      string
	capacity  int
	inflight  int
	restUntil time.Time
	conn      *grpc.ClientConn
	client    pb.EvaluatorServiceClient
}

// NewDispatcher returns a dispatcher whose calls have the given deadline.
func NewDispatcher(timeout time.Duration, log *slog.Logger) *Dispatcher {
	return &Dispatcher{log: log, timeout: timeout, maxAttempts: 8, workers: map[string]*remote{}, changed: make(chan struct{})}
}

// ClientOptions are the gRPC dial options toward workers and coordinators:
// keepalive pings so a half-open connection is noticed within seconds.
func ClientOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second, PermitWithoutStream: true}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20)),
	}
}

func (d *Dispatcher) notifyLocked() {
	close(d.changed)
	d.changed = make(chan struct{})
}

// Upsert adds or updates a worker from its gossip metadata. A worker of
// another protocol version is refused with a log line saying so.
func (d *Dispatcher) Upsert(name string, m worker.Meta) {
	if m.Role != worker.RoleWorker {
		return
	}
	if m.Protocol != worker.ProtocolVersion {
		d.log.Error("refusing worker: protocol version differs", "worker", name,
			"worker_protocol", m.Protocol, "coordinator_protocol", worker.ProtocolVersion)
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	if w, ok := d.workers[name]; ok && w.addr == m.GRPC {
		w.capacity = max(1, m.Capacity)
		d.notifyLocked()
		return
	} else if ok {
		_ = w.conn.Close()
	}
	conn, err := grpc.NewClient(m.GRPC, ClientOptions()...)
	if err != nil {
		d.log.Error("worker address unusable", "worker", name, "addr", m.GRPC, "err", err)
		return
	}
	d.workers[name] = &remote{name: name, addr: m.GRPC, capacity: max(1, m.Capacity), conn: conn, client: pb.NewEvaluatorServiceClient(conn)}
	d.log.Info("worker joined", "worker", name, "addr", m.GRPC, "capacity", m.Capacity)
	d.notifyLocked()
}

// Remove forgets a worker; its in-flight calls fail and are retried elsewhere.
func (d *Dispatcher) Remove(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if w, ok := d.workers[name]; ok {
		_ = w.conn.Close()
		delete(d.workers, name)
		d.log.Info("worker left", "worker", name)
		d.notifyLocked()
	}
}

// Workers returns the number of usable workers and their total capacity.
func (d *Dispatcher) Workers() (n, capacity int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, w := range d.workers {
		n++
		capacity += w.capacity
	}
	return n, capacity
}

// Close drops every worker connection. Idempotent.
func (d *Dispatcher) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.closed = true
	for name, w := range d.workers {
		_ = w.conn.Close()
		delete(d.workers, name)
	}
	d.notifyLocked()
}

// acquire blocks until some worker has a free slot, preferring the least
// loaded (then the first by name), and reserves it.
func (d *Dispatcher) acquire(ctx context.Context) (*remote, error) {
	warned := false
	for {
		d.mu.Lock()
		if d.closed {
			d.mu.Unlock()
			return nil, fmt.Errorf("dispatcher closed")
		}
		now := time.Now()
		var cands []*remote
		var wake time.Duration
		for _, w := range d.workers {
			if w.inflight >= w.capacity {
				continue
			}
			if now.Before(w.restUntil) {
				if wait := w.restUntil.Sub(now); wake == 0 || wait < wake {
					wake = wait
				}
				continue
			}
			cands = append(cands, w)
		}
		if len(cands) > 0 {
			best := slices.MinFunc(cands, func(a, b *remote) int {
				if c := cmp.Compare(a.inflight*b.capacity, b.inflight*a.capacity); c != 0 {
					return c
				}
				return cmp.Compare(a.name, b.name)
			})
			best.inflight++
			d.mu.Unlock()
			return best, nil
		}
		changed := d.changed
		none := len(d.workers) == 0
		d.mu.Unlock()
		if none && !warned {
			d.log.Warn("waiting for workers to join")
			warned = true
		}
		if err := waitFor(ctx, changed, wake); err != nil {
			return nil, err
		}
	}
}

type attemptTimeoutKey struct{}

// WithAttemptTimeout returns a context under which the Dispatcher gives
// each call to a worker at most d before retrying elsewhere (the spec's
// evaluation_timeout), instead of its own default.
func WithAttemptTimeout(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, attemptTimeoutKey{}, d)
}

func attemptTimeout(ctx context.Context, def time.Duration) time.Duration {
	if d, ok := ctx.Value(attemptTimeoutKey{}).(time.Duration); ok && d > 0 {
		return d
	}
	return def
}

// waitFor blocks until changed is closed, wake has passed (if > 0) or ctx ends.
func waitFor(ctx context.Context, changed <-chan struct{}, wake time.Duration) error {
	var timer <-chan time.Time
	if wake > 0 {
		t := time.NewTimer(wake)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-changed:
	case <-timer:
	}
	return nil
}

func (d *Dispatcher) release(w *remote, failed bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	w.inflight--
	if failed {
		w.restUntil = time.Now().Add(time.Second)
	}
	d.notifyLocked()
}

// Evaluate sends req to a worker, retrying on others until one answers,
// the context ends, or maxAttempts calls failed. InvalidArgument answers
// are returned at once: another worker would refuse the same batch.
func (d *Dispatcher) Evaluate(ctx context.Context, req *pb.EvaluateRequest) (*pb.EvaluateResponse, error) {
	var last error
	for attempt := 1; attempt <= d.maxAttempts; attempt++ {
		w, err := d.acquire(ctx)
		if err != nil {
			if last != nil {
				return nil, fmt.Errorf("%w (last worker error: %v)", err, last)
			}
			return nil, err
		}
		cctx, cancel := context.WithTimeout(ctx, attemptTimeout(ctx, d.timeout))
		resp, err := w.client.Evaluate(cctx, req)
		cancel()
		if err == nil {
			err = checkResponse(req, resp)
		}
		d.release(w, err != nil)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		switch status.Code(err) {
		case codes.InvalidArgument:
			return nil, err
		case codes.FailedPrecondition:
			d.log.Error("worker refused the protocol; dropping it", "worker", w.name, "err", err)
			d.Remove(w.name)
		default:
			d.log.Warn("batch failed; retrying on another worker", "worker", w.name, "attempt", attempt, "err", err)
		}
		last = err
	}
	return nil, fmt.Errorf("batch of generation %d failed %d times: %w", req.GetGeneration(), d.maxAttempts, last)
}

// checkResponse verifies a worker answered every task, in order, under
// every condition, so nothing is missing or counted twice.
func checkResponse(req *pb.EvaluateRequest, resp *pb.EvaluateResponse) error {
	tasks := req.GetTasks()
	if len(resp.GetResults()) != len(tasks) {
		return status.Errorf(codes.Internal, "worker %s answered %d results for %d tasks", resp.GetWorker(), len(resp.GetResults()), len(tasks))
	}
	for i, r := range resp.GetResults() {
		if r.GetIndividualId() != tasks[i].GetIndividualId() || len(r.GetConditions()) != len(req.GetConditions()) {
			return status.Errorf(codes.Internal, "worker %s answered result %d for individual %d with %d conditions, want individual %d with %d",
				resp.GetWorker(), i, r.GetIndividualId(), len(r.GetConditions()), tasks[i].GetIndividualId(), len(req.GetConditions()))
		}
	}
	return nil
}

// membership turns gossip events into dispatcher updates. memberlist calls
// it from its own goroutines, never concurrently for one node.
type membership struct {
	d   *Dispatcher
	log *slog.Logger
}

func (m membership) NotifyJoin(n *memberlist.Node)   { m.update(n) }
func (m membership) NotifyUpdate(n *memberlist.Node) { m.update(n) }
func (m membership) NotifyLeave(n *memberlist.Node)  { m.d.Remove(n.Name) }

func (m membership) update(n *memberlist.Node) {
	meta, err := worker.DecodeMeta(n.Meta)
	if err != nil {
		m.log.Warn("ignoring gossip member with unreadable metadata", "member", n.Name, "err", err)
		return
	}
	m.d.Upsert(n.Name, meta)
}
