// Package coordinator provides mesaopt's coordinator: the applier of what
// the base optimizer decides. It runs experiments generation by generation,
// holds leadership in etcd, and serves RunService and LineageService. The
// parts it drives have packages of their own: the base optimizer
// (coordinator/ga, pure), evaluation dispatch to gossip-found workers
// (coordinator/dispatch), checkpoints and lineage on etcd
// (coordinator/store) and the experiment spec (experiment).
//
// Lifecycle:
//
//	c, err := coordinator.New(cfg)   // cfg.Etcd is a connected etcd client
//	err = c.Start(ctx)                // serve gRPC, join gossip, campaign and become leader
//	id, err := c.Submit(ctx, spec)    // or c.Resume(ctx, id)
//	err = c.Wait(ctx, id)             // the run ends: succeeded, failed or cancelled
//	c.Shutdown(ctx)                   // interrupt runs, stop serving, leave, resign
//
// A generation is: breed (ga.Optimizer.Next) → evaluate every member under
// train and the shifted conditions (Evaluate) → analyse (lineage.Analyze)
// → commit the checkpoint, lineage batch and summary in one fenced etcd
// transaction (store.Store.Commit) → store the pruned lineage. Selection
// sees only the fitness of its selection episodes: train's (after a regime
// change, the condition the spec names; with a training mixture, the
// mixture's conditions). A run is a pure function of its spec and seed: the digest of
// every generation is the same whatever the number of workers, their
// failures, or resumes from checkpoints and failovers.
//
// Leadership: a coordinator leads while its etcd session lease is
// confirmed (see watchTerm); every write is fenced by the election key, so
// a deposed leader can never write. The etcd key layout is documented on
// store.Store.
package coordinator

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/protobuf/proto"

	"github.com/mesaopt/mesaopt/coordinator/dispatch"
	"github.com/mesaopt/mesaopt/coordinator/ga"
	"github.com/mesaopt/mesaopt/coordinator/store"
	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/internal/grpcconf"
	"github.com/mesaopt/mesaopt/internal/mtls"
	"github.com/mesaopt/mesaopt/lineage"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
	"github.com/mesaopt/mesaopt/worker"
)

// Config configures a coordinator.
type Config struct {
	// Etcd is a connected client; the coordinator does not close it.
	Etcd *clientv3.Client
	// Prefix of mesaopt's keys in etcd; "" means DefaultPrefix.
	Prefix string
	// Name identifies this coordinator in the election and in gossip.
	Name string
	// GRPCListen is the RunService/LineageService address, e.g. "127.0.0.1:0".
	GRPCListen string
	// GossipBind is the gossip address workers join, e.g. "127.0.0.1:0".
	GossipBind string
	// Gossip holds the gossip keyring (workers need one of its keys) and
	// the advertised gossip address.
	Gossip worker.Gossip
	// Advertise is the gRPC address (host:port) clients and standbys are
	// told to dial, in the leader record and gossip, when it differs from
	// GRPCListen's (bound to 0.0.0.0 in a container). Empty: the address
	// GRPCListen bound, an unspecified host replaced by the machine's
	// private address (AdvertisedGRPC).
	Advertise string
	// Evaluator, when set, evaluates in-process instead of through workers
	// (no gossip is started). For tests and benchmarks.
	Evaluator Evaluator
	// SessionTTL is the etcd session TTL in seconds that fences leadership.
	SessionTTL int
	// Join lists gossip addresses of an existing cluster (another
	// coordinator or a worker) to join, so that a standby already knows
	// the workers when it takes over. Empty: start a new cluster.
	Join []string
	// ResumeOrphans makes a new leader resume the runs its predecessor left
	// running or interrupted (stopped with it). When false it marks running
	// ones interrupted (resumable by hand), which is what a one-machine
	// `mesaopt run` wants.
	ResumeOrphans bool
	// TLS, when set, is this coordinator's identity (role coordinator):
	// RunService and LineageService serve TLS and authorize every call by
	// the caller's certificate (Policy), and dispatch to workers is mutual
	// TLS, accepting only workers whose certificate carries role worker.
	// Nil serves and dials plaintext with no authorization: tests, and the
	// binaries' explicit --insecure.
	TLS *mtls.Identity
	// Logger receives operational logs; nil discards them.
	Logger *slog.Logger
	// Limits is admission control (zero fields: DefaultLimits). Runs a new
	// leader adopts from its predecessor are not refused by it.
	Limits Limits
	// Metrics, when set, is told about generations, commits, dispatch and
	// runs (see Metrics); nil reports nothing.
	Metrics Metrics
	// HTTPListen, when set, is the address of the web dashboard (package
	// coordinator/dashboard), e.g. "127.0.0.1:7080". With TLS it is HTTPS
	// with the same certificate and CA as gRPC, and every page needs a
	// client certificate with role read-only (or operator), as the read
	// methods of Policy do; without, it is plain HTTP with no
	// authentication. It is served from Start on, so a standby serves it
	// too, reading what etcd holds.
	HTTPListen string
}

// DefaultConfig returns a coordinator on loopback with ports chosen by the OS.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	return Config{
		Name:       fmt.Sprintf("coordinator-%s-%d", host, os.Getpid()),
		GRPCListen: "127.0.0.1:0",
		GossipBind: "127.0.0.1:0",
		SessionTTL: 10,
		Limits:     DefaultLimits(),
	}
}

