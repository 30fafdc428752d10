package experiment

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mesaopt/mesaopt/fitness"
)

// mapsExperiment is an experiment whose train condition plays map train,
// given inline.
func mapsExperiment(train string) string {
	return "environment:\n  name: maps\n  step_limit: 20\n  maps:\n  - condition: train\n    text: |\n" +
		"      " + strings.ReplaceAll(strings.TrimSuffix(train, "\n"), "\n", "\n      ") + "\n" +
		"  - condition: open\n    text: \"#####\\n#@.G#\\n#####\\n\"\nshifted_conditions: [open]\n"
}

// TestValidateRefusesUnsolvableMaps checks that a map whose level cannot be
// solved is refused by validation — from a file, inline and from the wire —
// as `mesaopt env show` refuses it, naming the map, the condition and why.
func TestValidateRefusesUnsolvableMaps(t *testing.T) {
	noExit := "#####\n#@..#\n#####\n"
	walled := "######\n#@.#G#\n######\n"
	if _, err := Parse(strings.NewReader(mapsExperiment("#####\n#@.G#\n#####\n"))); err != nil {
		t.Fatalf("solvable maps refused: %v", err)
	}
	tests := []struct{ name, doc, want string }{
		{"no exit", mapsExperiment(noExit), `map environment.maps[0].text for condition "train": it has no exit`},
		{"walled exit", mapsExperiment(walled), `map environment.maps[0].text for condition "train": no exit, coin or chest is reachable from the start`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.doc))
			if !errors.Is(err, ErrInvalid) || !errors.Is(err, fitness.ErrUnsolvable) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse = %v, want ErrInvalid, ErrUnsolvable and %q", err, tc.want)
			}
		})
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "walled.txt"), []byte(walled), 0o644); err != nil {
		t.Fatal(err)
	}
	exp := filepath.Join(dir, "exp.yaml")
	doc := "environment:\n  name: maps\n  maps:\n  - condition: train\n    file: walled.txt\n" +
		"  - condition: open\n    text: \"#####\\n#@.G#\\n#####\\n\"\nshifted_conditions: [open]\n"
	if err := os.WriteFile(exp, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(exp)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), exp) || !strings.Contains(err.Error(), `map walled.txt for condition "train": no exit`) {
		t.Fatalf("Load of an unsolvable map file: %v", err)
	}

	// A spec from the wire (SubmitRun) is validated the same way.
	s := Default()
	s.Environment = Environment{Name: "maps", StepLimit: 20, Maps: []MapFile{{Condition: TrainCondition, File: "w.txt", Text: walled},
		{Condition: "open", Text: "#####\n#@.G#\n#####\n"}}}
	s.ShiftedConditions = []string{"open"}
	if _, err := FromProto(s.ToProto()); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `map w.txt for condition "train"`) {
		t.Fatalf("FromProto of an unsolvable map: %v", err)
	}
	s.Environment.Maps[0].Text = "######\n#@..G#\n######\n"
	if _, err := FromProto(s.ToProto()); err != nil {
		t.Fatalf("solvable maps from the wire refused: %v", err)
	}
}
