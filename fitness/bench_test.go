package fitness

import (
	"testing"
)

func BenchmarkStep(b *testing.B) {
	in, err := Generate(DefaultConfig(), Shifted, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	s := in.Start()
	for i := 0; b.Loop(); i++ {
		s = in.Step(s, Action(i&3))
	}
	sink = s
}

var sink State

// BenchmarkPlannerDecision measures the planner's search: one op is one
// decision of the red seeker from the start (states/s: distinct states
// evaluated per second), with the default (local) features.
func BenchmarkPlannerDecision(b *testing.B) { benchDecision(b, DefaultFeatures) }

func benchDecision(b *testing.B, family FeatureFamily) {
	cfg := DefaultConfig()
	cfg.Features = family
	in, err := Generate(cfg, Shifted, 1)
	if err != nil {
		b.Fatal(err)
	}
	r := NewRunner()
	g := RedSeeker()
	nodes := 0
	b.ReportAllocs()
	for b.Loop() {
		_, n := r.Act(in, in.Start(), g)
		nodes += n
	}
	b.ReportMetric(float64(nodes)/b.Elapsed().Seconds(), "states/s")
}

// BenchmarkEvaluate8 evaluates one genome on 8 episodes of a condition with
// a warm instance cache (the steady state of a worker).
func BenchmarkEvaluate8(b *testing.B) {
	e, err := NewEvaluator(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		cond string
		heur bool
	}{{"planner/train", Train, false}, {"planner/shifted", Shifted, false}, {"heuristic/shifted", Shifted, true}} {
		b.Run(bc.name, func(b *testing.B) {
			g := RedSeeker()
			if bc.heur {
				g = Idle()
			}
			ss := seeds(1, bc.cond, 8)
			if _, err := e.Evaluate(g, bc.cond, ss); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			nodes := 0.0
			for b.Loop() {
				r, _ := e.Evaluate(g, bc.cond, ss)
				nodes += r.Nodes * 8
			}
			if nodes > 0 {
				b.ReportMetric(nodes/b.Elapsed().Seconds(), "states/s")
			}
		})
	}
}

// BenchmarkTransition measures Gymnasium-style steps (Transition: move,
// reward, terminated) per environment on one core; one op is one step.
// The episode restarts at a terminal state or the step limit.
func BenchmarkTransition(b *testing.B) {
	for _, env := range Envs() {
		if env.Name() == EnvMaps {
			continue
		}
		b.Run(env.Name(), func(b *testing.B) {
			in, err := Generate(env.DefaultConfig(), Train, 1)
			if err != nil {
				b.Fatal(err)
			}
			limit := int32(in.Config().StepLimit)
			s := in.Start()
			ret := 0.0
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				n, r, term := in.Transition(s, Action(i*7>>2&3))
				ret += r
				s = n
				if term || s.Steps >= limit {
					s = in.Start()
				}
			}
			sink, sinkF = s, ret
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Msteps/s")
		})
	}
}

var sinkF float64

// BenchmarkOracle measures the oracle per instance: generation (with its
// solvability check, which builds the reachable-state table, the optimum
// return and the candidates' optima and agreements) of fresh instances.
func BenchmarkOracle(b *testing.B) {
	for _, env := range Envs() {
		if env.Name() == EnvMaps {
			continue
		}
		b.Run(env.Name(), func(b *testing.B) {
			cfg := env.DefaultConfig()
			states := 0
			for i := 0; b.Loop(); i++ {
				in, err := Generate(cfg, Train, uint64(i))
				if err != nil {
					b.Fatal(err)
				}
				states += len(in.oracle().states)
			}
			b.ReportMetric(float64(states)/float64(b.N), "states/instance")
		})
	}
}

// BenchmarkPlannerDecisionOracle is BenchmarkPlannerDecision with the
// oracle feature family (BFS distances).
func BenchmarkPlannerDecisionOracle(b *testing.B) { benchDecision(b, FeaturesOracle) }

// BenchmarkPlannerEpisode plays whole train episodes of the exit seeker
// at horizon 16 (the genome's limit) with a budget that never binds: the
// planner as evolution runs it, with the per-episode value memo. states/s
// is distinct states evaluated per second, summed over the decisions.
func BenchmarkPlannerEpisode(b *testing.B) {
	in, err := Generate(DefaultConfig(), Train, 1)
	if err != nil {
		b.Fatal(err)
	}
	r := NewRunner()
	r.selectionOnly = true
	g := ExitSeeker()
	g.Planner.Horizon, g.Planner.NodeBudget = 16, 1<<16
	nodes := 0
	b.ReportAllocs()
	for b.Loop() {
		ep := r.play(in, g)
		nodes += ep.Nodes
	}
	b.ReportMetric(float64(nodes)/b.Elapsed().Seconds(), "states/s")
}
