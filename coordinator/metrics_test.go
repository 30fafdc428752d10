package coordinator_test

import (
	"context"
	"math"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/mesaopt/mesaopt/coordinator"
	"github.com/mesaopt/mesaopt/internal/metrics"
	"github.com/mesaopt/mesaopt/internal/metrics/metricstest"
	"github.com/mesaopt/mesaopt/internal/testenv"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/worker"
)

// heldEnd is coordinator metrics whose RunEnded waits until the test has
// scraped the run's series one last time.
type heldEnd struct {
	*metrics.Coordinator
	ending  chan string   // the run about to end
	release chan struct{} // lets it end
}

func (h heldEnd) RunEnded(run string, state pb.RunState) {
	h.ending <- run
	<-h.release
	h.Coordinator.RunEnded(run, state)
}

// TestMetricsOfARun runs a short run through a real worker found by
// gossip, both with metrics, and scrapes both over HTTP: the counters and
// histograms match what the run did, the science gauges equal its last
// generation summary while it ends, and its series are gone after.
func TestMetricsOfARun(t *testing.T) {
	reg := metrics.NewRegistry()
	m := heldEnd{Coordinator: metrics.NewCoordinator(reg), ending: make(chan string, 1), release: make(chan struct{})}
	srv, err := metrics.Listen("127.0.0.1:0", reg, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	c := startCoordinatorWith(t, startEtcd(t), nil, func(cfg *coordinator.Config) { cfg.Metrics = m })

	wreg := metrics.NewRegistry()
	wsrv, err := metrics.Listen("127.0.0.1:0", wreg, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = wsrv.Shutdown(context.Background()) })
	wcfg := worker.DefaultConfig()
	wcfg.Join = []string{c.GossipAddr()}
	wcfg.Metrics = metrics.NewWorker(wreg)
	w, err := worker.Start(context.Background(), wcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = w.Shutdown(ctx)
	})
	testenv.WaitFor(t, "the worker to join", 10*time.Second, func() bool { n, _ := c.Workers(); return n >= 1 })
	if f, _ := metricstest.Scrape(t, srv.Addr()); mustValue(t, f, "mesaopt_workers_alive") != 1 {
		t.Fatalf("mesaopt_workers_alive = %v, want 1", mustValue(t, f, "mesaopt_workers_alive"))
	}

	spec := smallSpec()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	id, err := c.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-m.ending:
		if got != id {
			t.Fatalf("run %s ending, want %s", got, id)
		}
	case <-ctx.Done():
		t.Fatal("the run did not end")
	}
	run, err := c.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if run.GetState() != pb.RunState_RUN_STATE_SUCCEEDED || len(run.GetSummaries()) != spec.Generations {
		t.Fatalf("run ended %v with %d summaries: %s", run.GetState(), len(run.GetSummaries()), run.GetError())
	}
	last := run.GetSummaries()[len(run.GetSummaries())-1]

	f, _ := metricstest.Scrape(t, srv.Addr())
	var evaluations float64
	for _, s := range run.GetSummaries() {
		evaluations += float64(s.GetEvaluations())
	}
	gens := float64(spec.Generations)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"mesaopt_evaluations_total", nil, evaluations},
		{"mesaopt_generation_seconds", nil, gens},
		{"mesaopt_etcd_commit_seconds", nil, gens},
		{"mesaopt_etcd_commit_size_bytes", nil, gens},
		{"mesaopt_run_planner_ratio", []string{"run", id}, last.GetPlannerShare()},
		{"mesaopt_run_flagged_ratio", []string{"run", id}, metrics.FlaggedShare(spec.Population, last)},
		{"mesaopt_run_median_horizon", []string{"run", id}, last.GetMedianHorizon()},
		{"mesaopt_runs", []string{"state", "running"}, 1},
		{"mesaopt_workers_alive", nil, 1},
		{"mesaopt_workers_draining", nil, 0},
		{"mesaopt_dispatch_queue_depth", nil, 0},
		{"mesaopt_dispatch_quarantines_total", nil, 0},
		{"mesaopt_audit_mismatches_total", nil, 0},
	} {
		if got := mustValue(t, f, c.name, c.labels...); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if len(last.GetClasses()) == 0 {
		t.Fatal("the last summary has no class counts")
	}
	for _, cc := range last.GetClasses() {
		for class, want := range metrics.ClassShares(cc) {
			if got := mustValue(t, f, "mesaopt_run_class_ratio", "run", id, "condition", cc.GetCondition(), "class", class); got != want {
				t.Errorf("mesaopt_run_class_ratio{condition=%q,class=%q} = %v, want %v", cc.GetCondition(), class, got, want)
			}
		}
	}
	if f.Sum("mesaopt_etcd_commit_size_bytes") <= 0 || f.Sum("mesaopt_generation_seconds") <= 0 {
		t.Errorf("commit size sum %v, generation seconds sum %v: want both > 0", f.Sum("mesaopt_etcd_commit_size_bytes"), f.Sum("mesaopt_generation_seconds"))
	}
	batches := mustValue(t, f, "mesaopt_dispatch_batch_seconds")
	if batches < gens {
		t.Errorf("mesaopt_dispatch_batch_seconds count %v, want ≥ %v (a batch a generation at least)", batches, gens)
	}

	close(m.release)
	if err := c.Wait(ctx, id); err != nil {
		t.Fatal(err)
	}
	f, text := metricstest.Scrape(t, srv.Addr())
	for _, name := range []string{"mesaopt_run_planner_ratio", "mesaopt_run_flagged_ratio", "mesaopt_run_class_ratio", "mesaopt_run_median_horizon"} {
		if n := f.Series(name); n != 0 {
			t.Errorf("%s: %d series after the run ended, want none", name, n)
		}
	}
	if got := mustValue(t, f, "mesaopt_runs", "state", "succeeded"); got != 1 {
		t.Errorf(`mesaopt_runs{state="succeeded"} = %v, want 1`, got)
	}
	if got := mustValue(t, f, "mesaopt_runs", "state", "running"); got != 0 {
		t.Errorf(`mesaopt_runs{state="running"} = %v, want 0`, got)
	}

	// The worker evaluated every batch the coordinator had answered, and
	// holds none now.
	wf, wtext := metricstest.Scrape(t, wsrv.Addr())
	if got := mustValue(t, wf, "mesaopt_worker_evaluation_seconds"); got < batches {
		t.Errorf("mesaopt_worker_evaluation_seconds count %v, want ≥ the coordinator's %v batches", got, batches)
	}
	if got := mustValue(t, wf, "mesaopt_worker_evaluations_total"); got < float64(spec.Population*spec.Generations) {
		t.Errorf("mesaopt_worker_evaluations_total = %v, want ≥ %d (population × generations)", got, spec.Population*spec.Generations)
	}
	if got := mustValue(t, wf, "mesaopt_worker_inflight_batches"); got != 0 {
		t.Errorf("mesaopt_worker_inflight_batches = %v after the run, want 0", got)
	}
	if got := mustValue(t, wf, "mesaopt_worker_sessions"); got != 1 {
		t.Errorf("mesaopt_worker_sessions = %v, want 1 (the coordinator's stream)", got)
	}
	t.Run("promtool", func(t *testing.T) {
		metricstest.Promtool(t, text)
		metricstest.Promtool(t, wtext)
	})
}

