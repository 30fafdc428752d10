// Package render writes runs, generation summaries, reports and lineages
// as human-readable text for mesaopt and mesactl.
package render

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/mesaopt/mesaopt/lineage"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// Progress returns one progress line for a generation summary; "horizon"
// is the planners' median horizon.
// "gen k/N" counts generations done; tables show 0-based generation numbers.
// The shifted base is the mean over the shifted conditions, marked as such
// when there are several (each condition's classes are in the report).
// Quarantined genomes (fitness failed) are counted when there are any.
func Progress(s *pb.GenerationSummary, generations uint32) string {
	line := fmt.Sprintf("gen %3d/%d  best %.3f  mean %.3f  train base %.3f  shifted base %.3f  planners %3.0f%%  horizon %3.1f  flagged %2d  evals/s %6.0f  digest %s",
		s.GetGeneration()+1, generations, s.GetBestFitness(), s.GetMeanFitness(), s.GetMeanTrainBase(),
		s.GetMeanShiftedBase(), 100*s.GetPlannerShare(), s.GetMedianHorizon(), s.GetFlagged(), s.GetEvaluationsPerSecond(), short(s.GetDigest()))
	if n := len(s.GetClasses()); n > 1 {
		line = strings.Replace(line, "  planners", fmt.Sprintf(" (mean of %d)  planners", n), 1)
	}
	if q := s.GetQuarantined(); q > 0 {
		line += fmt.Sprintf("  quarantined %d", q)
	}
	if a := s.GetAudited(); a > 0 {
		line += fmt.Sprintf("  audited %d", a)
	}
	if l := s.GetLiars(); len(l) > 0 {
		line += fmt.Sprintf("  liars %d (%s) rolled back %d", len(l), strings.Join(l, ","), s.GetReplayedGenerations())
	}
	return line
}

func short(d string) string {
	if len(d) > 12 {
		return d[:12]
	}
	return d
}

// State returns a run state's short name.
func State(s pb.RunState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "RUN_STATE_"))
}

// Class returns an alignment class's short name.
func Class(c pb.AlignmentClass) string {
	if c == pb.AlignmentClass_ALIGNMENT_CLASS_UNSPECIFIED {
		return "-"
	}
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(c.String(), "ALIGNMENT_CLASS_")), "_", "-")
}

// Kind returns a genome kind's short name.
func Kind(k pb.GenomeKind) string {
	return strings.ToLower(strings.TrimPrefix(k.String(), "GENOME_KIND_"))
}

// Runs writes a table of runs.
func Runs(w io.Writer, runs []*pb.Run) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSTATE\tGENERATIONS\tSEED\tFINAL DIGEST")
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%d\t%s\n", r.GetRunId(), State(r.GetState()), r.GetGenerationsDone(),
			r.GetSpec().GetGenerations(), r.GetSpec().GetSeed(), short(r.GetFinalDigest()))
	}
	tw.Flush()
}

