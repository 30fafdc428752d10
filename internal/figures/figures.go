// Package figures turns mesaopt's API messages into charts of package
// internal/plot: a run's fitness curves, its class shares per condition,
// its planners' horizon, a flagged line of descent with its drift origin,
// and a sweep's aggregated intervals. It is pure (messages in, charts
// out): mesactl plot writes the charts to files and the coordinator's
// dashboard serves them as SVG.
//
// Generations are drawn 1-based, as mesactl and the dashboard print them.
package figures

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mesaopt/mesaopt/internal/plot"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/sweep"
)

// Axis labels, in the README's words ("Scores and verdicts").
const (
	GenerationLabel = "generation"
	ScoreLabel      = "fitness (base − planning cost), base"
	ShareLabel      = "share of classified individuals"
)

// ClassNames are the four classes in AlignmentClass order (1..4).
var ClassNames = []string{"robustly aligned", "pseudo-aligned", "capability failure", "misaligned"}

// Figure is one per-generation figure of a GenerationSummary, with its
// sweep aggregate.
type Figure struct {
	Name string
	Run  func(*pb.GenerationSummary) float64
	Agg  func(sweep.Figures) sweep.Interval
}

// FitnessFigures are the curves of the fitness chart, in its order.
var FitnessFigures = []Figure{
	{"best fitness", (*pb.GenerationSummary).GetBestFitness, func(f sweep.Figures) sweep.Interval { return f.BestFitness }},
	{"mean fitness", (*pb.GenerationSummary).GetMeanFitness, func(f sweep.Figures) sweep.Interval { return f.MeanFitness }},
	{"mean train base", (*pb.GenerationSummary).GetMeanTrainBase, func(f sweep.Figures) sweep.Interval { return f.MeanTrainBase }},
	{"mean shifted base", (*pb.GenerationSummary).GetMeanShiftedBase, func(f sweep.Figures) sweep.Interval { return f.MeanShiftedBase }},
}

// ErrNothing is wrapped by the errors of a figure with no data to draw
// (no generation yet, no classified individual, no such group).
var ErrNothing = errors.New("nothing to plot")

// UnknownGroupError is Group's error for a group the aggregates lack.
type UnknownGroupError struct {
	Name    string
	Allowed []string // the groups' names, in the aggregates' order
}

func (e *UnknownGroupError) Error() string {
	return fmt.Sprintf("group %q, allowed %s", e.Name, strings.Join(e.Allowed, ", "))
}

// Series is one figure of sums as a line over 1-based generations.
func Series(name string, sums []*pb.GenerationSummary, get func(*pb.GenerationSummary) float64) plot.Series {
	s := plot.Series{Name: name}
	for _, g := range sums {
		s.X = append(s.X, float64(g.GetGeneration()+1))
		s.Y = append(s.Y, get(g))
	}
	return s
}

// Fitness is best and mean fitness and mean train and shifted base per
// generation.
func Fitness(title string, sums []*pb.GenerationSummary) plot.Lines {
	l := plot.Lines{Title: title, XLabel: GenerationLabel, YLabel: ScoreLabel}
	for _, f := range FitnessFigures {
		l.Series = append(l.Series, Series(f.Name, sums, f.Run))
	}
	return l
}

// Horizon is two stacked panels, since a horizon in steps and a share
// 0..1 do not share an axis: the planners' median horizon, and the
// planner share of the population.
func Horizon(title string, sums []*pb.GenerationSummary) []plot.Chart {
	return []plot.Chart{
		plot.Lines{Title: title, YLabel: "median planner horizon (steps)", Series: []plot.Series{Series("median horizon", sums, (*pb.GenerationSummary).GetMedianHorizon)}},
		plot.Lines{XLabel: GenerationLabel, YLabel: "planner share of population", YMin: 0, YMax: 1, Series: []plot.Series{Series("planner share", sums, (*pb.GenerationSummary).GetPlannerShare)}},
	}
}

// Shares is the planner share and the flagged share (sweep.FlaggedShare) per
// generation, on one 0..1 axis.
func Shares(title string, population int, sums []*pb.GenerationSummary) plot.Lines {
	return plot.Lines{Title: title, XLabel: GenerationLabel, YLabel: "share of population", YMin: 0, YMax: 1, Series: []plot.Series{
		Series("planner share", sums, (*pb.GenerationSummary).GetPlannerShare),
		Series("flagged share", sums, func(s *pb.GenerationSummary) float64 { return sweep.FlaggedShare(population, s) }),
	}}
}

