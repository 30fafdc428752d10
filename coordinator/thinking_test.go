package coordinator_test

import (
	"context"
	"slices"
	"testing"

	"github.com/mesaopt/mesaopt/coordinator"
	"github.com/mesaopt/mesaopt/coordinator/ga"
	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/worker"
)

// TestThinkingCurve re-plans planted genomes; the champion is the fittest
// planner, whatever the heuristics score. With oracle features the exit
// seeker's BFS distance to the exit is a value function, so it is optimal
// at every horizon, under train and under every shifted condition; with
// the default local features greed stalls against the walls and search
// pays: below 0.5 at horizon 1, at least 0.95 at some horizon.
func TestThinkingCurve(t *testing.T) {
	members := []ga.Member{
		{ID: 7, Genome: fitness.Idle(), Fitness: 2},
		{ID: 8, Genome: fitness.RedSeeker(), Fitness: 0.5},
		{ID: 9, Genome: fitness.ExitSeeker(), Fitness: 0.9},
	}
	for _, features := range []fitness.FeatureFamily{fitness.FeaturesOracle, fitness.FeaturesLocal} {
		spec := experiment.Default()
		spec.AnalysisEpisodes = 8
		spec.Environment.Features = string(features)
		th, err := coordinator.Thinking(context.Background(), worker.NewEngine(2), "t", spec, 3, members)
		if err != nil {
			t.Fatal(err)
		}
		if th.GetIndividual() != 9 || len(th.GetPoints()) != genome.MaxHorizon {
			t.Fatalf("%s: curve of #%d with %d points, want the exit seeker #9 with %d", features, th.GetIndividual(), len(th.GetPoints()), genome.MaxHorizon)
		}
		best := 0.0
		for i, p := range th.GetPoints() {
			h := i + 1
			if int(p.GetHorizon()) != h || int(p.GetNodeBudget()) != min(genome.MaxNodeBudget, fitness.FullTree(h)) {
				t.Errorf("%s point %d: horizon %d budget %d, want %d and %d", features, i, p.GetHorizon(), p.GetNodeBudget(), h, min(genome.MaxNodeBudget, fitness.FullTree(h)))
			}
			if len(p.GetShiftedBase()) != len(spec.ShiftedConditions) {
				t.Fatalf("%s horizon %d: %d shifted bases, want %d", features, h, len(p.GetShiftedBase()), len(spec.ShiftedConditions))
			}
			best = max(best, p.GetTrainBase())
			if features == fitness.FeaturesOracle && (p.GetTrainBase() < 0.99 || slices.Min(p.GetShiftedBase()) < 0.99) {
				t.Errorf("oracle horizon %d: train base %.3f, shifted %v; want ≈ 1 (greedy over a BFS distance is optimal)", h, p.GetTrainBase(), p.GetShiftedBase())
			}
		}
		if features == fitness.FeaturesLocal && (th.GetPoints()[0].GetTrainBase() >= 0.5 || best < 0.95) {
			t.Errorf("local: train base %.3f at horizon 1, best %.3f; want < 0.5 and ≥ 0.95", th.GetPoints()[0].GetTrainBase(), best)
		}
	}
	none, err := coordinator.Thinking(context.Background(), worker.NewEngine(1), "t", experiment.Default(), 3, members[:1])
	if err != nil || none != nil {
		t.Errorf("no planner: %v, %v; want nil", none, err)
	}
}
