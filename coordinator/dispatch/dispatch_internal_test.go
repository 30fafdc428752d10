package dispatch

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/internal/grpcconf"
	"github.com/mesaopt/mesaopt/internal/testenv"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
	"github.com/mesaopt/mesaopt/worker"
)

// waitQueued polls until n calls are blocked in acquire.
func waitQueued(t *testing.T, d *Dispatcher, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		d.mu.Lock()
		queued := d.waiting
		d.mu.Unlock()
		if queued == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls waiting for a worker, want %d", queued, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDispatcherWarnsOncePerPeriodWithoutWorkers blocks many batches on a
// dispatcher that has no worker: "waiting for workers to join" is logged
// once, not once per batch; a worker that comes and goes ends the wait
// (said once) but a new wait so soon is not logged, nor a flapping
// worker's every turn; once the reminder delay has passed since the last
// line, a new wait is logged again.
func TestDispatcherWarnsOncePerPeriodWithoutWorkers(t *testing.T) {
	const waiting = 20
	const line = "waiting for workers to join"
	var logs testenv.LogBuffer
	d := NewDispatcher(time.Second, slog.New(slog.NewTextHandler(&logs, nil)), WithoutHedging())
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	req := &pb.EvaluateRequest{ProtocolVersion: worker.ProtocolVersion,
		Conditions: []*pb.ConditionEpisodes{{Condition: fitness.Train, InstanceSeeds: []uint64{1}}},
		Tasks:      []*pb.EvaluationTask{{IndividualId: 1, Genome: genome.ToProto(fitness.ExitSeeker())}}}
	for range waiting {
		wg.Go(func() {
			if _, err := d.Evaluate(ctx, req); !errors.Is(err, context.Canceled) {
				t.Errorf("Evaluate = %v, want it to wait until cancelled", err)
			}
		})
	}
	waitQueued(t, d, waiting)
	if n := logs.Count(line); n != 1 {
		t.Fatalf("%q logged %d times for %d waiting batches, want once", line, n, waiting)
	}

	// A worker joins (nothing listens at its address, so a call sent there
	// fails and is retried) and leaves again: a new period without workers.
	flap := func() {
		d.Upsert("w", worker.Meta{Role: worker.RoleWorker, GRPC: testenv.FreeAddr(t, "127.0.0.1"), Capacity: 1, Protocol: worker.ProtocolVersion})
		d.Remove("w")
		waitQueued(t, d, waiting)
	}
	for range 5 {
		flap()
	}
	if n, over := logs.Count(line), logs.Count("the wait for workers is over"); n != 1 || over != 1 {
		t.Fatalf("%q logged %d times and the end of the wait %d times for a worker that came and went 5 times, want once each", line, n, over)
	}
	d.mu.Lock()
	d.noneLogged = d.noneLogged.Add(-2 * d.remindAt) // as if the last line were long ago
	d.mu.Unlock()
	flap()
	if n := logs.Count(line); n != 2 {
		t.Fatalf("%q logged %d times over two periods without workers far apart, want twice", line, n)
	}
}

// TestDispatcherRemindsOfALongWait: a wait for workers that lasts is said
// again, after the first delay and then after each doubling of the wait,
// not once per waiting batch.
func TestDispatcherRemindsOfALongWait(t *testing.T) {
	var logs testenv.LogBuffer
	d := NewDispatcher(time.Second, slog.New(slog.NewTextHandler(&logs, nil)), WithoutHedging())
	d.remindAt = 50 * time.Millisecond
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	req := &pb.EvaluateRequest{ProtocolVersion: worker.ProtocolVersion,
		Conditions: []*pb.ConditionEpisodes{{Condition: fitness.Train, InstanceSeeds: []uint64{1}}},
		Tasks:      []*pb.EvaluationTask{{IndividualId: 1, Genome: genome.ToProto(fitness.ExitSeeker())}}}
	for range 5 {
		wg.Go(func() { _, _ = d.Evaluate(ctx, req) })
	}
	waitQueued(t, d, 5)
	testenv.WaitFor(t, "two reminders", 10*time.Second, func() bool { return logs.Count("still waiting for workers to join") >= 2 })
	// 50 ms, then 100 ms later: a third would come 200 ms after that.
	if n := logs.Count("still waiting for workers to join"); n > 3 {
		t.Fatalf("%d reminders so soon, want the wait between them to double", n)
	}
}

// drainingWorker is the old process of a worker being replaced: it holds
// each call until release is closed, then refuses it as a draining worker
// does.
type drainingWorker struct {
	rpc.UnimplementedEvaluatorServiceServer
	entered chan struct{} // receives once per call
	release chan struct{}
}

func (w *drainingWorker) Evaluate(ctx context.Context, req *pb.EvaluateRequest) (*pb.EvaluateResponse, error) {
	w.entered <- struct{}{}
	<-w.release
	return nil, status.Error(codes.Unavailable, worker.DrainingMessage)
}

// engineWorker answers with a real engine under its name.
type engineWorker struct {
	rpc.UnimplementedEvaluatorServiceServer
	name   string
	engine *worker.Engine
}

func (w *engineWorker) Evaluate(ctx context.Context, req *pb.EvaluateRequest) (*pb.EvaluateResponse, error) {
	resp, err := w.engine.Evaluate(ctx, req)
	if err == nil {
		resp.Worker = w.name
	}
	return resp, err
}

// serveEvaluator serves srv on loopback until the test ends and returns its address.
func serveEvaluator(t *testing.T, srv rpc.EvaluatorServiceServer) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(grpcconf.ServerOptions()...)
	rpc.RegisterEvaluatorServiceServer(s, worker.Streaming(srv))
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(lis) }()
	t.Cleanup(func() { s.Stop(); <-done })
	return lis.Addr().String()
}

