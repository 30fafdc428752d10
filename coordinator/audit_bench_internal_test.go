package coordinator

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/mesaopt/mesaopt/coordinator/dispatch"
	"github.com/mesaopt/mesaopt/coordinator/ga"
	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/internal/grpcconf"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
	"github.com/mesaopt/mesaopt/worker"
)

type namedEngine struct {
	rpc.UnimplementedEvaluatorServiceServer
	name   string
	engine *worker.Engine
}

func (n *namedEngine) Evaluate(ctx context.Context, req *pb.EvaluateRequest) (*pb.EvaluateResponse, error) {
	resp, err := n.engine.Evaluate(ctx, req)
	if err == nil {
		resp.Worker = n.name
	}
	return resp, err
}

// loopbackCluster returns a Dispatcher over n workers of capacity 1, each
// an in-process engine served over loopback gRPC, stopped when b ends.
func loopbackCluster(b *testing.B, n int) *dispatch.Dispatcher {
	d := dispatch.NewDispatcher(time.Minute, slog.New(slog.DiscardHandler))
	b.Cleanup(d.Close)
	for i := range n {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		s := grpc.NewServer(grpcconf.ServerOptions()...)
		name := fmt.Sprintf("w%d", i)
		rpc.RegisterEvaluatorServiceServer(s, worker.Streaming(&namedEngine{name: name, engine: worker.NewEngine(1)}))
		done := make(chan struct{})
		go func() { defer close(done); _ = s.Serve(lis) }()
		b.Cleanup(func() { s.Stop(); <-done })
		d.Upsert(name, worker.Meta{Role: worker.RoleWorker, GRPC: lis.Addr().String(), Capacity: 1, Protocol: worker.ProtocolVersion, Digest: worker.EvaluationDigest()})
	}
	return d
}

// BenchmarkAuditedGeneration is the cost of auditing: generation 0 of the
// default experiment (population 48) on 3 loopback workers, evaluated and
// audited as a run does, at audit_rate 0 and at the default 0.05.
func BenchmarkAuditedGeneration(b *testing.B) {
	for _, rate := range []float64{0, experiment.Default().AuditRate} {
		b.Run(fmt.Sprintf("audit_rate=%g", rate), func(b *testing.B) {
			d := loopbackCluster(b, 3)
			spec := experiment.Default()
			spec.AuditRate = rate
			opt, err := ga.NewFrozen(spec, spec.Shape(), nil)
			if err != nil {
				b.Fatal(err)
			}
			members, births, _ := opt.Initial()
			ctx := context.Background()
			arbiter := newArbiter()
			audited := 0
			b.ReportAllocs()
			for b.Loop() {
				picks := auditPicks(spec, 0, len(members))
				e, err := evaluate(ctx, d, d, "bench", spec, 0, members, births, picks)
				if err != nil {
					b.Fatal(err)
				}
				out, err := audit(ctx, d, arbiter, spec, e, picks)
				if err != nil || len(out.liars) > 0 {
					b.Fatal(err, out.liars)
				}
				audited += len(out.audited)
			}
			b.ReportMetric(float64(audited)/float64(b.N), "audited/op")
		})
	}
}
