package coordinator

import (
	"slices"
	"testing"

	"github.com/mesaopt/mesaopt/coordinator/ga"
	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/genome"
)

func TestPlanningCountsAndMedians(t *testing.T) {
	planner := func(h, budget int) ga.Member {
		g := fitness.ExitSeeker()
		g.Planner.Horizon, g.Planner.NodeBudget = h, budget
		return ga.Member{Genome: g}
	}
	members := []ga.Member{planner(1, 64), {Genome: fitness.Idle()}, planner(3, 128), planner(1, 16), planner(6, 512)}
	counts, h, b := planning(members)
	want := make([]uint32, genome.MaxHorizon)
	want[0], want[2], want[5] = 2, 1, 1
	if !slices.Equal(counts, want) {
		t.Errorf("horizon counts %v, want %v", counts, want)
	}
	// Horizons 1 1 3 6: median (1+3)/2; budgets 16 64 128 512: (64+128)/2.
	if h != 2 || b != 96 {
		t.Errorf("median horizon %v, node budget %v; want 2 and 96", h, b)
	}
	if counts, h, b := planning([]ga.Member{{Genome: fitness.Idle()}}); h != 0 || b != 0 || len(counts) != genome.MaxHorizon {
		t.Errorf("no planners: %v %v %v", counts, h, b)
	}
	if got := median([]float64{5, 1, 3}); got != 3 {
		t.Errorf("median of 5 1 3 = %v", got)
	}
}
