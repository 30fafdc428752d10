package main

import (
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestMesactlSweep: submit a sweep of 2 seeds × 2 values, watch it to the
// end, list it, show its aggregates as a table, CSV and complete JSON,
// and cancel and resume it once it has ended.
func TestMesactlSweep(t *testing.T) {
	addr := startCoordinator(t)
	exp := filepath.Join(t.TempDir(), "exp.yaml")
	writeFile(t, exp, "name: sw\ngenerations: 3\npopulation: 10\nelites: 1\nepisodes: 2\nanalysis_episodes: 2\n")
	out, errOut, code := mesactl(t, "--coordinator", addr, "sweep", "submit", "-f", exp, "--seeds", "1-2", "--set", "selection.shifted=0,0.1")
	if code != 0 {
		t.Fatalf("sweep submit: %d %s", code, errOut)
	}
	m := regexp.MustCompile(`(?m)^sweep (\S+): 4 runs$`).FindStringSubmatch(out)
	if m == nil || strings.Count(out, "\n") != 6 {
		t.Fatalf("sweep submit output:\n%s", out)
	}
	id := m[1]
	out, errOut, code = mesactl(t, "--coordinator", addr, "sweep", "watch", id)
	// A watch shows what happens after it attached (nothing is replayed),
	// and this sweep may be half done by then: at most every generation.
	if code != 0 || strings.Count(out, "| sweep ") > 12 || strings.Count(out, " succeeded\n") > 5 {
		t.Fatalf("sweep watch: %d %s\n%s", code, errOut, out)
	}
	if !strings.Contains(out, "sweep "+id+" succeeded, 4/4 runs succeeded, 12/12 generations\n") {
		t.Fatalf("sweep watch has no final line:\n%s", out)
	}
	// Watching an ended sweep replays nothing: it says how it ended.
	out, _, code = mesactl(t, "--coordinator", addr, "sweep", "watch", id)
	if code != 0 || out != "sweep "+id+" succeeded, 4/4 runs succeeded, 12/12 generations\n" {
		t.Fatalf("sweep watch of an ended sweep: %d\n%s", code, out)
	}
	out, _, code = mesactl(t, "--coordinator", addr, "sweep", "list")
	if code != 0 || !strings.Contains(out, id+"  succeeded  4/4") {
		t.Fatalf("sweep list: %d\n%s", code, out)
	}
	out, _, code = mesactl(t, "--coordinator", addr, "sweep", "show", id)
	for _, want := range []string{"4 runs; figures are mean [95 % bootstrap interval]", "selection.shifted=0 (marginal): 2 runs", "selection.shifted=0.1 (marginal): 2 runs", "ROBUST %", "exit_reached"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("sweep show lacks %q: %d\n%s", want, code, out)
		}
	}
	out, _, code = mesactl(t, "--coordinator", addr, "sweep", "show", id, "-o", "csv")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || code != 0 || len(rows) < 20 || strings.Join(rows[0], ",") != "group,parameters,metric,condition,feature,generation,mean,lo,hi,n" {
		t.Fatalf("sweep show -o csv: %v %d\n%s", err, code, out)
	}
	out, _, code = mesactl(t, "--coordinator", addr, "sweep", "show", id, "-o", "json")
	var doc struct {
		Groups []struct {
			Name    string           `json:"name"`
			Missing *int             `json:"missing"`
			Curves  []map[string]any `json:"curves"`
		} `json:"groups"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 || len(doc.Groups) != 2 || doc.Groups[0].Missing == nil || len(doc.Groups[0].Curves) != 3 {
		t.Fatalf("sweep show -o json: %v %d\n%s", err, code, out)
	}
	out, _, code = mesactl(t, "--coordinator", addr, "sweep", "cancel", id)
	if code != 0 || !strings.Contains(out, "no run was running; nothing cancelled") {
		t.Fatalf("sweep cancel of an ended sweep: %d %s", code, out)
	}
	out, _, code = mesactl(t, "--coordinator", addr, "sweep", "resume", id)
	if code != 0 || !strings.Contains(out, "nothing resumed") {
		t.Fatalf("sweep resume of a succeeded sweep: %d %s", code, out)
	}
	_, errOut, code = mesactl(t, "--coordinator", addr, "sweep", "show", "nosuch")
	if code != 1 || !strings.Contains(errOut, "nosuch") {
		t.Fatalf("unknown sweep: %d %s", code, errOut)
	}
	_, errOut, code = mesactl(t, "--coordinator", addr, "sweep", "submit", "-f", exp, "--seeds", "3-1")
	if code != 2 || !strings.Contains(errOut, `sweep.seeds = "3-1"`) {
		t.Fatalf("bad seeds: %d %s", code, errOut)
	}
	_, errOut, code = mesactl(t, "--coordinator", addr, "sweep", "submit", "-f", exp)
	if code != 2 || !strings.Contains(errOut, "has no sweep") {
		t.Fatalf("no sweep: %d %s", code, errOut)
	}
}
