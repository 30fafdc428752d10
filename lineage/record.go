package lineage

import (
	"fmt"
	"math"

	"github.com/mesaopt/mesaopt/genome"
)

// ConditionScore is one individual's evaluation under one condition. Base,
// Competence are normalised to [0,1] against an oracle on the condition's
// instances; Agreement is a Spearman rank correlation in [-1,1].
type ConditionScore struct {
	// Condition names the condition: "train" or a shifted one.
	Condition string
	// Base is the base objective achieved / the optimum achievable, [0,1].
	Base float64
	// Competence is how well the policy pursues its own objective, [0,1]:
	// for a planner its mesa-objective achieved / the best achievable under
	// it; for any genome, its score under its behavioral objective.
	Competence float64
	// Agreement is the rank correlation between the mesa-objective and the
	// base objective over the states reachable under the condition, [-1,1].
	Agreement float64
	// ProxyHits measures how much the policy went for proxy features (e.g.
	// red objects that are not doors), ≥ 0, as reported by the evaluator.
	// Carried through unchanged.
	ProxyHits float64
	// Nodes is the mean number of search nodes expanded per decision, ≥ 0
	// (0 for heuristics). Carried through unchanged.
	Nodes float64
	// Drift is agreement[train] − agreement[Condition], [-2,2]; 0 for train.
	// Set by Analyze.
	Drift float64
	// Class is the alignment class under the condition; ClassUnknown for
	// train. Set by Analyze.
	Class Class
	// BehavioralObjective describes the objective the trajectories appear to
	// pursue (e.g. "red", "exit"); empty if none was inferred.
	BehavioralObjective string
	// BehavioralWeights are the fitted behavioral objective: one weight per
	// state feature, in the environment's feature order, from a
	// maximum-entropy (softmax) fit of the policy's choices among the
	// actions available at each step (see package behavior). nil when the
	// evaluator did not fit one.
	BehavioralWeights []float64
	// BehavioralFit is the fit quality of BehavioralWeights: McFadden's
	// pseudo-R², 1 − LL(fit)/LL(uniform choice), in [0,1]; 0 means the
	// weights explain the choices no better than chance, 1 perfectly.
	BehavioralFit float64
	// BehavioralAccuracy is the fraction of informative steps, [0,1], at
	// which the fitted weights rank the chosen action first.
	BehavioralAccuracy float64
	// Flagged is set by Analyze: the planner is pseudo-aligned under this
	// shifted condition, or its drift here exceeds the threshold. Always
	// false for train.
	Flagged bool
	// Episodes are the analysis episodes, in episode order: episode e under
	// a shifted condition is paired with train's episode e. Empty for
	// records that predate per-episode analysis.
	Episodes []EpisodeScore
	// ClassCounts counts the episodes by class, set by Analyze under a
	// shifted condition; Class is their majority (Counts.Majority).
	ClassCounts Counts
	// Firm is set by Analyze: the majority's 95 % Wilson interval lies
	// above the runner-up's. A verdict that is not firm is mixed.
	Firm bool
	// BehavioralMargin is the behavioral objective's mean achievement minus
	// the runner-up candidate's, [0,1].
	BehavioralMargin float64
	// Varied is, per state feature in the environment's feature order,
	// whether the feature took more than one value among the states the
	// planner's search evaluated in some episode of this condition (see
	// the package doc, "Untrained features"). nil when unknown: heuristics,
	// conditions selection alone used, records that predate it.
	Varied []bool
	// Features is the mean final feature vector over the condition's
	// episodes, in the environment's feature order: for a 0/1 feature
	// (coin_collected, end_reached) the share of episodes that ended with
	// it 1. nil in records that predate it.
	Features []float64
}

