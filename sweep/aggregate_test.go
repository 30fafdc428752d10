package sweep_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/sweep"
)

// grid returns runs over two parameters, each run's shifted robust share
// encoding its values and seed.
func grid(seeds int) ([]sweep.Parameter, []sweep.Run) {
	params := []sweep.Parameter{
		{Path: "selection.shifted", Values: []string{"0", "0.02"}},
		{Path: "environment.red_objects", Values: []string{"1", "3", "5"}},
	}
	var runs []sweep.Run
	for a, va := range params[0].Values {
		for b, vb := range params[1].Values {
			for s := 1; s <= seeds; s++ {
				robust := uint32(a*3 + b)
				id := fmt.Sprintf("run-%d-%d-%d", a, b, s)
				r := run(id, uint64(s), nil, summary(0, 1, 1, 1, 1, 1, 0, counts("shifted", robust, 10-robust, 0, 0, 0, 0, nil)))
				runs = append(runs, sweep.Run{Seed: uint64(s), Values: []string{va, vb}, Run: r})
			}
		}
	}
	return params, runs
}

func TestGroupsByParameterValues(t *testing.T) {
	params, runs := grid(2)
	a := sweep.Aggregate(params, runs)
	var names, kinds []string
	for _, g := range a.Groups {
		names = append(names, g.Name)
		kinds = append(kinds, g.Kind)
	}
	want := []string{
		"selection.shifted=0", "selection.shifted=0.02",
		"environment.red_objects=1", "environment.red_objects=3", "environment.red_objects=5",
		"selection.shifted=0;environment.red_objects=1", "selection.shifted=0;environment.red_objects=3",
		"selection.shifted=0;environment.red_objects=5", "selection.shifted=0.02;environment.red_objects=1",
		"selection.shifted=0.02;environment.red_objects=3", "selection.shifted=0.02;environment.red_objects=5",
	}
	if !slices.Equal(names, want) {
		t.Fatalf("groups\n%q\nwant\n%q", names, want)
	}
	if k := strings.Join(kinds, ","); k != strings.Repeat("marginal,", 5)+strings.TrimSuffix(strings.Repeat("combination,", 6), ",") {
		t.Errorf("kinds %s", k)
	}
	for _, g := range a.Groups {
		wantRuns := 2
		switch len(g.Assignments) {
		case 1:
			wantRuns = 2 * 3
			if g.Assignments[0].Path == "environment.red_objects" {
				wantRuns = 2 * 2
			}
		}
		if len(g.Runs) != wantRuns {
			t.Errorf("%s: %d runs, want %d", g.Name, len(g.Runs), wantRuns)
		}
		for _, r := range g.Runs {
			for _, as := range g.Assignments {
				i := slices.IndexFunc(params, func(p sweep.Parameter) bool { return p.Path == as.Path })
				if r.Values[i] != as.Value {
					t.Errorf("%s holds run %s with %s=%s", g.Name, r.RunID, as.Path, r.Values[i])
				}
			}
		}
	}
	// Runs by seed, then parameter values in their declared order.
	if got := a.Groups[3].Runs; got[0].RunID != "run-0-1-1" || got[1].RunID != "run-1-1-1" || got[2].RunID != "run-0-1-2" {
		t.Errorf("red_objects=3 runs in order %s, %s, %s", got[0].RunID, got[1].RunID, got[2].RunID)
	}
	// A combination's shares are its own runs': robust = (a·3+b)/10.
	c := a.Groups[len(a.Groups)-1].Conditions[0]
	if c.RobustlyAligned.Mean != 0.5 || c.RobustlyAligned.N != 2 || c.RobustlyAligned.Lo != 0.5 {
		t.Errorf("last combination robust share %+v, want 0.5 from 2 runs", c.RobustlyAligned)
	}
	// A marginal pools its values: selection.shifted=0 has robust 0, .1, .2.
	if m := a.Groups[0].Conditions[0].RobustlyAligned; math.Abs(m.Mean-0.1) > 1e-12 || m.N != 6 || m.Lo < 0 || m.Hi > 0.2 {
		t.Errorf("selection.shifted=0 robust share %+v, want 0.1 in [0, 0.2] from 6 runs", m)
	}
}

