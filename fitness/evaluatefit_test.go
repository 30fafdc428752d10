package fitness

import (
	"reflect"
	"testing"

	"github.com/mesaopt/mesaopt/behavior"
	"github.com/mesaopt/mesaopt/genome"
)

// TestEvaluateWithFitEqualsSeparateCalls checks the one-pass evaluation
// gives exactly what Evaluate and BehavioralFit give.
func TestEvaluateWithFitEqualsSeparateCalls(t *testing.T) {
	for _, name := range []string{"doors", "lava", "keys-chests", "coin"} {
		env, err := LookupEnv(name)
		if err != nil {
			t.Fatal(err)
		}
		e, err := NewEvaluator(env.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		var gs []genome.Genome
		for _, c := range env.Candidates() {
			if g, ok := env.Planner(c.Name); ok {
				gs = append(gs, g)
			}
		}
		gs = append(gs, IdleFor(env))
		for _, cond := range env.Conditions() {
			seeds := []uint64{AnalysisSeed(3, 0), AnalysisSeed(3, 1)}
			for i, g := range gs {
				res, fit, err := e.EvaluateWithFit(g, cond, seeds, behavior.DefaultConfig())
				if err != nil {
					t.Fatal(err)
				}
				want, err := e.Evaluate(g, cond, seeds)
				if err != nil {
					t.Fatal(err)
				}
				wantFit, err := e.BehavioralFit(g, cond, seeds, behavior.DefaultConfig())
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(res, want) || !reflect.DeepEqual(fit, wantFit) {
					t.Fatalf("%s/%s genome %d: one-pass results differ from separate calls", name, cond, i)
				}
				// The recorded decisions, fitted from the raw list, give the same fit.
				steps, err := e.Decisions(g, cond, seeds)
				if err != nil {
					t.Fatal(err)
				}
				if len(steps) > 0 {
					if raw, err := behavior.Infer(steps, behavior.DefaultConfig()); err != nil || !reflect.DeepEqual(raw, fit) {
						t.Fatalf("%s/%s genome %d: fit from Decisions %+v, in one pass %+v (%v)", name, cond, i, raw, fit, err)
					}
				}
			}
		}
	}
}
