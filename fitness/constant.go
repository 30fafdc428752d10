package fitness

import (
	"errors"
	"fmt"
)

// ConstantFeatures returns the indices, ascending and in the order of the
// environment's Features, of the features whose value is the same in every
// reachable state (Instance.Reachable: the oracle's BFS, cut at
// Config.OracleStates) of every instance of condition with the given
// seeds, as cfg's feature family (Config.Features) computes them. No
// planner searching those instances can see such a feature change, so no
// selection on them can act on its weight: in the door maze's train,
// blue_touched and dist_blue (there is no blue object) under either family.
//
// It is a property of the environment and the instances, not of a planner:
// what a planner's own search meets (ConditionResult.Varied) depends on its
// horizon and budget and changes as it evolves, while this set does not,
// which is what lets an experiment hold those weights at 0 from the first
// generation (experiment.Spec.FreezeUntrained). Equal arguments give equal
// results.
//
// Errors: ErrNoInstances for no seeds, and Generate's (ErrConfig,
// ErrUnknownCondition, ErrUnsolvable), naming the seed for the last.
func ConstantFeatures(cfg Config, condition string, seeds []uint64) ([]int, error) {
	if len(seeds) == 0 {
		return nil, ErrNoInstances
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var first []float64 // the value of each feature in the first state seen
	var varied []bool
	for _, seed := range seeds {
		in, err := generate(cfg, condition, seed)
		if err != nil {
			if errors.Is(err, ErrUnsolvable) {
				return nil, fmt.Errorf("instance seed %d: %w", seed, err)
			}
			return nil, err
		}
		o := in.oracle()
		d := in.NumFeatures()
		if first == nil {
			first, varied = o.feat[:d:d], make([]bool, d)
		}
		for row := 0; row < len(o.feat); row += d {
			for k, x := range o.feat[row : row+d] {
				if x != first[k] {
					varied[k] = true
				}
			}
		}
	}
	var out []int
	for k, v := range varied {
		if !v {
			out = append(out, k)
		}
	}
	return out, nil
}
