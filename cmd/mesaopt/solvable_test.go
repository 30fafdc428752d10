package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunRefusesUnsolvableMap checks that `mesaopt run` refuses an
// experiment whose map cannot be solved before it starts anything: exit
// code 2, a message naming the experiment, the map, its condition and why,
// and no etcd data written.
func TestRunRefusesUnsolvableMap(t *testing.T) {
	tests := []struct{ name, train, want string }{
		{"no exit", "#####\n#@..#\n#####\n", `map train.txt for condition "train": it has no exit`},
		{"walled exit", "######\n#@.#G#\n######\n", `map train.txt for condition "train": no exit, coin or chest is reachable from the start`},
		{"exit too far", "############\n#@........G#\n############\n", `line 3: environment: fitness: no solvable layout: map train.txt for condition "train": the nearest exit, coin or chest is 9 steps from the start, more than step_limit = 5`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "train.txt"), []byte(tc.train), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "open.txt"), []byte("#####\n#@.G#\n#####\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			exp := filepath.Join(dir, "exp.yaml")
			doc := "environment:\n  name: maps\n  step_limit: 5\n  maps:\n  - condition: train\n    file: train.txt\n" +
				"  - condition: open\n    file: open.txt\nshifted_conditions: [open]\n"
			if err := os.WriteFile(exp, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			n := newNode(t)
			out, code := mesaoptWithin(t, time.Minute, n.args("-f", exp, "--workers", "1")...)
			if code != 2 {
				t.Fatalf("exit code %d, want 2\n%s", code, out)
			}
			if !strings.Contains(out, exp+": invalid experiment") || !strings.Contains(out, tc.want) {
				t.Fatalf("output does not name %s and %q:\n%s", exp, tc.want, out)
			}
			if entries, err := os.ReadDir(n.data); err != nil || len(entries) > 0 {
				t.Fatalf("data directory after a refused experiment: %v %v (nothing may start)", entries, err)
			}
		})
	}
}
