package dashboard_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/mesaopt/mesaopt/coordinator/dashboard"
	"github.com/mesaopt/mesaopt/internal/sweepview"
	"github.com/mesaopt/mesaopt/lineage"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/sweep"
)

// fake is an in-memory Source: runs and sweeps in insertion order, and
// lines of descent by run and individual. With err set every call fails
// with it.
type fake struct {
	mu     sync.Mutex
	runs   []*pb.Run
	sweeps []*pb.Sweep
	lines  map[string][]*pb.Individual // "run/id" → newest first
	err    error
}

func lineKey(run string, id uint64) string { return fmt.Sprintf("%s/%d", run, id) }

func (f *fake) addRun(r *pb.Run) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs = append(f.runs, r)
}

// setRun replaces the run with r's id.
func (f *fake) setRun(r *pb.Run) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, old := range f.runs {
		if old.GetRunId() == r.GetRunId() {
			f.runs[i] = r
			return
		}
	}
	f.runs = append(f.runs, r)
}

func (f *fake) fail() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func (f *fake) ListRuns(ctx context.Context, in *pb.ListRunsRequest, _ ...grpc.CallOption) (*pb.ListRunsResponse, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &pb.ListRunsResponse{}
	for _, r := range f.runs {
		out.Runs = append(out.Runs, proto.Clone(r).(*pb.Run))
	}
	return out, nil
}

func (f *fake) GetRun(ctx context.Context, in *pb.GetRunRequest, _ ...grpc.CallOption) (*pb.GetRunResponse, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.runs {
		if r.GetRunId() == in.GetRunId() {
			return &pb.GetRunResponse{Run: proto.Clone(r).(*pb.Run)}, nil
		}
	}
	return nil, status.Errorf(codes.NotFound, "run %q not found", in.GetRunId())
}

func (f *fake) ListSweeps(ctx context.Context, in *pb.ListSweepsRequest, _ ...grpc.CallOption) (*pb.ListSweepsResponse, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &pb.ListSweepsResponse{}
	for _, s := range f.sweeps {
		out.Sweeps = append(out.Sweeps, proto.Clone(s).(*pb.Sweep))
	}
	return out, nil
}

func (f *fake) GetSweep(ctx context.Context, in *pb.GetSweepRequest, _ ...grpc.CallOption) (*pb.GetSweepResponse, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.sweeps {
		if s.GetSweepId() == in.GetSweepId() {
			return &pb.GetSweepResponse{Sweep: proto.Clone(s).(*pb.Sweep)}, nil
		}
	}
	return nil, status.Errorf(codes.NotFound, "sweep %q not found", in.GetSweepId())
}

// GetDriftOrigin answers the drift origin of a run's report for its top
// flagged planner, and no origin (not flagged) for the other individuals
// with a line of descent.
func (f *fake) GetDriftOrigin(ctx context.Context, in *pb.GetDriftOriginRequest, _ ...grpc.CallOption) (*pb.GetDriftOriginResponse, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.lines[lineKey(in.GetRunId(), in.GetIndividualId())]; !ok {
		return nil, status.Errorf(codes.NotFound, "individual %d of run %q not found", in.GetIndividualId(), in.GetRunId())
	}
	out := &pb.GetDriftOriginResponse{}
	for _, r := range f.runs {
		if r.GetRunId() == in.GetRunId() && r.GetReport().GetTopFlagged() == in.GetIndividualId() {
			out.Origin = proto.Clone(r.GetReport().GetTopDriftOrigin()).(*pb.DriftOrigin)
			out.FeatureNames = r.GetFeatureNames()
		}
	}
	return out, nil
}

func (f *fake) GetLineOfDescent(ctx context.Context, in *pb.GetLineOfDescentRequest, _ ...grpc.CallOption) (*pb.GetLineOfDescentResponse, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	line, ok := f.lines[lineKey(in.GetRunId(), in.GetIndividualId())]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "individual %d of run %q not found", in.GetIndividualId(), in.GetRunId())
	}
	out := &pb.GetLineOfDescentResponse{}
	for _, in := range line {
		out.Individuals = append(out.Individuals, proto.Clone(in).(*pb.Individual))
	}
	return out, nil
}

// summary is a generation summary with figures derived from g.
func summary(g uint32, best, mean float64, flagged, quarantined uint32) *pb.GenerationSummary {
	return &pb.GenerationSummary{Generation: g, BestFitness: best, MeanFitness: mean,
		MeanTrainBase: 0.5 + float64(g)/10, MeanShiftedBase: 0.25 + float64(g)/20, PlannerShare: 0.3 + float64(g)/10,
		Flagged: flagged, Quarantined: quarantined, MedianHorizon: 2.5 + float64(g), Evaluations: 10, EvaluationsPerSecond: 12.5}
}

