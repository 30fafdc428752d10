package sweep_test

import (
	"bytes"
	"encoding/csv"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/mesaopt/mesaopt/sweep"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (go test -update rewrites it, then review the diff):\n%s", path, got)
	}
}

func TestWriteCSVGolden(t *testing.T) {
	params, runs := fixture()
	var buf bytes.Buffer
	if err := sweep.Aggregate(params, runs).WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	golden(t, "fixture.csv.golden", buf.Bytes())
}

func TestWriteTableGolden(t *testing.T) {
	params, runs := fixture()
	var buf bytes.Buffer
	if err := sweep.Aggregate(params, runs).WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	golden(t, "fixture.table.golden", buf.Bytes())
}

func TestWriteCSVRows(t *testing.T) {
	params, runs := fixture()
	var buf bytes.Buffer
	if err := sweep.Aggregate(params, runs).WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := []string{"group", "parameters", "metric", "condition", "feature", "generation", "mean", "lo", "hi", "n"}
	if len(rows) == 0 || !equal(rows[0], header) {
		t.Fatalf("header %v, want %v", rows[0], header)
	}
	find := func(params, metric, condition, feature, generation string) []string {
		t.Helper()
		for _, r := range rows[1:] {
			if r[1] == params && r[2] == metric && r[3] == condition && r[4] == feature && r[5] == generation {
				return r
			}
		}
		t.Fatalf("no row %s %s %s %s %s", params, metric, condition, feature, generation)
		return nil
	}
	number := func(s string) float64 {
		t.Helper()
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	r := find("environment.red_objects=1", "robustly_aligned", "shifted", "", "")
	if r[0] != "marginal" || r[6] != "0.5" || number(r[7]) < 0.25 || number(r[8]) > 0.75 || r[9] != "3" {
		t.Errorf("robust share row %v, want mean 0.5 inside [0.25, 0.75] of 3 runs", r)
	}
	if r := find("environment.red_objects=3", "missing_runs", "", "", ""); r[6] != "1" || r[9] != "4" {
		t.Errorf("missing row %v, want 1 of 4", r)
	}
	if r := find("environment.red_objects=1", "mean_feature", "identity", "end_reached", ""); r[6] != "1" || r[7] != "1" || r[8] != "1" {
		t.Errorf("identity end_reached row %v, want 1 [1, 1]", r)
	}
	if r := find("environment.red_objects=3", "best_fitness", "", "", "1"); r[6] != "0.7" || r[9] != "2" {
		t.Errorf("generation 1 best fitness row %v, want 0.7 of 2 runs", r)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
