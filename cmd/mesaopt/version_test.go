package main

import (
	"encoding/json"
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

// TestVersionJSON: mesaopt version -o json is the build as JSON, with the
// protocol version and evaluation digest the worker package reports.
func TestVersionJSON(t *testing.T) {
	out, err := exec.Command(binary, "version", "-o", "json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Protocol uint32 `json:"protocol_version"`
		Digest   string `json:"evaluation_digest"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got.Protocol != worker.ProtocolVersion || got.Digest != worker.EvaluationDigest() {
		t.Errorf("version -o json: %+v, want protocol %d, digest %s", got, worker.ProtocolVersion, worker.EvaluationDigest())
	}
	if out, err := exec.Command(binary, "version", "-o", "yaml").CombinedOutput(); err == nil || !strings.Contains(string(out), `allowed text or json`) {
		t.Errorf("version -o yaml: %v\n%s", err, out)
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
