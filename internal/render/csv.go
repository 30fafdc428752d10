package render

// Per-generation statistics as CSV, one row per generation, for loading
// into a data frame.

import (
	"encoding/csv"
	"io"
	"slices"
	"strconv"

	"github.com/mesaopt/mesaopt/genome"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// StatsColumnsDoc describes the columns StatsCSV writes, in order. It is
// the text of `mesactl stats --help` and the reference the README points to.
const StatsColumnsDoc = `Columns, in this order (names are the protobuf field names):

  generation, best_fitness, mean_fitness, mean_train_base,
  mean_shifted_base, planner_share, flagged, evaluations, digest,
  best_individual, quarantined, median_horizon, median_node_budget
      GenerationSummary's scalars, in field order.
  horizon_1 .. horizon_16
      horizon_counts: planners of the generation searching to each horizon.
  then for each shifted condition C, in the experiment's order:
  C.robustly_aligned, C.pseudo_aligned, C.capability_failure,
  C.misaligned, C.individuals, C.mixed, C.pseudo_aligned_heuristics,
  C.proxy_hits_robustly_aligned, C.proxy_hits_pseudo_aligned,
  C.proxy_hits_capability_failure, C.proxy_hits_misaligned,
  C.flagged_pseudo_aligned, C.flagged_drift_only,
  C.mean_F for each feature F of the run (feature_names order)
      ClassCounts under C: individuals by majority class, mixed verdicts,
      mean proxy hits per episode of each class, flags, and the mean final
      feature vector.
  lineage.generation, lineage.extant, lineage.coalesced, lineage.mrca_id,
  lineage.mrca_depth, lineage.roots, lineage.phylogenetic_diversity,
  lineage.mean_pairwise_distance, lineage.planner_share,
  lineage.flagged_share, lineage.births, lineage.retained,
  lineage.retained_bytes, lineage.stored_bytes
      GenerationStats (the phylogenetic metrics of mesactl stats).

Numbers are written exactly: integers in decimal, floats in the shortest
form that reads back to the same float64 (strconv 'g', -1); booleans are
true or false. A recorded zero is 0; an empty cell is a value the
generation's record does not hold (a field added after the run was
recorded, a condition it was not analysed under). Every column is
determined by the experiment spec and seed (lineage.retained_bytes, an
estimate of coordinator memory, also by the coordinator's build), so the
CSV of a resumed run equals the CSV of an uninterrupted one.
evaluations_per_second (wall-clock throughput) is therefore left out, as
are the last generation's thinking and untrained analyses (nested, not
per generation): all three are in mesactl run show -o json.`

// StatsCSV writes generation summaries as CSV rows with a fixed set of
// columns (StatsColumnsDoc), chosen when it is made from the run's feature
// names and shifted conditions.
type StatsCSV struct {
	w          *csv.Writer
	features   []string
	conditions []string
}

// NewStatsCSV returns a StatsCSV writing to w with columns for features
// (Run.feature_names) and conditions (StatsConditions).
func NewStatsCSV(w io.Writer, features, conditions []string) *StatsCSV {
	return &StatsCSV{w: csv.NewWriter(w), features: features, conditions: conditions}
}

var (
	summaryColumns = []string{"generation", "best_fitness", "mean_fitness", "mean_train_base", "mean_shifted_base",
		"planner_share", "flagged", "evaluations", "digest", "best_individual", "quarantined", "median_horizon", "median_node_budget"}
	conditionCounts = []string{"robustly_aligned", "pseudo_aligned", "capability_failure", "misaligned",
		"individuals", "mixed", "pseudo_aligned_heuristics"}
	// proxyClasses are the ClassCounts.proxy_hits entries written, by
	// column suffix and AlignmentClass index.
	proxyClasses = []struct {
		name  string
		class pb.AlignmentClass
	}{
		{"robustly_aligned", pb.AlignmentClass_ALIGNMENT_CLASS_ROBUSTLY_ALIGNED},
		{"pseudo_aligned", pb.AlignmentClass_ALIGNMENT_CLASS_PSEUDO_ALIGNED},
		{"capability_failure", pb.AlignmentClass_ALIGNMENT_CLASS_CAPABILITY_FAILURE},
		{"misaligned", pb.AlignmentClass_ALIGNMENT_CLASS_MISALIGNED},
	}
	conditionFlags = []string{"flagged_pseudo_aligned", "flagged_drift_only"}
	lineageColumns = []string{"generation", "extant", "coalesced", "mrca_id", "mrca_depth", "roots",
		"phylogenetic_diversity", "mean_pairwise_distance", "planner_share", "flagged_share",
		"births", "retained", "retained_bytes", "stored_bytes"}
)

// Columns returns the header, in the order of StatsColumnsDoc.
func (s *StatsCSV) Columns() []string {
	cols := slices.Clone(summaryColumns)
	for h := 1; h <= genome.MaxHorizon; h++ {
		cols = append(cols, "horizon_"+strconv.Itoa(h))
	}
	for _, c := range s.conditions {
		for _, f := range conditionCounts {
			cols = append(cols, c+"."+f)
		}
		for _, p := range proxyClasses {
			cols = append(cols, c+".proxy_hits_"+p.name)
		}
		for _, f := range conditionFlags {
			cols = append(cols, c+"."+f)
		}
		for _, f := range s.features {
			cols = append(cols, c+".mean_"+f)
		}
	}
	for _, f := range lineageColumns {
		cols = append(cols, "lineage."+f)
	}
	return cols
}

// WriteHeader writes the header row.
func (s *StatsCSV) WriteHeader() error {
	return s.flush(s.w.Write(s.Columns()))
}

// Write writes one generation's row and flushes it, so that a stream of
// generations can be read as it is written.
func (s *StatsCSV) Write(g *pb.GenerationSummary) error {
	return s.flush(s.w.Write(s.row(g)))
}

func (s *StatsCSV) flush(err error) error {
	if err != nil {
		return err
	}
	s.w.Flush()
	return s.w.Error()
}

func (s *StatsCSV) row(g *pb.GenerationSummary) []string {
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	row := []string{
		u(uint64(g.GetGeneration())), fmtFloat(g.GetBestFitness()), fmtFloat(g.GetMeanFitness()),
		fmtFloat(g.GetMeanTrainBase()), fmtFloat(g.GetMeanShiftedBase()), fmtFloat(g.GetPlannerShare()),
		u(uint64(g.GetFlagged())), u(uint64(g.GetEvaluations())), g.GetDigest(), u(g.GetBestIndividual()),
		u(uint64(g.GetQuarantined())), fmtFloat(g.GetMedianHorizon()), fmtFloat(g.GetMedianNodeBudget()),
	}
	hc := g.GetHorizonCounts()
	for h := range genome.MaxHorizon {
		row = append(row, at(hc, h, func(v uint32) string { return u(uint64(v)) }))
	}
	for _, name := range s.conditions {
		i := slices.IndexFunc(g.GetClasses(), func(c *pb.ClassCounts) bool { return c.GetCondition() == name })
		if i < 0 {
			row = append(row, make([]string, len(conditionCounts)+len(proxyClasses)+len(conditionFlags)+len(s.features))...)
			continue
		}
		c := g.GetClasses()[i]
		for _, v := range []uint32{c.GetRobustlyAligned(), c.GetPseudoAligned(), c.GetCapabilityFailure(), c.GetMisaligned(),
			c.GetIndividuals(), c.GetMixed(), c.GetPseudoAlignedHeuristics()} {
			row = append(row, u(uint64(v)))
		}
		for _, p := range proxyClasses {
			row = append(row, at(c.GetProxyHits(), int(p.class), fmtFloat))
		}
		row = append(row, u(uint64(c.GetFlaggedPseudoAligned())), u(uint64(c.GetFlaggedDriftOnly())))
		for k := range s.features {
			row = append(row, at(c.GetMeanFeatures(), k, fmtFloat))
		}
	}
	l := g.GetLineage()
	if l == nil {
		return append(row, make([]string, len(lineageColumns))...)
	}
	return append(row,
		u(uint64(l.GetGeneration())), u(uint64(l.GetExtant())), strconv.FormatBool(l.GetCoalesced()), u(l.GetMrcaId()),
		u(uint64(l.GetMrcaDepth())), u(uint64(l.GetRoots())), fmtFloat(l.GetPhylogeneticDiversity()),
		fmtFloat(l.GetMeanPairwiseDistance()), fmtFloat(l.GetPlannerShare()), fmtFloat(l.GetFlaggedShare()),
		u(l.GetBirths()), u(l.GetRetained()), strconv.FormatInt(l.GetRetainedBytes(), 10), strconv.FormatInt(l.GetStoredBytes(), 10),
	)
}

// at formats xs[i], or returns "" when xs has no element i.
func at[T any](xs []T, i int, f func(T) string) string {
	if i >= len(xs) {
		return ""
	}
	return f(xs[i])
}

// fmtFloat writes v so that it reads back to the same float64.
func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// StatsConditions returns the shifted conditions a run's CSV has columns
// for: the experiment's shifted conditions in its order, then any other
// condition the summaries count, in the order first met.
func StatsConditions(run *pb.Run) []string {
	conds := slices.Clone(run.GetSpec().GetShiftedConditions())
	for _, s := range run.GetSummaries() {
		for _, c := range s.GetClasses() {
			if !slices.Contains(conds, c.GetCondition()) {
				conds = append(conds, c.GetCondition())
			}
		}
	}
	return conds
}
