package experiment_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/fitness"
)

func TestSpecEnvironments(t *testing.T) {
	s, err := experiment.Parse(strings.NewReader("environment:\n  name: lava\n"))
	if err != nil {
		t.Fatal(err)
	}
	if e := s.Environment; e.StepLimit != 100 || e.Width != 9 || !slices.Equal(s.ShiftedConditions, []string{"test-v1", "test-v2"}) {
		t.Errorf("lava defaults: %+v, shifted %v", e, s.ShiftedConditions)
	}
	lava, _ := fitness.LookupEnv(fitness.EnvLava)
	if got := s.Shape(); !slices.Equal(got.Features, lava.Features()) || got.ObsSize != lava.ObsSize() {
		t.Errorf("lava spec shape %+v", got)
	}
	// The door maze's conditions: left out, every one is analysed; the
	// single changes may be named alone.
	s, err = experiment.Parse(strings.NewReader("environment:\n  name: doors\n"))
	if want := []string{"shifted", "blue-doors", "red-objects"}; err != nil || !slices.Equal(s.ShiftedConditions, want) {
		t.Errorf("doors: shifted %v (%v), want %v", s.ShiftedConditions, err, want)
	}
	s, err = experiment.Parse(strings.NewReader("shifted_conditions: [red-objects, blue-doors]\nregime_change: {generation: 3, train_condition: red-objects}\n"))
	if err != nil || !slices.Equal(s.ShiftedConditions, []string{"red-objects", "blue-doors"}) {
		t.Errorf("doors single changes: %v %v", s.ShiftedConditions, err)
	}
	s, err = experiment.Parse(strings.NewReader("environment:\n  name: keys-chests\n  keys: 3\nshifted_conditions: [shifted]\n"))
	if err != nil || s.Environment.Keys != 3 || s.Environment.Width != 9 {
		t.Errorf("keys-chests: %+v %v", s.Environment, err)
	}
	bad := []struct{ yaml, want string }{
		{"environment:\n  name: lava\n  walls: 2\n", "line 3: environment.walls = 2, allowed only for environments that read it; lava reads step_limit"},
		{"environment:\n  name: winter\n", `environment.name = "winter", allowed one of [doors lava keys-chests coin maps]`},
		{"environment:\n  name: lava\nshifted_conditions: [shifted]\n", `shifted_conditions[0] = "shifted", allowed one of [train test-v1 test-v2]`},
		{"shifted_conditions: [blue-door]\n", `shifted_conditions[0] = "blue-door", allowed one of [train shifted blue-doors red-objects]`},
		{"environment:\n  red_objects: 0\nshifted_conditions: [blue-doors, red-objects]\n",
			`line 3: shifted_conditions[1] = "red-objects": environment: fitness: invalid config: red_objects = 0 under condition "red-objects", allowed 1..16`},
		{"environment:\n  name: keys-chests\n  keys: 20\n", "keys = 20, allowed 1..8"},
		{"environment:\n  name: maps\n", `needs a map for condition "train"`},
		{"environment:\n  name: maps\n  maps:\n  - condition: train\n    text: \"#@Z\"\n", "environment.maps[0].text:1:3: unknown symbol 'Z'"},
		{"environment:\n  name: lava\n  maps:\n  - condition: x\n    file: nowhere.txt\n", `line 5: environment.maps[0].file = "nowhere.txt", allowed a readable map file`},
	}
	for _, tc := range bad {
		_, err := experiment.Parse(strings.NewReader(tc.yaml))
		if !errors.Is(err, experiment.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

// TestSpecMapFiles loads an experiment whose conditions are map files next
// to it: the content, not the path, is in the spec, and survives the wire.
func TestSpecMapFiles(t *testing.T) {
	dir := t.TempDir()
	level := "#####\n#A G#\n#####\n"
	if err := os.MkdirAll(filepath.Join(dir, "levels"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "levels", "corridor.txt"), []byte(level), 0o644); err != nil {
		t.Fatal(err)
	}
	exp := "environment:\n  name: maps\n  step_limit: 20\n  maps:\n  - condition: train\n    file: levels/corridor.txt\n" +
		"  - condition: detour\n    text: |\n      #####\n      #A..#\n      #L#.#\n      #G..#\n      #####\n"
	path := filepath.Join(dir, "exp.yaml")
	if err := os.WriteFile(path, []byte(exp), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := experiment.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Environment.Maps) != 2 || s.Environment.Maps[0].Text != level || !slices.Equal(s.ShiftedConditions, []string{"detour"}) {
		t.Fatalf("maps: %+v shifted %v", s.Environment.Maps, s.ShiftedConditions)
	}
	p := s.ToProto()
	if p.GetEnvironment().GetMaps()[0].GetText() != level {
		t.Errorf("map content not on the wire: %v", p.GetEnvironment())
	}
	back, err := experiment.FromProto(p)
	if err != nil || !proto.Equal(back.ToProto(), p) {
		t.Errorf("round trip: %v", err)
	}
	// A different map is a different run.
	other := s
	other.Environment.Maps = slices.Clone(s.Environment.Maps)
	other.Environment.Maps[0].Text = "#####\n#AG.#\n#####\n"
	if proto.Equal(other.ToProto(), p) {
		t.Error("a different map gives the same spec")
	}
	if err := os.Remove(filepath.Join(dir, "levels", "corridor.txt")); err != nil {
		t.Fatal(err)
	}
	if _, err := experiment.FromProto(p); err != nil {
		t.Errorf("the spec must not need the file once loaded: %v", err)
	}
}
