package genome

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Variation configures the mutation and crossover operators.
type Variation struct {
	// Sigma is the standard deviation of the gaussian noise added to every
	// weight by mutation (weights are clamped to ±MaxAbsWeight). Range (0, 10].
	Sigma float64
	// HorizonRate is the probability that a planner's horizon moves by ±1
	// (and, independently with the same probability, its node budget doubles
	// or halves). Range [0, 1].
	HorizonRate float64
	// KindSwitchRate is the probability that mutation replaces the genome by
	// a fresh random genome of the other kind. Range [0, 1]; keep it rare.
	KindSwitchRate float64
	// InitialHorizon and InitialNodeBudget parameterise planners created by
	// Random and by a kind switch.
	InitialHorizon    int
	InitialNodeBudget int
	// Frozen lists indices into Shape.Features, ascending and distinct,
	// whose planner weights are held at 0: Random sets them to 0, Mutate
	// leaves them at 0, and Crossover, which takes each weight from a
	// parent, keeps them at 0 when both parents have them at 0. Heuristic
	// weights are never frozen. The operators still draw the frozen
	// weights' numbers and discard them, so every other weight gets the
	// draws it gets without a mask: when the frozen features are 0 in every
	// state selection sees (the door maze's blue ones under train), a run
	// with the mask breeds the same individuals as one without, differing
	// only in the frozen weights — a paired control. Empty (the default):
	// the operators are exactly as without the field. An experiment's
	// freeze_untrained sets it (see experiment.Spec.FrozenFeatures).
	Frozen []int
}

// DefaultVariation returns the operator settings of the default experiment.
func DefaultVariation() Variation {
	return Variation{
		Sigma:             0.3,  // about a tenth of a typical initial weight's spread
		HorizonRate:       0.1,  // horizon changes every tenth child
		KindSwitchRate:    0.02, // one child in fifty switches kind
		InitialHorizon:    3,
		InitialNodeBudget: 128,
	}
}

// Validate reports the first field out of range.
func (v Variation) Validate() error {
	switch {
	case !(v.Sigma > 0 && v.Sigma <= 10):
		return fmt.Errorf("mutation_sigma = %v, allowed (0, 10]", v.Sigma)
	case !(v.HorizonRate >= 0 && v.HorizonRate <= 1):
		return fmt.Errorf("horizon_mutation_rate = %v, allowed [0, 1]", v.HorizonRate)
	case !(v.KindSwitchRate >= 0 && v.KindSwitchRate <= 1):
		return fmt.Errorf("kind_switch_rate = %v, allowed [0, 1]", v.KindSwitchRate)
	case v.InitialHorizon < MinHorizon || v.InitialHorizon > MaxHorizon:
		return fmt.Errorf("initial_horizon = %d, allowed %d..%d", v.InitialHorizon, MinHorizon, MaxHorizon)
	case v.InitialNodeBudget < MinNodeBudget || v.InitialNodeBudget > MaxNodeBudget:
		return fmt.Errorf("initial_node_budget = %d, allowed %d..%d", v.InitialNodeBudget, MinNodeBudget, MaxNodeBudget)
	}
	for i, k := range v.Frozen {
		if k < 0 || (i > 0 && k <= v.Frozen[i-1]) {
			return fmt.Errorf("frozen[%d] = %d, allowed feature indices ≥ 0, ascending and distinct", i, k)
		}
	}
	return nil
}

// ValidateFor is Validate, and also reports a Frozen index outside s's
// features (0..len(s.Features)-1).
func (v Variation) ValidateFor(s Shape) error {
	if err := v.Validate(); err != nil {
		return err
	}
	for i, k := range v.Frozen {
		if k >= len(s.Features) {
			return fmt.Errorf("frozen[%d] = %d, allowed 0..%d (the %d features)", i, k, len(s.Features)-1, len(s.Features))
		}
	}
	return nil
}

// Hold returns g with a planner's weights at v.Frozen set to 0: g itself
// when they already are or g is a heuristic, else a modified copy (g is not
// modified).
func (v Variation) Hold(g Genome) Genome {
	if g.Kind != KindPlanner || g.Planner == nil {
		return g
	}
	for _, k := range v.Frozen {
		if k < len(g.Planner.Objective) && (g.Planner.Objective[k] != 0 || math.Signbit(g.Planner.Objective[k])) {
			c := g.Clone()
			v.hold(c.Planner.Objective)
			return c
		}
	}
	return g
}

// hold sets obj's weights at v.Frozen to 0 (indices beyond obj are ignored).
func (v Variation) hold(obj []float64) {
	for _, k := range v.Frozen {
		if k < len(obj) {
			obj[k] = 0
		}
	}
}

