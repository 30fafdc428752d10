package experiment

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

// The fuzz target of the spec decoder. Its seeds are small on purpose: the
// fuzzer minimizes every input that finds new coverage, at a cost that
// grows with the square of its length, and executions stop while it does —
// a whole experiment file as a seed kept the target minimizing for the
// whole -fuzztime at 0 executions/s. Nothing here touches files per
// execution.

// fuzzMaps serves map files to parse from memory: the fuzzer's
// documents may name any path, and reading them would make executions
// depend on the machine (and /dev/zero is a path too).
func fuzzMaps(file string) ([]byte, error) {
	if file == "corridor.txt" {
		return []byte("#####\n#@.G#\n#####\n"), nil
	}
	return nil, fs.ErrNotExist
}

func FuzzParseSpec(f *testing.F) {
	for _, doc := range []string{
		"seed: 3\ngenerations: 5\npopulation: 10\nelites: 2\n",
		"population: 1\n",
		"environment: {name: doors, width: 99}\n",
		"environment: {name: lava, step_limit: 30}\n",
		"shifted_conditions: [shifted, shifted]\n",
		"thresholds: {base_high: 0.8, drift: 0.3}\nevaluation_timeout: 30s\n",
		"regime_change:\n  generation: 2\n  train_condition: shifted\n",
		"environment:\n  name: maps\n  maps:\n  - condition: train\n    file: corridor.txt\n" +
			"  - condition: b\n    text: \"####\\n#@G#\\n####\\n\"\nshifted_conditions: [b]\n",
	} {
		f.Add(doc)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		s, err := parse(strings.NewReader(doc), fuzzMaps)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		// FromProto validates again: what Parse accepts must pass.
		if _, err := FromProto(s.ToProto()); err != nil {
			t.Fatalf("accepted spec does not survive proto: %v", err)
		}
	})
}
