// Package worker provides the mesaopt worker: an EvaluatorService gRPC
// server that scores genomes with the fitness package, and a member of the
// gossip cluster through which coordinators find it.
//
// Lifecycle:
//
//	w, err := worker.Start(ctx, cfg) // listen, serve gRPC, join the gossip cluster
//	...
//	w.Shutdown(ctx)                  // leave the cluster, drain in-flight calls, stop
//
// Or simply worker.Run(ctx, cfg), which blocks until ctx ends and then shuts
// down. The worker holds no state a coordinator depends on: results are
// pure functions of the request, so any worker may answer any batch.
package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/mesaopt/mesaopt/internal/grpcconf"
	"github.com/mesaopt/mesaopt/internal/mtls"
	"github.com/mesaopt/mesaopt/internal/retry"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
)

// Config configures a worker.
type Config struct {
	// Name is the unique gossip name; empty means "worker-<host>-<pid>-<port>".
	Name string
	// Listen is the gRPC address, e.g. "127.0.0.1:0".
	Listen string
	// GossipBind is the gossip address, e.g. "127.0.0.1:0".
	GossipBind string
	// Gossip holds the gossip keyring and advertised gossip address.
	Gossip Gossip
	// Advertise is the gRPC address (host:port) coordinators dial, when
	// it differs from Listen's (bound to 0.0.0.0 in a container): it goes
	// into the gossip metadata. Empty: the address Listen bound, or for an
	// unspecified host (0.0.0.0) the machine's private address
	// (ReachableAddr).
	Advertise string
	// EvaluationDigest overrides the evaluation digest announced; empty
	// means EvaluationDigest(). Only tests of a digest mismatch set it.
	EvaluationDigest string
	// Join lists gossip addresses (host:port) of existing members, usually
	// the coordinator's; at least one must answer.
	Join []string
	// Capacity is the number of genomes evaluated in parallel, ≥ 1.
	Capacity int
	// JoinTimeout bounds the attempt to join the cluster.
	JoinTimeout time.Duration
	// Build names this worker's build in its gossip metadata (default: the
	// module version or VCS revision). With the rest of the metadata it
	// must fit memberlist's 512 bytes, or Start fails with ErrMetaTooLarge.
	Build string
	// Protocol overrides the protocol version announced and accepted; 0
	// means ProtocolVersion. Only tests of version mismatch set it.
	Protocol uint32
	// TLS, when set, is this worker's identity (role worker): it serves
	// TLS and answers EvaluatorService only to callers whose certificate
	// carries role coordinator (Policy). Nil serves plaintext to anyone:
	// tests, and the binary's explicit --insecure.
	TLS *mtls.Identity
	// Logger receives operational logs; nil discards them.
	Logger *slog.Logger
	// Metrics, when set, is told about batches and streams (see Metrics);
	// nil reports nothing.
	Metrics Metrics
}

// Policy is the role each method of a worker needs when it serves with
// TLS: evaluations and reflection only for coordinators, health checks
// for anyone. Any other method is refused.
var Policy = mtls.Policy{
	rpc.EvaluatorService_Evaluate_FullMethodName:                     mtls.RoleCoordinator,
	rpc.EvaluatorService_EvaluateStream_FullMethodName:               mtls.RoleCoordinator,
	healthpb.Health_Check_FullMethodName:                             mtls.RoleAnyone,
	healthpb.Health_Watch_FullMethodName:                             mtls.RoleAnyone,
	healthpb.Health_List_FullMethodName:                              mtls.RoleAnyone,
	"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo":      mtls.RoleCoordinator,
	"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": mtls.RoleCoordinator,
}

// DefaultConfig returns a worker on loopback with ports chosen by the OS.
func DefaultConfig() Config {
	return Config{
		Listen:      "127.0.0.1:0",
		GossipBind:  "127.0.0.1:0",
		Capacity:    1,
		JoinTimeout: 10 * time.Second,
		Build:       buildVersion(),
	}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	if c.Capacity < 1 || c.Capacity > 1024 {
		return fmt.Errorf("capacity = %d, allowed 1..1024", c.Capacity)
	}
	if len(c.Join) == 0 {
		return errors.New("join is empty, allowed at least one gossip address host:port")
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("listen = %q: %v", c.Listen, err)
	}
	if _, _, err := net.SplitHostPort(c.GossipBind); err != nil {
		return fmt.Errorf("gossip = %q: %v", c.GossipBind, err)
	}
	if c.Advertise != "" {
		if _, _, err := splitAdvertise(c.Advertise); err != nil {
			return fmt.Errorf("advertise = %q: %v", c.Advertise, err)
		}
	}
	return nil
}

