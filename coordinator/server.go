package coordinator

import (
	"cmp"
	"context"
	"errors"
	"math"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mesaopt/mesaopt/coordinator/dispatch"
	"github.com/mesaopt/mesaopt/coordinator/store"
	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/lineage"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
)

// grpcError maps internal errors to status errors at the gRPC edge.
func grpcError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, lineage.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, experiment.ErrInvalid), errors.Is(err, experiment.ErrOverride):
		// An override the call may not make is a bad argument, whatever
		// the run's state.
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, store.ErrFenced), errors.Is(err, ErrNotLeader), errors.Is(err, ErrNotRunning),
		errors.Is(err, ErrRunning), errors.Is(err, ErrFinished), errors.Is(err, ErrNoMatchingWorker):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, ErrLimit):
		return status.Error(codes.ResourceExhausted, err.Error())
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return status.FromContextError(err).Err()
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return status.Error(codes.Unavailable, err.Error())
}

func requireRunID(id string) error {
	if id == "" {
		return status.Error(codes.InvalidArgument, "run_id is empty, allowed a run id (see ListRuns)")
	}
	return nil
}

type runServer struct {
	rpc.UnimplementedRunServiceServer
	c *Coordinator
}

func (s *runServer) SubmitRun(ctx context.Context, req *pb.SubmitRunRequest) (*pb.SubmitRunResponse, error) {
	if err := s.c.admit.submit(ctx); err != nil {
		return nil, grpcError(err)
	}
	if req.GetSpec() == nil {
		return nil, status.Error(codes.InvalidArgument, "spec is missing")
	}
	spec, err := experiment.FromProto(req.GetSpec())
	if err != nil {
		return nil, grpcError(err)
	}
	id, err := s.c.Submit(ctx, spec)
	if err != nil {
		return nil, grpcError(err)
	}
	return &pb.SubmitRunResponse{RunId: id}, nil
}

func (s *runServer) GetRun(ctx context.Context, req *pb.GetRunRequest) (*pb.GetRunResponse, error) {
	if err := requireRunID(req.GetRunId()); err != nil {
		return nil, err
	}
	run, err := s.c.GetRun(ctx, req.GetRunId())
	if err != nil {
		return nil, grpcError(err)
	}
	return &pb.GetRunResponse{Run: run}, nil
}

// GetRun assembles a run's status, summaries and, once it has evaluated
// generations, its report.
func (c *Coordinator) GetRun(ctx context.Context, id string) (*pb.Run, error) {
	st, err := c.store.Status(ctx, id)
	if err != nil {
		return nil, err
	}
	sp, err := c.store.Spec(ctx, id)
	if err != nil {
		return nil, err
	}
	sums, _, err := c.store.Summaries(ctx, id)
	if err != nil {
		return nil, err
	}
	run := &pb.Run{
		RunId: id, Spec: sp, State: st.GetState(), GenerationsDone: st.GetGenerationsDone(),
		Error: st.GetError(), Summaries: sums, FeatureNames: experiment.EnvOf(sp).Features(), FinalDigest: st.GetFinalDigest(),
		History: st.GetHistory(),
	}
	if st.GetGenerationsDone() > 0 {
		ar, err := c.view(ctx, id)
		if err != nil {
			return nil, err
		}
		run.Report = ar.report()
	}
	return run, nil
}

// report builds the end-of-run analysis from the last evaluated generation.
func (ar *activeRun) report() *pb.Report {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	rep := &pb.Report{Classes: classCounts(ar.spec.ShiftedConditions, ar.last)}
	ranked := sortedRecords(ar.last)
	for i := 0; i < len(ranked) && i < 5; i++ {
		rep.Best = append(rep.Best, RecordToProto(ranked[i], nil))
	}
	rep.Exemplars = exemplars(len(ar.spec.ShiftedConditions), ranked)
	all := sortedRecords(ar.lineage.Records())
	rep.RunExemplars = exemplars(len(ar.spec.ShiftedConditions), all)
	rep.RunClasses = classCounts(ar.spec.ShiftedConditions, all)
	rep.Sensitivity = sensitivityToProto(lineage.Sensitivity(ar.last, ar.spec.LineageThresholds()))
	rep.Identity = identityCounts(ar.last)
	rep.RunIdentity = identityCounts(all)
	for _, r := range flaggedByEvidence(ranked) {
		if len(rep.Flagged) == 10 {
			break
		}
		rep.Flagged = append(rep.Flagged, RecordToProto(r, nil))
	}
	for _, r := range ranked {
		if r.Kind != genome.KindPlanner && pseudoAligned(r) && len(rep.PseudoAlignedHeuristics) < 5 {
			rep.PseudoAlignedHeuristics = append(rep.PseudoAlignedHeuristics, RecordToProto(r, nil))
		}
	}
	rep.Regime = ar.regimeReport()
	if frozen, err := ar.frozenFeatures(); err == nil {
		for _, k := range frozen {
			rep.FrozenFeatures = append(rep.FrozenFeatures, uint32(k))
		}
	}
	if len(rep.Flagged) > 0 {
		top := rep.Flagged[0].GetId()
		rep.TopFlagged = top
		if o, ok, err := ar.lineage.DriftOrigin(top); err == nil && ok {
			rep.TopDriftOrigin = originToProto(o)
		}
	}
	return rep
}