// Coordinator runs experiments. Its methods are safe for concurrent use.
type Coordinator struct {
	cfg        Config
	log        *slog.Logger
	store      *store.Store
	dispatcher *dispatch.Dispatcher
	ml         *memberlist.Memberlist
	meta       worker.Meta        // this coordinator's gossip metadata, without RunDigests
	metaSet    *worker.MetaSetter // replaces it (see announceDigests)
	srv        *grpc.Server
	lis        net.Listener
	web        *http.Server // the dashboard; nil without Config.HTTPListen
	webLis     net.Listener
	webServed  chan error
	health     *health.Server
	term       atomic.Pointer[term] // nil unless leading
	served     chan error

	runCtx    context.Context
	runCancel context.CancelFunc
	wg        sync.WaitGroup // run goroutines

	mu      sync.Mutex
	runs    map[string]*activeRun // lookup by id
	digests map[string]string     // run id → the evaluation digest it is pinned to, while it runs here; ranged, then sorted

	admit *admission

	leading atomic.Bool

	shutdownOnce sync.Once
	shutdownDone chan struct{} // closed when shutdown's steps are done
	shutdownErr  error
}

// activeRun is a run this coordinator executes or has loaded.
type activeRun struct {
	id     string
	spec   experiment.Spec
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	lineage   *lineage.Store
	last      []lineage.Record // records of the last evaluated generation
	dirty     []uint32         // generations pruned since their batches were last rewritten, ascending
	gens      uint32           // generations committed that lineage reflects
	graves    *graveyard       // records pruning removed lately, for a rollback (nil: none kept)
	err       error
	cancelReq bool

	frozenOnce sync.Once
	frozen     []int // spec.FrozenFeatures(), once computed
	frozenErr  error
}

// New validates cfg and returns a coordinator that is not yet started.
func New(cfg Config) (*Coordinator, error) {
	if cfg.Etcd == nil {
		return nil, errors.New("coordinator config: etcd client is nil")
	}
	if cfg.SessionTTL < 2 || cfg.SessionTTL > 600 {
		return nil, fmt.Errorf("coordinator config: session_ttl = %d, allowed 2..600 seconds", cfg.SessionTTL)
	}
	if err := cfg.Limits.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Coordinator{
		cfg: cfg, log: log, store: store.New(cfg.Etcd, cfg.Prefix),
		runs: map[string]*activeRun{}, digests: map[string]string{}, admit: newAdmission(cfg.Limits), runCtx: ctx, runCancel: cancel, served: make(chan error, 1),
	}, nil
}

// Start serves gRPC, joins gossip (unless an in-process Evaluator is
// configured) and campaigns for leadership, returning once this coordinator
// leads. It fails within ctx's deadline if etcd cannot be reached.
func (c *Coordinator) Start(ctx context.Context) error {
	lis, err := net.Listen("tcp", c.cfg.GRPCListen)
	if err != nil {
		return fmt.Errorf("coordinator listen %s: %w", c.cfg.GRPCListen, err)
	}
	c.lis = lis
	opts := grpcconf.ServerOptions()
	if c.cfg.TLS != nil {
		opts = append(opts, Policy.ServerOptions(c.cfg.TLS)...)
	}
	c.srv = grpc.NewServer(opts...)
	rpc.RegisterRunServiceServer(c.srv, &runServer{c: c})
	rpc.RegisterLineageServiceServer(c.srv, &lineageServer{c: c})
	c.health = health.NewServer()
	c.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(c.srv, c.health)
	reflection.Register(c.srv)
	go func() { c.served <- c.srv.Serve(lis) }()
	if err := c.serveDashboard(); err != nil {
		return errors.Join(err, c.Shutdown(ctx))
	}

	if c.cfg.Evaluator == nil {
		var opts []dispatch.DispatchOption
		if c.cfg.TLS != nil {
			creds := credentials.NewTLS(c.cfg.TLS.ClientTLS(mtls.RoleWorker, false))
			opts = append(opts, dispatch.WithDialOptions(grpc.WithTransportCredentials(creds)))
		}
		if m := c.cfg.Metrics; m != nil {
			opts = append(opts, dispatch.WithObserver(m))
		}
		c.dispatcher = dispatch.NewDispatcher(time.Minute, c.log, opts...)
		if m := c.cfg.Metrics; m != nil {
			m.WatchDispatch(c.dispatcher.Stats)
		}
		c.meta = worker.Meta{Role: worker.RoleCoordinator, GRPC: c.AdvertisedGRPC(), Protocol: worker.ProtocolVersion, Digest: worker.EvaluationDigest()}
		meta, err := c.meta.Encode()
		if err != nil {
			return errors.Join(err, c.Shutdown(ctx))
		}
		ml, set, err := worker.NewGossipMember(c.cfg.Name, c.cfg.GossipBind, c.cfg.Gossip, meta, dispatch.NewMembership(c.dispatcher, c.log), c.log)
		if err != nil {
			return errors.Join(err, c.Shutdown(ctx))
		}
		c.ml, c.metaSet = ml, set
		if len(c.cfg.Join) > 0 {
			if _, err := ml.Join(c.cfg.Join); err != nil {
				c.log.Warn("could not join gossip cluster; workers must join this coordinator", "join", c.cfg.Join, "err", err)
			}
		}
	}

	// The etcd client retries forever on its own; bound the first contact.
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := c.cfg.Etcd.Get(sctx, c.store.LeaderPrefix(), clientv3.WithCountOnly()); err != nil {
		return errors.Join(fmt.Errorf("etcd unreachable at %v: %w", c.cfg.Etcd.Endpoints(), err), c.Shutdown(ctx))
	}
	t, err := c.campaignUntil(ctx)
	if err != nil {
		return errors.Join(err, c.Shutdown(ctx))
	}
	c.term.Store(t)
	c.wg.Add(1)
	go c.keepLeading(t)
	c.leading.Store(true)
	c.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	c.log.Info("leading", "coordinator", c.cfg.Name, "grpc", c.GRPCAddr(), "advertise", c.AdvertisedGRPC(), "gossip", c.GossipAddr())
	if err := c.adoptOrphans(ctx); err != nil {
		c.log.Error("adopting runs left running by the previous leader", "err", err)
	}
	if c.cfg.ResumeOrphans {
		if err := c.adoptSweeps(ctx); err != nil {
			c.log.Error("creating the runs of sweeps left by the previous leader", "err", err)
		}
	}
	return nil
}

