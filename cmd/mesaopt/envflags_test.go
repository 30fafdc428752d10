package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mesaopt/mesaopt/internal/testenv"
)

// envProc is a daemon configured by environment alone, its stdout and
// stderr kept apart.
type envProc struct {
	cmd         *exec.Cmd
	mu          sync.Mutex
	stdout, err bytes.Buffer
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// startEnv starts mesaopt args with env added to a copy of the test's
// environment from which every MESAOPT_ variable was removed.
func startEnv(t *testing.T, env []string, args ...string) *envProc {
	t.Helper()
	p := &envProc{cmd: exec.Command(binary, args...)}
	p.cmd.Env = append(childEnv(), env...)
	p.cmd.Stdout = lockedWriter{&p.mu, &p.stdout}
	p.cmd.Stderr = lockedWriter{&p.mu, &p.err}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_ = p.cmd.Wait()
	})
	return p
}

func (p *envProc) output() (stdout, stderr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String(), p.err.String()
}

// runEnv runs mesaopt args to its end with env (as startEnv) and returns
// its combined output and exit code.
func runEnv(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(childEnv(), env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	}
	t.Fatalf("mesaopt %v: %v", args, err)
	return "", 0
}

// TestDaemonsFromEnvironment starts a coordinator, a standby and a worker
// configured by MESAOPT_* variables alone, logging JSON, and probes them
// with mesaopt health: the leader and the worker serve, the standby
// answers NOT_SERVING (exit 1, or 0 with --live).
func TestDaemonsFromEnvironment(t *testing.T) {
	srv := testenv.Etcd(t, 0)
	etcd := strings.TrimPrefix(srv.Endpoints()[0], "http://")
	leaderGRPC, leaderGossip := freeAddr(t), freeAddr(t)
	common := []string{"MESAOPT_ETCD=" + etcd, "MESAOPT_INSECURE=true", "MESAOPT_LOG_FORMAT=json", "MESAOPT_VERBOSE=1", "MESAOPT_SESSION_TTL=" + sessionTTL}
	leader := startEnv(t, append(common, "MESAOPT_LISTEN="+leaderGRPC, "MESAOPT_GOSSIP="+leaderGossip, "MESAOPT_NAME=E", "MESAOPT_MISSPELT=1", "MESAOPT_REQUIRE_CHROMIUM=1"), "coordinator")
	// With MESAOPT_VERBOSE the start-up lines are the log's records.
	waitFor(t, "E to lead", 20*time.Second, func() bool {
		_, log := leader.output()
		return strings.Contains(log, `"msg":"leading","coordinator":"E","grpc":"`+leaderGRPC+`"`)
	})
	standbyGRPC := freeAddr(t)
	standby := startEnv(t, append(common, "MESAOPT_LISTEN="+standbyGRPC, "MESAOPT_GOSSIP="+freeAddr(t), "MESAOPT_NAME=F", "MESAOPT_JOIN="+leaderGossip), "coordinator")
	workerGRPC := freeAddr(t)
	startEnv(t, []string{"MESAOPT_JOIN=" + leaderGossip, "MESAOPT_LISTEN=" + workerGRPC, "MESAOPT_GOSSIP=" + freeAddr(t), "MESAOPT_NAME=envw", "MESAOPT_INSECURE=true", "MESAOPT_CAPACITY=1"}, "worker")

	// The worker joins the leader's gossip: the leader logs it, in JSON.
	waitFor(t, "the worker to join", 20*time.Second, func() bool {
		_, log := leader.output()
		return strings.Contains(log, `"envw"`)
	})
	stdout, log := leader.output()
	infos := 0
	for s := bufio.NewScanner(strings.NewReader(stdout + log)); s.Scan(); {
		line := s.Text()
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("coordinator log line is not JSON: %q (%v)", line, err)
		}
		if rec["time"] == nil || rec["msg"] == nil {
			t.Errorf("log record %q lacks time or msg", line)
		}
		if rec["level"] == "INFO" {
			infos++
		}
	}
	if infos == 0 {
		t.Errorf("MESAOPT_VERBOSE=1 logged no info record:\n%s", log)
	}
	if !strings.Contains(log, "$MESAOPT_MISSPELT names no flag of mesaopt coordinator") {
		t.Errorf("a misspelt variable was not reported:\n%s", log)
	}
	if strings.Contains(log, "MESAOPT_REQUIRE_CHROMIUM") {
		t.Errorf("a variable of the tests' (as .ci/run exports) was reported:\n%s", log)
	}
	if !strings.Contains(log, `"level":"WARN","msg":"--insecure: coordinator gRPC is plaintext`) {
		t.Errorf("the --insecure warning is not a JSON record:\n%s", log)
	}

	for _, c := range []struct {
		name string
		env  []string
		args []string
		code int
		want string
	}{
		{"leader", nil, []string{"health", "--insecure", leaderGRPC}, 0, leaderGRPC + ": SERVING"},
		{"leader from env", []string{"MESAOPT_INSECURE=true"}, []string{"health", leaderGRPC}, 0, "SERVING"},
		{"worker", []string{"MESAOPT_INSECURE=true"}, []string{"health", workerGRPC}, 0, workerGRPC + ": SERVING"},
		{"standby", []string{"MESAOPT_INSECURE=true"}, []string{"health", standbyGRPC}, 1, "answers NOT_SERVING"},
		{"standby live", []string{"MESAOPT_INSECURE=true"}, []string{"health", "--live", standbyGRPC}, 0, standbyGRPC + ": NOT_SERVING"},
		{"nobody", []string{"MESAOPT_INSECURE=true"}, []string{"health", "--timeout", "2s", freeAddr(t)}, 1, "no health answer"},
		{"no credentials", nil, []string{"health", leaderGRPC}, 2, "--tls-ca is missing"},
	} {
		out, code := runEnv(t, c.env, c.args...)
		if code != c.code || !strings.Contains(out, c.want) {
			t.Errorf("%s: mesaopt %v exit %d, want %d with %q:\n%s", c.name, c.args, code, c.code, c.want, out)
		}
	}
	if _, log := standby.output(); !strings.Contains(log, `"msg":"campaigning for leadership","coordinator":"F"`) {
		t.Errorf("the standby did not start from its environment: %s", log)
	}
}

