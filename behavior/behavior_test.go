package behavior

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// planted generates steps with 2..4 random options of 3 features; choose
// picks the option.
func planted(n int, seed uint64, choose func(r *rand.Rand, opts [][]float64) int) []Step {
	r := rand.New(rand.NewPCG(seed, 1))
	steps := make([]Step, n)
	for t := range steps {
		opts := make([][]float64, 2+r.IntN(3))
		for a := range opts {
			opts[a] = []float64{r.Float64(), r.Float64(), r.Float64()}
		}
		steps[t] = Step{Options: opts, Chosen: choose(r, opts)}
	}
	return steps
}

func argmax(w []float64) func(*rand.Rand, [][]float64) int {
	return func(_ *rand.Rand, opts [][]float64) int {
		best := 0
		for a := range opts {
			if dot(w, opts[a]) > dot(w, opts[best]) {
				best = a
			}
		}
		return best
	}
}

func softmax(w []float64) func(*rand.Rand, [][]float64) int {
	return func(r *rand.Rand, opts [][]float64) int {
		z := 0.0
		for _, x := range opts {
			z += math.Exp(dot(w, x))
		}
		u := r.Float64() * z
		for a, x := range opts {
			if u -= math.Exp(dot(w, x)); u <= 0 {
				return a
			}
		}
		return len(opts) - 1
	}
}

func TestInferPlanted(t *testing.T) {
	tests := []struct {
		name                 string
		steps                []Step
		truth                []float64
		minCos, minR2, maxR2 float64
		minAcc               float64
	}{
		{"deterministic: seeks feature 0, avoids feature 1", planted(400, 1, argmax([]float64{2, -1, 0})), []float64{2, -1, 0}, 0.97, 0.8, 1, 0.95},
		{"deterministic: seeks feature 2 only", planted(400, 2, argmax([]float64{0, 0, 1})), []float64{0, 0, 1}, 0.97, 0.8, 1, 0.95},
		{"stochastic softmax", planted(4000, 3, softmax([]float64{3, 0, -2})), []float64{3, 0, -2}, 0.97, 0.1, 0.6, 0.5},
		{"uniform: nothing to explain", planted(4000, 4, func(r *rand.Rand, o [][]float64) int { return r.IntN(len(o)) }), nil, 0, 0, 0.02, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fit, err := Infer(tt.steps, DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			if tt.truth != nil {
				if c := Cosine(fit.Weights, tt.truth); c < tt.minCos {
					t.Errorf("cosine to the planted weights %v = %.3f, want ≥ %.2f (fit %v)", tt.truth, c, tt.minCos, fit.Weights)
				}
			}
			if fit.PseudoR2 < tt.minR2 || fit.PseudoR2 > tt.maxR2 || fit.Accuracy < tt.minAcc {
				t.Errorf("pseudo-R² %.3f (want %.2f..%.2f), accuracy %.3f (want ≥ %.2f)", fit.PseudoR2, tt.minR2, tt.maxR2, fit.Accuracy, tt.minAcc)
			}
			if fit.Steps != len(tt.steps) || fit.LogLik > 0 || fit.Baseline >= fit.LogLik+1e-12 && tt.truth != nil {
				t.Errorf("steps %d, loglik %v, baseline %v", fit.Steps, fit.LogLik, fit.Baseline)
			}
			again, _ := Infer(tt.steps, DefaultConfig())
			for i := range fit.Weights {
				if math.Float64bits(again.Weights[i]) != math.Float64bits(fit.Weights[i]) {
					t.Fatalf("two fits differ: %v vs %v", again.Weights, fit.Weights)
				}
			}
		})
	}
}

func TestInferMergesAndSkips(t *testing.T) {
	// Three actions, two lead to the same state: one informative choice of
	// two distinct options. A step with one distinct option is skipped.
	steps := []Step{
		{Options: [][]float64{{1, 0}, {0, 1}, {0, 1}}, Chosen: 2},
		{Options: [][]float64{{5, 5}, {5, 5}}, Chosen: 0},
	}
	fit, err := Infer(steps, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if fit.Steps != 1 || fit.Weights[1] <= fit.Weights[0] || fit.Accuracy != 1 {
		t.Errorf("fit = %+v, want 1 step preferring feature 1", fit)
	}
	if math.Abs(fit.Baseline-(-math.Log(2))) > 1e-12 {
		t.Errorf("baseline = %v, want -log 2 (duplicates merged)", fit.Baseline)
	}
	empty, err := Infer(steps[1:], DefaultConfig())
	if err != nil || empty.Steps != 0 || len(empty.Weights) != 2 || empty.PseudoR2 != 0 {
		t.Errorf("no informative step: %+v, %v", empty, err)
	}
	if none, err := Infer(nil, DefaultConfig()); err != nil || len(none.Weights) != 0 {
		t.Errorf("no steps: %+v, %v", none, err)
	}
}

func TestInferErrors(t *testing.T) {
	tests := []struct {
		name  string
		steps []Step
		cfg   Config
		want  string
	}{
		{"chosen out of range", []Step{{Options: [][]float64{{1}}, Chosen: 1}}, DefaultConfig(), "steps[0].chosen = 1"},
		{"ragged", []Step{{Options: [][]float64{{1}, {1, 2}}}}, DefaultConfig(), "steps[0].options[1] has 2 features"},
		{"NaN", []Step{{Options: [][]float64{{1}, {math.NaN()}}}}, DefaultConfig(), "steps[0].options[1] holds NaN"},
		{"l2", nil, Config{L2: 0, MaxIter: 1, Tol: 1}, "l2 = 0"},
		{"max_iter", nil, Config{L2: 1, MaxIter: 0, Tol: 1}, "max_iter = 0"},
		{"tol", nil, Config{L2: 1, MaxIter: 1, Tol: math.NaN()}, "tol = NaN"},
	}
	for _, tt := range tests {
		_, err := Infer(tt.steps, tt.cfg)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want ErrInvalid containing %q", tt.name, err, tt.want)
		}
	}
}

func TestCosine(t *testing.T) {
	tests := []struct {
		a, b []float64
		want float64
	}{
		{[]float64{1, 0}, []float64{2, 0}, 1},
		{[]float64{1, 0}, []float64{0, 3}, 0},
		{[]float64{1, 1}, []float64{-1, -1}, -1},
		{[]float64{0, 0}, []float64{1, 0}, 0},
		{[]float64{1}, []float64{1, 0}, 0},
	}
	for _, tt := range tests {
		if got := Cosine(tt.a, tt.b); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Cosine(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func BenchmarkInfer(b *testing.B) {
	steps := planted(240, 1, argmax([]float64{2, -1, 0}))
	for b.Loop() {
		if _, err := Infer(steps, DefaultConfig()); err != nil {
			b.Fatal(err)
		}
	}
}
