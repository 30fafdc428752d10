package genome_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/internal/stream"
)

// frozenShape has five features; the test holds b and d.
var frozenShape = genome.Shape{Features: []string{"a", "b", "c", "d", "e"}, ObsSize: 4, Actions: 2}

// checkFrozen fails unless g's planner weights at frozen are exactly 0
// (+0, not -0).
func checkFrozen(t *testing.T, what string, g genome.Genome, frozen []int) {
	t.Helper()
	if g.Kind != genome.KindPlanner {
		return
	}
	for _, k := range frozen {
		if w := g.Planner.Objective[k]; w != 0 || 1/w < 0 {
			t.Fatalf("%s: weight %d = %v, want 0", what, k, w)
		}
	}
}

// TestFrozenWeights draws many genomes, mutants (kind switches included)
// and crossovers with weights b and d frozen: those stay exactly 0, every
// other weight still moves, and a generation-0 planner's free weights are
// the ones it has without the mask.
func TestFrozenWeights(t *testing.T) {
	v := genome.DefaultVariation()
	v.KindSwitchRate = 0.2 // enough switches to exercise both directions
	v.Frozen = []int{1, 3}
	free := genome.DefaultVariation()
	free.KindSwitchRate = v.KindSwitchRate
	if err := v.ValidateFor(frozenShape); err != nil {
		t.Fatal(err)
	}
	moved := make([]bool, len(frozenShape.Features))
	switches := 0
	for i := range uint64(500) {
		kind := genome.KindPlanner
		if i%4 == 0 {
			kind = genome.KindHeuristic
		}
		g := genome.Random(frozenShape, kind, v, stream.New(1, stream.PurposeInitialPopulation, i))
		checkFrozen(t, "Random", g, v.Frozen)
		if kind == genome.KindPlanner {
			u := genome.Random(frozenShape, kind, free, stream.New(1, stream.PurposeInitialPopulation, i))
			for k, w := range g.Planner.Objective {
				if k != 1 && k != 3 && w != u.Planner.Objective[k] {
					t.Fatalf("Random %d: free weight %d = %v, %v without the mask", i, k, w, u.Planner.Objective[k])
				}
			}
		}
		for gen := range uint64(4) {
			c, ops := genome.Mutate(g, frozenShape, v, stream.New(1, stream.PurposeVariation, gen, i))
			checkFrozen(t, "Mutate "+strings.Join(ops, ","), c, v.Frozen)
			if ops[0] == genome.OpSwitchKind {
				switches++
			} else if c.Kind == genome.KindPlanner {
				for k, w := range c.Planner.Objective {
					if w != g.Planner.Objective[k] {
						moved[k] = true
					}
				}
			}
			if c.Kind == genome.KindPlanner && g.Kind == genome.KindPlanner {
				x, ok := genome.Crossover(g, c, stream.New(1, stream.PurposeSelection, gen, i))
				if !ok {
					t.Fatal("crossover of two planners refused")
				}
				checkFrozen(t, "Crossover", x, v.Frozen)
			}
			g = c
		}
	}
	if switches == 0 {
		t.Fatal("no kind switch drawn")
	}
	for k, m := range moved {
		if frozen := k == 1 || k == 3; m == frozen {
			t.Errorf("weight %d moved = %v, frozen = %v", k, m, frozen)
		}
	}
}

// TestFrozenEmptyUnchanged: an empty mask leaves every operator as it is
// without one.
func TestFrozenEmptyUnchanged(t *testing.T) {
	v := genome.DefaultVariation()
	e := v
	e.Frozen = []int{}
	for i := range uint64(50) {
		for _, kind := range []genome.Kind{genome.KindHeuristic, genome.KindPlanner} {
			a := genome.Random(frozenShape, kind, v, stream.New(2, 1, i))
			b := genome.Random(frozenShape, kind, e, stream.New(2, 1, i))
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("Random %d %v differs", i, kind)
			}
			ma, oa := genome.Mutate(a, frozenShape, v, stream.New(2, 2, i))
			mb, ob := genome.Mutate(b, frozenShape, e, stream.New(2, 2, i))
			if !reflect.DeepEqual(ma, mb) || !reflect.DeepEqual(oa, ob) {
				t.Fatalf("Mutate %d %v differs", i, kind)
			}
		}
	}
}

func TestFrozenValidate(t *testing.T) {
	tests := []struct {
		frozen []int
		want   string // "" for valid
	}{
		{nil, ""},
		{[]int{0, 4}, ""},
		{[]int{-1}, "frozen[0] = -1"},
		{[]int{2, 2}, "frozen[1] = 2"},
		{[]int{3, 1}, "frozen[1] = 1"},
		{[]int{1, 5}, "frozen[1] = 5, allowed 0..4"},
	}
	for _, tc := range tests {
		v := genome.DefaultVariation()
		v.Frozen = tc.frozen
		err := v.ValidateFor(frozenShape)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.frozen, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: %v, want an error containing %q", tc.frozen, err, tc.want)
		}
	}
}
