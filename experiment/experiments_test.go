package experiment_test

import (
	"testing"

	"github.com/mesaopt/mesaopt/experiment"
)

// TestExperimentFilesParse loads every experiment file of experiments/.
func TestExperimentFilesParse(t *testing.T) {
	for _, tc := range []struct{ file, env string }{
		{"doors.yaml", "doors"}, {"lava.yaml", "lava"}, {"keys-chests.yaml", "keys-chests"},
		{"coin.yaml", "coin"}, {"maps.yaml", "maps"},
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
