package fitness

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// referenceRanks is average ranking by a comparison sort on (value, index).
func referenceRanks(vals []float64) []float64 {
	idx := make([]int, len(vals))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		if c := cmp.Compare(vals[a], vals[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	ranks := make([]float64, len(vals))
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && vals[idx[j]] == vals[idx[i]] {
			j++
		}
		for k := i; k < j; k++ {
			ranks[idx[k]] = float64(i+j+1) / 2
		}
		i = j
	}
	return ranks
}

func TestAverageRanksMatchesComparisonSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pools := [][]float64{
		{0, math.Copysign(0, -1), 1, -1, 0.5, -0.5, 1e300, -1e300, 1e-300, -1e-300, math.SmallestNonzeroFloat64},
		{-0.1, -0.2, -0.3, 0.1, 0.2, 0.3},
	}
	for trial := range 300 {
		n := r.IntN(400)
		if trial%25 == 0 {
			n = radixMin + 1 + r.IntN(4000) // the radix path
		}
		vals := make([]float64, n)
		for i := range vals {
			switch trial % 3 {
			case 0:
				vals[i] = r.NormFloat64() * math.Pow(10, float64(r.IntN(20)-10))
			case 1:
				p := pools[0]
				vals[i] = p[r.IntN(len(p))]
			default:
				p := pools[1]
				vals[i] = p[r.IntN(len(p))] * float64(r.IntN(3))
			}
		}
		switch trial % 7 { // orders that trip naive quicksorts
		case 4:
			slices.Sort(vals)
		case 5:
			slices.Sort(vals)
			slices.Reverse(vals)
		case 6:
			for i := range vals {
				vals[i] = 1
			}
		}
		got := make([]float64, n)
		averageRanks(vals, make([]rankPair, 2*n), got)
		if want := referenceRanks(vals); !slices.Equal(got, want) {
			t.Fatalf("trial %d: ranks %v, want %v (values %v)", trial, got, want, vals)
		}
	}
}

func TestSortByKeyDepthLimit(t *testing.T) {
	// Depth 0 goes straight to heapsort: it must sort too.
	r := rand.New(rand.NewPCG(3, 4))
	a := make([]rankPair, 500)
	for i := range a {
		a[i] = rankPair{key: r.Uint64() % 50, i: int32(i)}
	}
	quickByKey(a, 0)
	if !slices.IsSortedFunc(a, func(x, y rankPair) int { return cmp.Compare(x.key, y.key) }) {
		t.Fatal("heapsort fallback left the keys unsorted")
	}
}

func BenchmarkAverageRanks(b *testing.B) {
	for _, n := range []int{72, 379, 4000} {
		r := rand.New(rand.NewPCG(1, 1))
		vals := make([]float64, n)
		for i := range vals {
			vals[i] = -r.Float64()*2 + float64(r.IntN(3))
		}
		pairs := make([]rankPair, 2*n)
		ranks := make([]float64, n)
		b.Run(fmt.Sprintf("n-%d", n), func(b *testing.B) {
			for b.Loop() {
				averageRanks(vals, pairs, ranks)
			}
		})
	}
}
