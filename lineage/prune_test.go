package lineage

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/mesaopt/mesaopt/genome"
)

// refPrune is Prune's definition computed from scratch: the records kept
// are those in keep, the flagged ones, the champions and every ancestor
// (via any parent) of one of them.
func refPrune(recs map[uint64]Record, keep []uint64) (live map[uint64]bool) {
	live = map[uint64]bool{}
	var stack []uint64
	stack = append(stack, keep...)
	for id, r := range recs { // a set: order irrelevant
		if r.Flagged || r.Champion {
			stack = append(stack, id)
		}
	}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if live[id] {
			continue
		}
		live[id] = true
		stack = append(stack, recs[id].Parents...)
	}
	return live
}

// refMeasure is Measure computed over every node of the extant lines back
// to generation 0.
func refMeasure(recs map[uint64]Record, gen uint32, ids []uint64) Metrics {
	m := Metrics{Generation: gen, Extant: len(ids)}
	count := map[uint64]int{}
	for _, id := range ids {
		r := recs[id]
		if r.Kind == genome.KindPlanner {
			m.PlannerShare++
		}
		if r.Flagged {
			m.FlaggedShare++
		}
		count[id] = 1
		for len(r.Parents) > 0 {
			p := r.Parents[0]
			if _, seen := count[p]; seen {
				break
			}
			count[p] = 0
			r = recs[p]
		}
	}
	if m.Extant > 0 {
		m.PlannerShare /= float64(m.Extant)
		m.FlaggedShare /= float64(m.Extant)
	}
	var nodes []uint64
	for id := range count {
		nodes = append(nodes, id)
	}
	slices.SortFunc(nodes, func(a, b uint64) int { // descending (generation, id)
		ra, rb := recs[a], recs[b]
		if ra.Generation != rb.Generation {
			return int(rb.Generation) - int(ra.Generation)
		}
		if a > b {
			return -1
		}
		return 1
	})
	rootOf := map[uint64]uint64{}
	for _, id := range slices.Backward(nodes) {
		if r := recs[id]; len(r.Parents) == 0 {
			rootOf[id] = id
		} else {
			rootOf[id] = rootOf[r.Parents[0]]
		}
	}
	size := map[uint64]int{}
	for _, id := range ids {
		size[rootOf[id]]++
	}
	m.Roots = len(size)
	var pd, pairSum float64
	for _, id := range nodes {
		r := recs[id]
		if len(r.Parents) == 0 {
			continue
		}
		p := r.Parents[0]
		count[p] += count[id]
		c, n := count[id], size[rootOf[id]]
		if c == 0 || c == n {
			continue
		}
		length := float64(r.Generation - recs[p].Generation)
		pd += length
		pairSum += length * float64(c) * float64(n-c)
	}
	m.PD = pd
	for _, n := range size {
		m.Pairs += n * (n - 1) / 2
	}
	if m.Pairs > 0 {
		m.MPD = pairSum / float64(m.Pairs)
	}
	if m.Roots == 1 {
		for _, id := range nodes {
			if count[id] == m.Extant {
				m.Coalesced, m.MRCA = true, id
				m.MRCADepth = gen - recs[id].Generation
				break
			}
		}
	}
	return m
}

// fakeSize stands in for an encoded size: it depends on the record alone.
func fakeSize(r Record) int64 {
	return 10 + int64(len(r.Parents))*3 + int64(len(r.Objective))*9 + int64(len(r.FlagReasons))*17
}

