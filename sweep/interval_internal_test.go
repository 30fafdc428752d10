package sweep

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSelectRankMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 200 {
		n := 1 + rng.IntN(300)
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = float64(rng.IntN(20)) // many ties
		}
		sorted := slices.Clone(xs)
		slices.Sort(sorted)
		k := rng.IntN(n)
		if got := selectRank(slices.Clone(xs), k); got != sorted[k] {
			t.Fatalf("trial %d: rank %d of %v = %g, want %g", trial, k, xs, got, sorted[k])
		}
	}
}

func TestPercentilesBySelectionMatchSort(t *testing.T) {
	xs := []float64{0.1, 0.25, 0.3, 0.5, 0.9}
	means := make([]float64, Resamples)
	resampleMeans(rand.NewPCG(1, 2), xs, means)
	sorted := slices.Clone(means)
	slices.Sort(sorted)
	lo := selectRank(means, loRank-1)
	hi := selectRank(means[loRank:], hiRank-1-loRank)
	if lo != sorted[249] || hi != sorted[9749] {
		t.Errorf("selected %g, %g; sorted 250th %g and 9750th %g", lo, hi, sorted[249], sorted[9749])
	}
}

func TestResampleDrawsAreUniform(t *testing.T) {
	// One resample of 3 values as indicators of index 0, 1, 2: over B
	// resamples each index is drawn a third of the time (±4 standard errors).
	for k := range 3 {
		xs := []float64{0, 0, 0}
		xs[k] = 1
		means := make([]float64, Resamples)
		resampleMeans(rand.NewPCG(3, 4), xs, means)
		var sum float64
		for _, m := range means {
			sum += m
		}
		share := sum / Resamples
		if se := math.Sqrt(2.0 / 9 / (3 * Resamples)); math.Abs(share-1.0/3) > 4*se {
			t.Errorf("index %d drawn with share %.4f, want 1/3 ± %.4f", k, share, 4*se)
		}
	}
}
