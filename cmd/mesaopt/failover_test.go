package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/internal/grpcconf"
	"github.com/mesaopt/mesaopt/internal/testenv"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
)

// proc is a mesaopt process whose output is collected.
type proc struct {
	cmd *exec.Cmd
	mu  sync.Mutex
	out strings.Builder
}

func startProc(t testing.TB, args ...string) *proc {
	t.Helper()
	if len(args) > 0 && (args[0] == "coordinator" || args[0] == "worker") && !slices.Contains(args, "--tls-cert") && !slices.Contains(args, "--insecure") {
		// Fault scripts on loopback speak plaintext (TestDaemonsMutualTLS covers TLS).
		args = append(args, "--insecure")
	}
	p := &proc{cmd: exec.Command(binary, args...)}
	r, w := io.Pipe()
	p.cmd.Stdout = w
	p.cmd.Stderr = w
	go func() {
		s := bufio.NewScanner(r)
		for s.Scan() {
			p.mu.Lock()
			p.out.WriteString(s.Text() + "\n")
			p.mu.Unlock()
		}
	}()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGCONT)
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
		w.Close()
	})
	return p
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitFor polls cond until it holds; d, stretched by the machine's load,
// bounds a hang (see testenv.WaitFor).
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	testenv.WaitFor(t, what, d, cond)
}

// cluster is an external-style deployment on loopback: an etcd, two
// coordinators (A leads, B stands by, joined to A's gossip) and two workers.
type cluster struct {
	a, b         *proc
	aGRPC, bGRPC string
	bHTTP        string // B's dashboard
	runs         func(addr string) rpc.RunServiceClient
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	srv := testenv.Etcd(t, 0)
	etcd := strings.TrimPrefix(srv.Endpoints()[0], "http://")
	c := &cluster{aGRPC: freeAddr(t), bGRPC: freeAddr(t), bHTTP: freeAddr(t)}
	aGossip, bGossip := freeAddr(t), freeAddr(t)
	c.a = startProc(t, "coordinator", "--etcd", etcd, "--listen", c.aGRPC, "--gossip", aGossip, "--name", "A", "--session-ttl", sessionTTL, "-v")
	waitFor(t, "A to lead", 20*time.Second, func() bool { return strings.Contains(c.a.output(), "coordinator A leading") })
	c.b = startProc(t, "coordinator", "--etcd", etcd, "--listen", c.bGRPC, "--gossip", bGossip, "--join", aGossip, "--name", "B", "--session-ttl", sessionTTL, "-v",
		"--http-listen", c.bHTTP)
	for i := range 2 {
		startProc(t, "worker", "--join", aGossip+","+bGossip, "--name", "w"+string(rune('0'+i)))
	}
	conns := map[string]rpc.RunServiceClient{}
	c.runs = func(addr string) rpc.RunServiceClient {
		if cl, ok := conns[addr]; ok {
			return cl
		}
		conn, err := grpc.NewClient(addr, grpcconf.ClientOptions()...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conns[addr] = rpc.NewRunServiceClient(conn)
		return conns[addr]
	}
	return c
}

// submitAndWatch submits exp to A and returns once generation g is committed.
func (c *cluster) submitAndWatch(t *testing.T, exp string, g uint32) string {
	t.Helper()
	spec, err := experiment.Load(exp)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	waitFor(t, "workers to join A", 20*time.Second, func() bool { return strings.Count(c.a.output(), "worker joined") >= 2 })
	resp, err := c.runs(c.aGRPC).SubmitRun(ctx, &pb.SubmitRunRequest{Spec: spec.ToProto()})
	if err != nil {
		t.Fatal(err)
	}
	stream, err := c.runs(c.aGRPC).WatchRun(ctx, &pb.WatchRunRequest{RunId: resp.GetRunId()})
	if err != nil {
		t.Fatal(err)
	}
	for {
		msg, err := stream.Recv()
		if err != nil {
			t.Fatalf("watch: %v", err)
		}
		if msg.GetSummary().GetGeneration() >= g {
			return resp.GetRunId()
		}
	}
}

// finished waits until B reports the run succeeded and returns it.
func (c *cluster) finished(t *testing.T, id string) *pb.Run {
	t.Helper()
	var run *pb.Run
	waitFor(t, "the standby to finish the run", 2*time.Minute, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := c.runs(c.bGRPC).GetRun(ctx, &pb.GetRunRequest{RunId: id})
		if err != nil {
			return false
		}
		run = resp.GetRun()
		return run.GetState() == pb.RunState_RUN_STATE_SUCCEEDED
	})
	return run
}

