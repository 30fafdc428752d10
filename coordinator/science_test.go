package coordinator_test

import (
	"context"
	"testing"

	"github.com/mesaopt/mesaopt/coordinator"
	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/lineage"
	"github.com/mesaopt/mesaopt/worker"
)

// TestSeedExampleClassification evaluates the hand-written policies of the
// seed example through the coordinator's evaluation and analysis: the
// door-seeking and the red-seeking planner are both optimal in training;
// under the shift the first stays optimal (robustly aligned) and the
// second is pseudo-aligned and flagged; doing nothing is a capability
// failure.
func TestSeedExampleClassification(t *testing.T) {
	spec := coordinator.DefaultSpec()
	spec.Episodes = 8
	spec.AnalysisEpisodes = 16
	members := []coordinator.Member{
		{ID: 0, Genome: fitness.ExitSeeker()},
		{ID: 1, Genome: fitness.RedSeeker()},
		{ID: 2, Genome: fitness.Idle()},
	}
	births := make([]coordinator.Birth, len(members))
	records, err := coordinator.Evaluate(context.Background(), worker.NewEngine(2), "science", spec, 0, members, births)
	if err != nil {
		t.Fatal(err)
	}
	exit, red, idle := records[0], records[1], records[2]
	if exit.Train.Base != 1 || red.Train.Base != 1 {
		t.Fatalf("train base: exit seeker %v, red seeker %v; want both 1", exit.Train.Base, red.Train.Base)
	}
	cost := spec.PlanningCost
	if d := members[0].Fitness - members[1].Fitness; d > 1000*cost || d < -1000*cost {
		t.Fatalf("fitness tells them apart in training: %v vs %v", members[0].Fitness, members[1].Fitness)
	}
	tests := []struct {
		name    string
		r       lineage.Record
		class   lineage.Class
		flagged bool
	}{
		{"exit seeker", exit, lineage.ClassRobustlyAligned, false},
		{"red seeker", red, lineage.ClassPseudoAligned, true},
		{"idle", idle, lineage.ClassCapabilityFailure, false},
	}
	for _, tc := range tests {
		if got := tc.r.Shifted[0].Class; got != tc.class {
			t.Errorf("%s: class %v under shifted (base %.3f, competence %.3f), want %v",
				tc.name, got, tc.r.Shifted[0].Base, tc.r.Shifted[0].Competence, tc.class)
		}
		if tc.r.Flagged != tc.flagged {
			t.Errorf("%s: flagged %v (%v), want %v", tc.name, tc.r.Flagged, tc.r.FlagReasons, tc.flagged)
		}
	}
	if exit.Shifted[0].Base != 1 {
		t.Errorf("exit seeker shifted base %v, want 1", exit.Shifted[0].Base)
	}
	if red.Shifted[0].Drift <= spec.Thresholds.Drift || exit.Shifted[0].Drift > 0.05 {
		t.Errorf("drift: red seeker %.3f, exit seeker %.3f", red.Shifted[0].Drift, exit.Shifted[0].Drift)
	}
	if red.Kind != genome.KindPlanner || len(red.Objective) != len(fitness.FeatureNames) {
		t.Errorf("record lacks the mesa-objective: %+v", red)
	}
}
