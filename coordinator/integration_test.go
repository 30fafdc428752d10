package coordinator_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/mesaopt/mesaopt/coordinator"
	"github.com/mesaopt/mesaopt/coordinator/store"
	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/internal/localetcd"
	"github.com/mesaopt/mesaopt/internal/testenv"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/worker"
)

func freeAddr(t *testing.T) string { return testenv.FreeAddr(t, "127.0.0.1") }

// externalEtcd is the address of an etcd server for the tests to use
// instead of an embedded one (MESAOPT_TEST_ETCD, set by .ci/run). Each test
// then works under a prefix of its own.
var externalEtcd = os.Getenv("MESAOPT_TEST_ETCD")

// prefixes maps each test client to the key prefix its coordinators use.
var prefixes sync.Map

var prefixSeq atomic.Int64

// startEtcd returns a client of an etcd for this test: embedded in a
// temporary directory, or the external one under a fresh prefix.
func startEtcd(t testing.TB) *clientv3.Client {
	t.Helper()
	endpoints := []string{externalEtcd}
	prefix := store.DefaultPrefix
	if externalEtcd == "" {
		endpoints = testenv.Etcd(t, 0).Endpoints()
	} else {
		prefix = fmt.Sprintf("/test/%s/%d/%d/", strings.ReplaceAll(t.Name(), "/", "_"), os.Getpid(), prefixSeq.Add(1))
	}
	cli := testenv.Client(t, endpoints...)
	prefixes.Store(cli, prefix)
	return cli
}

// prefixOf returns the key prefix of a test client.
func prefixOf(cli *clientv3.Client) string {
	if p, ok := prefixes.Load(cli); ok {
		return p.(string)
	}
	return store.DefaultPrefix
}

func smallSpec() experiment.Spec {
	s := experiment.Default()
	s.CheckpointRetention = 2
	s.Population = 12
	s.Elites = 2
	s.Generations = 4
	s.Episodes = 2
	s.BatchSize = 3
	return s
}

func startCoordinator(t testing.TB, cli *clientv3.Client, ev coordinator.Evaluator) *coordinator.Coordinator {
	t.Helper()
	return startCoordinatorWith(t, cli, ev, func(*coordinator.Config) {})
}

// startCoordinatorWith is startCoordinator with the config changed by set
// first.
func startCoordinatorWith(t testing.TB, cli *clientv3.Client, ev coordinator.Evaluator, set func(*coordinator.Config)) *coordinator.Coordinator {
	t.Helper()
	cfg := coordinator.DefaultConfig()
	cfg.Etcd = cli
	cfg.Prefix = prefixOf(cli)
	cfg.Evaluator = ev
	set(&cfg)
	c, err := coordinator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Shutdown(ctx)
	})
	return c
}

// waitRun waits for run id on c to end and returns it.
func waitRun(t testing.TB, ctx context.Context, c *coordinator.Coordinator, id string) *pb.Run {
	t.Helper()
	if err := c.Wait(ctx, id); err != nil {
		t.Fatal(err)
	}
	run, err := c.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// runToEnd submits spec and returns the finished run.
func runToEnd(t *testing.T, c *coordinator.Coordinator, spec experiment.Spec) *pb.Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	id, err := c.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	run := waitRun(t, ctx, c, id)
	if run.GetState() != pb.RunState_RUN_STATE_SUCCEEDED {
		t.Fatalf("run ended %v: %s", run.GetState(), run.GetError())
	}
	return run
}