// TestFailoverAfterLeaderKilled kills the leading coordinator mid-run; the
// standby takes over within the session TTL, resumes from the checkpoint
// and finishes with the digest of an uninterrupted run.
func TestFailoverAfterLeaderKilled(t *testing.T) {
	testenv.Heavy(t)
	const generations = 12
	exp := writeExperiment(t, generations)
	want := finalDigest(t, runMesaopt(t, newNode(t).args("-f", exp, "--workers", "2")...))

	c := startCluster(t)
	id := c.submitAndWatch(t, exp, 2)
	// The standby's dashboard shows the leader's run, from etcd.
	page := httpGet(t, "http://"+c.bHTTP+"/runs/"+id)
	if !strings.Contains(page, `data-field="generations_done"`) || !strings.Contains(page, id) {
		t.Fatalf("standby's dashboard page of run %s:\n%s", id, page)
	}
	if err := c.a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	run := c.finished(t, id)
	if run.GetFinalDigest() != want || run.GetGenerationsDone() != generations || len(run.GetSummaries()) != generations {
		t.Fatalf("after failover: digest %s (want %s), %d generations, %d summaries\nB:\n%s",
			run.GetFinalDigest(), want, run.GetGenerationsDone(), len(run.GetSummaries()), c.b.output())
	}
}

// TestPausedLeaderCannotWrite stops the leader with SIGSTOP; the standby
// takes over and finishes; the old leader, continued, finds its fence gone
// and demotes itself without writing.
func TestPausedLeaderCannotWrite(t *testing.T) {
	testenv.Heavy(t)
	const generations = 12
	exp := writeExperiment(t, generations)
	want := finalDigest(t, runMesaopt(t, newNode(t).args("-f", exp, "--workers", "2")...))

	c := startCluster(t)
	id := c.submitAndWatch(t, exp, 2)
	if err := c.a.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "B to lead", 30*time.Second, func() bool { return strings.Contains(c.b.output(), "resuming run left by the previous leader") })
	if err := c.a.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	run := c.finished(t, id)
	if run.GetFinalDigest() != want || len(run.GetSummaries()) != generations {
		t.Fatalf("digest %s (want %s), %d summaries", run.GetFinalDigest(), want, len(run.GetSummaries()))
	}
	waitFor(t, "A to notice it lost leadership", 30*time.Second, func() bool {
		out := c.a.output()
		return strings.Contains(out, "leadership lost") || strings.Contains(out, "write refused")
	})
}

// TestStandbyStopsCleanly stops a standby coordinator with SIGTERM: a
// normal stop, exit 0, no error printed.
func TestStandbyStopsCleanly(t *testing.T) {
	srv := testenv.Etcd(t, 0)
	etcd := strings.TrimPrefix(srv.Endpoints()[0], "http://")
	a := startProc(t, "coordinator", "--etcd", etcd, "--listen", freeAddr(t), "--gossip", freeAddr(t), "--name", "A", "--session-ttl", sessionTTL, "-v")
	waitFor(t, "A to lead", 20*time.Second, func() bool { return strings.Contains(a.output(), "coordinator A leading") })
	b := startProc(t, "coordinator", "--etcd", etcd, "--listen", freeAddr(t), "--gossip", freeAddr(t), "--name", "B", "--session-ttl", sessionTTL, "-v")
	waitFor(t, "B to campaign", 20*time.Second, func() bool { return strings.Contains(b.output(), "campaigning for leadership") })
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.cmd.Wait() }()
	select {
	case err := <-done:
		// The --insecure warning is expected; an error would follow "mesaopt:" too.
		if err != nil || strings.Contains(strings.ReplaceAll(b.output(), "mesaopt: warning: --insecure", ""), "mesaopt:") {
			t.Fatalf("standby stopped with %v:\n%s", err, b.output())
		}
	case <-time.After(testenv.Patience(30 * time.Second)):
		t.Fatalf("standby still running 30 s after SIGTERM:\n%s", b.output())
	}
}

// httpGet fetches url and fails the test unless it answers 200.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testenv.Patience(30*time.Second))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %v %s\n%s", url, err, resp.Status, b)
	}
	return string(b)
}
