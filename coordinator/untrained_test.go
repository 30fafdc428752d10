package coordinator_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mesaopt/mesaopt/coordinator"
	"github.com/mesaopt/mesaopt/coordinator/ga"
	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/lineage"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/worker"
)

// TestUntrainedPlanted plants, in the door maze with one change per
// condition, an exit seeker that also hates blue objects (blue_touched
// weight −5). Train has no blue object, so blue_touched and dist_blue are 0
// in every state its search evaluates: untrained, and its train behaviour
// is the exit seeker's. Under blue-doors every door is blue and entering
// one costs it 5, more than reaching the exit gains, so it stops before the
// doors and its base falls; with its untrained weights at 0 it is the exit
// seeker again, which passes the doors whatever their colour, so the
// failure is explained whole (share ≈ 1). The plain exit seeker has no
// weight on an untrained feature, and nothing to explain.
func TestUntrainedPlanted(t *testing.T) {
	spec, err := experiment.Load(filepath.Join("..", "experiments", "doors.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	spec.AnalysisEpisodes = 8
	env, err := fitness.LookupEnv(spec.Environment.Name)
	if err != nil {
		t.Fatal(err)
	}
	features := env.Features()
	blue := slices.Index(features, "blue_touched")
	distBlue := slices.Index(features, "dist_blue")
	bd := slices.Index(spec.ShiftedConditions, "blue-doors")
	if blue < 0 || distBlue < 0 || bd < 0 {
		t.Fatalf("features %v, conditions %v", features, spec.ShiftedConditions)
	}
	exit, _ := env.Planner("exit")
	avoider := exit.Clone()
	avoider.Planner.Objective[blue] = -5
	members := []ga.Member{{ID: 5, Genome: avoider, Fitness: 1}, {ID: 6, Genome: exit, Fitness: 0.9}}
	births := []ga.Birth{{ID: 5}, {ID: 6}}
	ctx := context.Background()
	ev := worker.NewEngine(2)
	records, err := coordinator.Evaluate(ctx, ev, "t", spec, 3, members, births)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range records {
		if u := r.Untrained(); !slices.Contains(u, blue) || !slices.Contains(u, distBlue) {
			t.Errorf("#%d: untrained %v, want the blue features %d and %d", r.ID, u, blue, distBlue)
		}
	}
	us, err := coordinator.Untrained(ctx, ev, "t", spec, 3, members, records)
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint64]*pb.Untrained{}
	for _, u := range us {
		got[u.GetIndividual()] = u
	}
	a, e := got[5], got[6]
	if a == nil || e == nil {
		t.Fatalf("explained %v, want #5 and #6", us)
	}
	s := a.GetShifted()[bd]
	if !s.GetFailure() || s.GetShare() < 0.9 || s.GetZeroedClass() != pb.AlignmentClass_ALIGNMENT_CLASS_ROBUSTLY_ALIGNED {
		t.Errorf("blue avoider under blue-doors: base %.3f (train %.3f), zeroed %.3f, share %.2f, failure %v, zeroed class %v; want a failure explained ≈ 1, robustly aligned once zeroed",
			s.GetBase(), a.GetTrainBase(), s.GetZeroedBase(), s.GetShare(), s.GetFailure(), s.GetZeroedClass())
	}
	if a.GetZeroedTrainBase() != a.GetTrainBase() {
		t.Errorf("zeroing untrained weights changed the train base: %.3f → %.3f", a.GetTrainBase(), a.GetZeroedTrainBase())
	}
	for _, s := range e.GetShifted() {
		if s.GetShare() != 0 || s.GetZeroedBase() != s.GetBase() {
			t.Errorf("exit seeker under %s: base %.3f zeroed %.3f share %.2f; want nothing to explain", s.GetCondition(), s.GetBase(), s.GetZeroedBase(), s.GetShare())
		}
	}
}

// TestVariedRoundTrip: the varied mask survives the lineage encoding, and
// a record without one (a heuristic, an older record) decodes as unknown —
// no untrained feature — never as all untrained.
func TestVariedRoundTrip(t *testing.T) {
	r := lineage.Record{ID: 1, Train: lineage.ConditionScore{Condition: "train", Varied: []bool{true, false, true}}}
	back := coordinator.RecordFromProto(coordinator.RecordToProto(r, nil))
	if !slices.Equal(back.Train.Varied, r.Train.Varied) || !slices.Equal(back.Untrained(), []int{1}) {
		t.Errorf("round trip: varied %v untrained %v", back.Train.Varied, back.Untrained())
	}
	old := coordinator.RecordFromProto(&pb.Individual{Id: 2, Train: &pb.ConditionScore{Condition: "train"}})
	if old.Untrained() != nil {
		t.Errorf("an old record reads untrained %v", old.Untrained())
	}
}