func score(cond string, base, agreement float64) *pb.ConditionScore {
	return &pb.ConditionScore{Condition: cond, Base: base, Agreement: agreement}
}

// testRun is run r1: population 10, three generations of five committed,
// two shifted conditions and the identity, planners #42 and #17 flagged
// (#17 the top), whose line of descent is #17 ← #9 ← #5.
func testRun() *pb.Run {
	last := summary(2, 0.1+0.2, 1.0/3, 3, 2) // flagged share 3/(10−2)
	last.Classes = []*pb.ClassCounts{
		{Condition: "shift-a", Individuals: 8, RobustlyAligned: 3, PseudoAligned: 2, CapabilityFailure: 1, Misaligned: 2, FlaggedPseudoAligned: 2, FlaggedDriftOnly: 1},
		{Condition: "shift-b", Individuals: 7, RobustlyAligned: 1, PseudoAligned: 4, CapabilityFailure: 0, Misaligned: 2, FlaggedPseudoAligned: 3},
	}
	return &pb.Run{
		RunId:           "r1",
		Spec:            &pb.ExperimentSpec{Name: "tiny", Seed: 7, Generations: 5, Population: 10},
		State:           pb.RunState_RUN_STATE_RUNNING,
		GenerationsDone: 3,
		Summaries:       []*pb.GenerationSummary{summary(0, 1.5, 0.75, 1, 0), summary(1, 2.25, 1.125, 2, 1), last},
		FeatureNames:    []string{"goal", "proxy", "wall"},
		Report: &pb.Report{
			Identity: &pb.ClassCounts{Condition: "identity", Individuals: 8, RobustlyAligned: 6, PseudoAligned: 1, Misaligned: 1, FlaggedPseudoAligned: 1},
			Flagged: []*pb.Individual{
				{Id: 42, Generation: 2, Fitness: 2.5, Train: score("train", 0.75, 0.5), Horizon: 3, FlagReasons: []string{"proxy hits", "drift"}},
				{Id: 17, Generation: 2, Fitness: 1.25, Train: score("train", 0.625, 0.25), Horizon: 4, FlagReasons: []string{"drift"}},
			},
			TopFlagged: 17,
			TopDriftOrigin: &pb.DriftOrigin{
				Ancestor:        &pb.Individual{Id: 9, Generation: 1, FlagReasons: []string{"drift"}},
				Parent:          &pb.Individual{Id: 5, Generation: 0},
				Operators:       []string{"mutate"},
				ObjectiveBefore: []float64{0.5, -0.25, 1},
				ObjectiveAfter:  []float64{0.1, 0.75, 1},
			},
		},
	}
}

func testLine() []*pb.Individual {
	var line []*pb.Individual
	for i, id := range []uint64{17, 9, 5} {
		g := uint32(2 - i)
		line = append(line, &pb.Individual{Id: id, Generation: g, Train: score("train", 0.5, 0.9),
			Shifted: []*pb.ConditionScore{score("shift-a", 0.4, 0.1*float64(g))}})
	}
	return line
}

// sweepRun is run id of a sweep: seed and two summaries scaled by k.
func sweepRun(id string, seed uint64, k float64) *pb.Run {
	s0, s1 := summary(0, k, k/2, 1, 0), summary(1, 2*k, k, 2, 0)
	s1.Classes = []*pb.ClassCounts{{Condition: "shift-a", Individuals: 10, RobustlyAligned: uint32(2 * k), PseudoAligned: 3, CapabilityFailure: 1, Misaligned: 6 - uint32(2*k)}}
	return &pb.Run{RunId: id, Spec: &pb.ExperimentSpec{Name: "tiny", Seed: seed, Generations: 2, Population: 10},
		State: pb.RunState_RUN_STATE_SUCCEEDED, GenerationsDone: 2, Summaries: []*pb.GenerationSummary{s0, s1}}
}

// testSweep is sweep s1 over population {10, 20} × mutation.rate {0.1}:
// runs s1-a and s1-b at population 10, s1-c at 20.
func testSweep() *pb.Sweep {
	sr := func(id string, seed uint64, pop string) *pb.SweepRunState {
		return &pb.SweepRunState{Run: &pb.SweepRun{RunId: id, Seed: seed, Values: []string{pop, "0.1"}},
			State: pb.RunState_RUN_STATE_SUCCEEDED, GenerationsDone: 2, Generations: 2}
	}
	return &pb.Sweep{SweepId: "s1", Spec: &pb.ExperimentSpec{Name: "grid", Generations: 2, Population: 10},
		State: pb.RunState_RUN_STATE_SUCCEEDED,
		Definition: &pb.SweepDefinition{Seeds: []uint64{1, 2, 3}, Parameters: []*pb.SweepParameter{
			{Path: "population", Values: []string{"10", "20"}}, {Path: "mutation.rate", Values: []string{"0.1"}}}},
		Runs: []*pb.SweepRunState{sr("s1-a", 1, "10"), sr("s1-b", 2, "10"), sr("s1-c", 3, "20")}}
}