// TestDispatcherKeepsSuccessorUnderSameName replaces a draining worker
// process by a new one under the same gossip name and address of its own
// (a restart). News about the old process that arrives afterwards — its
// refusal of a call as draining, gossip saying it left — must not drop
// the new one: the batch is answered by the new process.
func TestDispatcherKeepsSuccessorUnderSameName(t *testing.T) {
	var logs testenv.LogBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	d := NewDispatcher(10*time.Second, log, WithoutHedging())
	defer d.Close()
	old := &drainingWorker{entered: make(chan struct{}, 1), release: make(chan struct{})}
	oldMeta := worker.Meta{Role: worker.RoleWorker, GRPC: serveEvaluator(t, old), Capacity: 1, Protocol: worker.ProtocolVersion}
	d.Upsert("w0", oldMeta)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req := &pb.EvaluateRequest{ProtocolVersion: worker.ProtocolVersion,
		Environment: &pb.EnvironmentConfig{Name: "doors", Width: 11, Height: 7, Walls: 2, RedObjects: 3, StepLimit: 40},
		Conditions:  []*pb.ConditionEpisodes{{Condition: fitness.Train, InstanceSeeds: []uint64{1}}},
		Tasks:       []*pb.EvaluationTask{{IndividualId: 1, Genome: genome.ToProto(fitness.ExitSeeker())}}}
	type answer struct {
		resp *pb.EvaluateResponse
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		resp, err := d.Evaluate(ctx, req)
		done <- answer{resp, err}
	}()
	select {
	case <-old.entered:
	case <-ctx.Done():
		t.Fatal("the batch never reached the old process")
	}

	// The old process announces its drain, the new one joins, then the old
	// one refuses the call it held and gossip reports it gone.
	draining := oldMeta
	draining.Draining = true
	d.Upsert("w0", draining)
	d.Upsert("w0", worker.Meta{Role: worker.RoleWorker, GRPC: serveEvaluator(t, &engineWorker{name: "w0-new", engine: worker.NewEngine(1)}),
		Capacity: 1, Protocol: worker.ProtocolVersion})
	close(old.release)
	a := <-done
	if a.err != nil || a.resp.GetWorker() != "w0-new" {
		t.Fatalf("Evaluate = %v answered by %q, want the new process\n%s", a.err, a.resp.GetWorker(), logs.String())
	}
	oldEncoded, err := oldMeta.Encode()
	if err != nil {
		t.Fatal(err)
	}
	NewMembership(d, log).NotifyLeave(&memberlist.Node{Name: "w0", Meta: oldEncoded})
	if n, _ := d.Workers(); n != 1 {
		t.Fatalf("%d workers after the old process left, want the new one\n%s", n, logs.String())
	}
}

