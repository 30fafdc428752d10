package experiment

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mesaopt/mesaopt/fitness"
)

// endless is a reader that never ends and counts what was read from it.
type endless struct{ read int }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '#'
	}
	e.read += len(p)
	return len(p), nil
}

// TestSpecReadsBounded checks that an experiment and the map files it names
// are read at most one byte past their limits.
func TestSpecReadsBounded(t *testing.T) {
	var r endless
	_, err := Parse(&r)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), strconv.Itoa(MaxFileBytes)) {
		t.Fatalf("endless experiment: %v", err)
	}
	if r.read > MaxFileBytes+1 {
		t.Errorf("read %d bytes of an endless experiment, allowed at most %d", r.read, MaxFileBytes+1)
	}

	for _, dev := range []string{"/dev/zero", "/dev/urandom"} {
		if _, err := os.Stat(dev); err != nil {
			t.Logf("%s: %v; skipped", dev, err)
			continue
		}
		p := filepath.Join(t.TempDir(), "exp.yaml")
		doc := "environment:\n  name: maps\n  maps:\n  - condition: train\n    file: " + dev + "\n"
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(p)
		for _, want := range []string{p, "line 5", `environment.maps[0].file = "` + dev + `"`, strconv.Itoa(fitness.MaxMapBytes)} {
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
				t.Errorf("map file %s: error %v does not mention %q", dev, err, want)
			}
		}
	}

	text := strings.Repeat(";\n", fitness.MaxMapBytes) + "#@G#\n"
	s := Default()
	s.Environment = Environment{Name: "maps", StepLimit: 10, Maps: []MapFile{{Condition: TrainCondition, Text: text}}}
	s.ShiftedConditions = nil
	if _, err := FromProto(s.ToProto()); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "larger than the") {
		t.Errorf("oversized inline map from the wire: %v", err)
	}
}
