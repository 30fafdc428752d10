package coordinator_test

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/mesaopt/mesaopt/coordinator/dispatch"
	"github.com/mesaopt/mesaopt/internal/grpcconf"
	"github.com/mesaopt/mesaopt/internal/testenv"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
	"github.com/mesaopt/mesaopt/worker"
)

// evaluatorServer is a worker's EvaluatorService over an in-process engine
// that may tamper with its answers: a rogue worker when lie is set.
type evaluatorServer struct {
	rpc.UnimplementedEvaluatorServiceServer
	name   string
	engine *worker.Engine
	// lie tampers with an honest answer to req in place; nil: honest.
	lie  func(req *pb.EvaluateRequest, resp *pb.EvaluateResponse)
	lies atomic.Int64
}

func (s *evaluatorServer) Evaluate(ctx context.Context, req *pb.EvaluateRequest) (*pb.EvaluateResponse, error) {
	resp, err := s.engine.Evaluate(ctx, req)
	if err != nil {
		return nil, err
	}
	resp.Worker = s.name
	if s.lie != nil {
		s.lie(req, resp)
		s.lies.Add(1)
	}
	return resp, nil
}

// serveWorker serves s on its own loopback address until the test ends and
// registers it with d under its name, as gossip would.
func serveWorker(t testing.TB, d *dispatch.Dispatcher, s *evaluatorServer) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpcconf.ServerOptions()...)
	rpc.RegisterEvaluatorServiceServer(srv, worker.Streaming(s))
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	t.Cleanup(func() { srv.Stop(); <-done })
	d.Upsert(s.name, worker.Meta{Role: worker.RoleWorker, GRPC: lis.Addr().String(), Capacity: 2, Protocol: worker.ProtocolVersion, Digest: worker.EvaluationDigest()})
}

// eachCondition applies f to every condition result of resp.
func eachCondition(resp *pb.EvaluateResponse, f func(*pb.ConditionResult)) {
	for _, r := range resp.GetResults() {
		for _, c := range r.GetConditions() {
			f(c)
		}
	}
}

// TestRogueWorkerCaughtAndRolledBack runs a spec on two honest workers and
// a rogue one that tampers with every answer — base 1.0 everywhere, NaN,
// or one analysis episode's base off by a little — and checks that the run
// ends with the honest run's digests and the rogue quarantined: invalid
// answers are refused, plausible ones are caught by audits, and the run
// rolls back and replays without the rogue.
func TestRogueWorkerCaughtAndRolledBack(t *testing.T) {
	if testing.Short() {
		t.Skip("runs four clusters")
	}
	spec := smallSpec()
	spec.AuditRate = 0.25
	honest := runToEnd(t, startCoordinator(t, startEtcd(t), worker.NewEngine(2)), spec)

	for _, tc := range []struct {
		name string
		lie  func(*pb.EvaluateRequest, *pb.EvaluateResponse)
	}{
		{"perfect scores", func(_ *pb.EvaluateRequest, r *pb.EvaluateResponse) {
			eachCondition(r, func(c *pb.ConditionResult) {
				c.Base = 1
				for _, e := range c.GetEpisodeScores() {
					e.Base = 1
				}
			})
		}},
		{"NaN", func(_ *pb.EvaluateRequest, r *pb.EvaluateResponse) {
			eachCondition(r, func(c *pb.ConditionResult) { c.Base = math.NaN() })
		}},
		{"one episode off", func(_ *pb.EvaluateRequest, r *pb.EvaluateResponse) {
			eachCondition(r, func(c *pb.ConditionResult) {
				if es := c.GetEpisodeScores(); len(es) > 0 {
					es[0].Base = math.Abs(es[0].Base - 1e-9)
				}
			})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := dispatch.NewDispatcher(10*time.Second, slog.New(slog.DiscardHandler))
			t.Cleanup(d.Close)
			for _, name := range []string{"honest-1", "honest-2"} {
				serveWorker(t, d, &evaluatorServer{name: name, engine: worker.NewEngine(2)})
			}
			rogue := &evaluatorServer{name: "rogue", engine: worker.NewEngine(2), lie: tc.lie}
			serveWorker(t, d, rogue)
			run := runToEnd(t, startCoordinator(t, startEtcd(t), d), spec)
			if rogue.lies.Load() == 0 {
				t.Fatal("the rogue answered nothing: the test tests nothing")
			}
			if run.GetFinalDigest() != honest.GetFinalDigest() {
				t.Fatalf("final digest %s, honest run's %s (rogue answered %d batches)", run.GetFinalDigest(), honest.GetFinalDigest(), rogue.lies.Load())
			}
			for g, s := range honest.GetSummaries() {
				if got := run.GetSummaries()[g].GetDigest(); got != s.GetDigest() {
					t.Fatalf("generation %d digest %s, honest %s", g, got, s.GetDigest())
				}
			}
			if tc.name == "NaN" {
				return // refused by validation: never a score, nothing to audit
			}
			if !slices.Contains(d.Quarantined(), "rogue") {
				t.Fatalf("quarantined %v, want the rogue", d.Quarantined())
			}
			var liars []string
			for _, s := range run.GetSummaries() {
				liars = append(liars, s.GetLiars()...)
			}
			if !slices.Contains(liars, "rogue") {
				t.Fatalf("summaries name liars %v, want the rogue", liars)
			}
		})
	}
}

