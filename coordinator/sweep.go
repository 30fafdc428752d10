package coordinator

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/mesaopt/mesaopt/coordinator/store"
	"github.com/mesaopt/mesaopt/experiment"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// A sweep is a set of runs of one experiment over seeds and parameter
// values (experiment.Sweep). Its record in etcd (sweeps/<id>) holds the
// base spec, the definition and the id of every run; each run is an
// ordinary run under runs/<id>, checkpointed, resumed and adopted after a
// failover like any other, and executed concurrently with the sweep's
// other runs on the same workers (the Dispatcher shares them out in
// turn). Run ids are the sweep id and the run's position, 1-based: a
// coordinator that stops between recording the sweep and creating its
// runs leaves runs the record names and etcd lacks, and the next leader
// (ResumeOrphans) or a ResumeSweep creates them from the record.

// newSweepID returns a fresh sweep id: the experiment name, "sweep", the
// UTC time and a random suffix. Ids do not influence results.
func newSweepID(name string) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-sweep-%s-%x", cmp.Or(name, "run"), time.Now().UTC().Format("20060102-150405"), b)
}

// sweepRunID is the id of run k (0-based) of a sweep of n runs.
func sweepRunID(sweep string, k, n int) string {
	return fmt.Sprintf("%s-%0*d", sweep, len(fmt.Sprint(n)), k+1)
}

// SubmitSweep validates spec and its sweep (every run's spec), records
// the sweep, creates its runs and starts them all. It returns the sweep
// id and the runs.
func (c *Coordinator) SubmitSweep(ctx context.Context, spec experiment.Spec) (string, []*pb.SweepRun, error) {
	if !c.Leading() {
		return "", nil, c.errNotLeader(ctx)
	}
	if err := spec.Validate(); err != nil {
		return "", nil, err
	}
	runs, err := spec.Runs()
	if err != nil {
		return "", nil, err
	}
	specs := make([]experiment.Spec, len(runs))
	for k, r := range runs {
		specs[k] = r.Spec
	}
	release, err := c.admitRuns(specs...)
	if err != nil {
		return "", nil, err
	}
	defer release()
	id := newSweepID(spec.Name)
	base := spec
	base.Sweep = nil
	rec := &pb.SweepRecord{SweepId: id, Spec: base.ToProto(), Definition: experiment.SweepToProto(spec.Sweep), CreatedUnix: time.Now().Unix()}
	for k, r := range runs {
		rec.Runs = append(rec.Runs, &pb.SweepRun{RunId: sweepRunID(id, k, len(runs)), Seed: r.Seed, Values: slices.Clone(r.Values)})
	}
	if err := c.write(ctx, "new sweep "+id, func(ctx context.Context, f store.Fence) error {
		return c.store.CreateSweep(ctx, f, rec)
	}); err != nil {
		return "", nil, err
	}
	if _, err := c.createSweepRuns(ctx, rec); err != nil {
		return "", nil, err
	}
	return id, rec.GetRuns(), nil
}

// sweepSpecs expands a sweep record into its runs' specs, in record order.
func sweepSpecs(rec *pb.SweepRecord) ([]experiment.Spec, error) {
	base, err := experiment.FromProto(rec.GetSpec())
	if err != nil {
		return nil, fmt.Errorf("sweep %s: stored spec: %w", rec.GetSweepId(), err)
	}
	base.Sweep = experiment.SweepFromProto(rec.GetDefinition())
	runs, err := base.Runs()
	if err != nil {
		return nil, fmt.Errorf("sweep %s: stored definition: %w", rec.GetSweepId(), err)
	}
	if len(runs) != len(rec.GetRuns()) {
		return nil, fmt.Errorf("sweep %s: the definition gives %d runs, the record names %d", rec.GetSweepId(), len(runs), len(rec.GetRuns()))
	}
	out := make([]experiment.Spec, len(runs))
	for k, r := range runs {
		out[k] = r.Spec
	}
	return out, nil
}

// createSweepRuns creates and starts the runs of rec that etcd does not
// hold yet, and returns their ids.
func (c *Coordinator) createSweepRuns(ctx context.Context, rec *pb.SweepRecord) ([]string, error) {
	specs, err := sweepSpecs(rec)
	if err != nil {
		return nil, err
	}
	var created []string
	for k, r := range rec.GetRuns() {
		if _, err := c.store.Status(ctx, r.GetRunId()); err == nil {
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			return created, err
		}
		st := &pb.RunStatus{RunId: r.GetRunId(), State: pb.RunState_RUN_STATE_RUNNING, CreatedUnix: time.Now().Unix(),
			History: []string{"run " + fmt.Sprint(k+1) + " of sweep " + rec.GetSweepId()}}
		if err := c.createRun(ctx, specs[k].ToProto(), st); err != nil && !errors.Is(err, store.ErrExists) {
			return created, err
		}
		c.launch(r.GetRunId(), specs[k], nil)
		created = append(created, r.GetRunId())
	}
	return created, nil
}

