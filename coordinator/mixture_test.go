package coordinator_test

import (
	"context"
	"math"
	"testing"

	"github.com/mesaopt/mesaopt/coordinator"
	"github.com/mesaopt/mesaopt/coordinator/ga"
	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/genome"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/worker"
)

// A training mixture of train alone (train 1, shifted 0) is the run
// without one, bit for bit; a real mixture changes what selection sees,
// and stays a pure function of spec and seed.
func TestMixtureRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three shortened experiments")
	}
	c := startCoordinator(t, startEtcd(t), worker.NewEngine(2))
	plain := goldenSpec()
	plain.Generations = 4
	alone := plain
	alone.Selection = experiment.Mixture{{Condition: "train", Weight: 1}, {Condition: "shifted", Weight: 0}}
	mixed := plain
	mixed.Selection = experiment.Mixture{{Condition: "train", Weight: 0.5}, {Condition: "shifted", Weight: 0.5}}
	a, b := runToEnd(t, c, plain), runToEnd(t, c, alone)
	if a.GetFinalDigest() != b.GetFinalDigest() {
		t.Fatalf("train 1, shifted 0: digest %s, want the plain run's %s", b.GetFinalDigest(), a.GetFinalDigest())
	}
	m1, m2 := runToEnd(t, c, mixed), runToEnd(t, c, mixed)
	if m1.GetFinalDigest() != m2.GetFinalDigest() {
		t.Fatalf("the same mixture twice: digests %s and %s", m1.GetFinalDigest(), m2.GetFinalDigest())
	}
	if m1.GetFinalDigest() == a.GetFinalDigest() {
		t.Fatal("a 50/50 mixture gave the plain run's digest: selection did not see the shifted episodes")
	}
	// Generation 0's population is the same; its fitness is not.
	s0, m0 := a.GetSummaries()[0], m1.GetSummaries()[0]
	if s0.GetMeanTrainBase() != m0.GetMeanTrainBase() {
		t.Fatalf("generation 0's train analysis differs (%v vs %v): the analysis must not depend on the mixture", s0.GetMeanTrainBase(), m0.GetMeanTrainBase())
	}
	if math.Abs(s0.GetMeanFitness()-m0.GetMeanFitness()) < 1e-12 {
		t.Fatalf("generation 0's mean fitness is the same under the mixture: %v", m0.GetMeanFitness())
	}
}

// Under a mixture a genome's fitness is the mean over the generation's
// selection episodes, whichever condition each came from: checked against
// each episode evaluated on its own.
func TestMixtureFitnessPerEpisode(t *testing.T) {
	spec := experiment.Default()
	spec.Selection = experiment.Mixture{{Condition: "train", Weight: 0.5}, {Condition: "blue-doors", Weight: 0.3}, {Condition: "shifted", Weight: 0.2}}
	spec.Episodes = 10
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	env := spec.Env()
	g := reference("exit")(env)
	eng := worker.NewEngine(2)
	const gen = 3
	members := []ga.Member{{ID: 1, Genome: g}}
	if _, err := coordinator.Evaluate(context.Background(), eng, "mix", spec, gen, members, []ga.Birth{{ID: 1}}); err != nil {
		t.Fatal(err)
	}
	conds := spec.SelectionEpisodes(gen)
	var base, nodes float64
	seen := map[string]int{}
	for e, c := range conds {
		seen[c]++
		req := &pb.EvaluateRequest{ProtocolVersion: worker.ProtocolVersion, RunId: "mix", Generation: gen,
			Environment: experiment.EnvironmentToProto(spec.Environment),
			Conditions:  []*pb.ConditionEpisodes{{Condition: c, InstanceSeeds: []uint64{fitness.InstanceSeed(spec.Seed, gen, c, e)}}},
			Tasks:       []*pb.EvaluationTask{{IndividualId: 1, Genome: genome.ToProto(g)}}}
		resp, err := eng.Evaluate(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		r := resp.GetResults()[0].GetConditions()[0]
		base += r.GetBase() / float64(len(conds))
		nodes += r.GetNodes() / float64(len(conds))
	}
	if seen["train"] != 5 || seen["blue-doors"] != 3 || seen["shifted"] != 2 {
		t.Fatalf("generation %d's episodes per condition = %v, want 5, 3, 2 of 10", gen, seen)
	}
	want := base - spec.PlanningCost*nodes
	if got := members[0].Fitness; math.Abs(got-want) > 1e-12 {
		t.Fatalf("fitness = %v, want the mean over the 10 episodes %v", got, want)
	}
}