// adoptOrphans handles runs whose status says running although no
// coordinator runs them: their leader is gone, since this one now leads.
// They are resumed (ResumeOrphans) or marked interrupted.
func (c *Coordinator) adoptOrphans(ctx context.Context) error {
	ids, err := c.store.RunIDs(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		c.mu.Lock()
		ar, ok := c.runs[id]
		c.mu.Unlock()
		if ok && !isDone(ar) {
			continue
		}
		st, err := c.store.Status(ctx, id)
		if err != nil {
			continue
		}
		// A daemon coordinator also takes over runs its predecessor stopped
		// cleanly (SIGTERM): they are interrupted, not cancelled.
		interrupted := st.GetState() == pb.RunState_RUN_STATE_INTERRUPTED
		if st.GetState() != pb.RunState_RUN_STATE_RUNNING && !(interrupted && c.cfg.ResumeOrphans) {
			continue
		}
		if c.cfg.ResumeOrphans {
			c.log.Info("resuming run left by the previous leader", "run", id)
			if err := c.resume(ctx, id, false); err != nil {
				c.log.Error("resume", "run", id, "err", err)
			}
			continue
		}
		st.State = pb.RunState_RUN_STATE_INTERRUPTED
		st.Error = "its coordinator stopped; resume with: mesaopt run --resume " + id
		if err := c.setStatus(ctx, st); err != nil {
			return err
		}
	}
	return nil
}

// Leading reports whether this coordinator is the leader.
func (c *Coordinator) Leading() bool { return c.leading.Load() }

// errNotLeader explains that a standby cannot take a run call.
func (c *Coordinator) errNotLeader(ctx context.Context) error {
	leader := "unknown"
	if v, err := LeaderAddress(ctx, c.cfg.Etcd, c.cfg.Prefix); err == nil {
		leader = fmt.Sprintf("%s at %s", v.Name, v.GRPC)
	}
	return fmt.Errorf("%w: this coordinator (%s) is a standby; the leader is %s", ErrNotLeader, c.cfg.Name, leader)
}

// HTTPAddr returns the address the dashboard is served on, "" without
// Config.HTTPListen.
func (c *Coordinator) HTTPAddr() string {
	if c.webLis == nil {
		return ""
	}
	return c.webLis.Addr().String()
}

// GRPCAddr returns the address RunService and LineageService are served on.
func (c *Coordinator) GRPCAddr() string { return c.lis.Addr().String() }

// AdvertisedGRPC returns the gRPC address others are told to dial:
// Config.Advertise, else the address served on, with an unspecified host
// (0.0.0.0) replaced by the machine's private address
// (worker.ReachableAddr).
func (c *Coordinator) AdvertisedGRPC() string {
	if c.cfg.Advertise != "" {
		return c.cfg.Advertise
	}
	if a, err := worker.ReachableAddr(c.GRPCAddr(), c.cfg.Gossip.Advertise); err == nil {
		return a
	}
	return c.GRPCAddr()
}

// GossipAddr returns the gossip address workers join ("" without gossip).
func (c *Coordinator) GossipAddr() string {
	if c.ml == nil {
		return ""
	}
	return c.ml.LocalNode().Address()
}

// Workers returns the number of workers known and their total capacity.
func (c *Coordinator) Workers() (n, capacity int) {
	if c.dispatcher == nil {
		return 0, 0
	}
	return c.dispatcher.Workers()
}

func (c *Coordinator) evaluator() Evaluator {
	if c.cfg.Evaluator != nil {
		return c.cfg.Evaluator
	}
	return c.dispatcher
}

// newRunID returns a fresh run id: the experiment name, the UTC time and a
// random suffix. Ids do not influence results.
func newRunID(name string) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	if name == "" {
		name = "run"
	}
	return fmt.Sprintf("%s-%s-%x", name, time.Now().UTC().Format("20060102-150405"), b)
}

// Submit validates spec, records the run in etcd and starts it.
func (c *Coordinator) Submit(ctx context.Context, spec experiment.Spec) (string, error) {
	if !c.Leading() {
		return "", c.errNotLeader(ctx)
	}
	if err := spec.Validate(); err != nil {
		return "", err
	}
	release, err := c.admitRuns(spec)
	if err != nil {
		return "", err
	}
	defer release()
	id := newRunID(spec.Name)
	st := &pb.RunStatus{RunId: id, State: pb.RunState_RUN_STATE_RUNNING, CreatedUnix: time.Now().Unix()}
	if err := c.createRun(ctx, spec.ToProto(), st); err != nil {
		return "", err
	}
	c.launch(id, spec, nil)
	return id, nil
}

// Resume continues a run from its last checkpoint. A run that already
// finished all its generations is left as it is.
func (c *Coordinator) Resume(ctx context.Context, id string, sets ...string) error {
	return c.resume(ctx, id, true, sets...)
}

