package main

// mesactl plot: a run's or a sweep's figures as SVG, PNG or PDF files
// (package internal/plot draws them).

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mesaopt/mesaopt/internal/plot"
	"github.com/mesaopt/mesaopt/internal/sweepview"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/sweep"
)

// plotKinds are the --what values, in the order messages name them.
var plotKinds = []string{"fitness", "classes", "horizon", "lineage"}

// Axis labels, in the README's words ("Scores and verdicts").
const (
	generationLabel = "generation"
	scoreLabel      = "fitness (base − planning cost), base"
	shareLabel      = "share of classified individuals"
)

// classNames are the four classes in AlignmentClass order.
var classNames = []string{"robustly aligned", "pseudo-aligned", "capability failure", "misaligned"}

func plotCmd(c *client) *cobra.Command {
	var what, file, group string
	cmd := withoutOutputs(&cobra.Command{
		Use:   "plot RUN_ID|SWEEP_ID --what fitness|classes|horizon|lineage --file out.svg|out.png|out.pdf",
		Short: "Draw a run's or a sweep's figure for a paper: fitness curves, classes, horizons or a flagged line of descent",
		Long: `Draw one figure of a run, or of a sweep's runs together, into --file (SVG, PNG or PDF by its extension).

  fitness  best and mean fitness, mean train base and mean shifted base per generation (1-based)
  classes  the last generation's class shares under each shifted condition, as grouped bars
  horizon  the planners' median horizon per generation above the planner share (0..1)
  lineage  the line of descent of the last generation's fittest flagged planner: agreement and base
           under train and each shifted condition per generation, its drift origin marked (runs only;
           exit 1 when no planner is flagged)

For a sweep every figure is the mean over its runs with a 95 % bootstrap interval (a band, or error
bars): of the group --group names, by default the first one mesactl sweep show lists.`,
		Args: cobra.ExactArgs(1),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, s string) ([]cobra.Completion, cobra.ShellCompDirective) {
			runs, d := c.completeRuns(cmd, args, s)
			sweeps, _ := c.completeSweeps(cmd, args, s)
			return append(runs, sweeps...), d
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			format, _ := plot.FormatOf(file) // vetted by the check below
			charts, err := c.plotCharts(cmd, args[0], what, group)
			if err != nil {
				return err
			}
			b, err := plot.Render(format, charts...)
			if err != nil {
				return err
			}
			return os.WriteFile(file, b, 0o644)
		},
	}, "allowed --file PATH with .svg, .png or .pdf")
	cmd.Flags().StringVar(&what, "what", "fitness", "the figure: "+orList(plotKinds))
	cmd.Flags().StringVarP(&file, "file", "f", "", "write the figure to this file; its extension (.svg, .png or .pdf) chooses the format")
	cmd.Flags().StringVar(&group, "group", "", "with a sweep id: the group of runs to draw (all, or path=value as mesactl sweep show names them); default the first")
	return c.check(cmd, func([]string) error {
		if !slices.Contains(plotKinds, what) {
			return usageError{fmt.Errorf("--what %q, allowed %s", what, orList(plotKinds))}
		}
		if file == "" {
			return usageError{errors.New("--file is required, allowed a path ending in .svg, .png or .pdf")}
		}
		if _, err := plot.FormatOf(file); err != nil {
			return usageError{fmt.Errorf("--file %q, allowed a path ending in .svg, .png or .pdf", file)}
		}
		return nil
	})
}

// plotCharts fetches id as a run, or else as a sweep, and returns the
// charts of what.
func (c *client) plotCharts(cmd *cobra.Command, id, what, group string) ([]plot.Chart, error) {
	ctx, cancel := c.call(cmd.Context())
	resp, err := c.runs.GetRun(ctx, &pb.GetRunRequest{RunId: id})
	cancel()
	if status.Code(err) == codes.NotFound {
		_, params, runs, serr := sweepview.Load(cmd.Context(), c.runs, id, c.timeout)
		if status.Code(serr) == codes.NotFound {
			return nil, fmt.Errorf("no run or sweep %q", id)
		}
		if serr != nil {
			return nil, serr
		}
		if what == "lineage" {
			return nil, usageError{fmt.Errorf("--what lineage takes a run id; %s is a sweep, allowed fitness, classes or horizon", id)}
		}
		return sweepCharts(id, what, group, sweep.Aggregate(params, runs))
	}
	if err != nil {
		return nil, err
	}
	if group != "" {
		return nil, usageError{fmt.Errorf("--group %q applies to a sweep id; %s is a run", group, id)}
	}
	r := resp.GetRun()
	if len(r.GetSummaries()) == 0 {
		return nil, fmt.Errorf("run %s has no generation yet: nothing to plot", id)
	}
	title := fmt.Sprintf("run %s (seed %d)", r.GetRunId(), r.GetSpec().GetSeed())
	switch what {
	case "fitness":
		return []plot.Chart{runFitness(title, r.GetSummaries())}, nil
	case "classes":
		return runClasses(title, r)
	case "horizon":
		return runHorizon(title, r.GetSummaries()), nil
	}
	return c.lineagePlot(cmd, title, r)
}

