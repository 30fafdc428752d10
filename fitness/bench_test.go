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
// decision of the reference planner (horizon 4, 340 nodes) from the start.
func BenchmarkPlannerDecision(b *testing.B) {
	in, err := Generate(DefaultConfig(), Shifted, 1)
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
	b.ReportMetric(float64(nodes)/b.Elapsed().Seconds(), "nodes/s")
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
				b.ReportMetric(nodes/b.Elapsed().Seconds(), "nodes/s")
			}
		})
	}
}
