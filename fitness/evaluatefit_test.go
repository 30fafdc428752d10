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

// TestEvaluateSelectionEqualsEvaluate checks that the selection-only
// scoring gives Evaluate's values, bit for bit, for what it scores.
func TestEvaluateSelectionEqualsEvaluate(t *testing.T) {
	for _, name := range []string{"doors", "lava", "keys-chests", "coin"} {
		env, err := LookupEnv(name)
		if err != nil {
			t.Fatal(err)
		}
		e, err := NewEvaluator(env.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		gs := []genome.Genome{IdleFor(env)}
		for _, c := range env.Candidates() {
			if g, ok := env.Planner(c.Name); ok {
				gs = append(gs, g)
			}
		}
		for _, cond := range env.Conditions() {
			seeds := []uint64{InstanceSeed(5, 1, cond, 0), InstanceSeed(5, 1, cond, 1), InstanceSeed(5, 1, cond, 2)}
			for i, g := range gs {
				got, err := e.EvaluateSelection(g, cond, seeds)
				if err != nil {
					t.Fatal(err)
				}
				full, err := e.Evaluate(g, cond, seeds)
				if err != nil {
					t.Fatal(err)
				}
				want := ConditionResult{Condition: full.Condition, Episodes: full.Episodes, Base: full.Base, ProxyHits: full.ProxyHits,
					Steps: full.Steps, Nodes: full.Nodes, Return: full.Return, Features: full.Features,
					Terminated: full.Terminated, Truncated: full.Truncated}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s/%s genome %d: selection scoring %+v, want %+v", name, cond, i, got, want)
				}
			}
		}
	}
}
