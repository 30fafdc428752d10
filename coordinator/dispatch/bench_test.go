package dispatch_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"

	"github.com/mesaopt/mesaopt/coordinator/dispatch"
	"github.com/mesaopt/mesaopt/internal/grpcconf"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
	"github.com/mesaopt/mesaopt/worker"
)

// simWorker answers every task at no cost after a fixed latency (0: at
// once): it measures what the coordinator and the RPCs cost, not fitness.
// With slots, it evaluates at most cap(slots) batches at once, as a worker
// of that capacity, and reports the latency as each batch's cost.
type simWorker struct {
	rpc.UnimplementedEvaluatorServiceServer
	latency time.Duration
	slots   chan struct{} // nil: no limit
}

func (s simWorker) Evaluate(ctx context.Context, req *pb.EvaluateRequest) (*pb.EvaluateResponse, error) {
	if s.slots != nil {
		select {
		case s.slots <- struct{}{}:
			defer func() { <-s.slots }()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if s.latency > 0 {
		t := time.NewTimer(s.latency)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
		worker.AddEvalTime(ctx, s.latency)
	}
	resp := &pb.EvaluateResponse{Results: make([]*pb.EvaluationResult, len(req.GetTasks()))}
	for i, t := range req.GetTasks() {
		r := &pb.EvaluationResult{IndividualId: t.GetIndividualId(), Conditions: make([]*pb.ConditionResult, len(req.GetConditions()))}
		for c := range r.Conditions {
			r.Conditions[c] = &pb.ConditionResult{Condition: req.GetConditions()[c].GetCondition(), Episodes: uint32(len(req.GetConditions()[c].GetInstanceSeeds()))}
		}
		resp.Results[i] = r
	}
	return resp, nil
}

// simCluster serves n simWorkers (capacity each) and registers them with a
// new Dispatcher, over bufconn (in memory) or loopback TCP.
func simCluster(b *testing.B, n, capacity int, latency time.Duration, inMemory bool) *dispatch.Dispatcher {
	b.Helper()
	lis := map[string]*bufconn.Listener{}
	var opts []dispatch.DispatchOption
	if inMemory {
		opts = append(opts, dispatch.WithDialOptions(grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return lis[addr].DialContext(ctx)
		})))
	}
	d := dispatch.NewDispatcher(time.Minute, quietLog(), opts...)
	b.Cleanup(d.Close)
	for i := range n {
		var l net.Listener
		addr := fmt.Sprintf("sim-%d", i)
		if inMemory {
			bl := bufconn.Listen(1 << 20)
			lis[addr] = bl
			l = bl
			addr = "passthrough:///" + addr
		} else {
			tl, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			l, addr = tl, tl.Addr().String()
		}
		srv := grpc.NewServer(grpcconf.ServerOptions()...)
		rpc.RegisterEvaluatorServiceServer(srv, worker.Streaming(simWorker{latency: latency, slots: make(chan struct{}, capacity)}))
		done := make(chan struct{})
		go func() { defer close(done); _ = srv.Serve(l) }()
		b.Cleanup(func() { srv.Stop(); <-done })
		if inMemory {
			lis[fmt.Sprintf("sim-%d", i)] = l.(*bufconn.Listener)
			lis[addr] = l.(*bufconn.Listener)
		}
		d.Upsert(fmt.Sprintf("w%04d", i), worker.Meta{Role: worker.RoleWorker, GRPC: addr, Capacity: capacity, Protocol: worker.ProtocolVersion})
	}
	return d
}

