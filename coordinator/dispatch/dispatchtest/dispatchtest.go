// Package dispatchtest provides test doubles for code that dispatches
// evaluations: a worker that crashes, hangs or refuses large batches on
// purpose, served over real gRPC on loopback.
package dispatchtest

import (
	"context"
	"net"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mesaopt/mesaopt/coordinator/dispatch"
	"github.com/mesaopt/mesaopt/internal/grpcconf"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
	"github.com/mesaopt/mesaopt/worker"
)

// FaultyWorker is an Evaluator gRPC server over a real worker.Engine that
// misbehaves on purpose: on a batch holding the poison individual it fails
// (crash: Internal, as a worker's panic recovery answers) or hangs until the
// call's deadline; when Hang is set it hangs on every batch (a SIGSTOPped
// worker); when TooLarge > 0 it refuses batches of more tasks with
// ResourceExhausted. Safe for concurrent calls.
type FaultyWorker struct {
	rpc.UnimplementedEvaluatorServiceServer
	Name      string
	Engine    *worker.Engine
	Poison    uint64
	PoisonErr bool // true: Internal error; false: hang
	Hang      bool
	TooLarge  int

	mu    sync.Mutex
	sizes []int // tasks per call received
}

// Evaluate answers req as the worker's faults say.
func (f *FaultyWorker) Evaluate(ctx context.Context, req *pb.EvaluateRequest) (*pb.EvaluateResponse, error) {
	f.mu.Lock()
	f.sizes = append(f.sizes, len(req.GetTasks()))
	f.mu.Unlock()
	if f.TooLarge > 0 && len(req.GetTasks()) > f.TooLarge {
		return nil, status.Error(codes.ResourceExhausted, "grpc: received message larger than max")
	}
	poisoned := false
	for _, t := range req.GetTasks() {
		poisoned = poisoned || (f.Poison != 0 && t.GetIndividualId() == f.Poison)
	}
	if f.Hang || (poisoned && !f.PoisonErr) {
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	if poisoned {
		return nil, status.Errorf(codes.Internal, "worker %s: evaluation panicked: poison", f.Name)
	}
	resp, err := f.Engine.Evaluate(ctx, req)
	if err != nil {
		return nil, err
	}
	resp.Worker = f.Name
	return resp, nil
}

// Calls returns the number of tasks of each call received, in order.
func (f *FaultyWorker) Calls() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.sizes...)
}

// Serve serves f on loopback until the test ends and registers it
// with d under f.Name.
func Serve(t testing.TB, d *dispatch.Dispatcher, f *FaultyWorker) {
	t.Helper()
	if f.Engine == nil {
		f.Engine = worker.NewEngine(1)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpcconf.ServerOptions()...)
	rpc.RegisterEvaluatorServiceServer(srv, worker.Streaming(f))
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	t.Cleanup(func() { srv.Stop(); <-done })
	d.Upsert(f.Name, worker.Meta{Role: worker.RoleWorker, GRPC: lis.Addr().String(), Capacity: 1, Protocol: worker.ProtocolVersion})
}
