package coordinator_test

import (
	"context"
	"io"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/mesaopt/mesaopt/coordinator"
	"github.com/mesaopt/mesaopt/coordinator/dispatch"
	"github.com/mesaopt/mesaopt/coordinator/dispatch/dispatchtest"
	"github.com/mesaopt/mesaopt/coordinator/ga"
	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/fitness"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/worker"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// quarantineSpec is a small generation with a short deadline.
func quarantineSpec() experiment.Spec {
	s := experiment.Default()
	s.Population = 10
	s.Elites = 1
	s.Episodes = 2
	s.AnalysisEpisodes = 2
	s.BatchSize = 3
	s.EvaluationTimeout = experiment.Duration(300 * time.Millisecond)
	s.QuarantineAttempts = 3
	return s
}

// encodeRecords returns each record's wire bytes, for bitwise comparison.
func encodeRecords(t *testing.T, ev coordinator.Evaluator, spec experiment.Spec) ([]string, []float64) {
	t.Helper()
	ga := ga.New(spec, fitness.Shape())
	members, births, _ := ga.Initial()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	records, err := coordinator.Evaluate(ctx, ev, "q", spec, 0, members, births)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(records))
	fit := make([]float64, len(members))
	for i, r := range records {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(coordinator.RecordToProto(r, nil))
		if err != nil {
			t.Fatal(err)
		}
		out[i] = string(b)
		fit[i] = members[i].Fitness
	}
	return out, fit
}

// TestPoisonGenomeQuarantined evaluates a generation in which one genome
// makes every worker fail (crash) or hang past the deadline. It is
// quarantined with a reason in its lineage record and fitness -Inf; every
// other record is bitwise what an in-process evaluation gives, and the
// outcome is the same with one worker or three.
func TestPoisonGenomeQuarantined(t *testing.T) {
	spec := quarantineSpec()
	want, _ := encodeRecords(t, worker.NewEngine(2), spec)
	ga := ga.New(spec, fitness.Shape())
	members, _, _ := ga.Initial()
	const victim = 4
	poison := members[victim].ID

	for _, tc := range []struct {
		name     string
		crash    bool
		workers  int
		wantWhy  string
		attempts int
	}{
		{"crash-1-worker", true, 1, "worker error", 3},
		{"crash-3-workers", true, 3, "worker error", 3},
		{"hang-2-workers", false, 2, "deadline exceeded", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := dispatch.NewDispatcher(time.Minute, quietLog())
			defer d.Close()
			var ws []*dispatchtest.FaultyWorker
			for i := range tc.workers {
				f := &dispatchtest.FaultyWorker{Name: "w" + string(rune('0'+i)), Poison: poison, PoisonErr: tc.crash}
				dispatchtest.Serve(t, d, f)
				ws = append(ws, f)
			}
			got, fit := encodeRecords(t, d, spec)
			for i := range got {
				if i == victim {
					continue
				}
				if got[i] != want[i] {
					t.Errorf("record %d differs from the in-process evaluation", i)
				}
			}
			var r pb.Individual
			if err := proto.Unmarshal([]byte(got[victim]), &r); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(r.GetFailure(), "quarantined after 3 failed evaluation attempts") || !strings.Contains(r.GetFailure(), tc.wantWhy) {
				t.Errorf("poison record failure %q", r.GetFailure())
			}
			if !math.IsInf(fit[victim], -1) || !math.IsInf(r.GetFitness(), -1) {
				t.Errorf("poison fitness %v / %v, want -Inf", fit[victim], r.GetFitness())
			}
			// The poison's own calls: its batch's attempts plus its solo ones.
			solo := 0
			for _, w := range ws {
				for _, n := range w.Calls() {
					if n == 1 {
						solo++
					}
				}
			}
			if solo < tc.attempts {
				t.Errorf("%d single-genome calls, want at least %d", solo, tc.attempts)
			}
		})
	}
}

// TestQuarantineDeterministic runs the failing generation twice, with 1
// and with 3 workers: the records, the quarantined one included, are
// bitwise equal.
func TestQuarantineDeterministic(t *testing.T) {
	spec := quarantineSpec()
	ga := ga.New(spec, fitness.Shape())
	members, _, _ := ga.Initial()
	poison := members[7].ID
	var runs [][]string
	for _, n := range []int{1, 3} {
		d := dispatch.NewDispatcher(time.Minute, quietLog())
		for i := range n {
			dispatchtest.Serve(t, d, &dispatchtest.FaultyWorker{Name: "w" + string(rune('0'+i)), Poison: poison, PoisonErr: true})
		}
		got, _ := encodeRecords(t, d, spec)
		d.Close()
		runs = append(runs, got)
	}
	for i := range runs[0] {
		if runs[0][i] != runs[1][i] {
			t.Fatalf("record %d differs between 1 and 3 workers", i)
		}
	}
}