// workerAddr returns the gRPC address the dispatcher routes name to, or "".
func workerAddr(d *Dispatcher, name string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if w, ok := d.workers[name]; ok {
		return w.addr
	}
	return ""
}

// pollUntil polls cond until it holds; the deadline bounds a hang.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestGossipNameConflictLoggedAndHandedOver starts two live workers with
// one gossip name. The coordinator's gossip keeps the first and says so in
// its log, naming both addresses; the second says its name is held
// elsewhere. When the first leaves, the second takes the name over by
// itself and gets the routes.
func TestGossipNameConflictLoggedAndHandedOver(t *testing.T) {
	var coordLogs, firstLogs, secondLogs testenv.LogBuffer
	log := slog.New(slog.NewTextHandler(&coordLogs, nil))
	d := NewDispatcher(10*time.Second, log)
	defer d.Close()
	meta, err := worker.Meta{Role: worker.RoleCoordinator, GRPC: "127.0.0.1:1", Protocol: worker.ProtocolVersion}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	ml, err := worker.NewMemberlist("coord", "127.0.0.1:0", meta, NewMembership(d, log), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ml.Shutdown()
	start := func(logs *testenv.LogBuffer) *worker.Worker {
		cfg := worker.DefaultConfig()
		cfg.Name = "dup"
		cfg.Join = []string{ml.LocalNode().Address()}
		cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
		w, err := worker.Start(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = w.Shutdown(context.Background()) })
		return w
	}
	first := start(&firstLogs)
	pollUntil(t, "the first worker to be routed to", func() bool { return workerAddr(d, "dup") == first.Addr() })
	second := start(&secondLogs)

	pollUntil(t, "the coordinator to log the conflict", func() bool { return coordLogs.Count("gossip name conflict") > 0 })
	pollUntil(t, "the second worker to say its name is held", func() bool {
		return secondLogs.Count("gossip name at another address") > 0
	})
	if got := workerAddr(d, "dup"); got != first.Addr() {
		t.Fatalf("routes go to %q during the conflict, want the first worker %s", got, first.Addr())
	}

	if err := first.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, "the second worker to take the name over", func() bool { return workerAddr(d, "dup") == second.Addr() })
	pollUntil(t, "the second worker to say so", func() bool { return secondLogs.Count("gossip name at its address again") > 0 })
	if n := coordLogs.Count("gossip name conflict"); n != 1 {
		t.Fatalf("conflict logged %d times, want once:\n%s", n, coordLogs.String())
	}
}

// TestWindowFollowsBatchCost checks the window rule: cheap batches get a
// deep window, expensive ones two per slot, and a slower batch shrinks the
// window at once.
func TestWindowFollowsBatchCost(t *testing.T) {
	for _, tc := range []struct {
		name    string
		costs   []time.Duration // per slot, in answer order
		perSlot int
	}{
		{"unmeasured", nil, minPerSlot},
		{"zero-cost", []time.Duration{time.Microsecond}, maxPerSlot},
		{"quarter round trip", []time.Duration{roundTrip / 4}, 5},
		{"round trip", []time.Duration{roundTrip}, 2},
		{"expensive", []time.Duration{20 * time.Millisecond}, minPerSlot},
		{"slower at once", []time.Duration{time.Microsecond, time.Microsecond, 20 * time.Millisecond}, minPerSlot},
		{"faster gradually", []time.Duration{20 * time.Millisecond, time.Microsecond}, minPerSlot},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &remote{capacity: 3, perSlot: minPerSlot}
			for _, c := range tc.costs {
				w.observeLocked(float64(c))
			}
			if w.perSlot != tc.perSlot {
				t.Fatalf("window per slot %d after costs %v, want %d", w.perSlot, tc.costs, tc.perSlot)
			}
		})
	}
}