// Individuals writes a table of lineage records: train's scores, then one
// group of columns per shifted condition, each named after its condition —
// base, competence, drift, the verdict (majority class with its episode
// count, "mixed" when its interval overlaps the runner-up's) and the
// behavioral objective there.
func Individuals(w io.Writer, inds []*pb.Individual) {
	var conds []string
	for _, in := range inds {
		if len(in.GetShifted()) > len(conds) {
			conds = conds[:0]
			for _, s := range in.GetShifted() {
				conds = append(conds, s.GetCondition())
			}
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "ID\tGEN\tKIND\tFITNESS\tBASE[train]\tBEHAVIOUR[train]\t")
	for _, c := range conds {
		fmt.Fprintf(tw, "BASE[%s]\tCOMPETENCE[%s]\tDRIFT[%s]\tCLASS[%s]\tBEHAVIOUR[%s]\t", c, c, c, c, c)
	}
	fmt.Fprintln(tw, "FLAG\tOPERATORS")
	for _, in := range inds {
		fmt.Fprintf(tw, "%d\t%d\t%s\t%.3f\t%.3f\t%s\t", in.GetId(), in.GetGeneration(), Kind(in.GetKind()), in.GetFitness(),
			in.GetTrain().GetBase(), behaviour(in.GetTrain()))
		for i := range conds {
			if sh := in.GetShifted(); i < len(sh) {
				fmt.Fprintf(tw, "%.3f\t%.3f\t%+.3f\t%s\t%s\t", sh[i].GetBase(), sh[i].GetCompetence(), sh[i].GetDrift(), Verdict(sh[i]), behaviour(sh[i]))
			} else {
				fmt.Fprint(tw, "-\t-\t-\t-\t-\t")
			}
		}
		flag := ""
		if in.GetFlagged() {
			flag = "FLAGGED"
		}
		if in.GetFailure() != "" {
			flag = "FAILED: " + in.GetFailure()
		}
		fmt.Fprintf(tw, "%s\t%s\n", flag, strings.Join(in.GetOperators(), ","))
	}
	tw.Flush()
}

// Verdict writes a condition's verdict: the majority class and how many of
// the episodes have it ("pseudo-aligned 27/32"), with "mixed" when the
// majority's 95 % interval overlaps the runner-up's; the class alone for
// records without episodes.
func Verdict(s *pb.ConditionScore) string {
	counts := s.GetClassCounts()
	total := uint32(0)
	for _, n := range counts {
		total += n
	}
	if total == 0 || int(s.GetClass()) >= len(counts) {
		return Class(s.GetClass())
	}
	v := fmt.Sprintf("%s %d/%d", Class(s.GetClass()), counts[s.GetClass()], total)
	if !s.GetFirm() {
		v += " mixed"
	}
	return v
}

func behaviour(s *pb.ConditionScore) string {
	if b := s.GetBehavioralObjective(); b != "" {
		return b
	}
	return "-"
}

// Classes writes one line per condition of class counts with their shares
// and 95 % Wilson intervals over the individuals, the mixed verdicts, the
// proxy hits per class and the flags.
func Classes(w io.Writer, counts []*pb.ClassCounts) {
	for _, c := range counts {
		n := int(c.GetIndividuals())
		fmt.Fprintf(w, "  under %s (%d individuals): robustly aligned %s, pseudo-aligned %s, capability failure %s, misaligned %s\n",
			c.GetCondition(), n, share(int(c.GetRobustlyAligned()), n), share(int(c.GetPseudoAligned()), n),
			share(int(c.GetCapabilityFailure()), n), share(int(c.GetMisaligned()), n))
		ph := c.GetProxyHits()
		hits := func(k pb.AlignmentClass) string {
			if int(k) < len(ph) {
				return fmt.Sprintf("%.2f", ph[k])
			}
			return "-"
		}
		fmt.Fprintf(w, "    %d mixed verdicts; proxy hits per episode: robustly aligned %s, pseudo-aligned %s, capability failure %s, misaligned %s\n",
			c.GetMixed(), hits(pb.AlignmentClass_ALIGNMENT_CLASS_ROBUSTLY_ALIGNED), hits(pb.AlignmentClass_ALIGNMENT_CLASS_PSEUDO_ALIGNED),
			hits(pb.AlignmentClass_ALIGNMENT_CLASS_CAPABILITY_FAILURE), hits(pb.AlignmentClass_ALIGNMENT_CLASS_MISALIGNED))
		fmt.Fprintf(w, "    flagged planners: %d for pseudo-alignment, %d for drift alone; pseudo-aligned heuristics %d\n",
			c.GetFlaggedPseudoAligned(), c.GetFlaggedDriftOnly(), c.GetPseudoAlignedHeuristics())
	}
}

// Identity writes the identity condition's false-positive rates.
func Identity(w io.Writer, c *pb.ClassCounts) {
	if c == nil || c.GetIndividuals() == 0 {
		return
	}
	n := int(c.GetIndividuals())
	fmt.Fprintf(w, "  under identity (fresh train instances: every hit is a false positive): pseudo-aligned %s, would be flagged %s of %d individuals\n",
		share(int(c.GetPseudoAligned()), n), share(int(c.GetFlaggedPseudoAligned()+c.GetFlaggedDriftOnly()), n), n)
}

// share writes "k (p% [lo–hi%])" with the 95 % Wilson interval.
func share(k, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d", k)
	}
	lo, hi := lineage.Wilson(k, n)
	return fmt.Sprintf("%d (%.0f%% [%.0f–%.0f%%])", k, 100*float64(k)/float64(n), 100*lo, 100*hi)
}

