package lineage

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mesaopt/mesaopt/genome"
)

// gaLineage is the retained phylogeny of a synthetic run shaped like a
// default one (tournament selection of 3, elites copied as new records,
// crossovers with two parents, heritable flags), pruned as the
// coordinator prunes it: the living population, every flagged record and
// every champion, and their ancestors. With pop 200, 40 generations and a
// flag rate of 0.3 it keeps a few thousand records.
func gaLineage(t testing.TB, pop, gens int, flagRate float64) *Store {
	t.Helper()
	rng := rand.New(rand.NewPCG(17, 5))
	s := NewStore()
	var id uint64
	var prev []Record
	carry := map[uint64]bool{}
	for g := range gens {
		cur := make([]Record, 0, pop)
		for k := range pop {
			id++
			r := Record{ID: id, Generation: uint32(g), Kind: genome.KindPlanner, Objective: []float64{rng.Float64()}, Horizon: 8}
			if k%5 == 4 {
				r.Kind, r.Objective, r.Horizon = genome.KindHeuristic, nil, 0
			}
			if g > 0 {
				pick := func() Record { // tournament of 3
					best := prev[rng.IntN(pop)]
					for range 2 {
						if c := prev[rng.IntN(pop)]; c.Fitness > best.Fitness {
							best = c
						}
					}
					return best
				}
				switch p := pick(); {
				case k < 4:
					r.Parents, r.Operators = []uint64{prev[k].ID}, []string{genome.OpElite}
				case rng.Float64() < 0.3:
					q := pick()
					r.Parents, r.Operators = []uint64{p.ID}, []string{"crossover:uniform"}
					if q.ID != p.ID {
						r.Parents = append(r.Parents, q.ID)
					}
				default:
					r.Parents, r.Operators = []uint64{p.ID}, []string{genome.OpGaussian}
				}
			}
			r.Fitness = rng.Float64()
			// Flags are heritable: a child of a carrier mostly carries the
			// drift on; a new one arises rarely.
			switch {
			case len(r.Parents) > 0 && carry[r.Parents[0]]:
				carry[r.ID] = rng.Float64() < 0.95
			case g == 0:
				carry[r.ID] = rng.Float64() < flagRate
			default:
				carry[r.ID] = rng.Float64() < flagRate/10
			}
			if g%2 == 0 { // the analysis runs every other generation
				r.Shifted = []ConditionScore{{Condition: "shifted", Base: 0.5}}
				r.Flagged = r.Kind == genome.KindPlanner && carry[r.ID]
			}
			cur = append(cur, r)
		}
		best := 0
		for k := range cur {
			if cur[k].Fitness > cur[best].Fitness {
				best = k
			}
		}
		cur[best].Champion = true
		// Keep the elites first so that pick() sees them at prev[0..3].
		for k := 0; k < 4 && k < len(cur); k++ {
			for j := k + 1; j < len(cur); j++ {
				if cur[j].Fitness > cur[k].Fitness {
					cur[k].Fitness, cur[j].Fitness = cur[j].Fitness, cur[k].Fitness
				}
			}
		}
		for _, r := range cur {
			if err := s.Add(r); err != nil {
				t.Fatal(err)
			}
		}
		prev = cur
	}
	live := make([]uint64, len(prev))
	for k, r := range prev {
		live[k] = r.ID
	}
	if _, err := s.Prune(live); err != nil {
		t.Fatal(err)
	}
	return s
}

