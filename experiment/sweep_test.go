package experiment

import (
	"errors"
	"strings"
	"testing"
)

func TestSweepRuns(t *testing.T) {
	s, err := Parse(strings.NewReader(`
generations: 5
sweep:
  seeds: 1-3
  set:
    selection.shifted: [0, 0.1]
    shifted_conditions: [[shifted], [shifted, blue-doors]]
`))
	if err != nil {
		t.Fatal(err)
	}
	runs, err := s.Runs()
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 12 {
		t.Fatalf("%d runs, want 3 seeds × 2 × 2 = 12", len(runs))
	}
	r := runs[len(runs)-1]
	if r.Seed != 3 || r.Values[0] != "0.1" || r.Values[1] != "[shifted, blue-doors]" {
		t.Fatalf("last run = seed %d values %q", r.Seed, r.Values)
	}
	if r.Spec.Sweep != nil || r.Spec.Seed != 3 || r.Spec.Selection.String() != "train 0.9, shifted 0.1" || len(r.Spec.ShiftedConditions) != 2 {
		t.Fatalf("last run's spec: sweep %v seed %d selection %s shifted %v", r.Spec.Sweep, r.Spec.Seed, r.Spec.Selection, r.Spec.ShiftedConditions)
	}
	if runs[0].Seed != 1 || runs[1].Seed != 2 || runs[0].Values[0] != "0" {
		t.Fatalf("order: seeds vary fastest, the first parameter slowest: %+v %+v", runs[0], runs[1])
	}
	// A run of the sweep is the run its own file gives.
	solo, err := Parse(strings.NewReader("generations: 5\nseed: 3\nselection: {shifted: 0.1}\nshifted_conditions: [shifted, blue-doors]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := r.Spec.ToProto().String(), solo.ToProto().String(); a != b {
		t.Fatalf("sweep run's spec %s\nwant the file's %s", a, b)
	}
	q := s.Shorten()
	if qr, _ := q.Runs(); len(qr) != 8 || q.Generations != 1 {
		t.Fatalf("quick: %d runs of %d generations, want 8 of 1", len(qr), q.Generations)
	}
}

func TestSweepInvalid(t *testing.T) {
	for doc, want := range map[string]string{
		"sweep: {seeds: 5-1}\n":                                                 `sweep.seeds = "5-1", allowed a non-empty range like 1-10`,
		"sweep: {seeds: []}\n":                                                  "sweep.seeds is empty",
		"sweep: {seeds: 1-3, set: {nonsense: [1, 2]}}\n":                        "unknown field nonsense, allowed in an experiment: ",
		"sweep: {seeds: 1-3, set: {environment.nonsense: [1]}}\n":               "unknown field environment.nonsense, allowed in environment: ",
		"sweep: {seeds: 1-3, set: {selection: [{train: 0.5, shifted: 0.6}]}}\n": "the weights sum to 1.1, allowed weights summing to 1",
		"sweep: {seeds: 1-3, set: {selection.nowhere: [0.1]}}\n":                "selection.nowhere: unknown condition, allowed conditions of doors: train, shifted, blue-doors, red-objects",
		"sweep: {seeds: 1-3, set: {shifted_conditions: [[nowhere]]}}\n":         `shifted_conditions[0] = "nowhere", allowed one of`,
		"sweep: {seeds: 1-3, set: {population: [10, x]}}\n":                     `sweep.set.population = x`,
		"sweep: {seeds: 1-3, set: {seed: [1]}}\n":                               "seeds are swept by sweep.seeds",
		"sweep: {seeds: 1-2000}\n":                                              "allowed at most 1000 runs",
		"sweep: {seeds: '1,1'}\n":                                               "seed 1 is given twice",
	} {
		_, err := Parse(strings.NewReader(doc))
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q:\n err = %v\nwant it to say %q", doc, err, want)
		}
	}
}

func TestParseParameter(t *testing.T) {
	p, err := ParseParameter("shifted_conditions=[shifted],[shifted, blue-doors]")
	if err != nil || len(p.Values) != 2 || p.Values[1] != "[shifted, blue-doors]" {
		t.Fatalf("%+v %v", p, err)
	}
	if p, err := ParseParameter("selection.shifted=0,0.02, 0.1"); err != nil || strings.Join(p.Values, "|") != "0|0.02|0.1" {
		t.Fatalf("%+v %v", p, err)
	}
	for _, bad := range []string{"x", "=1", "x=", "x=1,,2"} {
		if _, err := ParseParameter(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
	if s, err := ParseSeeds("1-3,7,9-10"); err != nil || s.String() != "1-3,7,9-10" || len(s) != 6 {
		t.Fatalf("seeds %v %v", s, err)
	}
}

func TestWithSweepFlags(t *testing.T) {
	d := Default()
	one, err := WithSweepFlags(d, SweepFlags{Sets: []string{"generations=7"}})
	if err != nil || one.Sweep != nil || one.Generations != 7 {
		t.Fatalf("one value: sweep %v generations %d err %v", one.Sweep, one.Generations, err)
	}
	sw, err := WithSweepFlags(d, SweepFlags{Seeds: "1-4", SeedsGiven: true, Sets: []string{"selection.shifted=0,0.1", "generations=5"}})
	if err != nil {
		t.Fatal(err)
	}
	if runs, _ := sw.Runs(); len(runs) != 8 || len(sw.Sweep.Set) != 1 || sw.Generations != 5 || runs[0].Spec.Generations != 5 {
		t.Fatalf("%d runs, parameters %v, generations %d: want 8 runs of 5 generations, one swept field", len(runs), sw.Sweep.Set, sw.Generations)
	}
	q, err := WithSweepFlags(sw, SweepFlags{Quick: true})
	if err != nil || len(q.Sweep.Seeds) != 2 || q.Generations != 1 {
		t.Fatalf("quick: %v %d %v", q.Sweep, q.Generations, err)
	}
	if _, err := WithSweepFlags(d, SweepFlags{Quick: true}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("--quick without a sweep: %v", err)
	}
	if _, err := WithSweepFlags(d, SweepFlags{Seeds: "9-3", SeedsGiven: true}); err == nil || !strings.Contains(err.Error(), `--seeds: invalid experiment: sweep.seeds = "9-3"`) {
		t.Fatalf("bad seeds: %v", err)
	}
}

func TestWithSweepFlagsRefuses(t *testing.T) {
	d := Default()
	for _, tc := range []struct {
		f    SweepFlags
		want string
	}{
		{SweepFlags{SeedsGiven: true}, `sweep.seeds = "", allowed a non-empty range`},
		{SweepFlags{Sets: []string{"generations=2,3", "generations=4"}}, "--set generations is given twice"},
		{SweepFlags{Sets: []string{"selection.shifted=0.5", "selection.shifted=0.1,0.2"}}, "--set selection.shifted is given twice"},
	} {
		if _, err := WithSweepFlags(d, tc.f); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want it to say %q", tc.f, err, tc.want)
		}
	}
	file := d
	file.Sweep = &Sweep{Seeds: Seeds{1, 2}, Set: Parameters{{Path: "elites", Values: []string{"1", "2"}}}}
	if _, err := WithSweepFlags(file, SweepFlags{Sets: []string{"elites=3"}}); err == nil || !strings.Contains(err.Error(), "the file sweeps elites over [1 2]") {
		t.Errorf("a single value for a swept field: %v", err)
	}
}
