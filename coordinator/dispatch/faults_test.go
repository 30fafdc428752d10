package dispatch_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/mesaopt/mesaopt/coordinator/dispatch"
	"github.com/mesaopt/mesaopt/coordinator/dispatch/dispatchtest"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestHungWorkerHedged sends a batch while the preferred worker hangs: a
// speculative duplicate on the idle worker answers before the deadline.
func TestHungWorkerHedged(t *testing.T) {
	d := dispatch.NewDispatcher(time.Minute, quietLog())
	defer d.Close()
	dispatchtest.Serve(t, d, &dispatchtest.FaultyWorker{Name: "a-hung", Hang: true})
	dispatchtest.Serve(t, d, &dispatchtest.FaultyWorker{Name: "b-live"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The duplicate goes out at half the deadline (no batch time is known
	// yet); the other half leaves the live worker ample time to answer.
	const deadline = 6 * time.Second
	start := time.Now()
	resp, err := d.Evaluate(dispatch.WithAttemptTimeout(ctx, deadline), evalRequest())
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
	d := dispatch.NewDispatcher(time.Minute, quietLog(), dispatch.WithoutHedging())
	defer d.Close()
	dispatchtest.Serve(t, d, &dispatchtest.FaultyWorker{Name: "a-hung", Hang: true})
	dispatchtest.Serve(t, d, &dispatchtest.FaultyWorker{Name: "b-live"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const deadline = 500 * time.Millisecond
	start := time.Now()
	resp, err := d.Evaluate(dispatch.WithAttemptTimeout(ctx, deadline), evalRequest())
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
		d := dispatch.NewDispatcher(10*time.Second, quietLog(), dispatch.WithMaxMessageSize(3*one))
		defer d.Close()
		f := &dispatchtest.FaultyWorker{Name: "w"}
		dispatchtest.Serve(t, d, f)
		resp, err := d.Evaluate(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		checkOrder(t, req, resp)
		for _, n := range f.Calls() {
			if n > 2 {
				t.Fatalf("a call of %d tasks went out over the limit; calls %v", n, f.Calls())
			}
		}
	})
	t.Run("refused-by-size", func(t *testing.T) {
		d := dispatch.NewDispatcher(10*time.Second, quietLog())
		defer d.Close()
		f := &dispatchtest.FaultyWorker{Name: "w", TooLarge: 2}
		dispatchtest.Serve(t, d, f)
		resp, err := d.Evaluate(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		checkOrder(t, req, resp)
		seen8 := 0
		for _, n := range f.Calls() {
			if n == 8 {
				seen8++
			}
		}
		if seen8 != 1 {
			t.Fatalf("the oversized batch was sent %d times; calls %v", seen8, f.Calls())
		}
	})
}
