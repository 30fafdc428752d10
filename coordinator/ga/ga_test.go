package ga

import (
	"reflect"
	"testing"

	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/genome"
)

var testShape = genome.Shape{Features: []string{"a", "b", "c"}, ObsSize: 4, Actions: 2}

func testSpec() experiment.Spec {
	s := experiment.Default()
	s.Population = 20
	s.Elites = 2
	return s
}

func TestGAInitialDeterministic(t *testing.T) {
	ga := New(testSpec(), testShape)
	a, ba, na := ga.Initial()
	b, bb, nb := ga.Initial()
	if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(ba, bb) || na != nb {
		t.Fatal("Initial is not deterministic")
	}
	if len(a) != 20 || na != 20 {
		t.Fatalf("population %d, next id %d; want 20, 20", len(a), na)
	}
	planners := 0
	for i, m := range a {
		if m.ID != uint64(i) || len(ba[i].Parents) != 0 {
			t.Fatalf("member %d: id %d parents %v", i, m.ID, ba[i].Parents)
		}
		if err := m.Genome.Validate(testShape); err != nil {
			t.Fatal(err)
		}
		if m.Genome.Kind == genome.KindPlanner {
			planners++
		}
	}
	if planners == 0 || planners == 20 {
		t.Fatalf("planner share 0.5 gave %d planners of 20", planners)
	}
}

func TestGANext(t *testing.T) {
	spec := testSpec()
	ga := New(spec, testShape)
	pop, _, next := ga.Initial()
	for i := range pop {
		pop[i].Fitness = float64(i) // id 19 is best, then 18
	}
	kids, births, next2 := ga.Next(pop, 1, next)
	if len(kids) != spec.Population || next2 != next+uint64(spec.Population) {
		t.Fatalf("got %d children, next id %d", len(kids), next2)
	}
	// Elites: the two best, copied with new ids.
	for i, want := range []uint64{19, 18} {
		if births[i].Parents[0] != want || births[i].Operators[0] != genome.OpElite {
			t.Fatalf("elite %d: parents %v ops %v", i, births[i].Parents, births[i].Operators)
		}
		if !reflect.DeepEqual(kids[i].Genome, pop[want].Genome) {
			t.Fatalf("elite %d genome differs from its parent", i)
		}
	}
	ids := map[uint64]bool{}
	for i, k := range kids {
		if k.ID < next || ids[k.ID] {
			t.Fatalf("child %d has id %d (reused or duplicate)", i, k.ID)
		}
		ids[k.ID] = true
		for _, p := range births[i].Parents {
			if p >= next {
				t.Fatalf("child %d has parent %d from its own generation", i, p)
			}
		}
		if len(births[i].Operators) == 0 {
			t.Fatalf("child %d records no operator", i)
		}
	}
	// Input order must not matter, and the input must not change.
	rev := make([]Member, len(pop))
	for i := range pop {
		rev[len(pop)-1-i] = pop[i]
	}
	before := clonePopulation(pop)
	kids2, births2, _ := ga.Next(rev, 1, next)
	if !reflect.DeepEqual(kids, kids2) || !reflect.DeepEqual(births, births2) {
		t.Fatal("Next depends on the order of its input")
	}
	if !reflect.DeepEqual(pop, before) {
		t.Fatal("Next modified its input")
	}
}

func TestTournamentSelectsFitter(t *testing.T) {
	spec := testSpec()
	spec.TournamentSize = spec.Population * 4 // nearly always meets the best
	spec.CrossoverRate = 0
	spec.Elites = 0
	ga := New(spec, testShape)
	pop, _, next := ga.Initial()
	for i := range pop {
		pop[i].Fitness = float64(i)
	}
	_, births, _ := ga.Next(pop, 1, next)
	top := 0
	for _, b := range births {
		if b.Parents[0] == 19 {
			top++
		}
	}
	if top < spec.Population*3/4 {
		t.Fatalf("best member parented %d of %d children with a huge tournament", top, spec.Population)
	}
}

func clonePopulation(pop []Member) []Member {
	out := make([]Member, len(pop))
	for i, m := range pop {
		out[i] = Member{ID: m.ID, Genome: m.Genome.Clone(), Fitness: m.Fitness}
	}
	return out
}
