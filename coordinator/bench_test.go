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
	"github.com/mesaopt/mesaopt/genome"
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
	// Selection episodes, then analysis of train, the shifted conditions and identity.
	evals := spec.Population * (spec.Episodes + (len(spec.Conditions())+1)*spec.AnalysisEpisodes)
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
			d.Upsert(w.Name(), worker.Meta{Role: worker.RoleWorker, GRPC: w.Addr(), Capacity: 1, Protocol: worker.ProtocolVersion, Digest: worker.EvaluationDigest()})
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

// BenchmarkAnalysisPerGenome is the cost of scoring one genome as a run
// does, in one goroutine: the default experiment's 6 selection episodes and
// 32 paired analysis episodes under train, shifted and identity (102
// episodes), with the behavioral fit.
func BenchmarkAnalysisPerGenome(b *testing.B) {
	spec := experiment.Default()
	for _, tc := range []struct {
		name string
		g    genome.Genome
	}{
		{"exit-seeker", fitness.ExitSeeker()},
		{"red-seeker", fitness.RedSeeker()},
		{"idle-heuristic", fitness.Idle()},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ev := worker.NewEngine(1)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := coordinator.EvaluateGenomes(ctx, ev, spec, []genome.Genome{tc.g}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// evolved returns the members and births of generation gens of the default
// experiment, evolved in-process: a population shaped by selection (mostly
// competent planners), which costs more to score than generation 0's random
// genomes.
func evolved(b *testing.B, spec experiment.Spec, gens uint32) ([]ga.Member, []ga.Birth) {
	b.Helper()
	opt := ga.New(spec, fitness.Shape())
	members, births, next := opt.Initial()
	ev := worker.NewEngine(2)
	ctx := context.Background()
	for gen := uint32(0); ; gen++ {
		if _, err := coordinator.Evaluate(ctx, ev, "bench", spec, gen, members, births); err != nil {
			b.Fatal(err)
		}
		if gen == gens {
			return members, births
		}
		members, births, next = opt.Next(members, gen+1, next)
	}
}

// BenchmarkGenerationEvolved is one generation of the default experiment at
// generation 20 (selection and analysis of every condition, behavioral fits
// included), evaluated in-process with parallelism 2.
func BenchmarkGenerationEvolved(b *testing.B) {
	spec := experiment.Default()
	const gen = 20
	members, births := evolved(b, spec, gen)
	ev := worker.NewEngine(2)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := coordinator.Evaluate(ctx, ev, "bench", spec, gen, members, births); err != nil {
			b.Fatal(err)
		}
	}
	evals := spec.Population * (spec.Episodes + (len(spec.Conditions())+1)*spec.AnalysisEpisodes)
	b.ReportMetric(float64(evals*b.N)/b.Elapsed().Seconds(), "episodes/s")
}