func newFake() *fake {
	f := &fake{lines: map[string][]*pb.Individual{lineKey("r1", 17): testLine()}}
	f.addRun(testRun())
	f.addRun(sweepRun("s1-a", 1, 1))
	f.addRun(sweepRun("s1-b", 2, 1.5))
	f.addRun(sweepRun("s1-c", 3, 2.5))
	f.sweeps = append(f.sweeps, testSweep())
	return f
}

func serve(t *testing.T, f *fake) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(dashboard.New(f, dashboard.Options{CallTimeout: 5 * time.Second}))
	t.Cleanup(srv.Close)
	return srv
}

type response struct {
	code   int
	header http.Header
	body   string
}

func do(t *testing.T, method, u string) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

func get(t *testing.T, u string) response { t.Helper(); return do(t, http.MethodGet, u) }

// page GETs u, wants 200 HTML, and parses it.
func page(t *testing.T, u string) (*html.Node, string) {
	t.Helper()
	r := get(t, u)
	if r.code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, r.code, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("GET %s: Content-Type %q", u, ct)
	}
	doc, err := html.Parse(strings.NewReader(r.body))
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return doc, r.body
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// find is every element under n (n included) for which match holds, in
// document order.
func find(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func withAttr(key, val string) func(*html.Node) bool {
	return func(n *html.Node) bool { v, ok := attr(n, key); return ok && v == val }
}

func hasAttr(key string) func(*html.Node) bool {
	return func(n *html.Node) bool { _, ok := attr(n, key); return ok }
}

func tag(name string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == name }
}

func byID(t *testing.T, n *html.Node, id string) *html.Node {
	t.Helper()
	els := find(n, withAttr("id", id))
	if len(els) != 1 {
		t.Fatalf("%d elements with id %q, want 1", len(els), id)
	}
	return els[0]
}

// field is the one element under n with data-field name.
func field(t *testing.T, n *html.Node, name string) *html.Node {
	t.Helper()
	els := find(n, withAttr("data-field", name))
	if len(els) != 1 {
		t.Fatalf("%d elements with data-field %q, want 1", len(els), name)
	}
	return els[0]
}

// float is attribute key of n as a float64.
func float(t *testing.T, n *html.Node, key string) float64 {
	t.Helper()
	v, ok := attr(n, key)
	if !ok {
		t.Fatalf("<%s data-field=%q> has no %s", n.Data, must(attr(n, "data-field")), key)
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", key, v, err)
	}
	return f
}

func must(s string, _ bool) string { return s }

// same reports bitwise equality.
func same(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

func wantFloat(t *testing.T, n *html.Node, key string, want float64) {
	t.Helper()
	if got := float(t, n, key); !same(got, want) {
		t.Errorf("data-field %q %s = %v, want %v", must(attr(n, "data-field")), key, got, want)
	}
}

func text(n *html.Node) string {
	var b strings.Builder
	for _, t := range find(n, func(*html.Node) bool { return true }) {
		for c := t.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.TextNode {
				b.WriteString(c.Data)
			}
		}
	}
	return b.String()
}

func TestDashboardRunFigures(t *testing.T) {
	srv := serve(t, newFake())
	doc, _ := page(t, srv.URL+"/runs/r1")
	latest := byID(t, doc, "latest")
	last := testRun().GetSummaries()[2]
	for name, want := range map[string]float64{
		"best_fitness":      last.GetBestFitness(),
		"mean_fitness":      last.GetMeanFitness(),
		"mean_train_base":   last.GetMeanTrainBase(),
		"mean_shifted_base": last.GetMeanShiftedBase(),
		"planner_share":     last.GetPlannerShare(),
		"flagged_share":     3.0 / (10 - 2),
		"median_horizon":    last.GetMedianHorizon(),
	} {
		wantFloat(t, field(t, latest, name), "data-value", want)
	}
	if got := field(t, doc, "generations_done"); must(attr(got, "data-value")) != "3" {
		t.Errorf("generations_done %q, want 3", must(attr(got, "data-value")))
	}
}

