package lineage

import (
	"errors"
	"testing"

	"github.com/mesaopt/mesaopt/genome"
)

// metricsTree builds a hand-made phylogeny (primary parents; branch length
// in generations):
//
//	gen 0:  1            2
//	gen 1:  3←1  4←1     5←2
//	gen 2:  6←3  7←3  8←4
//	gen 3:  9←6  10←7  11←8  12←8  13←3 (a branch of length 2)
//
// 12 is a heuristic, 9 is flagged.
func metricsTree(t *testing.T) *Store {
	t.Helper()
	s := NewStore()
	for _, r := range []Record{
		rec(1, 0), rec(2, 0),
		rec(3, 1, 1), rec(4, 1, 1), rec(5, 1, 2),
		rec(6, 2, 3), rec(7, 2, 3), rec(8, 2, 4),
		rec(9, 3, 6), rec(10, 3, 7), rec(11, 3, 8), rec(12, 3, 8), rec(13, 3, 3),
	} {
		switch r.ID {
		case 9:
			r.Flagged = true
		case 12:
			r.Kind = genome.KindHeuristic
		}
		if err := s.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestMeasure(t *testing.T) {
	s := metricsTree(t)
	tests := []struct {
		name string
		gen  uint32
		ids  []uint64
		want Metrics
	}{
		{
			// Pairwise distances: 9–10 4, 9–11 6, 9–12 6, 10–11 6, 10–12 6, 11–12 2;
			// sum 30 over 6 pairs. All nine branches below 1 have length 1.
			"four leaves coalescing at the root", 3, []uint64{9, 10, 11, 12},
			Metrics{Generation: 3, Extant: 4, Coalesced: true, MRCA: 1, MRCADepth: 3, Roots: 1,
				PD: 9, MPD: 5, Pairs: 6, PlannerShare: 0.75, FlaggedShare: 0.25},
		},
		{
			// 9→6→3 (1+1) and 13→3 (2): distance 4, the whole subtree.
			"a long branch", 3, []uint64{9, 13},
			Metrics{Generation: 3, Extant: 2, Coalesced: true, MRCA: 3, MRCADepth: 2, Roots: 1,
				PD: 4, MPD: 4, Pairs: 1, PlannerShare: 1, FlaggedShare: 0.5},
		},
		{
			"siblings", 2, []uint64{6, 7},
			Metrics{Generation: 2, Extant: 2, Coalesced: true, MRCA: 3, MRCADepth: 1, Roots: 1,
				PD: 2, MPD: 2, Pairs: 1, PlannerShare: 1},
		},
		{
			// Two roots: only the pair 6–8 (distance 4) shares one; 5 is alone under 2.
			"not coalesced", 2, []uint64{5, 6, 8},
			Metrics{Generation: 2, Extant: 3, Roots: 2, PD: 4, MPD: 4, Pairs: 1, PlannerShare: 1},
		},
		{
			"one individual", 3, []uint64{9},
			Metrics{Generation: 3, Extant: 1, Coalesced: true, MRCA: 9, Roots: 1, PlannerShare: 1, FlaggedShare: 1},
		},
		{"nobody", 3, nil, Metrics{Generation: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Measure(tt.gen, tt.ids)
			if err != nil || got != tt.want {
				t.Errorf("Measure = %+v, %v\nwant      %+v", got, err, tt.want)
			}
		})
	}
	if _, err := s.Measure(3, []uint64{9, 99}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Measure with an unknown id: %v", err)
	}
	if _, err := s.Measure(3, []uint64{9, 9}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Measure with a repeated id: %v", err)
	}
}