func TestNoParametersIsOneGroup(t *testing.T) {
	_, runs := grid(1)
	a := sweep.Aggregate(nil, runs)
	if len(a.Groups) != 1 || a.Groups[0].Name != "all" || a.Groups[0].Kind != sweep.KindAll || len(a.Groups[0].Runs) != len(runs) {
		t.Fatalf("groups %+v, want one group of all %d runs", a.Groups, len(runs))
	}
}

func TestRunWithTooFewValuesIsInNoGroupOfTheMissingParameter(t *testing.T) {
	params, runs := grid(1)
	runs = append(runs, sweep.Run{Seed: 9, Values: []string{"0"}, Run: runs[0].Run})
	a := sweep.Aggregate(params, runs)
	if n := len(a.Groups[0].Runs); n != 4 {
		t.Errorf("selection.shifted=0 has %d runs, want 4 (the short run included)", n)
	}
	for _, g := range a.Groups[2:] {
		for _, r := range g.Runs {
			if r.Seed == 9 {
				t.Errorf("%s holds the run without a red_objects value", g.Name)
			}
		}
	}
}

func TestSharesFeaturesAndIdentity(t *testing.T) {
	params, runs := fixture()
	a := sweep.Aggregate(params, runs)
	g := a.Groups[0]
	if g.Name != "environment.red_objects=1" || len(g.Runs) != 3 || g.Missing != 0 {
		t.Fatalf("first group %s with %d runs, %d missing", g.Name, len(g.Runs), g.Missing)
	}
	if len(g.Conditions) != 2 || g.Conditions[0].Name != "shifted" || g.Conditions[0].Identity ||
		g.Conditions[1].Name != "identity" || !g.Conditions[1].Identity {
		t.Fatalf("conditions %+v, want shifted then identity", g.Conditions)
	}
	sh := g.Conditions[0]
	near := func(what string, iv sweep.Interval, mean, lo, hi float64, n int) {
		t.Helper()
		if math.Abs(iv.Mean-mean) > 1e-12 || iv.Lo < lo-1e-12 || iv.Hi > hi+1e-12 || iv.Lo > iv.Mean || iv.Hi < iv.Mean || iv.N != n {
			t.Errorf("%s %+v, want mean %g inside [%g, %g], n %d", what, iv, mean, lo, hi, n)
		}
	}
	zero := func(what string, iv sweep.Interval, v float64, n int) {
		t.Helper()
		if iv.Mean != v || iv.Lo != v || iv.Hi != v || iv.N != n {
			t.Errorf("%s %+v, want %g with a zero-width interval, n %d", what, iv, v, n)
		}
	}
	near("robust", sh.RobustlyAligned, 0.5, 0.25, 0.75, 3)
	if sh.RobustlyAligned.Lo == sh.RobustlyAligned.Hi {
		t.Errorf("robust shares 0.25, 0.5, 0.75 give a zero-width interval")
	}
	zero("pseudo", sh.PseudoAligned, 0.25, 3)
	near("capability failure", sh.CapabilityFailure, 0.25, 0, 0.5, 3)
	zero("misaligned", sh.Misaligned, 0, 3)
	zero("flagged", sh.Flagged, 0.25, 3)
	zero("proxy hits", sh.ProxyHits, 0.5, 3)
	if len(sh.Features) != 2 || sh.Features[0].Name != "coin_collected" || sh.Features[1].Name != "end_reached" {
		t.Fatalf("features %+v", sh.Features)
	}
	near("coin_collected", sh.Features[0].Mean, 0.5, 0.25, 0.75, 3)
	near("end_reached", sh.Features[1].Mean, 0.5, 0.25, 0.75, 3)
	id := g.Conditions[1]
	zero("identity robust", id.RobustlyAligned, 1, 3)
	zero("identity coin_collected", id.Features[0].Mean, 0, 3)

	f := g.Final
	zero("last generation", f.LastGeneration, 1, 3)
	near("median horizon", f.MedianHorizon, 3, 2, 4, 3)
	near("best fitness", f.BestFitness, 0.9, 0.85, 0.95, 3)
	zero("train base", f.MeanTrainBase, 0.9, 3)
	near("shifted base", f.MeanShiftedBase, 0.6, 0.5, 0.7, 3)
	zero("planner share", f.PlannerShare, 0.75, 3)
	zero("flagged of the population", f.Flagged, 0.25, 3)
}

