package genome_test

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/internal/stream"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

var shape = genome.Shape{Features: []string{"a", "b", "c"}, ObsSize: 4, Actions: 2}

func TestValidate(t *testing.T) {
	good := genome.Random(shape, genome.KindPlanner, genome.DefaultVariation(), stream.New(1, stream.PurposeInitialPopulation))
	tests := []struct {
		name  string
		edit  func(g *genome.Genome)
		field string
	}{
		{"ok", func(*genome.Genome) {}, ""},
		{"horizon", func(g *genome.Genome) { g.Planner.Horizon = 0 }, "planner.horizon"},
		{"budget", func(g *genome.Genome) { g.Planner.NodeBudget = genome.MaxNodeBudget + 1 }, "planner.node_budget"},
		{"objective length", func(g *genome.Genome) { g.Planner.Objective = g.Planner.Objective[:1] }, "planner.objective length"},
		{"nan", func(g *genome.Genome) { g.Planner.Objective[1] = math.NaN() }, "planner.objective[1]"},
		{"too big", func(g *genome.Genome) { g.Planner.Objective[2] = 11 }, "planner.objective[2]"},
		{"kind", func(g *genome.Genome) { g.Kind = 7 }, "kind"},
		{"mismatch", func(g *genome.Genome) { g.Kind = genome.KindHeuristic }, "heuristic"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := good.Clone()
			tc.edit(&g)
			err := g.Validate(shape)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, genome.ErrInvalid) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("Validate = %v, want ErrInvalid naming %q", err, tc.field)
			}
		})
	}
}

func TestMutateDeterministicAndPure(t *testing.T) {
	v := genome.DefaultVariation()
	for _, kind := range []genome.Kind{genome.KindHeuristic, genome.KindPlanner} {
		parent := genome.Random(shape, kind, v, stream.New(2, stream.PurposeInitialPopulation, uint64(kind)))
		before := parent.Clone()
		a, opsA := genome.Mutate(parent, shape, v, stream.New(3, stream.PurposeVariation, 1))
		b, opsB := genome.Mutate(parent, shape, v, stream.New(3, stream.PurposeVariation, 1))
		if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(opsA, opsB) {
			t.Fatalf("%v: same stream gave different children", kind)
		}
		if !reflect.DeepEqual(parent, before) {
			t.Fatalf("%v: Mutate modified its input", kind)
		}
		if reflect.DeepEqual(a, parent) {
			t.Fatalf("%v: Mutate changed nothing", kind)
		}
		if err := a.Validate(shape); err != nil {
			t.Fatalf("%v: child invalid: %v", kind, err)
		}
	}
}

func TestMutateOperators(t *testing.T) {
	v := genome.DefaultVariation()
	v.HorizonRate = 1
	v.KindSwitchRate = 0
	p := genome.Random(shape, genome.KindPlanner, v, stream.New(1, stream.PurposeInitialPopulation))
	sawUp, sawDown := false, false
	for i := uint64(0); i < 200; i++ {
		c, ops := genome.Mutate(p, shape, v, stream.New(1, stream.PurposeVariation, i))
		d := c.Planner.Horizon - p.Planner.Horizon
		if d < -1 || d > 1 {
			t.Fatalf("horizon moved by %d", d)
		}
		for _, op := range ops {
			sawUp = sawUp || op == genome.OpHorizonUp
			sawDown = sawDown || op == genome.OpHorizonDown
		}
	}
	if !sawUp || !sawDown {
		t.Fatalf("horizon operators not both seen: up=%v down=%v", sawUp, sawDown)
	}
	v.KindSwitchRate = 1
	c, ops := genome.Mutate(p, shape, v, stream.New(1, stream.PurposeVariation, 0))
	if c.Kind != genome.KindHeuristic || len(ops) != 1 || ops[0] != genome.OpSwitchKind {
		t.Fatalf("switch: kind %v ops %v", c.Kind, ops)
	}
}

func TestCrossover(t *testing.T) {
	v := genome.DefaultVariation()
	a := genome.Random(shape, genome.KindPlanner, v, stream.New(1, 1))
	b := genome.Random(shape, genome.KindPlanner, v, stream.New(2, 1))
	c, ok := genome.Crossover(a, b, stream.New(3, 1))
	if !ok {
		t.Fatal("crossover of two planners refused")
	}
	for i, w := range c.Planner.Objective {
		if w != a.Planner.Objective[i] && w != b.Planner.Objective[i] {
			t.Fatalf("weight %d = %v comes from neither parent", i, w)
		}
	}
	h := genome.Random(shape, genome.KindHeuristic, v, stream.New(4, 1))
	if _, ok := genome.Crossover(a, h, stream.New(3, 1)); ok {
		t.Fatal("crossover across kinds accepted")
	}
}

func TestProtoRoundTrip(t *testing.T) {
	v := genome.DefaultVariation()
	for _, kind := range []genome.Kind{genome.KindHeuristic, genome.KindPlanner} {
		g := genome.Random(shape, kind, v, stream.New(9, 1, uint64(kind)))
		back, err := genome.FromProto(genome.ToProto(g), shape)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(g, back) {
			t.Fatalf("%v: round trip changed the genome", kind)
		}
	}
	if _, err := genome.FromProto(&pb.Genome{}, shape); !errors.Is(err, genome.ErrInvalid) {
		t.Fatalf("empty genome: %v", err)
	}
}

func FuzzFromProto(f *testing.F) {
	v := genome.DefaultVariation()
	for _, kind := range []genome.Kind{genome.KindHeuristic, genome.KindPlanner} {
		b, _ := proto.Marshal(genome.ToProto(genome.Random(shape, kind, v, stream.New(1, 1))))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var p pb.Genome
		if proto.Unmarshal(data, &p) != nil {
			return
		}
		g, err := genome.FromProto(&p, shape)
		if err == nil {
			if err := g.Validate(shape); err != nil {
				t.Fatalf("FromProto accepted an invalid genome: %v", err)
			}
		}
	})
}
