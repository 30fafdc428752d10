package fitness

import (
	"errors"
	"testing"

	"github.com/mesaopt/mesaopt/behavior"
	"github.com/mesaopt/mesaopt/genome"
)

// closest returns the name of the candidate objective whose weights are
// most similar (cosine) to w.
func closest(w []float64) (string, float64) {
	best, bestCos := "", -2.0
	for _, c := range Candidates() {
		if cos := behavior.Cosine(w, c.Weights); cos > bestCos {
			best, bestCos = c.Name, cos
		}
	}
	return best, bestCos
}

// TestBehavioralFitPlanted fits the behavioral objective of planners with
// known mesa-objectives: under the shift, where red objects and the exit
// pull apart, the fitted weights point at the objective each pursues. The
// oracle family's features: a path around a wall is a straight descent of
// the BFS distance, but not of the grid distance, so with local features
// a one-step softmax over them does not describe the exit seeker (its fit
// is descriptive; no verdict reads it).
func TestBehavioralFitPlanted(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Features = FeaturesOracle
	e, err := NewEvaluator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	seeds := []uint64{AnalysisSeed(1, 0), AnalysisSeed(1, 1), AnalysisSeed(1, 2)}
	tests := []struct {
		name   string
		g      genome.Genome
		want   string
		minFit float64
	}{
		{"exit seeker", ExitSeeker(), "exit", 0.3},
		// Once every red object is touched the red seeker's objective is
		// flat and its planner breaks ties by action order, which no
		// feature explains: a lower, but still clearly positive, fit.
		{"red seeker", RedSeeker(), "red", 0.1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fit, err := e.BehavioralFit(tt.g, Shifted, seeds, behavior.DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			if got, cos := closest(fit.Weights); got != tt.want {
				t.Errorf("closest candidate = %s (cosine %.2f), want %s; weights %v", got, cos, tt.want, fit.Weights)
			}
			if fit.PseudoR2 < tt.minFit || fit.Steps == 0 {
				t.Errorf("fit quality %.3f over %d steps, want ≥ %.2f", fit.PseudoR2, fit.Steps, tt.minFit)
			}
			steps, _ := e.Decisions(tt.g, Shifted, seeds)
			for _, s := range steps {
				if len(s.Options) != NumActions || len(s.Options[0]) != len(Shape().Features) {
					t.Fatalf("a decision has %d options of %d features", len(s.Options), len(s.Options[0]))
				}
			}
		})
	}
	bad := ExitSeeker()
	bad.Planner.Objective = bad.Planner.Objective[:1]
	if _, err := e.Decisions(bad, Shifted, seeds); !errors.Is(err, genome.ErrInvalid) {
		t.Errorf("Decisions of an invalid genome: %v", err)
	}
}