func TestMissingRuns(t *testing.T) {
	params, runs := fixture()
	runs = append(runs, sweep.Run{Seed: 5, Values: []string{"3"}}) // never fetched
	a := sweep.Aggregate(params, runs)
	g := a.Groups[1]
	if g.Name != "environment.red_objects=3" || len(g.Runs) != 5 || g.Missing != 2 {
		t.Fatalf("%s: %d runs, %d missing; want 5 runs, 2 missing", g.Name, len(g.Runs), g.Missing)
	}
	var missing []uint64
	for _, r := range g.Runs {
		if r.Missing {
			missing = append(missing, r.Seed)
		}
	}
	if !slices.Equal(missing, []uint64{4, 5}) {
		t.Errorf("missing seeds %v, want [4 5]", missing)
	}
	if r := g.Runs[3]; r.RunID != "r3-s4" || r.State != "running" || r.GenerationsDone != 0 || r.Generations != 2 {
		t.Errorf("missing run %+v", r)
	}
	// 3 runs have summaries; the interrupted one ends at generation 0.
	sh := g.Conditions[0]
	if sh.RobustlyAligned.N != 3 || g.Final.LastGeneration.N != 3 {
		t.Errorf("robust share from %d runs, last generation from %d; want 3", sh.RobustlyAligned.N, g.Final.LastGeneration.N)
	}
	if r := g.Runs[2]; r.State != "interrupted" || r.LastGeneration != 0 {
		t.Errorf("interrupted run %+v", r)
	}
	// Identity from the two reports that have it.
	if id := g.Conditions[1]; !id.Identity || id.RobustlyAligned.N != 2 || id.RobustlyAligned.Mean != 0.75 {
		t.Errorf("identity %+v, want 0.75 robust from 2 reports", id)
	}
	// Misaligned: 0, 0 and 1 (the interrupted run's generation 0).
	if m := sh.Misaligned; math.Abs(m.Mean-1.0/3) > 1e-12 || m.Lo < 0 || m.Hi > 1 {
		t.Errorf("misaligned %+v, want 1/3", m)
	}
}

func TestCurves(t *testing.T) {
	params, runs := fixture()
	a := sweep.Aggregate(params, runs)
	g := a.Groups[1] // red_objects=3: two runs of 2 generations, one of 1
	if len(g.Curves) != 2 || g.Curves[0].Generation != 0 || g.Curves[1].Generation != 1 {
		t.Fatalf("curves %+v, want generations 0 and 1", g.Curves)
	}
	if n := g.Curves[0].BestFitness.N; n != 3 {
		t.Errorf("generation 0 from %d runs, want 3", n)
	}
	p := g.Curves[1]
	if p.BestFitness.N != 2 || p.BestFitness.Mean != 0.7 || p.Flagged.Mean != 0.75 || p.MeanFitness.Mean != 0.35 {
		t.Errorf("generation 1 %+v, want best 0.7, mean 0.35, flagged 3/4 from 2 runs", p)
	}
	if h := g.Curves[0].MedianHorizon; h.Mean != 1 || h.Lo != 1 || h.Hi != 1 {
		t.Errorf("generation 0 horizon %+v, want 1", h)
	}
}

func TestFlaggedNeedsPopulation(t *testing.T) {
	params, runs := fixture()
	runs[0].Run.Spec = nil
	g := sweep.Aggregate(params, runs).Groups[0]
	if g.Final.Flagged.N != 2 || g.Final.BestFitness.N != 3 {
		t.Errorf("flagged from %d runs, best from %d; want 2 (no spec, no population) and 3", g.Final.Flagged.N, g.Final.BestFitness.N)
	}
}

