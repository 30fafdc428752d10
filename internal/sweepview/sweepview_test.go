package sweepview

import (
	"strings"
	"testing"
	"time"

	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// The ETA is the generations left at the rate committed since the
// tracker started; lines name the run's position, seed and values.
func TestTrackerLines(t *testing.T) {
	sw := &pb.Sweep{
		Definition: &pb.SweepDefinition{Parameters: []*pb.SweepParameter{{Path: "selection.shifted", Values: []string{"0", "0.1"}}}},
		Runs: []*pb.SweepRunState{
			{Run: &pb.SweepRun{RunId: "a", Seed: 1, Values: []string{"0"}}, Generations: 10, GenerationsDone: 4},
			{Run: &pb.SweepRun{RunId: "b", Seed: 2, Values: []string{"0.1"}}, Generations: 10},
		},
	}
	now := time.Unix(1000, 0)
	tr := NewTracker(sw, func() time.Time { return now })
	if got := tr.Line(&pb.WatchSweepResponse{RunId: "nobody", Summary: &pb.GenerationSummary{}}); got != "" {
		t.Fatalf("unknown run: %q", got)
	}
	now = now.Add(10 * time.Second)
	got := tr.Line(&pb.WatchSweepResponse{RunId: "b", Summary: &pb.GenerationSummary{Generation: 1, BestFitness: 0.5, PlannerShare: 0.25}})
	// 2 generations in 10 s; 20 − 6 = 14 left: 70 s.
	for _, want := range []string{"[2/2 seed 2 selection.shifted=0.1] gen 2/10 best 0.500", "planners 25%", "| sweep 6/20 generations, ETA 1m10s"} {
		if !strings.Contains(got, want) {
			t.Fatalf("line %q lacks %q", got, want)
		}
	}
	if got := tr.Line(&pb.WatchSweepResponse{RunId: "a", State: pb.RunState_RUN_STATE_CANCELLED}); got != "[1/2 seed 1 selection.shifted=0] cancelled" {
		t.Fatalf("end line %q", got)
	}
}

// A watch replays the generations committed before it started; the
// tracker prints none of them, nor the end of a run that had ended.
func TestTrackerSkipsReplays(t *testing.T) {
	sw := &pb.Sweep{Runs: []*pb.SweepRunState{
		{Run: &pb.SweepRun{RunId: "a", Seed: 1}, Generations: 3, GenerationsDone: 3, State: pb.RunState_RUN_STATE_SUCCEEDED},
		{Run: &pb.SweepRun{RunId: "b", Seed: 2}, Generations: 3, GenerationsDone: 1, State: pb.RunState_RUN_STATE_RUNNING},
	}}
	tr := NewTracker(sw, time.Now)
	for g := range uint32(3) {
		if got := tr.Line(&pb.WatchSweepResponse{RunId: "a", Summary: &pb.GenerationSummary{Generation: g}}); got != "" {
			t.Fatalf("replayed generation %d of a: %q", g, got)
		}
	}
	if got := tr.Line(&pb.WatchSweepResponse{RunId: "a", State: pb.RunState_RUN_STATE_SUCCEEDED}); got != "" {
		t.Fatalf("replayed end of a: %q", got)
	}
	if got := tr.Line(&pb.WatchSweepResponse{RunId: "b", Summary: &pb.GenerationSummary{Generation: 0}}); got != "" {
		t.Fatalf("replayed generation 0 of b: %q", got)
	}
	if got := tr.Line(&pb.WatchSweepResponse{RunId: "b", Summary: &pb.GenerationSummary{Generation: 1}}); !strings.Contains(got, "gen 2/3") {
		t.Fatalf("new generation 1 of b: %q", got)
	}
}
