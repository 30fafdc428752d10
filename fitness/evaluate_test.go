package fitness

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/internal/stream"
)

// population returns the reference genomes and random genomes of both kinds.
func population() []genome.Genome {
	gs := []genome.Genome{ExitSeeker(), RedSeeker(), Idle()}
	v := genome.DefaultVariation()
	for i := uint64(0); i < 6; i++ {
		kind := genome.KindHeuristic
		if i%2 == 1 {
			kind = genome.KindPlanner
		}
		gs = append(gs, genome.Random(Shape(), kind, v, stream.New(7, stream.PurposeInitialPopulation, i)))
	}
	return gs
}

// fingerprint prints every field; %v prints float64 in shortest form that
// round-trips, so equal strings mean bitwise-equal values.
func fingerprint(r ConditionResult) string { return fmt.Sprintf("%#v", r) }

func TestEvaluateDeterministic(t *testing.T) {
	cfg := DefaultConfig()
	gs := population()
	want := map[string]string{}
	fresh, _ := NewEvaluator(cfg)
	for i, g := range gs {
		for _, c := range Conditions() {
			r, err := fresh.Evaluate(g, c, seeds(11, c, 8))
			if err != nil {
				t.Fatal(err)
			}
			want[fmt.Sprint(i, c)] = fingerprint(r)
		}
	}
	// The same evaluator again (warm cache), one with a tiny cache (constant
	// eviction), and concurrent callers: all bitwise identical.
	tiny := cfg
	tiny.CacheInstances = 1
	evs := []*Evaluator{fresh}
	if e, err := NewEvaluator(tiny); err == nil {
		evs = append(evs, e)
	}
	for _, e := range evs {
		var wg sync.WaitGroup
		errs := make(chan string, 4*len(gs)*2)
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i, g := range gs {
					for _, c := range Conditions() {
						r, err := e.Evaluate(g, c, seeds(11, c, 8))
						if err != nil || fingerprint(r) != want[fmt.Sprint(i, c)] {
							errs <- fmt.Sprintf("genome %d %s: %v\n got %s\nwant %s", i, c, err, fingerprint(r), want[fmt.Sprint(i, c)])
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for msg := range errs {
			t.Error(msg)
		}
	}
}

func TestEvaluateErrors(t *testing.T) {
	e, err := NewEvaluator(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	bad := ExitSeeker()
	bad.Planner.Horizon = 0
	tests := []struct {
		name      string
		g         genome.Genome
		condition string
		seeds     []uint64
		want      error
		mention   string
	}{
		{"unknown condition", ExitSeeker(), "winter", []uint64{1}, ErrUnknownCondition, "train, shifted"},
		{"invalid genome", bad, Train, []uint64{1}, genome.ErrInvalid, "planner.horizon"},
		{"wrong shape", genome.Genome{Kind: genome.KindHeuristic, Heuristic: &genome.Heuristic{Weights: []float64{1}}}, Train, []uint64{1}, genome.ErrInvalid, "heuristic.weights"},
		{"no seeds", ExitSeeker(), Train, nil, ErrNoInstances, ""},
	}
	for _, tc := range tests {
		_, err := e.Evaluate(tc.g, tc.condition, tc.seeds)
		if !errors.Is(err, tc.want) || !strings.Contains(fmt.Sprint(err), tc.mention) {
			t.Errorf("%s: err = %v, want %v mentioning %q", tc.name, err, tc.want, tc.mention)
		}
	}
	if _, err := NewEvaluator(Config{}); !errors.Is(err, ErrConfig) {
		t.Errorf("zero config: err = %v", err)
	}
}

func TestInstanceSeed(t *testing.T) {
	seen := map[uint64]string{}
	for _, c := range Conditions() {
		for gen := uint32(0); gen < 3; gen++ {
			for ep := 0; ep < 10; ep++ {
				s := InstanceSeed(42, gen, c, ep)
				key := fmt.Sprint(c, gen, ep)
				if prev, dup := seen[s]; dup {
					t.Fatalf("InstanceSeed collides for %s and %s", prev, key)
				}
				seen[s] = key
				if s != stream.Derive(42, stream.PurposeInstance, uint64(gen), stream.HashString(c), uint64(ep)) {
					t.Fatalf("InstanceSeed(%s) differs from its documented derivation", key)
				}
			}
		}
	}
}

func TestPlayHeuristicAndPlanner(t *testing.T) {
	in, err := Generate(DefaultConfig(), Shifted, 3)
	if err != nil {
		t.Fatal(err)
	}
	r := NewRunner()
	for _, g := range population() {
		ep, err := r.Play(in, g)
		if err != nil {
			t.Fatal(err)
		}
		if ep.Steps < 1 || ep.Steps > 40 || ep.Base < 0 || ep.Base > 1 || ep.Competence < 0 || ep.Competence > 1 ||
			ep.Agreement < -1 || ep.Agreement > 1 || len(ep.Features) != NumFeatures || len(ep.Achievement) != len(Candidates()) {
			t.Errorf("%v genome: episode out of range: %+v", g.Kind, ep)
		}
		if (g.Kind == genome.KindHeuristic) != (ep.Nodes == 0) {
			t.Errorf("%v genome: %d nodes", g.Kind, ep.Nodes)
		}
		if g.Kind == genome.KindPlanner && ep.Nodes > ep.Steps*g.Planner.NodeBudget {
			t.Errorf("planner expanded %d nodes in %d steps with budget %d", ep.Nodes, ep.Steps, g.Planner.NodeBudget)
		}
	}
}
