package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mesaopt/mesaopt/internal/testenv"
)

// binary is the mesaopt executable built once for the process tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mesaopt-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "mesaopt")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build mesaopt: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freeAddr(t testing.TB) string { return testenv.FreeAddr(t, "127.0.0.1") }

// sessionTTL is the leadership session of the tests' coordinators, in
// seconds: short, so that failovers and resumes after kill -9 wait little,
// and long enough that a leader starved of CPU on a busy machine keeps it.
const sessionTTL = "5"

const tinyExperiment = `name: tiny
seed: 7
generations: %d
population: 12
elites: 2
episodes: 2
analysis_episodes: 2
batch_size: 3
`

// node is one machine's worth of mesaopt run settings: data and ports.
type node struct {
	data, etcdClient, etcdPeer, listen string
}

func newNode(t *testing.T) node {
	return node{data: t.TempDir(), etcdClient: freeAddr(t), etcdPeer: freeAddr(t), listen: freeAddr(t)}
}

func (n node) args(extra ...string) []string {
	return append([]string{"run", "--data", n.data, "--etcd-client", n.etcdClient, "--etcd-peer", n.etcdPeer,
		"--listen", n.listen, "--http-listen", "127.0.0.1:0", "--session-ttl", sessionTTL}, extra...)
}

func writeExperiment(t *testing.T, generations int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tiny.yaml")
	if err := os.WriteFile(p, []byte(fmt.Sprintf(tinyExperiment, generations)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

var (
	digestRE = regexp.MustCompile(`Final digest \(population \+ lineage\): ([0-9a-f]{64})`)
	runIDRE  = regexp.MustCompile(`(?m)^run (\S+):`)
)

// runMesaopt runs the binary to completion and returns its output. It
// fails the test when the process stops making progress: no output line
// for stallLimit (stretched by the machine's load), since a run prints one
// per generation.
func runMesaopt(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runProgressing(t, binary, args...)
	if err != nil {
		t.Fatalf("mesaopt %v: %v\n%s", args, err, out)
	}
	return out
}

// stallLimit is how long a process under test may print nothing before it
// is taken for hung: a generation of the tests' experiments takes well
// under a second on an idle machine.
const stallLimit = time.Minute

// runProgressing runs name with args, collecting stdout and stderr, and
// kills it when it printed nothing for Patience(stallLimit).
func runProgressing(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	var out strings.Builder
	lines := make(chan string)
	go func() {
		defer close(lines)
		s := bufio.NewScanner(r)
		s.Buffer(make([]byte, 64<<10), 16<<20)
		for s.Scan() {
			lines <- s.Text()
		}
	}()
	last := time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				r.Close()
				return out.String(), cmd.Wait()
			}
			out.WriteString(line + "\n")
			last = time.Now()
		case <-tick.C:
			if quiet := time.Since(last); quiet > testenv.Patience(stallLimit) {
				_ = cmd.Process.Kill()
				for line := range lines {
					out.WriteString(line + "\n")
				}
				r.Close()
				_ = cmd.Wait()
				return out.String(), fmt.Errorf("no output for %v (load factor %.1f): killed as hung", quiet.Round(time.Second), testenv.LoadFactor())
			}
		}
	}
}

func finalDigest(t *testing.T, out string) string {
	t.Helper()
	m := digestRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no final digest in output:\n%s", out)
	}
	return m[1]
}

// TestRunOneAndTwoWorkersIdentical runs the main job end to end (embedded
// etcd, coordinator, worker processes over gRPC and gossip) with 1 and with
// 2 workers and requires bitwise-identical results.
func TestRunOneAndTwoWorkersIdentical(t *testing.T) {
	exp := writeExperiment(t, 4)
	two := runMesaopt(t, newNode(t).args("-f", exp, "--workers", "2")...)
	for _, want := range []string{"gen   4/4", "succeeded after 4/4 generations", "Classification of the last generation", "Best individuals"} {
		if !strings.Contains(two, want) {
			t.Fatalf("output lacks %q:\n%s", want, two)
		}
	}
	one := runMesaopt(t, newNode(t).args("-f", exp, "--workers", "1")...)
	if a, b := finalDigest(t, one), finalDigest(t, two); a != b {
		t.Fatalf("1 worker: %s, 2 workers: %s", a, b)
	}
}

// TestKillAndResume kills `mesaopt run` with SIGKILL after a few
// generations, checks its workers go too, resumes the run from its etcd
// checkpoint and compares with an uninterrupted run.
func TestKillAndResume(t *testing.T) {
	testenv.Heavy(t)
	const generations = 8
	exp := writeExperiment(t, generations)
	want := finalDigest(t, runMesaopt(t, newNode(t).args("-f", exp, "--workers", "2")...))

	n := newNode(t)
	runID := killAt(t, n.args("-f", exp, "--workers", "2"), runIDRE, func(line string) bool { return strings.HasPrefix(line, "gen   3/") })

	out := runMesaopt(t, n.args("--resume", runID, "--workers", "2")...)
	if !strings.Contains(out, "resumed from its last checkpoint") {
		t.Fatalf("resume output:\n%s", out)
	}
	if got := finalDigest(t, out); got != want {
		t.Fatalf("resumed run digest %s, uninterrupted %s\n%s", got, want, out)
	}
	if !strings.Contains(out, fmt.Sprintf("succeeded after %d/%d generations", generations, generations)) {
		t.Fatalf("resumed run did not finish all generations:\n%s", out)
	}
}

