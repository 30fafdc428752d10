package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/status"

	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/internal/testenv"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
	"github.com/mesaopt/mesaopt/worker"
)

// checkQueues verifies the run queues' bookkeeping: the ring and the map
// hold the same runs, none of them empty, the turn is in the ring, the
// links agree both ways and the waiters add up to d.waiting.
func checkQueues(t *testing.T, d *Dispatcher) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.ring) != len(d.runs) {
		t.Fatalf("%d runs in the ring, %d in the map", len(d.ring), len(d.runs))
	}
	if len(d.ring) > 0 && (d.turn < 0 || d.turn >= len(d.ring)) || len(d.ring) == 0 && d.turn != 0 {
		t.Fatalf("turn %d with %d runs in the ring", d.turn, len(d.ring))
	}
	n := 0
	for _, q := range d.ring {
		if d.runs[q.run] != q {
			t.Fatalf("run %q in the ring is not the map's", q.run)
		}
		if q.head == nil {
			t.Fatalf("run %q is in the ring with no call waiting", q.run)
		}
		var prev *waiter
		for wt := q.head; wt != nil; prev, wt = wt, wt.next {
			if wt.q != q || wt.prev != prev || wt.run != q.run {
				t.Fatalf("run %q: a waiter's links or run disagree with its queue", q.run)
			}
			n++
		}
		if q.tail != prev {
			t.Fatalf("run %q: the tail is not the last waiter", q.run)
		}
	}
	if n != d.waiting {
		t.Fatalf("%d waiters in the queues, d.waiting %d", n, d.waiting)
	}
}

// TestHandOnRoundRobin queues calls of three runs and hands freed slots
// on one at a time: the runs take turns in order of arrival, one call per
// turn, a run arriving later goes last, a call that left is skipped, and
// within a run the order is FIFO.
func TestHandOnRoundRobin(t *testing.T) {
	d := NewDispatcher(time.Second, slog.New(slog.DiscardHandler))
	defer d.Close()
	w := &remote{name: "w", capacity: 100, perSlot: minPerSlot}
	d.listLocked(w)
	names := map[*waiter]string{} // lookup only
	var all []*waiter
	queue := func(run string, n int) []*waiter {
		var ws []*waiter
		for i := range n {
			wt := &waiter{tried: map[string]bool{}, turn: make(chan *remote, 1), run: run}
			names[wt] = run + string(rune('0'+i))
			d.mu.Lock()
			d.enqueueLocked(wt)
			d.mu.Unlock()
			ws = append(ws, wt)
			all = append(all, wt)
		}
		checkQueues(t, d)
		return ws
	}
	var order []string
	handOn := func() {
		d.mu.Lock()
		d.handOnLocked()
		d.mu.Unlock()
		checkQueues(t, d)
		for _, wt := range all {
			select {
			case got := <-wt.turn:
				if got != w {
					t.Fatalf("%s handed %v, want the free worker", names[wt], got)
				}
				order = append(order, names[wt])
			default:
			}
		}
	}

	a := queue("A", 5)
	queue("", 1) // no run id: run ""
	handOn()     // A0; then "" and A take turns
	queue("C", 2)
	d.mu.Lock()
	d.dequeueLocked(a[3]) // cancelled mid-queue
	d.mu.Unlock()
	checkQueues(t, d)
	for d.waiting > 0 {
		handOn()
	}
	if want := []string{"A0", "0", "A1", "C0", "A2", "C1", "A4"}; !slices.Equal(order, want) {
		t.Fatalf("slots handed to %v, want %v", order, want)
	}
	if len(d.spare) == 0 {
		t.Fatalf("emptied run queues were not kept for reuse")
	}

	// A change of workers wakes every waiting call, of every run.
	order = nil
	queue("A", 2)
	queue("B", 2)
	d.mu.Lock()
	d.notifyLocked()
	d.mu.Unlock()
	checkQueues(t, d)
	woken := 0
	for _, wt := range all {
		select {
		case got := <-wt.turn:
			if got != nil {
				t.Fatalf("%s was handed a worker by a change of workers, want a wake-up", names[wt])
			}
			woken++
		default:
		}
	}
	if woken != 4 || d.waiting != 0 {
		t.Fatalf("%d calls woken, %d still waiting; want 4 and 0", woken, d.waiting)
	}
}

