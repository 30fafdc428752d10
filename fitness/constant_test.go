package fitness

import (
	"errors"
	"slices"
	"testing"
)

// analysisSeeds returns the first n analysis instance seeds of runSeed.
func analysisSeeds(runSeed uint64, n int) []uint64 {
	out := make([]uint64, n)
	for e := range out {
		out[e] = AnalysisSeed(runSeed, e)
	}
	return out
}

// constantNames returns the names of ConstantFeatures(cfg, condition, seeds).
func constantNames(t *testing.T, cfg Config, condition string, seeds []uint64) []string {
	t.Helper()
	idx, err := ConstantFeatures(cfg, condition, seeds)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSorted(idx) {
		t.Errorf("indices %v not ascending", idx)
	}
	names := doorsEnv.Features()
	out := make([]string, len(idx))
	for i, k := range idx {
		out[i] = names[k]
	}
	return out
}

// TestConstantFeaturesDoors: in the door maze's train nothing blue exists,
// so exactly the blue features are constant over every reachable state,
// under either feature family; every condition that brings blue doors makes
// them vary.
func TestConstantFeaturesDoors(t *testing.T) {
	for _, family := range []FeatureFamily{FeaturesOracle, FeaturesLocal} {
		t.Run(string(family), func(t *testing.T) {
			cfg := envConfig(t, EnvDoors)
			cfg.Features = family
			for _, runSeed := range []uint64{1, 2, 7} {
				seeds := analysisSeeds(runSeed, 8)
				if got := constantNames(t, cfg, Train, seeds); !slices.Equal(got, []string{"blue_touched", "dist_blue"}) {
					t.Errorf("seed %d: train constant features %v, want [blue_touched dist_blue]", runSeed, got)
				}
				for _, c := range []string{"shifted", "blue-doors"} {
					got := constantNames(t, cfg, c, seeds)
					if slices.Contains(got, "blue_touched") || slices.Contains(got, "dist_blue") {
						t.Errorf("seed %d: %s constant features %v include a blue one", runSeed, c, got)
					}
				}
			}
			// One instance alone already shows the set, and equal inputs
			// give equal outputs.
			one := analysisSeeds(1, 1)
			a := constantNames(t, cfg, Train, one)
			if b := constantNames(t, cfg, Train, one); !slices.Equal(a, b) || !slices.Equal(a, []string{"blue_touched", "dist_blue"}) {
				t.Errorf("one instance: %v then %v", a, b)
			}
		})
	}
}

func TestConstantFeaturesErrors(t *testing.T) {
	cfg := envConfig(t, EnvDoors)
	if _, err := ConstantFeatures(cfg, Train, nil); !errors.Is(err, ErrNoInstances) {
		t.Errorf("no seeds: %v, want ErrNoInstances", err)
	}
	if _, err := ConstantFeatures(cfg, "green-doors", []uint64{1}); !errors.Is(err, ErrUnknownCondition) {
		t.Errorf("unknown condition: %v, want ErrUnknownCondition", err)
	}
	bad := cfg
	bad.Width = 0
	if _, err := ConstantFeatures(bad, Train, []uint64{1}); !errors.Is(err, ErrConfig) {
		t.Errorf("bad config: %v, want ErrConfig", err)
	}
}
