package worker

import (
	"context"
	"log/slog"
	"testing"

	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/internal/testenv"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// TestWorkLog: a worker logs one line per run it serves and a summary at
// most once per summaryEvery, never a line per batch.
func TestWorkLog(t *testing.T) {
	var logs testenv.LogBuffer
	s := &server{engine: NewEngine(1), name: "w", protocol: ProtocolVersion, log: slog.New(slog.NewTextHandler(&logs, nil)), metrics: nopMetrics{}}
	batch := func(run string) {
		t.Helper()
		req := &pb.EvaluateRequest{ProtocolVersion: ProtocolVersion, RunId: run,
			Environment: &pb.EnvironmentConfig{Name: "doors", Width: 9, Height: 7, StepLimit: 100},
			Conditions:  []*pb.ConditionEpisodes{{Condition: fitness.Train, InstanceSeeds: []uint64{1}}},
			Tasks:       []*pb.EvaluationTask{{IndividualId: 1, Genome: genome.ToProto(fitness.ExitSeeker())}}}
		if _, err := s.Evaluate(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		batch("a")
		batch("b")
	}
	if n := logs.Count("serving a run"); n != 2 {
		t.Fatalf("%d lines for 2 runs, want 2:\n%s", n, logs.String())
	}
	if n := logs.Count("evaluations served"); n != 0 {
		t.Fatalf("a summary within %v of the first batch:\n%s", summaryEvery, logs.String())
	}
	s.mu.Lock()
	s.reported = s.reported.Add(-summaryEvery)
	s.mu.Unlock()
	batch("a")
	batch("a")
	if n := logs.Count("evaluations served"); n != 1 || logs.Count("batches=11") != 1 {
		t.Fatalf("%d summaries, want 1 counting the 11 batches:\n%s", n, logs.String())
	}
}