// gateWorker holds every batch until the test releases it, and records
// the batches in the order they arrived: with one slot, the order in
// which the dispatcher started them.
type gateWorker struct {
	rpc.UnimplementedEvaluatorServiceServer
	mu      sync.Mutex
	started []uint64        // the first task's individual id of each batch, in arrival order
	held    []chan struct{} // the batches not yet released, oldest first
}

func (g *gateWorker) Evaluate(ctx context.Context, req *pb.EvaluateRequest) (*pb.EvaluateResponse, error) {
	release := make(chan struct{})
	g.mu.Lock()
	g.started = append(g.started, req.GetTasks()[0].GetIndividualId())
	g.held = append(g.held, release)
	g.mu.Unlock()
	select {
	case <-release:
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	return answerAll(req), nil
}

// answerAll answers every task of req under every condition, at no cost.
func answerAll(req *pb.EvaluateRequest) *pb.EvaluateResponse {
	resp := &pb.EvaluateResponse{}
	for _, task := range req.GetTasks() {
		r := &pb.EvaluationResult{IndividualId: task.GetIndividualId()}
		for _, c := range req.GetConditions() {
			r.Conditions = append(r.Conditions, &pb.ConditionResult{Condition: c.GetCondition(), Episodes: uint32(len(c.GetInstanceSeeds()))})
		}
		resp.Results = append(resp.Results, r)
	}
	return resp
}

// echoWorker answers every batch at once.
type echoWorker struct {
	rpc.UnimplementedEvaluatorServiceServer
}

func (echoWorker) Evaluate(ctx context.Context, req *pb.EvaluateRequest) (*pb.EvaluateResponse, error) {
	return answerAll(req), nil
}

// releaseOldest lets the oldest held batch answer.
func (g *gateWorker) releaseOldest(t *testing.T) {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.held) == 0 {
		t.Fatal("no batch held to release")
	}
	close(g.held[0])
	g.held = g.held[1:]
}

func (g *gateWorker) starts() []uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.started)
}

// gateCluster serves one gateWorker of capacity 1 (an in-flight window of
// 2 batches, as the held batches are slow) to a new Dispatcher.
func gateCluster(t *testing.T) (*Dispatcher, *gateWorker) {
	d := NewDispatcher(time.Minute, slog.New(slog.DiscardHandler), WithoutHedging())
	t.Cleanup(d.Close)
	g := &gateWorker{}
	d.Upsert("w", worker.Meta{Role: worker.RoleWorker, GRPC: serveEvaluator(t, g), Capacity: 1, Protocol: worker.ProtocolVersion})
	return d, g
}

// runBatch is a one-task batch of run whose individual is id.
func runBatch(run string, id uint64) *pb.EvaluateRequest {
	return &pb.EvaluateRequest{ProtocolVersion: worker.ProtocolVersion, RunId: run, Generation: 1,
		Conditions: []*pb.ConditionEpisodes{{Condition: fitness.Train, InstanceSeeds: []uint64{1}}},
		Tasks:      []*pb.EvaluationTask{{IndividualId: id, Genome: genome.ToProto(fitness.ExitSeeker())}}}
}