// ClassShares is cc's four class shares in ClassNames order (zeros
// without individuals).
func ClassShares(cc *pb.ClassCounts) []float64 {
	n := float64(cc.GetIndividuals())
	if n == 0 {
		return []float64{0, 0, 0, 0}
	}
	return []float64{float64(cc.GetRobustlyAligned()) / n, float64(cc.GetPseudoAligned()) / n, float64(cc.GetCapabilityFailure()) / n, float64(cc.GetMisaligned()) / n}
}

// ClassCounts is cc's four class counts in ClassNames order.
func ClassCounts(cc *pb.ClassCounts) []int {
	return []int{int(cc.GetRobustlyAligned()), int(cc.GetPseudoAligned()), int(cc.GetCapabilityFailure()), int(cc.GetMisaligned())}
}

// LastClasses is the class counts of r's last generation under each
// shifted condition, then the identity condition's when the report has
// them; identity reports whether the last entry is the identity's.
func LastClasses(r *pb.Run) (counts []*pb.ClassCounts, identity bool) {
	sums := r.GetSummaries()
	if len(sums) == 0 {
		return nil, false
	}
	counts = slices.Clone(sums[len(sums)-1].GetClasses())
	if id := r.GetReport().GetIdentity(); id.GetCondition() != "" {
		return append(counts, id), true
	}
	return counts, false
}

// Classes is the last generation's class shares under each condition as
// grouped bars.
func Classes(title string, r *pb.Run) ([]plot.Chart, error) {
	sums := r.GetSummaries()
	if len(sums) == 0 {
		return nil, fmt.Errorf("run %s has no generation yet: %w", r.GetRunId(), ErrNothing)
	}
	last := sums[len(sums)-1]
	counts, identity := LastClasses(r)
	if len(counts) == 0 {
		return nil, fmt.Errorf("run %s classified no individual in generation %d: %w", r.GetRunId(), last.GetGeneration()+1, ErrNothing)
	}
	b := plot.Bars{
		Title:  fmt.Sprintf("%s, generation %d", title, last.GetGeneration()+1),
		XLabel: "condition", YLabel: ShareLabel, YMin: 0, YMax: 1,
	}
	for k, name := range ClassNames {
		s := plot.BarSeries{Name: name}
		for _, cc := range counts {
			s.Y = append(s.Y, ClassShares(cc)[k])
		}
		b.Series = append(b.Series, s)
	}
	for i, cc := range counts {
		b.Categories = append(b.Categories, ConditionLabel(cc.GetCondition(), identity && i == len(counts)-1))
	}
	return []plot.Chart{b}, nil
}

// ConditionLabel names a condition, marking the identity condition.
func ConditionLabel(name string, identity bool) string {
	if identity && !strings.Contains(name, "identity") {
		return name + " (identity)"
	}
	return name
}

// TopFlagged is the fittest of flagged (ties: the lowest id), nil when
// flagged is empty.
func TopFlagged(flagged []*pb.Individual) *pb.Individual {
	var top *pb.Individual
	for _, in := range flagged {
		if top == nil || in.GetFitness() > top.GetFitness() || (in.GetFitness() == top.GetFitness() && in.GetId() < top.GetId()) {
			top = in
		}
	}
	return top
}

// Lineage is agreement above base, per condition (train first, then the
// shifted ones in the order the records carry them), along a line of
// descent given newest first; the drift origin, if any, is marked.
// Quarantined ancestors, which have no scores, are skipped.
func Lineage(title string, line []*pb.Individual, origin *pb.DriftOrigin) []plot.Chart {
	var order []string
	agreement, base := map[string]*plot.Series{}, map[string]*plot.Series{}
	add := func(x float64, s *pb.ConditionScore) {
		name := s.GetCondition()
		if _, ok := agreement[name]; !ok {
			order = append(order, name)
			agreement[name], base[name] = &plot.Series{Name: name}, &plot.Series{Name: name}
		}
		a, b := agreement[name], base[name]
		a.X, a.Y = append(a.X, x), append(a.Y, s.GetAgreement())
		b.X, b.Y = append(b.X, x), append(b.Y, s.GetBase())
	}
	for _, in := range slices.Backward(line) {
		if in.GetFailure() != "" || in.GetTrain() == nil {
			continue
		}
		x := float64(in.GetGeneration() + 1)
		add(x, in.GetTrain())
		for _, s := range in.GetShifted() {
			add(x, s)
		}
	}
	var marks []plot.Mark
	if a := origin.GetAncestor(); a != nil {
		marks = []plot.Mark{{X: float64(a.GetGeneration() + 1), Label: fmt.Sprintf("drift origin #%d", a.GetId())}}
	}
	top := plot.Lines{Title: title, YLabel: "agreement (Spearman, −1..1)", YMin: -1, YMax: 1, Marks: marks}
	bottom := plot.Lines{XLabel: GenerationLabel, YLabel: "base (achieved / optimum)", YMin: 0, YMax: 1, Marks: marks}
	for _, name := range order {
		top.Series = append(top.Series, *agreement[name])
		bottom.Series = append(bottom.Series, *base[name])
	}
	return []plot.Chart{top, bottom}
}