// TestPickLeastLoadedThenByName checks the pick's rule over the open list:
// untried first, then least loaded relative to capacity, then by name;
// resting and full workers are skipped, the earliest wake reported.
func TestPickLeastLoadedThenByName(t *testing.T) {
	d := NewDispatcher(time.Second, slog.New(slog.DiscardHandler))
	defer d.Close()
	now := time.Now()
	add := func(name string, capacity, inflight int, rest time.Duration) *remote {
		w := &remote{name: name, capacity: capacity, perSlot: minPerSlot, inflight: inflight, restUntil: now.Add(rest)}
		d.listLocked(w)
		return w
	}
	a := add("a", 1, 1, 0) // load 1/1
	b := add("b", 4, 2, 0) // load 2/4
	c := add("c", 2, 1, 0) // load 1/2: ties b, later by name
	add("d", 1, 2, 0)      // full
	e := add("e", 4, 0, time.Minute)
	for _, tc := range []struct {
		tried []string
		want  *remote
	}{
		{nil, b},
		{[]string{"b"}, c},
		{[]string{"b", "c"}, a},
		{[]string{"a", "b", "c"}, b}, // all tried: the best of them
	} {
		tried := map[string]bool{}
		for _, n := range tc.tried {
			tried[n] = true
		}
		got, wake := d.pickLocked(now, tried, nil, "")
		if got != tc.want {
			t.Errorf("tried %v: picked %v, want %s", tc.tried, got, tc.want.name)
		}
		if got == nil && wake <= 0 {
			t.Errorf("tried %v: no wake for resting %s", tc.tried, e.name)
		}
	}
	d.reserveLocked(b) // 3/4: now after a and c
	if got, _ := d.pickLocked(now, nil, nil, ""); got != c {
		t.Fatalf("after a reservation picked %s, want c", got.name)
	}
	if i := slices.IndexFunc(d.open, func(w *remote) bool { return w.name == "d" }); i >= 0 {
		t.Fatalf("a full worker is listed open")
	}
}

// TestWindowLearnsFromEngine evaluates a batch on a real engine over the
// stream: its answer carries the batch's evaluation time, which sets the
// worker's batch cost and so its window.
func TestWindowLearnsFromEngine(t *testing.T) {
	d := NewDispatcher(time.Minute, slog.New(slog.DiscardHandler))
	defer d.Close()
	addr := serveEvaluator(t, &engineWorker{name: "w", engine: worker.NewEngine(2)})
	d.Upsert("w", worker.Meta{Role: worker.RoleWorker, GRPC: addr, Capacity: 2, Protocol: worker.ProtocolVersion})
	req := &pb.EvaluateRequest{ProtocolVersion: worker.ProtocolVersion, Generation: 1,
		Environment: &pb.EnvironmentConfig{Name: "doors", Width: 11, Height: 7, Walls: 2, RedObjects: 3, StepLimit: 40},
		Conditions:  []*pb.ConditionEpisodes{{Condition: fitness.Train, InstanceSeeds: []uint64{1, 2}}},
		Tasks:       []*pb.EvaluationTask{{IndividualId: 1, Genome: genome.ToProto(fitness.ExitSeeker())}}}
	if _, err := d.Evaluate(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	w := d.workers["w"]
	e, perSlot := w.evalNS, w.perSlot
	d.mu.Unlock()
	if e <= 0 {
		t.Fatalf("batch cost %v ns after an answer, want > 0", e)
	}
	want := min(maxPerSlot, max(minPerSlot, int(math.Ceil(float64(roundTrip)/e))+1))
	if perSlot != want {
		t.Fatalf("window per slot %d for a batch cost of %v ns, want %d", perSlot, e, want)
	}
}

// TestDispatcherStatuses: the workers known, sorted by name, with what
// they advertise and their state; a quarantined one is listed as such
// with its reason, and one that left is not listed.
func TestDispatcherStatuses(t *testing.T) {
	d := NewDispatcher(time.Second, slog.New(slog.DiscardHandler), WithoutHedging())
	defer d.Close()
	for i, name := range []string{"wc", "wa", "wb"} {
		d.Upsert(name, worker.Meta{Role: worker.RoleWorker, GRPC: testenv.FreeAddr(t, "127.0.0.1"), Capacity: i + 1,
			Protocol: worker.ProtocolVersion, Build: "b" + name, Digest: "d"})
	}
	d.Quarantine("wb", "lied")
	d.Remove("wc")
	got := d.Statuses()
	if len(got) != 2 || got[0].Name != "wa" || got[0].State != Alive || got[0].Capacity != 2 || got[0].Build != "bwa" ||
		got[0].Digest != "d" || got[0].Addr == "" || got[0].Joined.IsZero() ||
		got[1].Name != "wb" || got[1].State != Quarantined || got[1].Reason != "lied" {
		t.Fatalf("Statuses = %+v", got)
	}
}
