package coordinator_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/mesaopt/mesaopt/coordinator"
	"github.com/mesaopt/mesaopt/coordinator/dispatch"
	"github.com/mesaopt/mesaopt/coordinator/ga"
	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/worker"
)

// benchGeneration evaluates generation 0 of the default experiment through ev.
func benchGeneration(b *testing.B, ev coordinator.Evaluator) {
	spec := experiment.Default()
	ga := ga.New(spec, fitness.Shape())
	members, births, _ := ga.Initial()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := coordinator.Evaluate(ctx, ev, "bench", spec, 0, members, births); err != nil {
			b.Fatal(err)
		}
	}
	evals := spec.Population * (spec.Episodes + len(spec.Conditions())*spec.AnalysisEpisodes)
	b.ReportMetric(float64(evals*b.N)/b.Elapsed().Seconds(), "episodes/s")
}

// BenchmarkGeneration compares one generation of the default experiment
// evaluated in-process (parallelism 2) with the same generation routed over
// loopback gRPC to 2 workers of capacity 1 found through gossip.
func BenchmarkGeneration(b *testing.B) {
	b.Run("in-process", func(b *testing.B) { benchGeneration(b, worker.NewEngine(2)) })
	b.Run("2-workers", func(b *testing.B) {
		seed, err := worker.NewMemberlist("seed", "127.0.0.1:0", nil, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer seed.Shutdown()
		d := dispatch.NewDispatcher(time.Minute, slog.New(slog.NewTextHandler(io.Discard, nil)))
		defer d.Close()
		for range 2 {
			cfg := worker.DefaultConfig()
			cfg.Join = []string{seed.LocalNode().Address()}
			w, err := worker.Start(context.Background(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer w.Shutdown(context.Background())
			d.Upsert(w.Name(), worker.Meta{Role: worker.RoleWorker, GRPC: w.Addr(), Capacity: 1, Protocol: worker.ProtocolVersion})
		}
		benchGeneration(b, d)
	})
}

// BenchmarkGANext measures breeding one generation of the default size.
func BenchmarkGANext(b *testing.B) {
	spec := experiment.Default()
	ga := ga.New(spec, fitness.Shape())
	pop, _, next := ga.Initial()
	for i := range pop {
		pop[i].Fitness = float64(i % 7)
	}
	b.ReportAllocs()
	for b.Loop() {
		ga.Next(pop, 1, next)
	}
}