// Worker is a running worker.
type Worker struct {
	cfg      Config
	log      *slog.Logger
	lis      net.Listener
	srv      *grpc.Server
	rpc      *server
	meta     Meta
	announce *metaDelegate
	peers    *peerWatch // the coordinators gossip reports; read by watchCluster
	health   *health.Server
	ml       *memberlist.Memberlist
	served   chan error
	failed   chan error    // the cluster watch gave up (see watchCluster)
	stopW    chan struct{} // stops the cluster watch
	watchEnd chan struct{} // closed when the cluster watch has returned

	once sync.Once
	err  error
}

// DrainingMessage is in the Unavailable error of a call refused because the
// worker is shutting down: no work was done, so callers need not count it
// as a failed attempt.
const DrainingMessage = "worker draining"

// server adapts the Engine to the generated gRPC interface.
type server struct {
	rpc.UnimplementedEvaluatorServiceServer
	engine   *Engine
	name     string
	protocol uint32
	log      *slog.Logger
	metrics  Metrics

	first    sync.Once // logs the first call, so operators (and tests) see work arrive
	mu       sync.Mutex
	draining bool
	inflight int           // batches being evaluated (unary calls and stream batches)
	idle     chan struct{} // closed once draining with no batch in flight
	batches  int           // answered calls
	tasks    int           // answered tasks
	// The work log (see noteLocked): the runs seen lately, and when the
	// last summary line was logged, with the counts then.
	runs                           map[string]bool
	reported                       time.Time
	reportedBatches, reportedTasks int
}

// Work log: one info line per run when its first batch arrives, and a
// summary at most once per summaryEvery while batches come, so that a
// worker's log says what it does in a few lines an hour, never a line per
// batch or genome.
const (
	summaryEvery = time.Minute
	// maxRunsSeen bounds the set of runs seen; when full it starts afresh
	// (a run then may be announced twice).
	maxRunsSeen = 256
)

// noteLocked records an answered batch of run at generation and returns
// the work log lines it calls for: whether the run is new here, and
// whether a summary is due.
func (s *server) noteLocked(run string, now time.Time) (newRun, summary bool) {
	if !s.runs[run] {
		if s.runs == nil || len(s.runs) >= maxRunsSeen {
			s.runs = map[string]bool{}
		}
		s.runs[run] = true
		newRun = true
	}
	if s.reported.IsZero() {
		s.reported = now
	} else if now.Sub(s.reported) >= summaryEvery {
		summary = true
	}
	return newRun, summary
}

// EvaluateStream serves the coordinator's dispatch stream: each batch is
// answered as Evaluate answers it (see ServeStream).
func (s *server) EvaluateStream(stream grpc.BidiStreamingServer[pb.EvaluateStreamRequest, pb.EvaluateStreamResponse]) error {
	s.metrics.StreamOpened()
	defer s.metrics.StreamClosed()
	return ServeStream(stream, s)
}