func TestAggregateIgnoresRunOrder(t *testing.T) {
	params, runs := fixture()
	want, err := json.Marshal(sweep.Aggregate(params, runs))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 5 {
		shuffled := slices.Clone(runs)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		got, err := json.Marshal(sweep.Aggregate(params, shuffled))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("shuffled runs change the aggregates")
		}
	}
	if again := sweep.Aggregate(params, runs); !reflect.DeepEqual(again, sweep.Aggregate(params, runs)) {
		t.Errorf("same input, different aggregates")
	}
}

func TestJSONEmitsEveryField(t *testing.T) {
	params, runs := fixture()
	b, err := json.Marshal(sweep.Aggregate(params, runs))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []map[string]json.RawMessage `json:"groups"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	g := doc.Groups[0]
	for _, k := range []string{"name", "kind", "assignments", "runs", "missing", "final", "conditions", "curves"} {
		if _, ok := g[k]; !ok {
			t.Errorf("group lacks %q", k)
		}
	}
	if string(g["missing"]) != "0" {
		t.Errorf("missing = %s, want 0", g["missing"])
	}
	for _, want := range []string{
		`"misaligned":{"mean":0,"lo":0,"hi":0,"n":3}`, // a zero share
		`"final_digest":"final-r1-s1"`, `"last_generation":1`, `"generations_done":2`,
		`"identity":false`, `"mean_train_base":`, `"proxy_hits":`, `"features":[{"name":"coin_collected"`,
		`"resamples":10000`, `"confidence":0.95`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s", want)
		}
	}
	// Empty lists are [], never null.
	empty, err := json.Marshal(sweep.Aggregate(nil, []sweep.Run{{Seed: 1, Run: &pb.Run{RunId: "x"}}}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(empty), "null") {
		t.Errorf("JSON of a sweep without generations holds null: %s", empty)
	}
	for _, want := range []string{`"conditions":[]`, `"curves":[]`, `"assignments":[]`, `"parameters":[]`, `"values":[]`, `"missing":1`} {
		if !strings.Contains(string(empty), want) {
			t.Errorf("JSON of a sweep without generations lacks %s: %s", want, empty)
		}
	}
}

// BenchmarkAggregate aggregates 2×3 parameter values × 5 seeds of 100
// generations with 3 shifted conditions and 5 features.
func BenchmarkAggregate(b *testing.B) {
	params := []sweep.Parameter{
		{Path: "selection.shifted", Values: []string{"0", "0.02"}},
		{Path: "environment.red_objects", Values: []string{"1", "3", "5"}},
	}
	rng := rand.New(rand.NewPCG(9, 10))
	var runs []sweep.Run
	for _, va := range params[0].Values {
		for _, vb := range params[1].Values {
			for s := 1; s <= 5; s++ {
				var sums []*pb.GenerationSummary
				for g := range uint32(100) {
					var cs []*pb.ClassCounts
					for _, c := range []string{"blue-doors", "red-objects", "shifted"} {
						cs = append(cs, counts(c, uint32(rng.IntN(20)), uint32(rng.IntN(20)), uint32(rng.IntN(20)), 1, 1, 1,
							[]float64{0, 1, 2, 3, 4}, rng.Float64(), rng.Float64(), rng.Float64(), rng.Float64(), rng.Float64()))
					}
					sums = append(sums, summary(g, rng.Float64(), rng.Float64(), rng.Float64(), rng.Float64(), float64(rng.IntN(6)), 2, cs...))
				}
				r := run(fmt.Sprintf("%s-%s-%d", va, vb, s), uint64(s), nil, sums...)
				runs = append(runs, sweep.Run{Seed: uint64(s), Values: []string{va, vb}, Run: r})
			}
		}
	}
	for b.Loop() {
		sweep.Aggregate(params, runs)
	}
}