// resume is Resume, through admission control when admit is set (a run a
// predecessor left running was admitted already).
func (c *Coordinator) resume(ctx context.Context, id string, admit bool, sets ...string) error {
	if !c.Leading() {
		return c.errNotLeader(ctx)
	}
	c.mu.Lock()
	ar, ok := c.runs[id]
	c.mu.Unlock()
	if ok && !isDone(ar) {
		// A run whose end is already recorded (a client saw it cancelled or
		// finished) may still be finishing its last writes: wait for it.
		st, err := c.store.Status(ctx, id)
		if err != nil || st.GetState() == pb.RunState_RUN_STATE_RUNNING {
			return fmt.Errorf("%w: run %s", ErrRunning, id)
		}
		select {
		case <-ar.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	sp, err := c.store.Spec(ctx, id)
	if err != nil {
		return err
	}
	spec, err := experiment.FromProto(sp)
	if err != nil {
		return fmt.Errorf("run %s: stored spec: %w", id, err)
	}
	st, err := c.store.Status(ctx, id)
	if err != nil {
		return err
	}
	if err := c.checkSemantics(id, st); err != nil {
		return err
	}
	done := st.GetGenerationsDone()
	event := fmt.Sprintf("resumed after generation %d", int(done)-1)
	if len(sets) > 0 {
		changed, paths, err := experiment.ApplyOverrides(spec, sets)
		if err != nil {
			return err
		}
		if err := experiment.CheckResumeOverrides(paths); err != nil {
			return err
		}
		if st.GetState() == pb.RunState_RUN_STATE_SUCCEEDED && changed.Generations <= int(done) {
			return fmt.Errorf("%w: run %s finished all %d generations; to continue it, raise generations (--set generations=N)", ErrFinished, id, done)
		}
		if changed.Generations <= int(done) {
			return fmt.Errorf("%w: generations = %d, allowed more than the %d already done", experiment.ErrOverride, changed.Generations, done)
		}
		spec = changed
		event += " with " + strings.Join(sets, ", ")
	}
	if st.GetState() == pb.RunState_RUN_STATE_SUCCEEDED && int(done) >= spec.Generations {
		return fmt.Errorf("%w: run %s succeeded (%d generations); resume with --set generations=N to extend it", ErrFinished, id, done)
	}
	if admit {
		release, err := c.admitRuns(spec)
		if err != nil {
			return err
		}
		defer release()
	}
	cp, err := c.store.Checkpoint(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		cp = nil
	} else if err != nil {
		return err
	}
	st.State = pb.RunState_RUN_STATE_RUNNING
	st.Error = ""
	st.FinalDigest = ""
	st.History = append(st.History, event)
	if err := c.write(ctx, "resume of "+id, func(ctx context.Context, f store.Fence) error {
		return c.store.UpdateRun(ctx, f, spec.ToProto(), st)
	}); err != nil {
		return err
	}
	c.launch(id, spec, cp)
	return nil
}

// Fork starts a new run from the retained checkpoint of generation gen of
// run id, with overrides (any field but seed), sharing the parent's lineage
// and summaries up to gen. It returns the new run's id.
func (c *Coordinator) Fork(ctx context.Context, id string, gen uint32, sets ...string) (string, error) {
	if !c.Leading() {
		return "", c.errNotLeader(ctx)
	}
	sp, err := c.store.Spec(ctx, id)
	if err != nil {
		return "", err
	}
	parent, err := experiment.FromProto(sp)
	if err != nil {
		return "", fmt.Errorf("run %s: stored spec: %w", id, err)
	}
	spec, paths, err := experiment.ApplyOverrides(parent, sets)
	if err != nil {
		return "", err
	}
	if slices.Contains(paths, "seed") {
		return "", fmt.Errorf("%w: seed cannot change in a fork (the shared lineage was drawn from the parent's seed); start a new run instead", experiment.ErrOverride)
	}
	if int(gen)+1 >= spec.Generations {
		return "", fmt.Errorf("%w: generation = %d, allowed less than generations - 1 = %d (set generations=N to run longer)", experiment.ErrOverride, gen, spec.Generations-1)
	}
	release, err := c.admitRuns(spec)
	if err != nil {
		return "", err
	}
	defer release()
	cp, err := c.store.CheckpointAt(ctx, id, gen)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			kept, _ := c.store.CheckpointGenerations(ctx, id)
			return "", fmt.Errorf("%w; retained generations: %v", err, kept)
		}
		return "", err
	}
	// The shared history: the parent's lineage before gen as stored now
	// (pruned by the parent's later populations; a fully pruned generation
	// has no batch) and generation gen's records as committed.
	top := cp.GetRecords()
	if top == nil {
		return "", fmt.Errorf("%w: the checkpoint of generation %d of run %s holds no lineage records (written by an older version)", experiment.ErrOverride, gen, id)
	}
	stored, err := c.store.Lineage(ctx, id, gen)
	if err != nil {
		return "", err
	}
	sums, _, err := c.store.Summaries(ctx, id)
	if err != nil {
		return "", err
	}
	if len(sums) < int(gen)+1 {
		return "", fmt.Errorf("run %s lacks summaries up to generation %d", id, gen)
	}
	byGen := make([]*pb.LineageBatch, gen)
	known := map[uint64]bool{} // membership only
	for _, b := range stored {
		if b.GetGeneration() < gen {
			byGen[b.GetGeneration()] = b
			for _, in := range b.GetIndividuals() {
				known[in.GetId()] = true
			}
		}
	}
	// Records of generation gen whose parents were pruned from the parent
	// run (extinct there later) start new lines in the fork.
	top = cloneProto(top)
	cut := 0
	for _, in := range top.GetIndividuals() {
		kept := in.GetParents()[:0]
		for _, p := range in.GetParents() {
			if known[p] {
				kept = append(kept, p)
			}
		}
		if len(kept) != len(in.GetParents()) {
			cut++
		}
		in.Parents = kept
	}
	child := newRunID(spec.Name)
	event := fmt.Sprintf("forked from %s at generation %d", id, gen)
	if len(sets) > 0 {
		event += " with " + strings.Join(sets, ", ")
	}
	if cut > 0 {
		event += fmt.Sprintf(" (%d individuals of generation %d lost ancestors pruned from the parent)", cut, gen)
	}
	st := &pb.RunStatus{RunId: child, State: pb.RunState_RUN_STATE_RUNNING, CreatedUnix: time.Now().Unix(),
		GenerationsDone: gen + 1, History: []string{event}}
	if err := c.createRun(ctx, spec.ToProto(), st); err != nil {
		return "", err
	}
	for g := uint32(0); g < gen; g++ {
		if err := c.write(ctx, "fork history of "+child, func(ctx context.Context, f store.Fence) error {
			return c.store.PutGeneration(ctx, f, child, g, byGen[g], sums[g])
		}); err != nil {
			return "", err
		}
	}
	cp.RunId = child
	cp.Spec = spec.ToProto()
	cp.Records = top
	if err := c.commit(ctx, cp, top, st, spec.CheckpointRetention); err != nil {
		return "", err
	}
	c.launch(child, spec, cp)
	return child, nil
}

