package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/internal/grpcconf"
	"github.com/mesaopt/mesaopt/internal/testenv"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
	"github.com/mesaopt/mesaopt/worker"
)

// freeAddrOn returns a free TCP port on host (127.0.0.x needs no setup on
// Linux), so every process of a test can have an address of its own.
func freeAddrOn(t *testing.T, host string) string { return testenv.FreeAddr(t, host) }

// startLeader starts an etcd and a coordinator named C on 127.0.0.2 that
// leads; it returns the process and its gRPC and gossip addresses.
func startLeader(t *testing.T) (coord *proc, grpcAddr, gossip string) {
	t.Helper()
	srv := testenv.Etcd(t, 0)
	etcd := strings.TrimPrefix(srv.Endpoints()[0], "http://")
	grpcAddr, gossip = freeAddrOn(t, "127.0.0.2"), freeAddrOn(t, "127.0.0.2")
	coord = startProc(t, "coordinator", "--etcd", etcd, "--listen", grpcAddr, "--gossip", gossip, "--name", "C", "-v")
	deadline := time.Now().Add(testenv.Patience(20 * time.Second))
	for !strings.Contains(coord.output(), "coordinator C leading") {
		if time.Now().After(deadline) {
			t.Fatalf("the coordinator did not lead within %v:\n%s", testenv.Patience(20*time.Second), coord.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return coord, grpcAddr, gossip
}

// faultExperiment is slow enough per generation (batches of 2, planners)
// for faults to land mid-generation, with a short evaluation deadline.
const faultExperiment = `name: faults
seed: 11
generations: %d
population: 24
elites: 2
episodes: 3
analysis_episodes: 3
batch_size: 2
evaluation_timeout: 2s
`

// TestWorkerFaultsKeepDigest runs a coordinator and workers, each process
// on its own loopback address. Mid-run one worker is killed (kill -9),
// another stopped (SIGSTOP: hung, its connection open) and a new one
// added. The run finishes with the final digest of a 1-worker run; the
// hung worker never holds a generation much beyond the evaluation
// deadline; the late worker gets work within seconds of starting.
func TestWorkerFaultsKeepDigest(t *testing.T) {
	testenv.Heavy(t)
	const generations = 40
	exp := filepath.Join(t.TempDir(), "faults.yaml")
	if err := os.WriteFile(exp, []byte(fmt.Sprintf(faultExperiment, generations)), 0o644); err != nil {
		t.Fatal(err)
	}
	want := finalDigest(t, runMesaopt(t, newNode(t).args("-f", exp, "--workers", "1")...))

	coord, grpcAddr, gossip := startLeader(t)
	startWorker := func(i int) *proc {
		host := fmt.Sprintf("127.0.0.%d", 3+i)
		return startProc(t, "worker", "--join", gossip, "--listen", host+":0", "--gossip", host+":0", "--name", fmt.Sprintf("w%d", i), "-v")
	}
	var ws []*proc
	for i := range 3 {
		ws = append(ws, startWorker(i))
	}
	waitFor(t, "3 workers to join", 20*time.Second, func() bool { return strings.Count(coord.output(), "worker joined") >= 3 })

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
	ctx, cancel := context.WithTimeout(context.Background(), testenv.Patience(5*time.Minute))
	defer cancel()
	resp, err := runs.SubmitRun(ctx, &pb.SubmitRunRequest{Spec: spec.ToProto()})
	if err != nil {
		t.Fatal(err)
	}
	stream, err := runs.WatchRun(ctx, &pb.WatchRunRequest{RunId: resp.GetRunId()})
	if err != nil {
		t.Fatal(err)
	}
	var late *proc
	var lateStarted, stopped time.Time
	var afterStop []time.Duration // time from SIGSTOP to each later generation
	var typical time.Duration     // the longest generation before the SIGSTOP
	prev := time.Now()
	for {
		msg, err := stream.Recv()
		if err != nil {
			break // the run ended (EOF) or the watch failed: GetRun below says which
		}
		s := msg.GetSummary()
		if s == nil {
			continue
		}
		if !stopped.IsZero() {
			afterStop = append(afterStop, time.Since(stopped))
		} else if s.GetGeneration() > 0 {
			typical = max(typical, time.Since(prev))
		}
		prev = time.Now()
		switch s.GetGeneration() {
		case 2: // generations follow each other at once: this is mid-generation 3
			if err := ws[0].cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		case 4:
			if err := ws[1].cmd.Process.Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			stopped = time.Now()
		case 6:
			late, lateStarted = startWorker(3), time.Now()
		}
	}
	run, err := runs.GetRun(ctx, &pb.GetRunRequest{RunId: resp.GetRunId()})
	if err != nil {
		t.Fatal(err)
	}
	if r := run.GetRun(); r.GetState() != pb.RunState_RUN_STATE_SUCCEEDED || r.GetFinalDigest() != want {
		t.Fatalf("run %v, digest %s, want %s (error %q)\ncoordinator:\n%s", r.GetState(), r.GetFinalDigest(), want, r.GetError(), coord.output())
	}
	// Every generation after the SIGSTOP is bounded by the evaluation
	// deadline (2s), not by the hung worker: allow the deadline plus three
	// times the longest generation seen before (one with a killed worker),
	// per generation — the batch retried elsewhere, the generation's audit
	// (evaluated by the coordinator itself while the other worker rests
	// after its failure) and the rest. Without the deadline a generation
	// would wait for the dispatcher's default of a minute.
	perGeneration := 2*time.Second + 3*typical
	for i, d := range afterStop {
		if limit := testenv.Patience(time.Duration(i+1) * perGeneration); d > limit {
			t.Errorf("generation %d after the SIGSTOP came %v after it (limit %v: the longest generation before took %v)", i+1, d, limit, typical)
		}
	}
	if os.Getenv("MESAOPT_TEST_DEBUG") != "" {
		t.Logf("after SIGSTOP: %v\ncoordinator:\n%s", afterStop, coord.output())
	}
	if late == nil {
		t.Fatal("the run ended before the late worker was added")
	}
	waitFor(t, "the late worker to receive work", 10*time.Second, func() bool { return strings.Contains(late.output(), "first batch received") })
	// It joins gossip within seconds and gets the next batch that starts.
	if took, limit := firstBatchAfter(late, lateStarted), testenv.Patience(5*time.Second)+2*typical; took > limit {
		t.Errorf("the late worker's first batch came %v after its start (limit %v)", took, limit)
	}
}

// firstBatchAfter returns when p logged its first batch, relative to start.
func firstBatchAfter(p *proc, start time.Time) time.Duration {
	m := regexp.MustCompile(`time=(\S+) level=INFO msg="first batch received"`).FindStringSubmatch(p.output())
	if m == nil {
		return time.Hour
	}
	at, err := time.Parse(time.RFC3339Nano, m[1])
	if err != nil {
		return time.Hour
	}
	return at.Sub(start)
}

// leaves records gossip events of a test's seed member.
type leaves struct {
	mu       sync.Mutex
	joined   map[string]bool
	draining map[string]bool // announced draining before leaving
	left     map[string]bool
}

func (l *leaves) NotifyJoin(n *memberlist.Node) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.joined[n.Name] = true
}
func (l *leaves) NotifyUpdate(n *memberlist.Node) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if m, err := worker.DecodeMeta(n.Meta); err == nil && m.Draining && !l.left[n.Name] {
		l.draining[n.Name] = true
	}
}

func (l *leaves) NotifyLeave(n *memberlist.Node) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.left[n.Name] = true
}

