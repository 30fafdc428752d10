package coordinator

import (
	"fmt"

	"github.com/mesaopt/mesaopt/experiment"
)

// frozenFeatures returns ar.spec.FrozenFeatures(), computed on first use:
// the features whose planner weights the run holds at 0 (none without
// freeze_untrained). The run's base optimizer and its report use it. Safe
// for concurrent use.
func (ar *activeRun) frozenFeatures() ([]int, error) {
	ar.frozenOnce.Do(func() {
		ar.frozen, ar.frozenErr = ar.spec.FrozenFeatures()
		if ar.frozenErr != nil {
			ar.frozenErr = fmt.Errorf("run %s: %w", ar.id, ar.frozenErr)
		}
	})
	return ar.frozen, ar.frozenErr
}

// frozenNames returns the names of the frozen features (indices into the
// spec environment's Features) in their order.
func frozenNames(spec experiment.Spec, frozen []int) []string {
	names := spec.Env().Features()
	out := make([]string, 0, len(frozen))
	for _, k := range frozen {
		if k >= 0 && k < len(names) {
			out = append(out, names[k])
		}
	}
	return out
}