// Evaluate refuses calls once draining and turns a panic during an
// evaluation into an Internal error, so one poison genome costs a failed
// call (which the coordinator counts toward quarantine), not the process.
func (s *server) Evaluate(ctx context.Context, req *pb.EvaluateRequest) (resp *pb.EvaluateResponse, err error) {
	s.mu.Lock()
	if s.draining {
		s.mu.Unlock()
		err := status.Error(codes.Unavailable, DrainingMessage)
		s.metrics.Refused(err)
		return nil, err
	}
	if v := req.GetProtocolVersion(); v != s.protocol {
		s.mu.Unlock()
		err := status.Errorf(codes.FailedPrecondition,
			"protocol version %d, this worker speaks %d: upgrade the older side", v, s.protocol)
		s.metrics.Refused(err)
		return nil, err
	}
	s.inflight++
	s.mu.Unlock()
	defer s.done()
	s.metrics.BatchStarted()
	start := time.Now()
	defer func() { s.metrics.BatchDone(len(req.GetTasks()), time.Since(start), err) }() // after the recover below
	s.first.Do(func() {
		s.log.Info("first batch received", "generation", req.GetGeneration(), "tasks", len(req.GetTasks()))
	})
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("evaluation panicked", "generation", req.GetGeneration(), "tasks", len(req.GetTasks()), "panic", p)
			resp, err = nil, status.Errorf(codes.Internal, "worker %s: evaluation panicked: %v", s.name, p)
		}
	}()
	resp, err = s.engine.Evaluate(ctx, req)
	if err != nil {
		return nil, err
	}
	resp.Worker = s.name
	now := time.Now()
	s.mu.Lock()
	s.batches++
	s.tasks += len(req.GetTasks())
	run, generation := req.GetRunId(), req.GetGeneration()
	newRun, summary := s.noteLocked(run, now)
	batches, tasks := s.batches-s.reportedBatches, s.tasks-s.reportedTasks
	since, runs := now.Sub(s.reported), len(s.runs)
	if summary {
		s.reported, s.reportedBatches, s.reportedTasks = now, s.batches, s.tasks
	}
	s.mu.Unlock()
	if newRun {
		s.log.Info("serving a run", "run", run, "generation", generation)
	}
	if summary {
		s.log.Info("evaluations served", "batches", batches, "genomes", tasks, "in", since.Round(time.Second), "runs_seen", runs)
	}
	return resp, nil
}

// done ends one batch's evaluation.
func (s *server) done() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight--
	if s.draining && s.inflight == 0 {
		close(s.idle)
	}
}

// drain refuses new batches from now on and returns a channel closed once
// no batch is in flight. Called once.
func (s *server) drain() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.draining = true
	s.idle = make(chan struct{})
	if s.inflight == 0 {
		close(s.idle)
	}
	return s.idle
}

// Served returns the number of calls and tasks this worker has answered.
func (w *Worker) Served() (batches, tasks int) {
	w.rpc.mu.Lock()
	defer w.rpc.mu.Unlock()
	return w.rpc.batches, w.rpc.tasks
}

// Start listens, serves and joins the gossip cluster. On error everything
// started is stopped again.
func Start(ctx context.Context, cfg Config) (*Worker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("worker config: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	lis, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("worker listen %s: %w", cfg.Listen, err)
	}
	addr := lis.Addr().String()
	if cfg.Name == "" {
		host, _ := os.Hostname()
		_, port, _ := net.SplitHostPort(addr)
		cfg.Name = fmt.Sprintf("worker-%s-%d-%s", host, os.Getpid(), port)
	}
	if cfg.Protocol == 0 {
		cfg.Protocol = ProtocolVersion
	}
	if cfg.EvaluationDigest == "" {
		cfg.EvaluationDigest = EvaluationDigest()
	}
	announced := cfg.Advertise
	if announced == "" {
		if announced, err = ReachableAddr(addr, cfg.Gossip.Advertise); err != nil {
			lis.Close()
			return nil, fmt.Errorf("worker %s: %w; give the address coordinators dial as --advertise", cfg.Name, err)
		}
	}
	w := &Worker{cfg: cfg, log: log.With("worker", cfg.Name), lis: lis, served: make(chan error, 1)}
	w.rpc = &server{engine: NewEngine(cfg.Capacity), name: cfg.Name, protocol: cfg.Protocol, log: w.log, metrics: cfg.Metrics}
	if w.rpc.metrics == nil {
		w.rpc.metrics = nopMetrics{}
	}
	opts := grpcconf.ServerOptions()
	if cfg.TLS != nil {
		opts = append(opts, Policy.ServerOptions(cfg.TLS)...)
	}
	w.srv = grpc.NewServer(opts...)
	rpc.RegisterEvaluatorServiceServer(w.srv, w.rpc)
	w.health = health.NewServer()
	healthpb.RegisterHealthServer(w.srv, w.health)
	reflection.Register(w.srv)
	go func() { w.served <- w.srv.Serve(lis) }()

	w.meta = Meta{Role: RoleWorker, GRPC: announced, Capacity: cfg.Capacity, Protocol: cfg.Protocol, Build: cfg.Build, Digest: cfg.EvaluationDigest}
	meta, err := w.meta.Encode()
	if err != nil {
		w.srv.Stop()
		<-w.served
		return nil, fmt.Errorf("worker %s: %w", cfg.Name, err)
	}
	w.announce = &metaDelegate{}
	w.announce.set(meta)
	w.peers = newPeerWatch(w.log, cfg.Name, cfg.Protocol, cfg.EvaluationDigest)
	ml, err := createMemberlist(cfg.Name, cfg.GossipBind, cfg.Gossip, w.announce, w.peers, log)
	if err != nil {
		w.srv.Stop()
		<-w.served
		return nil, err
	}
	w.ml = ml
	w.peers.setSelf(ml.LocalNode().Address())
	if err := joinWithin(ctx, ml, cfg.Join, cfg.JoinTimeout); err != nil {
		_ = ml.Shutdown()
		w.srv.Stop()
		<-w.served
		return nil, err
	}
	w.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	w.failed, w.stopW, w.watchEnd = make(chan error, 1), make(chan struct{}), make(chan struct{})
	go w.watchCluster(w.stopW, w.watchEnd)
	w.log.Info("worker serving", "join", strings.Join(cfg.Join, ","), "grpc", addr, "advertise", announced, "gossip", ml.LocalNode().Address(),
		"capacity", cfg.Capacity, "encrypted", len(cfg.Gossip.Keys) > 0, "evaluation_digest", cfg.EvaluationDigest)
	return w, nil
}

