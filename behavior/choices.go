package behavior

import (
	"fmt"
	"math"
	"slices"
)

// Choices accumulates decisions in the compact form the fit works on, so
// that a caller recording thousands of decisions keeps only the distinct
// ones. A decision is kept as the differences x_a − x_chosen of its other
// options' feature vectors: the choice model depends on w·(x_a − x_chosen)
// only, so this loses nothing. Options whose differences are equal are one
// option (they lead to states the features cannot tell apart), and so is
// an option equal to the chosen one. The differences of a decision are
// sorted, and decisions with the same sorted differences are kept once with
// a count: the model gives them the same likelihood, so the fit over the
// distinct decisions weighted by their counts equals the fit over all of
// them.
//
// The zero value is not usable; call NewChoices. A Choices is used by one
// goroutine at a time. Its memory is reused after Reset.
type Choices struct {
	d     int
	diffs []float64 // the distinct decisions' difference vectors, concatenated
	uniq  []choice  // distinct informative decisions, in order of first appearance
	table []int32   // open-addressed hash of uniq: index+1, 0 empty; len a power of 2
	added int       // decisions added, informative or not
	total float64   // informative decisions, counted with multiplicity

	row []float64 // scratch: the decision being added
}

// choice is one distinct decision: k−1 distinct non-zero difference
// vectors at diffs[off : off+(k−1)·d], and how often it was made.
type choice struct {
	off   int
	k     int
	count float64
	hash  uint64
}

// NewChoices returns an empty set of decisions over d features (d ≥ 0).
func NewChoices(d int) *Choices {
	return &Choices{d: max(d, 0), table: make([]int32, 64)}
}

// Features returns the length of the feature vectors.
func (c *Choices) Features() int { return c.d }

// Reset empties c, keeping its memory.
func (c *Choices) Reset() {
	c.diffs = c.diffs[:0]
	c.uniq = c.uniq[:0]
	clear(c.table)
	c.added, c.total = 0, 0
}

// Steps returns the number of informative decisions added (those with at
// least two distinct options), counted with multiplicity.
func (c *Choices) Steps() int { return int(c.total) }

// Distinct returns the number of distinct informative decisions kept.
func (c *Choices) Distinct() int { return len(c.uniq) }

// Add records one decision: options holds the feature vectors of its n
// options row-major (len(options) = n·Features(), n ≥ 1), chosen indexes
// the option taken. options is not retained. It allocates only when the
// decision is new. Errors (wrapping ErrInvalid, naming the decision by the
// number of decisions added before it): a length that is not a multiple of
// Features, a chosen out of range, a NaN or infinite feature.
func (c *Choices) Add(options []float64, chosen int) error {
	d := c.d
	t := c.added
	n := 0
	if d > 0 {
		if len(options)%d != 0 {
			return fmt.Errorf("%w: decision %d has %d values, not a multiple of %d features", ErrInvalid, t, len(options), d)
		}
		n = len(options) / d
	} else if len(options) > 0 {
		return fmt.Errorf("%w: decision %d has %d values for 0 features", ErrInvalid, t, len(options))
	}
	if chosen < 0 || (d > 0 && chosen >= n) {
		return fmt.Errorf("%w: chosen = %d, allowed 0..%d", ErrInvalid, chosen, n-1)
	}
	for i, v := range options {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: options[%d] holds %v", ErrInvalid, i/d, v)
		}
	}
	c.added++
	if d == 0 {
		return nil
	}
	x := options[chosen*d : (chosen+1)*d]
	c.row = c.row[:0]
	rows := 0
	for a := range n {
		if a == chosen {
			continue
		}
		start := len(c.row)
		zero := true
		for i, v := range options[a*d : (a+1)*d] {
			diff := v - x[i]
			zero = zero && diff == 0
			c.row = append(c.row, diff)
		}
		if zero || c.seen(c.row[:start], c.row[start:]) {
			c.row = c.row[:start]
			continue
		}
		rows++
	}
	if rows == 0 {
		return nil
	}
	c.sortRows(rows)
	c.total++
	h := uint64(rows)
	for _, v := range c.row {
		h = (h ^ math.Float64bits(v+0)) * 0x100000001b3 // FNV-style; + 0 folds −0 into 0
	}
	mask := uint64(len(c.table) - 1)
	i := (h ^ h>>29) & mask
	for ; c.table[i] != 0; i = (i + 1) & mask {
		u := &c.uniq[c.table[i]-1]
		if u.k == rows+1 && slices.Equal(c.diffs[u.off:u.off+rows*d], c.row) {
			u.count++
			return nil
		}
	}
	c.table[i] = int32(len(c.uniq)) + 1
	c.uniq = append(c.uniq, choice{off: len(c.diffs), k: rows + 1, count: 1, hash: h})
	c.diffs = append(c.diffs, c.row...)
	if 2*len(c.uniq) > len(c.table) {
		c.grow()
	}
	return nil
}

