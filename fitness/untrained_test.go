package fitness

import (
	"slices"
	"strings"
	"testing"
)

// untrainedNames lists the features r.Varied marks constant.
func untrainedNames(t *testing.T, e *Evaluator, r ConditionResult) []string {
	t.Helper()
	names := e.Env().Features()
	if len(r.Varied) != len(names) {
		t.Fatalf("Varied has %d entries, want %d", len(r.Varied), len(names))
	}
	var out []string
	for k, v := range r.Varied {
		if !v {
			out = append(out, names[k])
		}
	}
	return out
}

// TestVariedHandMade plays an exit seeker on a corridor whose only path
// crosses a red object: the search meets states that differ in the exit
// distance, the red object touched, the distance to it and the step count;
// nothing else in the level exists to change.
func TestVariedHandMade(t *testing.T) {
	m, err := ParseMap("corridor.txt", []byte("#########\n#@..r..G#\n#########\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := envConfig(t, EnvMaps)
	cfg.Maps = []ConditionMap{{Condition: Train, Map: m}}
	e, err := NewEvaluator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := mapsEnv.Planner("exit")
	r, err := e.Evaluate(g, Train, []uint64{1})
	if err != nil {
		t.Fatal(err)
	}
	if r.Base != 1 {
		t.Fatalf("exit seeker base %v on the corridor", r.Base)
	}
	var trained []string
	for k, v := range r.Varied {
		if v {
			trained = append(trained, e.Env().Features()[k])
		}
	}
	if want := "dist_exit exit_reached red_touched dist_red steps"; strings.Join(trained, " ") != want {
		t.Errorf("varied features %v, want %s", trained, want)
	}
	if u := untrainedNames(t, e, r); !slices.Contains(u, "blue_touched") || !slices.Contains(u, "dist_blue") {
		t.Errorf("untrained %v lacks the blue features", u)
	}
	// Heuristics have no mesa-objective; selection does not record.
	if r, _ := e.Evaluate(IdleFor(mapsEnv), Train, []uint64{1}); r.Varied != nil {
		t.Errorf("heuristic Varied = %v", r.Varied)
	}
	if r, _ := e.EvaluateSelection(g, Train, []uint64{1}); r.Varied != nil {
		t.Errorf("EvaluateSelection Varied = %v", r.Varied)
	}
}

// TestVariedDoorsTrain: the door maze's train has red doors and no blue
// objects, so an exit seeker's blue features are constant (0) in every
// state it evaluates, and its exit distance and steps vary.
func TestVariedDoorsTrain(t *testing.T) {
	e, err := NewEvaluator(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	seeds := []uint64{1, 2, 3, 4}
	r, err := e.Evaluate(ExitSeeker(), Train, seeds)
	if err != nil {
		t.Fatal(err)
	}
	u := untrainedNames(t, e, r)
	for _, f := range []string{"blue_touched", "dist_blue"} {
		if !slices.Contains(u, f) {
			t.Errorf("%s not untrained in train: untrained %v", f, u)
		}
	}
	for _, f := range []string{"dist_exit", "steps", "red_touched"} {
		if slices.Contains(u, f) {
			t.Errorf("%s untrained in train: untrained %v", f, u)
		}
	}
	// Under blue-doors the blue features vary.
	if r, err := e.Evaluate(ExitSeeker(), BlueDoors, seeds); err != nil {
		t.Fatal(err)
	} else if u := untrainedNames(t, e, r); slices.Contains(u, "blue_touched") {
		t.Errorf("blue_touched untrained under blue-doors: %v", u)
	}
}