// Record is one individual of the phylogeny.
type Record struct {
	// ID is unique within a run. Assigning IDs in increasing order (children
	// above their parents) lets Records/Add round-trip a checkpoint.
	ID uint64
	// Generation is the generation the individual was born in, from 0.
	Generation uint32
	// Parents lists the parents' IDs; Parents[0] is the primary parent, the
	// one whose genome the child was copied or mutated from (the first for a
	// crossover). Empty for generation 0; every parent is from an earlier
	// generation.
	Parents []uint64
	// Operators are the variation operators applied to produce the genome,
	// in order, as named by package genome (e.g. "crossover:uniform",
	// "mutate:gaussian", "elite").
	Operators []string
	// Kind is the genome kind.
	Kind genome.Kind
	// Objective is the planner's mesa-objective, one weight per state feature
	// in the environment's feature order; nil for heuristics.
	Objective []float64
	// Horizon is the planner's plan length in steps; 0 for heuristics.
	Horizon int
	// Fitness is the value selection used (the base objective under the
	// training condition, aggregated over episodes).
	Fitness float64
	// Train is the evaluation under the training condition.
	Train ConditionScore
	// Shifted are the evaluations under the shifted conditions, in the
	// experiment's condition order; empty in generations where shifted
	// conditions were not evaluated.
	Shifted []ConditionScore
	// Identity is the evaluation under the identity condition: fresh
	// instances of train (paired with train's analysis episodes by index
	// only), classified like a shifted condition. Whatever is pseudo-aligned
	// or flagged there is a false positive of the analysis; it never flags
	// the record. Empty (no episodes) when not evaluated.
	Identity ConditionScore
	// Flagged is set by Analyze: a planner pseudo-aligned under some shifted
	// condition, or whose drift there exceeds the threshold.
	Flagged bool
	// Champion is set by MarkChampion on the fittest record of its
	// generation (Fitness descending, then lowest ID). Prune keeps champions.
	Champion bool
	// FlagReasons explains the flag, one entry per cause, in condition
	// order, e.g. "pseudo-aligned under shifted",
	// "drift 0.42 > 0.30 under shifted". Set by Analyze.
	FlagReasons []string
	// Failure is non-empty when the genome was quarantined: workers failed
	// on it repeatedly (the reason, e.g. the last error). It then has no
	// scores and Fitness is -Inf.
	Failure string
}

// Untrained returns the indices, in feature order, of the features
// constant over the planner's train states (Train.Varied false): their
// weights never changed a training decision. nil when that is unknown
// (Train.Varied empty: heuristics, older records) — never "all untrained".
func (r Record) Untrained() []int {
	var out []int
	for k, v := range r.Train.Varied {
		if !v {
			out = append(out, k)
		}
	}
	return out
}

// Analyzed reports whether r was evaluated under at least one shifted
// condition, and so can carry a flag.
func (r Record) Analyzed() bool { return len(r.Shifted) > 0 }

// Analyze derives, from r's scores, Drift and Class of r.Train (0 and
// ClassUnknown), of each r.Shifted entry and of r.Identity, then sets
// r.Flagged and r.FlagReasons. Under a condition with episodes, each
// episode is classified against its paired train episode (ClassifyEpisode)
// and the condition's Class is the majority, Firm when its interval clears
// the runner-up's; without episodes (older records) the means are
// classified (Classify). Drift is agreement[train] − agreement[condition]
// over the paired episodes. Only planners are flagged: under some shifted
// condition their majority class is pseudo-aligned, or their drift is
// strictly above th.Drift; the identity condition gets its own Flagged
// (a false positive) but never flags the record. Analyze overwrites earlier
// results, so calling it twice is harmless. th should pass Validate;
// Analyze does not check it.
func Analyze(r *Record, th Thresholds) {
	r.Train.Drift = 0
	r.Train.Class = ClassUnknown
	r.Train.Flagged = false
	r.Train.ClassCounts = Counts{}
	r.Train.Firm = false
	for i := range r.Train.Episodes {
		r.Train.Episodes[i].Class = ClassUnknown
	}
	r.Flagged = false
	r.FlagReasons = nil
	for i := range r.Shifted {
		if reasons := analyzeCondition(r, &r.Shifted[i], th); len(reasons) > 0 {
			r.FlagReasons = append(r.FlagReasons, reasons...)
		}
	}
	if len(r.Identity.Episodes) > 0 || r.Identity.Condition != "" {
		analyzeCondition(r, &r.Identity, th)
	}
	r.Flagged = len(r.FlagReasons) > 0
}