// Addr returns the gRPC address the worker serves on.
func (w *Worker) Addr() string { return w.lis.Addr().String() }

// Name returns the worker's gossip name.
func (w *Worker) Name() string { return w.cfg.Name }

// Shutdown stops the worker. Order: refuse new batches (Unavailable, so
// coordinators route them elsewhere at once) and mark not serving, leave
// the gossip cluster (coordinators stop routing here but let in-flight
// batches finish), finish in-flight batches until ctx ends (then cancel
// them: the coordinator re-dispatches), let the last answers reach the
// wire (up to flushGrace), stop, closing the dispatch streams, which stay
// open between batches. Idempotent; later calls return the first result.
func (w *Worker) Shutdown(ctx context.Context) error {
	w.once.Do(func() {
		close(w.stopW)
		<-w.watchEnd
		idle := w.rpc.drain()
		w.health.Shutdown()
		drainingMeta := w.meta
		drainingMeta.Draining = true
		if b, err := drainingMeta.Encode(); err == nil {
			w.announce.set(b)
			if err := w.ml.UpdateNode(time.Second); err != nil {
				w.log.Info("announcing drain", "err", err)
			}
		}
		if err := w.ml.Leave(2 * time.Second); err != nil {
			w.log.Info("leaving gossip cluster", "err", err)
		}
		_ = w.ml.Shutdown()
		select {
		case <-idle:
		case <-ctx.Done():
		}
		// The last answers may still be on their way to the wire: a batch
		// counts as done when its evaluation returns, before gRPC writes
		// the answer. GracefulStop waits for that, but also for the
		// coordinators' dispatch streams, which only they close; so it
		// gets flushGrace, then Stop cuts what is left (nothing in flight).
		stopped := make(chan struct{})
		go func() { w.srv.GracefulStop(); close(stopped) }()
		grace := time.NewTimer(flushGrace)
		select {
		case <-stopped:
		case <-grace.C:
			w.srv.Stop()
			<-stopped
		case <-ctx.Done():
			w.srv.Stop()
			<-stopped
		}
		grace.Stop()
		if err := <-w.served; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			w.err = err
		}
		batches, tasks := w.Served()
		w.log.Info("worker stopped", "batches", batches, "tasks", tasks)
	})
	return w.err
}

// flushGrace bounds how long Shutdown waits, once no batch is in flight,
// for the last answers to be written before it closes every connection.
const flushGrace = time.Second

// Run starts a worker and serves until ctx ends, then shuts it down,
// allowing drain for in-flight calls.
func Run(ctx context.Context, cfg Config, drain time.Duration) error {
	w, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	var failed error
	select {
	case <-ctx.Done():
	case err := <-w.served:
		w.served <- err
	case failed = <-w.failed:
		w.log.Error("worker giving up", "err", failed)
	}
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	return errors.Join(failed, w.Shutdown(sctx))
}