// dispatchGeneration routes tasks individuals in batches of batch, all
// batches at once, as Evaluate does for a generation.
func dispatchGeneration(b *testing.B, d *dispatch.Dispatcher, tasks, batch int) {
	base := evalRequest()
	g, ctx := errgroup.WithContext(context.Background())
	for lo := 0; lo < tasks; lo += batch {
		req := &pb.EvaluateRequest{ProtocolVersion: base.ProtocolVersion, Generation: base.Generation,
			Environment: base.Environment, Conditions: base.Conditions}
		for i := lo; i < min(lo+batch, tasks); i++ {
			req.Tasks = append(req.Tasks, &pb.EvaluationTask{IndividualId: uint64(i), Genome: base.Tasks[0].Genome})
		}
		g.Go(func() error {
			_, err := d.Evaluate(ctx, req)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkDispatchRuns routes 4,096 zero-cost evaluations in batches of
// 4 to 2 local workers (loopback gRPC, capacity 4 each), split among runs
// that submit their generations at once, as a sweep's runs do: what
// sharing the workers between runs costs per evaluation, by number of runs.
func BenchmarkDispatchRuns(b *testing.B) {
	const tasks, batch = 4096, 4
	for _, runs := range []int{1, 4, 20} {
		b.Run(fmt.Sprintf("runs-%d", runs), func(b *testing.B) {
			d := simCluster(b, 2, 4, 0, false)
			base := evalRequest()
			var reqs []*pb.EvaluateRequest
			for lo := 0; lo < tasks; lo += batch {
				req := &pb.EvaluateRequest{ProtocolVersion: base.ProtocolVersion, RunId: fmt.Sprintf("run-%d", lo*runs/tasks),
					Generation: base.Generation, Environment: base.Environment, Conditions: base.Conditions}
				for i := lo; i < min(lo+batch, tasks); i++ {
					req.Tasks = append(req.Tasks, &pb.EvaluationTask{IndividualId: uint64(i), Genome: base.Tasks[0].Genome})
				}
				reqs = append(reqs, req)
			}
			b.ReportAllocs()
			for b.Loop() {
				g, ctx := errgroup.WithContext(context.Background())
				for _, req := range reqs {
					g.Go(func() error {
						_, err := d.Evaluate(ctx, req)
						return err
					})
				}
				if err := g.Wait(); err != nil {
					b.Fatal(err)
				}
			}
			reportEvals(b, tasks)
		})
	}
}

func reportEvals(b *testing.B, tasks int) {
	evals := float64(tasks * b.N)
	b.ReportMetric(evals/b.Elapsed().Seconds(), "evals/s")
	b.ReportMetric(b.Elapsed().Seconds()*1e6/evals, "µs/eval")
}

// BenchmarkDispatchOverhead routes generations of 4,096 zero-cost
// evaluations to 2 local workers (loopback gRPC, capacity 4 each): what
// the coordinator, protobuf and the RPCs cost per evaluation, by batch size.
func BenchmarkDispatchOverhead(b *testing.B) {
	const tasks = 4096
	for _, batch := range []int{1, 4, 16, 64} {
		b.Run(fmt.Sprintf("batch-%d", batch), func(b *testing.B) {
			d := simCluster(b, 2, 4, 0, false)
			b.ReportAllocs()
			for b.Loop() {
				dispatchGeneration(b, d, tasks, batch)
			}
			reportEvals(b, tasks)
		})
	}
}

// BenchmarkSimulatedWorkers routes generations to n simulated workers over
// bufconn (in-process, no sockets), capacity 1 each (one batch evaluated
// at a time, the next waiting), each evaluation taking 20 ms of wall time
// (not CPU): evaluations/s against the ideal n × batch / 20 ms, the
// coordinator's heap per worker, and the CPU time per batch of the whole
// process (the coordinator and the simulated workers' gRPC servers).
func BenchmarkSimulatedWorkers(b *testing.B) {
	const latency = 20 * time.Millisecond
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("workers-%d", n), func(b *testing.B) {
			const batch = 4
			tasks := 4 * n * batch // four rounds of every worker
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			d := simCluster(b, n, 1, latency, true)
			dispatchGeneration(b, d, n*batch, batch) // connect every worker
			runtime.GC()
			runtime.ReadMemStats(&after)
			cpu0 := cpuTime()
			b.ResetTimer()
			for b.Loop() {
				dispatchGeneration(b, d, tasks, batch)
			}
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(tasks/batch*b.N), "cpu-µs/batch")
			reportEvals(b, tasks)
			ideal := float64(n*batch) / latency.Seconds()
			b.ReportMetric(float64(tasks*b.N)/b.Elapsed().Seconds()/ideal, "of-ideal")
			// Signed: a collection between the two reads can leave less in use.
			b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/float64(n)/1024, "KiB-heap/worker")
		})
	}
}

// simWorkerEnv, set in a child process's environment, makes the test
// binary serve a simWorker on loopback instead of running tests: it prints
// its address on a line of its own and serves until its stdin closes.
const simWorkerEnv = "MESAOPT_SIM_WORKER"

// TestMain runs the tests, or serves a simulated worker process (see
// simWorkerEnv).
func TestMain(m *testing.M) {
	if os.Getenv(simWorkerEnv) != "" {
		serveSimProcess()
		return
	}
	os.Exit(m.Run())
}

func serveSimProcess() {
	runtime.GOMAXPROCS(1) // as a `mesaopt worker --capacity 1`
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv := grpc.NewServer(grpcconf.ServerOptions()...)
	rpc.RegisterEvaluatorServiceServer(srv, worker.Streaming(simWorker{}))
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	fmt.Println(lis.Addr().String())
	_, _ = io.Copy(io.Discard, os.Stdin)
	srv.Stop()
	<-done
}

// simProcesses starts n simulated worker processes (this test binary, see
// simWorkerEnv) and registers them with a new Dispatcher at capacity each.
func simProcesses(b *testing.B, n, capacity int) *dispatch.Dispatcher {
	b.Helper()
	d := dispatch.NewDispatcher(time.Minute, quietLog())
	b.Cleanup(d.Close)
	for i := range n {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), simWorkerEnv+"=1")
		stdin, err := cmd.StdinPipe()
		if err != nil {
			b.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
		addr, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil {
			b.Fatalf("simulated worker %d: %v", i, err)
		}
		d.Upsert(fmt.Sprintf("proc-%d", i), worker.Meta{Role: worker.RoleWorker, GRPC: strings.TrimSpace(addr), Capacity: capacity, Protocol: worker.ProtocolVersion})
	}
	return d
}

