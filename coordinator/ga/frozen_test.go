package ga

import (
	"reflect"
	"strings"
	"testing"

	"github.com/mesaopt/mesaopt/genome"
)

// TestNewFrozen: with no index NewFrozen breeds what New does; with
// feature b held, every planner of every generation (elites of a
// population bred without the mask included) has b at exactly 0, and the
// optimizer is deterministic.
func TestNewFrozen(t *testing.T) {
	spec := testSpec()
	spec.KindSwitchRate = 0.2
	plain := New(spec, testShape)
	none, err := NewFrozen(spec, testShape, nil)
	if err != nil {
		t.Fatal(err)
	}
	pa, _, na := plain.Initial()
	pb, _, nb := none.Initial()
	if !reflect.DeepEqual(pa, pb) || na != nb {
		t.Fatal("NewFrozen without indices differs from New at generation 0")
	}
	for i := range pa {
		pa[i].Fitness, pb[i].Fitness = float64(i%7), float64(i%7)
	}
	qa, ba, _ := plain.Next(pa, 1, na)
	qb, bb, _ := none.Next(pb, 1, nb)
	if !reflect.DeepEqual(qa, qb) || !reflect.DeepEqual(ba, bb) {
		t.Fatal("NewFrozen without indices differs from New at generation 1")
	}

	frozen, err := NewFrozen(spec, testShape, []int{1})
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, pop []Member) {
		t.Helper()
		for _, m := range pop {
			if m.Genome.Kind == genome.KindPlanner && m.Genome.Planner.Objective[1] != 0 {
				t.Fatalf("%s: member %d has b = %v", what, m.ID, m.Genome.Planner.Objective[1])
			}
		}
	}
	pop, _, next := frozen.Initial()
	check("generation 0", pop)
	// Elites of the unmasked population are held too.
	held, _, _ := frozen.Next(pa, 1, na)
	check("bred from an unmasked population", held)
	for gen := uint32(1); gen < 20; gen++ {
		for i := range pop {
			pop[i].Fitness = float64((int(pop[i].ID) * 7) % 11)
		}
		a, _, n := frozen.Next(pop, gen, next)
		b, _, _ := frozen.Next(pop, gen, next)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("generation %d: Next is not deterministic", gen)
		}
		check("Next", a)
		pop, next = a, n
	}
	if got := frozen.Frozen(); !reflect.DeepEqual(got, []int{1}) {
		t.Errorf("Frozen() = %v", got)
	}
	if _, err := NewFrozen(spec, testShape, []int{3}); err == nil || !strings.Contains(err.Error(), "frozen[0] = 3") {
		t.Errorf("index 3 of 3 features: %v", err)
	}
}
