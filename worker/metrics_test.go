package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/internal/metrics"
	"github.com/mesaopt/mesaopt/internal/metrics/metricstest"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
	"github.com/mesaopt/mesaopt/worker"
)

// TestMetricsScrape evaluates a batch of two genomes and sends one of a
// foreign protocol to a worker with metrics, and scrapes its /metrics over
// HTTP: two evaluations in one answered batch, one refusal counted by its
// code, nothing in flight, and an exposition promtool accepts.
func TestMetricsScrape(t *testing.T) {
	reg := metrics.NewRegistry()
	srv, err := metrics.Listen("127.0.0.1:0", reg, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	seed, err := worker.NewMemberlist("seed", "127.0.0.1:0", nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = seed.Shutdown() })
	cfg := worker.DefaultConfig()
	cfg.Join = []string{seed.LocalNode().Address()}
	cfg.Capacity = 2
	cfg.Metrics = metrics.NewWorker(reg)
	w, err := worker.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = w.Shutdown(ctx)
	})

	client := rpc.NewEvaluatorServiceClient(dial(t, w.Addr()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := client.Evaluate(ctx, request(fitness.ExitSeeker(), fitness.RedSeeker())); err != nil {
		t.Fatal(err)
	}
	foreign := request(fitness.ExitSeeker())
	foreign.ProtocolVersion = worker.ProtocolVersion + 1
	if _, err := client.Evaluate(ctx, foreign); err == nil {
		t.Fatal("a batch of another protocol version was answered")
	}

	f, text := metricstest.Scrape(t, srv.Addr())
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"mesaopt_worker_evaluations_total", nil, 2},
		{"mesaopt_worker_evaluation_seconds", nil, 1},
		{"mesaopt_worker_inflight_batches", nil, 0},
		{"mesaopt_worker_sessions", nil, 0},
		{"mesaopt_worker_errors_total", []string{"code", "FailedPrecondition"}, 1},
	} {
		got, ok := f.Value(c.name, c.labels...)
		if !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if f.Series("go_goroutines") != 1 || f.Series("process_cpu_seconds_total") != 1 {
		t.Errorf("the Go and process collectors are missing: %v", f.Names(""))
	}
	t.Run("promtool", func(t *testing.T) { metricstest.Promtool(t, text) })
}
