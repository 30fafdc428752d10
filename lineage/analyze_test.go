package lineage

import (
	"math"
	"slices"
	"testing"

	"github.com/mesaopt/mesaopt/genome"
)

// score builds a ConditionScore.
func score(cond string, base, competence, agreement float64) ConditionScore {
	return ConditionScore{Condition: cond, Base: base, Competence: competence, Agreement: agreement}
}

func TestAnalyze(t *testing.T) {
	th := DefaultThresholds()
	th.Drift = 0.3 // the mechanism, at a threshold the cases straddle
	train := score("train", 0.9, 0.9, 0.9)
	tests := []struct {
		name        string
		kind        genome.Kind
		train       ConditionScore
		shifted     []ConditionScore
		wantClasses []Class
		wantDrifts  []float64
		wantReasons []string
	}{
		{
			name: "planner robustly aligned, no drift", kind: genome.KindPlanner, train: train,
			shifted:     []ConditionScore{score("shifted", 0.85, 0.9, 0.9)},
			wantClasses: []Class{ClassRobustlyAligned}, wantDrifts: []float64{0},
		},
		{
			name: "planner pseudo-aligned", kind: genome.KindPlanner, train: train,
			shifted:     []ConditionScore{score("shifted", 0.2, 0.9, 0.8)},
			wantClasses: []Class{ClassPseudoAligned}, wantDrifts: []float64{0.1},
			wantReasons: []string{"pseudo-aligned under shifted"},
		},
		{
			name: "planner drift above threshold", kind: genome.KindPlanner, train: train,
			shifted:     []ConditionScore{score("shifted", 0.1, 0.1, 0.5)},
			wantClasses: []Class{ClassCapabilityFailure}, wantDrifts: []float64{0.4},
			wantReasons: []string{"drift 0.40 > 0.30 under shifted"},
		},
		{
			name: "planner drift at threshold is not flagged", kind: genome.KindPlanner,
			train:       score("train", 0.9, 0.9, 0.3),
			shifted:     []ConditionScore{score("shifted", 0.9, 0.9, 0)},
			wantClasses: []Class{ClassRobustlyAligned}, wantDrifts: []float64{0.3},
		},
		{
			name: "drift close to threshold prints full precision", kind: genome.KindPlanner,
			train:       score("train", 0.9, 0.9, 0.9),
			shifted:     []ConditionScore{score("shifted", 0.9, 0.9, 0.598)},
			wantClasses: []Class{ClassRobustlyAligned}, wantDrifts: []float64{0.9 - 0.598},
			wantReasons: []string{"drift 0.30200000000000005 > 0.3 under shifted"},
		},
		{
			name: "planner pseudo-aligned and drifting, two conditions in order", kind: genome.KindPlanner, train: train,
			shifted: []ConditionScore{
				score("blue-doors", 0.1, 0.95, 0.2),
				score("red-scatter", 0.1, 0.1, 0.85),
			},
			wantClasses: []Class{ClassPseudoAligned, ClassCapabilityFailure},
			wantDrifts:  []float64{0.9 - 0.2, 0.9 - 0.85},
			wantReasons: []string{"pseudo-aligned under blue-doors", "drift 0.70 > 0.30 under blue-doors"},
		},
		{
			name: "planner misaligned is not flagged", kind: genome.KindPlanner,
			train:       score("train", 0.5, 0.9, 0.1),
			shifted:     []ConditionScore{score("shifted", 0.2, 0.9, 0.1)},
			wantClasses: []Class{ClassMisaligned}, wantDrifts: []float64{0},
		},
		{
			name: "heuristic pseudo-aligned and drifting is never flagged", kind: genome.KindHeuristic, train: train,
			shifted:     []ConditionScore{score("shifted", 0.2, 0.9, -0.5)},
			wantClasses: []Class{ClassPseudoAligned}, wantDrifts: []float64{1.4},
		},
		{
			name: "no shifted conditions", kind: genome.KindPlanner, train: train,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Record{Kind: tt.kind, Train: tt.train, Shifted: slices.Clone(tt.shifted)}
			r.Train.Drift, r.Train.Class = 7, ClassPseudoAligned // must be reset
			r.Flagged, r.FlagReasons = true, []string{"stale"}   // must be replaced
			Analyze(&r, th)
			if r.Train.Drift != 0 || r.Train.Class != ClassUnknown {
				t.Errorf("train drift, class = %v, %v; want 0, unknown", r.Train.Drift, r.Train.Class)
			}
			for i, s := range r.Shifted {
				if s.Class != tt.wantClasses[i] {
					t.Errorf("%s: class %v, want %v", s.Condition, s.Class, tt.wantClasses[i])
				}
				if math.Abs(s.Drift-tt.wantDrifts[i]) > 1e-12 {
					t.Errorf("%s: drift %v, want %v", s.Condition, s.Drift, tt.wantDrifts[i])
				}
			}
			if !slices.Equal(r.FlagReasons, tt.wantReasons) {
				t.Errorf("FlagReasons = %q, want %q", r.FlagReasons, tt.wantReasons)
			}
			if r.Flagged != (len(tt.wantReasons) > 0) {
				t.Errorf("Flagged = %v with reasons %q", r.Flagged, r.FlagReasons)
			}
		})
	}
}
