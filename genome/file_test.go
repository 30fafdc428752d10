package genome

import (
	"errors"
	"strings"
	"testing"
)

func TestParseFile(t *testing.T) {
	s := Shape{Features: []string{"dist_exit", "exit_reached", "steps"}, ObsSize: 2, Actions: 2}
	gs, err := ParseFile("g.yaml", []byte(`name: exit seeker
kind: planner
objective: {dist_exit: -1, exit_reached: 1, steps: -0.1}
horizon: 3
node_budget: 512
---
kind: heuristic
weights: idle
---
{"kind": "heuristic", "weights": [1, 0, 0, 0, 1, 0]}
`), s)
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 3 || gs[0].Name != "exit seeker" || gs[1].Name != "g.yaml#2" {
		t.Fatalf("names: %+v", gs)
	}
	if p := gs[0].Genome.Planner; p == nil || p.Objective[0] != -1 || p.Objective[1] != 1 || p.Objective[2] != -0.1 || p.Horizon != 3 || p.NodeBudget != 512 {
		t.Fatalf("planner: %+v", gs[0].Genome)
	}
	if h := gs[1].Genome.Heuristic; h == nil || len(h.Weights) != 6 {
		t.Fatalf("idle heuristic: %+v", gs[1].Genome)
	}
	if h := gs[2].Genome.Heuristic; h == nil || h.Weights[0] != 1 || h.Weights[4] != 1 {
		t.Fatalf("JSON heuristic: %+v", gs[2].Genome)
	}
	for _, tc := range []struct{ doc, want string }{
		{"kind: planner\nobjective: {dist_red: 1}\nhorizon: 1\nnode_budget: 1\n", "g.yaml#1: genome: invalid: objective.dist_red: unknown feature, allowed dist_exit, exit_reached, steps"},
		{"kind: robot\n", `kind = "robot", allowed planner or heuristic`},
		{"kind: planner\nobjective: {steps: 1}\nhorizon: 17\nnode_budget: 1\n", "planner.horizon = 17, allowed 1..16"},
		{"kind: planner\nobjective: {steps: 1}\nhorizon: 1\n", "node_budget"},
		{"kind: heuristic\nweights: [1, 2]\n", "weights has 2 numbers, allowed 6 (2 actions × (2 observations + 1 bias))"},
		{"kind: heuristic\nweights: everything\n", `weights = "everything", allowed idle or a list of 6 numbers`},
		{"kind: heuristic\nhorizon: 2\nweights: idle\n", "objective, horizon and node_budget are for planners"},
		{"kind: planner\nobjectiv: {steps: 1}\n", "field objectiv not found"},
		{"# nothing\n", "holds no genome"},
	} {
		_, err := ParseFile("g.yaml", []byte(tc.doc), s)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error containing %q", tc.doc, err, tc.want)
		}
	}
}
