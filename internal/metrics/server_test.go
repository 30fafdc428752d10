package metrics_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/mesaopt/mesaopt/internal/metrics"
	"github.com/mesaopt/mesaopt/internal/metrics/metricstest"
)

// TestPprofOnlyWhenAsked checks that /debug/pprof/ answers on the metrics
// listener with pprof and is not found without, while /metrics answers
// on both, and that Shutdown is idempotent and closes the listener.
func TestPprofOnlyWhenAsked(t *testing.T) {
	for _, c := range []struct {
		pprof bool
		want  int
	}{{true, http.StatusOK}, {false, http.StatusNotFound}} {
		srv, err := metrics.Listen("127.0.0.1:0", metrics.NewRegistry(), c.pprof)
		if err != nil {
			t.Fatal(err)
		}
		if code, _ := metricstest.Get(t, srv.Addr(), "/debug/pprof/"); code != c.want {
			t.Errorf("pprof %v: GET /debug/pprof/ = %d, want %d", c.pprof, code, c.want)
		}
		if code, _ := metricstest.Get(t, srv.Addr(), "/metrics"); code != http.StatusOK {
			t.Errorf("pprof %v: GET /metrics = %d, want 200", c.pprof, code)
		}
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Fatalf("second Shutdown: %v", err)
		}
		if _, err := http.Get("http://" + srv.Addr() + "/metrics"); err == nil {
			t.Errorf("pprof %v: /metrics still answers after Shutdown", c.pprof)
		}
	}
}

// TestCoordinatorSeriesBeforeAnyRun checks the coordinator's exposition
// with no run and no dispatcher: every state of mesaopt_runs at 0, the
// dispatch gauges at 0, no per-run series, and promtool's approval.
func TestCoordinatorSeriesBeforeAnyRun(t *testing.T) {
	reg := metrics.NewRegistry()
	metrics.NewCoordinator(reg)
	srv, err := metrics.Listen("127.0.0.1:0", reg, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	f, text := metricstest.Scrape(t, srv.Addr())
	if n := f.Series("mesaopt_runs"); n != 5 {
		t.Errorf("mesaopt_runs has %d series, want 5 (one a state)", n)
	}
	for _, name := range []string{"mesaopt_workers_alive", "mesaopt_workers_draining", "mesaopt_dispatch_queue_depth", "mesaopt_evaluations_total"} {
		if v, ok := f.Value(name); !ok || v != 0 {
			t.Errorf("%s = %v (present %v), want 0", name, v, ok)
		}
	}
	if n := f.Series("mesaopt_run_planner_ratio"); n != 0 {
		t.Errorf("mesaopt_run_planner_ratio has %d series without runs", n)
	}
	t.Run("promtool", func(t *testing.T) { metricstest.Promtool(t, text) })
}