func (c *Coordinator) launch(id string, spec experiment.Spec, cp *pb.Checkpoint) {
	ctx, cancel := context.WithCancel(c.runCtx)
	ar := &activeRun{id: id, spec: spec, cancel: cancel, done: make(chan struct{}), lineage: newLineage()}
	c.mu.Lock()
	c.runs[id] = ar
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(ar.done)
		defer cancel()
		err := c.execute(ctx, ar, cp)
		c.unpinSemantics(id)
		ar.mu.Lock()
		ar.err = err
		ar.mu.Unlock()
		if err != nil {
			c.log.Error("run stopped", "run", id, "err", err)
		}
		if testHookRunEnded != nil {
			testHookRunEnded(c, id)
		}
	}()
}

// Wait blocks until run id (started by this coordinator) ends and returns
// its error (nil when it succeeded or was cancelled).
func (c *Coordinator) Wait(ctx context.Context, id string) error {
	c.mu.Lock()
	ar, ok := c.runs[id]
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: run %s is not executed here", store.ErrNotFound, id)
	}
	select {
	case <-ar.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	ar.mu.Lock()
	defer ar.mu.Unlock()
	return ar.err
}

// Cancel stops run id now: the generation under evaluation is abandoned
// and the run keeps its last checkpoint, from which it can be resumed.
func (c *Coordinator) Cancel(id string) error {
	c.mu.Lock()
	ar, ok := c.runs[id]
	c.mu.Unlock()
	if !ok {
		if !c.Leading() {
			// A standby runs nothing: say where the runs are.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return c.errNotLeader(ctx)
		}
		return fmt.Errorf("%w: run %s is not running here", store.ErrNotFound, id)
	}
	select {
	case <-ar.done:
		return fmt.Errorf("%w: run %s", ErrNotRunning, id)
	default:
	}
	ar.mu.Lock()
	ar.cancelReq = true
	ar.mu.Unlock()
	ar.cancel()
	return nil
}