// TestRunsShareOneWorker queues many batches of run A, then a few of run B,
// on one worker of capacity 1. B's batches must start interleaved with
// A's, two runs waiting: B's j-th batch (from 0) among the first 2(j+1)
// batch starts after B queued, not after all of A's.
func TestRunsShareOneWorker(t *testing.T) {
	const aBatches, bBatches, window, k = 10, 3, 2, 2
	d, g := gateCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	submit := func(run string, id uint64) {
		wg.Go(func() {
			if _, err := d.Evaluate(ctx, runBatch(run, id)); err != nil {
				t.Errorf("run %s batch %d: %v", run, id, err)
			}
		})
	}
	// One at a time, so that each run's queue is in the order of the ids.
	for i := range aBatches {
		submit("A", 100+uint64(i))
		if i < window {
			pollUntil(t, "A's first batches to start", func() bool { return len(g.starts()) == i+1 })
		} else {
			waitQueued(t, d, i+1-window)
		}
	}
	queuedAt := len(g.starts())
	for i := range bBatches {
		submit("B", 200+uint64(i))
		waitQueued(t, d, aBatches-window+i+1)
	}

	// Each release frees the one slot, which starts one queued batch.
	for n := window; n < aBatches+bBatches; n++ {
		g.releaseOldest(t)
		pollUntil(t, "the next batch to start", func() bool { return len(g.starts()) == n+1 })
	}
	for range window {
		g.releaseOldest(t)
	}
	wg.Wait()
	started := g.starts()
	for _, run := range []struct {
		name string
		ids  uint64
	}{{"A", 100}, {"B", 200}} { // FIFO within a run
		if ids := slices.DeleteFunc(slices.Clone(started), func(id uint64) bool { return id/100 != run.ids/100 }); !slices.IsSorted(ids) {
			t.Errorf("run %s's batches started in the order %v, want the order they queued in", run.name, ids)
		}
	}
	for j := range bBatches {
		pos := slices.Index(started, 200+uint64(j))
		if pos < 0 {
			t.Fatalf("B's batch %d never started: %v", j, started)
		}
		if after := pos - queuedAt + 1; after > k*(j+1) {
			t.Errorf("B's batch %d was start %d after B queued, want at most %d; starts %v", j, after, k*(j+1), started)
		}
	}
	checkQueues(t, d)
	if d.waiting != 0 || len(d.ring) != 0 {
		t.Fatalf("%d calls of %d runs still queued after every batch answered", d.waiting, len(d.ring))
	}
}

// TestCancelledRunLeavesNoTrace queues batches of run C, then of run B,
// behind a full window, and cancels all of C's and one of B's in the
// middle of B's queue. The cancelled calls return at once and leave no
// trace in the queues; the slots freed afterwards go to B's other
// batches, which all answer.
func TestCancelledRunLeavesNoTrace(t *testing.T) {
	const window, cBatches, bBatches, bCancelled = 2, 5, 4, 1
	d, g := gateCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	submit := func(ctx context.Context, run string, id uint64, wantErr error) {
		wg.Go(func() {
			if _, err := d.Evaluate(ctx, runBatch(run, id)); !errors.Is(err, wantErr) {
				t.Errorf("run %s batch %d: Evaluate = %v, want %v", run, id, err, wantErr)
			}
		})
	}
	for i := range window {
		submit(ctx, "A", 100+uint64(i), nil)
	}
	pollUntil(t, "A's batches to fill the window", func() bool { return len(g.starts()) == window })
	cctx, cancelC := context.WithCancel(ctx)
	for i := range cBatches {
		submit(cctx, "C", 300+uint64(i), context.Canceled)
	}
	waitQueued(t, d, cBatches)
	bctx, cancelB := context.WithCancel(ctx)
	for i := range bBatches {
		if i == bCancelled {
			submit(bctx, "B", 200+uint64(i), context.Canceled)
		} else {
			submit(ctx, "B", 200+uint64(i), nil)
		}
		waitQueued(t, d, cBatches+i+1) // in this order in B's queue
	}
	checkQueues(t, d)

	cancelC()
	cancelB()
	waitQueued(t, d, bBatches-1)
	checkQueues(t, d)
	d.mu.Lock()
	if _, ok := d.runs["C"]; ok || len(d.ring) != 1 || d.ring[0].run != "B" {
		t.Errorf("after C was cancelled the ring holds %d runs, C listed: %v; want B alone", len(d.ring), ok)
	}
	d.mu.Unlock()

	for n := window; n < window+bBatches-1; n++ {
		g.releaseOldest(t)
		pollUntil(t, "B's next batch to start", func() bool { return len(g.starts()) == n+1 })
	}
	for range window {
		g.releaseOldest(t)
	}
	wg.Wait()
	if got, want := g.starts(), []uint64{100, 101, 200, 202, 203}; !slices.Equal(got[window:], want[window:]) || len(got) != len(want) {
		t.Fatalf("batches started %v, want A's two then B's uncancelled ones %v", got, want)
	}
	checkQueues(t, d)
	if d.waiting != 0 || len(d.ring) != 0 || len(d.runs) != 0 {
		t.Fatalf("%d calls of %d runs still queued after every batch answered or was cancelled", d.waiting, len(d.ring))
	}
}