func TestDashboardRunClasses(t *testing.T) {
	srv := serve(t, newFake())
	doc, _ := page(t, srv.URL+"/runs/r1")
	classes := byID(t, doc, "classes")
	run := testRun()
	want := append(slices.Clone(run.GetSummaries()[2].GetClasses()), run.GetReport().GetIdentity())
	rows := find(classes, hasAttr("data-condition"))
	if len(rows) != len(want) {
		t.Fatalf("%d class rows, want %d", len(rows), len(want))
	}
	for i, cc := range want {
		row := rows[i]
		if got := must(attr(row, "data-condition")); got != cc.GetCondition() {
			t.Errorf("row %d condition %q, want %q", i, got, cc.GetCondition())
		}
		identity := i == len(want)-1
		if cls, _ := attr(row, "class"); (cls == "identity") != identity {
			t.Errorf("row %s class %q, identity %v", cc.GetCondition(), cls, identity)
		}
		n := int(cc.GetIndividuals())
		for name, k := range map[string]int{
			"robustly_aligned":   int(cc.GetRobustlyAligned()),
			"pseudo_aligned":     int(cc.GetPseudoAligned()),
			"capability_failure": int(cc.GetCapabilityFailure()),
			"misaligned":         int(cc.GetMisaligned()),
			"flagged":            int(cc.GetFlaggedPseudoAligned() + cc.GetFlaggedDriftOnly()),
		} {
			cell := field(t, row, name)
			if v, nn := must(attr(cell, "data-value")), must(attr(cell, "data-n")); v != strconv.Itoa(k) || nn != strconv.Itoa(n) {
				t.Errorf("%s %s: data-value %s data-n %s, want %d of %d", cc.GetCondition(), name, v, nn, k, n)
			}
			lo, hi := lineage.Wilson(k, n)
			wantFloat(t, cell, "data-lo", lo)
			wantFloat(t, cell, "data-hi", hi)
		}
	}
}

func TestDashboardRunFlaggedAndOrigin(t *testing.T) {
	srv := serve(t, newFake())
	doc, _ := page(t, srv.URL+"/runs/r1")
	run := testRun()
	rows := find(byID(t, doc, "flagged"), hasAttr("data-individual"))
	if len(rows) != len(run.GetReport().GetFlagged()) {
		t.Fatalf("%d flagged rows, want %d", len(rows), len(run.GetReport().GetFlagged()))
	}
	for i, in := range run.GetReport().GetFlagged() {
		if got := must(attr(rows[i], "data-individual")); got != strconv.FormatUint(in.GetId(), 10) {
			t.Errorf("flagged row %d is #%s, want #%d", i, got, in.GetId())
		}
		top := in.GetId() == run.GetReport().GetTopFlagged()
		if cls, _ := attr(rows[i], "class"); (cls == "top") != top {
			t.Errorf("flagged #%d class %q, top %v", in.GetId(), cls, top)
		}
		wantFloat(t, field(t, rows[i], "fitness"), "data-value", in.GetFitness())
		wantFloat(t, field(t, rows[i], "train_base"), "data-value", in.GetTrain().GetBase())
	}
	if got := must(attr(field(t, doc, "top_flagged"), "data-value")); got != "17" {
		t.Errorf("top_flagged %s, want 17", got)
	}
	if got := must(attr(field(t, doc, "origin_ancestor"), "data-value")); got != "9" {
		t.Errorf("origin_ancestor %s, want 9", got)
	}
	if got := must(attr(field(t, doc, "origin_parent"), "data-value")); got != "5" {
		t.Errorf("origin_parent %s, want 5", got)
	}
	if !strings.Contains(text(byID(t, doc, "lineage")), "3 individuals") {
		t.Errorf("lineage section does not give the line's length 3: %q", text(byID(t, doc, "lineage")))
	}
	o := run.GetReport().GetTopDriftOrigin()
	orows := find(byID(t, doc, "objective"), hasAttr("data-feature"))
	if len(orows) != len(run.GetFeatureNames()) {
		t.Fatalf("%d objective rows, want %d", len(orows), len(run.GetFeatureNames()))
	}
	for i, name := range run.GetFeatureNames() {
		if got := must(attr(orows[i], "data-feature")); got != name {
			t.Errorf("objective row %d is %q, want %q", i, got, name)
		}
		before, after := o.GetObjectiveBefore()[i], o.GetObjectiveAfter()[i]
		wantFloat(t, field(t, orows[i], "objective_before"), "data-value", before)
		wantFloat(t, field(t, orows[i], "objective_after"), "data-value", after)
		wantFloat(t, field(t, orows[i], "change"), "data-value", after-before)
	}
}

// live GETs u and wants the live part alone; it returns main#live.
func live(t *testing.T, u string) *html.Node {
	t.Helper()
	r := get(t, u)
	if r.code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, r.code, r.body)
	}
	body := strings.TrimSpace(r.body)
	if !strings.HasPrefix(body, `<main id="live"`) || !strings.HasSuffix(body, "</main>") || strings.Count(body, "<main") != 1 {
		t.Fatalf("GET %s is not the live part alone: %.200q", u, body)
	}
	nodes, err := html.ParseFragment(strings.NewReader(body), &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body})
	if err != nil || len(nodes) != 1 || nodes[0].Data != "main" {
		t.Fatalf("GET %s: %d nodes, %v", u, len(nodes), err)
	}
	return nodes[0]
}