// Operator names recorded in lineage.
const (
	OpGaussian    = "mutate:gaussian"
	OpHorizonUp   = "mutate:horizon+1"
	OpHorizonDown = "mutate:horizon-1"
	OpBudgetUp    = "mutate:budget*2"
	OpBudgetDown  = "mutate:budget/2"
	OpSwitchKind  = "mutate:switch-kind"
	OpCrossover   = "crossover:uniform"
	OpElite       = "elite"
)

// Random returns a generation-0 genome of the given kind: weights drawn from
// a standard normal (clamped), planners with v's initial horizon and budget
// and their weights at v.Frozen 0 (drawn, then discarded).
func Random(s Shape, kind Kind, v Variation, r *rand.Rand) Genome {
	switch kind {
	case KindPlanner:
		obj := make([]float64, len(s.Features))
		for i := range obj {
			obj[i] = clamp(r.NormFloat64())
		}
		v.hold(obj)
		return Genome{Kind: KindPlanner, Planner: &Planner{
			Objective: obj, Horizon: v.InitialHorizon, NodeBudget: v.InitialNodeBudget,
		}}
	default:
		w := make([]float64, s.HeuristicWeights())
		for i := range w {
			w[i] = clamp(r.NormFloat64())
		}
		return Genome{Kind: KindHeuristic, Heuristic: &Heuristic{Weights: w}}
	}
}

// Mutate returns a mutated copy of g and the operators it applied, in the
// order applied. g is not modified. The draws it makes depend only on r and
// g's kind and size, so a given stream always yields the same child. A
// planner child has its weights at v.Frozen 0, whatever g's were.
func Mutate(g Genome, s Shape, v Variation, r *rand.Rand) (Genome, []string) {
	if r.Float64() < v.KindSwitchRate {
		other := KindPlanner
		if g.Kind == KindPlanner {
			other = KindHeuristic
		}
		return Random(s, other, v, r), []string{OpSwitchKind}
	}
	c := g.Clone()
	ops := []string{OpGaussian}
	switch c.Kind {
	case KindHeuristic:
		perturb(c.Heuristic.Weights, v.Sigma, r)
	case KindPlanner:
		p := c.Planner
		perturb(p.Objective, v.Sigma, r)
		v.hold(p.Objective)
		if r.Float64() < v.HorizonRate {
			if r.IntN(2) == 0 && p.Horizon < MaxHorizon {
				p.Horizon++
				ops = append(ops, OpHorizonUp)
			} else if p.Horizon > MinHorizon {
				p.Horizon--
				ops = append(ops, OpHorizonDown)
			}
		}
		if r.Float64() < v.HorizonRate {
			if r.IntN(2) == 0 && p.NodeBudget*2 <= MaxNodeBudget {
				p.NodeBudget *= 2
				ops = append(ops, OpBudgetUp)
			} else if p.NodeBudget/2 >= MinNodeBudget {
				p.NodeBudget /= 2
				ops = append(ops, OpBudgetDown)
			}
		}
	}
	return c, ops
}

// Crossover returns a child of a and b by uniform crossover: each weight
// comes from a or b with probability ½; a planner child takes horizon and
// budget from a or b likewise. a and b must have the same kind and sizes;
// otherwise it returns a clone of a and ok = false. A weight that is 0 in
// both parents (Variation.Frozen) is 0 in the child.
func Crossover(a, b Genome, r *rand.Rand) (child Genome, ok bool) {
	if a.Kind != b.Kind {
		return a.Clone(), false
	}
	c := a.Clone()
	switch a.Kind {
	case KindHeuristic:
		if len(a.Heuristic.Weights) != len(b.Heuristic.Weights) {
			return c, false
		}
		mix(c.Heuristic.Weights, b.Heuristic.Weights, r)
	case KindPlanner:
		if len(a.Planner.Objective) != len(b.Planner.Objective) {
			return c, false
		}
		mix(c.Planner.Objective, b.Planner.Objective, r)
		if r.IntN(2) == 1 {
			c.Planner.Horizon = b.Planner.Horizon
		}
		if r.IntN(2) == 1 {
			c.Planner.NodeBudget = b.Planner.NodeBudget
		}
	}
	return c, true
}

func perturb(w []float64, sigma float64, r *rand.Rand) {
	for i := range w {
		w[i] = clamp(w[i] + sigma*r.NormFloat64())
	}
}

func mix(dst, other []float64, r *rand.Rand) {
	for i := range dst {
		if r.IntN(2) == 1 {
			dst[i] = other[i]
		}
	}
}

func clamp(x float64) float64 {
	return math.Max(-MaxAbsWeight, math.Min(MaxAbsWeight, x))
}