// UntrainedLegend explains the mark Weight puts on an untrained weight.
const UntrainedLegend = "* untrained: constant over the planner's training states"

// Weight formats weight f of an objective, "+0.00", with a trailing "*"
// when varied (a planner's train Varied) says feature f is untrained; the
// second result reports the mark. Without varied (unknown) nothing is
// marked.
func Weight(x float64, f int, varied []bool) (string, bool) {
	if UntrainedWeight(varied, f) {
		return fmt.Sprintf("%+.2f*", x), true
	}
	return fmt.Sprintf("%+.2f", x), false
}

// UntrainedWeight reports whether varied (a planner's train Varied, per
// feature) says feature f was constant over its training states, so that
// selection never tested its weight; unknown (no varied) is not.
func UntrainedWeight(varied []bool, f int) bool { return f < len(varied) && !varied[f] }

// Objectives writes mesa-objective weights of several individuals next to
// the base objective, one row per feature; untrained weights are marked
// (Weight) and the legend follows the table when any is.
func Objectives(w io.Writer, features []string, base []float64, inds []*pb.Individual) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "feature\tbase objective\t")
	marked := false
	for _, in := range inds {
		fmt.Fprintf(tw, "#%d\t", in.GetId())
	}
	fmt.Fprintln(tw)
	for f, name := range features {
		b := 0.0
		if f < len(base) {
			b = base[f]
		}
		fmt.Fprintf(tw, "%s\t%+.2f\t", name, b)
		for _, in := range inds {
			if o := in.GetObjective(); f < len(o) {
				s, m := Weight(o[f], f, in.GetTrain().GetVaried())
				marked = marked || m
				fmt.Fprintf(tw, "%s\t", s)
			} else {
				fmt.Fprint(tw, "-\t")
			}
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	if marked {
		fmt.Fprintln(w, UntrainedLegend)
	}
}

// Thinking writes a generation's "does thinking help" curve, when it has
// one: its horizon distribution and its champion planner's base at every
// horizon, under train and each shifted condition.
func Thinking(w io.Writer, s *pb.GenerationSummary, shifted []string) {
	th := s.GetThinking()
	if th == nil {
		return
	}
	fmt.Fprintf(w, "\nDoes thinking help? Planners of generation %d by horizon (1..%d): %v; median horizon %.1f, median node budget %.0f.\n",
		s.GetGeneration(), len(s.GetHorizonCounts()), s.GetHorizonCounts(), s.GetMedianHorizon(), s.GetMedianNodeBudget())
	fmt.Fprintf(w, "Its champion planner #%d (horizon %d, node budget %d) re-planned at every horizon with the full tree's budget (mean base over the analysis episodes):\n",
		th.GetIndividual(), th.GetHorizon(), th.GetNodeBudget())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "  HORIZON\tNODE BUDGET\ttrain")
	for _, c := range shifted {
		fmt.Fprintf(tw, "\t%s", c)
	}
	fmt.Fprintln(tw)
	for _, p := range th.GetPoints() {
		fmt.Fprintf(tw, "  %d\t%d\t%.3f", p.GetHorizon(), p.GetNodeBudget(), p.GetTrainBase())
		for _, b := range p.GetShiftedBase() {
			fmt.Fprintf(tw, "\t%.3f", b)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// Report writes the end-of-run report.
func Report(w io.Writer, run *pb.Run, base []float64) {
	rep := run.GetReport()
	fmt.Fprintf(w, "\nRun %s: %s after %d/%d generations (seed %d)\n", run.GetRunId(), State(run.GetState()),
		run.GetGenerationsDone(), run.GetSpec().GetGenerations(), run.GetSpec().GetSeed())
	if run.GetError() != "" {
		fmt.Fprintf(w, "  %s\n", run.GetError())
	}
	if d := run.GetFinalDigest(); d != "" {
		fmt.Fprintf(w, "Final digest (population + lineage): %s\n", d)
	}
	if rep == nil {
		return
	}
	if run.GetSpec().GetFreezeUntrained() {
		Frozen(w, run.GetFeatureNames(), rep.GetFrozenFeatures())
	}
	fmt.Fprintln(w, "\nBest individuals of the last generation:")
	Individuals(w, rep.GetBest())
	fmt.Fprintln(w, "\nClassification of the last generation (majority class of each individual's episodes; share of the individuals [95% interval]):")
	Classes(w, rep.GetClasses())
	Identity(w, rep.GetIdentity())
	exemplars(w, "\nThe fittest individual of each class under each shifted condition, last generation:", run, rep.GetExemplars(), base)
	if len(rep.GetRunClasses()) > 0 {
		fmt.Fprintln(w, "\nClassification of every individual of the run:")
		Classes(w, rep.GetRunClasses())
		Identity(w, rep.GetRunIdentity())
	}
	exemplars(w, "\nThe fittest individual of each class under each shifted condition, whole run:", run, rep.GetRunExemplars(), base)
	if rows := rep.GetSensitivity(); len(rows) > 0 {
		fmt.Fprintln(w, "\nThe last generation's verdicts at other thresholds (each moved alone; mesactl sensitivity RUN for any generation):")
		Sensitivity(w, rows)
	}
	if sums := run.GetSummaries(); len(sums) > 0 {
		Thinking(w, sums[len(sums)-1], run.GetSpec().GetShiftedConditions())
		Untrained(w, run.GetFeatureNames(), sums[len(sums)-1])
	}
	if h := rep.GetPseudoAlignedHeuristics(); len(h) > 0 {
		fmt.Fprintln(w, "\nPseudo-aligned heuristics of the last generation (classified through their behavioral objective; never flagged):")
		Individuals(w, h)
	}
	Regime(w, rep.GetRegime())
	if len(rep.GetFlagged()) == 0 {
		fmt.Fprintln(w, "\nNo planner is flagged in the last generation.")
		return
	}
	fmt.Fprintf(w, "\nFlagged planners (%d shown, by strength of evidence: pseudo-aligned first, firm verdicts and larger shares first, then drift alone by drift):\n", len(rep.GetFlagged()))
	Individuals(w, rep.GetFlagged())
	for _, in := range rep.GetFlagged() {
		fmt.Fprintf(w, "  #%d: %s\n", in.GetId(), strings.Join(in.GetFlagReasons(), "; "))
	}
	show := rep.GetFlagged()
	if len(show) > 4 {
		show = show[:4]
	}
	fmt.Fprintln(w, "\nMesa-objectives of the top flagged planners next to the base objective:")
	Objectives(w, run.GetFeatureNames(), base, show)
	if o := rep.GetTopDriftOrigin(); o != nil {
		fmt.Fprintf(w, "\nDrift origin of the top flagged lineage (#%d):\n", rep.GetTopFlagged())
		DriftOrigin(w, run.GetFeatureNames(), o)
	}
}

// Frozen writes the line naming the features whose planner weights a run
// with freeze_untrained held at 0 (indices into features; "none" when no
// feature is constant in training).
func Frozen(w io.Writer, features []string, frozen []uint32) {
	names := make([]string, 0, len(frozen))
	for _, k := range frozen {
		if int(k) < len(features) {
			names = append(names, features[k])
		} else {
			names = append(names, fmt.Sprintf("feature %d", k))
		}
	}
	if len(names) == 0 {
		names = append(names, "none")
	}
	fmt.Fprintf(w, "frozen at 0 (untrained in train): %s\n", strings.Join(names, ", "))
}

// DriftOrigin writes where on a line of descent the flag began.
func DriftOrigin(w io.Writer, features []string, o *pb.DriftOrigin) {
	a := o.GetAncestor()
	fmt.Fprintf(w, "  the flag began at #%d (generation %d): the oldest of the unbroken run of flagged ancestors; %s\n", a.GetId(), a.GetGeneration(), strings.Join(a.GetFlagReasons(), "; "))
	if o.GetParent() == nil {
		fmt.Fprintln(w, "  it was flagged from generation 0 (a random initial genome)")
		return
	}
	p := o.GetParent()
	fmt.Fprintf(w, "  produced from #%d (generation %d, %s) by %s\n", p.GetId(), p.GetGeneration(), Kind(p.GetKind()), strings.Join(o.GetOperators(), ", "))
	if len(o.GetObjectiveBefore()) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  feature\tbefore\tafter\tchange\t")
	marked := false
	for f, name := range features {
		if f >= len(o.GetObjectiveBefore()) || f >= len(o.GetObjectiveAfter()) {
			break
		}
		b, af := o.GetObjectiveBefore()[f], o.GetObjectiveAfter()[f]
		bs, mb := Weight(b, f, p.GetTrain().GetVaried())
		as, ma := Weight(af, f, a.GetTrain().GetVaried())
		marked = marked || mb || ma
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%+.2f\t\n", name, bs, as, af-b)
	}
	tw.Flush()
	if marked {
		fmt.Fprintln(w, "  "+UntrainedLegend)
	}
}

// Untrained writes the "Untrained weights" section of a generation's
// summary, when it has one: per planner the features constant over its
// training states and, per shifted condition, its base, its base with
// those weights at 0, the share of its failure they explain
// (clamp((zeroed − base) / (train − base), 0, 1); "-" without a failure,
// train − base ≤ 0.05) and the zeroed planner's class.
func Untrained(w io.Writer, features []string, s *pb.GenerationSummary) {
	us := s.GetUntrained()
	if len(us) == 0 {
		return
	}
	fmt.Fprintf(w, "\nUntrained weights of the planners shown (features constant over the states each planner's search evaluated in its train analysis episodes; re-evaluated with those weights at 0, generation %d):\n", s.GetGeneration())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  PLANNER\tUNTRAINED\tTRAIN (ZEROED)\tCONDITION\tBASE\tZEROED\tEXPLAINED\tZEROED CLASS")
	for _, u := range us {
		var names []string
		for _, k := range u.GetFeatures() {
			if int(k) < len(features) {
				names = append(names, features[k])
			} else {
				names = append(names, fmt.Sprint(k))
			}
		}
		list := strings.Join(names, ", ")
		if list == "" {
			list = "none"
		}
		for i, c := range u.GetShifted() {
			id, l, tr := "", "", ""
			if i == 0 {
				id, l, tr = fmt.Sprintf("#%d", u.GetIndividual()), list, fmt.Sprintf("%.3f (%.3f)", u.GetTrainBase(), u.GetZeroedTrainBase())
			}
			share := "-"
			if c.GetFailure() {
				share = fmt.Sprintf("%.2f", c.GetShare())
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%.3f\t%.3f\t%s\t%s\n", id, l, tr, c.GetCondition(), c.GetBase(), c.GetZeroedBase(), share, Class(c.GetZeroedClass()))
		}
	}
	tw.Flush()
}

// exemplars writes the fittest individual of each class under each shifted
// condition (inds in condition, then class order, as the report lists
// them), one table per condition, then the mesa-objectives of the planners
// among them, each once.
func exemplars(w io.Writer, title string, run *pb.Run, inds []*pb.Individual, base []float64) {
	if len(inds) == 0 {
		return
	}
	fmt.Fprintln(w, title)
	groups := exemplarGroups(inds)
	for _, g := range groups {
		if len(groups) > 1 {
			fmt.Fprintf(w, "  under %s:\n", g.condition)
		}
		Individuals(w, g.inds)
	}
	var planners []*pb.Individual
	seen := map[uint64]bool{}
	for _, in := range inds {
		if in.GetKind() == pb.GenomeKind_GENOME_KIND_PLANNER && !seen[in.GetId()] {
			seen[in.GetId()] = true
			planners = append(planners, in)
		}
	}
	if len(planners) > 0 {
		fmt.Fprintln(w, "\nTheir mesa-objectives next to the base objective:")
		Objectives(w, run.GetFeatureNames(), base, planners)
	}
}

// exemplarGroup is the exemplars of one shifted condition.
type exemplarGroup struct {
	condition string
	inds      []*pb.Individual
}

// exemplarClasses is the class order of the report's exemplars.
var exemplarClasses = []pb.AlignmentClass{
	pb.AlignmentClass_ALIGNMENT_CLASS_ROBUSTLY_ALIGNED, pb.AlignmentClass_ALIGNMENT_CLASS_PSEUDO_ALIGNED,
	pb.AlignmentClass_ALIGNMENT_CLASS_CAPABILITY_FAILURE, pb.AlignmentClass_ALIGNMENT_CLASS_MISALIGNED,
}

// exemplarGroups assigns each exemplar to the condition it stands for. The
// list holds, in condition then class order, the fittest individual of
// each (condition, class) that has one, so the first pair at or after the
// previous one whose class the individual has under that condition is the
// pair it was chosen for.
func exemplarGroups(inds []*pb.Individual) []exemplarGroup {
	var groups []exemplarGroup
	ci, k := 0, 0
	for _, in := range inds {
		sh := in.GetShifted()
		for ci < len(sh) && sh[ci].GetClass() != exemplarClasses[k] {
			if k++; k == len(exemplarClasses) {
				ci, k = ci+1, 0
			}
		}
		if ci >= len(sh) {
			// Not in the report's order: one table, as given.
			return []exemplarGroup{{inds: inds}}
		}
		if len(groups) == 0 || groups[len(groups)-1].condition != sh[ci].GetCondition() {
			groups = append(groups, exemplarGroup{condition: sh[ci].GetCondition()})
		}
		g := &groups[len(groups)-1]
		g.inds = append(g.inds, in)
		if k++; k == len(exemplarClasses) {
			ci, k = ci+1, 0
		}
	}
	return groups
}

// Stats writes a table of per-generation phylogenetic metrics: time to
// coalescence (MRCA depth, "-" when the lines have not coalesced), Faith's
// phylogenetic diversity and mean pairwise distance in generations, planner
// and flagged shares, births and the records retained after pruning with
// their memory and etcd sizes.
func Stats(w io.Writer, stats []*pb.GenerationStats) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "GEN\tEXTANT\tMRCA\tMRCA DEPTH\tROOTS\tPD\tMPD\tPLANNERS\tFLAGGED\tBIRTHS\tRETAINED\tMEMORY\tETCD\t")
	for _, s := range stats {
		mrca, depth := "-", "-"
		if s.GetCoalesced() {
			mrca, depth = fmt.Sprintf("#%d", s.GetMrcaId()), fmt.Sprint(s.GetMrcaDepth())
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%d\t%.0f\t%.2f\t%.0f%%\t%.0f%%\t%d\t%d\t%s\t%s\t\n", s.GetGeneration(), s.GetExtant(), mrca, depth,
			s.GetRoots(), s.GetPhylogeneticDiversity(), s.GetMeanPairwiseDistance(), 100*s.GetPlannerShare(), 100*s.GetFlaggedShare(),
			s.GetBirths(), s.GetRetained(), bytesIEC(s.GetRetainedBytes()), bytesIEC(s.GetStoredBytes()))
	}
	tw.Flush()
}

func bytesIEC(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// Behavior writes, for each individual, the behavioral objective fitted to
// its trajectories under each condition next to its mesa-objective and the
// base objective, as weights scaled to unit length (the fit's scale is not
// meaningful), with the fit quality (McFadden pseudo-R²) and accuracy.
func Behavior(w io.Writer, features []string, base []float64, inds []*pb.Individual) {
	for _, in := range inds {
		scores := append([]*pb.ConditionScore{in.GetTrain()}, in.GetShifted()...)
		var fitted []*pb.ConditionScore
		for _, s := range scores {
			if len(s.GetBehavioralWeights()) > 0 {
				fitted = append(fitted, s)
			}
		}
		if len(fitted) == 0 {
			continue
		}
		fmt.Fprintf(w, "#%d (%s):\n", in.GetId(), Kind(in.GetKind()))
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprint(tw, "  feature\tbase objective\tmesa-objective\t")
		for _, s := range fitted {
			fmt.Fprintf(tw, "behavior[%s]\t", s.GetCondition())
		}
		fmt.Fprintln(tw)
		b, m := unit(base), unit(in.GetObjective())
		for f, name := range features {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t", name, cell(b, f), cell(m, f))
			for _, s := range fitted {
				fmt.Fprintf(tw, "%s\t", cell(unit(s.GetBehavioralWeights()), f))
			}
			fmt.Fprintln(tw)
		}
		fmt.Fprint(tw, "  fit (pseudo-R², accuracy)\t\t\t")
		for _, s := range fitted {
			fmt.Fprintf(tw, "%.2f, %.0f%%\t", s.GetBehavioralFit(), 100*s.GetBehavioralAccuracy())
		}
		fmt.Fprintln(tw)
		tw.Flush()
	}
}

func unit(v []float64) []float64 {
	n := 0.0
	for _, x := range v {
		n += x * x
	}
	if n == 0 {
		return v
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x / math.Sqrt(n)
	}
	return out
}

func cell(v []float64, i int) string {
	if i >= len(v) {
		return "-"
	}
	return fmt.Sprintf("%+.2f", v[i])
}

// Regime writes what became of the lineages alive before a regime change.
func Regime(w io.Writer, r *pb.RegimeReport) {
	if r == nil {
		return
	}
	n := len(r.GetReadapted()) + len(r.GetKeptProxy()) + len(r.GetOther())
	fmt.Fprintf(w, "\nRegime change at generation %d (selection sees %s from then on): %d lineages alive before it have descendants in the last generation\n",
		r.GetGeneration(), r.GetTrainCondition(), n)
	groups := []struct {
		title string
		ls    []*pb.RegimeLineage
	}{
		{"re-adapted (not robustly aligned under " + r.GetTrainCondition() + " before, robustly aligned now)", r.GetReadapted()},
		{"kept pursuing the old proxy (pseudo-aligned under " + r.GetTrainCondition() + " before and now)", r.GetKeptProxy()},
		{"other", r.GetOther()},
	}
	for _, g := range groups {
		fmt.Fprintf(w, "  %s: %d\n", g.title, len(g.ls))
		for i, l := range g.ls {
			if i == 5 {
				fmt.Fprintf(w, "    … %d more\n", len(g.ls)-5)
				break
			}
			a := l.GetAncestor()
			before := "-"
			for _, s := range a.GetShifted() {
				if s.GetCondition() == r.GetTrainCondition() {
					before = Class(s.GetClass())
				}
			}
			fmt.Fprintf(w, "    #%d (%s, %s) → %d descendants, fittest #%d %s\n", a.GetId(), Kind(a.GetKind()), before,
				l.GetDescendants(), l.GetFittestDescendant(), Class(l.GetDescendantClass()))
		}
	}
}

// Evaluation writes the analysis of hand-written genomes, one block per
// genome: per condition (train, each shifted condition, identity) the mean
// base, competence, agreement and drift, the class of each episode's share
// with its 95 % Wilson interval, the majority (firm or mixed), the
// behavioral objective with its margin, the proxy hits, and whether the
// genome would be flagged.
func Evaluation(w io.Writer, names []string, inds []*pb.Individual) {
	for i, in := range inds {
		name := fmt.Sprintf("#%d", i+1)
		if i < len(names) {
			name = names[i]
		}
		fmt.Fprintf(w, "%s (%s, fitness %.3f):\n", name, Kind(in.GetKind()), in.GetFitness())
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  CONDITION\tBASE\tCOMPETENCE\tAGREEMENT\tDRIFT\tVERDICT\tROBUSTLY-ALIGNED\tPSEUDO-ALIGNED\tCAPABILITY-FAILURE\tMISALIGNED\tBEHAVIOUR (MARGIN)\tPROXY HITS")
		conds := append([]*pb.ConditionScore{in.GetTrain()}, in.GetShifted()...)
		if id := in.GetIdentity(); id != nil {
			conds = append(conds, id)
		}
		for _, c := range conds {
			counts := c.GetClassCounts()
			total := 0
			for _, n := range counts {
				total += int(n)
			}
			cell := func(k pb.AlignmentClass) string {
				if total == 0 || int(k) >= len(counts) {
					return "-"
				}
				return share(int(counts[k]), total)
			}
			verdict := "-"
			if c.GetClass() != pb.AlignmentClass_ALIGNMENT_CLASS_UNSPECIFIED {
				verdict = Verdict(c)
				if c.GetFirm() {
					verdict += " firm"
				}
			}
			fmt.Fprintf(tw, "  %s\t%.3f\t%.3f\t%+.3f\t%+.3f\t%s\t%s\t%s\t%s\t%s\t%s (%.2f)\t%.2f\n", c.GetCondition(), c.GetBase(), c.GetCompetence(),
				c.GetAgreement(), c.GetDrift(), verdict,
				cell(pb.AlignmentClass_ALIGNMENT_CLASS_ROBUSTLY_ALIGNED), cell(pb.AlignmentClass_ALIGNMENT_CLASS_PSEUDO_ALIGNED),
				cell(pb.AlignmentClass_ALIGNMENT_CLASS_CAPABILITY_FAILURE), cell(pb.AlignmentClass_ALIGNMENT_CLASS_MISALIGNED),
				behaviour(c), c.GetBehavioralMargin(), c.GetProxyHits())
		}
		tw.Flush()
		switch {
		case in.GetFailure() != "":
			fmt.Fprintf(w, "  evaluation failed: %s\n", in.GetFailure())
		case in.GetFlagged():
			fmt.Fprintf(w, "  would be FLAGGED: %s\n", strings.Join(in.GetFlagReasons(), "; "))
		case in.GetKind() == pb.GenomeKind_GENOME_KIND_PLANNER:
			fmt.Fprintln(w, "  would not be flagged")
		default:
			fmt.Fprintln(w, "  a heuristic: classified, never flagged")
		}
		fmt.Fprintln(w)
	}
}

// Sensitivity writes how a generation's verdicts move with the thresholds:
// one row per threshold setting, per shifted condition the individuals by
// class and the planners flagged for pseudo-alignment and for drift alone.
func Sensitivity(w io.Writer, rows []*pb.SensitivityRow) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  VARIED\tBASE_HIGH\tCOMPETENCE_HIGH\tDRIFT\tCONDITION\tROBUST\tPSEUDO\tCAP-FAIL\tMISALIGNED\tFLAGGED PSEUDO\tFLAGGED DRIFT")
	for _, r := range rows {
		varied := r.GetVaried()
		if varied == "" {
			varied = "(as run)"
		}
		for _, c := range r.GetConditions() {
			fmt.Fprintf(tw, "  %s\t%.1f\t%.1f\t%.1f\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", varied, r.GetBaseHigh(), r.GetCompetenceHigh(), r.GetDrift(),
				c.GetCondition(), c.GetRobustlyAligned(), c.GetPseudoAligned(), c.GetCapabilityFailure(), c.GetMisaligned(),
				c.GetFlaggedPseudoAligned(), c.GetFlaggedDriftOnly())
		}
	}
	tw.Flush()
}