// flaggedByEvidence returns the flagged records of ranked (fittest first)
// by strength of evidence: pseudo-aligned ones by the share of their
// episodes that are (firm verdicts first), then those flagged for drift
// alone by drift; fitness, then id, break ties.
func flaggedByEvidence(ranked []lineage.Record) []lineage.Record {
	var pseudo, drifting []lineage.Record
	for _, r := range ranked {
		switch {
		case !r.Flagged:
		case pseudoAligned(r):
			pseudo = append(pseudo, r)
		default:
			drifting = append(drifting, r)
		}
	}
	slices.SortStableFunc(pseudo, func(a, b lineage.Record) int {
		ea, eb := pseudoEvidence(a), pseudoEvidence(b)
		if ea.firm != eb.firm {
			if ea.firm {
				return -1
			}
			return 1
		}
		return cmpDesc(ea.share, eb.share)
	})
	slices.SortStableFunc(drifting, func(a, b lineage.Record) int { return cmpDesc(maxDrift(a), maxDrift(b)) })
	return append(pseudo, drifting...)
}

// exemplars returns the first record of each class under each shifted
// condition from ranked (fittest first), in condition then class order.
func exemplars(conditions int, ranked []lineage.Record) []*pb.Individual {
	var out []*pb.Individual
	for _, r := range exemplarRecords(conditions, ranked) {
		out = append(out, RecordToProto(r, nil))
	}
	return out
}

// exemplarRecords is exemplars before encoding.
func exemplarRecords(conditions int, ranked []lineage.Record) []lineage.Record {
	var out []lineage.Record
	for ci := range conditions {
		for _, cls := range []lineage.Class{lineage.ClassRobustlyAligned, lineage.ClassPseudoAligned, lineage.ClassCapabilityFailure, lineage.ClassMisaligned} {
			for _, r := range ranked {
				if ci < len(r.Shifted) && r.Shifted[ci].Class == cls {
					out = append(out, r)
					break
				}
			}
		}
	}
	return out
}

// evidence is how strongly a record's episodes say pseudo-aligned.
type evidence struct {
	share float64 // the largest share of pseudo-aligned episodes under a condition
	firm  bool    // that verdict is firm
}

func pseudoEvidence(r lineage.Record) evidence {
	var e evidence
	for _, s := range r.Shifted {
		if s.Class != lineage.ClassPseudoAligned {
			continue
		}
		share := 1.0
		if n := s.ClassCounts.Total(); n > 0 {
			share = float64(s.ClassCounts[lineage.ClassPseudoAligned]) / float64(n)
		}
		if (s.Firm && !e.firm) || (s.Firm == e.firm && share > e.share) {
			e = evidence{share: share, firm: s.Firm}
		}
	}
	return e
}

func maxDrift(r lineage.Record) float64 {
	d := math.Inf(-1)
	for _, s := range r.Shifted {
		d = max(d, s.Drift)
	}
	return d
}

// cmpDesc orders larger values first.
func cmpDesc(a, b float64) int { return cmp.Compare(b, a) }

func pseudoAligned(r lineage.Record) bool {
	for _, s := range r.Shifted {
		if s.Class == lineage.ClassPseudoAligned {
			return true
		}
	}
	return false
}

