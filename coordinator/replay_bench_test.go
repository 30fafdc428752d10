package coordinator_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/mesaopt/mesaopt/coordinator/dispatch"
	"github.com/mesaopt/mesaopt/experiment"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/worker"
)

// BenchmarkLiarReplay is the cost of catching a liar: an 8-generation run
// of the default experiment (population 48, audit_rate 0.05) on two
// honest loopback workers, alone ("honest") and with a third worker that
// answers base 1.0 for every genome from generation 3 on ("liar"). The
// liar is caught by an audit, quarantined, and the run rolls back to the
// checkpoint before its first answer and replays; the ratio of the two is
// what a caught liar costs. Each iteration is a whole run; replayed/op
// reports the generations replayed.
func BenchmarkLiarReplay(b *testing.B) {
	spec := experiment.Default()
	spec.Generations = 8
	spec.CheckpointRetention = 8
	for _, tc := range []struct {
		name string
		liar bool
	}{{"honest", false}, {"liar", true}} {
		b.Run(tc.name, func(b *testing.B) {
			var replayed uint32
			for b.Loop() {
				d := dispatch.NewDispatcher(10*time.Second, slog.New(slog.DiscardHandler))
				for _, name := range []string{"honest-1", "honest-2"} {
					serveWorker(b, d, &evaluatorServer{name: name, engine: worker.NewEngine(1)})
				}
				if tc.liar {
					serveWorker(b, d, &evaluatorServer{name: "liar", engine: worker.NewEngine(1), lie: func(req *pb.EvaluateRequest, r *pb.EvaluateResponse) {
						if req.GetGeneration() >= 3 && len(r.GetResults()) > 1 {
							eachCondition(r, func(c *pb.ConditionResult) { c.Base = 1 })
						}
					}})
				}
				c := startCoordinator(b, startEtcd(b), d)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
				id, err := c.Submit(ctx, spec)
				if err != nil {
					b.Fatal(err)
				}
				run := waitRun(b, ctx, c, id)
				cancel()
				if run.GetState() != pb.RunState_RUN_STATE_SUCCEEDED {
					b.Fatalf("run ended %v: %s", run.GetState(), run.GetError())
				}
				for _, s := range run.GetSummaries() {
					replayed += s.GetReplayedGenerations()
				}
				d.Close()
			}
			b.ReportMetric(float64(replayed)/float64(b.N), "replayed/op")
		})
	}
}