func newickOf(t testing.TB, s *Store) string {
	t.Helper()
	var buf bytes.Buffer
	if err := s.Snapshot().WriteNewick(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// checkParents checks that parentOf (node label to its parent's label, ""
// for a root) names every record exactly once, as "id<ID>", with its
// primary parent as parent.
func checkParents(t *testing.T, s *Store, parentOf map[string]string, seen map[string]int) {
	t.Helper()
	recs := s.Records()
	if len(parentOf) != len(recs) {
		t.Errorf("%d labelled nodes, want one per record (%d)", len(parentOf), len(recs))
	}
	for _, r := range recs {
		name := "id" + strconv.FormatUint(r.ID, 10)
		got, ok := parentOf[name]
		if !ok {
			t.Errorf("record %d: no node named %s", r.ID, name)
			continue
		}
		if n := seen[name]; n != 1 {
			t.Errorf("record %d: %d nodes named %s", r.ID, n, name)
		}
		want := ""
		if len(r.Parents) > 0 {
			want = "id" + strconv.FormatUint(r.Parents[0], 10)
		}
		if got != want {
			t.Errorf("record %d: parent %q, want %q", r.ID, got, want)
		}
	}
}

func TestNewickEveryID(t *testing.T) {
	s := gaLineage(t, 200, 40, 0.3)
	if s.Len() < 2000 {
		t.Fatalf("synthetic lineage keeps %d records, want thousands", s.Len())
	}
	crossovers := 0
	for _, r := range s.Records() {
		if len(r.Parents) > 1 {
			crossovers++
		}
	}
	if crossovers == 0 {
		t.Fatal("synthetic lineage has no crossover")
	}
	root, err := parseNewick(strings.TrimSpace(newickOf(t, s)))
	if err != nil {
		t.Fatal(err)
	}
	parentOf, seen := map[string]string{}, map[string]int{}
	gen := map[string]uint32{}
	for _, r := range s.Records() {
		gen["id"+strconv.FormatUint(r.ID, 10)] = r.Generation
	}
	var walk func(n *newickNode, parent string)
	walk = func(n *newickNode, parent string) {
		if n.label != "" {
			seen[n.label]++
			parentOf[n.label] = parent
			want := "0"
			if parent != "" {
				want = strconv.FormatUint(uint64(gen[n.label]-gen[parent]), 10)
			}
			if n.length != want {
				t.Errorf("%s: branch length %s, want %s", n.label, n.length, want)
			}
			parent = n.label
		} else if parent != "" || n != root {
			t.Errorf("unlabelled node below %q", parent)
		}
		for _, c := range n.children {
			walk(c, parent)
		}
	}
	walk(root, "")
	checkParents(t, s, parentOf, seen)
	t.Logf("%d records (%d crossovers), %d Newick nodes", s.Len(), crossovers, len(parentOf))
}

// pythonWith returns a python3 that imports module, or skips the test.
func pythonWith(t *testing.T, module string) string {
	t.Helper()
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		path, err := exec.LookPath(py)
		if err != nil {
			continue
		}
		if exec.Command(path, "-c", "import "+module).Run() == nil {
			return path
		}
	}
	t.Skipf("no python3 with %s (Debian: apt-get install python3-biopython python3-ete3)", module)
	return ""
}

// readWithPython runs script on the Newick export of s; the script prints
// "name parent" per node (parent "-" for a root).
func readWithPython(t *testing.T, module, script string) {
	py := pythonWith(t, module)
	s := gaLineage(t, 200, 40, 0.3)
	file := filepath.Join(t.TempDir(), "run.nwk")
	if err := os.WriteFile(file, []byte(newickOf(t, s)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", script, file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", module, err, stderr.String())
	}
	parentOf, seen := map[string]string{}, map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		name, parent, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("%s printed %q", module, line)
		}
		if name == "None" || name == "" {
			continue // the unlabelled root joining several generation-0 roots
		}
		if parent == "None" || parent == "" {
			parent = "-"
		}
		if parent == "-" {
			parent = ""
		}
		seen[name]++
		parentOf[name] = parent
	}
	checkParents(t, s, parentOf, seen)
}

func TestNewickBiopython(t *testing.T) {
	readWithPython(t, "Bio.Phylo", `
import sys
from Bio import Phylo
tree = Phylo.read(sys.argv[1], "newick")
def walk(clade, parent):
    print(clade.name, parent)
    name = clade.name if clade.name is not None else parent
    for c in clade.clades:
        walk(c, name)
sys.setrecursionlimit(100000)
walk(tree.root, "-")
`)
}

func TestNewickEte3(t *testing.T) {
	readWithPython(t, "ete3", `
import sys
from ete3 import Tree
tree = Tree(sys.argv[1], format=1)
for n in tree.traverse():
    p = n.up
    while p is not None and p.name == "":
        p = p.up
    print(n.name if n.name else "None", p.name if p is not None else "-")
`)
}

// linesOfDescent is the union of the primary lines (LineOfDescent) of the
// champions and of the planners that pick selects.
func linesOfDescent(t *testing.T, s *Store, pick func(Record) (uint64, bool)) map[uint64]bool {
	t.Helper()
	on := map[uint64]bool{}
	for _, r := range s.Records() {
		id, ok := r.ID, r.Champion
		if !ok && r.Kind == genome.KindPlanner {
			id, ok = pick(r)
		}
		if !ok {
			continue
		}
		line, err := s.LineOfDescent(id)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range line {
			on[a.ID] = true
		}
	}
	return on
}

