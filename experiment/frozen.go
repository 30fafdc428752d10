package experiment

import (
	"fmt"
	"slices"

	"github.com/mesaopt/mesaopt/fitness"
)

// FrozenFeatures returns the features (indices into the environment's
// Features, ascending) whose planner weights the run holds at 0: none
// unless FreezeUntrained, else those that fitness.ConstantFeatures finds
// constant on the run's analysis instances (fitness.AnalysisSeed, episodes
// 0..AnalysisEpisodes-1) under every condition selection sees — train,
// and a regime change's train_condition too, since a feature that varies
// there is trained after the change.
//
// The set is the environment's, not a planner's: which features a
// planner's own search sees vary (its untrained features, see
// lineage.Record.Untrained) depends on its horizon and budget and would
// change as it evolves, whereas a feature constant over every reachable
// state is one no selection on these instances can act on, whatever the
// planner. It is a pure function of the spec, so a resumed run holds the
// same weights. Under a generated environment the analysis instances
// sample the training distribution: a feature constant by construction
// (the door maze's train has no blue object) is found on any sample.
//
// Errors are ConstantFeatures', naming the condition.
func (s Spec) FrozenFeatures() ([]int, error) {
	if !s.FreezeUntrained {
		return nil, nil
	}
	cfg, err := s.Environment.Config()
	if err != nil {
		return nil, err
	}
	seeds := make([]uint64, s.AnalysisEpisodes)
	for e := range seeds {
		seeds[e] = fitness.AnalysisSeed(s.Seed, e)
	}
	conds := []string{TrainCondition}
	if r := s.RegimeChange; r != nil {
		conds = append(conds, r.TrainCondition)
	}
	var frozen []int
	for i, c := range conds {
		k, err := fitness.ConstantFeatures(cfg, c, seeds)
		if err != nil {
			return nil, fmt.Errorf("freeze_untrained: condition %s: %w", c, err)
		}
		if i == 0 {
			frozen = k
			continue
		}
		frozen = slices.DeleteFunc(frozen, func(f int) bool { return !slices.Contains(k, f) })
	}
	return frozen, nil
}
