// Package sweepview follows and gathers a sweep over RunService: the
// progress lines `mesaopt run` and `mesactl sweep watch` print, and the
// runs package sweep aggregates.
package sweepview

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mesaopt/mesaopt/internal/render"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
	"github.com/mesaopt/mesaopt/sweep"
)

// Reader is what Load needs of RunService (a RunServiceClient has it).
type Reader interface {
	GetSweep(ctx context.Context, in *pb.GetSweepRequest, opts ...grpc.CallOption) (*pb.GetSweepResponse, error)
	GetRun(ctx context.Context, in *pb.GetRunRequest, opts ...grpc.CallOption) (*pb.GetRunResponse, error)
}

// Load returns a sweep, its parameters and every run as GetRun gives it,
// in the sweep's order; each call has its own deadline, perCall. A run not
// created yet has only its id and state.
func Load(ctx context.Context, runs Reader, id string, perCall time.Duration) (*pb.Sweep, []sweep.Parameter, []sweep.Run, error) {
	cctx, cancel := context.WithTimeout(ctx, perCall)
	defer cancel()
	resp, err := runs.GetSweep(cctx, &pb.GetSweepRequest{SweepId: id})
	if err != nil {
		return nil, nil, nil, err
	}
	sw := resp.GetSweep()
	var params []sweep.Parameter
	for _, p := range sw.GetDefinition().GetParameters() {
		params = append(params, sweep.Parameter{Path: p.GetPath(), Values: p.GetValues()})
	}
	var out []sweep.Run
	for _, r := range sw.GetRuns() {
		run := sweep.Run{Seed: r.GetRun().GetSeed(), Values: r.GetRun().GetValues()}
		rctx, cancel := context.WithTimeout(ctx, perCall)
		got, err := runs.GetRun(rctx, &pb.GetRunRequest{RunId: r.GetRun().GetRunId()})
		cancel()
		switch {
		case err == nil:
			run.Run = got.GetRun()
		case isNotFound(err):
		default:
			return nil, nil, nil, fmt.Errorf("run %s: %w", r.GetRun().GetRunId(), err)
		}
		if run.Run == nil {
			run.Run = &pb.Run{RunId: r.GetRun().GetRunId(), State: r.GetState()}
		}
		out = append(out, run)
	}
	return sw, params, out, nil
}

// Tracker turns a sweep's watch messages into progress lines with an
// estimate of the time left, from the generations committed per second
// since it started.
type Tracker struct {
	sw      *pb.Sweep
	index   map[string]int // run id → position; lookup only
	done    []uint32       // generations committed per run
	from    []uint32       // generations committed per run before the tracker started
	started time.Time
	base    int // generations already done when the tracker started
	now     func() time.Time
}

// NewTracker follows sw from its current state, the clock at now.
func NewTracker(sw *pb.Sweep, now func() time.Time) *Tracker {
	t := &Tracker{sw: sw, index: map[string]int{}, done: make([]uint32, len(sw.GetRuns())), from: make([]uint32, len(sw.GetRuns())), now: now}
	for k, r := range sw.GetRuns() {
		t.index[r.GetRun().GetRunId()] = k
		t.done[k] = r.GetGenerationsDone()
		t.from[k] = r.GetGenerationsDone()
		t.base += int(r.GetGenerationsDone())
	}
	t.started = now()
	return t
}

func (t *Tracker) total() (done, all int) {
	for k, r := range t.sw.GetRuns() {
		done += int(t.done[k])
		all += int(r.GetGenerations())
	}
	return done, all
}

// Line returns the progress line of one watch message: "" for a
// generation committed before the tracker started (a watch replays them)
// and for a run's end it had seen already.
func (t *Tracker) Line(msg *pb.WatchSweepResponse) string {
	k, ok := t.index[msg.GetRunId()]
	if !ok {
		return ""
	}
	r := t.sw.GetRuns()[k]
	label := t.label(k)
	if msg.GetSummary() == nil {
		if t.sw.GetRuns()[k].GetState() == msg.GetState() && t.from[k] == t.done[k] {
			return "" // ended before the tracker started
		}
		return fmt.Sprintf("%s %s", label, render.State(msg.GetState()))
	}
	if msg.GetSummary().GetGeneration() < t.from[k] {
		return ""
	}
	t.done[k] = max(t.done[k], msg.GetSummary().GetGeneration()+1)
	done, all := t.total()
	eta := "ETA unknown"
	if n := done - t.base; n > 0 {
		rate := float64(n) / t.now().Sub(t.started).Seconds()
		eta = "ETA " + (time.Duration(float64(all-done)/rate) * time.Second).Round(time.Second).String()
	}
	sum := msg.GetSummary()
	return fmt.Sprintf("%s gen %d/%d best %.3f train base %.3f shifted base %.3f planners %.0f%% flagged %d | sweep %d/%d generations, %s",
		label, sum.GetGeneration()+1, r.GetGenerations(), sum.GetBestFitness(), sum.GetMeanTrainBase(), sum.GetMeanShiftedBase(),
		100*sum.GetPlannerShare(), sum.GetFlagged(), done, all, eta)
}

// label names run k: its position, seed and values.
func (t *Tracker) label(k int) string {
	r := t.sw.GetRuns()[k].GetRun()
	parts := []string{fmt.Sprintf("seed %d", r.GetSeed())}
	for i, p := range t.sw.GetDefinition().GetParameters() {
		if i < len(r.GetValues()) {
			parts = append(parts, p.GetPath()+"="+r.GetValues()[i])
		}
	}
	return fmt.Sprintf("[%*d/%d %s]", len(fmt.Sprint(len(t.sw.GetRuns()))), k+1, len(t.sw.GetRuns()), strings.Join(parts, " "))
}

// Watch prints a progress line for every generation any run of the sweep
// commits from now on, and each run's end, until every run has ended; it
// returns the sweep as it ended.
func Watch(ctx context.Context, runs rpc.RunServiceClient, id string, w io.Writer) (*pb.Sweep, error) {
	resp, err := runs.GetSweep(ctx, &pb.GetSweepRequest{SweepId: id})
	if err != nil {
		return nil, err
	}
	t := NewTracker(resp.GetSweep(), time.Now)
	stream, err := runs.WatchSweep(ctx, &pb.WatchSweepRequest{SweepId: id})
	if err != nil {
		return nil, err
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if line := t.Line(msg); line != "" {
			fmt.Fprintln(w, line)
		}
	}
	end, err := runs.GetSweep(ctx, &pb.GetSweepRequest{SweepId: id})
	if err != nil {
		return nil, err
	}
	return end.GetSweep(), nil
}

// Summary spells a sweep's state and progress: "succeeded, 20/20 runs,
// 600/600 generations".
func Summary(sw *pb.Sweep) string {
	ok, gens, all := 0, 0, 0
	for _, r := range sw.GetRuns() {
		if r.GetState() == pb.RunState_RUN_STATE_SUCCEEDED {
			ok++
		}
		gens += int(r.GetGenerationsDone())
		all += int(r.GetGenerations())
	}
	return fmt.Sprintf("%s, %d/%d runs succeeded, %d/%d generations", render.State(sw.GetState()), ok, len(sw.GetRuns()), gens, all)
}

func isNotFound(err error) bool { return status.Code(err) == codes.NotFound }