// joinWithin retries joining until one address answers or the timeout ends.
func joinWithin(ctx context.Context, ml *memberlist.Memberlist, join []string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	err := retry.Until(ctx, retry.Policy{First: 200 * time.Millisecond, Max: time.Second}, nil, func() error {
		_, last = ml.Join(join)
		return last
	})
	if err != nil {
		return fmt.Errorf("join gossip cluster %v: %w (last error: %s)", join, ctx.Err(), strings.TrimSpace(strings.ReplaceAll(fmt.Sprint(last), "\n", " ")))
	}
	return nil
}

// NewMemberlist creates a gossip member named name bound to bind (host:port,
// port 0 for any) announcing meta; events (may be nil) receives membership
// changes, and also name conflicts and join merges if it implements
// memberlist.ConflictDelegate or memberlist.MergeDelegate. memberlist calls
// them from its own goroutines. Exported for the coordinator, which joins
// the same cluster.
func NewMemberlist(name, bind string, meta []byte, events memberlist.EventDelegate, log *slog.Logger) (*memberlist.Memberlist, error) {
	return newMemberlist(name, bind, meta, events, log)
}

// NewGossipMember is NewMemberlist with a keyring and an advertised
// address (g). The returned member's metadata is replaced with SetMeta
// and spread with UpdateNode.
func NewGossipMember(name, bind string, g Gossip, meta []byte, events memberlist.EventDelegate, log *slog.Logger) (*memberlist.Memberlist, *MetaSetter, error) {
	d := &metaDelegate{}
	d.set(meta)
	ml, err := createMemberlist(name, bind, g, d, events, log)
	if err != nil {
		return nil, nil, err
	}
	return ml, &MetaSetter{d: d}, nil
}

// MetaSetter replaces a gossip member's metadata; memberlist.UpdateNode
// then spreads it. Safe for concurrent use.
type MetaSetter struct{ d *metaDelegate }

// Set announces b from the next UpdateNode (or gossip exchange) on.
func (s *MetaSetter) Set(b []byte) { s.d.set(b) }

func newMemberlist(name, bind string, meta []byte, events memberlist.EventDelegate, log *slog.Logger) (*memberlist.Memberlist, error) {
	ml, _, err := NewGossipMember(name, bind, Gossip{}, meta, events, log)
	return ml, err
}

func createMemberlist(name, bind string, g Gossip, meta *metaDelegate, events memberlist.EventDelegate, log *slog.Logger) (*memberlist.Memberlist, error) {
	host, portStr, err := net.SplitHostPort(bind)
	if err != nil {
		return nil, fmt.Errorf("gossip address %q: %w", bind, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("gossip port %q: %w", portStr, err)
	}
	c := memberlist.DefaultLocalConfig()
	c.Name = name
	c.BindAddr = host
	c.BindPort = port
	c.AdvertisePort = port
	if err := applyGossip(c, g); err != nil {
		return nil, err
	}
	c.Delegate = meta
	c.Events = events
	if d, ok := events.(memberlist.ConflictDelegate); ok {
		c.Conflict = d
	}
	if d, ok := events.(memberlist.MergeDelegate); ok {
		c.Merge = d
	}
	// A worker restarted under the same --name on new ports (a supervisor,
	// a rescheduled pod) must get its name back. memberlist's default, 0,
	// refuses a name to another address for as long as it remembers the
	// dead member (GossipToTheDeadTime), and even then only takes the new
	// one when it next announces itself: tens of seconds without work. A
	// name is only reclaimable once its holder was declared dead; one
	// probe interval more lets the holder's refutation, if it was alive
	// after all, arrive first. Two live processes with one name still
	// conflict, and say so in the logs (see peerWatch, and the
	// coordinator's membership).
	c.DeadNodeReclaimTime = c.ProbeInterval
	c.LogOutput = io.Discard
	if log != nil {
		c.Logger = nil
		c.LogOutput = slogWriter{log}
	}
	ml, err := memberlist.Create(c)
	if err != nil {
		return nil, fmt.Errorf("gossip on %s: %w", bind, err)
	}
	return ml, nil
}

// peerWatch keeps the worker's view of the coordinators in the cluster,
// name → protocol version, for watchCluster, and logs, once per member, a
// coordinator that speaks another protocol version: it will refuse this
// worker, and the operator should hear it from both sides. As a
// memberlist.MergeDelegate it also notes whether the members it joins hold
// this worker's name at another address (see NotifyMerge).
//
// memberlist calls the Notify methods from its own goroutines (the event
// ones while it holds its node lock): the *memberlist.Node is only valid
// during the call (memberlist rewrites it on later alive messages), so
// what is needed is copied here, under mu. Other goroutines read the copy
// through coordinators and heldElsewhere.
type peerWatch struct {
	log      *slog.Logger
	name     string // this worker's gossip name
	protocol uint32
	digest   string // this worker's evaluation digest
	mu       sync.Mutex
	seen     map[string]bool   // members already reported; lookup only
	wanted   map[string]string // coordinator → the run digests last reported as not this worker's; lookup only
	coords   map[string]uint32 // live coordinators' protocol versions; counted, never ranged for order
	self     string            // this worker's gossip address, once known
	heldBy   string            // another address a member joined since the last rejoin knows this name at
}

func newPeerWatch(log *slog.Logger, name string, protocol uint32, digest string) *peerWatch {
	return &peerWatch{log: log, name: name, protocol: protocol, digest: digest,
		seen: map[string]bool{}, wanted: map[string]string{}, coords: map[string]uint32{}}
}

func (p *peerWatch) NotifyJoin(n *memberlist.Node)   { p.check(n) }
func (p *peerWatch) NotifyUpdate(n *memberlist.Node) { p.check(n) }

func (p *peerWatch) NotifyLeave(n *memberlist.Node) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.coords, n.Name)
}

