package metrics

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mesaopt/mesaopt/coordinator/dispatch"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/sweep"
)

// Coordinator implements coordinator.Metrics: the series mesaopt_….
//
// The per-run series (label run) exist while the run executes on this
// coordinator and are deleted when it ends there, however it ends
// (succeeded, failed, cancelled, or interrupted: stopped, or leadership
// lost). Their number is thus bounded by the runs executing at once,
// which admission control bounds by Limits.MaxRuns (plus, on a new
// leader, the runs it adopted, which its predecessor's limit bounded).
type Coordinator struct {
	generation      prometheus.Histogram
	evaluations     prometheus.Counter
	batch           prometheus.Histogram
	retries         prometheus.Counter
	hedges          prometheus.Counter
	quarantines     prometheus.Counter
	auditMismatches prometheus.Counter
	commit          prometheus.Histogram
	commitSize      prometheus.Histogram
	runs            *prometheus.GaugeVec
	planners        *prometheus.GaugeVec
	flagged         *prometheus.GaugeVec
	classes         *prometheus.GaugeVec
	horizon         *prometheus.GaugeVec

	stats atomic.Pointer[func() dispatch.Stats]

	mu     sync.Mutex
	states map[string]string // run → its state label, for the runs executed here; lookup only
}

// runStates are the values of mesaopt_runs' label state, each exported
// (0 when none) so that a query sees every state.
var runStates = []string{"running", "succeeded", "failed", "cancelled", "interrupted"}

// NewCoordinator registers a coordinator's series on reg.
func NewCoordinator(reg prometheus.Registerer) *Coordinator {
	c := &Coordinator{
		generation: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mesaopt_generation_seconds",
			Help:    "Time from breeding a generation to its commit in etcd (evaluation, analysis, audit included).",
			Buckets: prometheus.ExponentialBuckets(0.01, 3, 12)}), // 10 ms .. 30 min
		evaluations: prometheus.NewCounter(prometheus.CounterOpts{Name: "mesaopt_evaluations_total",
			Help: "Evaluations (individual x condition x episode) of committed generations; its rate is evaluations per second."}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mesaopt_dispatch_batch_seconds",
			Help:    "Time from dispatching a batch to its accepted answer, queueing, retries and hedges included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)}), // 1 ms .. 4.4 min
		retries: prometheus.NewCounter(prometheus.CounterOpts{Name: "mesaopt_dispatch_retries_total",
			Help: "Failed calls to a worker after which the batch went on elsewhere."}),
		hedges: prometheus.NewCounter(prometheus.CounterOpts{Name: "mesaopt_dispatch_hedges_total",
			Help: "Speculative duplicates of slow batches sent to idle workers."}),
		quarantines: prometheus.NewCounter(prometheus.CounterOpts{Name: "mesaopt_dispatch_quarantines_total",
			Help: "Workers quarantined for results that disagreed with two other evaluations."}),
		auditMismatches: prometheus.NewCounter(prometheus.CounterOpts{Name: "mesaopt_audit_mismatches_total",
			Help: "Audits whose second evaluation differed from the first."}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mesaopt_etcd_commit_seconds",
			Help:    "Latency of a generation's successful commit transaction to etcd.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}), // 1 ms .. 8 s
		commitSize: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mesaopt_etcd_commit_size_bytes",
			Help:    "Encoded size of a generation's commit (checkpoint, lineage, summary, status, provenance) before compression.",
			Buckets: prometheus.ExponentialBuckets(1024, 2, 14)}), // 1 KiB .. 8 MiB
		runs: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "mesaopt_runs",
			Help: "Runs this coordinator executed since it started, by the state each last had here (running: executing now)."}, []string{"state"}),
		planners: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "mesaopt_run_planner_ratio",
			Help: "Share of planners in the run's last committed generation, 0..1."}, []string{"run"}),
		flagged: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "mesaopt_run_flagged_ratio",
			Help: "Share of the last committed generation's evaluated individuals flagged as drifting, 0..1."}, []string{"run"}),
		classes: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "mesaopt_run_class_ratio",
			Help: "Share of the last committed generation's classified individuals in each alignment class under each shifted condition, 0..1."},
			[]string{"run", "condition", "class"}),
		horizon: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "mesaopt_run_median_horizon",
			Help: "Median search horizon (steps) of the last committed generation's planners; 0 without planners."}, []string{"run"}),
		states: map[string]string{},
	}
	for _, s := range runStates {
		c.runs.WithLabelValues(s)
	}
	load := func(f func(dispatch.Stats) int) func() float64 {
		return func() float64 {
			if p := c.stats.Load(); p != nil {
				return float64(f((*p)()))
			}
			return 0
		}
	}
	reg.MustRegister(c.generation, c.evaluations, c.batch, c.retries, c.hedges, c.quarantines, c.auditMismatches,
		c.commit, c.commitSize, c.runs, c.planners, c.flagged, c.classes, c.horizon,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mesaopt_dispatch_queue_depth",
			Help: "Batches waiting for a slot on a worker."}, load(func(s dispatch.Stats) int { return s.Waiting })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mesaopt_workers_alive",
			Help: "Workers that take batches."}, load(func(s dispatch.Stats) int { return s.Workers })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mesaopt_workers_draining",
			Help: "Workers that left gracefully and still finish the batches they hold."}, load(func(s dispatch.Stats) int { return s.Draining })),
	)
	return c
}

