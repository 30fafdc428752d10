package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/mesaopt/mesaopt/internal/browser"
	"github.com/mesaopt/mesaopt/internal/figures"
	"github.com/mesaopt/mesaopt/internal/grpcconf"
	"github.com/mesaopt/mesaopt/internal/sweepview"
	"github.com/mesaopt/mesaopt/internal/testenv"
	"github.com/mesaopt/mesaopt/lineage"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
	"github.com/mesaopt/mesaopt/sweep"
)

// dashboardExperiment is long enough that a run is still going when the
// browser has opened its page (a generation of it takes about 0.2 s on an
// idle machine), so the page must update itself to reach the end.
const dashboardExperiment = `name: dash
seed: 3
generations: 150
population: 16
elites: 2
episodes: 2
analysis_episodes: 2
batch_size: 4
`

var dashboardRE = regexp.MustCompile(`(?m)^dashboard (http://\S+)/$`)

// TestDashboardInChromium runs a sweep of two seeds with `mesaopt run`
// and follows it in headless Chromium: the run page loads, updates itself
// while the run runs (no reload: the document's time origin stays), and
// once the run ends every number it shows equals what RunService and
// LineageService answer; then the sweep page's aggregated intervals are
// checked against package sweep's over the API's runs. Screenshots of
// the pages go to browser.ScreenshotDir (bin/screenshots by default).
func TestDashboardInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skips the multi-process dashboard test")
	}
	tab := browser.New(t)
	shots := browser.ScreenshotDir(t)

	n := newNode(t)
	exp := filepath.Join(t.TempDir(), "dash.yaml")
	if err := os.WriteFile(exp, []byte(dashboardExperiment), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, n.args("-f", exp, "--insecure", "--seeds", "1-2", "--workers", "2", "--keep-serving")...)
	var base string
	waitFor(t, "the dashboard URL", time.Minute, func() bool {
		m := dashboardRE.FindStringSubmatch(p.output())
		if m != nil {
			base = m[1]
		}
		return m != nil
	})
	conn, err := grpc.NewClient(n.listen, grpcconf.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	runs, lin := rpc.NewRunServiceClient(conn), rpc.NewLineageServiceClient(conn)

	// The sweep and its first run, once it has committed a generation.
	var sweepID, runID string
	waitFor(t, "the sweep's first generation", 2*time.Minute, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		sws, err := runs.ListSweeps(ctx, &pb.ListSweepsRequest{})
		if err != nil || len(sws.GetSweeps()) == 0 {
			return false
		}
		sw := sws.GetSweeps()[0]
		sweepID = sw.GetSweepId()
		for _, r := range sw.GetRuns() {
			if r.GetState() == pb.RunState_RUN_STATE_RUNNING && r.GetGenerationsDone() > 0 {
				runID = r.GetRun().GetRunId()
				return true
			}
		}
		return false
	})

	// The run page loads and shows the run running.
	ctx, cancel := context.WithTimeout(tab, testenv.Patience(4*time.Minute))
	defer cancel()
	if err := browser.Open(ctx, base+"/runs/"+runID); err != nil {
		t.Fatal(err)
	}
	var origin float64
	if err := browser.Eval(ctx, "performance.timeOrigin", &origin); err != nil {
		t.Fatal(err)
	}
	first := pageInt(t, ctx, "#live [data-field=generations_done]")
	if state, _ := browser.Text(ctx, "#live [data-field=state]"); state != "running" {
		t.Fatalf("run page state %q at generation %d, want running (the experiment is too short for this machine?)", state, first)
	}
	// It updates itself: the generation shown grows without a reload.
	if _, err := browser.WaitText(ctx, "#live [data-field=generations_done]", func(s string) bool {
		g, err := strconv.Atoi(strings.TrimSpace(s))
		return err == nil && g > first
	}); err != nil {
		t.Fatalf("the run page did not update itself past generation %d: %v", first, err)
	}
	if err := browser.Screenshot(ctx, filepath.Join(shots, "dashboard-run-live.png")); err != nil {
		t.Fatal(err)
	}
	// ... to the end of the run.
	if _, err := browser.WaitText(ctx, "#live [data-field=state]", func(s string) bool { return s != "running" }); err != nil {
		t.Fatalf("the run page never showed the run's end: %v", err)
	}
	var again float64
	if err := browser.Eval(ctx, "performance.timeOrigin", &again); err != nil {
		t.Fatal(err)
	}
	var updates string
	if err := browser.Eval(ctx, "document.body.dataset.updates", &updates); err != nil {
		t.Fatal(err)
	}
	if again != origin || updates == "0" {
		t.Fatalf("the page was reloaded (time origin %v, then %v) or never swapped its live part (%s updates)", origin, again, updates)
	}
	t.Logf("run page: generation %d at load, updated %s times to the end without a reload", first, updates)

	got, err := runs.GetRun(context.Background(), &pb.GetRunRequest{RunId: runID})
	if err != nil {
		t.Fatal(err)
	}
	checkRunPage(t, ctx, lin, got.GetRun())
	waitImages(t, ctx)
	if err := browser.Screenshot(ctx, filepath.Join(shots, "dashboard-run.png")); err != nil {
		t.Fatal(err)
	}

	// The sweep page, once the sweep has ended.
	waitFor(t, "the sweep to end", 4*time.Minute, func() bool {
		sw, err := runs.GetSweep(context.Background(), &pb.GetSweepRequest{SweepId: sweepID})
		return err == nil && sw.GetSweep().GetState() != pb.RunState_RUN_STATE_RUNNING && sw.GetSweep().GetState() != pb.RunState_RUN_STATE_UNSPECIFIED
	})
	if err := browser.Open(ctx, base+"/sweeps/"+sweepID); err != nil {
		t.Fatal(err)
	}
	_, params, all, err := sweepview.Load(context.Background(), runs, sweepID, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	checkSweepPage(t, ctx, sweep.Aggregate(params, all))
	waitImages(t, ctx)
	if err := browser.Screenshot(ctx, filepath.Join(shots, "dashboard-sweep.png")); err != nil {
		t.Fatal(err)
	}

	// The front page lists both runs and the sweep.
	if err := browser.Open(ctx, base+"/"); err != nil {
		t.Fatal(err)
	}
	var listed []string
	if err := browser.Eval(ctx, `Array.from(document.querySelectorAll("#runs tr[data-run]")).map(e => e.dataset.run).concat(Array.from(document.querySelectorAll("#sweeps tr[data-sweep]")).map(e => e.dataset.sweep))`, &listed); err != nil {
		t.Fatal(err)
	}
	want := []string{sweepID}
	for _, r := range all {
		want = append(want, r.Run.GetRunId())
	}
	for _, w := range want {
		if !slices.Contains(listed, w) {
			t.Errorf("front page lists %v, missing %s", listed, w)
		}
	}
	if err := browser.Screenshot(ctx, filepath.Join(shots, "dashboard-index.png")); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", shots)
}

