// Package genome provides the heritable descriptions of policies that the
// base optimizer evolves: Heuristic policies (observation → action, no
// search) and Planner policies (search over plans, scored by an explicitly
// represented mesa-objective), with their mutation and crossover operators
// and their protobuf encoding.
//
// A Genome is a value: operators never modify their inputs, they return new
// genomes. Dimensions come from a Shape, which the environment supplies (the
// names of its state features, the size of its observation window and the
// number of actions), so this package does not depend on any environment.
//
// Lifecycle: Random builds a generation-0 genome from a Shape and a random
// stream; Mutate and Crossover produce children; ToProto/FromProto move a
// genome over the wire, and Validate checks one that came from outside.
package genome

import (
	"errors"
	"fmt"
	"math"
)

// Kind says whether a genome searches.
type Kind uint8

// The genome kinds.
const (
	KindHeuristic Kind = 1 // maps an observation straight to an action
	KindPlanner   Kind = 2 // searches over action sequences with a mesa-objective
)

// String returns "heuristic" or "planner".
func (k Kind) String() string {
	switch k {
	case KindHeuristic:
		return "heuristic"
	case KindPlanner:
		return "planner"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Limits on planner parameters. MaxHorizon = 16 lies past the knee of
// every generated environment's horizon curve with local features (the
// door maze's exit seeker reaches base 1.0 at horizon 10; see the fitness
// package doc), so evolution can buy all the search that pays.
const (
	MinHorizon    = 1
	MaxHorizon    = 16
	MinNodeBudget = 1
	MaxNodeBudget = 1 << 16
	// MaxAbsWeight bounds every evolved weight; mutation clamps to it.
	MaxAbsWeight = 10.0
)

// Shape gives the dimensions an environment imposes on genomes.
type Shape struct {
	// Features names the state features a mesa-objective weighs, in the
	// environment's fixed order; len(Features) = F.
	Features []string
	// ObsSize is the length of the heuristic's observation vector.
	ObsSize int
	// Actions is the number of discrete actions.
	Actions int
}

// HeuristicWeights returns the number of weights of a Heuristic for s:
// Actions × (ObsSize + 1), one bias per action.
func (s Shape) HeuristicWeights() int { return s.Actions * (s.ObsSize + 1) }

// Heuristic is a reactive linear policy: the score of action a is
// Weights[a*(ObsSize+1) : (a+1)*(ObsSize+1)] · [obs, 1], and it takes the
// highest-scoring action (lowest index on ties). It does no search.
type Heuristic struct {
	Weights []float64 // len = Shape.HeuristicWeights(), each in [-MaxAbsWeight, MaxAbsWeight]
}

// Planner searches over action sequences of length Horizon with the
// environment's transition model, evaluating at most NodeBudget distinct
// states per decision, and scores states with its mesa-objective: the dot
// product of Objective with the environment's feature vector. It acts by
// receding horizon: search, take the first action of the best plan,
// repeat.
type Planner struct {
	Objective  []float64 // mesa-objective weights, len = len(Shape.Features), each in [-MaxAbsWeight, MaxAbsWeight]
	Horizon    int       // plan length in steps, MinHorizon..MaxHorizon
	NodeBudget int       // distinct states evaluated per decision at most, MinNodeBudget..MaxNodeBudget
}

// Genome is one policy's heritable description. Exactly one of Heuristic
// and Planner is set, matching Kind.
type Genome struct {
	Kind      Kind
	Heuristic *Heuristic
	Planner   *Planner
}

// Errors returned by Validate and FromProto.
var (
	ErrInvalid = errors.New("genome: invalid")
)

// Validate reports whether g is well formed for shape s. The error names
// the field, the value and what is allowed, and wraps ErrInvalid.
func (g Genome) Validate(s Shape) error {
	bad := func(field string, v any, allowed string) error {
		return fmt.Errorf("%w: %s = %v, allowed %s", ErrInvalid, field, v, allowed)
	}
	switch g.Kind {
	case KindHeuristic:
		if g.Heuristic == nil || g.Planner != nil {
			return bad("heuristic", "missing", "exactly the heuristic part for kind heuristic")
		}
		if n := len(g.Heuristic.Weights); n != s.HeuristicWeights() {
			return bad("heuristic.weights length", n, fmt.Sprint(s.HeuristicWeights()))
		}
		if err := checkWeights("heuristic.weights", g.Heuristic.Weights); err != nil {
			return err
		}
	case KindPlanner:
		if g.Planner == nil || g.Heuristic != nil {
			return bad("planner", "missing", "exactly the planner part for kind planner")
		}
		p := g.Planner
		if n := len(p.Objective); n != len(s.Features) {
			return bad("planner.objective length", n, fmt.Sprintf("%d (one weight per feature)", len(s.Features)))
		}
		if err := checkWeights("planner.objective", p.Objective); err != nil {
			return err
		}
		if p.Horizon < MinHorizon || p.Horizon > MaxHorizon {
			return bad("planner.horizon", p.Horizon, fmt.Sprintf("%d..%d", MinHorizon, MaxHorizon))
		}
		if p.NodeBudget < MinNodeBudget || p.NodeBudget > MaxNodeBudget {
			return bad("planner.node_budget", p.NodeBudget, fmt.Sprintf("%d..%d", MinNodeBudget, MaxNodeBudget))
		}
	default:
		return bad("kind", int(g.Kind), "1 (heuristic) or 2 (planner)")
	}
	return nil
}

func checkWeights(field string, w []float64) error {
	for i, x := range w {
		if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > MaxAbsWeight {
			return fmt.Errorf("%w: %s[%d] = %v, allowed a finite number in [-%g, %g]",
				ErrInvalid, field, i, x, MaxAbsWeight, MaxAbsWeight)
		}
	}
	return nil
}

// Clone returns a deep copy of g.
func (g Genome) Clone() Genome {
	out := Genome{Kind: g.Kind}
	if g.Heuristic != nil {
		out.Heuristic = &Heuristic{Weights: append([]float64(nil), g.Heuristic.Weights...)}
	}
	if g.Planner != nil {
		p := *g.Planner
		p.Objective = append([]float64(nil), g.Planner.Objective...)
		out.Planner = &p
	}
	return out
}
