package main

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
	"github.com/mesaopt/mesaopt/worker"
)

// BenchmarkGenerationProcesses compares one generation of the default
// experiment evaluated in-process (parallelism 2) with the same generation
// routed to 2 `mesaopt worker` processes of capacity 1 over loopback gRPC.
// The ratio of their episodes/s is the distributed efficiency.
func BenchmarkGenerationProcesses(b *testing.B) {
	spec := experiment.Default()
	ga := ga.New(spec, spec.Shape())
	members, births, _ := ga.Initial()
	episodes := spec.Population * (spec.Episodes + len(spec.Conditions())*spec.AnalysisEpisodes)
	run := func(b *testing.B, ev coordinator.Evaluator) {
		ctx := context.Background()
		b.ResetTimer()
		for b.Loop() {
			if _, err := coordinator.Evaluate(ctx, ev, "bench", spec, 0, members, births); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(episodes*b.N)/b.Elapsed().Seconds(), "episodes/s")
	}
	b.Run("in-process", func(b *testing.B) { run(b, worker.NewEngine(2)) })
	b.Run("2-processes", func(b *testing.B) {
		seed, err := worker.NewMemberlist("bench-seed", "127.0.0.1:0", nil, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer seed.Shutdown()
		d := dispatch.NewDispatcher(time.Minute, slog.New(slog.NewTextHandler(io.Discard, nil)))
		defer d.Close()
		for i := range 2 {
			addr := freeAddr(b)
			startProc(b, "worker", "--join", seed.LocalNode().Address(), "--listen", addr, "--capacity", "1", "--name", "bench-w"+string(rune('0'+i)))
			d.Upsert("bench-w"+string(rune('0'+i)), worker.Meta{Role: worker.RoleWorker, GRPC: addr, Capacity: 1, Protocol: worker.ProtocolVersion})
		}
		// Warm up: the first call waits for the processes to serve.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := coordinator.Evaluate(ctx, d, "warm", spec, 0, members[:4], births[:4]); err != nil {
			b.Fatal(err)
		}
		run(b, d)
	})
}