func originToProto(o lineage.Origin) *pb.DriftOrigin {
	p := &pb.DriftOrigin{
		Ancestor: RecordToProto(o.Ancestor, nil), Operators: slices.Clone(o.Operators),
		ObjectiveBefore: slices.Clone(o.ObjectiveBefore), ObjectiveAfter: slices.Clone(o.ObjectiveAfter),
	}
	if o.Parent != nil {
		p.Parent = RecordToProto(*o.Parent, nil)
	}
	return p
}

func (s *runServer) ListRuns(ctx context.Context, _ *pb.ListRunsRequest) (*pb.ListRunsResponse, error) {
	ids, err := s.c.store.RunIDs(ctx)
	if err != nil {
		return nil, grpcError(err)
	}
	resp := &pb.ListRunsResponse{}
	for _, id := range slices.Backward(ids) {
		st, err := s.c.store.Status(ctx, id)
		if err != nil {
			return nil, grpcError(err)
		}
		sp, err := s.c.store.Spec(ctx, id)
		if err != nil {
			return nil, grpcError(err)
		}
		resp.Runs = append(resp.Runs, &pb.Run{RunId: id, Spec: sp, State: st.GetState(),
			GenerationsDone: st.GetGenerationsDone(), Error: st.GetError(), FinalDigest: st.GetFinalDigest()})
	}
	slices.SortStableFunc(resp.Runs, func(a, b *pb.Run) int { return -compareStrings(a.GetRunId(), b.GetRunId()) })
	return resp, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// beforeWatch, when set (by tests only), runs each time WatchRun is about
// to start an etcd watch: it lets a test compact the history the watch
// needs, deterministically.
var beforeWatch func()

func terminal(s pb.RunState) bool {
	return s != pb.RunState_RUN_STATE_RUNNING && s != pb.RunState_RUN_STATE_UNSPECIFIED
}

func (s *runServer) WatchRun(req *pb.WatchRunRequest, stream rpc.RunService_WatchRunServer) error {
	release, err := s.c.admit.stream(stream.Context())
	if err != nil {
		return grpcError(err)
	}
	defer release()
	if err := requireRunID(req.GetRunId()); err != nil {
		return err
	}
	return s.c.watchRun(stream.Context(), req.GetRunId(), req.GetFromGeneration(), stream.Send)
}

// watchRun calls out with every summary run id commits from generation
// from on, then with the run's final state, and returns; errors are gRPC
// status errors.
func (c *Coordinator) watchRun(parent context.Context, id string, from uint32, out func(*pb.WatchRunResponse) error) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	stop := context.AfterFunc(c.runCtx, cancel) // shutting down ends watches
	defer stop()
	next := from
	send := func(sum *pb.GenerationSummary) error {
		if sum.GetGeneration() < next {
			return nil
		}
		next = sum.GetGeneration() + 1
		return out(&pb.WatchRunResponse{Summary: sum, State: pb.RunState_RUN_STATE_RUNNING})
	}
	// catchUp sends what etcd holds now and returns the revision read at,
	// or done when the run has ended. It starts the watch and restarts it
	// after etcd compacted the history the watch needed.
	catchUp := func() (rev int64, done bool, err error) {
		st, err := c.store.Status(ctx, id)
		if err != nil {
			return 0, false, err
		}
		sums, rev, err := c.store.Summaries(ctx, id)
		if err != nil {
			return 0, false, err
		}
		for _, sum := range sums {
			if err := send(sum); err != nil {
				return 0, false, err
			}
		}
		if terminal(st.GetState()) {
			return rev, true, out(&pb.WatchRunResponse{State: st.GetState()})
		}
		return rev, false, nil
	}
	rev, done, err := catchUp()
	if done || err != nil {
		return grpcError(err)
	}
watch:
	for ctx.Err() == nil {
		if beforeWatch != nil {
			beforeWatch()
		}
		for wr := range c.store.Watch(ctx, id, rev+1) {
			if wr.CompactRevision != 0 {
				if rev, done, err = catchUp(); done || err != nil {
					return grpcError(err)
				}
				continue watch
			}
			if err := wr.Err(); err != nil {
				return grpcError(err)
			}
			for _, ev := range wr.Events {
				key := string(ev.Kv.Key)
				switch {
				case c.store.IsSummaryKey(key):
					var sum pb.GenerationSummary
					if err := unmarshal(ev.Kv.Value, &sum); err != nil {
						return grpcError(err)
					}
					if err := send(&sum); err != nil {
						return err
					}
				case c.store.IsStatusKey(key):
					var rs pb.RunStatus
					if err := unmarshal(ev.Kv.Value, &rs); err != nil {
						return grpcError(err)
					}
					if terminal(rs.GetState()) {
						return out(&pb.WatchRunResponse{State: rs.GetState()})
					}
				}
			}
			rev = wr.Header.Revision
		}
	}
	if ctx.Err() != nil && parent.Err() == nil {
		return status.Error(codes.Unavailable, "coordinator shutting down")
	}
	return grpcError(ctx.Err())
}