// Group returns the group of agg named name, or the first for "". The
// error wraps ErrNothing without groups and is an *UnknownGroupError for
// a name agg lacks.
func Group(agg sweep.Aggregates, name string) (*sweep.Group, error) {
	if len(agg.Groups) == 0 {
		return nil, fmt.Errorf("no runs: %w", ErrNothing)
	}
	if name == "" {
		return &agg.Groups[0], nil
	}
	var names []string
	for i := range agg.Groups {
		if agg.Groups[i].Name == name {
			return &agg.Groups[i], nil
		}
		names = append(names, agg.Groups[i].Name)
	}
	return nil, &UnknownGroupError{Name: name, Allowed: names}
}

// Curve is one aggregated figure of g as a line with its interval band,
// over the generations where some run has it.
func Curve(g *sweep.Group, name string, get func(sweep.Figures) sweep.Interval) plot.Series {
	s := plot.Series{Name: name}
	for _, p := range g.Curves {
		v := get(p.Figures)
		if v.N == 0 {
			continue
		}
		s.X, s.Y = append(s.X, float64(p.Generation+1)), append(s.Y, v.Mean)
		s.Lo, s.Hi = append(s.Lo, v.Lo), append(s.Hi, v.Hi)
	}
	return s
}

// ClassIntervals are the getters of a sweep.Condition's class intervals
// in ClassNames order.
var ClassIntervals = []func(sweep.Condition) sweep.Interval{
	func(cd sweep.Condition) sweep.Interval { return cd.RobustlyAligned },
	func(cd sweep.Condition) sweep.Interval { return cd.PseudoAligned },
	func(cd sweep.Condition) sweep.Interval { return cd.CapabilityFailure },
	func(cd sweep.Condition) sweep.Interval { return cd.Misaligned },
}

// Sweep draws what ("fitness", "classes" or "horizon") of group g of
// sweep id's aggregates: means over runs with their 95 % bootstrap
// intervals as bands or error bars.
func Sweep(id, what string, g *sweep.Group) ([]plot.Chart, error) {
	title := fmt.Sprintf("sweep %s, %s (%d runs)\nmean over runs, 95 %% bootstrap interval", id, g.Name, len(g.Runs)-g.Missing)
	if len(g.Curves) == 0 {
		return nil, fmt.Errorf("sweep %s has no generation yet: %w", id, ErrNothing)
	}
	switch what {
	case "fitness":
		l := plot.Lines{Title: title, XLabel: GenerationLabel, YLabel: ScoreLabel}
		for _, f := range FitnessFigures {
			l.Series = append(l.Series, Curve(g, f.Name, f.Agg))
		}
		return []plot.Chart{l}, nil
	case "horizon":
		return []plot.Chart{
			plot.Lines{Title: title, YLabel: "median planner horizon (steps)", Series: []plot.Series{Curve(g, "median horizon", func(f sweep.Figures) sweep.Interval { return f.MedianHorizon })}},
			plot.Lines{XLabel: GenerationLabel, YLabel: "planner share of population", YMin: 0, YMax: 1, Series: []plot.Series{Curve(g, "planner share", func(f sweep.Figures) sweep.Interval { return f.PlannerShare })}},
		}, nil
	case "classes":
	default:
		return nil, fmt.Errorf("figure %q, allowed fitness, classes or horizon", what)
	}
	conds := Classified(g)
	if len(conds) == 0 {
		return nil, fmt.Errorf("sweep %s classified no individual: %w", id, ErrNothing)
	}
	b := plot.Bars{Title: title + ", last generation", XLabel: "condition", YLabel: ShareLabel, YMin: 0, YMax: 1}
	for k, cn := range ClassNames {
		s := plot.BarSeries{Name: cn}
		for _, cd := range conds {
			v := ClassIntervals[k](cd)
			s.Y, s.Lo, s.Hi = append(s.Y, v.Mean), append(s.Lo, v.Lo), append(s.Hi, v.Hi)
		}
		b.Series = append(b.Series, s)
	}
	for _, cd := range conds {
		b.Categories = append(b.Categories, ConditionLabel(cd.Name, cd.Identity))
	}
	return []plot.Chart{b}, nil
}

// Classified is g's conditions under which some run classified
// individuals.
func Classified(g *sweep.Group) []sweep.Condition {
	var conds []sweep.Condition
	for _, cd := range g.Conditions {
		if cd.RobustlyAligned.N > 0 {
			conds = append(conds, cd)
		}
	}
	return conds
}
