package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// mesaoptEnv runs `mesaopt env ARGS` and returns its output and exit code.
func mesaoptEnv(t *testing.T, args ...string) (string, int) {
	t.Helper()
	out, err := exec.Command(binary, append([]string{"env"}, args...)...).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	}
	t.Fatalf("mesaopt env %v: %v", args, err)
	return "", -1
}

func TestEnvCommands(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.txt")
	if err := os.WriteFile(bad, []byte("#####\n#A?G#\n#####\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"list", []string{"list"}, 0, []string{"doors\n", "lava\n", "keys-chests\n", "coin\n", "maps\n",
			"conditions  train, test-v1, test-v2", "features    dist_exit exit_reached doors_passed",
			"parameters  width=13 height=5 blocks=4 step_limit=40", "parameters  width=9 height=7 blocks=3 keys=2 step_limit=32"}},
		// The reference implementation's own test: 42 and −52 on the training level.
		{"play 42", []string{"play", "lava", "--actions", "drrrrrru"}, 0, []string{"step   8  up", "reward 49  return 42",
			"return 42 after 8 steps, terminated (optimum 42)"}},
		{"play -52", []string{"play", "lava", "--condition", "train", "--actions", "rr"}, 0, []string{"reward -51  return -52",
			"return -52 after 2 steps, terminated"}},
		{"play truncated", []string{"play", "doors", "--seed", "5", "--actions", strings.Repeat("u", 45)}, 0,
			[]string{"return -40 after 40 steps, truncated at the step limit; 5 later actions not taken"}},
		{"show", []string{"show", "lava", "--condition", "test-v1"}, 0, []string{"#@.LLL.G#\n#..LLL..#\n", "lava test-v1 seed=1 optimum_return=40"}},
		{"show doors", []string{"show", "doors", "--condition", "shifted", "--seed", "5"}, 0, []string{"#@.##.r#.##", "shifted seed=5 optimum=13"}},
		{"show map", []string{"show", "--map", "../../fitness/testdata/maps/lava-train.txt"}, 0, []string{"#@.LLL.G#", "maps train seed=1 optimum_return=42"}},
		{"optimum", []string{"optimum", "lava", "--condition", "test-v2"}, 0, []string{"optimum return  44 (idle return -100)", "actions         rrrrrr (6 steps)"}},
		{"optimum keys", []string{"optimum", "keys-chests", "--condition", "shifted", "--seed", "3"}, 0, []string{"optimum return  10 (idle return -32)"}},
		{"list local", []string{"list"}, 0, []string{"features    dist_exit exit_reached doors_passed",
			"family      local: grid (Manhattan) distances, walls ignored"}},
		{"list oracle", []string{"list", "--features", "oracle"}, 0, []string{"family      oracle: BFS distances through the level"}},
		{"bad features", []string{"list", "--features", "bfs"}, 2, []string{`--features = "bfs", allowed oracle or local`}},
		// One-step greed over grid distances stalls against the walls; over
		// BFS distances it is optimal.
		{"horizon local", []string{"horizon", "doors", "--instances", "20", "--max-horizon", "1"}, 0,
			[]string{"doors train, features local, planner \"exit\", budget 4, 20 instances (run seed 1)", "      1  0.0500"}},
		{"horizon oracle", []string{"horizon", "--features", "oracle", "--instances", "20", "--max-horizon", "2"}, 0,
			[]string{"features oracle", "      1  1.0000", "      2  1.0000"}},
		{"horizon bad candidate", []string{"horizon", "--candidate", "gold"}, 2, []string{`--candidate = "gold", allowed exit, red, blue, doors`}},
		{"unknown env", []string{"show", "winter"}, 2, []string{`unknown environment: "winter", valid: doors, lava, keys-chests, coin, maps`}},
		{"unknown condition", []string{"show", "lava", "--condition", "shifted"}, 2, []string{`unknown condition: "shifted", valid: train, test-v1, test-v2`}},
		{"bad letter", []string{"play", "lava", "--actions", "drx"}, 2, []string{`letter 'x' at position 3 of "drx", allowed u, d, l, r`}},
		{"bad map", []string{"show", "--map", bad}, 2, []string{bad + ":2:3: unknown symbol '?'; expected one of #"}},
		{"no env", []string{"show"}, 2, []string{"name an environment"}},
		{"map not for env", []string{"show", "lava", "--map", "../../fitness/testdata/maps/everything.txt"}, 2, []string{"which environment lava does not know"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, code := mesaoptEnv(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit code %d, want %d\n%s", code, tc.code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output does not contain %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestRunLava runs a short lava experiment end to end: the coordinator and a
// worker process agree on the environment's shape, conditions and levels.
func TestRunLava(t *testing.T) {
	p := filepath.Join(t.TempDir(), "lava.yaml")
	exp := "name: lava-tiny\nseed: 3\ngenerations: 2\npopulation: 8\nelites: 1\ntournament_size: 2\n" +
		"episodes: 1\nanalysis_episodes: 1\nenvironment:\n  name: lava\n"
	if err := os.WriteFile(p, []byte(exp), 0o644); err != nil {
		t.Fatal(err)
	}
	out := runMesaopt(t, newNode(t).args("-f", p, "--workers", "1")...)
	for _, w := range []string{"gen   2/2", "test-v1", "test-v2"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	finalDigest(t, out)
}
