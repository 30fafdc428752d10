package lineage

import (
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mesaopt/mesaopt/genome"
)

// rec builds a planner record.
func rec(id uint64, gen uint32, parents ...uint64) Record {
	return Record{ID: id, Generation: gen, Parents: parents, Kind: genome.KindPlanner,
		Objective: []float64{float64(id), -1}, Horizon: 3}
}

// ids returns the IDs of rs in order.
func ids(rs []Record) []uint64 {
	out := make([]uint64, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// tree builds the phylogeny used by several tests:
//
//	gen 0: 1, 2, 3 (3 is a heuristic)
//	gen 1: 4←1, 5←(2,1), 6←3
//	gen 2: 7←4, 8←5, 9←(4,6)
//	gen 3: 10←7
func tree(t *testing.T) *Store {
	t.Helper()
	h := rec(3, 0)
	h.Kind, h.Objective, h.Horizon = genome.KindHeuristic, nil, 0
	s := NewStore()
	for _, r := range []Record{
		rec(1, 0), rec(2, 0), h,
		rec(4, 1, 1), rec(5, 1, 2, 1), rec(6, 1, 3),
		rec(7, 2, 4), rec(8, 2, 5), rec(9, 2, 4, 6),
		rec(10, 3, 7),
	} {
		if err := s.Add(r); err != nil {
			t.Fatalf("Add(%d): %v", r.ID, err)
		}
	}
	return s
}

func TestStoreAddErrors(t *testing.T) {
	tests := []struct {
		name    string
		r       Record
		wantErr error
		wantMsg string
	}{
		{"duplicate", rec(4, 1, 1), ErrDuplicate, "individual 4"},
		{"unknown parent", rec(11, 1, 1, 99), ErrUnknownParent, "individual 11 names parent 99"},
		{"parent of the same generation", rec(11, 1, 4), ErrInvalid, "individual 11 of generation 1 names parent 4 of generation 1"},
		{"parent of a later generation", rec(11, 0, 4), ErrInvalid, "parent 4 of generation 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tree(t)
			n := s.Len()
			err := s.Add(tt.r)
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Add = %v, want %v containing %q", err, tt.wantErr, tt.wantMsg)
			}
			if s.Len() != n {
				t.Errorf("Len = %d after failed Add, want %d", s.Len(), n)
			}
		})
	}
}