func (s *runServer) CancelRun(ctx context.Context, req *pb.CancelRunRequest) (*pb.CancelRunResponse, error) {
	if err := requireRunID(req.GetRunId()); err != nil {
		return nil, err
	}
	if err := s.c.Cancel(req.GetRunId()); err != nil {
		return nil, grpcError(err)
	}
	return &pb.CancelRunResponse{}, nil
}

func (s *runServer) ResumeRun(ctx context.Context, req *pb.ResumeRunRequest) (*pb.ResumeRunResponse, error) {
	if err := s.c.admit.submit(ctx); err != nil {
		return nil, grpcError(err)
	}
	if err := requireRunID(req.GetRunId()); err != nil {
		return nil, err
	}
	if err := s.c.Resume(ctx, req.GetRunId(), req.GetSet()...); err != nil {
		return nil, grpcError(err)
	}
	return &pb.ResumeRunResponse{}, nil
}

func (s *runServer) ForkRun(ctx context.Context, req *pb.ForkRunRequest) (*pb.ForkRunResponse, error) {
	if err := s.c.admit.submit(ctx); err != nil {
		return nil, grpcError(err)
	}
	if err := requireRunID(req.GetRunId()); err != nil {
		return nil, err
	}
	id, err := s.c.Fork(ctx, req.GetRunId(), req.GetGeneration(), req.GetSet()...)
	if err != nil {
		return nil, grpcError(err)
	}
	return &pb.ForkRunResponse{RunId: id}, nil
}

// maxEvaluateGenomes bounds one EvaluateGenomes call: hand-written genomes
// are few; a population's worth is a run.
const maxEvaluateGenomes = 1000

func (s *runServer) EvaluateGenomes(ctx context.Context, req *pb.EvaluateGenomesRequest) (*pb.EvaluateGenomesResponse, error) {
	if err := s.c.admit.submit(ctx); err != nil {
		return nil, grpcError(err)
	}
	if n := len(req.GetGenomes()); n == 0 || n > maxEvaluateGenomes {
		return nil, status.Errorf(codes.InvalidArgument, "genomes has %d entries, allowed 1..%d", n, maxEvaluateGenomes)
	}
	spec, err := experiment.FromProto(req.GetSpec())
	if err != nil {
		return nil, grpcError(err)
	}
	shape := spec.Shape()
	genomes := make([]genome.Genome, len(req.GetGenomes()))
	for i, p := range req.GetGenomes() {
		g, err := genome.FromProto(p, shape)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "genomes[%d]: %v", i, err)
		}
		genomes[i] = g
	}
	records, err := EvaluateGenomes(ctx, s.c.evaluator(), spec, genomes)
	if err != nil {
		return nil, grpcError(err)
	}
	resp := &pb.EvaluateGenomesResponse{FeatureNames: shape.Features}
	for i, r := range records {
		resp.Individuals = append(resp.Individuals, RecordToProto(r, &genomes[i]))
	}
	return resp, nil
}

func requireSweepID(id string) error {
	if id == "" {
		return status.Error(codes.InvalidArgument, "sweep_id is empty, allowed a sweep id (see ListSweeps)")
	}
	return nil
}

func (s *runServer) SubmitSweep(ctx context.Context, req *pb.SubmitSweepRequest) (*pb.SubmitSweepResponse, error) {
	if err := s.c.admit.submit(ctx); err != nil {
		return nil, grpcError(err)
	}
	if req.GetSpec() == nil {
		return nil, status.Error(codes.InvalidArgument, "spec is missing")
	}
	if req.GetDefinition() == nil {
		return nil, status.Error(codes.InvalidArgument, "definition is missing, allowed the seeds and parameters of the sweep")
	}
	spec, err := experiment.FromProto(req.GetSpec())
	if err != nil {
		return nil, grpcError(err)
	}
	spec.Sweep = experiment.SweepFromProto(req.GetDefinition())
	id, runs, err := s.c.SubmitSweep(ctx, spec)
	if err != nil {
		return nil, grpcError(err)
	}
	return &pb.SubmitSweepResponse{SweepId: id, Runs: runs}, nil
}