// field is one number a page shows: its data-* attributes.
type field struct {
	Field, Value, N, Lo, Hi string
}

// fields returns the numbers inside the elements matching sel, in page
// order.
func fields(t *testing.T, ctx context.Context, sel string) []field {
	t.Helper()
	var out []field
	js := fmt.Sprintf(`Array.from(document.querySelectorAll(%q)).map(e => ({Field: e.dataset.field || "", Value: e.dataset.value || "", N: e.dataset.n || "", Lo: e.dataset.lo || "", Hi: e.dataset.hi || ""}))`, sel+" [data-field]")
	if err := browser.Eval(ctx, js, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func pageInt(t *testing.T, ctx context.Context, sel string) int {
	t.Helper()
	s, err := browser.Text(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		t.Fatalf("%s shows %q, not a number", sel, s)
	}
	return v
}

func parse(t *testing.T, what, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%s: data-value %q: %v", what, s, err)
	}
	return v
}

// checkRunPage compares the numbers of the run page with run, as GetRun
// answers it, and the drift origin with GetDriftOrigin's.
func checkRunPage(t *testing.T, ctx context.Context, lin rpc.LineageServiceClient, run *pb.Run) {
	t.Helper()
	sums := run.GetSummaries()
	last := sums[len(sums)-1]
	want := map[string]float64{
		"best_fitness": last.GetBestFitness(), "mean_fitness": last.GetMeanFitness(),
		"mean_train_base": last.GetMeanTrainBase(), "mean_shifted_base": last.GetMeanShiftedBase(),
		"planner_share": last.GetPlannerShare(), "median_horizon": last.GetMedianHorizon(),
		"flagged_share":          sweep.FlaggedShare(int(run.GetSpec().GetPopulation()), last),
		"evaluations_per_second": last.GetEvaluationsPerSecond(),
	}
	seen := 0
	for _, f := range fields(t, ctx, "#latest") {
		w, ok := want[f.Field]
		if !ok {
			continue
		}
		seen++
		if got := parse(t, f.Field, f.Value); got != w {
			t.Errorf("run page %s = %v, GetRun says %v", f.Field, got, w)
		}
	}
	if seen != len(want) {
		t.Errorf("run page shows %d of the %d figures of the last generation", seen, len(want))
	}
	if g := pageInt(t, ctx, "#live [data-field=generations_done]"); g != int(run.GetGenerationsDone()) {
		t.Errorf("run page generation %d, GetRun says %d", g, run.GetGenerationsDone())
	}

	// Class shares per condition, with their Wilson intervals.
	counts, _ := figures.LastClasses(run)
	for _, cc := range counts {
		cells := fields(t, ctx, fmt.Sprintf("#classes tr[data-condition=%q]", cc.GetCondition()))
		wantK := append(figures.ClassCounts(cc), int(cc.GetFlaggedPseudoAligned()+cc.GetFlaggedDriftOnly()))
		if len(cells) != len(wantK) {
			t.Fatalf("condition %s: %d cells, want %d", cc.GetCondition(), len(cells), len(wantK))
		}
		n := int(cc.GetIndividuals())
		for i, c := range cells {
			lo, hi := lineage.Wilson(wantK[i], n)
			if c.Value != strconv.Itoa(wantK[i]) || c.N != strconv.Itoa(n) || parse(t, "lo", c.Lo) != lo || parse(t, "hi", c.Hi) != hi {
				t.Errorf("condition %s %s: page %+v, API %d of %d [%v, %v]", cc.GetCondition(), c.Field, c, wantK[i], n, lo, hi)
			}
		}
	}

	// The flagged planners, in the report's order.
	var ids []string
	if err := browser.Eval(ctx, `Array.from(document.querySelectorAll("#flagged tr[data-individual]")).map(e => e.dataset.individual)`, &ids); err != nil {
		t.Fatal(err)
	}
	var wantIDs []string
	for _, in := range run.GetReport().GetFlagged() {
		wantIDs = append(wantIDs, strconv.FormatUint(in.GetId(), 10))
	}
	if !slices.Equal(ids, wantIDs) {
		t.Errorf("flagged planners on the page %v, the report's %v", ids, wantIDs)
	}
	if len(wantIDs) == 0 {
		t.Logf("run %s flagged no planner: no line of descent to check", run.GetRunId())
		return
	}
	top := run.GetReport().GetTopFlagged()
	if got := pageInt(t, ctx, "#lineage [data-field=top_flagged]"); uint64(got) != top {
		t.Errorf("top flagged lineage #%d on the page, the report's #%d", got, top)
	}
	o, err := lin.GetDriftOrigin(context.Background(), &pb.GetDriftOriginRequest{RunId: run.GetRunId(), IndividualId: top})
	if err != nil {
		t.Fatal(err)
	}
	if a := o.GetOrigin().GetAncestor(); a != nil {
		if got := pageInt(t, ctx, "#origin [data-field=origin_ancestor]"); uint64(got) != a.GetId() {
			t.Errorf("drift origin #%d on the page, GetDriftOrigin says #%d", got, a.GetId())
		}
		rows := fields(t, ctx, "#objective")
		before, after := o.GetOrigin().GetObjectiveBefore(), o.GetOrigin().GetObjectiveAfter()
		if len(rows) != 3*len(before) {
			t.Fatalf("objective table has %d numbers, want 3 per feature of %d", len(rows), len(before))
		}
		for f := range before {
			b, a := parse(t, "before", rows[3*f].Value), parse(t, "after", rows[3*f+1].Value)
			if b != before[f] || a != after[f] {
				t.Errorf("feature %d: page %v → %v, GetDriftOrigin %v → %v", f, b, a, before[f], after[f])
			}
		}
		// The untrained marks: the parent's constant features before, the
		// origin's after (ConditionScore.varied of their train scores).
		var marks []string
		if err := browser.Eval(ctx, `Array.from(document.querySelectorAll("#objective tr[data-feature]")).map(tr => Array.from(tr.querySelectorAll("[data-untrained]")).map(m => m.dataset.untrained).join(","))`, &marks); err != nil {
			t.Fatal(err)
		}
		for f := range before {
			var want []string
			if v := o.GetOrigin().GetParent().GetTrain().GetVaried(); f < len(v) && !v[f] {
				want = append(want, "before")
			}
			if v := a.GetTrain().GetVaried(); f < len(v) && !v[f] {
				want = append(want, "after")
			}
			if f >= len(marks) || marks[f] != strings.Join(want, ",") {
				t.Errorf("feature %d: untrained marks %q, want %q", f, marks, want)
			}
		}
	}
}

// checkSweepPage compares the sweep page's default group with agg's.
func checkSweepPage(t *testing.T, ctx context.Context, agg sweep.Aggregates) {
	t.Helper()
	g := agg.Groups[0]
	name, err := browser.Attr(ctx, "#aggregate", "data-group")
	if err != nil || name != g.Name {
		t.Fatalf("sweep page shows group %q (%v), want the first, %q", name, err, g.Name)
	}
	f := g.Final.Figures
	want := map[string]sweep.Interval{
		"best_fitness": f.BestFitness, "mean_fitness": f.MeanFitness, "mean_train_base": f.MeanTrainBase,
		"mean_shifted_base": f.MeanShiftedBase, "planner_share": f.PlannerShare, "flagged": f.Flagged, "median_horizon": f.MedianHorizon,
	}
	seen := 0
	for _, c := range fields(t, ctx, "#aggregate table.figures") {
		w, ok := want[c.Field]
		if !ok {
			continue
		}
		seen++
		if w.N == 0 {
			continue
		}
		got := sweep.Interval{Mean: parse(t, c.Field, c.Value), Lo: parse(t, c.Field, c.Lo), Hi: parse(t, c.Field, c.Hi)}
		if got.N, _ = strconv.Atoi(c.N); got != w || math.IsNaN(got.Mean) {
			t.Errorf("sweep page %s = %+v, sweep.Aggregate %+v", c.Field, got, w)
		}
	}
	if seen != len(want) {
		t.Errorf("sweep page shows %d of %d aggregated figures", seen, len(want))
	}
	for _, cd := range figures.Classified(&g) {
		cells := fields(t, ctx, fmt.Sprintf("#sweep-classes tr[data-condition=%q]", cd.Name))
		wantI := append(slices.Collect(func(yield func(sweep.Interval) bool) {
			for _, get := range figures.ClassIntervals {
				if !yield(get(cd)) {
					return
				}
			}
		}), cd.Flagged)
		if len(cells) != len(wantI) {
			t.Fatalf("sweep condition %s: %d cells, want %d", cd.Name, len(cells), len(wantI))
		}
		for i, c := range cells {
			got := sweep.Interval{Mean: parse(t, c.Field, c.Value), Lo: parse(t, c.Field, c.Lo), Hi: parse(t, c.Field, c.Hi)}
			got.N, _ = strconv.Atoi(c.N)
			if got != wantI[i] {
				t.Errorf("sweep condition %s %s = %+v, sweep.Aggregate %+v", cd.Name, c.Field, got, wantI[i])
			}
		}
	}
}

// waitImages waits until every chart of the page has loaded and checks
// each drew something.
func waitImages(t *testing.T, ctx context.Context) {
	t.Helper()
	var bad []string
	testenv.WaitFor(t, "the page's charts to load", time.Minute, func() bool {
		if err := browser.Eval(ctx, `Array.from(document.images).filter(i => !i.complete).map(i => i.src)`, &bad); err != nil {
			t.Fatal(err)
		}
		return len(bad) == 0
	})
	if err := browser.Eval(ctx, `Array.from(document.images).filter(i => i.naturalWidth === 0).map(i => i.src)`, &bad); err != nil {
		t.Fatal(err)
	}
	var count int
	if err := browser.Eval(ctx, `document.images.length`, &count); err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 || count == 0 {
		t.Errorf("%d charts, these did not draw: %v", count, bad)
	}
}
