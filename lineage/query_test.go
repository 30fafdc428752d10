package lineage

import (
	"errors"
	"slices"
	"testing"

	"github.com/mesaopt/mesaopt/genome"
)

func TestDescendants(t *testing.T) {
	s := tree(t)
	tests := []struct {
		id        uint64
		depth     int
		limit     int
		want      []uint64
		truncated bool
	}{
		{1, 1, 100, []uint64{4, 5}, false}, // 5 has 1 as its second parent
		{1, 2, 100, []uint64{4, 5, 7, 8, 9}, false},
		{1, 9, 100, []uint64{4, 5, 7, 8, 9, 10}, false},
		{1, 9, 3, []uint64{4, 5, 7}, true},
		{3, 9, 100, []uint64{6, 9}, false},
		{10, 5, 100, nil, false},
	}
	for _, tt := range tests {
		got, trunc, err := s.Descendants(tt.id, tt.depth, tt.limit)
		if err != nil || !slices.Equal(ids(got), tt.want) || trunc != tt.truncated {
			t.Errorf("Descendants(%d, %d, %d) = %v, %v, %v; want %v, %v", tt.id, tt.depth, tt.limit, ids(got), trunc, err, tt.want, tt.truncated)
		}
	}
	if _, _, err := s.Descendants(99, 1, 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("Descendants of an unknown id: %v", err)
	}
	if _, _, err := s.Descendants(1, 0, 1); !errors.Is(err, ErrInvalid) {
		t.Errorf("Descendants with depth 0: %v", err)
	}
}

func TestMRCAOf(t *testing.T) {
	s := tree(t)
	tests := []struct {
		ids   []uint64
		want  uint64
		depth uint32
		ok    bool
	}{
		{[]uint64{10, 9}, 4, 2, true}, // 10→7→4, 9→4
		{[]uint64{10, 9, 7}, 4, 2, true},
		{[]uint64{10, 7}, 7, 1, true}, // an ancestor is its own line's MRCA
		{[]uint64{10}, 10, 0, true},
		{[]uint64{10, 10}, 10, 0, true},
		{[]uint64{10, 8}, 0, 0, false}, // 8→5→2: another root
	}
	for _, tt := range tests {
		r, depth, ok, err := s.MRCAOf(tt.ids)
		if err != nil || ok != tt.ok || (ok && (r.ID != tt.want || depth != tt.depth)) {
			t.Errorf("MRCAOf(%v) = %d, depth %d, %v, %v; want %d, depth %d, %v", tt.ids, r.ID, depth, ok, err, tt.want, tt.depth, tt.ok)
		}
	}
	if _, _, _, err := s.MRCAOf(nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("MRCAOf(nil): %v", err)
	}
	if _, _, _, err := s.MRCAOf([]uint64{10, 99}); !errors.Is(err, ErrNotFound) {
		t.Errorf("MRCAOf with an unknown id: %v", err)
	}
}

func TestListFlagged(t *testing.T) {
	s := NewStore()
	type spec struct {
		id      uint64
		gen     uint32
		kind    genome.Kind
		fitness float64
		shifted []ConditionScore
	}
	pseudoA := ConditionScore{Condition: "a", Class: ClassPseudoAligned, Flagged: true}
	robustA := ConditionScore{Condition: "a", Class: ClassRobustlyAligned}
	driftB := ConditionScore{Condition: "b", Class: ClassRobustlyAligned, Flagged: true}
	pseudoB := ConditionScore{Condition: "b", Class: ClassPseudoAligned, Flagged: true}
	for _, sp := range []spec{
		{1, 0, genome.KindPlanner, 0.5, []ConditionScore{pseudoA, driftB}},
		{2, 0, genome.KindPlanner, 0.9, []ConditionScore{robustA, pseudoB}},
		{3, 0, genome.KindHeuristic, 0.1, nil}, // not flagged
		{4, 1, genome.KindPlanner, 0.2, []ConditionScore{pseudoA, pseudoB}},
		{5, 1, genome.KindPlanner, 0.7, []ConditionScore{robustA, driftB}},
		{6, 2, genome.KindPlanner, 0.3, []ConditionScore{pseudoA, driftB}},
	} {
		r := Record{ID: sp.id, Generation: sp.gen, Kind: sp.kind, Fitness: sp.fitness, Shifted: sp.shifted, Flagged: sp.shifted != nil}
		if sp.gen > 0 {
			r.Parents = []uint64{1}
		}
		if err := s.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	all := DefaultFilter()
	with := func(mod func(*Filter)) Filter { f := all; mod(&f); return f }
	tests := []struct {
		name          string
		f             Filter
		offset, limit int
		want          []uint64
		more          bool
	}{
		{"all, by generation then fitness", all, 0, 10, []uint64{2, 1, 5, 4, 6}, false},
		{"first page", all, 0, 2, []uint64{2, 1}, true},
		{"second page", all, 2, 2, []uint64{5, 4}, true},
		{"last page", all, 4, 2, []uint64{6}, false},
		{"past the end", all, 9, 2, nil, false},
		{"generation range", with(func(f *Filter) { f.MinGeneration, f.MaxGeneration = 1, 1 }), 0, 10, []uint64{5, 4}, false},
		{"pseudo-aligned anywhere", with(func(f *Filter) { f.Class = ClassPseudoAligned }), 0, 10, []uint64{2, 1, 4, 6}, false},
		{"flagged under a", with(func(f *Filter) { f.Condition = "a" }), 0, 10, []uint64{1, 4, 6}, false},
		{"pseudo-aligned under b", with(func(f *Filter) { f.Condition, f.Class = "b", ClassPseudoAligned }), 0, 10, []uint64{2, 4}, false},
		{"heuristics", with(func(f *Filter) { f.Kind = genome.KindHeuristic }), 0, 10, nil, false},
		{"unknown condition", with(func(f *Filter) { f.Condition = "zzz" }), 0, 10, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.f.Validate(); err != nil {
				t.Fatal(err)
			}
			got, more := s.ListFlagged(tt.f, tt.offset, tt.limit)
			if !slices.Equal(ids(got), tt.want) || more != tt.more {
				t.Errorf("ListFlagged = %v, more %v; want %v, more %v", ids(got), more, tt.want, tt.more)
			}
		})
	}
	for _, bad := range []Filter{{MinGeneration: 3, MaxGeneration: 2}, {MaxGeneration: 1, Class: Class(9)}} {
		if err := bad.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
}