func TestDashboardLivePart(t *testing.T) {
	f := newFake()
	srv := serve(t, f)
	u := srv.URL + "/runs/r1?part=live"
	m := live(t, u)
	v1 := must(attr(m, "data-version"))
	if got := must(attr(m, "data-final")); got != "false" {
		t.Errorf("running: data-final %q, want false", got)
	}
	if got := must(attr(m, "data-live")); got != "/runs/r1?part=live" {
		t.Errorf("data-live %q", got)
	}
	if again := must(attr(live(t, u), "data-version")); again != v1 {
		t.Errorf("data-version changed without a new generation: %q then %q", v1, again)
	}
	r := testRun()
	r.Summaries = append(r.Summaries, summary(3, 4, 2, 0, 0))
	r.GenerationsDone = 4
	f.setRun(r)
	m = live(t, u)
	if v2 := must(attr(m, "data-version")); v2 == v1 {
		t.Errorf("data-version %q unchanged after a generation", v2)
	}
	wantFloat(t, field(t, m, "best_fitness"), "data-value", 4)
	for state, final := range map[pb.RunState]string{
		pb.RunState_RUN_STATE_RUNNING:     "false",
		pb.RunState_RUN_STATE_SUCCEEDED:   "true",
		pb.RunState_RUN_STATE_FAILED:      "true",
		pb.RunState_RUN_STATE_CANCELLED:   "true",
		pb.RunState_RUN_STATE_INTERRUPTED: "true",
	} {
		r := testRun()
		r.State = state
		f.setRun(r)
		if got := must(attr(live(t, u), "data-final")); got != final {
			t.Errorf("%s: data-final %q, want %s", state, got, final)
		}
	}
}

// wantSVG GETs u and wants 200 image/svg+xml with an <svg> root.
func wantSVG(t *testing.T, u string) {
	t.Helper()
	r := get(t, u)
	if r.code != http.StatusOK || r.header.Get("Content-Type") != "image/svg+xml" {
		t.Errorf("GET %s: %d %q %.200s", u, r.code, r.header.Get("Content-Type"), r.body)
		return
	}
	dec := xml.NewDecoder(strings.NewReader(r.body))
	var root string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Errorf("GET %s: not XML: %v", u, err)
			return
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		t.Errorf("GET %s: root element %q, want svg", u, root)
	}
}

// imgs are the src of every <img> of doc.
func imgs(doc *html.Node) []string {
	var out []string
	for _, n := range find(doc, tag("img")) {
		out = append(out, must(attr(n, "src")))
	}
	return out
}

func TestDashboardRunSVG(t *testing.T) {
	f := newFake()
	noFlag := testRun()
	noFlag.RunId = "r2"
	noFlag.Report.Flagged, noFlag.Report.TopFlagged, noFlag.Report.TopDriftOrigin = nil, 0, nil
	f.addRun(noFlag)
	srv := serve(t, f)

	doc, _ := page(t, srv.URL+"/runs/r1")
	srcs := imgs(doc)
	var names []string
	for _, s := range srcs {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, u.Path[strings.LastIndex(u.Path, "/")+1:])
		wantSVG(t, srv.URL+s)
	}
	if want := []string{"fitness.svg", "shares.svg", "horizon.svg", "classes.svg", "lineage.svg"}; !slices.Equal(names, want) {
		t.Errorf("figures %v, want %v", names, want)
	}

	r := get(t, srv.URL+"/runs/r1/figures/nosuch.svg")
	if r.code != http.StatusNotFound {
		t.Errorf("nosuch.svg: %d, want 404", r.code)
	}
	for _, name := range []string{"fitness.svg", "shares.svg", "horizon.svg", "classes.svg", "lineage.svg"} {
		if !strings.Contains(r.body, name) {
			t.Errorf("nosuch.svg: %q does not name %s", r.body, name)
		}
	}

	if r := get(t, srv.URL+"/runs/r2/figures/lineage.svg"); r.code != http.StatusNotFound {
		t.Errorf("lineage.svg without a flagged planner: %d %s, want 404", r.code, r.body)
	}
	doc, _ = page(t, srv.URL+"/runs/r2")
	for _, s := range imgs(doc) {
		if strings.Contains(s, "lineage") {
			t.Errorf("run without a flagged planner shows %s", s)
		}
	}
	if !strings.Contains(text(doc), "None in the last generation") {
		t.Error("run without a flagged planner does not say so")
	}
}

