package dispatch

import "time"

// Observer is told what a Dispatcher does, for metrics. Its methods may be
// called by many goroutines at once, some of them while the Dispatcher's
// lock is held: they must be quick and must not call the Dispatcher.
type Observer interface {
	// BatchDone reports a batch that got an accepted answer, took after
	// Evaluate was called for it (queueing and retries included).
	BatchDone(took time.Duration)
	// Retried reports a failed call to a worker after which the batch
	// goes on (to another worker, or waits for a running copy).
	Retried()
	// Hedged reports a speculative duplicate of a slow batch.
	Hedged()
	// Quarantined reports a worker newly quarantined.
	Quarantined()
}

// WithObserver reports the Dispatcher's batches, retries, hedges and
// quarantines to o. Without it nothing is reported.
func WithObserver(o Observer) DispatchOption { return func(d *Dispatcher) { d.obs = o } }

// Stats is a snapshot of a Dispatcher's load.
type Stats struct {
	Workers  int // workers that take batches
	Draining int // workers gone gracefully that still finish batches
	Waiting  int // calls queued for a slot on a worker
}

// Stats returns the Dispatcher's current load. Safe for concurrent use.
func (d *Dispatcher) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return Stats{Workers: len(d.workers), Draining: len(d.draining), Waiting: d.waiting}
}

// nopObserver is the Observer of a Dispatcher without one.
type nopObserver struct{}

func (nopObserver) BatchDone(time.Duration) {}
func (nopObserver) Retried()                {}
func (nopObserver) Hedged()                 {}
func (nopObserver) Quarantined()            {}
