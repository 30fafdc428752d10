// Package behavior infers the behavioral objective of a policy: the weights
// over a feature basis that best explain the choices it made, whatever its
// genome (a planner with an explicit mesa-objective, or a heuristic with
// none).
//
// The model is the maximum-entropy (softmax, conditional-logit) choice model
// of inverse reinforcement learning (Ziebart et al. 2008, "Maximum Entropy
// Inverse Reinforcement Learning", AAAI; McFadden 1974, "Conditional logit
// analysis of qualitative choice behavior"): at each step the policy picks
// option a among the available ones with probability
//
//	P(a) = exp(w·x_a) / Σ_b exp(w·x_b)
//
// where x_a is the feature vector of the state option a leads to. Infer
// maximises the mean log-likelihood of the observed choices minus an L2
// penalty (L2/2)·|w|², a strictly concave problem, by Newton's method with
// backtracking, over the distinct decisions weighted by how often each was
// made (see Choices: a policy meets the same local choice many times, and
// the fit's cost grows with the distinct ones only). The penalty keeps w finite when the choices are perfectly
// separable, as a deterministic policy's are; the direction of w, not its
// scale, is the inferred objective.
//
// # Lifecycle
//
// Add each decision to a Choices while playing episodes (package fitness
// does this in Evaluator.EvaluateWithFit), then call its Infer once with
// DefaultConfig; Infer over a slice of Steps does both for callers that
// hold the decisions already. The package
// is pure: no I/O, no goroutines, no clock; sums run in a fixed order, so
// equal inputs give bitwise-equal Fits on every machine.
package behavior

import (
	"errors"
	"fmt"
	"math"
)

// ErrInvalid: a Step or Config value is out of range. Returned errors wrap
// it and name the field.
var ErrInvalid = errors.New("behavior: invalid")

// Step is one decision: the feature vectors of the states each available
// action leads to, and the option taken.
type Step struct {
	// Options holds one feature vector per available action; every vector
	// of every Step has the same length (the feature basis). Options whose
	// vectors are equal lead to indistinguishable states and are merged
	// into one option by Infer.
	Options [][]float64
	// Chosen indexes Options.
	Chosen int
}

// Config tunes Infer.
type Config struct {
	// L2 is the ridge penalty on the weights, > 0. Smaller lets the
	// weights grow larger on separable data.
	L2 float64
	// MaxIter bounds the Newton iterations, 1..1000.
	MaxIter int
	// Tol stops the iteration once half the Newton decrement, λ²/2 with
	// λ² = gᵀH⁻¹g, falls below it, > 0: near the optimum λ²/2 estimates
	// how much the objective (a mean log-likelihood per decision, in nats)
	// can still rise.
	Tol float64
}

// DefaultConfig returns the settings mesaopt uses. They are design choices
// of this project: with features normalised to about [0,1] per step, an
// L2 of 1e-3 lets weights reach the hundreds, enough to reproduce a
// deterministic policy's choices with probability near 1. Tol 1e-6 nats
// per decision is as strict as the fit's uses need and no stricter: the
// pseudo-R² it leaves uncertain is about 1e-6 (it is reported to 3
// digits), and since the objective curves by at least L2 in every
// direction, a gap of 1e-6 bounds the distance to the optimal weights by
// √(2·1e-6/L2) ≈ 0.045 on weights of norm in the tens to hundreds: a
// cosine error below 1e-3. No verdict uses the fit (lineage classifies by
// competence, base and agreement); it describes behaviour.
func DefaultConfig() Config { return Config{L2: 1e-3, MaxIter: 100, Tol: 1e-6} }

// Validate reports a field out of range, naming it; errors wrap ErrInvalid.
func (c Config) Validate() error {
	switch {
	case !(c.L2 > 0) || math.IsInf(c.L2, 0):
		return fmt.Errorf("%w: l2 = %v, allowed a finite number > 0", ErrInvalid, c.L2)
	case c.MaxIter < 1 || c.MaxIter > 1000:
		return fmt.Errorf("%w: max_iter = %d, allowed 1..1000", ErrInvalid, c.MaxIter)
	case !(c.Tol > 0):
		return fmt.Errorf("%w: tol = %v, allowed > 0", ErrInvalid, c.Tol)
	}
	return nil
}

// Fit is an inferred behavioral objective and how well it explains the
// choices.
type Fit struct {
	// Weights, one per feature, in the order of the Step vectors; all zero
	// when no step was informative.
	Weights []float64
	// Steps is the number of informative steps: those with at least two
	// distinct options. Steps with one option say nothing about preference
	// and are left out of every figure below.
	Steps int
	// LogLik is the mean log-likelihood per informative step under
	// Weights, ≤ 0; Baseline is the same under uniform choice, −mean
	// log(options).
	LogLik, Baseline float64
	// PseudoR2 is McFadden's pseudo-R², 1 − LogLik/Baseline, in [0,1]:
	// 0 explains the choices no better than chance, 1 perfectly. 0 when
	// Steps is 0.
	PseudoR2 float64
	// Accuracy is the fraction of informative steps whose chosen option
	// scores highest under Weights, in [0,1]; a tie among k best options
	// that includes the chosen one counts 1/k.
	Accuracy float64
	// Iterations is the number of Newton steps taken.
	Iterations int
}

// Infer fits the maximum-entropy choice model to steps (Choices.Add for
// each, then Choices.Infer). Errors (wrapping ErrInvalid): an invalid cfg,
// a Chosen out of range, vectors of different lengths, or a NaN or
// infinite feature; each names the step. No steps, or none informative,
// give a zero Fit (zero weights of the feature length) and no error.
func Infer(steps []Step, cfg Config) (Fit, error) {
	if err := cfg.Validate(); err != nil {
		return Fit{}, err
	}
	d := 0
	if len(steps) > 0 && len(steps[0].Options) > 0 {
		d = len(steps[0].Options[0])
	}
	c := NewChoices(d)
	var flat []float64
	for t, s := range steps {
		if s.Chosen < 0 || s.Chosen >= len(s.Options) {
			return Fit{}, fmt.Errorf("%w: steps[%d].chosen = %d, allowed 0..%d", ErrInvalid, t, s.Chosen, len(s.Options)-1)
		}
		flat = flat[:0]
		for a, x := range s.Options {
			if len(x) != d {
				return Fit{}, fmt.Errorf("%w: steps[%d].options[%d] has %d features, the first step %d", ErrInvalid, t, a, len(x), d)
			}
			for _, v := range x {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return Fit{}, fmt.Errorf("%w: steps[%d].options[%d] holds %v", ErrInvalid, t, a, v)
				}
			}
			flat = append(flat, x...)
		}
		if err := c.Add(flat, s.Chosen); err != nil {
			return Fit{}, fmt.Errorf("steps[%d]: %w", t, err)
		}
	}
	return c.Infer(cfg)
}

func dot(a, b []float64) float64 {
	v := 0.0
	for i := range a {
		v += a[i] * b[i]
	}
	return v
}

// Cosine returns the cosine similarity of two weight vectors of equal
// length, in [-1,1]: 1 when they rank every state alike up to scale. It
// returns 0 when either is all zeros or the lengths differ.
func Cosine(a, b []float64) float64 {
	if len(a) != len(b) {
		return 0
	}
	na, nb := dot(a, a), dot(b, b)
	if na == 0 || nb == 0 {
		return 0
	}
	return min(1, max(-1, dot(a, b)/math.Sqrt(na*nb)))
}
