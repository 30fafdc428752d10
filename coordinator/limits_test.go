package coordinator_test

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mesaopt/mesaopt/coordinator"
	"github.com/mesaopt/mesaopt/coordinator/ga"
	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/internal/grpcconf"
	"github.com/mesaopt/mesaopt/internal/testenv"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
	"github.com/mesaopt/mesaopt/worker"
)

// startLimited starts a coordinator with limits and an in-process
// evaluator, and returns it with a RunService client over loopback gRPC.
func startLimited(t *testing.T, cli *clientv3.Client, ev coordinator.Evaluator, limits coordinator.Limits) (*coordinator.Coordinator, rpc.RunServiceClient) {
	t.Helper()
	c := startCoordinatorWith(t, cli, ev, func(cfg *coordinator.Config) { cfg.Limits = limits })
	conn, err := grpc.NewClient(c.GRPCAddr(), grpcconf.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return c, rpc.NewRunServiceClient(conn)
}

// blocked is an evaluator that never answers before its call's context
// ends: runs on it stay running.
type blocked struct{ calls atomic.Int64 }

func (b *blocked) Evaluate(ctx context.Context, _ *pb.EvaluateRequest) (*pb.EvaluateResponse, error) {
	b.calls.Add(1)
	<-ctx.Done()
	return nil, ctx.Err()
}

// wantExhausted fails unless err is ResourceExhausted naming flag.
func wantExhausted(t *testing.T, err error, flag string) {
	t.Helper()
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "--"+flag) {
		t.Fatalf("err = %v, want ResourceExhausted naming --%s", err, flag)
	}
}

