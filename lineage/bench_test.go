package lineage

import (
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/mesaopt/mesaopt/genome"
)

// The benchmark phylogeny: benchPop individuals per generation for
// benchGens generations, 1,000,000 births; each child's primary parent is
// drawn from the fittest half of the previous generation (truncation
// selection, so lines coalesce as in the GA), 5% have a crossover second
// parent, 1% of the planners are flagged.
const (
	benchPop  = 1000
	benchGens = 1000
)

type benchFixture struct {
	store      *Store
	last       []uint64
	heapPerRec float64 // measured heap bytes per retained record
	estPerRec  float64 // Store.Bytes() per retained record
	births     uint64
}

var (
	benchOnce                  sync.Once
	benchPruned, benchUnpruned benchFixture
)

func benchRecord(r *rand.Rand, id uint64, gen uint32, parents []uint64) Record {
	rec := Record{ID: id, Generation: gen, Parents: parents, Kind: genome.KindHeuristic, Fitness: r.Float64(),
		Operators: []string{genome.OpGaussian},
		Train:     ConditionScore{Condition: "train", Base: r.Float64(), Competence: r.Float64(), Agreement: r.Float64()},
		Shifted:   []ConditionScore{{Condition: "shifted", Base: r.Float64(), Competence: r.Float64(), Agreement: r.Float64()}}}
	if r.IntN(2) == 0 {
		rec.Kind, rec.Horizon = genome.KindPlanner, 4
		rec.Objective = make([]float64, 8)
		for i := range rec.Objective {
			rec.Objective[i] = r.NormFloat64()
		}
		if r.IntN(50) == 0 {
			rec.Shifted[0].Class, rec.Shifted[0].Flagged = ClassPseudoAligned, true
			rec.Flagged, rec.FlagReasons = true, []string{"pseudo-aligned under shifted"}
		}
	}
	return rec
}

// buildBench records the phylogeny, pruning after every generation when
// prune is set, and measures the heap it holds.
func buildBench(prune bool) benchFixture {
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	r := rand.New(rand.NewPCG(7, 7))
	s := NewStore()
	var prev, cur []Record
	id := uint64(0)
	for g := uint32(0); g < benchGens; g++ {
		cur = cur[:0]
		for range benchPop {
			var parents []uint64
			if g > 0 {
				// prev is sorted by fitness below: draw from the fittest half.
				parents = []uint64{prev[r.IntN(benchPop/2)].ID}
				if r.IntN(20) == 0 {
					if p2 := prev[r.IntN(benchPop/2)].ID; p2 != parents[0] {
						parents = append(parents, p2)
					}
				}
			}
			cur = append(cur, benchRecord(r, id, g, parents))
			id++
		}
		MarkChampion(cur)
		keep := make([]uint64, len(cur))
		for i := range cur {
			if err := s.Add(cur[i]); err != nil {
				panic(err)
			}
			keep[i] = cur[i].ID
		}
		if prune {
			if _, err := s.Prune(keep); err != nil {
				panic(err)
			}
		}
		prev = append(prev[:0], cur...)
		sortByFitness(prev)
	}
	prev, cur = nil, nil
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	f := benchFixture{store: s, births: s.Births()}
	for _, r := range s.Generation(benchGens - 1) {
		f.last = append(f.last, r.ID)
	}
	f.heapPerRec = float64(after.HeapAlloc-before.HeapAlloc) / float64(s.Len())
	f.estPerRec = float64(s.Bytes()) / float64(s.Len())
	return f
}

func sortByFitness(rs []Record) {
	slices.SortFunc(rs, func(a, b Record) int {
		if fitter(a, b) {
			return -1
		}
		if fitter(b, a) {
			return 1
		}
		return 0
	})
}

func fixtures(b *testing.B) (pruned, unpruned *benchFixture) {
	b.Helper()
	benchOnce.Do(func() {
		benchPruned = buildBench(true)
		benchUnpruned = buildBench(false)
	})
	return &benchPruned, &benchUnpruned
}

func eachFixture(b *testing.B, fn func(b *testing.B, f *benchFixture)) {
	p, u := fixtures(b)
	for _, c := range []struct {
		name string
		f    *benchFixture
	}{{"pruned", p}, {"unpruned", u}} {
		b.Run(c.name, func(b *testing.B) { fn(b, c.f) })
	}
}

// BenchmarkLineOfDescent: the 1000-generation line of a living individual.
func BenchmarkLineOfDescent(b *testing.B) {
	eachFixture(b, func(b *testing.B, f *benchFixture) {
		i := 0
		for b.Loop() {
			line, err := f.store.LineOfDescent(f.last[i%len(f.last)])
			if err != nil || len(line) != benchGens {
				b.Fatal(len(line), err)
			}
			i++
		}
	})
}

// BenchmarkListFlagged: the first page of 100 flagged planners of the last
// generation, and of the whole run (every generation).
func BenchmarkListFlagged(b *testing.B) {
	eachFixture(b, func(b *testing.B, f *benchFixture) {
		last := DefaultFilter()
		last.MinGeneration, last.MaxGeneration = benchGens-1, benchGens-1
		b.Run("last-generation", func(b *testing.B) {
			for b.Loop() {
				if page, _ := f.store.ListFlagged(last, 0, 100); len(page) == 0 {
					b.Fatal("no flagged planner")
				}
			}
		})
		b.Run("whole-run-page-50", func(b *testing.B) {
			all := DefaultFilter()
			for b.Loop() {
				if page, _ := f.store.ListFlagged(all, 50*100, 100); len(page) != 100 {
					b.Fatal(len(page))
				}
			}
		})
	})
}

// BenchmarkMemoryPerRecord reports the heap held per retained record
// (measured, and Store.Bytes' estimate) and the retained count.
func BenchmarkMemoryPerRecord(b *testing.B) {
	eachFixture(b, func(b *testing.B, f *benchFixture) {
		for b.Loop() {
		}
		b.ReportMetric(f.heapPerRec, "heapB/record")
		b.ReportMetric(f.estPerRec, "estB/record")
		b.ReportMetric(float64(f.births), "births")
		b.ReportMetric(float64(f.store.Len()), "retained")
	})
}

// BenchmarkExport: throughput of each format (b.SetBytes: MB/s of output).
func BenchmarkExport(b *testing.B) {
	eachFixture(b, func(b *testing.B, f *benchFixture) {
		for _, format := range []string{FormatALife, FormatNewick, FormatDOT} {
			b.Run(format, func(b *testing.B) {
				var n countWriter
				if err := f.store.Snapshot().Write(&n, format, []string{"shifted"}); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(n))
				b.ReportMetric(float64(f.store.Len()), "records/op")
				for b.Loop() {
					if err := f.store.Snapshot().Write(io.Discard, format, []string{"shifted"}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	})
}

type countWriter int

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }
