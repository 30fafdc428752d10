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
// backtracking. The penalty keeps w finite when the choices are perfectly
// separable, as a deterministic policy's are; the direction of w, not its
// scale, is the inferred objective.
//
// # Lifecycle
//
// Record Steps while playing episodes (package fitness does this in
// Evaluator.Decisions), then call Infer once with DefaultConfig. The package
// is pure: no I/O, no goroutines, no clock; sums run in a fixed order, so
// equal inputs give bitwise-equal Fits on every machine.
package behavior

import (
	"errors"
	"fmt"
	"math"
	"slices"
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
	// Tol stops the iteration once the largest change of a weight falls
	// below it, > 0.
	Tol float64
}

// DefaultConfig returns the settings mesaopt uses. They are design choices
// of this project: with features normalised to about [0,1] per step, an
// L2 of 1e-3 lets weights reach the hundreds, enough to reproduce a
// deterministic policy's choices with probability near 1.
func DefaultConfig() Config { return Config{L2: 1e-3, MaxIter: 100, Tol: 1e-9} }

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

// step is a Step with duplicate options merged.
type step struct {
	opts   [][]float64
	chosen int
}

// Infer fits the maximum-entropy choice model to steps. Errors (wrapping
// ErrInvalid): an invalid cfg, a Chosen out of range, vectors of different
// lengths, or a NaN or infinite feature; each names the step. No steps, or
// none informative, give a zero Fit (zero weights of the feature length)
// and no error.
func Infer(steps []Step, cfg Config) (Fit, error) {
	if err := cfg.Validate(); err != nil {
		return Fit{}, err
	}
	d := -1
	var data []step
	for t, s := range steps {
		if s.Chosen < 0 || s.Chosen >= len(s.Options) {
			return Fit{}, fmt.Errorf("%w: steps[%d].chosen = %d, allowed 0..%d", ErrInvalid, t, s.Chosen, len(s.Options)-1)
		}
		for a, x := range s.Options {
			if d < 0 {
				d = len(x)
			}
			if len(x) != d {
				return Fit{}, fmt.Errorf("%w: steps[%d].options[%d] has %d features, the first step %d", ErrInvalid, t, a, len(x), d)
			}
			for _, v := range x {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return Fit{}, fmt.Errorf("%w: steps[%d].options[%d] holds %v", ErrInvalid, t, a, v)
				}
			}
		}
		if m := merge(s); len(m.opts) > 1 {
			data = append(data, m)
		}
	}
	fit := Fit{Weights: make([]float64, max(d, 0)), Steps: len(data)}
	if len(data) == 0 {
		return fit, nil
	}
	w := fit.Weights
	obj := func(w []float64) float64 { return loglik(data, w) - cfg.L2/2*dot(w, w) }
	grad := make([]float64, d)
	hess := make([]float64, d*d)
	cur := obj(w)
	for it := 0; it < cfg.MaxIter; it++ {
		derivatives(data, w, grad, hess)
		for i := range d {
			grad[i] -= cfg.L2 * w[i]
			hess[i*d+i] += cfg.L2
		}
		dir, ok := solve(hess, grad, d)
		if !ok {
			break
		}
		// Backtracking: Newton's full step, halved until the objective rises.
		scale, next := 1.0, make([]float64, d)
		improved := false
		for range 40 {
			for i := range d {
				next[i] = w[i] + scale*dir[i]
			}
			if v := obj(next); v >= cur {
				cur, improved = v, true
				break
			}
			scale /= 2
		}
		fit.Iterations = it + 1
		if !improved {
			break
		}
		change := 0.0
		for i := range d {
			change = max(change, math.Abs(next[i]-w[i]))
		}
		copy(w, next)
		if change < cfg.Tol {
			break
		}
	}
	n := float64(len(data))
	fit.LogLik = loglik(data, w) / n
	for _, s := range data {
		fit.Baseline -= math.Log(float64(len(s.opts)))
	}
	fit.Baseline /= n
	fit.PseudoR2 = min(1, max(0, 1-fit.LogLik/fit.Baseline))
	for _, s := range data {
		best, ties, chosenBest := math.Inf(-1), 0, false
		for a, x := range s.opts {
			v := dot(w, x)
			switch {
			case v > best:
				best, ties, chosenBest = v, 1, a == s.chosen
			case v == best:
				ties++
				chosenBest = chosenBest || a == s.chosen
			}
		}
		if chosenBest {
			fit.Accuracy += 1 / float64(ties)
		}
	}
	fit.Accuracy /= n
	return fit, nil
}

