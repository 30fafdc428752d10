package lineage

import (
	"slices"
	"testing"
)

func TestUntrained(t *testing.T) {
	r := Record{Train: ConditionScore{Varied: []bool{true, false, true, false}}}
	if got := r.Untrained(); !slices.Equal(got, []int{1, 3}) {
		t.Errorf("Untrained = %v, want [1 3]", got)
	}
	if got := (Record{}).Untrained(); got != nil {
		t.Errorf("unknown reads as %v, want nil", got)
	}
	if got := ZeroUntrained([]float64{1, 2, 3, 4}, []int{1, 3}); !slices.Equal(got, []float64{1, 0, 3, 0}) {
		t.Errorf("ZeroUntrained = %v", got)
	}
}

func TestExplainedShare(t *testing.T) {
	for _, tc := range []struct {
		train, base, zeroed, want float64
		ok                        bool
	}{
		{1, 0, 1, 1, true},
		{1, 0, 0.5, 0.5, true},
		{1, 0.2, 0.1, 0, true}, // zeroing made it worse: clamped
		{0.8, 0, 1, 1, true},   // better than train: clamped
		{1, 0.96, 1, 0, false}, // within FailureGap: nothing to explain
		{0.5, 0.6, 0.6, 0, false},
	} {
		got, ok := ExplainedShare(tc.train, tc.base, tc.zeroed)
		if ok != tc.ok || got != tc.want {
			t.Errorf("ExplainedShare(%v, %v, %v) = %v, %v; want %v, %v", tc.train, tc.base, tc.zeroed, got, ok, tc.want, tc.ok)
		}
	}
}