// flaggedLines picks every flagged planner; originLines the drift origin
// (DriftOrigin's Ancestor) of every flagged planner.
func flaggedLines(r Record) (uint64, bool) { return r.ID, r.Flagged }

func originLines(s *Store) func(Record) (uint64, bool) {
	return func(r Record) (uint64, bool) {
		o, ok, _ := s.DriftOrigin(r.ID)
		return o.Ancestor.ID, ok
	}
}

var dotNode = regexp.MustCompile(`(?m)^  (\d+) \[label=`)
var dotHiddenNote = regexp.MustCompile(`label="g\d+: \+(\d+) hidden"`)

func dotNodes(t *testing.T, out string) map[uint64]bool {
	t.Helper()
	nodes := map[uint64]bool{}
	for _, m := range dotNode.FindAllStringSubmatch(out, -1) {
		id, _ := strconv.ParseUint(m[1], 10, 64)
		if nodes[id] {
			t.Errorf("node %d drawn twice", id)
		}
		nodes[id] = true
	}
	return nodes
}

func TestDOTScope(t *testing.T) {
	s := gaLineage(t, 100, 30, 0.5)
	var lines, full bytes.Buffer
	if err := s.Snapshot().Export(&lines, FormatDOT, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Snapshot().Export(&full, FormatDOT, ExportOptions{DOT: DOTFull}); err != nil {
		t.Fatal(err)
	}
	want := linesOfDescent(t, s, originLines(s))
	bound := linesOfDescent(t, s, flaggedLines)
	got := dotNodes(t, lines.String())
	if len(got) != len(want) || len(got) > len(bound) {
		t.Errorf("default DOT draws %d nodes; the lines of descent of the champions and drift origins hold %d, of the champions and flagged planners %d",
			len(got), len(want), len(bound))
	}
	for id := range got {
		if !want[id] || !bound[id] {
			t.Errorf("default DOT draws %d, not on a champion's or drift origin's line", id)
		}
	}
	hidden := 0
	for _, m := range dotHiddenNote.FindAllStringSubmatch(lines.String(), -1) {
		n, _ := strconv.Atoi(m[1])
		hidden += n
	}
	if hidden+len(got) != s.Len() {
		t.Errorf("default DOT: %d drawn + %d in hidden notes, want %d records", len(got), hidden, s.Len())
	}
	if n := dotNodes(t, full.String()); len(n) != s.Len() || strings.Contains(full.String(), "hidden") {
		t.Errorf("full DOT draws %d nodes (hidden notes: %v), want all %d", len(n), strings.Contains(full.String(), "hidden"), s.Len())
	}
	if n := strings.Count(lines.String(), "fillcolor="); n == 0 || n > strings.Count(lines.String(), `color="#c0392b"`) {
		t.Errorf("default DOT fills %d nodes; only drift origins, a subset of the flagged, are filled", n)
	}
	t.Logf("%d records, default DOT draws %d (the flagged and champion lines hold %d)", s.Len(), len(got), len(bound))
}

func TestDOTRendersWithGraphviz(t *testing.T) {
	dot, err := exec.LookPath("dot")
	if err != nil {
		t.Skip("no Graphviz dot on PATH (Debian: apt-get install graphviz)")
	}
	s := gaLineage(t, 48, 30, 0.5)
	for _, scope := range []DOTScope{DOTLines, DOTFull} {
		var in bytes.Buffer
		if err := s.Snapshot().WriteDOT(&in, scope); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(dot, "-Tsvg")
		cmd.Stdin = &in
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("dot -Tsvg (scope %d): %v\n%s", scope, err, stderr.String())
		}
		size := regexp.MustCompile(`<svg width="(\d+)pt" height="(\d+)pt"`).FindSubmatch(out)
		if size == nil {
			t.Fatalf("dot -Tsvg wrote no <svg width height>: %.200s", out)
		}
		t.Logf("scope %d: %s x %s pt", scope, size[1], size[2])
	}
}

func ExampleSnapshot_Export() {
	s := NewStore()
	for _, r := range []Record{{ID: 1}, {ID: 2, Generation: 1, Parents: []uint64{1}}, {ID: 3, Generation: 1, Parents: []uint64{1}}} {
		if err := s.Add(r); err != nil {
			panic(err)
		}
	}
	var buf bytes.Buffer
	if err := s.Snapshot().Export(&buf, FormatNewick, ExportOptions{}); err != nil {
		panic(err)
	}
	fmt.Print(buf.String())
	// Output: (id2:1,id3:1)id1:0;
}