// grow doubles the hash table.
func (c *Choices) grow() {
	c.table = make([]int32, 2*len(c.table))
	mask := uint64(len(c.table) - 1)
	for j, u := range c.uniq {
		i := (u.hash ^ u.hash>>29) & mask
		for c.table[i] != 0 {
			i = (i + 1) & mask
		}
		c.table[i] = int32(j) + 1
	}
}

// seen reports whether row equals one of the rows in prev (d values each).
func (c *Choices) seen(prev, row []float64) bool {
	for off := 0; off < len(prev); off += c.d {
		if slices.Equal(prev[off:off+c.d], row) {
			return true
		}
	}
	return false
}

// sortRows sorts the rows of c.row lexicographically (insertion sort: a
// decision has a handful of options).
func (c *Choices) sortRows(rows int) {
	d := c.d
	r := c.row
	for i := 1; i < rows; i++ {
		for j := i; j > 0 && slices.Compare(r[j*d:(j+1)*d], r[(j-1)*d:j*d]) < 0; j-- {
			for k := range d {
				r[j*d+k], r[(j-1)*d+k] = r[(j-1)*d+k], r[j*d+k]
			}
		}
	}
}

// Infer fits the maximum-entropy choice model to the decisions (see the
// package doc): Newton's method on the strictly concave mean log-likelihood
// minus (L2/2)·|w|², with backtracking, stopped once the Newton decrement
// λ² = gᵀH⁻¹g says the objective can rise by less than about λ²/2 < Tol
// more, or after MaxIter steps. Errors: an invalid cfg (wrapping
// ErrInvalid). No informative decision gives a zero Fit.
func (c *Choices) Infer(cfg Config) (Fit, error) {
	if err := cfg.Validate(); err != nil {
		return Fit{}, err
	}
	d := c.d
	fit := Fit{Weights: make([]float64, d), Steps: int(c.total)}
	if len(c.uniq) == 0 {
		return fit, nil
	}
	f := newFitter(c, cfg.L2)
	w := fit.Weights
	cur := f.derivatives(w)
	for it := 0; it < cfg.MaxIter; it++ {
		if !f.solve() {
			break
		}
		decrement := dot(f.grad, f.dir)
		fit.Iterations = it + 1
		if decrement/2 < cfg.Tol {
			break
		}
		// Backtracking (Armijo): Newton's full step, halved until the
		// objective rises by at least a fraction of the predicted amount.
		scale, improved := 1.0, false
		for range 40 {
			for i := range d {
				f.next[i] = w[i] + scale*f.dir[i]
			}
			if v := f.objective(f.next); v >= cur+1e-4*scale*decrement {
				improved = true
				break
			}
			scale /= 2
		}
		if !improved {
			break
		}
		copy(w, f.next)
		cur = f.derivatives(w)
	}
	fit.LogLik = f.loglik(w) / c.total
	for _, u := range c.uniq {
		fit.Baseline -= u.count * math.Log(float64(u.k))
	}
	fit.Baseline /= c.total
	fit.PseudoR2 = min(1, max(0, 1-fit.LogLik/fit.Baseline))
	for _, u := range c.uniq {
		// The chosen option scores 0; it is best unless another scores
		// more, and shares the best with the options that score 0 too.
		ties, beaten := 1, false
		for r := range u.k - 1 {
			switch v := dot(w, c.diffs[u.off+r*d:u.off+(r+1)*d]); {
			case v > 0:
				beaten = true
			case v == 0:
				ties++
			}
		}
		if !beaten {
			fit.Accuracy += u.count / float64(ties)
		}
	}
	fit.Accuracy /= c.total
	return fit, nil
}

// fitter holds the scratch memory of one Infer.
type fitter struct {
	c                *Choices
	l2               float64
	grad, hess, chol []float64
	dir, next, mean  []float64
	p                []float64
}

func newFitter(c *Choices, l2 float64) *fitter {
	d := c.d
	maxK := 0
	for _, u := range c.uniq {
		maxK = max(maxK, u.k)
	}
	buf := make([]float64, 5*d+2*d*d+maxK)
	return &fitter{c: c, l2: l2,
		grad: buf[:d], dir: buf[d : 2*d], next: buf[2*d : 3*d], mean: buf[3*d : 4*d],
		hess: buf[5*d : 5*d+d*d], chol: buf[5*d+d*d : 5*d+2*d*d], p: buf[5*d+2*d*d:]}
}

