package experiment

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func mixtureSpec(t *testing.T, doc string) Spec {
	t.Helper()
	s, err := Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMixtureParse(t *testing.T) {
	s := mixtureSpec(t, "selection: {train: 0.98, shifted: 0.02}\n")
	if got := s.Selection.String(); got != "train 0.98, shifted 0.02" {
		t.Fatalf("selection = %s", got)
	}
	rest := mixtureSpec(t, "selection: {shifted: 0.02}\n")
	if rest.Selection[0].Condition != "train" || math.Abs(rest.Selection[0].Weight-0.98) > 1e-12 {
		t.Fatalf("train does not take the rest: %s", rest.Selection)
	}
	// An override changes one weight; train takes the new rest.
	o, _, err := ApplyOverrides(s, []string{"selection.shifted=0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if o.Selection.String() != "train 0.9, shifted 0.1" {
		t.Fatalf("after override: %s", o.Selection)
	}
	back, err := FromProto(o.ToProto())
	if err != nil || back.Selection.String() != o.Selection.String() {
		t.Fatalf("proto round trip: %v %v", back.Selection, err)
	}
}

func TestMixtureInvalid(t *testing.T) {
	for doc, want := range map[string]string{
		"selection: {train: 0.9, shifted: 0.2}\n": "sum to 1.1",
		"selection: {train: 0.5, nowhere: 0.5}\n": "selection.nowhere: unknown condition, allowed conditions of doors: train, shifted, blue-doors, red-objects",
		"selection: {shifted: -0.1}\n":            "selection.shifted = -0.1, allowed a weight in [0, 1]",
		"selection: {shifted: x}\n":               `selection.shifted = "x", allowed a weight in [0, 1]`,
		"selection: [train]\n":                    "allowed a mapping of condition: weight",
		"selection: {shifted: 0.1}\nregime_change: {generation: 5, train_condition: shifted}\n": "allowed one of the two",
	} {
		_, err := Parse(strings.NewReader(doc))
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want it to say %q", doc, err, want)
		}
	}
}

// The schedule gives each condition of a two-condition mixture its share
// to within one episode over every prefix of the run, whatever the
// weights, episodes per generation and seed; with more conditions, the
// smallest one; the others within two.
func TestMixtureScheduleStratified(t *testing.T) {
	for _, tc := range []struct {
		weights []float64
		within  []float64
	}{
		{[]float64{0.98, 0.02}, []float64{1, 1}},
		{[]float64{0.7, 0.3}, []float64{1, 1}},
		{[]float64{0.5, 0.5}, []float64{1, 1}},
		{[]float64{0.9, 0.1}, []float64{1, 1}},
		{[]float64{0.9, 0.05, 0.05}, []float64{2, 1, 2}},
		{[]float64{0.6, 0.25, 0.15}, []float64{2, 2, 1}},
		{[]float64{0.4, 0.3, 0.2, 0.1}, []float64{2, 2, 2, 1}},
	} {
		conds := []string{"train", "shifted", "blue-doors", "red-objects"}[:len(tc.weights)]
		for _, episodes := range []int{1, 6, 32} {
			for seed := uint64(1); seed <= 5; seed++ {
				s := Default()
				s.Seed, s.Episodes, s.Generations = seed, episodes, 200
				s.Selection = nil
				for i, w := range tc.weights {
					s.Selection = append(s.Selection, SelectionWeight{conds[i], w})
				}
				if err := s.Validate(); err != nil {
					t.Fatal(err)
				}
				count := make([]float64, len(conds))
				n := 0
				for g := range s.Generations {
					for _, c := range s.SelectionEpisodes(uint32(g)) {
						n++
						for i := range conds {
							if conds[i] == c {
								count[i]++
							}
						}
						for i, w := range tc.weights {
							if d := math.Abs(count[i] - w*float64(n)); d >= tc.within[i] {
								t.Fatalf("weights %v, %d episodes, seed %d: after %d episodes %s has %v, share %v (off by %v, allowed < %v)",
									tc.weights, episodes, seed, n, conds[i], count[i], w*float64(n), d, tc.within[i])
							}
						}
					}
				}
			}
		}
	}
}

// Seeds key the schedule: a rare condition comes in other generations
// under another seed, and a weight of 0 or 1 is train alone exactly.
func TestMixtureScheduleSeeded(t *testing.T) {
	gens := func(seed uint64, sel Mixture) []int {
		s := Default()
		s.Seed, s.Selection = seed, sel
		var out []int
		for g := range 200 {
			for _, c := range s.SelectionEpisodes(uint32(g)) {
				if c != "train" {
					out = append(out, g)
					break
				}
			}
		}
		return out
	}
	rare := Mixture{{"train", 0.98}, {"shifted", 0.02}}
	a, b := gens(1, rare), gens(2, rare)
	if len(a) < 20 || len(a) > 25 {
		t.Fatalf("seed 1: shifted in %d of 200 generations, want 23 or 24 (0.02 × 6 × 200 = 24 episodes)", len(a))
	}
	same := 0
	for i := range min(len(a), len(b)) {
		if a[i] == b[i] {
			same++
		}
	}
	if same == len(a) {
		t.Fatalf("seeds 1 and 2 put the shifted episodes in the same generations %v", a)
	}
	if g := gens(1, Mixture{{"train", 1}, {"shifted", 0}}); len(g) != 0 {
		t.Fatalf("weight 0 still selected in generations %v", g)
	}
	d := Default()
	plain := d.SelectionEpisodes(3)
	d.Selection = Mixture{{"train", 1}, {"shifted", 0}}
	if got := d.SelectionEpisodes(3); strings.Join(got, ",") != strings.Join(plain, ",") {
		t.Fatalf("train 1, shifted 0 = %v, want train alone %v", got, plain)
	}
}

func TestMixtureWarning(t *testing.T) {
	s := mixtureSpec(t, "selection: {shifted: 0.02}\n")
	w := s.Warnings()
	if len(w) != 1 || !strings.Contains(w[0], "0.12 shifted episodes per generation") || !strings.Contains(w[0], "1 generation in 8.33") {
		t.Fatalf("warnings = %q", w)
	}
	if w := mixtureSpec(t, "generations: 5\nselection: {shifted: 0.01}\n").Warnings(); len(w) != 1 || !strings.Contains(w[0], "0.3 shifted episodes over the whole run, so shifted may not appear at all") {
		t.Fatalf("warnings for a condition the run may never see: %q", w)
	}
	if w := mixtureSpec(t, "selection: {shifted: 0.5}\n").Warnings(); len(w) != 0 {
		t.Fatalf("warnings for 3 episodes per generation: %q", w)
	}
}