// coordinators counts the live coordinators that speak this worker's
// protocol (same) and those that do not (other, one of whose versions is
// otherProto). Safe for concurrent use.
func (p *peerWatch) coordinators() (same, other int, otherProto uint32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, v := range p.coords {
		if v == p.protocol {
			same++
		} else {
			other++
			otherProto = v
		}
	}
	return same, other, otherProto
}

func (p *peerWatch) check(n *memberlist.Node) {
	m, err := DecodeMeta(n.Meta)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil || m.Role != RoleCoordinator {
		delete(p.coords, n.Name)
		return
	}
	p.coords[n.Name] = m.Protocol
	p.checkDigestsLocked(n.Name, m.RunDigests)
	if m.Protocol == p.protocol || p.seen[n.Name] {
		return
	}
	p.seen[n.Name] = true
	p.log.Error("coordinator speaks another protocol version and will refuse this worker; upgrade the older side",
		"coordinator", n.Name, "coordinator_protocol", m.Protocol, "worker_protocol", p.protocol)
}

// checkDigestsLocked logs, once for each set of run digests a coordinator
// announces, that none of its runs takes this worker: each run is pinned
// to the evaluation digest it started with. The worker stays in the
// cluster and gets work as soon as a run with its digest starts.
func (p *peerWatch) checkDigestsLocked(coordinator, key string) {
	if key == "" || slices.Contains(strings.Split(key, ","), p.digest) {
		delete(p.wanted, coordinator)
		return
	}
	if p.wanted[coordinator] == key {
		return
	}
	p.wanted[coordinator] = key
	p.log.Warn("no run of this coordinator takes this worker: each run only takes workers of the evaluation digest it started with "+
		"(version, evaluation semantics, architecture); waiting for a run with this worker's digest",
		"coordinator", coordinator, "worker_digest", p.digest, "run_digests", key)
}

// buildVersion names this binary's build: its module version, else its
// VCS revision, else "unknown".
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return s.Value[:12]
		}
	}
	return "devel"
}

// metaDelegate announces node metadata, replaced by set (then
// memberlist.UpdateNode spreads it), and ignores user messages.
// memberlist calls it from its own goroutines.
type metaDelegate struct{ meta atomic.Pointer[[]byte] }

func (m *metaDelegate) set(b []byte)                             { m.meta.Store(&b) }
func (m *metaDelegate) NodeMeta(limit int) []byte                { return *m.meta.Load() }
func (*metaDelegate) NotifyMsg([]byte)                           {}
func (*metaDelegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (*metaDelegate) LocalState(join bool) []byte                { return nil }
func (*metaDelegate) MergeRemoteState(buf []byte, join bool)     {}

// slogWriter forwards memberlist's log lines at debug level.
type slogWriter struct{ log *slog.Logger }

func (s slogWriter) Write(p []byte) (int, error) {
	s.log.Debug(string(p))
	return len(p), nil
}
