package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUsageErrorsBeforeConnecting checks that mistakes in flags and
// arguments exit 2 with their own message even when no coordinator
// answers: they are vetted before mesactl connects.
func TestUsageErrorsBeforeConnecting(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"runs", "-o", "xml"}, "-o \"xml\", allowed table, json or yaml"},
		{[]string{"runs", "-o", "csv"}, `-o "csv": mesactl runs has no CSV output (mesactl stats has), allowed table, json or yaml`},
		{[]string{"run", "watch", "r", "-o", "yaml"}, `-o "yaml", allowed table or json`},
		{[]string{"workers", "-o", "csv"}, `allowed table, wide, json or yaml`},
		{[]string{"run", "show", "r", "-o", "csv"}, `mesactl run show has no CSV output`},
		{[]string{"stats", "r", "-o", "yaml"}, `-o "yaml", allowed table, json or csv`},
		{[]string{"export", "r", "-o", "json"}, `-o "json": mesactl export takes no -o, allowed --format alife, newick or dot`},
		{[]string{"runs", "--timeout", "0s"}, "--timeout 0s, allowed a positive duration"},
		{[]string{"flagged", "r", "--kind", "robot"}, `--kind "robot", allowed planner or heuristic`},
		{[]string{"flagged", "r", "--class", "sneaky"}, `--class "sneaky", allowed robustly-aligned`},
		{[]string{"flagged", "r", "--page-size", "0"}, "--page-size = 0, allowed 1..1000"},
		{[]string{"flagged", "r", "--generation", "-3"}, "--generation = -3, allowed a generation number ≥ 0"},
		{[]string{"descendants", "r", "1", "--depth", "0"}, "--depth = 0, allowed 1..1000"},
		{[]string{"descendants", "r", "1", "--limit", "20000"}, "--limit = 20000, allowed 1..10000"},
		{[]string{"descendants", "r", "one"}, `individual id "one", allowed a non-negative integer`},
		{[]string{"lineage", "r", "-"}, `individual id "-", allowed a non-negative integer`},
		{[]string{"mrca", "r", "1", "2x"}, `individual id "2x"`},
		{[]string{"stats", "r", "--from", "-2"}, "--from = -2, allowed a generation number ≥ 0"},
		{[]string{"export", "r", "--format", "svg"}, `--format "svg", allowed alife, newick or dot`},
		{[]string{"export", "r", "--format", "newick", "--full"}, `--full applies to --format dot only, not "newick"`},
		{[]string{"run", "fork", "r"}, "--generation is required"},
		{[]string{"run", "submit", "-f", missing}, missing},
		{[]string{"run", "submit", "-f", "/dev/zero"}, "larger than the 1048576 bytes"},
	}
	nowhere := freeAddr(t)
	for _, tc := range tests {
		if tc.args[len(tc.args)-1] == "/dev/zero" {
			if _, err := os.Stat("/dev/zero"); err != nil {
				continue
			}
		}
		_, errOut, code := mesactl(t, append([]string{"--coordinator", nowhere, "--timeout", "1s"}, tc.args...)...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("mesactl %v: exit %d %q, want 2 containing %q", tc.args, code, errOut, tc.want)
		}
	}
}

// Malformed addresses are usage mistakes too: refused at once, before a
// dial that would wait out the timeout.
func TestBadAddressesExitTwo(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--coordinator", "bogus", "runs"}, `--coordinator "bogus"`},
		{[]string{"--coordinator", "", "runs"}, `--coordinator ""`},
		{[]string{"--coordinator", ":::", "runs"}, `--coordinator ":::"`},
		{[]string{"--coordinator", "127.0.0.1:99999", "runs"}, `port "99999" is not 1..65535`},
		{[]string{"--coordinator", ":7070", "runs"}, "no host"},
		{[]string{"--etcd", "bogus", "runs"}, `--etcd "bogus"`},
		{[]string{"--etcd", "", "runs"}, "--etcd is empty"},
		{[]string{"--etcd", "http://127.0.0.1:2379,nope", "runs"}, `--etcd "http://127.0.0.1:2379,nope"`},
	} {
		_, errOut, code := mesactl(t, tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("mesactl %v: exit %d %q, want 2 containing %q", tc.args, code, errOut, tc.want)
		}
	}
}
