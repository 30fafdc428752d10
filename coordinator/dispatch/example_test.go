package dispatch_test

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/mesaopt/mesaopt/coordinator/dispatch"
	"github.com/mesaopt/mesaopt/worker"
)

// A dispatcher over one worker at a known address; in a cluster, gossip
// calls Upsert and Remove through NewMembership instead.
func Example() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	d := dispatch.NewDispatcher(time.Minute, log)
	defer d.Close()
	d.Upsert("w0", worker.Meta{Role: worker.RoleWorker, GRPC: "127.0.0.1:7080", Capacity: 2, Protocol: worker.ProtocolVersion})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := d.Evaluate(dispatch.WithAttemptTimeout(ctx, 30*time.Second), evalRequest())
	if err != nil {
		log.Error("evaluate", "err", err)
		return
	}
	log.Info("evaluated", "worker", resp.GetWorker(), "results", len(resp.GetResults()))
}