// mustValue is Families.Value, failing the test without the series.
func mustValue(t *testing.T, f metricstest.Families, name string, labels ...string) float64 {
	t.Helper()
	v, ok := f.Value(name, labels...)
	if !ok {
		t.Fatalf("no series %s%v in the scrape; mesaopt series: %v", name, labels, f.Names("mesaopt_"))
	}
	return v
}

// endWatch is coordinator metrics that report each run's end, and hold
// a run's second start (a resume) until the test is done.
type endWatch struct {
	*metrics.Coordinator
	ended  chan pb.RunState
	starts atomic.Int32
	hold   chan struct{}
}

func (w *endWatch) RunStarted(run string) {
	if w.starts.Add(1) > 1 {
		<-w.hold
	}
	w.Coordinator.RunStarted(run)
}

func (w *endWatch) RunEnded(run string, state pb.RunState) {
	w.Coordinator.RunEnded(run, state)
	w.ended <- state
}

// TestRunSeriesDeletedWhenRunStops stops a long run in the middle, by
// cancelling it and by revoking the leader's lease behind its back: once
// the run has stopped, its per-run series are gone and mesaopt_runs
// counts it in the state it stopped in.
func TestRunSeriesDeletedWhenRunStops(t *testing.T) {
	for _, c := range []struct {
		name  string
		state string
		stop  func(t *testing.T, c *coordinator.Coordinator, cli *clientv3.Client, id string)
	}{
		{"cancelled", "cancelled", func(t *testing.T, c *coordinator.Coordinator, _ *clientv3.Client, id string) {
			if err := c.Cancel(id); err != nil {
				t.Fatal(err)
			}
		}},
		{"leadership lost", "interrupted", func(t *testing.T, _ *coordinator.Coordinator, cli *clientv3.Client, _ string) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			resp, err := cli.Get(ctx, prefixOf(cli)+"leader/", clientv3.WithPrefix())
			if err != nil || len(resp.Kvs) != 1 {
				t.Fatalf("leader key: %v", err)
			}
			if _, err := cli.Revoke(ctx, clientv3.LeaseID(resp.Kvs[0].Lease)); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			reg := metrics.NewRegistry()
			srv, err := metrics.Listen("127.0.0.1:0", reg, false)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
			m := &endWatch{Coordinator: metrics.NewCoordinator(reg), ended: make(chan pb.RunState, 4), hold: make(chan struct{})}
			cli := startEtcd(t)
			co := startCoordinatorWith(t, cli, worker.NewEngine(2), func(cfg *coordinator.Config) { cfg.Metrics = m })
			spec := smallSpec()
			spec.Generations = 100000
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			id, err := co.Submit(ctx, spec)
			if err != nil {
				t.Fatal(err)
			}
			testenv.WaitFor(t, "the run's series", 30*time.Second, func() bool {
				f, _ := metricstest.Scrape(t, srv.Addr())
				_, ok := f.Value("mesaopt_run_planner_ratio", "run", id)
				return ok
			})
			c.stop(t, co, cli, id)
			select {
			case <-m.ended:
			case <-ctx.Done():
				t.Fatal("the run did not stop")
			}
			t.Cleanup(func() { close(m.hold) }) // a new leader's resume may start it again
			f, _ := metricstest.Scrape(t, srv.Addr())
			for _, name := range []string{"mesaopt_run_planner_ratio", "mesaopt_run_flagged_ratio", "mesaopt_run_class_ratio", "mesaopt_run_median_horizon"} {
				if n := f.Series(name); n != 0 {
					t.Errorf("%s: %d series after the run stopped, want none", name, n)
				}
			}
			if got, _ := f.Value("mesaopt_runs", "state", c.state); got != 1 {
				t.Errorf("mesaopt_runs{state=%q} = %v, want 1", c.state, got)
			}
			if got, _ := f.Value("mesaopt_runs", "state", "running"); got != 0 {
				t.Errorf(`mesaopt_runs{state="running"} = %v, want 0`, got)
			}
		})
	}
}