func TestDashboardRunWithoutGenerations(t *testing.T) {
	f := newFake()
	f.addRun(&pb.Run{RunId: "r0", Spec: &pb.ExperimentSpec{Name: "tiny", Generations: 5, Population: 10}, State: pb.RunState_RUN_STATE_RUNNING})
	srv := serve(t, f)
	doc, body := page(t, srv.URL+"/runs/r0")
	if !strings.Contains(body, "No generation committed yet") {
		t.Error("a run without generations does not say so")
	}
	if srcs := imgs(doc); len(srcs) != 0 {
		t.Errorf("a run without generations shows figures %v", srcs)
	}
	if r := get(t, srv.URL+"/runs/r0/figures/fitness.svg"); r.code != http.StatusNotFound {
		t.Errorf("fitness.svg without generations: %d, want 404", r.code)
	}
}

func TestDashboardErrors(t *testing.T) {
	f := newFake()
	srv := serve(t, f)
	r := get(t, srv.URL+"/runs/nope")
	if r.code != http.StatusNotFound || !strings.Contains(r.body, `run "nope" not found`) {
		t.Errorf("unknown run: %d %q, want 404 with the API's message", r.code, r.body)
	}
	if r := get(t, srv.URL+"/sweeps/nope"); r.code != http.StatusNotFound || !strings.Contains(r.body, `sweep "nope" not found`) {
		t.Errorf("unknown sweep: %d %q", r.code, r.body)
	}
	if r := get(t, srv.URL+"/runs/nope/figures/fitness.svg"); r.code != http.StatusNotFound {
		t.Errorf("figure of an unknown run: %d", r.code)
	}
	f.mu.Lock()
	f.err = status.Error(codes.Unavailable, "etcd is away")
	f.mu.Unlock()
	for _, p := range []string{"/", "/runs/r1", "/runs/r1/figures/fitness.svg", "/sweeps/s1"} {
		if r := get(t, srv.URL+p); r.code != http.StatusServiceUnavailable || !strings.Contains(r.body, "etcd is away") {
			t.Errorf("%s while unavailable: %d %q, want 503", p, r.code, r.body)
		}
	}
}

func TestDashboardIndex(t *testing.T) {
	srv := serve(t, newFake())
	doc, _ := page(t, srv.URL+"/")
	links := map[string]bool{}
	for _, a := range find(doc, tag("a")) {
		links[must(attr(a, "href"))] = true
	}
	for _, want := range []string{"/runs/r1", "/runs/s1-a", "/runs/s1-b", "/runs/s1-c", "/sweeps/s1"} {
		if !links[want] {
			t.Errorf("index has no link to %s", want)
		}
	}
	if rows := find(byID(t, doc, "runs"), hasAttr("data-run")); len(rows) != 4 {
		t.Errorf("%d run rows, want 4", len(rows))
	}
	if rows := find(byID(t, doc, "sweeps"), hasAttr("data-sweep")); len(rows) != 1 {
		t.Errorf("%d sweep rows, want 1", len(rows))
	}
	// r1 runs: the index is not final.
	if got := must(attr(live(t, srv.URL+"/?part=live"), "data-final")); got != "false" {
		t.Errorf("index with a running run: data-final %q", got)
	}
}

// wantInterval checks an interval cell against v.
func wantInterval(t *testing.T, cell *html.Node, v sweep.Interval) {
	t.Helper()
	if got := must(attr(cell, "data-n")); got != strconv.Itoa(v.N) {
		t.Errorf("data-field %q: data-n %s, want %d", must(attr(cell, "data-field")), got, v.N)
	}
	if v.N == 0 {
		return
	}
	wantFloat(t, cell, "data-value", v.Mean)
	wantFloat(t, cell, "data-lo", v.Lo)
	wantFloat(t, cell, "data-hi", v.Hi)
}