// GetSweep returns a sweep's record and the state of each of its runs.
func (c *Coordinator) GetSweep(ctx context.Context, id string) (*pb.Sweep, error) {
	rec, err := c.store.Sweep(ctx, id)
	if err != nil {
		return nil, err
	}
	sw := &pb.Sweep{SweepId: id, Spec: rec.GetSpec(), Definition: rec.GetDefinition(), CreatedUnix: rec.GetCreatedUnix()}
	for _, r := range rec.GetRuns() {
		rs := &pb.SweepRunState{Run: r, State: pb.RunState_RUN_STATE_RUNNING, Generations: rec.GetSpec().GetGenerations()}
		st, err := c.store.Status(ctx, r.GetRunId())
		switch {
		case errors.Is(err, store.ErrNotFound):
			// Named by the record, not created yet: it will be.
		case err != nil:
			return nil, err
		default:
			rs.State, rs.GenerationsDone, rs.FinalDigest, rs.Error = st.GetState(), st.GetGenerationsDone(), st.GetFinalDigest(), st.GetError()
			if sp, err := c.store.Spec(ctx, r.GetRunId()); err == nil {
				rs.Generations = sp.GetGenerations()
			}
		}
		sw.Runs = append(sw.Runs, rs)
	}
	sw.State = sweepState(sw.GetRuns())
	return sw, nil
}

// sweepState is RUNNING while any run runs; else FAILED if any failed,
// CANCELLED if any was cancelled, INTERRUPTED if any was interrupted,
// else SUCCEEDED.
func sweepState(runs []*pb.SweepRunState) pb.RunState {
	has := func(s pb.RunState) bool {
		return slices.ContainsFunc(runs, func(r *pb.SweepRunState) bool { return r.GetState() == s })
	}
	for _, s := range []pb.RunState{pb.RunState_RUN_STATE_RUNNING, pb.RunState_RUN_STATE_FAILED, pb.RunState_RUN_STATE_CANCELLED, pb.RunState_RUN_STATE_INTERRUPTED} {
		if has(s) {
			return s
		}
	}
	return pb.RunState_RUN_STATE_SUCCEEDED
}

// ListSweeps lists every sweep, newest first.
func (c *Coordinator) ListSweeps(ctx context.Context) ([]*pb.Sweep, error) {
	ids, err := c.store.SweepIDs(ctx)
	if err != nil {
		return nil, err
	}
	var out []*pb.Sweep
	for _, id := range ids {
		sw, err := c.GetSweep(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, sw)
	}
	slices.SortStableFunc(out, func(a, b *pb.Sweep) int {
		return cmp.Or(-cmp.Compare(a.GetCreatedUnix(), b.GetCreatedUnix()), -cmp.Compare(a.GetSweepId(), b.GetSweepId()))
	})
	return out, nil
}

// CancelSweep cancels every run of the sweep this coordinator executes
// and returns their ids.
func (c *Coordinator) CancelSweep(ctx context.Context, id string) ([]string, error) {
	if !c.Leading() {
		return nil, c.errNotLeader(ctx)
	}
	rec, err := c.store.Sweep(ctx, id)
	if err != nil {
		return nil, err
	}
	var cancelled []string
	for _, r := range rec.GetRuns() {
		err := c.Cancel(r.GetRunId())
		switch {
		case err == nil:
			cancelled = append(cancelled, r.GetRunId())
		case errors.Is(err, store.ErrNotFound), errors.Is(err, ErrNotRunning):
		default:
			return cancelled, err
		}
	}
	return cancelled, nil
}

// ResumeSweep creates the sweep's runs etcd lacks and resumes every other
// run that is neither running nor succeeded, from its last checkpoint. It
// returns the ids of the runs started.
func (c *Coordinator) ResumeSweep(ctx context.Context, id string) ([]string, error) {
	if !c.Leading() {
		return nil, c.errNotLeader(ctx)
	}
	rec, err := c.store.Sweep(ctx, id)
	if err != nil {
		return nil, err
	}
	started, err := c.createSweepRuns(ctx, rec)
	if err != nil {
		return started, err
	}
	for _, r := range rec.GetRuns() {
		if slices.Contains(started, r.GetRunId()) {
			continue
		}
		st, err := c.store.Status(ctx, r.GetRunId())
		if err != nil {
			return started, err
		}
		c.mu.Lock()
		ar, here := c.runs[r.GetRunId()]
		c.mu.Unlock()
		running := here && !isDone(ar)
		if st.GetState() == pb.RunState_RUN_STATE_SUCCEEDED || running {
			continue
		}
		if err := c.Resume(ctx, r.GetRunId()); err != nil {
			return started, fmt.Errorf("run %s: %w", r.GetRunId(), err)
		}
		started = append(started, r.GetRunId())
	}
	return started, nil
}

// adoptSweeps creates the runs of every sweep that a previous leader
// recorded but did not create.
func (c *Coordinator) adoptSweeps(ctx context.Context) error {
	ids, err := c.store.SweepIDs(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		rec, err := c.store.Sweep(ctx, id)
		if err != nil {
			return err
		}
		created, err := c.createSweepRuns(ctx, rec)
		if err != nil {
			return err
		}
		if len(created) > 0 {
			c.log.Info("created the runs of a sweep its previous leader did not", "sweep", id, "runs", len(created))
		}
	}
	return nil
}

// watchSweep calls send for every summary any run of the sweep commits
// and for each run's end, until every run has ended. send is called from
// one goroutine at a time.
func (c *Coordinator) watchSweep(ctx context.Context, id string, send func(*pb.WatchSweepResponse) error) error {
	rec, err := c.store.Sweep(ctx, id)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	for _, r := range rec.GetRuns() {
		run := r.GetRunId()
		g.Go(func() error {
			return c.watchRun(gctx, run, 0, func(resp *pb.WatchRunResponse) error {
				mu.Lock()
				defer mu.Unlock()
				return send(&pb.WatchSweepResponse{RunId: run, Summary: resp.GetSummary(), State: resp.GetState()})
			})
		})
	}
	return g.Wait()
}