// execute runs generations from cp (nil: from the start) to the end.
func (c *Coordinator) execute(ctx context.Context, ar *activeRun, cp *pb.Checkpoint) (err error) {
	spec := ar.spec
	shape := spec.Shape()
	st := &pb.RunStatus{RunId: ar.id, State: pb.RunState_RUN_STATE_RUNNING}
	if old, err := c.store.Status(ctx, ar.id); err == nil {
		st = old
	}
	if m := c.cfg.Metrics; m != nil {
		m.RunStarted(ar.id)
		defer func() { // after the state is recorded below
			state := st.GetState()
			if errors.Is(err, store.ErrFenced) {
				state = pb.RunState_RUN_STATE_INTERRUPTED // leadership lost: the next leader resumes it
			}
			m.RunEnded(ar.id, state)
		}()
	}
	defer func() {
		// Record how the run ended, unless the last commit already did.
		if st.GetState() != pb.RunState_RUN_STATE_RUNNING {
			return
		}
		ar.mu.Lock()
		cancelled := ar.cancelReq
		ar.mu.Unlock()
		switch {
		case err == nil:
			return
		case ctx.Err() != nil && cancelled:
			st.State = pb.RunState_RUN_STATE_CANCELLED
			st.Error = "cancelled; resume with: mesactl run resume " + ar.id
			err = nil
		case ctx.Err() != nil:
			st.State = pb.RunState_RUN_STATE_INTERRUPTED
			st.Error = "coordinator stopped; resume with: mesaopt run --resume " + ar.id
			err = nil
		default:
			st.State = pb.RunState_RUN_STATE_FAILED
			st.Error = err.Error()
		}
		wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// A commit whose outcome was unknown (its context ended) may have
		// landed: never write a status older than the stored one.
		if stored, serr := c.store.Status(wctx, ar.id); serr == nil && stored.GetGenerationsDone() > st.GetGenerationsDone() {
			if stored.GetState() == pb.RunState_RUN_STATE_SUCCEEDED {
				return
			}
			stored.State, stored.Error = st.GetState(), st.GetError()
			st = stored
		}
		if serr := c.setStatus(wctx, st); serr != nil {
			c.log.Error("recording run state", "run", ar.id, "err", serr)
		}
	}()

	// A pure function of the spec: a resumed run holds the same weights.
	frozen, err := ar.frozenFeatures()
	if err != nil {
		return err
	}
	base, err := ga.NewFrozen(spec, shape, frozen)
	if err != nil {
		return err
	}
	if spec.FreezeUntrained {
		c.log.Info("frozen at 0 (untrained in train)", "run", ar.id, "features", frozenNames(spec, frozen))
	}
	var members []ga.Member
	var births []ga.Birth
	var nextID uint64
	var gen uint32
	if cp == nil {
		members, births, nextID = base.Initial()
	} else {
		if cp.GetFormatVersion() != CheckpointFormat {
			return fmt.Errorf("checkpoint of %s has format %d, this coordinator reads %d", ar.id, cp.GetFormatVersion(), CheckpointFormat)
		}
		prev, err := membersFromProto(cp.GetPopulation(), shape)
		if err != nil {
			return err
		}
		batches, err := c.store.Lineage(ctx, ar.id, cp.GetGeneration())
		if err != nil {
			return err
		}
		rewrites, err := ar.load(batches, cp.GetGeneration()+1)
		if err != nil {
			return err
		}
		// Records the previous leader pruned in memory but never rewrote
		// (it stopped between a commit and its rewrite) leave etcd too.
		if err := c.rewriteLineage(ctx, ar.id, rewrites); err != nil {
			return err
		}
		gen = cp.GetGeneration() + 1
		if int(gen) >= spec.Generations {
			// The last generation is committed; only its status is not.
			ar.mu.Lock()
			all := ar.lineage.Records()
			ar.mu.Unlock()
			st.State = pb.RunState_RUN_STATE_SUCCEEDED
			st.GenerationsDone = gen
			st.FinalDigest = FinalDigest(prev, all)
			return c.setStatus(ctx, st)
		}
		members, births, nextID = base.Next(prev, gen, cp.GetNextId())
	}
	ctx = c.pinSemantics(ctx, ar, st, cp != nil)
	c.log.Info("run started", "run", ar.id, "from_generation", gen, "generations", spec.Generations, "evaluation_digest", st.GetEvaluationDigest())
	// Elites are analysed once: their copies take the analysis from the cache.
	raw := c.evaluator()
	ev := NewAnalysisCache(raw)
	q, audits := raw.(quarantiner)
	audits = audits && spec.AuditRate > 0
	var arbiter Evaluator
	if audits {
		// The coordinator's engine decides only for runs of its own
		// evaluation semantics: another build's scores may differ.
		if d := st.GetEvaluationDigest(); d == "" || d == worker.EvaluationDigest() {
			arbiter = newArbiter()
		}
		ar.mu.Lock()
		ar.graves = &graveyard{from: gen}
		ar.mu.Unlock()
	}
	// Audit findings since the last commit (a rollback replays the
	// generations that found them): reported in the next summary.
	var pendingLiars []string
	var pendingMismatches, replayed uint32
	for {
		t0 := time.Now()
		var picks []bool
		if audits {
			picks = auditPicks(spec, gen, len(members))
		}
		e, err := evaluate(withLogger(ctx, c.log), ev, raw, ar.id, spec, gen, members, births, picks)
		if err != nil {
			return fmt.Errorf("generation %d: %w", gen, err)
		}
		var found auditOutcome
		if audits {
			if found, err = audit(withLogger(ctx, c.log), q, arbiter, spec, e, picks); err != nil {
				return fmt.Errorf("generation %d: %w", gen, err)
			}
			if m := c.cfg.Metrics; m != nil && found.mismatches > 0 {
				m.AuditMismatches(found.mismatches)
			}
		}
		if len(found.liars) > 0 {
			for _, w := range found.liars {
				q.Quarantine(w, fmt.Sprintf("its results disagreed with two other evaluations in run %s, generation %d", ar.id, gen))
			}
			pendingLiars = append(pendingLiars, found.liars...)
			pendingMismatches += uint32(found.mismatches)
			next, ok, err := c.rollback(ctx, ar, base, st, gen, found.liars)
			if err != nil {
				return fmt.Errorf("generation %d: %w", gen, err)
			}
			ev = NewAnalysisCache(raw) // it may hold the liars' analyses
			if ok {
				replayed += gen - next.gen
				gen, members, births, nextID, st = next.gen, next.members, next.births, next.nextID, next.st
			}
			// Members' fitness is set again by the next evaluation.
			continue
		}
		records := e.records
		summary := Summarize(spec, gen, members, records, time.Since(t0))
		summary.Audited = uint32(len(found.audited))
		summary.AuditMismatches = pendingMismatches + uint32(found.mismatches)
		summary.Liars = pendingLiars
		summary.ReplayedGenerations = replayed
		var prov *pb.Provenance
		if slices.ContainsFunc(e.workers, func(w string) bool { return w != "" }) {
			prov = provenanceOf(gen, e, found.audited)
		}
		// "Does thinking help", every generation: the champion planner
		// re-planned at every horizon. The champion often survives as an
		// elite, and its variants then come from the analysis cache.
		if summary.Thinking, err = Thinking(withLogger(ctx, c.log), ev, ar.id, spec, gen, members); err != nil {
			return fmt.Errorf("generation %d: %w", gen, err)
		}
		if int(gen)+1 == spec.Generations {
			// The untrained weights of the planners the report shows, and
			// the share of their shifted failures those weights explain.
			if summary.Untrained, err = Untrained(withLogger(ctx, c.log), ev, ar.id, spec, gen, members, records); err != nil {
				return fmt.Errorf("generation %d: %w", gen, err)
			}
		}
		batch := &pb.LineageBatch{Generation: gen}
		for _, r := range records {
			batch.Individuals = append(batch.Individuals, RecordToProto(r, nil))
		}
		ar.mu.Lock()
		for i, r := range records {
			if err := ar.lineage.AddSized(r, int64(proto.Size(batch.Individuals[i]))); err != nil {
				ar.mu.Unlock()
				return fmt.Errorf("generation %d: lineage: %w", gen, err)
			}
		}
		ar.last = records
		cancelReq := ar.cancelReq
		last := int(gen)+1 == spec.Generations
		stats, rewrites, err := ar.pruneGeneration(gen, records, last || cancelReq)
		if err != nil {
			ar.mu.Unlock()
			return fmt.Errorf("generation %d: lineage: %w", gen, err)
		}
		var all []lineage.Record // the final digest's records: only the last generation needs them
		if last {
			all = ar.lineage.Records()
		}
		ar.mu.Unlock()
		summary.Lineage = stats

		// The status written with the generation; st only takes it once
		// the commit succeeded, so a failed commit is recorded as a failure.
		// A finished run says so only once its lineage is rewritten too: a
		// leader lost in between leaves it running with every generation
		// done, and the next leader's resume completes the rewrite.
		next := cloneProto(st)
		next.GenerationsDone = gen + 1
		if cancelReq && !last {
			next.State = pb.RunState_RUN_STATE_CANCELLED
		}
		check := &pb.Checkpoint{
			FormatVersion: CheckpointFormat, RunId: ar.id, Spec: spec.ToProto(), Generation: gen,
			Population: membersToProto(members), NextId: nextID, Summary: summary, Records: batch,
		}
		// The generation is evaluated: commit it even if the run is being
		// cancelled meanwhile (the fence still guards against deposed leaders).
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		err = c.write(cctx, "checkpoint of "+ar.id, func(ctx context.Context, f store.Fence) error {
			t := time.Now()
			err := c.store.CommitProvenance(ctx, f, check, batch, next, spec.CheckpointRetention, prov)
			if m := c.cfg.Metrics; m != nil && err == nil {
				m.Commit(time.Since(t), commitSize(check, batch, next, prov))
			}
			return err
		})
		ccancel()
		if err != nil {
			return fmt.Errorf("generation %d: %w", gen, err)
		}
		if m := c.cfg.Metrics; m != nil {
			m.Generation(ar.id, time.Since(t0), len(members), summary)
		}
		st = next
		pendingLiars, pendingMismatches, replayed = nil, 0, 0
		if audits {
			// A rollback needs the checkpoint before the first tainted
			// generation: older pruning steps can be forgotten.
			ar.mu.Lock()
			if keep := int64(gen) + 1 - int64(spec.CheckpointRetention); keep > 0 {
				ar.graves.trim(uint32(keep))
			}
			ar.mu.Unlock()
		}
		ar.mu.Lock()
		ar.gens = gen + 1
		ar.mu.Unlock()
		if testHookCommitted != nil {
			testHookCommitted(c, ar.id, gen)
		}
		if err := c.rewriteLineage(ctx, ar.id, rewrites); err != nil {
			return fmt.Errorf("generation %d: %w", gen, err)
		}
		if last {
			final := cloneProto(st)
			final.State = pb.RunState_RUN_STATE_SUCCEEDED
			final.FinalDigest = FinalDigest(members, all)
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			err := c.setStatus(wctx, final)
			cancel()
			if err != nil {
				return fmt.Errorf("generation %d: %w", gen, err)
			}
			st = final
		}
		if (gen+1)%store.CompactEvery == 0 {
			if err := c.store.Compact(ctx); err != nil {
				c.log.Warn("compacting etcd history", "err", err)
			}
		}
		if last || cancelReq {
			c.log.Info("run ended", "run", ar.id, "state", st.GetState().String(), "generations", st.GetGenerationsDone())
			return nil
		}
		gen++
		members, births, nextID = base.Next(members, gen, nextID)
	}
}

