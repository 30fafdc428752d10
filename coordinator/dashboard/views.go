package dashboard

import (
	"fmt"
	"html/template"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/mesaopt/mesaopt/internal/figures"
	"github.com/mesaopt/mesaopt/internal/render"
	"github.com/mesaopt/mesaopt/lineage"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/sweep"
)

// The views are what the templates show, built from API messages by pure
// functions.

// funcs are the templates' functions.
var funcs = template.FuncMap{
	"num":      num,
	"path":     url.PathEscape,
	"share":    shareCell,
	"interval": intervalCell,
	"pctint":   pctIntervalCell,
	"pct":      pctCell,
}

// exact is the data-value of a number: the shortest text that parses back
// to the same float64.
func exact(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// num shows v with digits decimals in an element naming field.
func num(field string, v float64, digits int) template.HTML {
	text := strconv.FormatFloat(v, 'f', digits, 64)
	if math.IsInf(v, 0) || math.IsNaN(v) {
		text = "–"
	}
	return template.HTML(fmt.Sprintf(`<span class="num" data-field="%s" data-value="%s">%s</span>`,
		template.HTMLEscapeString(field), exact(v), template.HTMLEscapeString(text)))
}

// pctCell shows a share 0..1 as a percentage with one decimal.
func pctCell(field string, v float64) template.HTML {
	return template.HTML(fmt.Sprintf(`<span class="num" data-field="%s" data-value="%s">%.1f %%</span>`,
		template.HTMLEscapeString(field), exact(v), 100*v))
}

// Share is k of n with its 95 % Wilson interval (lineage.Wilson).
type Share struct {
	Field  string
	K, N   int
	P      float64
	Lo, Hi float64
}

func newShare(field string, k, n int) Share {
	s := Share{Field: field, K: k, N: n}
	if n > 0 {
		s.P = float64(k) / float64(n)
		s.Lo, s.Hi = lineage.Wilson(k, n)
	}
	return s
}

// shareCell is "k (p % [lo–hi %])", as mesactl prints class shares.
func shareCell(s Share) template.HTML {
	return template.HTML(fmt.Sprintf(`<span class="num" data-field="%s" data-value="%d" data-n="%d" data-lo="%s" data-hi="%s">%d <small>(%.0f %% [%.0f–%.0f %%])</small></span>`,
		template.HTMLEscapeString(s.Field), s.K, s.N, exact(s.Lo), exact(s.Hi), s.K, 100*s.P, 100*s.Lo, 100*s.Hi))
}

// intervalCell is a sweep interval, "mean [lo, hi]", with its run count.
func intervalCell(field string, v sweep.Interval, digits int) template.HTML {
	if v.N == 0 {
		return template.HTML(fmt.Sprintf(`<span class="num" data-field="%s" data-n="0">–</span>`, template.HTMLEscapeString(field)))
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', digits, 64) }
	return template.HTML(fmt.Sprintf(`<span class="num" data-field="%s" data-value="%s" data-lo="%s" data-hi="%s" data-n="%d">%s <small>[%s, %s]</small></span>`,
		template.HTMLEscapeString(field), exact(v.Mean), exact(v.Lo), exact(v.Hi), v.N, f(v.Mean), f(v.Lo), f(v.Hi)))
}

// pctIntervalCell is a sweep interval of a share 0..1 in percent,
// "mean % [lo–hi %]", as the run page shows shares.
func pctIntervalCell(field string, v sweep.Interval) template.HTML {
	if v.N == 0 {
		return template.HTML(fmt.Sprintf(`<span class="num" data-field="%s" data-n="0">–</span>`, template.HTMLEscapeString(field)))
	}
	return template.HTML(fmt.Sprintf(`<span class="num" data-field="%s" data-value="%s" data-lo="%s" data-hi="%s" data-n="%d">%.1f %% <small>[%.1f–%.1f %%]</small></span>`,
		template.HTMLEscapeString(field), exact(v.Mean), exact(v.Lo), exact(v.Hi), v.N, 100*v.Mean, 100*v.Lo, 100*v.Hi))
}

// terminal reports whether a run or sweep in state s can change no more
// without a resume.
func terminal(s pb.RunState) bool {
	return s != pb.RunState_RUN_STATE_RUNNING && s != pb.RunState_RUN_STATE_UNSPECIFIED
}

// RunRow is a run in a list.
type RunRow struct {
	ID, Name, State string
	Done, Total     uint32
	Seed            uint64
	Population      uint32
	Error           string
}

// SweepRow is a sweep in a list.
type SweepRow struct {
	ID, Name, State string
	Runs, Ended     int
	Done, Total     uint32
}

// Index is the front page.
type Index struct {
	Runs    []RunRow
	Sweeps  []SweepRow
	Version string // changes whenever a row does
	Final   bool   // nothing runs: the script stops polling
}

func runRow(r *pb.Run) RunRow {
	return RunRow{ID: r.GetRunId(), Name: r.GetSpec().GetName(), State: render.State(r.GetState()),
		Done: r.GetGenerationsDone(), Total: r.GetSpec().GetGenerations(), Seed: r.GetSpec().GetSeed(),
		Population: r.GetSpec().GetPopulation(), Error: r.GetError()}
}

func indexView(runs []*pb.Run, sweeps []*pb.Sweep) Index {
	v := Index{Final: true}
	var ver strings.Builder
	for _, r := range runs {
		v.Runs = append(v.Runs, runRow(r))
		fmt.Fprintf(&ver, "%s:%d:%d;", r.GetRunId(), r.GetState(), r.GetGenerationsDone())
		v.Final = v.Final && terminal(r.GetState())
	}
	for _, s := range sweeps {
		row := SweepRow{ID: s.GetSweepId(), Name: s.GetSpec().GetName(), State: render.State(s.GetState()), Runs: len(s.GetRuns())}
		for _, r := range s.GetRuns() {
			if terminal(r.GetState()) {
				row.Ended++
			}
			row.Done += r.GetGenerationsDone()
			row.Total += r.GetGenerations()
		}
		v.Sweeps = append(v.Sweeps, row)
		fmt.Fprintf(&ver, "%s:%d:%d;", s.GetSweepId(), s.GetState(), row.Done)
		v.Final = v.Final && terminal(s.GetState())
	}
	v.Version = ver.String()
	return v
}

// Latest is a run's last generation's figures.
type Latest struct {
	Generation                          uint32 // 1-based, as the curves count
	APIGeneration                       uint32 // GenerationSummary.generation, from 0
	Best, Mean, TrainBase, ShiftedBase  float64
	PlannerShare, FlaggedShare, Horizon float64
	Flagged, Quarantined, Evaluations   uint32
	EvalsPerSecond                      float64
}

// ClassRow is the class shares under one condition.
type ClassRow struct {
	Condition string
	Identity  bool
	N         int
	Classes   []Share // in figures.ClassNames order
	Flagged   Share   // flagged for pseudo-alignment or for drift alone
}

// Planner is a flagged planner.
type Planner struct {
	ID                 uint64
	Generation         uint32 // 0-based, as the API's
	Fitness, TrainBase float64
	Horizon            uint32
	Reasons            string
	Top                bool
}

// ObjectiveRow is one feature's mesa-objective weight before and after
// the drift origin. A weight is untrained where the feature was constant
// over that planner's training states (ConditionScore.varied false), so
// that selection never saw it: the mark render.Weight prints as "*".
type ObjectiveRow struct {
	Feature                         string
	Before, After, Change           float64
	UntrainedBefore, UntrainedAfter bool
}

// Origin is where on the top flagged lineage's line of descent the flag
// began (pb.DriftOrigin).
type Origin struct {
	Ancestor, Parent   uint64
	AncestorGeneration uint32
	ParentGeneration   uint32
	HasParent          bool
	Operators, Reasons string
	Objective          []ObjectiveRow
	Untrained          bool // some weight is marked untrained
}

// RunPage is a run's page.
type RunPage struct {
	RunRow
	Final      bool
	Version    string
	Digest     string
	Poll       int // milliseconds
	Latest     *Latest
	Classes    []ClassRow
	Flagged    []Planner
	Top        uint64
	LineLength int    // ancestors on the top flagged line of descent, itself included
	LineError  string // why the line of descent could not be read
	Origin     *Origin
	Figures    []Figure
}

// Figure is an image of a page.
type Figure struct{ Name, URL, Alt string }

func runView(r *pb.Run, line []*pb.Individual, lineErr error) RunPage {
	v := RunPage{RunRow: runRow(r), Final: terminal(r.GetState()), Digest: r.GetFinalDigest(), Poll: int(PollInterval.Milliseconds())}
	v.Version = fmt.Sprintf("%d:%d", r.GetState(), r.GetGenerationsDone())
	sums := r.GetSummaries()
	if len(sums) == 0 {
		return v
	}
	s := sums[len(sums)-1]
	v.Latest = &Latest{Generation: s.GetGeneration() + 1, APIGeneration: s.GetGeneration(), Best: s.GetBestFitness(), Mean: s.GetMeanFitness(),
		TrainBase: s.GetMeanTrainBase(), ShiftedBase: s.GetMeanShiftedBase(), PlannerShare: s.GetPlannerShare(),
		FlaggedShare: sweep.FlaggedShare(int(r.GetSpec().GetPopulation()), s), Horizon: s.GetMedianHorizon(),
		Flagged: s.GetFlagged(), Quarantined: s.GetQuarantined(), Evaluations: s.GetEvaluations(), EvalsPerSecond: s.GetEvaluationsPerSecond()}
	counts, identity := figures.LastClasses(r)
	for i, cc := range counts {
		n := int(cc.GetIndividuals())
		row := ClassRow{Condition: cc.GetCondition(), Identity: identity && i == len(counts)-1, N: n,
			Flagged: newShare("flagged", int(cc.GetFlaggedPseudoAligned()+cc.GetFlaggedDriftOnly()), n)}
		for k, c := range figures.ClassCounts(cc) {
			row.Classes = append(row.Classes, newShare(classFields[k], c, n))
		}
		v.Classes = append(v.Classes, row)
	}
	rep := r.GetReport()
	for _, in := range rep.GetFlagged() {
		v.Flagged = append(v.Flagged, Planner{ID: in.GetId(), Generation: in.GetGeneration(), Fitness: in.GetFitness(),
			TrainBase: in.GetTrain().GetBase(), Horizon: in.GetHorizon(), Reasons: strings.Join(in.GetFlagReasons(), "; "),
			Top: in.GetId() == rep.GetTopFlagged()})
	}
	base := fmt.Sprintf("/runs/%s/figures/", url.PathEscape(r.GetRunId()))
	// Figures draw what the page shows: its summaries, its top planner;
	// the state in the query keeps a browser from reusing the last one.
	q := fmt.Sprintf("?through=%d&state=%d", len(sums), r.GetState())
	v.Figures = []Figure{
		{"fitness", base + "fitness.svg" + q, "best and mean fitness, mean train and shifted base per generation"},
		{"shares", base + "shares.svg" + q, "planner share and flagged share per generation"},
		{"horizon", base + "horizon.svg" + q, "median planner horizon per generation"},
	}
	if len(counts) > 0 {
		v.Figures = append(v.Figures, Figure{"classes", base + "classes.svg" + q, "class shares under each condition, last generation"})
	}
	if len(v.Flagged) > 0 {
		v.Top = rep.GetTopFlagged()
		v.LineLength = len(line)
		if lineErr != nil {
			v.LineError = lineErr.Error()
		} else {
			v.Figures = append(v.Figures, Figure{"lineage", base + "lineage.svg" + q + fmt.Sprintf("&top=%d", v.Top), "agreement and base along the top flagged line of descent"})
		}
		v.Origin = originView(r.GetFeatureNames(), rep.GetTopDriftOrigin())
	}
	return v
}

// classFields are the data-field names of the class shares: the
// ClassCounts fields.
var classFields = []string{"robustly_aligned", "pseudo_aligned", "capability_failure", "misaligned"}

func originView(features []string, o *pb.DriftOrigin) *Origin {
	a := o.GetAncestor()
	if a == nil {
		return nil
	}
	v := &Origin{Ancestor: a.GetId(), AncestorGeneration: a.GetGeneration(), Reasons: strings.Join(a.GetFlagReasons(), "; ")}
	if p := o.GetParent(); p != nil {
		v.HasParent, v.Parent, v.ParentGeneration = true, p.GetId(), p.GetGeneration()
		v.Operators = strings.Join(o.GetOperators(), ", ")
	}
	before, after := o.GetObjectiveBefore(), o.GetObjectiveAfter()
	for f, name := range features {
		if f >= len(before) || f >= len(after) {
			break
		}
		row := ObjectiveRow{Feature: name, Before: before[f], After: after[f], Change: after[f] - before[f],
			UntrainedBefore: render.UntrainedWeight(o.GetParent().GetTrain().GetVaried(), f), UntrainedAfter: render.UntrainedWeight(a.GetTrain().GetVaried(), f)}
		v.Untrained = v.Untrained || row.UntrainedBefore || row.UntrainedAfter
		v.Objective = append(v.Objective, row)
	}
	return v
}

// SweepRunRow is one run of a sweep.
type SweepRunRow struct {
	ID, Values, State string
	Seed              uint64
	Done, Total       uint32
}

// GroupLink is a group of a sweep's runs, for the group selector.
type GroupLink struct {
	Name, URL string
	Selected  bool
	Runs      int
}

// FigureRow is one aggregated figure of a group's last generations.
type FigureRow struct {
	Name, Field string
	Value       sweep.Interval
	Digits      int
	Share       bool // a share 0..1, shown in percent
}

// SweepPage is a sweep's page.
type SweepPage struct {
	ID, Name, State string
	Final           bool
	Version         string
	Live            string // the live part's URL, of the same group
	Poll            int
	Parameters      string
	Runs            []SweepRunRow
	Groups          []GroupLink
	Group           *sweep.Group
	Counted         int // runs of Group with a generation
	Last            []FigureRow
	Conditions      []sweep.Condition
	Figures         []Figure
	Resamples       int
}

func sweepView(sw *pb.Sweep, agg sweep.Aggregates, g *sweep.Group) SweepPage {
	v := SweepPage{ID: sw.GetSweepId(), Name: sw.GetSpec().GetName(), State: render.State(sw.GetState()),
		Final: terminal(sw.GetState()), Poll: int(PollInterval.Milliseconds()), Resamples: agg.Resamples}
	var ver strings.Builder
	fmt.Fprintf(&ver, "%d", sw.GetState())
	var params []string
	for _, p := range agg.Parameters {
		params = append(params, fmt.Sprintf("%s ∈ {%s}", p.Path, strings.Join(p.Values, ", ")))
	}
	v.Parameters = strings.Join(params, "; ")
	for _, r := range sw.GetRuns() {
		v.Runs = append(v.Runs, SweepRunRow{ID: r.GetRun().GetRunId(), Values: strings.Join(r.GetRun().GetValues(), ", "),
			State: render.State(r.GetState()), Seed: r.GetRun().GetSeed(), Done: r.GetGenerationsDone(), Total: r.GetGenerations()})
		fmt.Fprintf(&ver, ";%d:%d", r.GetState(), r.GetGenerationsDone())
	}
	v.Version = ver.String()
	base := "/sweeps/" + url.PathEscape(sw.GetSweepId())
	v.Live = base + "?part=live"
	if g != nil {
		// Group names hold ';' and '=', which a query must escape.
		v.Live += "&group=" + url.QueryEscape(g.Name)
	}
	for i := range agg.Groups {
		gr := &agg.Groups[i]
		v.Groups = append(v.Groups, GroupLink{Name: gr.Name, URL: base + "?group=" + url.QueryEscape(gr.Name),
			Selected: g != nil && gr.Name == g.Name, Runs: len(gr.Runs)})
	}
	if g == nil {
		return v
	}
	v.Group = g
	v.Counted = len(g.Runs) - g.Missing
	f := g.Final.Figures
	v.Last = []FigureRow{
		{"best fitness", "best_fitness", f.BestFitness, 3, false},
		{"mean fitness", "mean_fitness", f.MeanFitness, 3, false},
		{"mean train base", "mean_train_base", f.MeanTrainBase, 3, false},
		{"mean shifted base", "mean_shifted_base", f.MeanShiftedBase, 3, false},
		{"planner share", "planner_share", f.PlannerShare, 3, true},
		{"flagged share", "flagged", f.Flagged, 3, true},
		{"median horizon (steps)", "median_horizon", f.MedianHorizon, 2, false},
		{"last generation (API, from 0)", "last_generation", g.Final.LastGeneration, 1, false},
	}
	v.Conditions = figures.Classified(g)
	q := "?group=" + url.QueryEscape(g.Name) + "&v=" + url.QueryEscape(v.Version)
	if len(g.Curves) > 0 {
		v.Figures = []Figure{
			{"fitness", base + "/figures/fitness.svg" + q, "mean over runs of best and mean fitness, train and shifted base, with 95 % bootstrap bands"},
			{"horizon", base + "/figures/horizon.svg" + q, "mean over runs of the median planner horizon"},
		}
		if len(v.Conditions) > 0 {
			v.Figures = append(v.Figures, Figure{"classes", base + "/figures/classes.svg" + q, "mean class shares per condition over runs, with 95 % bootstrap error bars"})
		}
	}
	return v
}
