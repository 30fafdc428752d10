package coordinator_test

import (
	"context"
	"testing"

	"github.com/mesaopt/mesaopt/coordinator"
	"github.com/mesaopt/mesaopt/coordinator/ga"
	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/worker"
)

// TestThinkingCurve re-plans planted genomes: the exit seeker's BFS
// distance to the exit is a value function, so with the default (BFS)
// features it is optimal at every horizon, under train and under the shift;
// the champion is the fittest planner, whatever the heuristics score.
func TestThinkingCurve(t *testing.T) {
	spec := experiment.Default()
	spec.AnalysisEpisodes = 4
	members := []ga.Member{
		{ID: 7, Genome: fitness.Idle(), Fitness: 2},
		{ID: 8, Genome: fitness.RedSeeker(), Fitness: 0.5},
		{ID: 9, Genome: fitness.ExitSeeker(), Fitness: 0.9},
	}
	th, err := coordinator.Thinking(context.Background(), worker.NewEngine(2), "t", spec, 3, members)
	if err != nil {
		t.Fatal(err)
	}
	if th.GetIndividual() != 9 || len(th.GetPoints()) != genome.MaxHorizon {
		t.Fatalf("curve of #%d with %d points, want the exit seeker #9 with %d", th.GetIndividual(), len(th.GetPoints()), genome.MaxHorizon)
	}
	budget := 0
	for i, p := range th.GetPoints() {
		level := 1
		for range i + 1 {
			level *= fitness.NumActions
		}
		budget += level
		if int(p.GetHorizon()) != i+1 || int(p.GetNodeBudget()) != budget {
			t.Errorf("point %d: horizon %d budget %d, want %d and %d", i, p.GetHorizon(), p.GetNodeBudget(), i+1, budget)
		}
		if p.GetTrainBase() < 0.99 || len(p.GetShiftedBase()) != 1 || p.GetShiftedBase()[0] < 0.99 {
			t.Errorf("horizon %d: train base %.3f, shifted %v; want ≈ 1 (greedy over a BFS distance is optimal)", p.GetHorizon(), p.GetTrainBase(), p.GetShiftedBase())
		}
	}
	none, err := coordinator.Thinking(context.Background(), worker.NewEngine(1), "t", spec, 3, members[:1])
	if err != nil || none != nil {
		t.Errorf("no planner: %v, %v; want nil", none, err)
	}
}
