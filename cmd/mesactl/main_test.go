package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mesaopt/mesaopt/coordinator"
	"github.com/mesaopt/mesaopt/internal/testenv"
	"github.com/mesaopt/mesaopt/lineage"
	"github.com/mesaopt/mesaopt/worker"
)

func freeAddr(t *testing.T) string { return testenv.FreeAddr(t, "127.0.0.1") }

// startCoordinator serves a coordinator (in-process evaluation) over real
// gRPC on loopback with an embedded etcd.
func startCoordinator(t *testing.T) string {
	addr, _ := startCoordinatorEtcd(t)
	return addr
}

// startCoordinatorEtcd is startCoordinator that also returns the etcd endpoint.
func startCoordinatorEtcd(t *testing.T) (string, string) {
	t.Helper()
	c, endpoint := startCoordinatorWith(t, func(cfg *coordinator.Config) { cfg.Evaluator = worker.NewEngine(2) })
	return c.GRPCAddr(), endpoint
}

// startCoordinatorWith starts a leading coordinator over TLS on a fresh
// etcd, its config changed by change, and returns it with the etcd
// endpoint; it is shut down when the test ends.
func startCoordinatorWith(t *testing.T, change func(*coordinator.Config)) (*coordinator.Coordinator, string) {
	t.Helper()
	srv := testenv.Etcd(t, 0)
	cli := testenv.Client(t, srv.Endpoints()...)
	cfg := coordinator.DefaultConfig()
	cfg.Etcd = cli
	cfg.TLS = coordinatorIdentity(t)
	change(&cfg)
	c, err := coordinator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Shutdown(ctx)
	})
	return c, srv.Endpoints()[0]
}

