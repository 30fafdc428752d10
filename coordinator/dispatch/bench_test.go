package dispatch_test

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/test/bufconn"

	"github.com/mesaopt/mesaopt/coordinator/dispatch"
	"github.com/mesaopt/mesaopt/internal/grpcconf"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
	"github.com/mesaopt/mesaopt/worker"
)

// simWorker answers every task at no cost after a fixed latency (0: at
// once): it measures what the coordinator and the RPCs cost, not fitness.
type simWorker struct {
	rpc.UnimplementedEvaluatorServiceServer
	latency time.Duration
}

func (s simWorker) Evaluate(ctx context.Context, req *pb.EvaluateRequest) (*pb.EvaluateResponse, error) {
	if s.latency > 0 {
		t := time.NewTimer(s.latency)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	resp := &pb.EvaluateResponse{Results: make([]*pb.EvaluationResult, len(req.GetTasks()))}
	for i, t := range req.GetTasks() {
		r := &pb.EvaluationResult{IndividualId: t.GetIndividualId(), Conditions: make([]*pb.ConditionResult, len(req.GetConditions()))}
		for c := range r.Conditions {
			r.Conditions[c] = &pb.ConditionResult{Condition: req.GetConditions()[c].GetCondition()}
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
		rpc.RegisterEvaluatorServiceServer(srv, simWorker{latency: latency})
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
// bufconn (in-process, no sockets), capacity 1 each, each evaluation
// taking 20 ms of wall time (not CPU): evaluations/s against the ideal
// n × batch / 20 ms, and the coordinator's heap per worker.
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
			b.ResetTimer()
			for b.Loop() {
				dispatchGeneration(b, d, tasks, batch)
			}
			reportEvals(b, tasks)
			ideal := float64(n*batch) / latency.Seconds()
			b.ReportMetric(float64(tasks*b.N)/b.Elapsed().Seconds()/ideal, "of-ideal")
			b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/float64(n)/1024, "KiB-heap/worker")
		})
	}
}