// killAt starts mesaopt with args, reads its output until stop holds for
// a line, SIGKILLs it and waits until none of its workers outlives it by
// more than a few seconds (the kernel signals them; they stop without
// draining). It returns the first match of idRE's group 1 before then.
func killAt(t *testing.T, args []string, idRE *regexp.Regexp, stop func(line string) bool) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var id string
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		line := lines.Text()
		if m := idRE.FindStringSubmatch(line); m != nil && id == "" {
			id = m[1]
		}
		if stop(line) {
			break
		}
	}
	if id == "" {
		t.Fatalf("no id (%s) before the line to stop at; stderr:\n%s", idRE, stderr.String())
	}
	pid := cmd.Process.Pid
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	waitFor(t, "the killed process's workers to exit", 5*time.Second, func() bool { return len(workersOf(pid)) == 0 })
	return id
}

// workersOf lists the pids of live processes started with --parent-pid pid.
func workersOf(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	needle := []byte("--parent-pid\x00" + strconv.Itoa(pid) + "\x00")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(b, needle) {
			continue
		}
		if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil && strings.Contains(string(st), ") Z ") {
			continue // a zombie has exited
		}
		out = append(out, p)
	}
	return out
}

// TestBadExperimentExitsTwo checks that an invalid experiment file is
// refused with exit code 2 and a message naming the field and its line.
func TestBadExperimentExitsTwo(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"population: 1\n", "population = 1, allowed 2..100000"},
		{"seed: 1\ngenerashuns: 3\n", "line 2: unknown field generashuns, allowed in an experiment:"},
	}
	for _, tc := range tests {
		p := filepath.Join(t.TempDir(), "bad.yaml")
		if err := os.WriteFile(p, []byte(tc.yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(binary, newNode(t).args("-f", p)...).CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 2 {
			t.Fatalf("exit %v, want 2; output:\n%s", err, out)
		}
		if !strings.Contains(string(out), tc.want) || !strings.Contains(string(out), p) {
			t.Fatalf("output %q does not name the file and %q", out, tc.want)
		}
	}
}

// TestCoordinatorUnreachableEtcd checks a clear error within seconds.
func TestCoordinatorUnreachableEtcd(t *testing.T) {
	start := time.Now()
	out, err := exec.Command(binary, "coordinator", "--etcd", freeAddr(t), "--listen", "127.0.0.1:0", "--gossip", "127.0.0.1:0", "--insecure").CombinedOutput()
	if err == nil {
		t.Fatal("coordinator started without etcd")
	}
	// The coordinator gives etcd 5 s to dial and 5 s to answer.
	if took := time.Since(start); took > testenv.Patience(15*time.Second) {
		t.Fatalf("took %v to fail", took)
	}
	if !strings.Contains(string(out), "etcd unreachable") {
		t.Fatalf("unclear error: %s", out)
	}
}

// TestDataDirInUse checks that a second run on a data directory in use
// fails at once with a clear message instead of waiting on etcd's lock.
func TestDataDirInUse(t *testing.T) {
	n := newNode(t)
	cmd := exec.Command(binary, n.args("-f", writeExperiment(t, 200))...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := bufio.NewScanner(stdout)
	for lines.Scan() && !strings.HasPrefix(lines.Text(), "gen ") {
	}
	other := newNode(t)
	other.data = n.data
	start := time.Now()
	out, err := exec.Command(binary, other.args("--workers", "1")...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "in use by another process") || time.Since(start) > testenv.Patience(10*time.Second) {
		t.Fatalf("second run on a busy data directory: %v after %v\n%s", err, time.Since(start), out)
	}
}

// TestInterruptExitsWithResumeHint sends SIGINT mid-run: the run stops
// cleanly, exits 130 and prints a resume command with this run's flags.
func TestInterruptExitsWithResumeHint(t *testing.T) {
	n := newNode(t)
	cmd := exec.Command(binary, n.args("-f", writeExperiment(t, 200), "--workers", "1")...)
	var out bytes.Buffer
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = pw
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	lines := bufio.NewScanner(pr)
	var text strings.Builder
	for lines.Scan() {
		text.WriteString(lines.Text() + "\n")
		if strings.HasPrefix(lines.Text(), "gen   2/") {
			break
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	for lines.Scan() {
		text.WriteString(lines.Text() + "\n")
	}
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130\n%s%s", err, text.String(), out.String())
	}
	if !strings.Contains(text.String(), "--data "+n.data) || !strings.Contains(text.String(), "--resume ") {
		t.Fatalf("no usable resume hint:\n%s", text.String())
	}
}

// TestLargePopulationCommits runs a population whose generation commit is
// larger than etcd's default request limit.
func TestLargePopulationCommits(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big.yaml")
	spec := "generations: 1\npopulation: 1000\ninitial_planner_share: 0\nepisodes: 1\nanalysis_episodes: 1\nbatch_size: 100\n"
	if err := os.WriteFile(p, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	out := runMesaopt(t, newNode(t).args("-f", p, "--workers", "2")...)
	if !strings.Contains(out, "succeeded after 1/1 generations") {
		t.Fatalf("large population:\n%s", out)
	}
}

// TestSecondInterruptExitsAtOnce sends SIGINT twice mid-run: the second
// one ends the process at once, whatever the clean stop is doing.
func TestSecondInterruptExitsAtOnce(t *testing.T) {
	n := newNode(t)
	cmd := exec.Command(binary, n.args("-f", writeExperiment(t, 100000), "--workers", "1")...)
	var errOut bytes.Buffer
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = pw
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	lines := bufio.NewScanner(pr)
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), "gen   2/") {
			break
		}
	}
	for range 2 {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	go func() {
		for lines.Scan() {
		}
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(testenv.Patience(5 * time.Second)):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("still running 5 s after the second SIGINT\n%s", errOut.String())
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130\n%s", err, errOut.String())
	}
}
