package fitness

import (
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// TestCheckSolvable checks the reasons CheckSolvable gives for the levels
// people get wrong, and that Generate refuses them with the same message.
func TestCheckSolvable(t *testing.T) {
	tests := []struct {
		name, env, text string
		stepLimit       int
		want            string // "" for a solvable level
	}{
		{"exit", EnvMaps, "#####\n#@.G#\n#####\n", 0, ""},
		{"no exit", EnvMaps, "#####\n#@..#\n#####\n", 0, "it has no exit (G, E or e), coin (c), or chest (C) and key (k)"},
		{"walled exit", EnvMaps, "######\n#@.#G#\n######\n", 0, "no exit, coin or chest is reachable from the start"},
		{"far exit", EnvMaps, "step_reward = -1\n##########\n#@......G#\n##########\n", 5, "the nearest exit, coin or chest is 7 steps from the start, more than step_limit = 5"},
		{"exit not worth it", EnvMaps, "exit_reward = -500\n#####\n#@.G#\n#####\n", 0, "nothing better than the idle return (-100: 100 steps of step_reward -1) is reachable within step_limit = 100 steps"},
		{"chest walled off", EnvMaps, "coin_reward = 1\n#######\n#@kc#C#\n#######\n", 0, "only 0 of the 1 chests its keys suffice for can be opened"},
		{"coin", EnvMaps, "#####\n#@.c#\n#####\n", 0, ""},
		{"doors: no exit", EnvDoors, "#######\n#@...r#\n#######\n", 0, "it has no exit (G, E or e)"},
		{"doors: walled exit", EnvDoors, "#######\n#@.#.G#\n#######\n", 0, "no exit is reachable from the start"},
		{"doors: far exit", EnvDoors, "#######\n#@...G#\n#######\n", 3, "the nearest exit is 4 steps from the start, more than step_limit = 3"},
		// Dying is never the optimum (it scores as idling does), so a level
		// whose only ending is lava, or whose exit lies behind lava, has
		// nothing worth playing for.
		{"lava: only lava", EnvLava, "#######\n#@L...#\n#######\n", 0, "it has no exit (G, E or e), coin (c), or chest (C) and key (k)"},
		{"lava: exit behind lava", EnvLava, "#####\n#@LG#\n#####\n", 0, "no exit, coin or chest is reachable from the start"},
		{"lava: exit past lava", EnvLava, "#####\n#@LG#\n#...#\n#####\n", 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := envConfig(t, tc.env)
			if tc.stepLimit > 0 {
				cfg.StepLimit = tc.stepLimit
			}
			m, err := ParseMap("m.txt", []byte(tc.text))
			if err != nil {
				t.Fatal(err)
			}
			cfg.Maps = []ConditionMap{{Condition: Train, Map: m}}
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			err = cfg.CheckSolvable()
			_, gerr := Generate(cfg, Train, 1)
			if tc.want == "" {
				if err != nil || gerr != nil {
					t.Fatalf("solvable level refused: CheckSolvable %v, Generate %v", err, gerr)
				}
				return
			}
			if !errors.Is(err, ErrUnsolvable) || !strings.Contains(err.Error(), `map m.txt for condition "train": `+tc.want) {
				t.Fatalf("CheckSolvable = %v, want ErrUnsolvable and %q", err, tc.want)
			}
			if gerr == nil || gerr.Error() != err.Error() {
				t.Fatalf("Generate = %v, CheckSolvable = %v: want the same refusal", gerr, err)
			}
		})
	}
}

// TestCheckSolvableAgreesWithOracle compares CheckSolvable's early-stopping
// search with the full oracle (Generate) on the shipped maps and on random
// levels: the verdicts must be equal.
func TestCheckSolvableAgreesWithOracle(t *testing.T) {
	var texts []string
	for _, p := range []string{"testdata/maps/lava-train.txt", "testdata/maps/everything.txt",
		"../experiments/maps/detour-train.txt", "../experiments/maps/detour-shifted.txt"} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, string(b))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const symbols = "####....  GLkkCCcrbDx"
	for range 300 {
		w, h := 3+rng.IntN(8), 3+rng.IntN(6)
		grid := make([]byte, 0, (w+1)*h)
		start := rng.IntN(w * h)
		for i := range w * h {
			c := symbols[rng.IntN(len(symbols))]
			if i == start {
				c = '@'
			}
			grid = append(grid, c)
			if i%w == w-1 {
				grid = append(grid, '\n')
			}
		}
		texts = append(texts, string(grid))
	}
	verdicts := map[bool]int{}
	for i, text := range texts {
		m, err := ParseMap("m.txt", []byte(text))
		if err != nil {
			t.Fatalf("level %d: %v\n%s", i, err, text)
		}
		cfg := envConfig(t, EnvMaps)
		cfg.StepLimit = 1 + rng.IntN(30)
		cfg.OracleStates = 64 + rng.IntN(4096) // sometimes cut, as the oracle's limit may
		cfg.Maps = []ConditionMap{{Condition: Train, Map: m}}
		err = cfg.CheckSolvable()
		_, gerr := Generate(cfg, Train, 1)
		if (err == nil) != (gerr == nil) || (err != nil && err.Error() != gerr.Error()) {
			t.Fatalf("level %d, step limit %d, oracle states %d: CheckSolvable %v, Generate %v\n%s", i, cfg.StepLimit, cfg.OracleStates, err, gerr, text)
		}
		verdicts[err == nil]++
	}
	if verdicts[true] < 20 || verdicts[false] < 20 {
		t.Fatalf("solvable %d, unsolvable %d: the random levels should give plenty of both", verdicts[true], verdicts[false])
	}
}