func TestLimitConcurrentRuns(t *testing.T) {
	_, client := startLimited(t, startEtcd(t), &blocked{}, coordinator.Limits{MaxRuns: 2})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	spec := smallSpec().ToProto()
	for range 2 {
		if _, err := client.SubmitRun(ctx, &pb.SubmitRunRequest{Spec: spec}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := client.SubmitRun(ctx, &pb.SubmitRunRequest{Spec: spec})
	wantExhausted(t, err, "max-runs")
	if !strings.Contains(err.Error(), "concurrent runs") || !strings.Contains(err.Error(), "allowed 2") {
		t.Fatalf("refusal does not name the limit and its value: %v", err)
	}
	// A sweep is refused whole: none of its runs is created.
	_, err = client.SubmitSweep(ctx, &pb.SubmitSweepRequest{Spec: spec, Definition: experiment.SweepToProto(&experiment.Sweep{Seeds: []uint64{1}})})
	wantExhausted(t, err, "max-runs")
	runs, err := client.ListRuns(ctx, &pb.ListRunsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(runs.GetRuns()); n != 2 {
		t.Fatalf("%d runs after the refusals, want 2", n)
	}
	// Cancelling one makes room for another.
	if _, err := client.CancelRun(ctx, &pb.CancelRunRequest{RunId: runs.GetRuns()[0].GetRunId()}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(testenv.Patience(10 * time.Second))
	for {
		_, err := client.SubmitRun(ctx, &pb.SubmitRunRequest{Spec: spec})
		if err == nil {
			break
		}
		if status.Code(err) != codes.ResourceExhausted || time.Now().After(deadline) {
			t.Fatalf("submit after a cancel: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestLimitRunCost(t *testing.T) {
	spec := smallSpec()
	cost := coordinator.RunCost(spec)
	// 12 members × 4 generations × (2 selection + (train + 3 shifted + identity) × 32 analysis episodes)
	if want := int64(spec.Population * spec.Generations * (spec.Episodes + (len(spec.Conditions())+1)*spec.AnalysisEpisodes)); cost != want {
		t.Fatalf("RunCost = %d, want %d", cost, want)
	}
	_, client := startLimited(t, startEtcd(t), worker.NewEngine(2), coordinator.Limits{MaxRunCost: cost - 1})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := client.SubmitRun(ctx, &pb.SubmitRunRequest{Spec: spec.ToProto()})
	wantExhausted(t, err, "max-run-cost")
	spec.Generations--
	if _, err := client.SubmitRun(ctx, &pb.SubmitRunRequest{Spec: spec.ToProto()}); err != nil {
		t.Fatalf("a cheaper run: %v", err)
	}
}

func TestLimitSubmitsPerMinute(t *testing.T) {
	_, client := startLimited(t, startEtcd(t), &blocked{}, coordinator.Limits{SubmitsPerMinute: 2})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	spec := smallSpec().ToProto()
	for range 2 {
		if _, err := client.SubmitRun(ctx, &pb.SubmitRunRequest{Spec: spec}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := client.SubmitRun(ctx, &pb.SubmitRunRequest{Spec: spec})
	wantExhausted(t, err, "max-submits-per-minute")
	_, err = client.ResumeRun(ctx, &pb.ResumeRunRequest{RunId: "any"})
	wantExhausted(t, err, "max-submits-per-minute")
}

func TestLimitStreamsPerClient(t *testing.T) {
	_, client := startLimited(t, startEtcd(t), &blocked{}, coordinator.Limits{MaxStreams: 1})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := client.SubmitRun(ctx, &pb.SubmitRunRequest{Spec: smallSpec().ToProto()})
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithCancel(ctx)
	// The first stream sends nothing until a generation ends: it holds
	// its place as long as it is open.
	if _, err := client.WatchRun(wctx, &pb.WatchRunRequest{RunId: resp.GetRunId()}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(testenv.Patience(10 * time.Second))
	for {
		// Until the server holds the first stream, a second one may take
		// the place for its short life.
		sctx, scancel := context.WithTimeout(ctx, 100*time.Millisecond)
		second, err := client.WatchRun(sctx, &pb.WatchRunRequest{RunId: resp.GetRunId()})
		if err == nil {
			_, err = second.Recv()
		}
		scancel()
		if status.Code(err) == codes.ResourceExhausted {
			wantExhausted(t, err, "max-streams-per-client")
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("second stream: %v, want ResourceExhausted", err)
		}
	}
	// Ending the first stream frees its place.
	wcancel()
	deadline = time.Now().Add(testenv.Patience(10 * time.Second))
	for {
		sctx, scancel := context.WithTimeout(ctx, 200*time.Millisecond)
		s, err := client.WatchRun(sctx, &pb.WatchRunRequest{RunId: resp.GetRunId()})
		if err == nil {
			_, err = s.Recv()
		}
		scancel()
		if status.Code(err) == codes.DeadlineExceeded {
			break // admitted: it waited for a generation
		}
		if status.Code(err) != codes.ResourceExhausted || time.Now().After(deadline) {
			t.Fatalf("watch after the first ended: %v", err)
		}
	}
}

// slow answers each batch after delay (sooner if its context ends), like a
// worker far slower than the coordinator: a generation's batches queue.
type slow struct {
	inner    coordinator.Evaluator
	delay    time.Duration
	capacity int

	mu             sync.Mutex
	inflight, peak int
}

func (s *slow) Workers() (n, capacity int) { return 1, s.capacity }

func (s *slow) Evaluate(ctx context.Context, req *pb.EvaluateRequest) (*pb.EvaluateResponse, error) {
	s.mu.Lock()
	s.inflight++
	s.peak = max(s.peak, s.inflight)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inflight--
		s.mu.Unlock()
	}()
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.inner.Evaluate(ctx, req)
}

func (s *slow) peakCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// TestCancelUnderLoad cancels a run whose generation has thousands of
// batches queued on a slow evaluator: CancelRun returns, and the run is
// recorded cancelled within about one batch's time.
func TestCancelUnderLoad(t *testing.T) {
	ev := &slow{inner: worker.NewEngine(2), delay: 200 * time.Millisecond, capacity: 2}
	c, client := startLimited(t, startEtcd(t), ev, coordinator.Limits{})
	spec := smallSpec()
	spec.Population, spec.BatchSize = 4000, 1 // 4,000 batches, 100 s of work at CallLimit at once
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := client.SubmitRun(ctx, &pb.SubmitRunRequest{Spec: spec.ToProto()})
	if err != nil {
		t.Fatal(err)
	}
	limit := coordinator.CallLimit(ev)
	for ev.peakCalls() < limit {
		if ctx.Err() != nil {
			t.Fatal("the generation never filled its calls")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := client.CancelRun(ctx, &pb.CancelRunRequest{RunId: resp.GetRunId()}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	deadline := start.Add(testenv.Patience(ev.delay + 3*time.Second))
	for {
		run, err := c.GetRun(ctx, resp.GetRunId())
		if err != nil {
			t.Fatal(err)
		}
		if run.GetState() == pb.RunState_RUN_STATE_CANCELLED {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %v %s after CancelRun, want cancelled", time.Since(start), run.GetState())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if p := ev.peakCalls(); p > limit {
		t.Fatalf("%d calls at once, want at most CallLimit = %d", p, limit)
	}
}

// TestEvaluateHoldsBoundedGoroutines evaluates a large population in
// batches of 1: the goroutines in flight stay near CallLimit, not one per
// batch, and the results are those of an unbounded evaluation.
func TestEvaluateHoldsBoundedGoroutines(t *testing.T) {
	spec := smallSpec()
	spec.Population, spec.BatchSize, spec.AnalysisEpisodes = 3000, 1, 1
	members, births, _ := ga.New(spec, spec.Shape()).Initial()
	ev := &slow{inner: worker.NewEngine(4), delay: 5 * time.Millisecond, capacity: 4}
	limit := coordinator.CallLimit(ev)
	before := runtime.NumGoroutine()
	var peak atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
			n := int64(runtime.NumGoroutine() - before)
			if n > peak.Load() {
				peak.Store(n)
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	records, err := coordinator.Evaluate(ctx, ev, "bounded", spec, 0, members, births)
	close(done)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != spec.Population {
		t.Fatalf("%d records, want %d", len(records), spec.Population)
	}
	// The calls, plus the engine's own and the sampler: a few dozen at most.
	if p := peak.Load(); p > int64(limit)+32 {
		t.Fatalf("%d goroutines above the start during the generation, want at most CallLimit %d + 32", p, limit)
	}
	if p := ev.peakCalls(); p > limit {
		t.Fatalf("%d calls at once, want at most %d", p, limit)
	}
	t.Logf("CallLimit %d, peak goroutines above the start %d, peak calls %d", limit, peak.Load(), ev.peakCalls())
}

// stuck answers only once released, whatever its call's context says: an
// evaluation that does not notice cancellation.
type stuck struct {
	release chan struct{}
	calls   atomic.Int64
}

func (s *stuck) Evaluate(context.Context, *pb.EvaluateRequest) (*pb.EvaluateResponse, error) {
	s.calls.Add(1)
	<-s.release
	return nil, status.Error(codes.Unavailable, "released")
}

// TestShutdownHonoursDeadline stops a coordinator whose run cannot stop
// yet: Shutdown returns the context's error at its deadline, and a later
// Shutdown waits for the steps to finish.
func TestShutdownHonoursDeadline(t *testing.T) {
	ev := &stuck{release: make(chan struct{})}
	c, client := startLimited(t, startEtcd(t), ev, coordinator.Limits{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := client.SubmitRun(ctx, &pb.SubmitRunRequest{Spec: smallSpec().ToProto()}); err != nil {
		t.Fatal(err)
	}
	for ev.calls.Load() == 0 {
		if ctx.Err() != nil {
			t.Fatal("the run never called its evaluator")
		}
		time.Sleep(5 * time.Millisecond)
	}
	const timeout = 200 * time.Millisecond
	sctx, scancel := context.WithTimeout(ctx, timeout)
	defer scancel()
	start := time.Now()
	err := c.Shutdown(sctx)
	took := time.Since(start)
	if err != context.DeadlineExceeded {
		t.Fatalf("Shutdown = %v, want context.DeadlineExceeded", err)
	}
	if took > testenv.Patience(timeout+time.Second) {
		t.Fatalf("Shutdown took %v with a %v deadline", took, timeout)
	}
	close(ev.release)
	if err := c.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}