// TestLateRogueRolledBackToCheckpoint has a rogue join a run after its
// second generation was committed, with few audits, so that it usually
// answers committed generations before it is caught: the run rolls back to
// the checkpoint before the rogue's first answer, not to the start, and
// ends with the honest run's digests.
func TestLateRogueRolledBackToCheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two clusters")
	}
	spec := smallSpec()
	spec.Generations = 10
	spec.CheckpointRetention = 10
	spec.AuditRate = 0.25
	honest := runToEnd(t, startCoordinator(t, startEtcd(t), worker.NewEngine(2)), spec)

	d := dispatch.NewDispatcher(10*time.Second, slog.New(slog.DiscardHandler))
	t.Cleanup(d.Close)
	for _, name := range []string{"honest-1", "honest-2"} {
		serveWorker(t, d, &evaluatorServer{name: name, engine: worker.NewEngine(2)})
	}
	c := startCoordinator(t, startEtcd(t), d)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	id, err := c.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "2 generations committed", time.Minute, func() bool {
		run, err := c.GetRun(ctx, id)
		return err == nil && run.GetGenerationsDone() >= 2
	})
	// It answers honestly in the generation it joins (where it may answer
	// only the "does thinking help" re-plans, which no provenance records)
	// and the next, and lies from then on, only in batches of several genomes (never when asked for one: a
	// second opinion, an isolated genome), so it is caught after a commit
	// that holds its answers: the rollback goes to the checkpoint before
	// its first generation.
	var first atomic.Int64
	first.Store(-1)
	rogue := &evaluatorServer{name: "rogue", engine: worker.NewEngine(4), lie: func(req *pb.EvaluateRequest, r *pb.EvaluateResponse) {
		first.CompareAndSwap(-1, int64(req.GetGeneration()))
		if int64(req.GetGeneration()) > first.Load()+1 && len(r.GetResults()) > 1 {
			eachCondition(r, func(c *pb.ConditionResult) { c.Base = 1 })
		}
	}}
	serveWorker(t, d, rogue)
	run := waitRun(t, ctx, c, id)
	if run.GetState() != pb.RunState_RUN_STATE_SUCCEEDED {
		t.Fatalf("run ended %v: %s", run.GetState(), run.GetError())
	}
	if run.GetFinalDigest() != honest.GetFinalDigest() {
		t.Fatalf("final digest %s, honest run's %s (rogue answered %d batches)", run.GetFinalDigest(), honest.GetFinalDigest(), rogue.lies.Load())
	}
	var replayed uint32
	for _, s := range run.GetSummaries() {
		replayed += s.GetReplayedGenerations()
		if len(s.GetLiars()) > 0 {
			t.Logf("generation %d: liars %v, %d mismatches, %d replayed", s.GetGeneration(), s.GetLiars(), s.GetAuditMismatches(), s.GetReplayedGenerations())
		}
	}
	st, err := c.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rogue answered %d batches from generation %d, %d generations replayed; history %q", rogue.lies.Load(), first.Load(), replayed, st.GetHistory())
	if !slices.Contains(d.Quarantined(), "rogue") {
		t.Fatalf("the rogue answered %d batches and is not quarantined", rogue.lies.Load())
	}
	// The checkpoint before the rogue's first answer: first-1 or first.
	want := []string{fmt.Sprintf("rolled back to generation %d:", first.Load()-1), fmt.Sprintf("rolled back to generation %d:", first.Load())}
	if replayed == 0 || !slices.ContainsFunc(st.GetHistory(), func(h string) bool { return strings.HasPrefix(h, want[0]) || strings.HasPrefix(h, want[1]) }) {
		t.Fatalf("history %q, %d generations replayed; want a rollback to the checkpoint before the rogue's first answer (%q)", st.GetHistory(), replayed, want)
	}
}

// TestRogueBesideOneHonestWorker has only two workers, one of them a
// rogue: the coordinator's own engine gives the third opinion.
func TestRogueBesideOneHonestWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two clusters")
	}
	spec := smallSpec()
	spec.AuditRate = 0.25
	honest := runToEnd(t, startCoordinator(t, startEtcd(t), worker.NewEngine(2)), spec)
	d := dispatch.NewDispatcher(10*time.Second, slog.New(slog.DiscardHandler))
	t.Cleanup(d.Close)
	serveWorker(t, d, &evaluatorServer{name: "honest", engine: worker.NewEngine(2)})
	rogue := &evaluatorServer{name: "rogue", engine: worker.NewEngine(2), lie: func(_ *pb.EvaluateRequest, r *pb.EvaluateResponse) {
		eachCondition(r, func(c *pb.ConditionResult) { c.Base = 1 })
	}}
	serveWorker(t, d, rogue)
	start := time.Now()
	c := startCoordinator(t, startEtcd(t), d)
	run := runToEnd(t, c, spec)
	if run.GetFinalDigest() != honest.GetFinalDigest() || !slices.Contains(d.Quarantined(), "rogue") {
		t.Fatalf("final digest %s (honest %s), quarantined %v", run.GetFinalDigest(), honest.GetFinalDigest(), d.Quarantined())
	}
	if took := time.Since(start); took > time.Minute {
		t.Fatalf("run took %v: the third opinion waited for a third worker", took)
	}

	// ListWorkers says which is which, over gRPC.
	conn, err := grpc.NewClient(c.GRPCAddr(), grpcconf.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := rpc.NewRunServiceClient(conn).ListWorkers(ctx, &pb.ListWorkersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ws := resp.GetWorkers()
	if len(ws) != 2 || ws[0].GetName() != "honest" || ws[0].GetState() != pb.WorkerState_WORKER_STATE_ALIVE || ws[0].GetEvaluations() == 0 ||
		ws[0].GetEvaluationDigest() != worker.EvaluationDigest() || ws[0].GetCapacity() != 2 ||
		ws[1].GetName() != "rogue" || ws[1].GetState() != pb.WorkerState_WORKER_STATE_QUARANTINED || ws[1].GetReason() == "" {
		t.Fatalf("ListWorkers = %v", ws)
	}
}
