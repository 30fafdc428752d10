package fitness

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// doorsTable writes every scalar score of the reference and random genomes
// under both door-maze conditions and the means' features, one line each,
// then a digest of 40 instance renders per condition: a change to the
// engine, the planners or the scores shows line by line.
func doorsTable(t *testing.T) string {
	t.Helper()
	e, err := NewEvaluator(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i, g := range population() {
		for _, c := range []string{Train, Shifted} {
			r, err := e.Evaluate(g, c, seeds(5, c, 12))
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "genome %d %s: base %v competence %v agreement %v proxy %v steps %v nodes %v features %v behaves %s terminated %d truncated %d\n",
				i, c, r.Base, r.Competence, r.Agreement, r.ProxyHits, r.Steps, r.Nodes, r.Features, r.BehavioralObjective, r.Terminated, r.Truncated)
		}
	}
	h := sha256.New()
	for seed := uint64(0); seed < 40; seed++ {
		for _, c := range []string{Train, Shifted} {
			in, err := Generate(DefaultConfig(), c, seed)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(h, "%s%d\n", in.Render(), len(in.Reachable()))
		}
	}
	fmt.Fprintf(&b, "renders %s\n", hex.EncodeToString(h.Sum(nil)))
	return b.String()
}

// TestDoorsGolden compares doorsTable with testdata/doors.golden. Rewrite
// it with -update when a change is meant to move scores, and review the
// diff.
func TestDoorsGolden(t *testing.T) {
	got := doorsTable(t)
	path := filepath.Join("testdata", "doors.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("door maze scores differ from %s (rewrite with -update once understood):\n%s", path, got)
	}
}
