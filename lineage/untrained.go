package lineage

// FailureGap is the fall of the base objective, from train to a shifted
// condition, above which there is a failure for ExplainedShare to explain
// (in base units, [0,1]).
const FailureGap = 0.05

// ExplainedShare is the share of a planner's failure under a shifted
// condition that its untrained weights explain: trainBase and base are its
// base objective under train and under the condition, zeroedBase its base
// under the condition with its untrained weights set to 0 (all in [0,1]).
// It returns clamp((zeroedBase − base) / (trainBase − base), 0, 1) and true
// when trainBase − base > FailureGap, else 0 and false (no failure to
// explain).
func ExplainedShare(trainBase, base, zeroedBase float64) (float64, bool) {
	gap := trainBase - base
	if !(gap > FailureGap) {
		return 0, false
	}
	return min(1, max(0, (zeroedBase-base)/gap)), true
}

// ZeroUntrained returns a copy of objective with the weights of the
// features in untrained (indices, as Record.Untrained) set to 0.
func ZeroUntrained(objective []float64, untrained []int) []float64 {
	out := append([]float64(nil), objective...)
	for _, k := range untrained {
		if k >= 0 && k < len(out) {
			out[k] = 0
		}
	}
	return out
}