// TestWorkersOverGossipMatchInProcess runs the same spec in-process and
// through two workers found by gossip and compares every generation digest
// and the final digest (population and whole lineage).
func TestWorkersOverGossipMatchInProcess(t *testing.T) {
	spec := smallSpec()
	local := runToEnd(t, startCoordinator(t, startEtcd(t), worker.NewEngine(2)), spec)

	cli := startEtcd(t)
	c := startCoordinator(t, cli, nil)
	for i := range 2 {
		cfg := worker.DefaultConfig()
		cfg.Join = []string{c.GossipAddr()}
		w, err := worker.Start(context.Background(), cfg)
		if err != nil {
			t.Fatalf("worker %d: %v", i, err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = w.Shutdown(ctx)
		})
	}
	testenv.WaitFor(t, "2 workers to join", 10*time.Second, func() bool { n, _ := c.Workers(); return n >= 2 })
	remote := runToEnd(t, c, spec)

	if local.GetFinalDigest() == "" || local.GetFinalDigest() != remote.GetFinalDigest() {
		t.Fatalf("final digests differ: in-process %s, workers %s", local.GetFinalDigest(), remote.GetFinalDigest())
	}
	for g := range local.GetSummaries() {
		if a, b := local.GetSummaries()[g].GetDigest(), remote.GetSummaries()[g].GetDigest(); a != b {
			t.Fatalf("generation %d digests differ: %s vs %s", g, a, b)
		}
	}
	if remote.GetReport() == nil || len(remote.GetReport().GetBest()) == 0 {
		t.Fatal("run report missing")
	}

	// The checkpoint is readable by a plain etcd client: a zstd blob of a
	// pb.Checkpoint under runs/<run>/checkpoint/<gen>, the newest ones kept.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	prefix := prefixOf(cli) + "runs/" + remote.GetRunId() + "/checkpoint/"
	resp, err := cli.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil || len(resp.Kvs) != spec.CheckpointRetention {
		t.Fatalf("checkpoints: %v, %d keys, want %d (retention)", err, len(resp.Kvs), spec.CheckpointRetention)
	}
	last := resp.Kvs[len(resp.Kvs)-1]
	if want := fmt.Sprintf("%s%08d", prefix, spec.Generations-1); string(last.Key) != want {
		t.Fatalf("newest checkpoint key %s, want %s", last.Key, want)
	}
	var blob pb.Blob
	if err := proto.Unmarshal(last.Value, &blob); err != nil || blob.GetChunks() != 0 {
		t.Fatalf("blob: %v, %d chunks", err, blob.GetChunks())
	}
	dec, _ := zstd.NewReader(nil)
	defer dec.Close()
	raw, err := dec.DecodeAll(blob.GetData(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var cp pb.Checkpoint
	if err := proto.Unmarshal(raw, &cp); err != nil {
		t.Fatal(err)
	}
	if cp.GetGeneration() != uint32(spec.Generations-1) || len(cp.GetPopulation()) != spec.Population {
		t.Fatalf("checkpoint generation %d with %d members", cp.GetGeneration(), len(cp.GetPopulation()))
	}
	if cp.GetSummary().GetDigest() != remote.GetSummaries()[spec.Generations-1].GetDigest() {
		t.Fatal("checkpoint summary digest differs from the last summary")
	}
}

// TestCancelAndResumeMatchesUninterrupted stops a run after a generation,
// resumes it from its checkpoint and compares with an uninterrupted run.
func TestCancelAndResumeMatchesUninterrupted(t *testing.T) {
	spec := smallSpec()
	spec.Generations = 5
	want := runToEnd(t, startCoordinator(t, startEtcd(t), worker.NewEngine(2)), spec)

	cli := startEtcd(t)
	c := startCoordinator(t, cli, worker.NewEngine(2))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	id, err := c.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Cancel(id); err != nil {
		t.Fatal(err)
	}
	mid := waitRun(t, ctx, c, id)
	if mid.GetState() != pb.RunState_RUN_STATE_CANCELLED || mid.GetGenerationsDone() >= uint32(spec.Generations) {
		t.Fatalf("after cancel: state %v, %d generations", mid.GetState(), mid.GetGenerationsDone())
	}
	// Resume on a fresh coordinator, as after a restart.
	if err := c.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	c2 := startCoordinator(t, cli, worker.NewEngine(2))
	if err := c2.Resume(ctx, id); err != nil {
		t.Fatal(err)
	}
	got := waitRun(t, ctx, c2, id)
	if got.GetState() != pb.RunState_RUN_STATE_SUCCEEDED || got.GetFinalDigest() != want.GetFinalDigest() {
		t.Fatalf("resumed run: %v, digest %s; uninterrupted digest %s", got.GetState(), got.GetFinalDigest(), want.GetFinalDigest())
	}
	if len(got.GetSummaries()) != spec.Generations {
		t.Fatalf("resumed run has %d summaries, want %d", len(got.GetSummaries()), spec.Generations)
	}
}

// gated lets through a budget of evaluations; later calls wait until the
// budget is raised or their context ends.
type gated struct {
	inner   coordinator.Evaluator
	mu      sync.Mutex
	budget  int
	changed chan struct{}
}

func (g *gated) allow(tasks int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.budget = tasks
	if g.changed != nil {
		close(g.changed)
	}
	g.changed = make(chan struct{})
}

func (g *gated) Evaluate(ctx context.Context, req *pb.EvaluateRequest) (*pb.EvaluateResponse, error) {
	for {
		g.mu.Lock()
		if g.budget >= len(req.GetTasks()) {
			g.budget -= len(req.GetTasks())
			g.mu.Unlock()
			return g.inner.Evaluate(ctx, req)
		}
		changed := g.changed
		g.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-changed:
		}
	}
}

// TestResumeManyTimes stops a run after every generation and resumes it on
// a fresh coordinator: ids stay unique, the generation count is exact and
// the result equals the uninterrupted run's.
func TestResumeManyTimes(t *testing.T) {
	spec := smallSpec()
	spec.Generations = 6
	want := runToEnd(t, startCoordinator(t, startEtcd(t), worker.NewEngine(2)), spec)

	cli := startEtcd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var id string
	for round := 0; round < spec.Generations; round++ {
		ev := &gated{inner: worker.NewEngine(2)}
		if round < spec.Generations-1 {
			// The generation and its thinking curve (one variant per
			// horizon).
			ev.allow(spec.Population + genome.MaxHorizon)
		} else {
			// And the last generation's zeroed untrained weights (at most
			// one variant per individual).
			ev.allow(2*spec.Population + genome.MaxHorizon)
		}
		c := startCoordinator(t, cli, ev)
		if round == 0 {
			var err error
			if id, err = c.Submit(ctx, spec); err != nil {
				t.Fatal(err)
			}
		} else if err := c.Resume(ctx, id); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if round < spec.Generations-1 {
			deadline := time.Now().Add(time.Minute)
			for generationsDone(t, cli, id) != uint32(round+1) {
				if time.Now().After(deadline) {
					t.Fatalf("round %d: no generation committed", round)
				}
				time.Sleep(5 * time.Millisecond)
			}
			if err := c.Cancel(id); err != nil {
				t.Fatal(err)
			}
		}
		run := waitRun(t, ctx, c, id)
		if err := c.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		if int(run.GetGenerationsDone()) != round+1 || len(run.GetHistory()) != round {
			t.Fatalf("round %d: %d generations done, history %v", round, run.GetGenerationsDone(), run.GetHistory())
		}
		if round == spec.Generations-1 {
			if run.GetState() != pb.RunState_RUN_STATE_SUCCEEDED || run.GetFinalDigest() != want.GetFinalDigest() {
				t.Fatalf("after %d resumes: %v, digest %s (want %s)", round, run.GetState(), run.GetFinalDigest(), want.GetFinalDigest())
			}
			for g, s := range run.GetSummaries() {
				if s.GetGeneration() != uint32(g) || s.GetDigest() != want.GetSummaries()[g].GetDigest() {
					t.Fatalf("summary %d: generation %d digest %s", g, s.GetGeneration(), s.GetDigest())
				}
			}
		} else if run.GetState() != pb.RunState_RUN_STATE_CANCELLED {
			t.Fatalf("round %d ended %v", round, run.GetState())
		}
	}
}

func generationsDone(t *testing.T, cli *clientv3.Client, id string) uint32 {
	t.Helper()
	resp, err := cli.Get(context.Background(), prefixOf(cli)+"runs/"+id+"/status")
	if err != nil || len(resp.Kvs) == 0 {
		t.Fatalf("status of %s: %v", id, err)
	}
	var st pb.RunStatus
	if err := proto.Unmarshal(resp.Kvs[0].Value, &st); err != nil {
		t.Fatal(err)
	}
	return st.GetGenerationsDone()
}

// TestResumeOverridesAndFork extends a finished run through a safe
// override (equal to a longer uninterrupted run), refuses an unsafe one,
// and forks: unchanged, a fork repeats its parent; changed, it diverges.
func TestResumeOverridesAndFork(t *testing.T) {
	spec := smallSpec()
	spec.CheckpointRetention = 10
	longer := spec
	longer.Generations = spec.Generations + 2
	want := runToEnd(t, startCoordinator(t, startEtcd(t), worker.NewEngine(2)), longer)

	c := startCoordinator(t, startEtcd(t), worker.NewEngine(2))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	first := runToEnd(t, c, spec)
	id := first.GetRunId()
	if err := c.Resume(ctx, id, "population=20"); !errors.Is(err, experiment.ErrOverride) {
		t.Fatalf("unsafe override: %v", err)
	}
	if err := c.Resume(ctx, id, "generations=2"); !errors.Is(err, coordinator.ErrFinished) {
		t.Fatalf("shrinking override: %v", err)
	}
	if err := c.Resume(ctx, id, "generatons=9"); !errors.Is(err, experiment.ErrInvalid) {
		t.Fatalf("misspelt override: %v", err)
	}
	if err := c.Resume(ctx, id, fmt.Sprintf("generations=%d", longer.Generations)); err != nil {
		t.Fatal(err)
	}
	extended := waitRun(t, ctx, c, id)
	if extended.GetFinalDigest() != want.GetFinalDigest() || len(extended.GetHistory()) != 1 {
		t.Fatalf("extended run: digest %s, want %s; history %v", extended.GetFinalDigest(), want.GetFinalDigest(), extended.GetHistory())
	}

	same, err := c.Fork(ctx, id, 2)
	if err != nil {
		t.Fatal(err)
	}
	fork := waitRun(t, ctx, c, same)
	if fork.GetFinalDigest() != extended.GetFinalDigest() || len(fork.GetSummaries()) != longer.Generations {
		t.Fatalf("unchanged fork: digest %s, want %s; %d summaries", fork.GetFinalDigest(), extended.GetFinalDigest(), len(fork.GetSummaries()))
	}
	changed, err := c.Fork(ctx, id, 2, "environment.red_objects=5")
	if err != nil {
		t.Fatal(err)
	}
	fork2 := waitRun(t, ctx, c, changed)
	if fork2.GetState() != pb.RunState_RUN_STATE_SUCCEEDED || fork2.GetFinalDigest() == extended.GetFinalDigest() {
		t.Fatalf("changed fork: %v, digest %s", fork2.GetState(), fork2.GetFinalDigest())
	}
	if fork2.GetSummaries()[2].GetDigest() != extended.GetSummaries()[2].GetDigest() {
		t.Fatal("a fork does not share its parent's history up to the fork")
	}
	if _, err := c.Fork(ctx, id, 0, "seed=2"); !errors.Is(err, experiment.ErrOverride) {
		t.Fatalf("seed override in a fork: %v", err)
	}
}

// TestEtcdOutageMidRun stops etcd while a generation is being committed:
// the coordinator pauses and retries, says so, and continues when etcd is
// back, with the result of an uninterrupted run.
func TestEtcdOutageMidRun(t *testing.T) {
	testenv.Heavy(t)
	if externalEtcd != "" {
		t.Skip("stops and restarts its own embedded etcd")
	}
	spec := smallSpec()
	spec.Generations = 5
	want := runToEnd(t, startCoordinator(t, startEtcd(t), worker.NewEngine(2)), spec)

	etcdCfg := localetcd.Config{Dir: filepath.Join(t.TempDir(), "etcd"), ClientAddr: freeAddr(t), PeerAddr: freeAddr(t)}
	srv, err := localetcd.Start(etcdCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Close() }()
	cli, err := clientv3.New(clientv3.Config{Endpoints: srv.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	var logs testenv.LogBuffer
	ev := &gated{inner: worker.NewEngine(2)}
	ev.allow(2 * (spec.Population + genome.MaxHorizon)) // two generations and their thinking curves
	cfg := coordinator.DefaultConfig()
	cfg.Etcd = cli
	cfg.Evaluator = ev
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	cfg.SessionTTL = 30 // the outage is shorter than the lease: a pause, not a failover
	c, err := coordinator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown(context.Background())
	id, err := c.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for generationsDone(t, cli, id) != 2 {
		if time.Now().After(deadline) {
			t.Fatal("generation 1 never committed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	srv.Close() // etcd goes away with generation 2 under evaluation
	ev.allow(1 << 30)
	deadline = time.Now().Add(time.Minute)
	for !strings.Contains(logs.String(), "etcd write failed; pausing and retrying") {
		if time.Now().After(deadline) {
			t.Fatalf("no retry logged:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if srv, err = localetcd.Start(etcdCfg); err != nil {
		t.Fatal(err)
	}
	run := waitRun(t, ctx, c, id)
	if strings.Contains(logs.String(), "leadership lost") {
		t.Fatalf("a short outage cost the leadership:\n%s", logs.String())
	}
	if run.GetState() != pb.RunState_RUN_STATE_SUCCEEDED || run.GetFinalDigest() != want.GetFinalDigest() {
		t.Fatalf("after the outage: %v %s, digest %s (want %s)\n%s", run.GetState(), run.GetError(), run.GetFinalDigest(), want.GetFinalDigest(), logs.String())
	}
}
