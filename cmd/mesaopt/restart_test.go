package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"google.golang.org/grpc"

	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/internal/grpcconf"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
)

// restartExperiment is faultExperiment with room for many failed calls: a
// batch sent to the killed worker before gossip declares it dead is retried
// with back-off, and those failures must not quarantine a genome.
const restartExperiment = `name: restart
seed: 11
generations: %d
population: 24
elites: 2
episodes: 3
analysis_episodes: 3
batch_size: 2
evaluation_timeout: 2s
quarantine_attempts: 100
`

// TestWorkerRestartedUnderSameNameGetsWork kills (kill -9) the only worker
// of a run mid-generation and restarts it at once under the same gossip
// name on new ports, before gossip has declared the old process dead. The
// coordinator must route work to the new process and the run must finish
// with the final digest of an uninterrupted run.
//
// The new process must take the name over from the dead one, not wait
// until memberlist forgets the dead member: that happens
// GossipToTheDeadTime after it was declared dead (the coordinator's
// "worker left"), so a join later than that says the takeover failed. The
// bound is memberlist's, not a speed requirement: the takeover needs a
// probe interval and a join or two.
func TestWorkerRestartedUnderSameNameGetsWork(t *testing.T) {
	const generations = 8
	exp := filepath.Join(t.TempDir(), "restart.yaml")
	if err := os.WriteFile(exp, []byte(fmt.Sprintf(restartExperiment, generations)), 0o644); err != nil {
		t.Fatal(err)
	}
	want := finalDigest(t, runMesaopt(t, newNode(t).args("-f", exp, "--workers", "1")...))

	coord, grpcAddr, gossip := startLeader(t)
	const host = "127.0.0.3"
	used := map[string]bool{}
	newPort := func() string {
		for {
			if a := freeAddrOn(t, host); !used[a] {
				used[a] = true
				return a
			}
		}
	}
	startW0 := func() *proc {
		return startProc(t, "worker", "--join", gossip, "--listen", newPort(), "--gossip", newPort(), "--name", "w0", "-v")
	}
	first := startW0()
	waitFor(t, "w0 to join", 20*time.Second, func() bool { return strings.Contains(coord.output(), `msg="worker joined" worker=w0`) })

	spec, err := experiment.Load(exp)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(grpcAddr, grpcconf.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	runs := rpc.NewRunServiceClient(conn)
	// Bounds a hang; a run that never gets a worker back ends here.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	resp, err := runs.SubmitRun(ctx, &pb.SubmitRunRequest{Spec: spec.ToProto()})
	if err != nil {
		t.Fatal(err)
	}
	stream, err := runs.WatchRun(ctx, &pb.WatchRunRequest{RunId: resp.GetRunId()})
	if err != nil {
		t.Fatal(err)
	}
	var second *proc
	var restarted time.Time
	for {
		msg, err := stream.Recv()
		if err != nil {
			break // the run ended (EOF) or the watch failed: GetRun below says which
		}
		if s := msg.GetSummary(); s != nil && s.GetGeneration() == 2 && second == nil {
			if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			second, restarted = startW0(), time.Now()
		}
	}
	run, err := runs.GetRun(ctx, &pb.GetRunRequest{RunId: resp.GetRunId()})
	if err != nil {
		t.Fatal(err)
	}
	if second == nil {
		t.Fatalf("the run ended before w0 was restarted: %v\ncoordinator:\n%s", run.GetRun().GetState(), coord.output())
	}
	if os.Getenv("MESAOPT_TEST_DEBUG") != "" {
		t.Logf("run ended %v after the restart\ncoordinator:\n%s\nrestarted w0:\n%s", time.Since(restarted), coord.output(), second.output())
	}
	if r := run.GetRun(); r.GetState() != pb.RunState_RUN_STATE_SUCCEEDED || r.GetFinalDigest() != want {
		t.Fatalf("run %v, digest %s, want %s (error %q)\ncoordinator:\n%s\nrestarted w0:\n%s", r.GetState(), r.GetFinalDigest(), want, r.GetError(), coord.output(), second.output())
	}
	if !strings.Contains(second.output(), "first batch received") {
		t.Fatalf("the restarted w0 received no work:\n%s", second.output())
	}
	left, joined := logTime(coord.output(), `msg="worker left" worker=w0`, 1), logTime(coord.output(), `msg="worker joined" worker=w0`, 2)
	if left.IsZero() || joined.IsZero() {
		t.Fatalf("the coordinator's log lacks the old w0 leaving or the new one joining:\n%s", coord.output())
	}
	if limit := memberlist.DefaultLocalConfig().GossipToTheDeadTime; joined.Sub(left) >= limit {
		t.Fatalf("the new w0 joined %v after the old one was declared dead, not before memberlist forgot it (%v): its name was not taken over\ncoordinator:\n%s",
			joined.Sub(left), limit, coord.output())
	}
}

// logTime returns the time of the n-th (from 1) log line containing what, or zero.
func logTime(out, what string, n int) time.Time {
	for line := range strings.Lines(out) {
		if !strings.Contains(line, what) {
			continue
		}
		if n--; n > 0 {
			continue
		}
		m := regexp.MustCompile(`^time=(\S+) `).FindStringSubmatch(line)
		if m == nil {
			return time.Time{}
		}
		at, _ := time.Parse(time.RFC3339Nano, m[1])
		return at
	}
	return time.Time{}
}
