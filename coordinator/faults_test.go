package coordinator_test

import (
	"context"
	"io"
	"log/slog"
	"math"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/mesaopt/mesaopt/coordinator"
	"github.com/mesaopt/mesaopt/fitness"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
	"github.com/mesaopt/mesaopt/worker"
)

// faultyWorker is an Evaluator gRPC server over a real worker.Engine that
// misbehaves on purpose: on a batch holding the poison individual it fails
// (crash: Internal, as a worker's panic recovery answers) or hangs until the
// call's deadline; when hang is set it hangs on every batch (a SIGSTOPped
// worker); when tooLarge > 0 it refuses batches of more tasks with
// ResourceExhausted.
type faultyWorker struct {
	rpc.UnimplementedEvaluatorServiceServer
	name      string
	engine    *worker.Engine
	poison    uint64
	poisonErr bool // true: Internal error; false: hang
	hang      bool
	tooLarge  int

	mu    sync.Mutex
	sizes []int // tasks per call received
}

func (f *faultyWorker) Evaluate(ctx context.Context, req *pb.EvaluateRequest) (*pb.EvaluateResponse, error) {
	f.mu.Lock()
	f.sizes = append(f.sizes, len(req.GetTasks()))
	f.mu.Unlock()
	if f.tooLarge > 0 && len(req.GetTasks()) > f.tooLarge {
		return nil, status.Error(codes.ResourceExhausted, "grpc: received message larger than max")
	}
	poisoned := false
	for _, t := range req.GetTasks() {
		poisoned = poisoned || (f.poison != 0 && t.GetIndividualId() == f.poison)
	}
	if f.hang || (poisoned && !f.poisonErr) {
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	if poisoned {
		return nil, status.Errorf(codes.Internal, "worker %s: evaluation panicked: poison", f.name)
	}
	resp, err := f.engine.Evaluate(ctx, req)
	if err != nil {
		return nil, err
	}
	resp.Worker = f.name
	return resp, nil
}

func (f *faultyWorker) calls() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.sizes...)
}

// serveFaulty serves f on loopback until the test ends and registers it
// with d under f.name.
func serveFaulty(t testing.TB, d *coordinator.Dispatcher, f *faultyWorker) {
	t.Helper()
	if f.engine == nil {
		f.engine = worker.NewEngine(1)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(worker.ServerOptions()...)
	rpc.RegisterEvaluatorServiceServer(srv, f)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	t.Cleanup(func() { srv.Stop(); <-done })
	d.Upsert(f.name, worker.Meta{Role: worker.RoleWorker, GRPC: lis.Addr().String(), Capacity: 1, Protocol: worker.ProtocolVersion})
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// quarantineSpec is a small generation with a short deadline.
func quarantineSpec() coordinator.Spec {
	s := coordinator.DefaultSpec()
	s.Population = 10
	s.Elites = 1
	s.Episodes = 2
	s.AnalysisEpisodes = 2
	s.BatchSize = 3
	s.EvaluationTimeout = coordinator.Duration(300 * time.Millisecond)
	s.QuarantineAttempts = 3
	return s
}

// encodeRecords returns each record's wire bytes, for bitwise comparison.
func encodeRecords(t *testing.T, ev coordinator.Evaluator, spec coordinator.Spec) ([]string, []float64) {
	t.Helper()
	ga := coordinator.NewGA(spec, fitness.Shape())
	members, births, _ := ga.Initial()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	records, err := coordinator.Evaluate(ctx, ev, "q", spec, 0, members, births)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(records))
	fit := make([]float64, len(members))
	for i, r := range records {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(coordinator.RecordToProto(r, nil))
		if err != nil {
			t.Fatal(err)
		}
		out[i] = string(b)
		fit[i] = members[i].Fitness
	}
	return out, fit
}

// TestPoisonGenomeQuarantined evaluates a generation in which one genome
// makes every worker fail (crash) or hang past the deadline. It is
// quarantined with a reason in its lineage record and fitness -Inf; every
// other record is bitwise what an in-process evaluation gives, and the
// outcome is the same with one worker or three.
func TestPoisonGenomeQuarantined(t *testing.T) {
	spec := quarantineSpec()
	want, _ := encodeRecords(t, worker.NewEngine(2), spec)
	ga := coordinator.NewGA(spec, fitness.Shape())
	members, _, _ := ga.Initial()
	const victim = 4
	poison := members[victim].ID

	for _, tc := range []struct {
		name     string
		crash    bool
		workers  int
		wantWhy  string
		attempts int
	}{
		{"crash-1-worker", true, 1, "worker error", 3},
		{"crash-3-workers", true, 3, "worker error", 3},
		{"hang-2-workers", false, 2, "deadline exceeded", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := coordinator.NewDispatcher(time.Minute, quietLog())
			defer d.Close()
			var ws []*faultyWorker
			for i := range tc.workers {
				f := &faultyWorker{name: "w" + string(rune('0'+i)), poison: poison, poisonErr: tc.crash}
				serveFaulty(t, d, f)
				ws = append(ws, f)
			}
			got, fit := encodeRecords(t, d, spec)
			for i := range got {
				if i == victim {
					continue
				}
				if got[i] != want[i] {
					t.Errorf("record %d differs from the in-process evaluation", i)
				}
			}
			var r pb.Individual
			if err := proto.Unmarshal([]byte(got[victim]), &r); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(r.GetFailure(), "quarantined after 3 failed evaluation attempts") || !strings.Contains(r.GetFailure(), tc.wantWhy) {
				t.Errorf("poison record failure %q", r.GetFailure())
			}
			if !math.IsInf(fit[victim], -1) || !math.IsInf(r.GetFitness(), -1) {
				t.Errorf("poison fitness %v / %v, want -Inf", fit[victim], r.GetFitness())
			}
			// The poison's own calls: its batch's attempts plus its solo ones.
			solo := 0
			for _, w := range ws {
				for _, n := range w.calls() {
					if n == 1 {
						solo++
					}
				}
			}
			if solo < tc.attempts {
				t.Errorf("%d single-genome calls, want at least %d", solo, tc.attempts)
			}
		})
	}
}

