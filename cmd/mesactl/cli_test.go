package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mesaopt/mesaopt/coordinator"
	"github.com/mesaopt/mesaopt/internal/mtls"
	"github.com/mesaopt/mesaopt/internal/testenv"
	"github.com/mesaopt/mesaopt/worker"
)

// TestVersionWithoutCoordinator: mesactl version and --version print the
// build, protocol and evaluation digest without dialling anything.
func TestVersionWithoutCoordinator(t *testing.T) {
	nowhere := []string{"--coordinator", freeAddr(t), "--timeout", "30s"}
	if out, errOut, code := mesactl(t, append(nowhere, "help", "runs")...); code != 0 || !strings.Contains(out, "List runs") || errOut != "" {
		t.Errorf("help runs: exit %d %q %q", code, out, errOut)
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		start := time.Now()
		out, errOut, code := mesactl(t, append(nowhere, args...)...)
		if code != 0 || !strings.HasPrefix(out, "mesactl ") || !strings.Contains(out, worker.EvaluationDigest()) ||
			!strings.Contains(out, "protocol:") || !strings.Contains(out, "go1.") || time.Since(start) > testenv.Patience(2*time.Second) {
			t.Errorf("mesactl %v: exit %d after %v:\n%s%s", args, code, time.Since(start), out, errOut)
		}
	}
	out, errOut, code := mesactl(t, append(nowhere, "version", "-o", "json")...)
	var info struct {
		Version  string `json:"version"`
		Protocol uint32 `json:"protocol_version"`
		Digest   string `json:"evaluation_digest"`
		Go       string `json:"go_version"`
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil || code != 0 || info.Protocol != worker.ProtocolVersion ||
		info.Digest != worker.EvaluationDigest() || info.Version == "" || !strings.HasPrefix(info.Go, "go") {
		t.Errorf("version -o json: %v exit %d %+v\n%s%s", err, code, info, out, errOut)
	}
	if out, _, code := mesactl(t, append(nowhere, "version", "-o", "yaml")...); code != 0 || !strings.Contains(out, "evaluation_digest: "+worker.EvaluationDigest()) {
		t.Errorf("version -o yaml: exit %d\n%s", code, out)
	}
}

// TestCompletionWithoutCoordinator: every shell's completion script comes
// without a coordinator, and completing a run id with none answering
// offers nothing, silently and quickly.
func TestCompletionWithoutCoordinator(t *testing.T) {
	nowhere := []string{"--coordinator", freeAddr(t)}
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		out, errOut, code := mesactl(t, append(nowhere, "completion", shell)...)
		if code != 0 || !strings.Contains(out, "mesactl") || len(out) < 500 {
			t.Errorf("completion %s: exit %d, %d bytes: %s", shell, code, len(out), errOut)
		}
	}
	start := time.Now()
	out, errOut, code := mesactl(t, append(nowhere, "--timeout", "30s", "__complete", "run", "show", "")...)
	if code != 0 || strings.TrimSpace(out) != ":4" || strings.Contains(errOut, "mesactl:") || time.Since(start) > testenv.Patience(3*time.Second) {
		t.Errorf("__complete run show '' with no coordinator: exit %d after %v: %q %q", code, time.Since(start), out, errOut)
	}
}

// TestCompleteRunIDsAndMessages: against a coordinator, run and sweep ids
// complete, and cancel and resume say what they did.
func TestCompleteRunIDsAndMessages(t *testing.T) {
	addr := startCoordinator(t)
	exp := filepath.Join(t.TempDir(), "exp.yaml")
	writeFile(t, exp, "name: ctl\ngenerations: 200\npopulation: 10\nelites: 1\nepisodes: 2\nanalysis_episodes: 2\n")
	out, errOut, code := mesactl(t, "--coordinator", addr, "run", "submit", "-f", exp)
	if code != 0 {
		t.Fatalf("submit: %d %s", code, errOut)
	}
	id := strings.TrimSpace(out)
	for _, args := range [][]string{{"run", "show", ""}, {"stats", ""}, {"run", "resume", id[:4]}} {
		out, errOut, code = mesactl(t, append([]string{"--coordinator", addr, "__complete"}, args...)...)
		if code != 0 || !strings.Contains(out, id+"\t") {
			t.Errorf("__complete %v: exit %d, no %s in %q %s", args, code, id, out, errOut)
		}
	}
	if out, _, _ = mesactl(t, "--coordinator", addr, "__complete", "run", "show", id, ""); strings.Contains(out, id) {
		t.Errorf("__complete run show %s '' offers a second run id: %q", id, out)
	}
	out, errOut, code = mesactl(t, "--coordinator", addr, "run", "cancel", id)
	if code != 0 || out != "run "+id+" cancelled (its last checkpoint is kept: mesactl run resume "+id+")\n" {
		t.Fatalf("run cancel: exit %d %q %s", code, out, errOut)
	}
	// The run is cancelled once its current generation ends.
	testenv.WaitFor(t, "the run to stop", 30*time.Second, func() bool {
		out, _, _ := mesactl(t, "--coordinator", addr, "runs")
		return strings.Contains(out, "cancelled")
	})
	out, errOut, code = mesactl(t, "--coordinator", addr, "run", "resume", id)
	if code != 0 || !strings.HasPrefix(out, "run "+id+" resumed: ") || !strings.HasSuffix(out, " of 200 generations done\n") {
		t.Fatalf("run resume: exit %d %q %s", code, out, errOut)
	}
	if _, errOut, code = mesactl(t, "--coordinator", addr, "run", "cancel", id); code != 0 {
		t.Fatalf("run cancel after the resume: exit %d %s", code, errOut)
	}
	out, errOut, code = mesactl(t, "--coordinator", addr, "run", "show", id, "-o", "yaml")
	if code != 0 || !strings.Contains(out, "run_id: "+id+"\n") || strings.Contains(out, "{") {
		t.Errorf("run show -o yaml: exit %d %s\n%.400s", code, errOut, out)
	}
}