func (s *runServer) GetSweep(ctx context.Context, req *pb.GetSweepRequest) (*pb.GetSweepResponse, error) {
	if err := requireSweepID(req.GetSweepId()); err != nil {
		return nil, err
	}
	sw, err := s.c.GetSweep(ctx, req.GetSweepId())
	if err != nil {
		return nil, grpcError(err)
	}
	return &pb.GetSweepResponse{Sweep: sw}, nil
}

func (s *runServer) ListSweeps(ctx context.Context, _ *pb.ListSweepsRequest) (*pb.ListSweepsResponse, error) {
	sws, err := s.c.ListSweeps(ctx)
	if err != nil {
		return nil, grpcError(err)
	}
	return &pb.ListSweepsResponse{Sweeps: sws}, nil
}

func (s *runServer) ListWorkers(context.Context, *pb.ListWorkersRequest) (*pb.ListWorkersResponse, error) {
	resp := &pb.ListWorkersResponse{}
	var lister workerLister = s.c.dispatcher
	if l, ok := s.c.cfg.Evaluator.(workerLister); ok {
		lister = l // a Dispatcher given as the Evaluator (tests, embedders)
	} else if s.c.dispatcher == nil {
		return resp, nil // in-process evaluation: no workers
	}
	for _, w := range lister.Statuses() {
		p := &pb.WorkerStatus{Name: w.Name, Address: w.Addr, Capacity: uint32(w.Capacity), Build: w.Build, EvaluationDigest: w.Digest,
			State: workerStates[w.State], InFlight: uint32(w.InFlight), Batches: w.Batches, Evaluations: w.Evaluations,
			Failures: uint32(w.Failures), Reason: w.Reason}
		if !w.Joined.IsZero() {
			p.JoinedUnix = w.Joined.Unix()
		}
		resp.Workers = append(resp.Workers, p)
	}
	return resp, nil
}

// workerLister is what ListWorkers needs of an Evaluator: a
// dispatch.Dispatcher's.
type workerLister interface {
	Statuses() []dispatch.WorkerStatus
}

// workerStates maps the dispatcher's worker states to the API's.
var workerStates = map[dispatch.WorkerState]pb.WorkerState{
	dispatch.Alive:       pb.WorkerState_WORKER_STATE_ALIVE,
	dispatch.Resting:     pb.WorkerState_WORKER_STATE_RESTING,
	dispatch.Draining:    pb.WorkerState_WORKER_STATE_DRAINING,
	dispatch.Quarantined: pb.WorkerState_WORKER_STATE_QUARANTINED,
}

func (s *runServer) WatchSweep(req *pb.WatchSweepRequest, stream rpc.RunService_WatchSweepServer) error {
	release, err := s.c.admit.stream(stream.Context())
	if err != nil {
		return grpcError(err)
	}
	defer release()
	if err := requireSweepID(req.GetSweepId()); err != nil {
		return err
	}
	return grpcError(s.c.watchSweep(stream.Context(), req.GetSweepId(), stream.Send))
}

func (s *runServer) CancelSweep(ctx context.Context, req *pb.CancelSweepRequest) (*pb.CancelSweepResponse, error) {
	if err := requireSweepID(req.GetSweepId()); err != nil {
		return nil, err
	}
	ids, err := s.c.CancelSweep(ctx, req.GetSweepId())
	if err != nil {
		return nil, grpcError(err)
	}
	return &pb.CancelSweepResponse{Cancelled: ids}, nil
}

func (s *runServer) ResumeSweep(ctx context.Context, req *pb.ResumeSweepRequest) (*pb.ResumeSweepResponse, error) {
	if err := s.c.admit.submit(ctx); err != nil {
		return nil, grpcError(err)
	}
	if err := requireSweepID(req.GetSweepId()); err != nil {
		return nil, err
	}
	ids, err := s.c.ResumeSweep(ctx, req.GetSweepId())
	if err != nil {
		return nil, grpcError(err)
	}
	return &pb.ResumeSweepResponse{Resumed: ids}, nil
}