// summaryFigures are the per-generation figures of the fitness chart.
var summaryFigures = []struct {
	name string
	run  func(*pb.GenerationSummary) float64
	agg  func(sweep.Figures) sweep.Interval
}{
	{"best fitness", (*pb.GenerationSummary).GetBestFitness, func(f sweep.Figures) sweep.Interval { return f.BestFitness }},
	{"mean fitness", (*pb.GenerationSummary).GetMeanFitness, func(f sweep.Figures) sweep.Interval { return f.MeanFitness }},
	{"mean train base", (*pb.GenerationSummary).GetMeanTrainBase, func(f sweep.Figures) sweep.Interval { return f.MeanTrainBase }},
	{"mean shifted base", (*pb.GenerationSummary).GetMeanShiftedBase, func(f sweep.Figures) sweep.Interval { return f.MeanShiftedBase }},
}

func runSeries(name string, sums []*pb.GenerationSummary, get func(*pb.GenerationSummary) float64) plot.Series {
	s := plot.Series{Name: name}
	for _, g := range sums {
		s.X = append(s.X, float64(g.GetGeneration()+1))
		s.Y = append(s.Y, get(g))
	}
	return s
}

func runFitness(title string, sums []*pb.GenerationSummary) plot.Lines {
	l := plot.Lines{Title: title, XLabel: generationLabel, YLabel: scoreLabel}
	for _, f := range summaryFigures {
		l.Series = append(l.Series, runSeries(f.name, sums, f.run))
	}
	return l
}

// runHorizon is two stacked panels: a horizon in steps and a share 0..1
// do not share an axis.
func runHorizon(title string, sums []*pb.GenerationSummary) []plot.Chart {
	return []plot.Chart{
		plot.Lines{Title: title, YLabel: "median planner horizon (steps)", Series: []plot.Series{runSeries("median horizon", sums, (*pb.GenerationSummary).GetMedianHorizon)}},
		plot.Lines{XLabel: generationLabel, YLabel: "planner share of population", YMin: 0, YMax: 1, Series: []plot.Series{runSeries("planner share", sums, (*pb.GenerationSummary).GetPlannerShare)}},
	}
}

func classShares(cc *pb.ClassCounts) []float64 {
	n := float64(cc.GetIndividuals())
	if n == 0 {
		return []float64{0, 0, 0, 0}
	}
	return []float64{float64(cc.GetRobustlyAligned()) / n, float64(cc.GetPseudoAligned()) / n, float64(cc.GetCapabilityFailure()) / n, float64(cc.GetMisaligned()) / n}
}

func runClasses(title string, r *pb.Run) ([]plot.Chart, error) {
	last := r.GetSummaries()[len(r.GetSummaries())-1]
	counts := slices.Clone(last.GetClasses())
	if id := r.GetReport().GetIdentity(); id.GetCondition() != "" {
		counts = append(counts, id)
	}
	if len(counts) == 0 {
		return nil, fmt.Errorf("run %s classified no individual in generation %d: nothing to plot", r.GetRunId(), last.GetGeneration()+1)
	}
	b := plot.Bars{
		Title:  fmt.Sprintf("%s, generation %d", title, last.GetGeneration()+1),
		XLabel: "condition", YLabel: shareLabel, YMin: 0, YMax: 1,
	}
	for k, name := range classNames {
		s := plot.BarSeries{Name: name}
		for _, cc := range counts {
			s.Y = append(s.Y, classShares(cc)[k])
		}
		b.Series = append(b.Series, s)
	}
	for i, cc := range counts {
		name := cc.GetCondition()
		if i == len(last.GetClasses()) && !strings.Contains(name, "identity") {
			name += " (identity)"
		}
		b.Categories = append(b.Categories, name)
	}
	return []plot.Chart{b}, nil
}

