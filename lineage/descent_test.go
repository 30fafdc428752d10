package lineage

import (
	"errors"
	"slices"
	"testing"

	"github.com/mesaopt/mesaopt/genome"
)

func TestLineOfDescent(t *testing.T) {
	s := tree(t)
	tests := []struct {
		id   uint64
		want []uint64
	}{
		{10, []uint64{10, 7, 4, 1}},
		{8, []uint64{8, 5, 2}}, // primary parent 2, not 1
		{9, []uint64{9, 4, 1}}, // primary parent 4, not the heuristic line
		{1, []uint64{1}},
	}
	for _, tt := range tests {
		line, err := s.LineOfDescent(tt.id)
		if err != nil {
			t.Fatalf("LineOfDescent(%d): %v", tt.id, err)
		}
		if got := ids(line); !slices.Equal(got, tt.want) {
			t.Errorf("LineOfDescent(%d) = %v, want %v", tt.id, got, tt.want)
		}
	}
	if _, err := s.LineOfDescent(99); !errors.Is(err, ErrNotFound) {
		t.Errorf("LineOfDescent(99) error = %v, want ErrNotFound", err)
	}
}

func TestMRCA(t *testing.T) {
	s := tree(t)
	tests := []struct {
		a, b   uint64
		want   uint64
		wantOK bool
	}{
		{10, 9, 4, true},
		{9, 10, 4, true},
		{7, 10, 7, true},
		{10, 10, 10, true},
		{10, 8, 0, false}, // 8's primary line goes to 2, not 1
	}
	for _, tt := range tests {
		got, ok, err := s.MRCA(tt.a, tt.b)
		if err != nil || ok != tt.wantOK || (ok && got.ID != tt.want) {
			t.Errorf("MRCA(%d, %d) = %d, %v, %v; want %d, %v, nil", tt.a, tt.b, got.ID, ok, err, tt.want, tt.wantOK)
		}
	}
	if _, _, err := s.MRCA(10, 99); !errors.Is(err, ErrNotFound) {
		t.Errorf("MRCA(10, 99) error = %v, want ErrNotFound", err)
	}
}

// chain builds a single line of descent 1 ← 2 ← … with one record per
// generation, described by one letter each, oldest first:
//
//	F  planner, pseudo-aligned under "shifted": flagged
//	-  planner, robustly aligned: analysed, not flagged
//	?  planner, not evaluated under any shifted condition
//	h  heuristic, pseudo-aligned: analysed, never flagged
//
// Record i has Objective {i, -i} and, if it has a parent, Operators
// {"mutate:gaussian"}.
func chain(t *testing.T, desc string) *Store {
	t.Helper()
	s := NewStore()
	for i, c := range desc {
		id := uint64(i + 1)
		r := Record{ID: id, Generation: uint32(i), Kind: genome.KindPlanner,
			Objective: []float64{float64(id), -float64(id)}, Horizon: 2,
			Train: score("train", 0.9, 0.9, 0.9)}
		if i > 0 {
			r.Parents, r.Operators = []uint64{id - 1}, []string{genome.OpGaussian}
		}
		switch c {
		case 'F':
			r.Shifted = []ConditionScore{score("shifted", 0.1, 0.9, 0.9)}
		case '-':
			r.Shifted = []ConditionScore{score("shifted", 0.9, 0.9, 0.9)}
		case 'h':
			r.Kind, r.Objective, r.Horizon = genome.KindHeuristic, nil, 0
			r.Shifted = []ConditionScore{score("shifted", 0.1, 0.9, 0.9)}
		case '?':
		default:
			t.Fatalf("chain: unknown letter %q", c)
		}
		Analyze(&r, DefaultThresholds())
		if r.Flagged != (c == 'F') {
			t.Fatalf("chain: record %d (%c) Flagged = %v", id, c, r.Flagged)
		}
		if err := s.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestDriftOrigin(t *testing.T) {
	tests := []struct {
		name           string
		chain          string
		query          uint64
		wantOK         bool
		wantAncestor   uint64
		wantParent     uint64 // 0: nil
		wantBefore     []float64
		wantUnanalyzed int
	}{
		{name: "flag appears mid-line through a mutation", chain: "--FF", query: 4,
			wantOK: true, wantAncestor: 3, wantParent: 2, wantBefore: []float64{2, -2}},
		{name: "flag on the queried individual only", chain: "---F", query: 4,
			wantOK: true, wantAncestor: 4, wantParent: 3, wantBefore: []float64{3, -3}},
		{name: "flag present from generation 0", chain: "FFF", query: 3,
			wantOK: true, wantAncestor: 1},
		{name: "no flag", chain: "FF-", query: 3},
		{name: "no flag anywhere", chain: "---", query: 2},
		{name: "flag lost and regained: traced to the last appearance", chain: "F-FF", query: 4,
			wantOK: true, wantAncestor: 3, wantParent: 2, wantBefore: []float64{2, -2}},
		{name: "unanalysed generations do not break the run", chain: "-?F?F", query: 5,
			wantOK: true, wantAncestor: 3, wantParent: 2, wantBefore: []float64{2, -2}, wantUnanalyzed: 1},
		{name: "unanalysed back to generation 0", chain: "??F", query: 3,
			wantOK: true, wantAncestor: 3, wantParent: 2, wantBefore: []float64{2, -2}, wantUnanalyzed: 2},
		{name: "heuristic parent ends the run; no objective before", chain: "-hF", query: 3,
			wantOK: true, wantAncestor: 3, wantParent: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := chain(t, tt.chain)
			o, ok, err := s.DriftOrigin(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.wantOK {
				t.Fatalf("DriftOrigin(%d) ok = %v, want %v", tt.query, ok, tt.wantOK)
			}
			if !ok {
				if o.Parent != nil || o.Ancestor.ID != 0 {
					t.Errorf("not flagged, but Origin = %+v", o)
				}
				return
			}
			if o.Ancestor.ID != tt.wantAncestor {
				t.Errorf("Ancestor = %d, want %d", o.Ancestor.ID, tt.wantAncestor)
			}
			if tt.wantParent == 0 {
				if o.Parent != nil || o.Operators != nil || o.ObjectiveBefore != nil {
					t.Errorf("Parent, Operators, ObjectiveBefore = %v, %q, %v; want nil", o.Parent, o.Operators, o.ObjectiveBefore)
				}
			} else {
				if o.Parent == nil || o.Parent.ID != tt.wantParent {
					t.Errorf("Parent = %+v, want %d", o.Parent, tt.wantParent)
				}
				if !slices.Equal(o.Operators, []string{genome.OpGaussian}) {
					t.Errorf("Operators = %q, want [%q]", o.Operators, genome.OpGaussian)
				}
			}
			if !slices.Equal(o.ObjectiveBefore, tt.wantBefore) {
				t.Errorf("ObjectiveBefore = %v, want %v", o.ObjectiveBefore, tt.wantBefore)
			}
			a := float64(tt.wantAncestor)
			if !slices.Equal(o.ObjectiveAfter, []float64{a, -a}) {
				t.Errorf("ObjectiveAfter = %v, want [%v %v]", o.ObjectiveAfter, a, -a)
			}
			if o.Unanalyzed != tt.wantUnanalyzed {
				t.Errorf("Unanalyzed = %d, want %d", o.Unanalyzed, tt.wantUnanalyzed)
			}
		})
	}
	if _, _, err := chain(t, "F").DriftOrigin(7); !errors.Is(err, ErrNotFound) {
		t.Errorf("DriftOrigin(7) error = %v, want ErrNotFound", err)
	}
}
