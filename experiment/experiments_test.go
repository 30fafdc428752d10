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