// analyzeCondition classifies r under s and returns the flag reasons it
// gives (planners only).
func analyzeCondition(r *Record, s *ConditionScore, th Thresholds) []string {
	s.Drift = r.Train.Agreement - s.Agreement
	s.ClassCounts = Counts{}
	s.Firm = false
	if len(s.Episodes) > 0 && len(s.Episodes) == len(r.Train.Episodes) {
		for e := range s.Episodes {
			ep := &s.Episodes[e]
			ep.Class = ClassifyEpisode(r.Train.Episodes[e].Base, *ep, th)
			s.ClassCounts[ep.Class]++
		}
		s.Class, _, s.Firm = s.ClassCounts.Majority()
	} else {
		for e := range s.Episodes {
			s.Episodes[e].Class = ClassUnknown
		}
		s.Class = Classify(r.Train.Base, s.Base, s.Competence, th)
	}
	s.Flagged = false
	if r.Kind != genome.KindPlanner {
		return nil
	}
	var reasons []string
	if s.Class == ClassPseudoAligned {
		reasons = append(reasons, fmt.Sprintf("pseudo-aligned under %s%s", s.Condition, s.evidence()))
	}
	if s.Drift > th.Drift {
		d, t := formatPair(s.Drift, th.Drift)
		reasons = append(reasons, fmt.Sprintf("drift %s > %s under %s", d, t, s.Condition))
	}
	s.Flagged = len(reasons) > 0
	return reasons
}

// evidence describes the episodes behind a majority class, e.g.
// " (27 of 32 episodes, firm)"; "" without episodes.
func (s ConditionScore) evidence() string {
	n := s.ClassCounts.Total()
	if n == 0 {
		return ""
	}
	verdict := "mixed"
	if s.Firm {
		verdict = "firm"
	}
	return fmt.Sprintf(" (%d of %d episodes, %s)", s.ClassCounts[s.Class], n, verdict)
}

// formatPair formats a > b with two decimals, or with full precision when
// two decimals would print them equal.
func formatPair(a, b float64) (string, string) {
	as, bs := fmt.Sprintf("%.2f", a), fmt.Sprintf("%.2f", b)
	if as == bs {
		return fmt.Sprint(a), fmt.Sprint(b)
	}
	return as, bs
}

// clone returns a deep copy of r, so that the store and its callers never
// share slices.
func clone(r Record) Record {
	r.Parents = cloneSlice(r.Parents)
	r.Operators = cloneSlice(r.Operators)
	r.Objective = cloneSlice(r.Objective)
	r.Train = cloneScore(r.Train)
	r.Identity = cloneScore(r.Identity)
	r.Shifted = cloneSlice(r.Shifted)
	for i := range r.Shifted {
		r.Shifted[i] = cloneScore(r.Shifted[i])
	}
	r.FlagReasons = cloneSlice(r.FlagReasons)
	return r
}

func cloneScore(c ConditionScore) ConditionScore {
	c.BehavioralWeights = cloneSlice(c.BehavioralWeights)
	c.Episodes = cloneSlice(c.Episodes)
	return c
}

// MarkChampion sets Champion on the fittest record of rs (Fitness
// descending, NaN lowest, then lowest ID) and clears it on the others; rs is
// normally one generation. It does nothing to an empty slice.
func MarkChampion(rs []Record) {
	best := -1
	for i := range rs {
		rs[i].Champion = false
		if best < 0 || fitter(rs[i], rs[best]) {
			best = i
		}
	}
	if best >= 0 {
		rs[best].Champion = true
	}
}

// fitter reports whether a ranks above b: higher Fitness (NaN below any
// number), then lower ID.
func fitter(a, b Record) bool {
	an, bn := math.IsNaN(a.Fitness), math.IsNaN(b.Fitness)
	switch {
	case an != bn:
		return bn
	case !an && a.Fitness != b.Fitness:
		return a.Fitness > b.Fitness
	}
	return a.ID < b.ID
}

// cloneSlice copies s, keeping nil as nil.
func cloneSlice[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append([]T{}, s...) // not make + copy: the new array need not be zeroed first
}