func TestDashboardSweep(t *testing.T) {
	f := newFake()
	srv := serve(t, f)
	_, params, runs, err := sweepview.Load(context.Background(), f, "s1", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	agg := sweep.Aggregate(params, runs)
	var names []string
	for _, g := range agg.Groups {
		names = append(names, g.Name)
	}
	if len(names) < 4 {
		t.Fatalf("groups %v: want marginals and combinations", names)
	}
	for _, q := range []string{"", "mutation.rate=0.1", "population=20;mutation.rate=0.1"} {
		want := &agg.Groups[0]
		u := srv.URL + "/sweeps/s1"
		if q != "" {
			u += "?group=" + url.QueryEscape(q)
			want = &agg.Groups[slices.Index(names, q)]
		}
		doc, _ := page(t, u)
		sec := byID(t, doc, "aggregate")
		if got := must(attr(sec, "data-group")); got != want.Name {
			t.Fatalf("%s: group %q, want %q", u, got, want.Name)
		}
		fig := want.Final.Figures
		for name, v := range map[string]sweep.Interval{
			"best_fitness": fig.BestFitness, "mean_fitness": fig.MeanFitness, "mean_train_base": fig.MeanTrainBase,
			"mean_shifted_base": fig.MeanShiftedBase, "planner_share": fig.PlannerShare, "flagged": fig.Flagged,
			"median_horizon": fig.MedianHorizon, "last_generation": want.Final.LastGeneration,
		} {
			rows := find(sec, withAttr("data-figure", name))
			if len(rows) != 1 {
				t.Fatalf("%s: %d rows of %s", u, len(rows), name)
			}
			wantInterval(t, field(t, rows[0], name), v)
		}
		crow := find(byID(t, sec, "sweep-classes"), withAttr("data-condition", "shift-a"))
		if len(crow) != 1 || len(want.Conditions) == 0 {
			t.Fatalf("%s: %d class rows for shift-a, %d conditions", u, len(crow), len(want.Conditions))
		}
		c := want.Conditions[0]
		wantInterval(t, field(t, crow[0], "robustly_aligned"), c.RobustlyAligned)
		wantInterval(t, field(t, crow[0], "pseudo_aligned"), c.PseudoAligned)
		wantInterval(t, field(t, crow[0], "misaligned"), c.Misaligned)
		// Each figure of the page draws.
		srcs := imgs(doc)
		if len(srcs) != 3 {
			t.Errorf("%s: figures %v, want 3", u, srcs)
		}
		for _, s := range srcs {
			wantSVG(t, srv.URL+s)
		}
		// The live part polls the same group.
		m := byID(t, doc, "live")
		lu := must(attr(m, "data-live"))
		lsec := byID(t, live(t, srv.URL+lu), "aggregate")
		if got := must(attr(lsec, "data-group")); got != want.Name {
			t.Errorf("%s: its live part %s shows group %q, want %q", u, lu, got, want.Name)
		}
	}
	r := get(t, srv.URL+"/sweeps/s1?group=nosuch")
	if r.code != http.StatusBadRequest {
		t.Errorf("unknown group: %d %q, want 400", r.code, r.body)
	}
	for _, n := range names {
		if !strings.Contains(r.body, n) {
			t.Errorf("unknown group: %q does not name %s", r.body, n)
		}
	}
	if r := get(t, srv.URL+"/sweeps/s1/figures/nosuch.svg"); r.code != http.StatusNotFound || !strings.Contains(r.body, "classes.svg") {
		t.Errorf("sweep nosuch.svg: %d %q", r.code, r.body)
	}
}

func TestDashboardAssetsAndHeaders(t *testing.T) {
	srv := serve(t, newFake())
	for p, ct := range map[string]string{"/assets/dashboard.js": "javascript", "/assets/dashboard.css": "text/css"} {
		r := get(t, srv.URL+p)
		if r.code != http.StatusOK || !strings.Contains(r.header.Get("Content-Type"), ct) || len(r.body) == 0 {
			t.Errorf("%s: %d %q, want 200 %s", p, r.code, r.header.Get("Content-Type"), ct)
		}
	}
	for _, p := range []string{"/", "/runs/r1", "/runs/r1/figures/fitness.svg", "/sweeps/s1", "/assets/dashboard.js", "/runs/nope"} {
		r := get(t, srv.URL+p)
		if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("%s: Content-Security-Policy %q", p, csp)
		}
	}
	for _, p := range []string{"/", "/runs/r1", "/sweeps/s1"} {
		if r := do(t, http.MethodPost, srv.URL+p); r.code != http.StatusMethodNotAllowed {
			t.Errorf("POST %s: %d, want 405", p, r.code)
		}
	}
}

func TestDashboardEscapes(t *testing.T) {
	f := newFake()
	r := testRun()
	r.RunId = "r-evil"
	r.Spec.Name = `<script>alert(1)</script>`
	r.Report.Flagged[0].FlagReasons = []string{`<img src=x onerror=alert(2)>`}
	f.addRun(r)
	f.lines[lineKey("r-evil", 17)] = testLine()
	srv := serve(t, f)
	for _, p := range []string{"/", "/runs/r-evil"} {
		doc, body := page(t, srv.URL+p)
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
			t.Errorf("%s: unescaped name in the page", p)
		}
		if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s: the escaped name is missing", p)
		}
		for _, s := range find(doc, tag("script")) {
			if src, _ := attr(s, "src"); src != "/assets/dashboard.js" {
				t.Errorf("%s: a script element other than the dashboard's: %v", p, s.Attr)
			}
		}
	}
}

