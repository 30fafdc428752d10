package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mesaopt/mesaopt/internal/figures"
	"github.com/mesaopt/mesaopt/internal/plot"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// svgTexts parses b as SVG and returns its texts.
func svgTexts(t *testing.T, b []byte) string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	var texts []string
	sawSVG := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not XML: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			sawSVG = sawSVG || el.Name.Local == "svg"
		case xml.CharData:
			texts = append(texts, string(el))
		}
	}
	if !sawSVG {
		t.Fatal("no svg element")
	}
	return strings.Join(texts, "\n")
}

// TestMesactlPlot draws each figure of a short run against a real
// coordinator, and the lineage figure of its fittest flagged planner or
// the error saying it has none.
func TestMesactlPlot(t *testing.T) {
	addr := startCoordinator(t)
	dir := t.TempDir()
	exp := filepath.Join(dir, "exp.yaml")
	writeFile(t, exp, "name: plot\ngenerations: 3\npopulation: 10\nelites: 1\nepisodes: 2\nanalysis_episodes: 2\n")
	out, errOut, code := mesactl(t, "--coordinator", addr, "run", "submit", "-f", exp)
	if code != 0 {
		t.Fatalf("submit: %d %s", code, errOut)
	}
	id := strings.TrimSpace(out)
	if _, errOut, code = mesactl(t, "--coordinator", addr, "run", "watch", id); code != 0 {
		t.Fatalf("watch: %d %s", code, errOut)
	}
	for what, want := range map[string][]string{
		"fitness": {"run " + id, "best fitness", "mean fitness", "mean train base", "mean shifted base", "generation"},
		"classes": {"run " + id, "robustly aligned", "pseudo-aligned", "capability failure", "misaligned", "shifted"},
		"horizon": {"run " + id, "median horizon", "planner share"},
	} {
		file := filepath.Join(dir, what+".svg")
		if _, errOut, code := mesactl(t, "--coordinator", addr, "plot", id, "--what", what, "--file", file); code != 0 {
			t.Fatalf("plot --what %s: %d %s", what, code, errOut)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		texts := svgTexts(t, b)
		for _, w := range want {
			if !strings.Contains(texts, w) {
				t.Errorf("plot --what %s: no text %q in\n%s", what, w, texts)
			}
		}
	}
	file := filepath.Join(dir, "fitness.png")
	if _, errOut, code := mesactl(t, "--coordinator", addr, "plot", id, "-f", file); code != 0 {
		t.Fatalf("plot -f fitness.png: %d %s", code, errOut)
	}
	if b, err := os.ReadFile(file); err != nil {
		t.Fatal(err)
	} else if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		t.Fatalf("fitness.png: %v", err)
	}

	out, _, _ = mesactl(t, "--coordinator", addr, "flagged", id, "--kind", "planner", "-o", "json")
	var flagged struct {
		Individuals []json.RawMessage `json:"individuals"`
	}
	if err := json.Unmarshal([]byte(out), &flagged); err != nil {
		t.Fatalf("flagged -o json: %v\n%s", err, out)
	}
	file = filepath.Join(dir, "lineage.svg")
	_, errOut, code = mesactl(t, "--coordinator", addr, "plot", id, "--what", "lineage", "--file", file)
	if len(flagged.Individuals) == 0 {
		if code != 1 || !strings.Contains(errOut, "has no flagged planner in its last generation") {
			t.Fatalf("plot --what lineage without a flagged planner: %d %s", code, errOut)
		}
		if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a file was written: %v", err)
		}
	} else {
		b, err := os.ReadFile(file)
		if code != 0 || err != nil {
			t.Fatalf("plot --what lineage: %d %s %v", code, errOut, err)
		}
		if texts := svgTexts(t, b); !strings.Contains(texts, "line of descent of #") || !strings.Contains(texts, "agreement") {
			t.Errorf("lineage figure texts:\n%s", texts)
		}
	}
	t.Logf("%d flagged planners in the last generation", len(flagged.Individuals))

	// Without planners nothing is flagged: exit 1, no file.
	writeFile(t, exp, "name: heuristics\ngenerations: 2\npopulation: 6\nelites: 1\nepisodes: 2\nanalysis_episodes: 2\ninitial_planner_share: 0\nkind_switch_rate: 0\n")
	out, errOut, code = mesactl(t, "--coordinator", addr, "run", "submit", "-f", exp)
	if code != 0 {
		t.Fatalf("submit without planners: %d %s", code, errOut)
	}
	plain := strings.TrimSpace(out)
	if _, errOut, code = mesactl(t, "--coordinator", addr, "run", "watch", plain); code != 0 {
		t.Fatalf("watch: %d %s", code, errOut)
	}
	file = filepath.Join(dir, "none.svg")
	_, errOut, code = mesactl(t, "--coordinator", addr, "plot", plain, "--what", "lineage", "--file", file)
	if code != 1 || !strings.Contains(errOut, "run "+plain+" has no flagged planner in its last generation") {
		t.Fatalf("plot --what lineage without a flagged planner: %d %s", code, errOut)
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file was written: %v", err)
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"plot", id, "--file", filepath.Join(dir, "out.jpg")}, 2, `--file "` + filepath.Join(dir, "out.jpg") + `", allowed a path ending in .svg, .png or .pdf`},
		{[]string{"plot", id}, 2, "--file is required"},
		{[]string{"plot", id, "--what", "pie", "-f", "x.svg"}, 2, `--what "pie", allowed fitness, classes, horizon or lineage`},
		{[]string{"plot", id, "-o", "json", "-f", "x.svg"}, 2, "takes no -o"},
		{[]string{"plot", id, "--group", "all", "-f", filepath.Join(dir, "g.svg")}, 2, "--group \"all\" applies to a sweep id"},
		{[]string{"plot", "nosuch", "-f", filepath.Join(dir, "n.svg")}, 1, `no run or sweep "nosuch"`},
	} {
		_, errOut, code := mesactl(t, append([]string{"--coordinator", addr}, tc.args...)...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: %d %q, want %d and %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}

// TestLineageCharts: the line of descent is drawn oldest first, a series
// per condition, the drift origin marked and quarantined ancestors left out.
func TestLineageCharts(t *testing.T) {
	score := func(c string, a, b float64) *pb.ConditionScore {
		return &pb.ConditionScore{Condition: c, Agreement: a, Base: b}
	}
	line := []*pb.Individual{ // newest first, as GetLineOfDescent gives it
		{Id: 30, Generation: 2, Train: score("train", 0.9, 0.95), Shifted: []*pb.ConditionScore{score("shifted", 0.1, 0.2)}},
		{Id: 20, Generation: 1, Failure: "worker failed"},
		{Id: 10, Generation: 0, Train: score("train", 0.8, 0.9), Shifted: []*pb.ConditionScore{score("shifted", 0.7, 0.8)}},
	}
	charts := figures.Lineage("run r (seed 1): line of descent of #30", line, &pb.DriftOrigin{Ancestor: line[0]})
	if len(charts) != 2 {
		t.Fatalf("%d charts, want agreement and base", len(charts))
	}
	agreement := charts[0].(plot.Lines)
	if len(agreement.Series) != 2 || agreement.Series[0].Name != "train" || agreement.Series[1].Name != "shifted" {
		t.Fatalf("series %+v", agreement.Series)
	}
	if s := agreement.Series[1]; len(s.X) != 2 || s.X[0] != 1 || s.X[1] != 3 || s.Y[0] != 0.7 || s.Y[1] != 0.1 {
		t.Errorf("shifted agreement %v at %v, want [0.7 0.1] at [1 3]", s.Y, s.X)
	}
	if m := agreement.Marks; len(m) != 1 || m[0].X != 3 || m[0].Label != "drift origin #30" {
		t.Errorf("marks %+v", m)
	}
	b, err := plot.Render(plot.SVG, charts...)
	if err != nil {
		t.Fatal(err)
	}
	if texts := svgTexts(t, b); !strings.Contains(texts, "drift origin #30") {
		t.Errorf("no drift origin label in\n%s", texts)
	}
}

// TestMesactlPlotSweep draws a sweep's aggregated figures, with bands and
// error bars, for its first group and a named one.
func TestMesactlPlotSweep(t *testing.T) {
	addr := startCoordinator(t)
	dir := t.TempDir()
	exp := filepath.Join(dir, "exp.yaml")
	writeFile(t, exp, "name: plotsw\ngenerations: 3\npopulation: 10\nelites: 1\nepisodes: 2\nanalysis_episodes: 2\n")
	out, errOut, code := mesactl(t, "--coordinator", addr, "sweep", "submit", "-f", exp, "--seeds", "1-2", "--set", "selection.shifted=0,0.1")
	if code != 0 {
		t.Fatalf("sweep submit: %d %s", code, errOut)
	}
	id := strings.TrimSuffix(strings.Fields(out)[1], ":") // "sweep ID: 4 runs"
	if _, errOut, code = mesactl(t, "--coordinator", addr, "sweep", "watch", id); code != 0 {
		t.Fatalf("sweep watch: %d %s", code, errOut)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--what", "fitness"}, []string{"sweep " + id + ", selection.shifted=0 (2 runs)", "95 % bootstrap interval", "best fitness", "mean shifted base"}},
		{[]string{"--what", "horizon", "--group", "selection.shifted=0.1"}, []string{"selection.shifted=0.1 (2 runs)", "median horizon", "planner share"}},
		{[]string{"--what", "classes"}, []string{"last generation", "robustly aligned", "misaligned", "shifted"}},
	} {
		file := filepath.Join(dir, "sweep.svg")
		args := append([]string{"--coordinator", addr, "plot", id, "--file", file}, tc.args...)
		if _, errOut, code := mesactl(t, args...); code != 0 {
			t.Fatalf("%v: %d %s", tc.args, code, errOut)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		texts := svgTexts(t, b)
		for _, w := range tc.want {
			if !strings.Contains(texts, w) {
				t.Errorf("%v: no text %q in\n%s", tc.args, w, texts)
			}
		}
	}
	_, errOut, code = mesactl(t, "--coordinator", addr, "plot", id, "--what", "lineage", "-f", filepath.Join(dir, "l.svg"))
	if code != 2 || !strings.Contains(errOut, "--what lineage takes a run id") {
		t.Errorf("lineage of a sweep: %d %s", code, errOut)
	}
	_, errOut, code = mesactl(t, "--coordinator", addr, "plot", id, "--group", "nosuch", "-f", filepath.Join(dir, "g.svg"))
	if code != 2 || !strings.Contains(errOut, `--group "nosuch", allowed selection.shifted=0 or selection.shifted=0.1`) {
		t.Errorf("unknown group: %d %s", code, errOut)
	}
}
