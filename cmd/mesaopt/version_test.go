package main

import (
	"log/slog"
	"os/exec"
	"strings"
	"testing"

	"github.com/mesaopt/mesaopt/worker"
)

// TestVersion: mesaopt version and --version print the build, protocol
// version and evaluation digest, and exit 0.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := exec.Command(binary, args...).CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "mesaopt ") || !strings.Contains(string(out), "protocol:") ||
			!strings.Contains(string(out), worker.EvaluationDigest()) {
			t.Errorf("mesaopt %v: %v\n%s", args, err, out)
		}
	}
}

// TestLogLevels: a coordinator logs warnings by default and info with -v;
// a worker info by default and debug with -v.
func TestLogLevels(t *testing.T) {
	for _, tc := range []struct {
		flags logFlags
		want  slog.Level
	}{
		{logFlags{format: "text"}, slog.LevelWarn},
		{logFlags{format: "text", verbose: true}, slog.LevelInfo},
		{logFlags{format: "json", info: true}, slog.LevelInfo},
		{logFlags{format: "text", info: true, verbose: true}, slog.LevelDebug},
	} {
		log, err := tc.flags.logger()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn} {
			if got := log.Enabled(t.Context(), l); got != (l >= tc.want) {
				t.Errorf("%+v: level %v enabled %v, want the lowest enabled %v", tc.flags, l, got, tc.want)
			}
		}
	}
}
