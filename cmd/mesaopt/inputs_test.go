package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/fitness"
)

// mesaoptWithin runs the binary with a deadline that only bounds a hang
// and returns its combined output and exit code.
func mesaoptWithin(t *testing.T, d time.Duration, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, args...).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("mesaopt %v still running after %v\n%s", args, d, out)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	}
	t.Fatalf("mesaopt %v: %v", args, err)
	return "", -1
}

// TestUnboundedInputsRefused feeds endless devices where a map or an
// experiment file is expected: each is refused at once with exit code 2
// and a message naming the file and the limit, before anything starts.
func TestUnboundedInputsRefused(t *testing.T) {
	maxMap, maxSpec := strconv.Itoa(fitness.MaxMapBytes), strconv.Itoa(experiment.MaxFileBytes)
	type input struct {
		name       string
		args, want []string
	}
	var tests []input
	for _, dev := range []string{"/dev/urandom", "/dev/zero"} {
		if _, err := os.Stat(dev); err != nil {
			t.Logf("%s: %v; skipped", dev, err)
			continue
		}
		exp := filepath.Join(t.TempDir(), "exp.yaml")
		doc := "environment:\n  name: maps\n  maps:\n  - condition: train\n    file: " + dev + "\n"
		if err := os.WriteFile(exp, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		n := newNode(t)
		tests = append(tests,
			input{"env show --map " + dev, []string{"env", "show", "--map", dev}, []string{dev, maxMap}},
			input{"env play lava --map " + dev, []string{"env", "play", "lava", "--map", dev, "--actions", "r"}, []string{dev, maxMap}},
			input{"run -f " + dev, n.args("-f", dev), []string{dev, maxSpec}},
			input{"run with maps file " + dev, n.args("-f", exp), []string{exp, dev, maxMap}})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, code := mesaoptWithin(t, time.Minute, tc.args...)
			if code != 2 {
				t.Fatalf("exit code %d, want 2\n%s", code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output does not mention %q:\n%s", w, out)
				}
			}
		})
	}
}