// generationRequests splits tasks zero-cost individuals into batches of
// batch sharing one session, as coordinator.Evaluate builds them.
func generationRequests(tasks, batch int) []*pb.EvaluateRequest {
	base := evalRequest()
	base.SessionDigest = worker.SessionDigest(base)
	var reqs []*pb.EvaluateRequest
	for lo := 0; lo < tasks; lo += batch {
		var ts []*pb.EvaluationTask
		for i := lo; i < min(lo+batch, tasks); i++ {
			ts = append(ts, &pb.EvaluationTask{IndividualId: uint64(i), Genome: base.Tasks[0].Genome})
		}
		reqs = append(reqs, dispatch.WithTasks(base, ts))
	}
	return reqs
}

// BenchmarkDispatchProcesses routes generations of 4,096 zero-cost
// evaluations to 2 simulated worker processes over loopback TCP (capacity
// 4 each, in-flight window set by the batch cost), by batch size, "auto" being
// coordinator.AutoBatchSize's choice for that population and capacity
// (ceil(4096 / (4 × 8)) = 128). Besides evals/s it reports the
// coordinator's own cost per batch call, the workers being other
// processes: CPU time (user + system, µs) and heap allocations, which
// include the caller's goroutine per batch and the decoding of the
// results; dispatch-allocs/batch leaves those two out (measured here
// apart: decoding the answers of 16 batches from one message, and 16
// errgroup calls), so it counts what the dispatcher and the stream's
// transport allocate. make bench-peers compares evals/s with DEAP's
// multiprocessing.Pool(2).map at the same batch (chunk) size.
func BenchmarkDispatchProcesses(b *testing.B) {
	const tasks, workers, capacity = 4096, 2, 4
	for _, tc := range []struct {
		name  string
		batch int
	}{{"batch-1", 1}, {"batch-4", 4}, {"batch-512", 512}, {"auto", (tasks + 4*workers*capacity - 1) / (4 * workers * capacity)}} {
		b.Run(tc.name, func(b *testing.B) {
			d := simProcesses(b, workers, capacity)
			reqs := generationRequests(tasks, tc.batch)
			run := func() {
				g, ctx := errgroup.WithContext(context.Background())
				for _, req := range reqs {
					g.Go(func() error {
						_, err := d.Evaluate(ctx, req)
						return err
					})
				}
				if err := g.Wait(); err != nil {
					b.Fatal(err)
				}
			}
			run() // connect, send the session
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			cpu0 := cpuTime()
			b.ResetTimer()
			for b.Loop() {
				run()
			}
			b.StopTimer()
			cpu := cpuTime() - cpu0
			runtime.ReadMemStats(&after)
			calls := float64(len(reqs) * b.N)
			reportEvals(b, tasks)
			b.ReportMetric(float64(cpu.Microseconds())/calls, "cpu-µs/batch")
			allocs := float64(after.Mallocs-before.Mallocs) / calls
			b.ReportMetric(allocs, "allocs/batch")
			b.ReportMetric(allocs-answerAllocs(tc.batch)-callerAllocs(), "dispatch-allocs/batch")
		})
	}
}

// answerAllocs is what decoding one answer of a zero-cost batch of n
// tasks allocates, 16 answers coming in one message: the results the
// caller receives.
func answerAllocs(n int) float64 {
	const answers = 16
	resp, err := simWorker{}.Evaluate(context.Background(), generationRequests(n, n)[0])
	if err != nil {
		panic(err)
	}
	m := &pb.EvaluateStreamResponse{Worker: "proc-0"}
	for i := range answers {
		m.Answers = append(m.Answers, &pb.BatchAnswer{BatchId: uint64(i), Results: resp.GetResults(), EvalNs: 1000})
	}
	buf, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	r := &pb.EvaluateStreamResponse{}
	return testing.AllocsPerRun(20, func() {
		if err := proto.Unmarshal(buf, r); err != nil {
			panic(err)
		}
	}) / answers
}

var callSink atomic.Pointer[pb.EvaluateRequest]

// callerAllocs is what starting one batch's call in an errgroup
// allocates, as the benchmark's caller does.
func callerAllocs() float64 {
	const calls = 16
	req := &pb.EvaluateRequest{}
	return testing.AllocsPerRun(20, func() {
		var g errgroup.Group
		for range calls {
			g.Go(func() error {
				callSink.Store(req)
				return nil
			})
		}
		_ = g.Wait()
	}) / calls
}

// cpuTime is this process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
