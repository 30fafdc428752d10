package worker

import "time"

// Metrics is told what a worker does, for monitoring (Config.Metrics; nil
// reports nothing). internal/metrics implements it with Prometheus. Its
// methods are called by many goroutines at once (one per batch and
// stream); they must be quick.
type Metrics interface {
	// BatchStarted reports a batch accepted for evaluation.
	BatchStarted()
	// BatchDone reports the end of a batch BatchStarted reported: tasks
	// evaluated, took to evaluate them, err nil when it was answered.
	BatchDone(tasks int, took time.Duration, err error)
	// Refused reports a batch refused before any work (draining, or a
	// protocol mismatch): err says why.
	Refused(err error)
	// StreamOpened and StreamClosed bracket a coordinator's dispatch
	// stream (one per coordinator session with this worker).
	StreamOpened()
	StreamClosed()
}

// nopMetrics is the Metrics of a worker without any.
type nopMetrics struct{}

func (nopMetrics) BatchStarted()                       {}
func (nopMetrics) BatchDone(int, time.Duration, error) {}
func (nopMetrics) Refused(error)                       {}
func (nopMetrics) StreamOpened()                       {}
func (nopMetrics) StreamClosed()                       {}
