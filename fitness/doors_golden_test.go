package fitness

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
)

// doorsGolden is the SHA-256 of the door maze's scores and renders before
// the maze moved onto the grid-world engine; the move must not change a bit.
const doorsGolden = "e0860f91025d9e8b8ecdd77a308f323dbf600d7493e46701f43ba298637e52c0"

// doorsDigest hashes every scalar score of the reference and random genomes
// under both door-maze conditions, the means' features, and instance renders.
func doorsDigest(t *testing.T) string {
	t.Helper()
	e, err := NewEvaluator(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	for i, g := range population() {
		for _, c := range []string{Train, Shifted} {
			r, err := e.Evaluate(g, c, seeds(5, c, 12))
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(h, "%d %s %v %v %v %v %v %v %v %s %d %d\n", i, c, r.Base, r.Competence, r.Agreement,
				r.ProxyHits, r.Steps, r.Nodes, r.Features, r.BehavioralObjective, r.Terminated, r.Truncated)
		}
	}
	for seed := uint64(0); seed < 40; seed++ {
		for _, c := range []string{Train, Shifted} {
			in, err := Generate(DefaultConfig(), c, seed)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(h, "%s%d\n", in.Render(), len(in.Reachable()))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestDoorsUnchanged(t *testing.T) {
	if got := doorsDigest(t); got != doorsGolden {
		t.Errorf("door maze digest = %s, want %s", got, doorsGolden)
	}
}