func mesactl(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := run(ctx, args, &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestMesactlAgainstCoordinator(t *testing.T) {
	addr := startCoordinator(t)
	exp := filepath.Join(t.TempDir(), "exp.yaml")
	writeFile(t, exp, "name: ctl\ngenerations: 3\npopulation: 10\nelites: 1\nepisodes: 2\nanalysis_episodes: 2\n")
	out, errOut, code := mesactl(t, "--coordinator", addr, "run", "submit", "-f", exp)
	if code != 0 {
		t.Fatalf("submit: %d %s", code, errOut)
	}
	id := strings.TrimSpace(out)
	out, errOut, code = mesactl(t, "--coordinator", addr, "run", "watch", id)
	if code != 0 || !strings.Contains(out, "gen   3/3") || !strings.Contains(out, "run succeeded") {
		t.Fatalf("watch: %d %q %s", code, out, errOut)
	}
	out, _, code = mesactl(t, "--coordinator", addr, "runs")
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "succeeded") {
		t.Fatalf("runs: %d %s", code, out)
	}
	out, _, code = mesactl(t, "--coordinator", addr, "run", "show", id, "-o", "json")
	var shown struct {
		RunID     string `json:"run_id"`
		Summaries []struct {
			Digest string `json:"digest"`
		} `json:"summaries"`
		Report struct {
			Best []struct {
				ID string `json:"id"`
			} `json:"best"`
		} `json:"report"`
	}
	if err := json.Unmarshal([]byte(out), &shown); err != nil || code != 0 {
		t.Fatalf("run show -o json: %v %d\n%s", err, code, out)
	}
	if shown.RunID != id || len(shown.Summaries) != 3 || len(shown.Summaries[2].Digest) != 64 || len(shown.Report.Best) == 0 {
		t.Fatalf("run show json incomplete: %+v", shown)
	}
	best := shown.Report.Best[0].ID
	out, _, code = mesactl(t, "--coordinator", addr, "lineage", id, best)
	if code != 0 || !strings.Contains(out, "Line of descent of #"+best) {
		t.Fatalf("lineage: %d %s", code, out)
	}
	out, _, code = mesactl(t, "--coordinator", addr, "lineage", id, best, "-o", "json")
	var doc struct {
		Line   json.RawMessage `json:"line_of_descent"`
		Origin json.RawMessage `json:"drift_origin"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 || len(doc.Line) == 0 {
		t.Fatalf("lineage -o json is not one JSON document: %v\n%s", err, out)
	}
	if _, _, code = mesactl(t, "--coordinator", addr, "flagged", id); code != 0 {
		t.Fatalf("flagged: %d", code)
	}
	if _, errOut, code = mesactl(t, "--coordinator", addr, "flagged", id, "--kind", "planner", "--condition", "shifted", "--from", "0"); code != 0 {
		t.Fatalf("flagged with filters: %d %s", code, errOut)
	}
	out, errOut, code = mesactl(t, "--coordinator", addr, "stats", id)
	if code != 0 || !strings.Contains(out, "MRCA DEPTH") || strings.Count(out, "\n") != 4 {
		t.Fatalf("stats: %d %q %s", code, out, errOut)
	}
	out, errOut, code = mesactl(t, "--coordinator", addr, "stats", id, "-o", "json")
	var stats struct {
		Stats []map[string]any `json:"stats"`
	}
	if err := json.Unmarshal([]byte(out), &stats); err != nil || code != 0 || len(stats.Stats) != 3 {
		t.Fatalf("stats -o json: %v %d %q %s", err, code, out, errOut)
	}
	if g, ok := stats.Stats[0]["generation"]; !ok || g != 0.0 {
		t.Errorf("stats -o json: generation 0 is %v (present %v)", g, ok)
	}
	if _, ok := stats.Stats[0]["mrca_depth"]; !ok {
		t.Errorf("stats -o json: generation 0 has no mrca_depth: %v", stats.Stats[0])
	}
	out, errOut, code = mesactl(t, "--coordinator", addr, "stats", id, "-o", "csv")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || code != 0 || len(rows) != 4 || rows[0][0] != "generation" || rows[1][0] != "0" || rows[3][0] != "2" {
		t.Fatalf("stats -o csv: %v %d %q %s", err, code, out, errOut)
	}
	for _, want := range []string{"shifted.pseudo_aligned", "blue-doors.mean_exit_reached", "horizon_16", "lineage.mrca_depth"} {
		if !slices.Contains(rows[0], want) {
			t.Errorf("stats -o csv: no column %q in %v", want, rows[0])
		}
	}
	if out, errOut, code = mesactl(t, "--coordinator", addr, "stats", id, "-o", "csv", "--watch", "--from", "1"); code != 0 || strings.Count(out, "\n") != 3 {
		t.Fatalf("stats -o csv --watch --from 1: %d %q %s", code, out, errOut)
	}
	out, errOut, code = mesactl(t, "--coordinator", addr, "stats", id, "--watch")
	if code != 0 || strings.Count(out, "MRCA DEPTH") != 3 {
		t.Fatalf("stats --watch: %d %q %s", code, out, errOut)
	}
	out, errOut, code = mesactl(t, "--coordinator", addr, "export", id, "--format", "alife")
	if code != 0 || !strings.HasPrefix(out, "id,ancestor_list,origin_time,") {
		t.Fatalf("export alife: %d %q %s", code, out, errOut)
	}
	tree := lineage.NewStore()
	if err := lineage.ReadALife(strings.NewReader(out), tree.Add); err != nil {
		t.Fatalf("exported CSV: %v", err)
	}
	var last []string
	for _, r := range tree.Generation(2) {
		last = append(last, strconv.FormatUint(r.ID, 10))
	}
	file := filepath.Join(t.TempDir(), "tree.nwk")
	if _, errOut, code = mesactl(t, "--coordinator", addr, "export", id, "--format", "newick", "-f", file); code != 0 {
		t.Fatalf("export newick: %d %s", code, errOut)
	}
	if b, err := os.ReadFile(file); err != nil || !strings.HasSuffix(string(b), ";\n") {
		t.Fatalf("newick file: %q %v", b, err)
	}
	out, errOut, code = mesactl(t, append([]string{"--coordinator", addr, "mrca", id}, last...)...)
	if code != 0 || !(strings.Contains(out, "MRCA #") || strings.Contains(out, "No common ancestor")) {
		t.Fatalf("mrca: %d %q %s", code, out, errOut)
	}
	root := strconv.FormatUint(tree.Records()[0].ID, 10)
	if out, errOut, code = mesactl(t, "--coordinator", addr, "descendants", id, root, "--depth", "3"); code != 0 || !strings.Contains(out, "ID") {
		t.Fatalf("descendants: %d %q %s", code, out, errOut)
	}

	out, errOut, code = mesactl(t, "--coordinator", addr, "sensitivity", id)
	// Four competence_high rows per shifted condition, each condition with
	// one "(as run)" row (the door maze's three, shifted_conditions being
	// left out).
	if conds := strings.Count(out, "(as run)"); code != 0 || !strings.Contains(out, "Generation 2 of ") || conds != 3 || strings.Count(out, "competence_high") != 4*conds {
		t.Fatalf("sensitivity: %d %q %s", code, out, errOut)
	}
	if out, errOut, code = mesactl(t, "--coordinator", addr, "sensitivity", id, "--generation", "0"); code != 0 || !strings.Contains(out, "Generation 0 of ") {
		t.Fatalf("sensitivity --generation 0: %d %q %s", code, out, errOut)
	}

	// Bad input: clear messages and exit codes.
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"lineage", id, "999999"}, 1, "NotFound"},
		{[]string{"lineage", "no-such-run", "1"}, 1, `run "no-such-run"`},
		{[]string{"lineage", id, "x"}, 2, `individual id "x"`},
		{[]string{"flagged", id, "--page-size", "5000"}, 2, "--page-size = 5000, allowed 1..1000"},
		{[]string{"run", "show", "no-such-run"}, 1, "NotFound"},
		{[]string{"runs", "-o", "xml"}, 2, "allowed table, json or yaml"},
		{[]string{"flagged", id, "--generation", "400"}, 2, "generation = 400, allowed 0..2"},
		{[]string{"flagged", id, "--generation", "-3"}, 2, "--generation = -3"},
		{[]string{"lineage", id}, 2, "accepts 2 arg"},
		{[]string{"flagged", id, "--condition", "dark"}, 2, `condition = "dark"`},
		{[]string{"flagged", id, "--from", "2", "--to", "1"}, 2, "min_generation = 2"},
		{[]string{"flagged", id, "--kind", "robot"}, 2, `--kind "robot"`},
		{[]string{"flagged", id, "--class", "sneaky"}, 2, `--class "sneaky"`},
		{[]string{"mrca", id, "1", "99999"}, 1, "NotFound"},
		{[]string{"mrca", "no-such-run", "1", "2"}, 1, "NotFound"},
		{[]string{"stats", "no-such-run"}, 1, "NotFound"},
		{[]string{"export", id, "--format", "svg"}, 2, `--format "svg"`},
		{[]string{"export", "no-such-run"}, 1, "NotFound"},
		{[]string{"descendants", id, "0", "--depth", "5000"}, 2, "--depth = 5000, allowed 1..1000"},
		{[]string{"sensitivity", id, "--generation", "9"}, 2, "generation = 9, allowed 0..2"},
		{[]string{"sensitivity", "no-such-run"}, 1, "NotFound"},
	}
	for _, tc := range tests {
		_, errOut, code := mesactl(t, append([]string{"--coordinator", addr}, tc.args...)...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("mesactl %v: exit %d %q, want %d containing %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	writeFile(t, bad, "population: 0\n")
	if _, errOut, code := mesactl(t, "--coordinator", addr, "run", "submit", "-f", bad); code != 2 || !strings.Contains(errOut, "population = 0") {
		t.Errorf("bad experiment: exit %d %q", code, errOut)
	}
}

// TestMesactlWrongAddress: a refused connection fails at once, whatever
// --timeout, with a message saying nothing listens there; one among
// several addresses does not delay the others.
func TestMesactlWrongAddress(t *testing.T) {
	for _, addrs := range []string{freeAddr(t), freeAddr(t) + "," + freeAddr(t)} {
		start := time.Now()
		_, errOut, code := mesactl(t, "--coordinator", addrs, "--timeout", "30s", "runs")
		if took := time.Since(start); code != 1 || !strings.Contains(errOut, "no coordinator at") || !strings.Contains(errOut, "connection refused") || took > testenv.Patience(2*time.Second) {
			t.Fatalf("--coordinator %s: exit %d after %v: %s", addrs, code, took, errOut)
		}
	}
}

// TestMesactlSlowCoordinator: an address that accepts the connection but
// never answers gets the whole --timeout, not the refused connection's
// quick failure.
func TestMesactlSlowCoordinator(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lis.Close() })
	go func() { // accept and hold every connection, saying nothing
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			conn, err := lis.Accept()
			if err != nil {
				return
			}
			held = append(held, conn)
		}
	}()
	const timeout = time.Second
	start := time.Now()
	_, errOut, code := mesactl(t, "--coordinator", lis.Addr().String(), "--timeout", timeout.String(), "runs")
	if took := time.Since(start); code != 1 || !strings.Contains(errOut, "no coordinator answering at") || took < timeout {
		t.Fatalf("exit %d after %v (want the whole %v): %s", code, took, timeout, errOut)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestMesactlEtcdResumeFork finds the leader through etcd, extends a run
// with a safe override, refuses an unsafe one, and forks it.
func TestMesactlEtcdResumeFork(t *testing.T) {
	_, endpoint := startCoordinatorEtcd(t)
	exp := filepath.Join(t.TempDir(), "exp.yaml")
	writeFile(t, exp, "name: ctl\ngenerations: 3\npopulation: 10\nelites: 1\nepisodes: 2\nanalysis_episodes: 2\n")
	out, errOut, code := mesactl(t, "--etcd", endpoint, "run", "submit", "-f", exp)
	if code != 0 {
		t.Fatalf("submit through --etcd: %d %s", code, errOut)
	}
	id := strings.TrimSpace(out)
	if _, errOut, code = mesactl(t, "--etcd", endpoint, "run", "watch", id); code != 0 {
		t.Fatalf("watch: %s", errOut)
	}
	if _, errOut, code = mesactl(t, "--etcd", endpoint, "run", "resume", id, "--set", "population=20"); code == 0 || !strings.Contains(errOut, "cannot change on resume") {
		t.Fatalf("unsafe override: %d %s", code, errOut)
	}
	if _, errOut, code = mesactl(t, "--etcd", endpoint, "run", "resume", id, "--set", "generations=5"); code != 0 {
		t.Fatalf("resume --set generations=5: %s", errOut)
	}
	out, _, _ = mesactl(t, "--etcd", endpoint, "run", "watch", id)
	if !strings.Contains(out, "run succeeded") {
		t.Fatalf("extended run did not finish:\n%s", out)
	}
	// The statistics CSV is determined by the spec and seed: the run
	// extended by a resume equals one that ran its 5 generations at once.
	writeFile(t, exp, "name: ctl\ngenerations: 5\npopulation: 10\nelites: 1\nepisodes: 2\nanalysis_episodes: 2\n")
	out, errOut, code = mesactl(t, "--etcd", endpoint, "run", "submit", "-f", exp)
	if code != 0 {
		t.Fatalf("submit: %s", errOut)
	}
	whole := strings.TrimSpace(out)
	if _, errOut, code = mesactl(t, "--etcd", endpoint, "run", "watch", whole); code != 0 {
		t.Fatalf("watch: %s", errOut)
	}
	resumedCSV, errOut, code := mesactl(t, "--etcd", endpoint, "stats", id, "-o", "csv")
	wholeCSV, errOut2, code2 := mesactl(t, "--etcd", endpoint, "stats", whole, "-o", "csv")
	if code != 0 || code2 != 0 || strings.Count(wholeCSV, "\n") != 6 || resumedCSV != wholeCSV {
		t.Fatalf("stats -o csv of the resumed run differs from the uninterrupted one (%d %s %d %s):\n%s\n%s", code, errOut, code2, errOut2, resumedCSV, wholeCSV)
	}
	out, errOut, code = mesactl(t, "--etcd", endpoint, "run", "fork", id, "--generation", "1", "--set", "environment.red_objects=4")
	if code != 0 {
		t.Fatalf("fork: %s", errOut)
	}
	child := strings.TrimSpace(out)
	out, errOut, _ = mesactl(t, "--etcd", endpoint, "run", "watch", child)
	if !strings.Contains(out, "run succeeded") {
		t.Fatalf("fork did not finish:\n%s%s", out, errOut)
	}
	if _, errOut, code = mesactl(t, "--etcd", endpoint, "run", "fork", id, "--generation", "99"); code == 0 || !strings.Contains(errOut, "generation") {
		t.Fatalf("fork past the end: %d %s", code, errOut)
	}
	if _, errOut, code = mesactl(t, "--etcd", freeAddr(t), "--timeout", "1s", "runs"); code == 0 || !strings.Contains(errOut, "finding the leader through etcd") {
		t.Fatalf("wrong etcd: %d %s", code, errOut)
	}
}