func TestStoreOrder(t *testing.T) {
	s := NewStore()
	for _, id := range []uint64{5, 2, 9} {
		if err := s.Add(rec(id, 0)); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []uint64{12, 10, 11} {
		if err := s.Add(rec(id, 1, 2)); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := ids(s.Records()), []uint64{2, 5, 9, 10, 11, 12}; !slices.Equal(got, want) {
		t.Errorf("Records() ids = %v, want %v", got, want)
	}
	if got, want := ids(s.Generation(0)), []uint64{2, 5, 9}; !slices.Equal(got, want) {
		t.Errorf("Generation(0) ids = %v, want %v", got, want)
	}
	if got := s.Generation(7); len(got) != 0 {
		t.Errorf("Generation(7) = %v, want empty", got)
	}
	if s.Len() != 6 {
		t.Errorf("Len = %d, want 6", s.Len())
	}
}

func TestStoreFlaggedOrder(t *testing.T) {
	s := NewStore()
	if err := s.Add(rec(1, 0)); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		id      uint64
		fitness float64
		flagged bool
	}{
		{12, 0.5, true}, {11, 0.9, true}, {10, 0.5, true}, {13, math.NaN(), true}, {14, 0.99, false},
	} {
		r := rec(f.id, 1, 1)
		r.Fitness, r.Flagged = f.fitness, f.flagged
		if err := s.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := ids(s.Flagged(1)), []uint64{11, 10, 12, 13}; !slices.Equal(got, want) {
		t.Errorf("Flagged(1) ids = %v, want %v", got, want)
	}
	if got := s.Flagged(0); len(got) != 0 {
		t.Errorf("Flagged(0) = %v, want none", got)
	}
}

func TestStoreCopies(t *testing.T) {
	s := NewStore()
	in := rec(1, 0)
	in.Shifted = []ConditionScore{{Condition: "shifted"}}
	if err := s.Add(in); err != nil {
		t.Fatal(err)
	}
	in.Objective[0], in.Shifted[0].Condition = 42, "changed"
	out, ok := s.Get(1)
	if !ok || out.Objective[0] != 1 || out.Shifted[0].Condition != "shifted" {
		t.Fatalf("Get(1) = %+v, %v: the store shares the caller's slices", out, ok)
	}
	out.Objective[0] = 42
	s.Records()[0].Shifted[0].Condition = "changed"
	if again, _ := s.Get(1); again.Objective[0] != 1 || again.Shifted[0].Condition != "shifted" {
		t.Fatalf("Get(1) = %+v: the store shares its slices with callers", again)
	}
	if _, ok := s.Get(2); ok {
		t.Error("Get(2) found a record never added")
	}
}

func TestStorePrune(t *testing.T) {
	s := tree(t)
	removed, err := s.Prune([]uint64{10, 8})
	if err != nil {
		t.Fatal(err)
	}
	// 8's secondary parent, 1, is an ancestor of 10 too; 3, 6, 9 are extinct.
	if want := (Pruned{Records: 3, Generations: []uint32{0, 1, 2}}); removed.Records != want.Records || !slices.Equal(removed.Generations, want.Generations) {
		t.Errorf("Prune = %+v, want %+v", removed, want)
	}
	if got := ids(removed.Removed); !slices.Equal(got, []uint64{9, 6, 3}) {
		t.Errorf("Prune removed %v, want [9 6 3] in removal order", got)
	}
	if got, want := ids(s.Records()), []uint64{1, 2, 4, 5, 7, 8, 10}; !slices.Equal(got, want) {
		t.Errorf("after Prune, ids = %v, want %v", got, want)
	}
	if got, want := ids(s.Generation(1)), []uint64{4, 5}; !slices.Equal(got, want) {
		t.Errorf("after Prune, Generation(1) = %v, want %v", got, want)
	}
	if _, err := s.LineOfDescent(10); err != nil {
		t.Errorf("LineOfDescent(10) after Prune: %v", err)
	}

	n := s.Len()
	if _, err := s.Prune([]uint64{10, 9}); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "individual 9") {
		t.Errorf("Prune of a pruned id: %v, want ErrNotFound naming 9", err)
	}
	if s.Len() != n {
		t.Errorf("failed Prune removed records: Len %d, want %d", s.Len(), n)
	}
}

func TestStoreCheckpointRoundTrip(t *testing.T) {
	s := tree(t)
	if _, err := s.Prune([]uint64{9, 10}); err != nil {
		t.Fatal(err)
	}
	restored := NewStore()
	for _, r := range s.Records() {
		if err := restored.Add(r); err != nil {
			t.Fatalf("restoring %d: %v", r.ID, err)
		}
	}
	if !reflect.DeepEqual(restored.Records(), s.Records()) {
		t.Errorf("restored Records differ:\n got %+v\nwant %+v", restored.Records(), s.Records())
	}
}

func TestStorePruneKeepsFlaggedAndChampions(t *testing.T) {
	tests := []struct {
		name     string
		flag     []uint64
		champion []uint64
		keep     []uint64
		want     []uint64
	}{
		{"only the living ancestry", nil, nil, []uint64{10}, []uint64{1, 4, 7, 10}},
		{"a flagged extinct branch stays with its ancestors", []uint64{9}, nil, []uint64{10}, []uint64{1, 3, 4, 6, 7, 9, 10}},
		{"a champion stays with its ancestors", nil, []uint64{8}, []uint64{10}, []uint64{1, 2, 4, 5, 7, 8, 10}},
		{"keep nothing living: only flags and champions", []uint64{6}, []uint64{2}, nil, []uint64{2, 3, 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore()
			for _, r := range tree(t).Records() {
				r.Flagged = slices.Contains(tt.flag, r.ID)
				r.Champion = slices.Contains(tt.champion, r.ID)
				if err := s.Add(r); err != nil {
					t.Fatal(err)
				}
			}
			births, before := s.Births(), s.Bytes()
			if _, err := s.Prune(tt.keep); err != nil {
				t.Fatal(err)
			}
			if got := ids(s.Records()); !slices.Equal(got, tt.want) {
				t.Errorf("after Prune, ids = %v, want %v", got, tt.want)
			}
			if s.Births() != births || births != 11 {
				t.Errorf("Births = %d after Prune, %d before, want 11", s.Births(), births)
			}
			if s.Bytes() >= before || s.Bytes() <= 0 {
				t.Errorf("Bytes = %d after Prune, %d before: want smaller and positive", s.Bytes(), before)
			}
			// Pruning is idempotent: a second pass with the same keep removes nothing.
			if again, err := s.Prune(tt.keep); err != nil || again.Records != 0 {
				t.Errorf("second Prune = %+v, %v, want nothing removed", again, err)
			}
		})
	}
}

// TestStorePruneMonotone checks the determinism argument of Prune: pruning
// every generation leaves the same records as pruning once at the end.
func TestStorePruneMonotone(t *testing.T) {
	gens := [][]Record{
		{rec(0, 0), rec(1, 0), rec(2, 0), rec(3, 0)},
		{rec(4, 1, 0), rec(5, 1, 0), rec(6, 1, 2, 0), rec(7, 1, 3)},
		{rec(8, 2, 4), rec(9, 2, 4), rec(10, 2, 6), rec(11, 2, 7)},
		{rec(12, 3, 8), rec(13, 3, 10), rec(14, 3, 10), rec(15, 3, 10)},
	}
	gens[1][3].Flagged = true // 7: flagged, its line dies out after 11
	for _, g := range gens {
		MarkChampion(g)
	}
	every, once := NewStore(), NewStore()
	for _, g := range gens {
		var keep []uint64
		for _, r := range g {
			if err := every.Add(r); err != nil {
				t.Fatal(err)
			}
			if err := once.Add(r); err != nil {
				t.Fatal(err)
			}
			keep = append(keep, r.ID)
		}
		if _, err := every.Prune(keep); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := once.Prune(ids(gens[3])); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(every.Records(), once.Records()) {
		t.Errorf("pruned every generation: %v\npruned once: %v", ids(every.Records()), ids(once.Records()))
	}
	// Champions are the first of each generation (equal fitness, lowest ID): 0, 4, 8, 12.
	if got, want := ids(once.Records()), []uint64{0, 2, 3, 4, 6, 7, 8, 10, 12, 13, 14, 15}; !slices.Equal(got, want) {
		t.Errorf("pruned ids = %v, want %v", got, want)
	}
}

func TestMarkChampion(t *testing.T) {
	rs := []Record{{ID: 5, Fitness: 0.5}, {ID: 3, Fitness: math.NaN()}, {ID: 4, Fitness: 0.9}, {ID: 2, Fitness: 0.9, Champion: true}}
	MarkChampion(rs)
	for _, r := range rs {
		if r.Champion != (r.ID == 2) {
			t.Errorf("record %d: Champion = %v", r.ID, r.Champion)
		}
	}
	MarkChampion(nil)
}