func (l *leaves) state(name string) (joined, draining, left bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.joined[name], l.draining[name], l.left[name]
}

// TestWorkerSIGTERMDrains sends SIGTERM to a worker process while it
// evaluates a batch: it refuses new calls, announces it is draining (so
// coordinators stop routing to it but keep its in-flight calls), finishes
// the batch (the caller gets every result), leaves the gossip cluster and
// exits 0.
func TestWorkerSIGTERMDrains(t *testing.T) {
	events := &leaves{joined: map[string]bool{}, draining: map[string]bool{}, left: map[string]bool{}}
	seed, err := worker.NewMemberlist("seed", "127.0.0.1:0", nil, events, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer seed.Shutdown()
	addr := freeAddrOn(t, "127.0.0.4")
	w := startProc(t, "worker", "--join", seed.LocalNode().Address(), "--listen", addr, "--gossip", "127.0.0.4:0", "--name", "drainer", "--drain", "30s", "-v")
	waitFor(t, "the worker to join", 20*time.Second, func() bool { j, _, _ := events.state("drainer"); return j })

	conn, err := grpc.NewClient(addr, grpcconf.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := rpc.NewEvaluatorServiceClient(conn)
	// About a second of work on one core: many tasks, many instances.
	req := &pb.EvaluateRequest{
		ProtocolVersion: worker.ProtocolVersion, Generation: 1,
		Environment: &pb.EnvironmentConfig{Name: "doors", Width: 11, Height: 7, Walls: 2, RedObjects: 3, StepLimit: 40},
	}
	seeds := make([]uint64, 40)
	for i := range seeds {
		seeds[i] = uint64(i + 1)
	}
	req.Conditions = []*pb.ConditionEpisodes{{Condition: fitness.Train, InstanceSeeds: seeds}}
	for i := range 400 {
		req.Tasks = append(req.Tasks, &pb.EvaluationTask{IndividualId: uint64(i), Genome: genome.ToProto(fitness.ExitSeeker())})
	}
	type answer struct {
		resp *pb.EvaluateResponse
		err  error
		at   time.Time
	}
	done := make(chan answer, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	go func() {
		resp, err := client.Evaluate(ctx, req)
		done <- answer{resp, err, time.Now()}
	}()
	waitFor(t, "the batch to be in flight", 10*time.Second, func() bool { return strings.Contains(w.output(), "first batch received") })
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// New work is refused at once while the batch is still running.
	waitFor(t, "new calls to be refused", 10*time.Second, func() bool {
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		defer ccancel()
		_, err := client.Evaluate(cctx, &pb.EvaluateRequest{ProtocolVersion: worker.ProtocolVersion})
		return status.Code(err) == codes.Unavailable
	})
	a := <-done
	if a.err != nil {
		t.Fatalf("in-flight batch: %v\n%s", a.err, w.output())
	}
	if len(a.resp.GetResults()) != len(req.GetTasks()) {
		t.Fatalf("%d results for %d tasks", len(a.resp.GetResults()), len(req.GetTasks()))
	}
	if err := w.cmd.Wait(); err != nil {
		t.Fatalf("worker exit: %v\n%s", err, w.output())
	}
	waitFor(t, "the seed to see the worker leave", 10*time.Second, func() bool { _, _, l := events.state("drainer"); return l })
	if _, draining, _ := events.state("drainer"); !draining {
		t.Fatal("the worker left without announcing it was draining")
	}
	if !strings.Contains(w.output(), "worker stopped") || !strings.Contains(w.output(), "batches=1") {
		t.Fatalf("no drain summary:\n%s", w.output())
	}
}

// TestProtocolMismatchRefusedBothSides starts a worker that speaks another
// protocol version: the coordinator refuses it with a log line naming both
// versions, the worker logs that the coordinator will refuse it, and the
// run carries on with the compatible worker.
func TestProtocolMismatchRefusedBothSides(t *testing.T) {
	n := newNode(t)
	cmd := exec.Command(binary, n.args("-f", writeExperiment(t, 200), "--workers", "1")...)
	var buf testenv.LogBuffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	gossipRE := regexp.MustCompile(`gossip (127\.0\.0\.1:\d+)`)
	waitFor(t, "the run to start", 30*time.Second, func() bool { return strings.Contains(buf.String(), "gen ") })
	m := gossipRE.FindStringSubmatch(buf.String())
	if m == nil {
		t.Fatalf("no gossip address in:\n%s", buf.String())
	}
	other := fmt.Sprint(worker.ProtocolVersion + 1)
	w := startProc(t, "worker", "--join", m[1], "--listen", "127.0.0.5:0", "--gossip", "127.0.0.5:0", "--name", "old", "--protocol-version", other,
		"--gossip-key-file", filepath.Join(n.data, "gossip.key"), "-v") // mesaopt run's cluster is encrypted
	waitFor(t, "the coordinator to refuse the worker", 20*time.Second, func() bool {
		return strings.Contains(buf.String(), "refusing worker: protocol version differs") && strings.Contains(buf.String(), "worker=old") &&
			strings.Contains(buf.String(), "worker_protocol="+other)
	})
	waitFor(t, "the worker to say so", 20*time.Second, func() bool {
		return strings.Contains(w.output(), "coordinator speaks another protocol version") && strings.Contains(w.output(), "worker_protocol="+other)
	})
	if strings.Contains(w.output(), "first batch received") {
		t.Fatal("a refused worker received work")
	}
}