// TestQuarantineDeterministic runs the failing generation twice, with 1
// and with 3 workers: the records, the quarantined one included, are
// bitwise equal.
func TestQuarantineDeterministic(t *testing.T) {
	spec := quarantineSpec()
	ga := coordinator.NewGA(spec, fitness.Shape())
	members, _, _ := ga.Initial()
	poison := members[7].ID
	var runs [][]string
	for _, n := range []int{1, 3} {
		d := coordinator.NewDispatcher(time.Minute, quietLog())
		for i := range n {
			serveFaulty(t, d, &faultyWorker{name: "w" + string(rune('0'+i)), poison: poison, poisonErr: true})
		}
		got, _ := encodeRecords(t, d, spec)
		d.Close()
		runs = append(runs, got)
	}
	for i := range runs[0] {
		if runs[0][i] != runs[1][i] {
			t.Fatalf("record %d differs between 1 and 3 workers", i)
		}
	}
}

// TestHungWorkerHedged sends a batch while the preferred worker hangs: a
// speculative duplicate on the idle worker answers before the deadline.
func TestHungWorkerHedged(t *testing.T) {
	d := coordinator.NewDispatcher(time.Minute, quietLog())
	defer d.Close()
	serveFaulty(t, d, &faultyWorker{name: "a-hung", hang: true})
	serveFaulty(t, d, &faultyWorker{name: "b-live"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The duplicate goes out at half the deadline (no batch time is known
	// yet); the other half leaves the live worker ample time to answer.
	const deadline = 6 * time.Second
	start := time.Now()
	resp, err := d.Evaluate(coordinator.WithAttemptTimeout(ctx, deadline), evalRequest())
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took >= deadline || resp.GetWorker() != "b-live" {
		t.Fatalf("answered by %s after %v; want b-live before the %v deadline", resp.GetWorker(), took, deadline)
	}
}

// TestHungWorkerDeadlineRedispatch turns hedging off: the batch that went
// to the hung worker is re-dispatched once its deadline passes.
func TestHungWorkerDeadlineRedispatch(t *testing.T) {
	d := coordinator.NewDispatcher(time.Minute, quietLog(), coordinator.WithoutHedging())
	defer d.Close()
	serveFaulty(t, d, &faultyWorker{name: "a-hung", hang: true})
	serveFaulty(t, d, &faultyWorker{name: "b-live"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const deadline = 500 * time.Millisecond
	start := time.Now()
	resp, err := d.Evaluate(coordinator.WithAttemptTimeout(ctx, deadline), evalRequest())
	if err != nil {
		t.Fatal(err)
	}
	// Not before the deadline, and long before the dispatcher's own minute.
	if took := time.Since(start); took < deadline || took > 30*time.Second || resp.GetWorker() != "b-live" {
		t.Fatalf("answered by %s after %v; want b-live after the %v deadline", resp.GetWorker(), took, deadline)
	}
}

// bigRequest is a batch of n tasks.
func bigRequest(n int) *pb.EvaluateRequest {
	req := evalRequest()
	for i := 1; i < n; i++ {
		t := proto.Clone(req.Tasks[0]).(*pb.EvaluationTask)
		t.IndividualId = uint64(100 + i)
		req.Tasks = append(req.Tasks, t)
	}
	return req
}

func checkOrder(t *testing.T, req *pb.EvaluateRequest, resp *pb.EvaluateResponse) {
	t.Helper()
	if len(resp.GetResults()) != len(req.GetTasks()) {
		t.Fatalf("%d results for %d tasks", len(resp.GetResults()), len(req.GetTasks()))
	}
	for i, r := range resp.GetResults() {
		if r.GetIndividualId() != req.GetTasks()[i].GetIndividualId() {
			t.Fatalf("result %d is individual %d, want %d", i, r.GetIndividualId(), req.GetTasks()[i].GetIndividualId())
		}
	}
}

// TestOversizedBatchSplit: a request over the message limit is split
// before sending; a call refused for its size (ResourceExhausted) is split,
// never retried as it is. Results stay in task order.
func TestOversizedBatchSplit(t *testing.T) {
	req := bigRequest(8)
	one := proto.Size(bigRequest(1))
	t.Run("before-sending", func(t *testing.T) {
		d := coordinator.NewDispatcher(10*time.Second, quietLog(), coordinator.WithMaxMessageSize(3*one))
		defer d.Close()
		f := &faultyWorker{name: "w"}
		serveFaulty(t, d, f)
		resp, err := d.Evaluate(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		checkOrder(t, req, resp)
		for _, n := range f.calls() {
			if n > 2 {
				t.Fatalf("a call of %d tasks went out over the limit; calls %v", n, f.calls())
			}
		}
	})
	t.Run("refused-by-size", func(t *testing.T) {
		d := coordinator.NewDispatcher(10*time.Second, quietLog())
		defer d.Close()
		f := &faultyWorker{name: "w", tooLarge: 2}
		serveFaulty(t, d, f)
		resp, err := d.Evaluate(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		checkOrder(t, req, resp)
		seen8 := 0
		for _, n := range f.calls() {
			if n == 8 {
				seen8++
			}
		}
		if seen8 != 1 {
			t.Fatalf("the oversized batch was sent %d times; calls %v", seen8, f.calls())
		}
	})
}
