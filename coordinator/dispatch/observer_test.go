package dispatch_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mesaopt/mesaopt/coordinator/dispatch"
	"github.com/mesaopt/mesaopt/coordinator/dispatch/dispatchtest"
	"github.com/mesaopt/mesaopt/internal/testenv"
)

// counting is an Observer that counts what it is told.
type counting struct{ batches, retries, hedges, quarantines atomic.Int32 }

func (c *counting) BatchDone(time.Duration) { c.batches.Add(1) }
func (c *counting) Retried()                { c.retries.Add(1) }
func (c *counting) Hedged()                 { c.hedges.Add(1) }
func (c *counting) Quarantined()            { c.quarantines.Add(1) }

// TestObserverCounts checks what an Observer is told of a hedged batch,
// a retried one and a quarantine, and Stats of a worker draining a batch.
func TestObserverCounts(t *testing.T) {
	t.Run("hedge", func(t *testing.T) {
		o := &counting{}
		d := dispatch.NewDispatcher(time.Minute, quietLog(), dispatch.WithObserver(o))
		defer d.Close()
		dispatchtest.Serve(t, d, &dispatchtest.FaultyWorker{Name: "a-hung", Hang: true})
		dispatchtest.Serve(t, d, &dispatchtest.FaultyWorker{Name: "b-live"})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := d.Evaluate(dispatch.WithAttemptTimeout(ctx, 2*time.Second), evalRequest()); err != nil {
			t.Fatal(err)
		}
		if o.hedges.Load() != 1 || o.batches.Load() != 1 || o.retries.Load() != 0 {
			t.Fatalf("hedges %d, batches %d, retries %d; want 1, 1, 0", o.hedges.Load(), o.batches.Load(), o.retries.Load())
		}
	})
	t.Run("retry and quarantine", func(t *testing.T) {
		o := &counting{}
		d := dispatch.NewDispatcher(time.Minute, quietLog(), dispatch.WithObserver(o), dispatch.WithoutHedging())
		defer d.Close()
		req := evalRequest()
		dispatchtest.Serve(t, d, &dispatchtest.FaultyWorker{Name: "a-crash", Poison: req.GetTasks()[0].GetIndividualId(), PoisonErr: true})
		dispatchtest.Serve(t, d, &dispatchtest.FaultyWorker{Name: "b-live"})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		resp, err := d.Evaluate(ctx, req)
		if err != nil || resp.GetWorker() != "b-live" {
			t.Fatalf("answered by %q: %v", resp.GetWorker(), err)
		}
		if o.retries.Load() != 1 || o.batches.Load() != 1 {
			t.Fatalf("retries %d, batches %d; want 1, 1", o.retries.Load(), o.batches.Load())
		}
		d.Quarantine("a-crash", "test")
		d.Quarantine("a-crash", "test")
		if o.quarantines.Load() != 1 {
			t.Fatalf("quarantines %d after quarantining one worker twice, want 1", o.quarantines.Load())
		}
		if s := d.Stats(); s.Workers != 1 || s.Draining != 0 || s.Waiting != 0 {
			t.Fatalf("stats %+v, want 1 worker", s)
		}
	})
	t.Run("draining", func(t *testing.T) {
		d := dispatch.NewDispatcher(time.Minute, quietLog())
		defer d.Close()
		hung := &dispatchtest.FaultyWorker{Name: "hung", Hang: true}
		dispatchtest.Serve(t, d, hung)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan struct{})
		go func() { defer close(done); _, _ = d.Evaluate(ctx, evalRequest()) }()
		testenv.WaitFor(t, "the batch in flight", 10*time.Second, func() bool { return len(hung.Calls()) > 0 })
		d.Drain("hung")
		if s := d.Stats(); s.Workers != 0 || s.Draining != 1 {
			t.Fatalf("stats %+v while the drained worker holds a batch, want 0 workers, 1 draining", s)
		}
		cancel()
		<-done
		testenv.WaitFor(t, "the draining worker to finish", 10*time.Second, func() bool { return d.Stats().Draining == 0 })
	})
}