// lineagePlot draws the line of descent of the last generation's fittest
// flagged planner (ties: lowest id).
func (c *client) lineagePlot(cmd *cobra.Command, title string, r *pb.Run) ([]plot.Chart, error) {
	var top *pb.Individual
	req := &pb.ListFlaggedRequest{RunId: r.GetRunId(), Kind: pb.GenomeKind_GENOME_KIND_PLANNER, PageSize: 1000}
	for {
		ctx, cancel := c.call(cmd.Context())
		resp, err := c.lineage.ListFlagged(ctx, req)
		cancel()
		if err != nil {
			return nil, err
		}
		for _, in := range resp.GetIndividuals() {
			if top == nil || in.GetFitness() > top.GetFitness() || (in.GetFitness() == top.GetFitness() && in.GetId() < top.GetId()) {
				top = in
			}
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	if top == nil {
		return nil, fmt.Errorf("run %s has no flagged planner in its last generation: no line of descent to plot", r.GetRunId())
	}
	ctx, cancel := c.call(cmd.Context())
	defer cancel()
	line, err := c.lineage.GetLineOfDescent(ctx, &pb.GetLineOfDescentRequest{RunId: r.GetRunId(), IndividualId: top.GetId()})
	if err != nil {
		return nil, err
	}
	origin, err := c.lineage.GetDriftOrigin(ctx, &pb.GetDriftOriginRequest{RunId: r.GetRunId(), IndividualId: top.GetId()})
	if err != nil {
		return nil, err
	}
	return lineageCharts(fmt.Sprintf("%s: line of descent of #%d", title, top.GetId()), line.GetIndividuals(), origin.GetOrigin()), nil
}

// lineageCharts is agreement above base, per condition (train first, then
// the shifted ones in the order the records carry them), along a line of
// descent given newest first; the drift origin, if any, is marked.
func lineageCharts(title string, line []*pb.Individual, origin *pb.DriftOrigin) []plot.Chart {
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
			continue // quarantined: no scores
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
	bottom := plot.Lines{XLabel: generationLabel, YLabel: "base (achieved / optimum)", YMin: 0, YMax: 1, Marks: marks}
	for _, name := range order {
		top.Series = append(top.Series, *agreement[name])
		bottom.Series = append(bottom.Series, *base[name])
	}
	return []plot.Chart{top, bottom}
}

// sweepCharts draws what of one group of a sweep's aggregates.
func sweepCharts(id, what, name string, agg sweep.Aggregates) ([]plot.Chart, error) {
	if len(agg.Groups) == 0 {
		return nil, fmt.Errorf("sweep %s has no runs: nothing to plot", id)
	}
	var names []string
	g := &agg.Groups[0]
	for i := range agg.Groups {
		names = append(names, agg.Groups[i].Name)
		if agg.Groups[i].Name == name {
			g = &agg.Groups[i]
		}
	}
	if name != "" && g.Name != name {
		return nil, usageError{fmt.Errorf("--group %q, allowed %s", name, orList(names))}
	}
	title := fmt.Sprintf("sweep %s, %s (%d runs)\nmean over runs, 95 %% bootstrap interval", id, g.Name, len(g.Runs)-g.Missing)
	if len(g.Curves) == 0 {
		return nil, fmt.Errorf("sweep %s has no generation yet: nothing to plot", id)
	}
	curve := func(name string, get func(sweep.Figures) sweep.Interval) plot.Series {
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
	switch what {
	case "fitness":
		l := plot.Lines{Title: title, XLabel: generationLabel, YLabel: scoreLabel}
		for _, f := range summaryFigures {
			l.Series = append(l.Series, curve(f.name, f.agg))
		}
		return []plot.Chart{l}, nil
	case "horizon":
		return []plot.Chart{
			plot.Lines{Title: title, YLabel: "median planner horizon (steps)", Series: []plot.Series{curve("median horizon", func(f sweep.Figures) sweep.Interval { return f.MedianHorizon })}},
			plot.Lines{XLabel: generationLabel, YLabel: "planner share of population", YMin: 0, YMax: 1, Series: []plot.Series{curve("planner share", func(f sweep.Figures) sweep.Interval { return f.PlannerShare })}},
		}, nil
	}
	var conds []sweep.Condition
	for _, cd := range g.Conditions {
		if cd.RobustlyAligned.N > 0 {
			conds = append(conds, cd)
		}
	}
	if len(conds) == 0 {
		return nil, fmt.Errorf("sweep %s classified no individual: nothing to plot", id)
	}
	b := plot.Bars{Title: title + ", last generation", XLabel: "condition", YLabel: shareLabel, YMin: 0, YMax: 1}
	gets := []func(sweep.Condition) sweep.Interval{
		func(cd sweep.Condition) sweep.Interval { return cd.RobustlyAligned },
		func(cd sweep.Condition) sweep.Interval { return cd.PseudoAligned },
		func(cd sweep.Condition) sweep.Interval { return cd.CapabilityFailure },
		func(cd sweep.Condition) sweep.Interval { return cd.Misaligned },
	}
	for k, cn := range classNames {
		s := plot.BarSeries{Name: cn}
		for _, cd := range conds {
			v := gets[k](cd)
			s.Y, s.Lo, s.Hi = append(s.Y, v.Mean), append(s.Lo, v.Lo), append(s.Hi, v.Hi)
		}
		b.Series = append(b.Series, s)
	}
	for _, cd := range conds {
		name := cd.Name
		if cd.Identity && !strings.Contains(name, "identity") {
			name += " (identity)"
		}
		b.Categories = append(b.Categories, name)
	}
	return []plot.Chart{b}, nil
}
