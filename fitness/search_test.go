package fitness

import (
	"math"
	"testing"

	"github.com/mesaopt/mesaopt/internal/stream"
)

// planTree is the plan-by-plan definition the breadth-first search
// implements: every action sequence of length ≤ horizon, depth first in
// action order, each worth the best J over its states valued at the step
// it reaches them; the largest value wins, then the smallest depth at
// which it is reached, then the first plan in action order. It returns the
// winner's first action, value and depth.
func planTree(in *Instance, s State, obj []float64, horizon int) (Action, float64, int) {
	best, bestAt, first := math.Inf(-1), 0, Action(0)
	limit := int32(in.cfg.StepLimit)
	var walk func(s State, depth int, a0 Action, peak float64, peakAt int)
	walk = func(s State, depth int, a0 Action, peak float64, peakAt int) {
		if v := in.Value(obj, s); v > peak {
			peak, peakAt = v, depth
		}
		if depth >= horizon || in.Terminal(s) || s.Steps >= limit {
			if peak > best || (peak == best && peakAt < bestAt) {
				best, bestAt, first = peak, peakAt, a0
			}
			return
		}
		for a := Action(0); a < NumActions; a++ {
			walk(in.Step(s, a), depth+1, a0, peak, peakAt)
		}
	}
	for a := Action(0); a < NumActions; a++ {
		walk(in.Step(s, a), 1, a, math.Inf(-1), 0)
	}
	return first, best, bestAt
}

// TestSearchMatchesPlanTree checks the transposition-table search against
// the plan-by-plan definition on every generated environment, both feature
// families, random objectives whose steps weight is ≤ 0 (so a state is
// never worth more for being reached later, and keeping each state at its
// smallest depth loses no plan) and states along random walks, with a
// budget that does not bind.
func TestSearchMatchesPlanTree(t *testing.T) {
	const horizon = 5
	checked := 0
	for _, env := range Envs() {
		if env.Name() == EnvMaps {
			continue
		}
		for _, fam := range []FeatureFamily{FeaturesOracle, FeaturesLocal} {
			cfg, err := DefaultConfigFor(env.Name())
			if err != nil {
				t.Fatal(err)
			}
			cfg.Features = fam
			for _, cond := range env.Conditions() {
				if cfg.CheckCondition(cond) != nil {
					continue
				}
				for seed := uint64(1); seed <= 3; seed++ {
					in, err := Generate(cfg, cond, seed)
					if err != nil {
						t.Fatal(err)
					}
					r := stream.New(seed, stream.PurposeVariation, uint64(len(cond)))
					obj := make([]float64, len(env.features))
					var sr search
					s := in.Start()
					for step := 0; step < 8 && !in.Terminal(s); step++ {
						for k := range obj {
							obj[k] = 2*r.Float64() - 1
						}
						if k := env.stepsFeature; k >= 0 {
							obj[k] = -math.Abs(obj[k])
						}
						wantA, wantV, wantAt := planTree(in, s, obj, horizon)
						a, n := sr.decide(in, s, obj, horizon, 1<<20)
						if a != wantA || sr.best != wantV || int(sr.bestAt) != wantAt {
							t.Fatalf("%s/%s/%s seed %d step %d: search %v (value %v at depth %d, %d states), plan tree %v (value %v at depth %d)",
								env.Name(), fam, cond, seed, step, a, sr.best, sr.bestAt, n, wantA, wantV, wantAt)
						}
						if n > FullTree(horizon) {
							t.Fatalf("%d distinct states, more than the %d nodes of the tree", n, FullTree(horizon))
						}
						checked++
						s, _, _ = in.Transition(s, Action(r.IntN(NumActions)))
					}
				}
			}
		}
	}
	t.Logf("%d decisions checked", checked)
}