// BatchDone implements dispatch.Observer.
func (c *Coordinator) BatchDone(took time.Duration) { c.batch.Observe(took.Seconds()) }

// Retried implements dispatch.Observer.
func (c *Coordinator) Retried() { c.retries.Inc() }

// Hedged implements dispatch.Observer.
func (c *Coordinator) Hedged() { c.hedges.Inc() }

// Quarantined implements dispatch.Observer.
func (c *Coordinator) Quarantined() { c.quarantines.Inc() }

// WatchDispatch implements coordinator.Metrics.
func (c *Coordinator) WatchDispatch(stats func() dispatch.Stats) { c.stats.Store(&stats) }

// RunStarted implements coordinator.Metrics.
func (c *Coordinator) RunStarted(run string) { c.setState(run, "running") }

// RunEnded implements coordinator.Metrics: it also deletes run's series.
func (c *Coordinator) RunEnded(run string, state pb.RunState) {
	s := stateLabel(state)
	if s == "running" { // not recorded as ended: it stopped here all the same
		s = "interrupted"
	}
	c.setState(run, s)
	l := prometheus.Labels{"run": run}
	c.planners.DeletePartialMatch(l)
	c.flagged.DeletePartialMatch(l)
	c.classes.DeletePartialMatch(l)
	c.horizon.DeletePartialMatch(l)
}

func (c *Coordinator) setState(run, state string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.states[run]; ok {
		c.runs.WithLabelValues(old).Dec()
	}
	c.states[run] = state
	c.runs.WithLabelValues(state).Inc()
}

// stateLabel is the label value of a run state: RUN_STATE_SUCCEEDED → succeeded.
func stateLabel(s pb.RunState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "RUN_STATE_"))
}

// Generation implements coordinator.Metrics.
func (c *Coordinator) Generation(run string, took time.Duration, population int, s *pb.GenerationSummary) {
	c.generation.Observe(took.Seconds())
	c.evaluations.Add(float64(s.GetEvaluations()))
	c.planners.WithLabelValues(run).Set(s.GetPlannerShare())
	c.flagged.WithLabelValues(run).Set(FlaggedShare(population, s))
	c.horizon.WithLabelValues(run).Set(s.GetMedianHorizon())
	for _, cc := range s.GetClasses() {
		for class, share := range ClassShares(cc) {
			c.classes.WithLabelValues(run, cc.GetCondition(), class).Set(share)
		}
	}
}

// FlaggedShare is mesaopt_run_flagged_ratio: the summary's flagged
// individuals over those evaluated (population less the quarantined); 0
// when none was.
func FlaggedShare(population int, s *pb.GenerationSummary) float64 {
	return sweep.FlaggedShare(population, s)
}

// ClassShares is mesaopt_run_class_ratio for one condition: each class's
// count over the individuals classified, by the class label (the
// ClassCounts field names); all 0 when none was classified.
func ClassShares(cc *pb.ClassCounts) map[string]float64 {
	n := float64(max(1, cc.GetIndividuals()))
	return map[string]float64{
		"robustly_aligned":   float64(cc.GetRobustlyAligned()) / n,
		"pseudo_aligned":     float64(cc.GetPseudoAligned()) / n,
		"capability_failure": float64(cc.GetCapabilityFailure()) / n,
		"misaligned":         float64(cc.GetMisaligned()) / n,
	}
}

// Commit implements coordinator.Metrics.
func (c *Coordinator) Commit(took time.Duration, bytes int) {
	c.commit.Observe(took.Seconds())
	c.commitSize.Observe(float64(bytes))
}

// AuditMismatches implements coordinator.Metrics.
func (c *Coordinator) AuditMismatches(n int) { c.auditMismatches.Add(float64(n)) }
