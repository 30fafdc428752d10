package sweep_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mesaopt/mesaopt/sweep"
)

func TestBootstrapEmptyAndSingle(t *testing.T) {
	if got := sweep.Bootstrap("k", nil); got != (sweep.Interval{}) {
		t.Errorf("no values: %+v, want all zero", got)
	}
	if got := sweep.Bootstrap("k", []float64{math.NaN(), math.Inf(1)}); got != (sweep.Interval{}) {
		t.Errorf("non-finite values only: %+v, want all zero", got)
	}
	if got, want := sweep.Bootstrap("k", []float64{0.7}), (sweep.Interval{Mean: 0.7, Lo: 0.7, Hi: 0.7, N: 1}); got != want {
		t.Errorf("one value: %+v, want %+v", got, want)
	}
}

func TestBootstrapAllEqualHasZeroWidth(t *testing.T) {
	for _, n := range []int{2, 3, 10, 100} {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = 0.1
		}
		got := sweep.Bootstrap("equal", xs)
		if got.Lo != got.Mean || got.Hi != got.Mean || got.N != n {
			t.Errorf("n=%d equal values: %+v, want a zero-width interval at the mean", n, got)
		}
	}
}

func TestBootstrapTwoValuesSpansThem(t *testing.T) {
	// With 2 values a resample mean is one of x1, (x1+x2)/2, x2, with
	// probabilities 1/4, 1/2, 1/4: the 2.5th and 97.5th percentiles are the
	// extremes.
	got := sweep.Bootstrap("two", []float64{0.2, 0.6})
	if got.Lo != 0.2 || got.Hi != 0.6 || math.Abs(got.Mean-0.4) > 1e-15 {
		t.Errorf("two values: %+v, want mean 0.4 in [0.2, 0.6]", got)
	}
}

func TestBootstrapNormalWidthAndCoverage(t *testing.T) {
	// n draws of N(μ, σ²): the interval covers μ, and its width is about
	// 2·1.96·σ/√n (the bootstrap standard error is the sample's over √n).
	const (
		n     = 2000
		mu    = 3.0
		sigma = 2.0
	)
	rng := rand.New(rand.NewPCG(1, 2))
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = mu + sigma*rng.NormFloat64()
	}
	got := sweep.Bootstrap("normal", xs)
	if got.Lo > mu || got.Hi < mu {
		t.Errorf("interval [%g, %g] misses the true mean %g", got.Lo, got.Hi, mu)
	}
	want := 2 * 1.96 * sigma / math.Sqrt(n)
	if w := got.Hi - got.Lo; math.Abs(w-want) > 0.08*want {
		t.Errorf("width %g, want %g within 8 %%", w, want)
	}
	if got.Lo >= got.Mean || got.Mean >= got.Hi {
		t.Errorf("mean %g not inside (%g, %g)", got.Mean, got.Lo, got.Hi)
	}
}

func TestBootstrapCoverageOfManySamples(t *testing.T) {
	// Over many samples of 40 exponential draws (mean 1), the nominal 95 %
	// interval covers the true mean somewhat less often (the percentile
	// bootstrap is anti-conservative and the distribution is skewed), but
	// near 95 %.
	if testing.Short() {
		t.Skip("400 bootstraps")
	}
	const trials, n = 400, 40
	rng := rand.New(rand.NewPCG(3, 4))
	covered := 0
	xs := make([]float64, n)
	for i := range trials {
		for k := range xs {
			xs[k] = rng.ExpFloat64()
		}
		iv := sweep.Bootstrap(string(rune('a'+i%26))+string(rune(i)), xs)
		if iv.Lo <= 1 && 1 <= iv.Hi {
			covered++
		}
	}
	if rate := float64(covered) / trials; rate < 0.88 || rate > 0.98 {
		t.Errorf("coverage %.3f, want about 0.93 (0.88 .. 0.98)", rate)
	}
}

func TestBootstrapDeterministicAndOrderFree(t *testing.T) {
	xs := []float64{0.25, 0.5, 0.75, 0.1, 0.9}
	a := sweep.Bootstrap("metric", xs)
	if b := sweep.Bootstrap("metric", xs); a != b {
		t.Errorf("same input: %+v then %+v", a, b)
	}
	rev := slices.Clone(xs)
	slices.Reverse(rev)
	if b := sweep.Bootstrap("metric", rev); a != b {
		t.Errorf("reversed input: %+v, want %+v", b, a)
	}
	if !slices.Equal(xs, []float64{0.25, 0.5, 0.75, 0.1, 0.9}) {
		t.Errorf("input modified: %v", xs)
	}
	if a.N != 5 || math.Abs(a.Mean-0.5) > 1e-15 || a.Lo < 0.1 || a.Hi > 0.9 || a.Lo >= a.Hi {
		t.Errorf("interval %+v, want mean 0.5 inside [0.1, 0.9]", a)
	}
}

func TestBootstrapThreeSeeds(t *testing.T) {
	got := sweep.Bootstrap("three", []float64{0.25, 0.5, 0.75})
	if math.Abs(got.Mean-0.5) > 1e-15 || got.Lo < 0.25 || got.Hi > 0.75 || got.Lo >= 0.5 || got.Hi <= 0.5 {
		t.Errorf("three seeds: %+v, want mean 0.5 with 0.25 ≤ lo < 0.5 < hi ≤ 0.75", got)
	}
}

func BenchmarkBootstrap10(b *testing.B) {
	xs := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for b.Loop() {
		sweep.Bootstrap("bench", xs)
	}
}