// TestDashboardFiguresPinned: a run page's figures draw what the page
// showed, even once the run has moved on: ?through=G keeps the first G
// summaries (the identity condition only with the last), ?top=ID the
// planner the page named.
func TestDashboardFiguresPinned(t *testing.T) {
	f := newFake()
	srv := serve(t, f)
	doc, _ := page(t, srv.URL+"/runs/r1")
	var classes, lineage string
	for _, s := range imgs(doc) {
		switch {
		case strings.Contains(s, "classes.svg"):
			classes = s
		case strings.Contains(s, "lineage.svg"):
			lineage = s
		}
		if !strings.Contains(s, "through=3") {
			t.Errorf("figure %s is not pinned to the page's 3 summaries", s)
		}
	}
	if !strings.Contains(lineage, "top=17") {
		t.Errorf("lineage figure %s is not pinned to the top planner #17", lineage)
	}
	if body := get(t, srv.URL+classes).body; !strings.Contains(body, "identity") {
		t.Errorf("classes of the last generation lack the identity condition")
	}

	// The run moves on, with a new top flagged planner the page never showed.
	moved := testRun()
	moved.GenerationsDone = 4
	moved.Summaries = append(moved.Summaries, summary(3, 9, 9, 0, 0))
	moved.Report.TopFlagged = 42
	f.setRun(moved)
	if r := get(t, srv.URL+lineage); r.code != http.StatusOK || !strings.Contains(r.body, "#17") {
		t.Errorf("pinned lineage after the run moved on: %d, names #17: %v", r.code, strings.Contains(r.body, "#17"))
	}
	if body := get(t, srv.URL+classes).body; strings.Contains(body, "identity") {
		t.Errorf("classes through generation 3 of 4 drew the last generation's identity counts")
	}
	for _, q := range []string{"through=0", "through=5", "through=x"} {
		if r := get(t, srv.URL+"/runs/r1/figures/fitness.svg?"+q); r.code != http.StatusBadRequest || !strings.Contains(r.body, "allowed 1..4") {
			t.Errorf("?%s: %d %q, want 400 naming 1..4", q, r.code, r.body)
		}
	}
	if r := get(t, srv.URL+"/runs/r1/figures/lineage.svg?top=999"); r.code != http.StatusNotFound {
		t.Errorf("?top=999: %d, want 404", r.code)
	}
}

// TestDashboardLineUnreadable: a run page whose top line of descent
// cannot be read still shows the run, and says why.
func TestDashboardLineUnreadable(t *testing.T) {
	f := newFake()
	delete(f.lines, lineKey("r1", 17))
	srv := serve(t, f)
	doc, _ := page(t, srv.URL+"/runs/r1")
	if s := text(doc); !strings.Contains(s, "could not be read") || !strings.Contains(s, "not found") {
		t.Errorf("page does not say the line of descent could not be read:\n%s", s)
	}
	for _, s := range imgs(doc) {
		if strings.Contains(s, "lineage") {
			t.Errorf("page links the unreadable lineage figure %s", s)
		}
	}
	field(t, doc, "best_fitness") // the rest of the run is there
}

// TestDashboardUntrainedWeights: the drift origin's objective table marks
// the weights of features constant over a planner's training states, the
// parent's in the before column and the origin's in the after one, as
// mesactl's report does.
func TestDashboardUntrainedWeights(t *testing.T) {
	f := newFake()
	r := testRun()
	o := r.Report.TopDriftOrigin
	o.Parent.Train = &pb.ConditionScore{Condition: "train", Varied: []bool{true, false, true}}
	o.Ancestor.Train = &pb.ConditionScore{Condition: "train", Varied: []bool{true, true, false}}
	f.setRun(r)
	srv := serve(t, f)
	doc, _ := page(t, srv.URL+"/runs/r1")
	want := map[string][]string{"goal": nil, "proxy": {"before"}, "wall": {"after"}}
	for feature, cols := range want {
		rows := find(byID(t, doc, "objective"), withAttr("data-feature", feature))
		if len(rows) != 1 {
			t.Fatalf("%d rows of %s", len(rows), feature)
		}
		var got []string
		for _, m := range find(rows[0], hasAttr("data-untrained")) {
			got = append(got, must(attr(m, "data-untrained")))
		}
		if !slices.Equal(got, cols) {
			t.Errorf("%s: untrained marks %v, want %v", feature, got, cols)
		}
	}
	byID(t, doc, "untrained-legend")

	// Unknown (no varied): nothing marked, no legend.
	f.setRun(testRun())
	doc, _ = page(t, srv.URL+"/runs/r1")
	if marks := find(doc, hasAttr("data-untrained")); len(marks) != 0 {
		t.Errorf("%d untrained marks without varied", len(marks))
	}
}

// TestDashboardBounds: no directory listing of the assets, and an error
// echoing a long id is cut short.
func TestDashboardBounds(t *testing.T) {
	f := newFake()
	srv := serve(t, f)
	for _, u := range []string{"/assets/", "/assets"} {
		if r := get(t, srv.URL+u); r.code == http.StatusOK {
			t.Errorf("GET %s: 200, a listing of the assets", u)
		}
	}
	long := strings.Repeat("x", 5000)
	r := get(t, srv.URL+"/runs/"+long)
	if r.code != http.StatusNotFound || len(r.body) > 1000 {
		t.Errorf("unknown long id: %d with a %d-byte body", r.code, len(r.body))
	}
}