// testHookCommitted, set only by tests before any coordinator starts,
// runs after a generation's commit and before its lineage rewrite: the
// moment a lost leadership leaves etcd committed but not yet pruned.
var testHookCommitted func(c *Coordinator, run string, gen uint32)

// testHookRunEnded, set only by tests before any coordinator starts, runs
// when a run's goroutine has recorded how the run ended and not yet
// reported itself done.
var testHookRunEnded func(c *Coordinator, run string)

// rewriteLineage stores the pruned lineage batches of a committed
// generation. Like the commit before it, it is finished even when the run
// is being stopped (a clean stop then leaves etcd as pruned as the run's
// memory); the fence still refuses a deposed leader.
func (c *Coordinator) rewriteLineage(ctx context.Context, run string, batches []*pb.LineageBatch) error {
	if len(batches) == 0 {
		return nil
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	return c.write(wctx, "pruned lineage of "+run, func(ctx context.Context, f store.Fence) error {
		return c.store.RewriteLineage(ctx, f, run, batches)
	})
}

// load rebuilds the lineage store from checkpointed batches of the first
// gens generations (the last batch holds the newest population) and
// prunes it; it returns the batches that pruning changed (see pruneLoaded).
func (ar *activeRun) load(batches []*pb.LineageBatch, gens uint32) ([]*pb.LineageBatch, error) {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	for _, b := range batches {
		recs := make([]lineage.Record, 0, len(b.GetIndividuals()))
		for _, p := range b.GetIndividuals() {
			r := RecordFromProto(p)
			if err := ar.lineage.Add(r); err != nil {
				return nil, fmt.Errorf("lineage of generation %d: %w", b.GetGeneration(), err)
			}
			recs = append(recs, r)
		}
		ar.last = recs
	}
	ar.gens = gens
	return ar.pruneLoaded()
}

// view returns the lineage of a run: the live one if this coordinator
// executes it, else one loaded from etcd. A loaded view of a run that is
// not running is kept, and used again while etcd still says the run has
// as many generations done as the view holds: a run this coordinator
// stopped (it lost leadership, or was a standby) may have been continued
// by another leader since, and then its lineage is read anew.
func (c *Coordinator) view(ctx context.Context, id string) (*activeRun, error) {
	c.mu.Lock()
	cached, ok := c.runs[id]
	c.mu.Unlock()
	if ok && !isDone(cached) {
		return cached, nil
	}
	// Read status, spec, checkpoint and lineage at one revision: a leader
	// committing and pruning meanwhile must not mix two generations'
	// states. A compaction between the reads means a newer view exists.
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var ar *activeRun
		var st *pb.RunStatus
		ar, st, err = c.load(ctx, id, cached)
		if errors.Is(err, rpctypes.ErrCompacted) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if ar == cached {
			return cached, nil
		}
		if st.GetState() != pb.RunState_RUN_STATE_RUNNING {
			c.mu.Lock()
			if cur, ok := c.runs[id]; !ok || isDone(cur) {
				c.runs[id] = ar
			}
			c.mu.Unlock()
		}
		return ar, nil
	}
	return nil, err
}