// objective is the penalised mean log-likelihood at w.
func (f *fitter) objective(w []float64) float64 {
	return f.loglik(w)/f.c.total - f.l2/2*dot(w, w)
}

// loglik returns Σ count·log P(chosen) under w, summed in decision order,
// each log-sum-exp shifted by its largest score for stability.
func (f *fitter) loglik(w []float64) float64 {
	c, d := f.c, f.c.d
	ll := 0.0
	for _, u := range c.uniq {
		top := 0.0 // the chosen option's score
		for r := range u.k - 1 {
			top = max(top, dot(w, c.diffs[u.off+r*d:u.off+(r+1)*d]))
		}
		z := math.Exp(-top)
		for r := range u.k - 1 {
			z += math.Exp(dot(w, c.diffs[u.off+r*d:u.off+(r+1)*d]) - top)
		}
		ll += u.count * (-top - math.Log(z))
	}
	return ll
}

// derivatives writes the gradient of the penalised objective at w into
// f.grad and its negated Hessian (the mean covariance of the option
// differences under the model's choice probabilities, plus L2·I) into
// f.hess, row-major d×d, and returns the objective at w.
func (f *fitter) derivatives(w []float64) float64 {
	c, d := f.c, f.c.d
	grad, hess, mean := f.grad, f.hess, f.mean
	clear(grad)
	clear(hess)
	ll := 0.0
	for _, u := range c.uniq {
		m := u.k - 1
		p := f.p[:m]
		top := 0.0
		for r := range m {
			p[r] = dot(w, c.diffs[u.off+r*d:u.off+(r+1)*d])
			top = max(top, p[r])
		}
		z := math.Exp(-top)
		for r := range m {
			p[r] = math.Exp(p[r] - top)
			z += p[r]
		}
		ll += u.count * (-top - math.Log(z))
		clear(mean)
		for r := range m {
			p[r] /= z
			x := c.diffs[u.off+r*d : u.off+(r+1)*d]
			for i, v := range x {
				mean[i] += p[r] * v
			}
		}
		// The chosen option's difference is 0: gradient −mean, covariance
		// Σ p_r x_r x_rᵀ − mean meanᵀ (upper triangle; mirrored below).
		for i := range d {
			grad[i] -= u.count * mean[i]
		}
		for r := range m {
			x := c.diffs[u.off+r*d : u.off+(r+1)*d]
			pr := u.count * p[r]
			for i, xi := range x {
				if xi == 0 {
					continue
				}
				row := hess[i*d : (i+1)*d]
				for j := i; j < d; j++ {
					row[j] += pr * xi * x[j]
				}
			}
		}
		for i, mi := range mean {
			if mi == 0 {
				continue
			}
			row := hess[i*d : (i+1)*d]
			for j := i; j < d; j++ {
				row[j] -= u.count * mi * mean[j]
			}
		}
	}
	n := c.total
	for i := range d {
		grad[i] = grad[i]/n - f.l2*w[i]
		for j := i; j < d; j++ {
			hess[i*d+j] /= n
			hess[j*d+i] = hess[i*d+j]
		}
		hess[i*d+i] += f.l2
	}
	return ll/n - f.l2/2*dot(w, w)
}

// solve solves hess·dir = grad by Cholesky factorisation (hess is
// symmetric positive definite: a covariance plus L2·I); false if it is not
// numerically positive definite.
func (f *fitter) solve() bool {
	d := f.c.d
	h, l, b, x := f.hess, f.chol, f.grad, f.dir
	for i := range d {
		for j := 0; j <= i; j++ {
			sum := h[i*d+j]
			for k := 0; k < j; k++ {
				sum -= l[i*d+k] * l[j*d+k]
			}
			if i == j {
				if !(sum > 0) {
					return false
				}
				l[i*d+i] = math.Sqrt(sum)
			} else {
				l[i*d+j] = sum / l[j*d+j]
			}
		}
	}
	for i := range d { // forward: L y = b, y stored in x
		sum := b[i]
		for k := 0; k < i; k++ {
			sum -= l[i*d+k] * x[k]
		}
		x[i] = sum / l[i*d+i]
	}
	for i := d - 1; i >= 0; i-- { // back: Lᵀ x = y
		sum := x[i]
		for k := i + 1; k < d; k++ {
			sum -= l[k*d+i] * x[k]
		}
		x[i] = sum / l[i*d+i]
	}
	return true
}