// TestBadEnvironmentExitsTwo: a value a flag refuses, from its variable,
// is a usage error that names the variable; the command line wins.
func TestBadEnvironmentExitsTwo(t *testing.T) {
	join := "MESAOPT_JOIN=" + freeAddr(t)
	for _, c := range []struct {
		env  []string
		args []string
		want string
	}{
		{[]string{join, "MESAOPT_CAPACITY=many"}, []string{"worker", "--insecure"}, `$MESAOPT_CAPACITY = "many" (for --capacity)`},
		{[]string{join, "MESAOPT_CAPACITY=0"}, []string{"worker", "--insecure"}, "--capacity = 0, allowed 1..1024 genomes evaluated at once (--capacity came from $MESAOPT_CAPACITY)"},
		{[]string{"MESAOPT_CAPACITY=many"}, []string{"worker", "--insecure", "--capacity", "1"}, "--join is missing"},
		{[]string{"MESAOPT_SESSION_TTL=1"}, []string{"coordinator", "--insecure"}, "--session-ttl = 1, allowed 2..600 seconds (--session-ttl came from $MESAOPT_SESSION_TTL)"},
		{[]string{"MESAOPT_LOG_FORMAT=xml"}, []string{"coordinator", "--insecure"}, `--log-format = "xml", allowed text or json (--log-format came from $MESAOPT_LOG_FORMAT)`},
		{[]string{"MESAOPT_INSECURE=maybe"}, []string{"worker"}, `$MESAOPT_INSECURE = "maybe" (for --insecure)`},
	} {
		out, code := runEnv(t, c.env, c.args...)
		if code != 2 || !strings.Contains(out, c.want) {
			t.Errorf("%v mesaopt %v: exit %d, want 2 with %q:\n%s", c.env, c.args, code, c.want, out)
		}
	}
}

func TestChildEnvDropsFlagsVariables(t *testing.T) {
	t.Setenv("MESAOPT_LISTEN", "0.0.0.0:1")
	t.Setenv("MESAOPT_TLS_CERT", "operator.pem")
	for _, kv := range childEnv() {
		if strings.HasPrefix(kv, "MESAOPT_") {
			t.Errorf("childEnv kept %s", kv)
		}
	}
	if len(childEnv()) == 0 && len(os.Environ()) > 2 {
		t.Error("childEnv dropped everything")
	}
}
