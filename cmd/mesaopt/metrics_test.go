package main

import (
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mesaopt/mesaopt/worker"
)

// TestDaemonMetricsListener starts two worker processes with
// --metrics-listen, one with --pprof: both serve /metrics, only the one
// with --pprof answers /debug/pprof/ (the other 404), and a SIGTERM stops
// the listener with the daemon.
func TestDaemonMetricsListener(t *testing.T) {
	seed, err := worker.NewMemberlist("metrics-seed", "127.0.0.1:0", nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = seed.Shutdown() })
	for _, c := range []struct {
		pprof bool
		want  int
	}{{true, http.StatusOK}, {false, http.StatusNotFound}} {
		addr := freeAddr(t)
		args := []string{"worker", "--insecure", "--join", seed.LocalNode().Address(), "--listen", "127.0.0.1:0", "--gossip", "127.0.0.1:0",
			"--capacity", "1", "--drain", "1s", "--metrics-listen", addr}
		if c.pprof {
			args = append(args, "--pprof")
		}
		p := startEnv(t, nil, args...)
		var body string
		waitFor(t, "/metrics to answer", 20*time.Second, func() bool {
			resp, err := http.Get("http://" + addr + "/metrics")
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			body = string(b)
			return resp.StatusCode == http.StatusOK
		})
		for _, name := range []string{"mesaopt_worker_evaluations_total", "mesaopt_worker_sessions", "go_goroutines", "process_cpu_seconds_total"} {
			if !strings.Contains(body, "\n"+name+" ") {
				t.Errorf("pprof %v: /metrics lacks %s", c.pprof, name)
			}
		}
		resp, err := http.Get("http://" + addr + "/debug/pprof/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("pprof %v: GET /debug/pprof/ = %d, want %d", c.pprof, resp.StatusCode, c.want)
		}
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := p.cmd.Wait(); err != nil {
			out, log := p.output()
			t.Fatalf("pprof %v: worker exited %v\n%s%s", c.pprof, err, out, log)
		}
		if _, err := http.Get("http://" + addr + "/metrics"); err == nil {
			t.Errorf("pprof %v: /metrics answers after the worker stopped", c.pprof)
		}
	}
}

// TestPprofNeedsMetricsListen checks that --pprof alone is a usage error
// (exit 2) on each command that has it, and a bad --metrics-listen too.
func TestPprofNeedsMetricsListen(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"worker", "--insecure", "--join", "127.0.0.1:7946", "--pprof"}, "--pprof without --metrics-listen"},
		{[]string{"coordinator", "--insecure", "--pprof"}, "--pprof without --metrics-listen"},
		{[]string{"run", "--insecure", "--pprof", "--data", t.TempDir()}, "--pprof without --metrics-listen"},
		{[]string{"worker", "--insecure", "--join", "127.0.0.1:7946", "--metrics-listen", "nowhere"}, "--metrics-listen"},
	} {
		out, code := runEnv(t, nil, c.args...)
		if code != 2 || !strings.Contains(out, c.want) {
			t.Errorf("mesaopt %v: exit %d, want 2 and %q:\n%s", c.args, code, c.want, out)
		}
	}
}