// merge drops options equal to an earlier one, keeping the chosen option's
// position in the merged list.
func merge(s Step) step {
	var out step
	for a, x := range s.Options {
		j := slices.IndexFunc(out.opts, func(y []float64) bool { return slices.Equal(x, y) })
		if j < 0 {
			j = len(out.opts)
			out.opts = append(out.opts, x)
		}
		if a == s.Chosen {
			out.chosen = j
		}
	}
	return out
}

// loglik returns Σ_t log P(chosen_t) under w, summed in step order, with
// the log-sum-exp shifted by the largest score for stability.
func loglik(data []step, w []float64) float64 {
	ll := 0.0
	for _, s := range data {
		top := math.Inf(-1)
		for _, x := range s.opts {
			top = max(top, dot(w, x))
		}
		z := 0.0
		for _, x := range s.opts {
			z += math.Exp(dot(w, x) - top)
		}
		ll += dot(w, s.opts[s.chosen]) - top - math.Log(z)
	}
	return ll
}

// derivatives writes the gradient of the mean log-likelihood into grad and
// the negated Hessian (the mean covariance of the features under the
// model's choice probabilities) into hess, row-major d×d.
func derivatives(data []step, w, grad, hess []float64) {
	d := len(w)
	clear(grad)
	clear(hess)
	mean := make([]float64, d)
	p := make([]float64, 0, 8)
	for _, s := range data {
		top := math.Inf(-1)
		for _, x := range s.opts {
			top = max(top, dot(w, x))
		}
		p = p[:0]
		z := 0.0
		for _, x := range s.opts {
			e := math.Exp(dot(w, x) - top)
			p = append(p, e)
			z += e
		}
		clear(mean)
		for a, x := range s.opts {
			p[a] /= z
			for i := range d {
				mean[i] += p[a] * x[i]
			}
		}
		for i := range d {
			grad[i] += s.opts[s.chosen][i] - mean[i]
		}
		for a, x := range s.opts {
			for i := range d {
				di := x[i] - mean[i]
				for j := range d {
					hess[i*d+j] += p[a] * di * (x[j] - mean[j])
				}
			}
		}
	}
	n := float64(len(data))
	for i := range grad {
		grad[i] /= n
	}
	for i := range hess {
		hess[i] /= n
	}
}

// solve solves the symmetric positive definite system h·x = b (h row-major
// d×d) by Cholesky factorisation; false if h is not positive definite.
func solve(h, b []float64, d int) ([]float64, bool) {
	l := make([]float64, d*d)
	for i := range d {
		for j := 0; j <= i; j++ {
			sum := h[i*d+j]
			for k := 0; k < j; k++ {
				sum -= l[i*d+k] * l[j*d+k]
			}
			if i == j {
				if !(sum > 0) {
					return nil, false
				}
				l[i*d+i] = math.Sqrt(sum)
			} else {
				l[i*d+j] = sum / l[j*d+j]
			}
		}
	}
	y := make([]float64, d)
	for i := range d {
		sum := b[i]
		for k := 0; k < i; k++ {
			sum -= l[i*d+k] * y[k]
		}
		y[i] = sum / l[i*d+i]
	}
	x := make([]float64, d)
	for i := d - 1; i >= 0; i-- {
		sum := y[i]
		for k := i + 1; k < d; k++ {
			sum -= l[k*d+i] * x[k]
		}
		x[i] = sum / l[i*d+i]
	}
	return x, true
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
