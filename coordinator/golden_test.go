package coordinator_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/worker"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goldenSpec is the default experiment, shortened: what the golden digests
// pin down.
func goldenSpec() experiment.Spec {
	s := experiment.Default()
	s.Generations = 6
	s.Population = 24
	return s
}

// TestGoldenDigests runs goldenSpec to the end and compares every
// generation's digest and the final digest with testdata/digests.golden:
// a change to the GA, the environments, the analysis or the encodings
// that changes results shows here. Rewrite with -update, and review why.
func TestGoldenDigests(t *testing.T) {
	run := runToEnd(t, startCoordinator(t, startEtcd(t), worker.NewEngine(2)), goldenSpec())
	var b strings.Builder
	for _, s := range run.GetSummaries() {
		fmt.Fprintf(&b, "generation %d %s\n", s.GetGeneration(), s.GetDigest())
	}
	fmt.Fprintf(&b, "final %s\n", run.GetFinalDigest())
	path := filepath.Join("testdata", "digests.golden")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		t.Fatalf("digests differ from %s (rewrite with -update once the change is understood):\ngot:\n%swant:\n%s", path, got, want)
	}
}