// TestWorkers: mesactl workers lists the workers that joined over gossip,
// with their address, capacity, state, digest and the evaluations they
// served, for a read-only certificate too.
func TestWorkers(t *testing.T) {
	c, _ := startCoordinatorWith(t, func(*coordinator.Config) {}) // dispatching to workers over gossip
	addr := c.GRPCAddr()
	if out, errOut, code := mesactl(t, "--coordinator", addr, "workers"); code != 0 || !strings.HasPrefix(out, "NAME") || !strings.Contains(errOut, "no worker has joined") {
		t.Fatalf("workers before any joined: exit %d %q %q", code, out, errOut)
	}
	wid, err := mtls.LoadFrom(certDir, mtls.FileWorker)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"wa", "wb"}
	for i, name := range names {
		wcfg := worker.DefaultConfig()
		wcfg.Name = name
		wcfg.Join = []string{c.GossipAddr()}
		wcfg.Capacity = i + 1
		wcfg.TLS = wid
		w, err := worker.Start(context.Background(), wcfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = w.Shutdown(ctx)
		})
	}
	testenv.WaitFor(t, "2 workers to join", 10*time.Second, func() bool { n, _ := c.Workers(); return n == 2 })

	exp := filepath.Join(t.TempDir(), "exp.yaml")
	writeFile(t, exp, "name: ctl\ngenerations: 2\npopulation: 10\nelites: 1\nepisodes: 2\nanalysis_episodes: 2\n")
	out, errOut, code := mesactl(t, "--coordinator", addr, "run", "submit", "-f", exp)
	if code != 0 {
		t.Fatalf("submit: %d %s", code, errOut)
	}
	if _, errOut, code = mesactl(t, "--coordinator", addr, "run", "watch", strings.TrimSpace(out)); code != 0 {
		t.Fatalf("watch: %d %s", code, errOut)
	}

	readOnly := []string{"--coordinator", addr, "--tls-cert", mtls.CertFile(certDir, mtls.FileReadOnly), "--tls-key", mtls.KeyFile(certDir, mtls.FileReadOnly)}
	out, errOut, code = mesactl(t, append(readOnly, "workers", "-o", "json")...)
	var doc struct {
		Workers []struct {
			Name        string `json:"name"`
			Address     string `json:"address"`
			Capacity    int    `json:"capacity"`
			Build       string `json:"build"`
			Digest      string `json:"evaluation_digest"`
			State       string `json:"state"`
			Batches     string `json:"batches"` // uint64: a JSON string
			Evaluations string `json:"evaluations"`
		} `json:"workers"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 || len(doc.Workers) != 2 {
		t.Fatalf("workers -o json as read-only: %v exit %d\n%s%s", err, code, out, errOut)
	}
	var evaluations int
	for i, w := range doc.Workers {
		if w.Name != names[i] || w.Capacity != i+1 || w.Address == "" || w.Build == "" || w.Digest != worker.EvaluationDigest() || w.State != "WORKER_STATE_ALIVE" {
			t.Errorf("worker %d: %+v", i, w)
		}
		var n int
		if _, err := fmt.Sscan(w.Evaluations, &n); err != nil {
			t.Errorf("worker %s evaluations %q: %v", w.Name, w.Evaluations, err)
		}
		evaluations += n
	}
	if evaluations < 10 {
		t.Errorf("the workers served %d evaluations for a run of 2 generations of 10, want at least 10", evaluations)
	}

	out, errOut, code = mesactl(t, "--coordinator", addr, "workers")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.Contains(lines[0], "EVALUATIONS") || !strings.HasPrefix(lines[1], "wa ") ||
		!strings.Contains(lines[1], " alive ") || !strings.Contains(lines[2], worker.EvaluationDigest()) {
		t.Errorf("workers: exit %d\n%s%s", code, out, errOut)
	}
	if out, _, code = mesactl(t, "--coordinator", addr, "workers", "-o", "wide"); code != 0 || !strings.Contains(out, "IN FLIGHT") || !strings.Contains(out, time.Now().UTC().Format("2006-01-02")) {
		t.Errorf("workers -o wide: exit %d\n%s", code, out)
	}
}
