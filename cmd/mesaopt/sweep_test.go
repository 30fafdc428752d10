package main

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/mesaopt/mesaopt/internal/testenv"
)

var (
	sweepIDRE  = regexp.MustCompile(`(?m)^sweep (\S+): `)
	sweepRunRE = regexp.MustCompile(`(?m)^\S+-(\d+)\s+(\d+)\s+(\d+)\s+succeeded\s+\d+/\d+\s+([0-9a-f]{12})$`)
)

// sweepDigests returns the final digest of each run in a sweep's table
// (its first 12 hex digits), by seed and elites value.
func sweepDigests(t *testing.T, out string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, m := range sweepRunRE.FindAllStringSubmatch(out, -1) {
		got[m[2]+"/"+m[3]] = m[4]
	}
	return got
}

// TestSweepKillAndResume runs a sweep of 4 runs with `mesaopt run`, kills
// it with SIGKILL midway, resumes it with --resume SWEEP_ID and requires
// every run's final digest to equal the digest of that run alone.
func TestSweepKillAndResume(t *testing.T) {
	testenv.Heavy(t)
	const generations = 6
	exp := writeExperiment(t, generations)
	sweepArgs := []string{"-f", exp, "--seeds", "1-2", "--set", "elites=1,2", "--workers", "2"}
	n := newNode(t)
	id := killAt(t, n.args(sweepArgs...), sweepIDRE, func(line string) bool { return strings.Contains(line, "| sweep 9/24 generations") })

	out := runMesaopt(t, n.args("--resume", id, "--workers", "2")...)
	if !strings.Contains(out, "sweep "+id+": resumed") || !strings.Contains(out, "sweep "+id+" succeeded") {
		t.Fatalf("resume output:\n%s", out)
	}
	got := sweepDigests(t, out)
	if len(got) != 4 {
		t.Fatalf("%d finished runs in the table, want 4:\n%s", len(got), out)
	}
	for _, seed := range []string{"1", "2"} {
		for _, elites := range []string{"1", "2"} {
			solo := finalDigest(t, runMesaopt(t, newNode(t).args("-f", exp, "--set", "seed="+seed, "--set", "elites="+elites, "--workers", "1")...))
			if d := got[seed+"/"+elites]; d != solo[:12] {
				t.Fatalf("seed %s elites %s: digest after kill and resume in the sweep %s, alone %s\n%s", seed, elites, d, solo, out)
			}
		}
	}
}

// Bad sweeps exit 2 naming the field and what is allowed, before anything
// starts.
func TestBadSweepExitsTwo(t *testing.T) {
	exp := writeExperiment(t, 2)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--seeds", "5-1"}, `sweep.seeds = "5-1", allowed a non-empty range`},
		{[]string{"--seeds", "1-2", "--set", "nonsense=1,2"}, "unknown field nonsense, allowed in an experiment: "},
		{[]string{"--set", "selection={train: 0.5, shifted: 0.6},{train: 1}"}, "allowed weights summing to 1"},
		{[]string{"--set", "selection.elsewhere=0.1,0.2"}, "selection.elsewhere: unknown condition, allowed conditions of doors: train, shifted, blue-doors, red-objects"},
		{[]string{"--quick"}, "--quick shortens a sweep"},
	} {
		c := exec.Command(binary, newNode(t).args(append([]string{"-f", exp}, tc.args...)...)...)
		out, err := c.CombinedOutput()
		var ee *exec.ExitError
		if !errorsAs(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), tc.want) {
			t.Errorf("%v: exit %v, output:\n%s\nwant exit 2 saying %q", tc.args, err, out, tc.want)
		}
	}
}

func errorsAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}

// TestCoinRandomisationQuick runs the README's command for Langosco et
// al.'s experiment, quick variant: 4 fractions × 2 seeds, and checks the
// table reports, per fraction, the coin collected and the old end reached
// under the shift with intervals.
func TestCoinRandomisationQuick(t *testing.T) {
	testenv.Heavy(t)
	out := runMesaopt(t, newNode(t).args("-f", "../../experiments/coin-randomisation.yaml", "--quick", "--workers", "2")...)
	if !strings.Contains(out, "8 runs (seeds 1-2 × selection.shifted in [0, 0.02, 0.1, 0.3]), 10 generations of 48 each") ||
		!strings.Contains(out, "succeeded, 8/8 runs succeeded, 80/80 generations, after") {
		t.Fatalf("output:\n%s", out)
	}
	for _, f := range []string{"0", "0.02", "0.1", "0.3"} {
		i := strings.Index(out, "selection.shifted="+f+" (marginal): 2 runs")
		if i < 0 {
			t.Fatalf("no group for fraction %s:\n%s", f, out)
		}
		group := out[i:]
		if j := strings.Index(group, "\n\n"); j > 0 {
			group = group[:j]
		}
		for _, want := range []string{"ROBUST %", "shifted    2", "coin_collected", "end_reached"} {
			if !strings.Contains(group, want) {
				t.Fatalf("fraction %s lacks %q:\n%s", f, want, group)
			}
		}
	}
	if !strings.Contains(out, "warning: selection.shifted = 0.02 with 10 episodes per generation: 0.2 shifted episodes per generation") {
		t.Fatalf("no warning for the 2 %% fraction:\n%s", out)
	}
}
