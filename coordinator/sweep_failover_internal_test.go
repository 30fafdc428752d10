package coordinator

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mesaopt/mesaopt/coordinator/store"
	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/internal/testenv"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// TestSweepFailover: the leader loses its leadership in the middle of a
// sweep, after committing generation 1 of one of its runs, and a second
// sweep is recorded whose runs were never created (a leader that stopped
// between the two writes). The standby resumes the first sweep's runs and
// creates and runs the second's; every run ends with the digest it has
// alone.
func TestSweepFailover(t *testing.T) {
	testenv.Heavy(t)
	spec := failoverSpec()
	spec.Generations = 4
	spec.Sweep = &experiment.Sweep{Seeds: experiment.Seeds{1, 2}, Set: experiment.Parameters{{Path: "elites", Values: []string{"1", "2"}}}}
	cli := testenv.Client(t, testenv.Etcd(t, 0).Endpoints()...)
	var once sync.Once
	testHookCommitted = func(c *Coordinator, run string, gen uint32) {
		if c.cfg.Name != "A" || gen != 1 {
			return
		}
		once.Do(func() {
			rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer rcancel()
			if _, err := cli.Revoke(rctx, c.term.Load().session.Lease()); err != nil {
				t.Errorf("revoke: %v", err)
			}
		})
	}
	t.Cleanup(func() { testHookCommitted = nil })
	a, aStarted := startNamed(t, cli, "A")
	if err := <-aStarted; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// The second sweep: recorded, its runs not created.
	orphan := spec
	orphan.Sweep = &experiment.Sweep{Seeds: experiment.Seeds{3, 4}}
	orphanRec := &pb.SweepRecord{SweepId: "orphan-sweep", Spec: func() *pb.ExperimentSpec { b := orphan; b.Sweep = nil; return b.ToProto() }(),
		Definition: experiment.SweepToProto(orphan.Sweep)}
	for k, seed := range orphan.Sweep.Seeds {
		orphanRec.Runs = append(orphanRec.Runs, &pb.SweepRun{RunId: sweepRunID("orphan-sweep", k, 2), Seed: seed, Values: []string{}})
	}
	if err := a.write(ctx, "orphan sweep", func(ctx context.Context, f store.Fence) error { return a.store.CreateSweep(ctx, f, orphanRec) }); err != nil {
		t.Fatal(err)
	}
	b, _ := startNamed(t, cli, "B")
	id, runs, err := a.SubmitSweep(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	expanded, err := spec.Runs()
	if err != nil {
		t.Fatal(err)
	}
	orphans, err := orphan.Runs()
	if err != nil {
		t.Fatal(err)
	}
	check := func(sweepID string, runs []*pb.SweepRun, specs []experiment.SweepRun) {
		for k, r := range runs {
			got := waitSucceeded(t, b, r.GetRunId(), spec.Generations)
			solo, err := b.Submit(ctx, specs[k].Spec)
			if err != nil {
				t.Fatal(err)
			}
			want := waitSucceeded(t, b, solo, spec.Generations)
			if got.GetFinalDigest() != want.GetFinalDigest() {
				t.Fatalf("sweep %s run %s: digest after the failover %s, alone %s", sweepID, r.GetRunId(), got.GetFinalDigest(), want.GetFinalDigest())
			}
		}
	}
	check(id, runs, expanded)
	check("orphan-sweep", orphanRec.GetRuns(), orphans)
	sw, err := b.GetSweep(ctx, id)
	if err != nil || sw.GetState() != pb.RunState_RUN_STATE_SUCCEEDED {
		t.Fatalf("sweep after failover: %v, %v", sw.GetState(), err)
	}
}