// load reads run id from etcd at one revision. It returns cached instead
// when cached (a stopped or loaded view, may be nil) already holds the
// generations etcd has, with the stored spec.
func (c *Coordinator) load(ctx context.Context, id string, cached *activeRun) (*activeRun, *pb.RunStatus, error) {
	rev, err := c.store.Revision(ctx)
	if err != nil {
		return nil, nil, err
	}
	at := c.store.AtRevision(rev)
	st, err := at.Status(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	sp, err := at.Spec(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if cached != nil {
		cached.mu.Lock()
		fresh := cached.gens == st.GetGenerationsDone() && proto.Equal(cached.spec.ToProto(), sp)
		cached.mu.Unlock()
		if fresh {
			return cached, st, nil
		}
	}
	spec, err := experiment.FromProto(sp)
	if err != nil {
		return nil, nil, fmt.Errorf("run %s: stored spec: %w", id, err)
	}
	ar := &activeRun{id: id, spec: spec, lineage: newLineage(), done: make(chan struct{})}
	close(ar.done)
	cp, err := at.Checkpoint(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ar, st, nil
	case err != nil:
		return nil, nil, err
	}
	batches, err := at.Lineage(ctx, id, cp.GetGeneration())
	if err != nil {
		return nil, nil, err
	}
	if _, err := ar.load(batches, cp.GetGeneration()+1); err != nil {
		return nil, nil, err
	}
	return ar, st, nil
}

// Shutdown stops the coordinator. Order: stop accepting run calls, cancel
// running runs (each records itself as interrupted and resumable), wait
// for them, stop the gRPC server, leave gossip, drop worker connections,
// resign leadership and close the etcd session. Idempotent: a later call
// waits for the first one's steps, within its own ctx.
//
// Shutdown honours ctx: when ctx ends first it returns ctx.Err() at once,
// while the steps go on in the background (a run finishing its last etcd
// write, bounded by that write's own timeout); the gRPC server is then
// stopped without waiting for open calls and streams. A process about to
// exit loses nothing committed by not waiting: etcd holds every commit, and
// a run interrupted mid-write is resumed from its last checkpoint.
func (c *Coordinator) Shutdown(ctx context.Context) error {
	c.shutdownOnce.Do(func() {
		c.shutdownDone = make(chan struct{})
		go c.shutdown(ctx) // joined by every Shutdown that waits for shutdownDone
	})
	select {
	case <-c.shutdownDone:
		return c.shutdownErr
	case <-ctx.Done():
		c.srvStopNow()
		return ctx.Err()
	}
}

// srvStopNow ends the gRPC server's open calls and streams without waiting.
func (c *Coordinator) srvStopNow() {
	if c.srv != nil {
		c.srv.Stop()
	}
}

// shutdown performs Shutdown's steps; shutdownDone closes after them.
func (c *Coordinator) shutdown(ctx context.Context) {
	defer close(c.shutdownDone)
	if c.health != nil {
		c.health.Shutdown()
	}
	c.stopDashboard(ctx)
	c.runCancel()
	c.wg.Wait()
	if c.srv != nil {
		done := make(chan struct{})
		go func() { c.srv.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			c.srv.Stop()
			<-done
		}
		<-c.served
	}
	if c.ml != nil {
		_ = c.ml.Leave(time.Second)
		_ = c.ml.Shutdown()
	}
	if c.dispatcher != nil {
		c.dispatcher.Close()
	}
	if t := c.term.Swap(nil); t != nil {
		c.leading.Store(false)
		rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = t.election.Resign(rctx)
		cancel()
		_ = t.session.Close()
	}
}

// sortedRecords returns rs ordered by fitness descending, then id.
func sortedRecords(rs []lineage.Record) []lineage.Record {
	out := slices.Clone(rs)
	slices.SortStableFunc(out, func(a, b lineage.Record) int {
		if a.Fitness != b.Fitness {
			if a.Fitness > b.Fitness {
				return -1
			}
			return 1
		}
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	return out
}

// checkSemantics refuses to resume run id when workers are known and none
// has the evaluation digest the run started with: its batches would wait
// for one forever. It names the digests and offers a fork, which continues
// from a checkpoint under the workers' semantics. Without workers yet (they
// may be joining) the resume goes ahead.
func (c *Coordinator) checkSemantics(id string, st *pb.RunStatus) error {
	want := st.GetEvaluationDigest()
	m, ok := c.evaluator().(interface {
		Workers() (n, capacity int)
		MatchingWorkers(digest string) int
		Digests() []string
	})
	if want == "" || !ok {
		return nil
	}
	if n, _ := m.Workers(); n == 0 || m.MatchingWorkers(want) > 0 {
		return nil
	}
	return fmt.Errorf("%w: run %s was started under evaluation digest %s and no worker has it (the workers have %s); start workers of that build, or fork the run to continue under theirs: mesactl run fork %s --generation %d",
		ErrNoMatchingWorker, id, want, strings.Join(m.Digests(), ", "), id, max(0, int(st.GetGenerationsDone())-1))
}
