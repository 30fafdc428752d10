package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/status"
)

// Worker implements worker.Metrics: the series mesaopt_worker_….
type Worker struct {
	evaluations prometheus.Counter
	latency     prometheus.Histogram
	inflight    prometheus.Gauge
	sessions    prometheus.Gauge
	errors      *prometheus.CounterVec
}

// NewWorker registers a worker's series on reg.
func NewWorker(reg prometheus.Registerer) *Worker {
	w := &Worker{
		evaluations: prometheus.NewCounter(prometheus.CounterOpts{Name: "mesaopt_worker_evaluations_total",
			Help: "Evaluation tasks (one genome under the batch's conditions) this worker answered."}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mesaopt_worker_evaluation_seconds",
			Help:    "Time to evaluate one batch, answered or failed.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)}), // 1 ms .. 4.4 min
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "mesaopt_worker_inflight_batches",
			Help: "Batches being evaluated now."}),
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{Name: "mesaopt_worker_sessions",
			Help: "Coordinator dispatch streams open now (one per coordinator session with this worker)."}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mesaopt_worker_errors_total",
			Help: "Batches that failed or were refused, by gRPC status code."}, []string{"code"}),
	}
	reg.MustRegister(w.evaluations, w.latency, w.inflight, w.sessions, w.errors)
	return w
}

// BatchStarted implements worker.Metrics.
func (w *Worker) BatchStarted() { w.inflight.Inc() }

// BatchDone implements worker.Metrics.
func (w *Worker) BatchDone(tasks int, took time.Duration, err error) {
	w.inflight.Dec()
	w.latency.Observe(took.Seconds())
	if err != nil {
		w.Refused(err)
		return
	}
	w.evaluations.Add(float64(tasks))
}

// Refused implements worker.Metrics. The code label takes gRPC's 17
// codes' names only.
func (w *Worker) Refused(err error) { w.errors.WithLabelValues(status.Code(err).String()).Inc() }

// StreamOpened implements worker.Metrics.
func (w *Worker) StreamOpened() { w.sessions.Inc() }

// StreamClosed implements worker.Metrics.
func (w *Worker) StreamClosed() { w.sessions.Dec() }