// TestInterleavedRunsKeepSessions runs generations of 20 runs at once on
// one worker: their batches take turns, so nearly every batch on the
// stream needs another session than the one before, and a message can
// carry more new sessions than the worker keeps. No batch may find its
// session forgotten and fail for it (a NotFound twice rests the worker).
func TestInterleavedRunsKeepSessions(t *testing.T) {
	const runs, batches, generations = 20, 8, 3
	var logs testenv.LogBuffer
	d := NewDispatcher(time.Minute, slog.New(slog.NewTextHandler(&logs, nil)), WithoutHedging())
	defer d.Close()
	d.Upsert("w", worker.Meta{Role: worker.RoleWorker, GRPC: serveEvaluator(t, echoWorker{}), Capacity: 4, Protocol: worker.ProtocolVersion})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for gen := range generations {
		g, gctx := errgroup.WithContext(ctx)
		for r := range runs {
			for i := range batches {
				req := runBatch(fmt.Sprintf("run-%d", r), uint64(r*batches+i))
				req.Generation = uint32(gen)
				g.Go(func() error {
					_, err := d.Evaluate(gctx, req)
					return err
				})
			}
		}
		if err := g.Wait(); err != nil {
			t.Fatalf("generation %d: %v\n%s", gen, err, logs.String())
		}
	}
	if n := logs.Count("batch failed"); n > 0 {
		t.Fatalf("%d batches failed:\n%s", n, logs.String())
	}
}

// TestLeavingTheQueueIsConstantTime queues many calls of one run and
// takes them out from the middle (cancelled calls leaving acquire): the
// others keep their FIFO order, and the time per removal does not grow
// with the queue (a walk of the queue would make 100 times more waiters
// cost 100 times more per removal).
func TestLeavingTheQueueIsConstantTime(t *testing.T) {
	perRemoval := func(n int) time.Duration {
		d := NewDispatcher(time.Second, slog.New(slog.DiscardHandler))
		ws := make([]*waiter, n)
		d.mu.Lock()
		for i := range ws {
			ws[i] = &waiter{run: "A", turn: make(chan *remote, 1)}
			d.enqueueLocked(ws[i])
		}
		d.mu.Unlock()
		start := time.Now()
		d.mu.Lock()
		for i := 1; i < n; i += 2 { // every second one, from the middle of the queue
			d.dequeueLocked(ws[i])
		}
		d.mu.Unlock()
		took := time.Since(start) / time.Duration(n/2)
		checkQueues(t, d)
		d.mu.Lock()
		for i := 0; i < n; i += 2 {
			if wt := d.nextWaiterLocked(); wt != ws[i] {
				d.mu.Unlock()
				t.Fatalf("n = %d: the queue lost its order at waiter %d", n, i)
			}
		}
		d.mu.Unlock()
		checkQueues(t, d)
		return took
	}
	perRemoval(1000) // warm up
	small, large := perRemoval(1000), perRemoval(100000)
	if large > 20*small+time.Microsecond {
		t.Fatalf("a removal takes %v among 100,000 waiters and %v among 1,000: not constant time", large, small)
	}
}
