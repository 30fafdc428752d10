package dispatch_test

import (
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/mesaopt/mesaopt/coordinator/dispatch"
	"github.com/mesaopt/mesaopt/internal/grpcconf"
	"github.com/mesaopt/mesaopt/internal/mtls"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
	"github.com/mesaopt/mesaopt/worker"
)

// BenchmarkDispatchTLS is one generation of zero-cost tasks through 2
// workers on loopback TCP, plaintext and mutual TLS side by side, with the
// certificates and policy the coordinator and workers use: what TLS costs
// dispatch (connections are set up once, before the timer).
//
//	go test -run '^$' -bench DispatchTLS -benchmem ./coordinator/dispatch
func BenchmarkDispatchTLS(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "tls")
	if err := mtls.WriteDir(dir, nil); err != nil {
		b.Fatal(err)
	}
	coord, err := mtls.LoadFrom(dir, mtls.FileCoordinator)
	if err != nil {
		b.Fatal(err)
	}
	wid, err := mtls.LoadFrom(dir, mtls.FileWorker)
	if err != nil {
		b.Fatal(err)
	}
	const workers, capacity, tasks, batch = 2, 4, 480, 8
	for _, secure := range []bool{false, true} {
		name := "plaintext"
		if secure {
			name = "tls"
		}
		b.Run(name, func(b *testing.B) {
			var opts []dispatch.DispatchOption
			srvOpts := grpcconf.ServerOptions()
			if secure {
				opts = append(opts, dispatch.WithDialOptions(grpc.WithTransportCredentials(credentials.NewTLS(coord.ClientTLS(mtls.RoleWorker, false)))))
				srvOpts = append(srvOpts, worker.Policy.ServerOptions(wid)...)
			}
			d := dispatch.NewDispatcher(time.Minute, quietLog(), opts...)
			b.Cleanup(d.Close)
			for i := range workers {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				srv := grpc.NewServer(srvOpts...)
				rpc.RegisterEvaluatorServiceServer(srv, worker.Streaming(simWorker{slots: make(chan struct{}, capacity)}))
				done := make(chan struct{})
				go func() { defer close(done); _ = srv.Serve(l) }()
				b.Cleanup(func() { srv.Stop(); <-done })
				d.Upsert(fmt.Sprintf("w%d", i), worker.Meta{Role: worker.RoleWorker, GRPC: l.Addr().String(), Capacity: capacity, Protocol: worker.ProtocolVersion})
			}
			dispatchGeneration(b, d, tasks, batch) // connect every worker
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				dispatchGeneration(b, d, tasks, batch)
			}
		})
	}
}
