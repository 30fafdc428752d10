package behavior

import (
	"math"
	"math/rand/v2"
	"testing"
)

// naiveGradient is the gradient of the penalised mean log-likelihood at w,
// computed directly from the raw steps (no merging, no differences): an
// independent check that Infer's weights are the optimum.
func naiveGradient(steps []Step, w []float64, l2 float64) []float64 {
	g := make([]float64, len(w))
	n := 0
	for _, s := range steps {
		distinct := map[[3]float64]bool{}
		var opts [][]float64
		for _, x := range s.Options {
			k := [3]float64{x[0], x[1], x[2]}
			if !distinct[k] {
				distinct[k] = true
				opts = append(opts, x)
			}
		}
		if len(opts) < 2 {
			continue
		}
		n++
		z := 0.0
		for _, x := range opts {
			z += math.Exp(dot(w, x))
		}
		for i := range g {
			mean := 0.0
			for _, x := range opts {
				mean += math.Exp(dot(w, x)) / z * x[i]
			}
			g[i] += s.Options[s.Chosen][i] - mean
		}
	}
	for i := range g {
		g[i] = g[i]/float64(n) - l2*w[i]
	}
	return g
}

func TestInferIsTheOptimum(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []Step
	}{
		{"softmax", planted(2000, 5, softmax([]float64{1, -2, 0.5}))},
		{"deterministic", planted(300, 6, argmax([]float64{2, -1, 0}))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			fit, err := Infer(tc.steps, cfg)
			if err != nil {
				t.Fatal(err)
			}
			g := naiveGradient(tc.steps, fit.Weights, cfg.L2)
			// At a gap of Tol the gradient is at most about √(2·Tol·λmax).
			for i, v := range g {
				if math.Abs(v) > 2e-3 {
					t.Errorf("gradient[%d] = %.2g at the fit %v, want ≈ 0 (%d iterations)", i, v, fit.Weights, fit.Iterations)
				}
			}
		})
	}
}

// Repeating every decision, reordering options and adding options equal
// to the chosen one change nothing the model sees.
func TestChoicesInvariances(t *testing.T) {
	steps := planted(500, 7, softmax([]float64{2, 0, -1}))
	base, err := Infer(steps, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(9, 9))
	var variant []Step
	for _, s := range steps {
		for range 2 {
			perm := r.Perm(len(s.Options))
			opts := make([][]float64, 0, len(perm)+1)
			chosen := 0
			for j, p := range perm {
				opts = append(opts, s.Options[p])
				if p == s.Chosen {
					chosen = j
				}
			}
			opts = append(opts, s.Options[s.Chosen]) // a duplicate of the chosen option
			variant = append(variant, Step{Options: opts, Chosen: chosen})
		}
	}
	got, err := Infer(variant, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if got.Steps != 2*base.Steps {
		t.Errorf("steps %d, want %d", got.Steps, 2*base.Steps)
	}
	for i := range base.Weights {
		if math.Abs(got.Weights[i]-base.Weights[i]) > 1e-6*(1+math.Abs(base.Weights[i])) {
			t.Errorf("weights %v, want %v", got.Weights, base.Weights)
			break
		}
	}
	if math.Abs(got.LogLik-base.LogLik) > 1e-9 || math.Abs(got.Accuracy-base.Accuracy) > 1e-9 || math.Abs(got.Baseline-base.Baseline) > 1e-12 {
		t.Errorf("fit %+v, want %+v", got, base)
	}
}

func TestChoicesDistinct(t *testing.T) {
	c := NewChoices(2)
	for range 10 {
		if err := c.Add([]float64{0, 1, 1, 0, 0, 1}, 0); err != nil { // options 0 and 2 equal
			t.Fatal(err)
		}
	}
	if err := c.Add([]float64{1, 1, 1, 1}, 1); err != nil { // one distinct option: not informative
		t.Fatal(err)
	}
	if c.Steps() != 10 || c.Distinct() != 1 {
		t.Errorf("steps %d distinct %d, want 10 and 1", c.Steps(), c.Distinct())
	}
	if err := c.Add([]float64{0, 1, 1}, 0); err == nil {
		t.Error("a ragged decision was accepted")
	}
	if err := c.Add([]float64{0, 1, 1, 0}, 2); err == nil {
		t.Error("chosen out of range was accepted")
	}
	c.Reset()
	if c.Steps() != 0 || c.Distinct() != 0 {
		t.Errorf("after Reset: steps %d distinct %d", c.Steps(), c.Distinct())
	}
}

func BenchmarkChoicesInfer(b *testing.B) {
	steps := planted(240, 1, argmax([]float64{2, -1, 0}))
	c := NewChoices(3)
	for _, s := range steps {
		var flat []float64
		for _, x := range s.Options {
			flat = append(flat, x...)
		}
		if err := c.Add(flat, s.Chosen); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Infer(DefaultConfig()); err != nil {
			b.Fatal(err)
		}
	}
}
