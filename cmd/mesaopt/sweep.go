package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/internal/sweepview"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
	"github.com/mesaopt/mesaopt/sweep"
)

// isSweep reports whether id names a sweep.
func isSweep(ctx context.Context, runs rpc.RunServiceClient, id string) bool {
	_, err := runs.GetSweep(ctx, &pb.GetSweepRequest{SweepId: id})
	return err == nil
}

// runSweep submits spec's sweep (or resumes sweep o.resume), prints a
// line per committed generation until every run has ended, then the
// aggregates with their intervals.
func runSweep(ctx context.Context, o runOptions, runs rpc.RunServiceClient, spec experiment.Spec, workers string, remember func(*string)) error {
	id := o.resume
	if id == "" {
		base := spec
		base.Sweep = nil
		resp, err := runs.SubmitSweep(ctx, &pb.SubmitSweepRequest{Spec: base.ToProto(), Definition: experiment.SweepToProto(spec.Sweep)})
		if err != nil {
			if status.Code(err) == codes.InvalidArgument {
				return exitError{code: 2, err: errors.New(status.Convert(err).Message())}
			}
			return err
		}
		id = resp.GetSweepId()
		remember(&id)
		var params []string
		for _, p := range spec.Sweep.Set {
			params = append(params, fmt.Sprintf("%s in [%s]", p.Path, strings.Join(p.Values, ", ")))
		}
		what := "seeds " + spec.Sweep.Seeds.String()
		if len(params) > 0 {
			what += " × " + strings.Join(params, " × ")
		}
		fmt.Fprintf(o.out, "sweep %s: %d runs (%s), %s each, %s sharing them\n",
			id, len(resp.GetRuns()), what, runSizes(spec), workers)
	} else {
		resp, err := runs.ResumeSweep(ctx, &pb.ResumeSweepRequest{SweepId: id})
		if err != nil {
			code := status.Code(err)
			err = fmt.Errorf("resume %s: %s", id, status.Convert(err).Message())
			if code == codes.InvalidArgument || code == codes.FailedPrecondition || code == codes.NotFound {
				return exitError{code: 2, err: err}
			}
			return err
		}
		fmt.Fprintf(o.out, "sweep %s: resumed %d runs from their last checkpoints, %s\n", id, len(resp.GetResumed()), workers)
	}
	start := time.Now()
	if _, err := sweepview.Watch(ctx, runs, id, o.out); err != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(o.out, "\ninterrupted; continue with: %s --resume %s\n", o.resumeCmd, id)
			return exitError{code: 130, err: errors.New("interrupted")}
		}
		return err
	}
	sw, params, all, err := sweepview.Load(context.Background(), runs, id, time.Minute)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.out, "\nsweep %s %s, after %s\n\n", id, sweepview.Summary(sw), time.Since(start).Round(time.Second))
	if err := sweep.Aggregate(params, all).WriteTable(o.out); err != nil {
		return err
	}
	fmt.Fprintf(o.out, "\nevery number: %s --coordinator %s %s sweep show %s -o csv (while serving: --keep-serving)\n", mesactlPath(), o.listen, o.mesactlTLS(), id)
	var failed []string
	for _, r := range sw.GetRuns() {
		if r.GetState() == pb.RunState_RUN_STATE_FAILED {
			failed = append(failed, fmt.Sprintf("%s: %s", r.GetRun().GetRunId(), r.GetError()))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("sweep %s: %d runs failed:\n%s", id, len(failed), strings.Join(failed, "\n"))
	}
	if o.keep {
		fmt.Fprintf(o.out, "\nserving RunService and LineageService on %s until Ctrl-C (try: %s --coordinator %s %s sweep show %s)\n", o.listen, mesactlPath(), o.listen, o.mesactlTLS(), id)
		<-ctx.Done()
	}
	_ = os.Stdout.Sync()
	return nil
}

// runSizes spells the generations and population of a sweep's runs: "30
// generations of 48", or their ranges when the sweep varies them.
func runSizes(spec experiment.Spec) string {
	runs, err := spec.Runs()
	if err != nil || len(runs) == 0 {
		return fmt.Sprintf("%d generations of %d", spec.Generations, spec.Population)
	}
	span := func(get func(experiment.Spec) int) string {
		lo, hi := get(runs[0].Spec), get(runs[0].Spec)
		for _, r := range runs {
			lo, hi = min(lo, get(r.Spec)), max(hi, get(r.Spec))
		}
		if lo == hi {
			return fmt.Sprint(lo)
		}
		return fmt.Sprintf("%d–%d", lo, hi)
	}
	return fmt.Sprintf("%s generations of %s", span(func(s experiment.Spec) int { return s.Generations }), span(func(s experiment.Spec) int { return s.Population }))
}
