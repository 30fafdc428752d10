package coordinator_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/mesaopt/mesaopt/coordinator/store"
	"github.com/mesaopt/mesaopt/genome"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/worker"
)

// TestFreezeUntrainedRun runs the small door-maze experiment with
// freeze_untrained twice, the second time cancelled and resumed on a fresh
// coordinator: every planner of the final population has its blue weights
// exactly 0, the report names them, and both runs end with the same
// digest, which differs from the run without the control while the train
// fitness selection saw does not.
func TestFreezeUntrainedRun(t *testing.T) {
	spec := smallSpec()
	spec.FreezeUntrained = true
	spec.Population = 16
	spec.Generations = 3
	spec.InitialPlannerShare = 1
	names := spec.Shape().Features
	blue := []int{slices.Index(names, "blue_touched"), slices.Index(names, "dist_blue")}

	cli := startEtcd(t)
	first := runToEnd(t, startCoordinator(t, cli, worker.NewEngine(2)), spec)
	if got := first.GetReport().GetFrozenFeatures(); len(got) != 2 || int(got[0]) != blue[0] || int(got[1]) != blue[1] {
		t.Errorf("report: frozen features %v, want %v", got, blue)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cp, err := store.New(cli, prefixOf(cli)).Checkpoint(ctx, first.GetRunId())
	if err != nil {
		t.Fatal(err)
	}
	if cp.GetGeneration() != uint32(spec.Generations-1) || len(cp.GetPopulation()) != spec.Population {
		t.Fatalf("checkpoint generation %d with %d members", cp.GetGeneration(), len(cp.GetPopulation()))
	}
	planners := 0
	for _, m := range cp.GetPopulation() {
		g, err := genome.FromProto(m.GetGenome(), spec.Shape())
		if err != nil {
			t.Fatal(err)
		}
		if g.Kind != genome.KindPlanner {
			continue
		}
		planners++
		for _, k := range blue {
			if w := g.Planner.Objective[k]; w != 0 {
				t.Errorf("planner #%d: %s = %v, want 0", m.GetId(), names[k], w)
			}
		}
	}
	if planners == 0 {
		t.Fatal("no planner in the final population")
	}

	// The same run, cancelled and resumed on another coordinator.
	c := startCoordinator(t, startEtcd(t), worker.NewEngine(2))
	id, err := c.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Cancel(id); err != nil {
		t.Fatal(err)
	}
	if mid := waitRun(t, ctx, c, id); mid.GetState() != pb.RunState_RUN_STATE_CANCELLED {
		t.Fatalf("after cancel: %v", mid.GetState())
	}
	if err := c.Resume(ctx, id); err != nil {
		t.Fatal(err)
	}
	again := waitRun(t, ctx, c, id)
	if again.GetState() != pb.RunState_RUN_STATE_SUCCEEDED || again.GetFinalDigest() != first.GetFinalDigest() {
		t.Fatalf("second run: %v, digest %s; first %s", again.GetState(), again.GetFinalDigest(), first.GetFinalDigest())
	}

	spec.FreezeUntrained = false
	free := runToEnd(t, startCoordinator(t, startEtcd(t), worker.NewEngine(2)), spec)
	if free.GetFinalDigest() == first.GetFinalDigest() {
		t.Error("the run without freeze_untrained has the same digest")
	}
	if len(free.GetReport().GetFrozenFeatures()) != 0 {
		t.Errorf("run without the control reports frozen features %v", free.GetReport().GetFrozenFeatures())
	}
	// The blue features are 0 in every train state and the frozen weights'
	// draws are discarded, not skipped: selection saw the same fitness in
	// both runs, generation by generation.
	for g, s := range free.GetSummaries() {
		f := first.GetSummaries()[g]
		if s.GetBestFitness() != f.GetBestFitness() || s.GetMeanFitness() != f.GetMeanFitness() ||
			s.GetMeanTrainBase() != f.GetMeanTrainBase() || s.GetBestIndividual() != f.GetBestIndividual() {
			t.Errorf("generation %d: train summary without the control %v, with it %v", g, s, f)
		}
	}
}