// TestPruneIncrementalMatchesRecount drives a Store through random
// sequences of generations and prunes (every generation, now and then, or
// with random keep sets) and checks after every step that it retains
// exactly what Prune's definition keeps, reports what it removed, and that
// its running Bytes, EncodedBytes and its Measure equal a recount over the
// retained records.
func TestPruneIncrementalMatchesRecount(t *testing.T) {
	for seed := range uint64(40) {
		r := rand.New(rand.NewPCG(seed, 99))
		s := NewStore(WithEncodedSize(fakeSize))
		ref := map[uint64]Record{}
		var prev []uint64 // the newest generation's ids
		id := uint64(0)
		pop := 2 + r.IntN(12)
		for g := range uint32(30 + r.IntN(50)) {
			var cur []Record
			for range 1 + r.IntN(pop) {
				rc := Record{ID: id, Generation: g, Kind: genome.KindHeuristic, Fitness: float64(r.IntN(5))}
				id++
				if len(prev) > 0 {
					rc.Parents = []uint64{prev[r.IntN(min(len(prev), 1+r.IntN(4)))]}
					if r.IntN(6) == 0 { // a second parent from any stored generation
						all := s.Records()
						if p := all[r.IntN(len(all))]; p.Generation < g && p.ID != rc.Parents[0] {
							rc.Parents = append(rc.Parents, p.ID)
						}
					}
				}
				if r.IntN(3) == 0 {
					rc.Kind, rc.Objective = genome.KindPlanner, make([]float64, r.IntN(4))
				}
				if r.IntN(25) == 0 {
					rc.Flagged, rc.FlagReasons = true, []string{"pseudo-aligned under shifted"}
				}
				cur = append(cur, rc)
			}
			MarkChampion(cur)
			if r.IntN(4) == 0 { // not every generation has a champion (as after a resume of older data)
				for i := range cur {
					cur[i].Champion = false
				}
			}
			prev = prev[:0]
			for _, rc := range cur {
				add := s.Add
				if r.IntN(2) == 0 { // the caller gives the size, as the coordinator does
					add = func(rc Record) error { return s.AddSized(rc, fakeSize(rc)) }
				}
				if err := add(rc); err != nil {
					t.Fatalf("seed %d: Add: %v", seed, err)
				}
				ref[rc.ID] = rc
				prev = append(prev, rc.ID)
			}
			var keep []uint64
			switch r.IntN(5) {
			case 0: // no prune this generation
				checkRecount(t, seed, s, ref)
				continue
			case 1: // a random subset of everything stored
				for _, rc := range s.Records() {
					if r.IntN(3) == 0 {
						keep = append(keep, rc.ID)
					}
				}
			default:
				keep = slices.Clone(prev)
			}
			live := refPrune(ref, keep)
			wantGens := []uint32{}
			wantRemoved := 0
			for rid, rc := range ref {
				if !live[rid] {
					wantRemoved++
					if !slices.Contains(wantGens, rc.Generation) {
						wantGens = append(wantGens, rc.Generation)
					}
					delete(ref, rid)
				}
			}
			slices.Sort(wantGens)
			got, err := s.Prune(keep)
			if err != nil {
				t.Fatalf("seed %d: Prune: %v", seed, err)
			}
			if got.Records != wantRemoved || !slices.Equal(got.Generations, wantGens) && wantRemoved > 0 {
				t.Fatalf("seed %d generation %d: Prune = %+v, want %d records from generations %v", seed, g, got, wantRemoved, wantGens)
			}
			checkRecount(t, seed, s, ref)
			measured := slices.Equal(keep, prev)
			prev = slices.DeleteFunc(prev, func(id uint64) bool { _, ok := ref[id]; return !ok })
			if measured {
				if want, got := refMeasure(ref, g, keep), must(s.Measure(g, keep)); !reflect.DeepEqual(got, want) {
					t.Fatalf("seed %d generation %d: Measure = %+v, want %+v", seed, g, got, want)
				}
			}
		}
	}
}

// checkRecount compares s with the reference records: the same records,
// in every index, and the running byte counts against a recount.
func checkRecount(t *testing.T, seed uint64, s *Store, ref map[uint64]Record) {
	t.Helper()
	var wantIDs []uint64
	var bytes, encoded int64
	for id, rc := range ref {
		wantIDs = append(wantIDs, id)
		bytes += recordBytes(&rc)
		encoded += fakeSize(rc)
	}
	slices.Sort(wantIDs)
	if got := ids(s.Records()); !slices.Equal(got, wantIDs) {
		t.Fatalf("seed %d: stored %v, want %v", seed, got, wantIDs)
	}
	if s.Bytes() != bytes || s.EncodedBytes() != encoded {
		t.Fatalf("seed %d: Bytes = %d, EncodedBytes = %d; recounted %d and %d", seed, s.Bytes(), s.EncodedBytes(), bytes, encoded)
	}
	n := 0
	for _, g := range s.Generations() {
		var visited []uint64
		s.VisitGeneration(g, func(r *Record) { visited = append(visited, r.ID) })
		if !slices.Equal(visited, ids(s.Generation(g))) {
			t.Fatalf("seed %d: VisitGeneration(%d) visits %v, Generation has %v", seed, g, visited, ids(s.Generation(g)))
		}
		for _, rc := range s.Generation(g) {
			if rc.Generation != g {
				t.Fatalf("seed %d: record %d of generation %d listed under %d", seed, rc.ID, rc.Generation, g)
			}
			n++
		}
	}
	if n != len(wantIDs) {
		t.Fatalf("seed %d: generations list %d records, want %d", seed, n, len(wantIDs))
	}
	for _, id := range wantIDs {
		var kids []uint64
		for cid, c := range ref {
			if slices.Contains(c.Parents, id) {
				kids = append(kids, cid)
			}
		}
		slices.Sort(kids)
		if got := s.children[id]; !slices.Equal(got, kids) {
			t.Fatalf("seed %d: children of %d = %v, want %v", seed, id, got, kids)
		}
		_, leaf := s.leaves[id]
		if rc := ref[id]; leaf != (len(kids) == 0 && !rc.Flagged && !rc.Champion) {
			t.Fatalf("seed %d: record %d leaf = %v with %d children", seed, id, leaf, len(kids))
		}
	}
	if len(s.leaves) > len(wantIDs) || len(s.meta) != len(wantIDs) {
		t.Fatalf("seed %d: %d leaves and %d meta entries for %d records", seed, len(s.leaves), len(s.meta), len(wantIDs))
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
