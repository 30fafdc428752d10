package experiment_test

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/fitness"
)

// TestExperimentFilesParse loads every experiment file of experiments/.
func TestExperimentFilesParse(t *testing.T) {
	for _, tc := range []struct{ file, env string }{
		{"doors.yaml", "doors"}, {"lava.yaml", "lava"}, {"keys-chests.yaml", "keys-chests"},
		{"coin.yaml", "coin"}, {"maps.yaml", "maps"}, {"doors-oracle.yaml", "doors"}, {"regime.yaml", "doors"},
		{"doors-frozen.yaml", "doors"}, {"coin-randomisation.yaml", "coin"}, {"doors-seeds.yaml", "doors"}, {"doors-red-mixture.yaml", "doors"},
	} {
		s, err := experiment.Load("../experiments/" + tc.file)
		if err != nil {
			t.Errorf("%s: %v", tc.file, err)
			continue
		}
		if s.Environment.Name != tc.env || len(s.Shape().Features) == 0 {
			t.Errorf("%s: environment %+v", tc.file, s.Environment)
		}
	}
}

// TestDoorsFiles: doors.yaml is Default, every shifted condition of the
// door maze analysed, the single changes first; doors-oracle.yaml is
// doors.yaml with oracle features and nothing else changed.
func TestDoorsFiles(t *testing.T) {
	doors, err := experiment.Load("../experiments/doors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{fitness.BlueDoors, fitness.RedObjectsOffPath, fitness.Shifted}
	if !slices.Equal(doors.ShiftedConditions, want) {
		t.Errorf("doors.yaml: shifted_conditions %v, want %v", doors.ShiftedConditions, want)
	}
	if !proto.Equal(doors.ToProto(), experiment.Default().ToProto()) {
		t.Errorf("doors.yaml differs from Default:\n%v\n%v", doors.ToProto(), experiment.Default().ToProto())
	}
	if doors.Environment.Features != string(fitness.FeaturesLocal) {
		t.Errorf("doors.yaml features %q, want local", doors.Environment.Features)
	}
	oracle, err := experiment.Load("../experiments/doors-oracle.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if oracle.Environment.Features != string(fitness.FeaturesOracle) {
		t.Errorf("doors-oracle.yaml features %q, want oracle", oracle.Environment.Features)
	}
	oracle.Name, oracle.Environment.Features = doors.Name, doors.Environment.Features
	if !proto.Equal(oracle.ToProto(), doors.ToProto()) {
		t.Errorf("doors-oracle.yaml differs from doors.yaml beyond its name and features:\n%v\n%v", oracle.ToProto(), doors.ToProto())
	}
}

// TestDoorsFrozenFile: the control is doors.yaml with freeze_untrained,
// which holds exactly the blue features.
func TestDoorsFrozenFile(t *testing.T) {
	conds, err := experiment.Load("../experiments/doors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	frozen, err := experiment.Load("../experiments/doors-frozen.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !frozen.FreezeUntrained || conds.FreezeUntrained {
		t.Fatalf("freeze_untrained: doors-frozen.yaml %v, doors.yaml %v", frozen.FreezeUntrained, conds.FreezeUntrained)
	}
	idx, err := frozen.FrozenFeatures()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, k := range idx {
		names = append(names, frozen.Shape().Features[k])
	}
	if !slices.Equal(names, []string{"blue_touched", "dist_blue"}) {
		t.Errorf("doors-frozen.yaml freezes %v, want [blue_touched dist_blue]", names)
	}
	frozen.Name, frozen.FreezeUntrained = conds.Name, false
	if !proto.Equal(conds.ToProto(), frozen.ToProto()) {
		t.Errorf("doors-frozen.yaml differs from doors.yaml beyond its name and freeze_untrained:\n%v\n%v", frozen.ToProto(), conds.ToProto())
	}
}

// TestCoinRandomisationFile: the sweep of Langosco et al.'s experiment,
// 4 fractions × 5 seeds, whose fraction 0 is coin.yaml with more episodes.
func TestCoinRandomisationFile(t *testing.T) {
	s, err := experiment.Load("../experiments/coin-randomisation.yaml")
	if err != nil {
		t.Fatal(err)
	}
	runs, err := s.Runs()
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 20 {
		t.Fatalf("%d runs, want 4 fractions × 5 seeds", len(runs))
	}
	for _, r := range runs {
		w := r.Spec.Selection[1]
		if w.Condition != "shifted" || w.Weight != map[string]float64{"0": 0, "0.02": 0.02, "0.1": 0.1, "0.3": 0.3}[r.Values[0]] {
			t.Fatalf("run seed %d %v: selection %s", r.Seed, r.Values, r.Spec.Selection)
		}
	}
	if q, _ := s.Shorten().Runs(); len(q) != 8 || q[0].Spec.Generations != 10 {
		t.Fatalf("quick: %d runs", len(q))
	}
	coin, err := experiment.Load("../experiments/coin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	zero := runs[0].Spec
	zero.Selection, zero.Episodes, zero.Name = nil, coin.Episodes, coin.Name
	if !proto.Equal(zero.ToProto(), coin.ToProto()) {
		t.Fatalf("fraction 0 differs from coin.yaml beyond episodes:\n%v\n%v", zero.ToProto(), coin.ToProto())
	}
}

// TestDoorsSeedsFile: doors-seeds.yaml is Default over seeds 1-10.
func TestDoorsSeedsFile(t *testing.T) {
	s, err := experiment.Load("../experiments/doors-seeds.yaml")
	if err != nil {
		t.Fatal(err)
	}
	runs, err := s.Runs()
	if err != nil || len(runs) != 10 {
		t.Fatalf("%d runs, %v", len(runs), err)
	}
	for i, r := range runs {
		d := experiment.Default()
		d.Seed = uint64(i + 1)
		if !proto.Equal(r.Spec.ToProto(), d.ToProto()) {
			t.Fatalf("run %d differs from the default with seed %d", i+1, i+1)
		}
	}
}
