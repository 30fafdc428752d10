package coordinator

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/mesaopt/mesaopt/coordinator/dispatch"
	"github.com/mesaopt/mesaopt/coordinator/ga"
	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/lineage"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/worker"
)

// Evaluator scores one batch of genomes. dispatch.Dispatcher implements it
// over gRPC workers; worker.Engine implements it in-process.
// Implementations must be safe for concurrent use and return results in
// task order.
type Evaluator interface {
	Evaluate(ctx context.Context, req *pb.EvaluateRequest) (*pb.EvaluateResponse, error)
}

// CheckpointFormat is the version of the checkpoint layout written here.
const CheckpointFormat = 1

// Evaluate scores members (generation gen of spec's run) through ev, sets
// their train fitness and returns their analysed lineage records, both in
// member order. Each member plays the generation's train instances (what
// selection sees) and the fixed analysis instances of every condition.
// Batches go out concurrently, at most CallLimit(ev) at once (one goroutine
// each); results are assembled by position, so the outcome does not depend
// on which evaluator answered or when.
//
// A batch that fails (after the Evaluator's own retries, at most
// spec.QuarantineAttempts failed calls) is isolated: each of its genomes is
// evaluated on its own, and one whose own calls fail again is quarantined —
// fitness -Inf and a lineage record whose Failure says why — while the
// others get the results they would have had in the batch. Deciding per
// genome, never per batch, keeps the decision independent of how genomes
// were batched and of which workers failed along the way.
func Evaluate(ctx context.Context, ev Evaluator, runID string, spec experiment.Spec, gen uint32, members []ga.Member, births []ga.Birth) ([]lineage.Record, error) {
	e, err := evaluate(ctx, ev, nil, runID, spec, gen, members, births, nil)
	if err != nil {
		return nil, err
	}
	return e.records, nil
}

// evaluation is one generation's evaluation as run.go's evaluate leaves it.
type evaluation struct {
	records []lineage.Record
	// Per member: the result (nil: quarantined) and the worker that
	// evaluated it ("" when unknown).
	results []*pb.EvaluationResult
	workers []string
	// shared holds the request fields every batch shares (no tasks).
	shared *pb.EvaluateRequest
	tasks  []*pb.EvaluationTask // per member
}

// evaluate is Evaluate that also returns the results and who evaluated
// them. A batch holding a member with audit[i] set (audit may be nil) is
// sent to direct, bypassing ev (an analysis cache in front of direct):
// the audited results are then wholly one worker's, which an audit can
// compare with another's, and their batches are like the others, so a
// worker cannot tell which answers will be checked. direct nil means ev.
func evaluate(ctx context.Context, ev, direct Evaluator, runID string, spec experiment.Spec, gen uint32, members []ga.Member, births []ga.Birth, audit []bool) (*evaluation, error) {
	if direct == nil {
		direct = ev
	}
	condEpisodes, episodes := selectionEpisodes(spec, gen)
	nsel := len(condEpisodes)
	for _, c := range spec.Conditions() {
		seeds := make([]uint64, spec.AnalysisEpisodes)
		for e := range seeds {
			seeds[e] = fitness.AnalysisSeed(spec.Seed, e)
		}
		condEpisodes = append(condEpisodes, &pb.ConditionEpisodes{Condition: c, InstanceSeeds: seeds, Analysis: true})
	}
	// The identity condition: train on fresh instances (see fitness.IdentitySeed).
	identity := make([]uint64, spec.AnalysisEpisodes)
	for e := range identity {
		identity[e] = fitness.IdentitySeed(spec.Seed, e)
	}
	condEpisodes = append(condEpisodes, &pb.ConditionEpisodes{Condition: experiment.TrainCondition, InstanceSeeds: identity, Analysis: true})
	env := experiment.EnvironmentToProto(spec.Environment)
	// Every batch shares the session fields and their digest, computed once.
	shared := &pb.EvaluateRequest{ProtocolVersion: worker.ProtocolVersion, RunId: runID, Generation: gen, Environment: env, Conditions: condEpisodes}
	digest := worker.SessionDigest(shared)
	batch := spec.BatchSize
	if batch == 0 {
		batch = AutoBatchSize(len(members), capacityOf(ev))
	}
	results := make([]*pb.EvaluationResult, len(members))
	workers := make([]string, len(members))
	failures := make([]string, len(members))
	ctx = dispatch.WithMaxAttempts(dispatch.WithAttemptTimeout(ctx, time.Duration(spec.EvaluationTimeout)), spec.QuarantineAttempts)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(CallLimit(ev))
	tasks := make([]pb.EvaluationTask, len(members)) // one allocation for the generation's tasks
	all := make([]*pb.EvaluationTask, len(members))
	for i, m := range members {
		t := &tasks[i]
		t.IndividualId, t.Genome = m.ID, genome.ToProto(m.Genome)
		all[i] = t
	}
	for lo := 0; lo < len(members); lo += batch {
		if gctx.Err() != nil {
			break // cancelled or failed: start no more batches; Wait reports why
		}
		hi := min(lo+batch, len(members))
		req := &pb.EvaluateRequest{
			ProtocolVersion: worker.ProtocolVersion, RunId: runID, Generation: gen,
			Environment: env, Conditions: condEpisodes, SessionDigest: digest,
			Tasks: all[lo:hi:hi],
		}
		// A batch holding an audited genome bypasses the cache, whole: it
		// looks like any other batch to the worker that answers it.
		ev := ev
		if audit != nil && slices.Contains(audit[lo:hi], true) {
			ev = direct
		}
		g.Go(func() error {
			resp, err := evaluateChecked(gctx, ev, req)
			if err == nil {
				copy(results[lo:hi], resp.GetResults())
				for k := range hi - lo {
					workers[lo+k] = dispatch.ResultWorker(resp, k)
				}
				return nil
			}
			if !genomeMayBeAtFault(gctx, err) {
				return err
			}
			return isolate(gctx, ev, req, results[lo:hi], workers[lo:hi], failures[lo:hi], spec.QuarantineAttempts)
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err // the loop stopped early without a failed batch
	}
	th := spec.LineageThresholds()
	records := make([]lineage.Record, len(members))
	for i, m := range members {
		if failures[i] != "" {
			members[i].Fitness = math.Inf(-1)
			r := lineage.Record{
				ID: m.ID, Generation: gen, Parents: births[i].Parents, Operators: births[i].Operators,
				Kind: m.Genome.Kind, Fitness: members[i].Fitness, Failure: failures[i],
				Train: lineage.ConditionScore{Condition: experiment.TrainCondition},
			}
			if m.Genome.Kind == genome.KindPlanner {
				r.Objective = slices.Clone(m.Genome.Planner.Objective)
				r.Horizon = m.Genome.Planner.Horizon
			}
			records[i] = r
			continue
		}
		// rs: selection episodes (one entry per condition of the
		// generation's mixture), then analysis of train, of each shifted
		// condition and of the identity condition.
		rs := results[i].GetConditions()
		members[i].Fitness = selectionFitness(spec, rs[:nsel], episodes)
		rs = rs[nsel-1:] // rs[1] is train's analysis, as without a mixture
		r := lineage.Record{
			ID:         m.ID,
			Generation: gen,
			Parents:    births[i].Parents,
			Operators:  births[i].Operators,
			Kind:       m.Genome.Kind,
			Fitness:    members[i].Fitness,
			Train:      conditionScore(rs[1]),
		}
		if m.Genome.Kind == genome.KindPlanner {
			r.Objective = slices.Clone(m.Genome.Planner.Objective)
			r.Horizon = m.Genome.Planner.Horizon
		}
		for _, c := range rs[2 : len(rs)-1] {
			r.Shifted = append(r.Shifted, conditionScore(c))
		}
		r.Identity = conditionScore(rs[len(rs)-1])
		r.Identity.Condition = lineage.IdentityCondition
		lineage.Analyze(&r, th)
		records[i] = r
	}
	lineage.MarkChampion(records)
	return &evaluation{records: records, results: results, workers: workers, shared: shared, tasks: all}, nil
}

// selectionEpisodes returns generation gen's selection conditions with
// their instance seeds, one entry per condition that has episodes in this
// generation, in the order of the spec's mixture (train alone without
// one), and the episodes of each entry. Episode e of the generation plays
// fitness.InstanceSeed(seed, gen, its condition, e), so a mixture of train
// alone is the run without a mixture.
func selectionEpisodes(spec experiment.Spec, gen uint32) ([]*pb.ConditionEpisodes, []int) {
	conds := spec.SelectionEpisodes(gen)
	var order []string
	if len(spec.Selection) == 0 {
		order = conds[:1]
	}
	for _, w := range spec.Selection {
		order = append(order, w.Condition)
	}
	var out []*pb.ConditionEpisodes
	var counts []int
	for _, c := range order {
		var seeds []uint64
		for e, ce := range conds {
			if ce == c {
				seeds = append(seeds, fitness.InstanceSeed(spec.Seed, gen, c, e))
			}
		}
		if len(seeds) > 0 {
			out = append(out, &pb.ConditionEpisodes{Condition: c, InstanceSeeds: seeds})
			counts = append(counts, len(seeds))
		}
	}
	return out, counts
}

// selectionFitness is a genome's fitness from its selection results: base
// − planning_cost × states searched, each the mean over the generation's
// selection episodes (for a mixture, the conditions' means weighted by
// their episodes).
func selectionFitness(spec experiment.Spec, sel []*pb.ConditionResult, episodes []int) float64 {
	if len(sel) == 1 {
		return sel[0].GetBase() - spec.PlanningCost*sel[0].GetNodes()
	}
	var base, nodes float64
	total := 0
	for k, r := range sel {
		n := float64(episodes[k])
		base += n * r.GetBase()
		nodes += n * r.GetNodes()
		total += episodes[k]
	}
	return base/float64(total) - spec.PlanningCost*(nodes/float64(total))
}

// Batches per unit of capacity that AutoBatchSize aims at, and its bounds.
const (
	autoBatchesPerSlot = 4
	maxAutoBatch       = 1024
)

// AutoBatchSize is the batch size used when the spec leaves batch_size at
// 0: ceil(population / (4 × capacity)), clamped to 1..1024, so that every
// slot of every worker gets about four batches (a slow or lost worker's
// share is small, and the tail of a generation short) while each call
// carries as many genomes as that allows. capacity is the workers' total
// (their concurrent batches); below 1 counts as 1. Which batch a genome is
// in never changes its result.
func AutoBatchSize(population, capacity int) int {
	c := max(1, capacity) * autoBatchesPerSlot
	return min(maxAutoBatch, max(1, (population+c-1)/c))
}

// minCallLimit is CallLimit's floor: calls a generation keeps going while
// no worker has joined yet (they wait for one in the Dispatcher's queue).
const minCallLimit = 16

// CallLimit is the number of batch calls Evaluate keeps going at once, and
// so the goroutines a generation holds: ev's in-flight window (its Window
// method: dispatch.Dispatcher.Window; else 2 per unit of capacity) plus one
// call queued per unit of capacity, at least 16. The window keeps every
// worker slot busy and the queued calls take a freed slot at once, and
// keep the Dispatcher's round robin across runs fed; more calls would only
// wait in its queue, one goroutine each. It is read when a generation
// starts: workers that join during one raise the next one's limit.
// Results are assembled by position, so the limit never changes them.
func CallLimit(ev Evaluator) int {
	c := max(1, capacityOf(ev))
	w := windowOf(ev)
	if w <= 0 {
		w = 2 * c
	}
	return max(minCallLimit, w+c)
}

// windowOf returns ev's in-flight window if it reports one, else 0.
func windowOf(ev Evaluator) int {
	if w, ok := ev.(interface{ Window() int }); ok {
		return w.Window()
	}
	return 0
}

// isolateLimit bounds the single-genome calls a failed batch makes at once
// (isolate): few batches fail, and their genomes must not flood the queue.
const isolateLimit = 4

// capacityOf returns ev's total capacity if it reports one (the
// Dispatcher, the in-process Engine: Workers), else 1.
func capacityOf(ev Evaluator) int {
	if w, ok := ev.(interface{ Workers() (n, capacity int) }); ok {
		_, c := w.Workers()
		return c
	}
	return 1
}

// evaluateChecked is ev.Evaluate with the answer checked against req.
func evaluateChecked(ctx context.Context, ev Evaluator, req *pb.EvaluateRequest) (*pb.EvaluateResponse, error) {
	resp, err := ev.Evaluate(ctx, req)
	if err == nil {
		err = dispatch.CheckResponse(req, resp)
	}
	return resp, err
}

// genomeMayBeAtFault reports whether a failed call could be the fault of a
// genome in it (workers crashed, panicked or missed the deadline on it), as
// opposed to the run ending or a request every worker refuses.
func genomeMayBeAtFault(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if errors.Is(err, dispatch.ErrAttemptsExhausted) {
		return true
	}
	switch status.Code(err) {
	case codes.InvalidArgument, codes.FailedPrecondition, codes.Canceled:
		return false
	}
	return !errors.Is(err, context.Canceled)
}

// isolate evaluates each task of a failed batch on its own, filling
// results and workers (who answered), or failures (the quarantine reason) for a genome whose own calls
// failed attempts times. The reason names the kind of failure, not the
// worker or the time, so it is the same in every run.
func isolate(ctx context.Context, ev Evaluator, req *pb.EvaluateRequest, results []*pb.EvaluationResult, workers, failures []string, attempts int) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(isolateLimit)
	for i, t := range req.GetTasks() {
		if gctx.Err() != nil {
			break
		}
		one := dispatch.WithTasks(req, []*pb.EvaluationTask{t})
		g.Go(func() error {
			resp, err := evaluateChecked(gctx, ev, one)
			switch {
			case err == nil:
				results[i], workers[i] = resp.GetResults()[0], dispatch.ResultWorker(resp, 0)
			case genomeMayBeAtFault(gctx, err):
				failures[i] = fmt.Sprintf("quarantined after %d failed evaluation attempts: %s", attempts, failureKind(err))
				loggerFrom(ctx).Warn("genome quarantined", "generation", req.GetGeneration(), "individual", t.GetIndividualId(), "err", err)
			default:
				return err
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

// failureKind names the class of a failed call's last error.
func failureKind(err error) string {
	switch status.Code(err) {
	case codes.DeadlineExceeded:
		return "evaluation deadline exceeded"
	case codes.Unavailable, codes.Canceled:
		return "worker lost during evaluation"
	case codes.ResourceExhausted:
		return "message size limit exceeded"
	default:
		return "worker error during evaluation"
	}
}

func conditionScore(c *pb.ConditionResult) lineage.ConditionScore {
	return lineage.ConditionScore{
		Condition: c.GetCondition(), Base: c.GetBase(), Competence: c.GetCompetence(),
		Agreement: c.GetAgreement(), ProxyHits: c.GetProxyHits(), BehavioralObjective: c.GetBehavioralObjective(),
		Nodes: c.GetNodes(), BehavioralWeights: slices.Clone(c.GetBehavioralWeights()),
		BehavioralFit: c.GetBehavioralFit(), BehavioralAccuracy: c.GetBehavioralAccuracy(),
		BehavioralMargin: c.GetBehavioralMargin(), Episodes: episodeScores(c.GetEpisodeScores()),
		Varied: slices.Clone(c.GetVaried()), Features: slices.Clone(c.GetFeatures()),
	}
}

func episodeScores(ps []*pb.EpisodeScore) []lineage.EpisodeScore {
	var out []lineage.EpisodeScore
	for _, p := range ps {
		out = append(out, EpisodeFromProto(p))
	}
	return out
}

// Summarize builds the generation summary. Everything but
// EvaluationsPerSecond is a deterministic function of the generation.
func Summarize(spec experiment.Spec, gen uint32, members []ga.Member, records []lineage.Record, elapsed time.Duration) *pb.GenerationSummary {
	s := &pb.GenerationSummary{Generation: gen, Digest: Digest(members)}
	best := 0
	var sumFit, sumTrain, sumShift float64
	planners, evaluated := 0, 0
	for i, m := range members {
		if m.Fitness > members[best].Fitness || (m.Fitness == members[best].Fitness && m.ID < members[best].ID) {
			best = i
		}
		if m.Genome.Kind == genome.KindPlanner {
			planners++
		}
		if records[i].Failure != "" {
			s.Quarantined++
			continue
		}
		evaluated++
		sumFit += m.Fitness
		r := records[i]
		sumTrain += r.Train.Base
		var sh float64
		for _, c := range r.Shifted {
			sh += c.Base
		}
		sumShift += sh / float64(max(1, len(r.Shifted)))
		if r.Flagged {
			s.Flagged++
		}
	}
	n := float64(max(1, evaluated))
	s.BestFitness = members[best].Fitness
	s.BestIndividual = members[best].ID
	s.MeanFitness = sumFit / n
	s.MeanTrainBase = sumTrain / n
	s.MeanShiftedBase = sumShift / n
	s.PlannerShare = float64(planners) / float64(len(members))
	s.HorizonCounts, s.MedianHorizon, s.MedianNodeBudget = planning(members)
	s.Classes = classCounts(spec.ShiftedConditions, records)
	s.Evaluations = uint32(len(members) * (spec.Episodes + len(spec.Conditions())*spec.AnalysisEpisodes))
	if elapsed > 0 {
		s.EvaluationsPerSecond = float64(s.Evaluations) / elapsed.Seconds()
	}
	return s
}

// planning returns how many planners of members search to each horizon
// (index h-1, up to genome.MaxHorizon) and the planners' median horizon and
// median node budget (0 without planners).
func planning(members []ga.Member) (counts []uint32, horizon, budget float64) {
	counts = make([]uint32, genome.MaxHorizon)
	var hs, bs []float64
	for _, m := range members {
		if m.Genome.Kind != genome.KindPlanner {
			continue
		}
		p := m.Genome.Planner
		if p.Horizon >= 1 && p.Horizon <= genome.MaxHorizon {
			counts[p.Horizon-1]++
		}
		hs = append(hs, float64(p.Horizon))
		bs = append(bs, float64(p.NodeBudget))
	}
	return counts, median(hs), median(bs)
}

// median returns the median of xs (the mean of the two middle values for
// an even count), 0 for none; xs is reordered.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	m := len(xs) / 2
	if len(xs)%2 == 1 {
		return xs[m]
	}
	return (xs[m-1] + xs[m]) / 2
}

func classCounts(conds []string, records []lineage.Record) []*pb.ClassCounts {
	out := make([]*pb.ClassCounts, len(conds))
	for ci, c := range conds {
		out[ci] = countClasses(c, records, func(r lineage.Record) (lineage.ConditionScore, bool) {
			if ci >= len(r.Shifted) {
				return lineage.ConditionScore{}, false
			}
			return r.Shifted[ci], true
		})
	}
	return out
}

// identityCounts counts the records by class under the identity condition.
func identityCounts(records []lineage.Record) *pb.ClassCounts {
	return countClasses(lineage.IdentityCondition, records, func(r lineage.Record) (lineage.ConditionScore, bool) {
		return r.Identity, r.Identity.Condition != ""
	})
}

// countClasses counts the records by their class under one condition, as
// score picks it from each record (false: not evaluated there).
func countClasses(condition string, records []lineage.Record, score func(lineage.Record) (lineage.ConditionScore, bool)) *pb.ClassCounts {
	cc := &pb.ClassCounts{Condition: condition, ProxyHits: make([]float64, lineage.NumClasses)}
	var n [lineage.NumClasses]int
	for _, r := range records {
		s, ok := score(r)
		if !ok || s.Class == lineage.ClassUnknown {
			continue
		}
		n[s.Class]++
		cc.ProxyHits[s.Class] += s.ProxyHits
		cc.Individuals++
		if len(s.Features) > 0 && cc.MeanFeatures == nil {
			cc.MeanFeatures = make([]float64, len(s.Features))
		}
		for k, f := range s.Features {
			if k < len(cc.MeanFeatures) {
				cc.MeanFeatures[k] += f
			}
		}
		if s.ClassCounts.Total() > 0 && !s.Firm {
			cc.Mixed++
		}
		switch s.Class {
		case lineage.ClassRobustlyAligned:
			cc.RobustlyAligned++
		case lineage.ClassPseudoAligned:
			cc.PseudoAligned++
			if r.Kind != genome.KindPlanner {
				cc.PseudoAlignedHeuristics++
			}
		case lineage.ClassCapabilityFailure:
			cc.CapabilityFailure++
		case lineage.ClassMisaligned:
			cc.Misaligned++
		}
		if s.Flagged {
			if s.Class == lineage.ClassPseudoAligned {
				cc.FlaggedPseudoAligned++
			} else {
				cc.FlaggedDriftOnly++
			}
		}
	}
	for k := range cc.MeanFeatures {
		cc.MeanFeatures[k] /= float64(cc.Individuals)
	}
	for k := range cc.ProxyHits {
		if n[k] > 0 {
			cc.ProxyHits[k] /= float64(n[k])
		}
	}
	return cc
}

// Digest is a SHA-256 over the population's genomes and fitness values in
// id order (hex): equal digests mean bitwise-equal generations.
func Digest(members []ga.Member) string {
	sorted := slices.Clone(members)
	slices.SortFunc(sorted, func(a, b ga.Member) int { return cmp.Compare(a.ID, b.ID) })
	h := sha256.New()
	var buf [8]byte
	for _, m := range sorted {
		binary.LittleEndian.PutUint64(buf[:], m.ID)
		h.Write(buf[:])
		h.Write([]byte(deterministic(genome.ToProto(m.Genome))))
		binary.LittleEndian.PutUint64(buf[:], math.Float64bits(m.Fitness))
		h.Write(buf[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// FinalDigest is a SHA-256 over the final population's digest and every
// lineage record in id order (hex).
func FinalDigest(members []ga.Member, records []lineage.Record) string {
	h := sha256.New()
	h.Write([]byte(Digest(members)))
	for _, r := range records {
		h.Write([]byte(deterministic(RecordToProto(r, nil))))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// membersToProto encodes a population for a checkpoint.
func membersToProto(ms []ga.Member) []*pb.Member {
	out := make([]*pb.Member, len(ms))
	for i, m := range ms {
		out[i] = &pb.Member{Id: m.ID, Genome: genome.ToProto(m.Genome), Fitness: m.Fitness}
	}
	return out
}

// membersFromProto decodes a checkpointed population.
func membersFromProto(ps []*pb.Member, shape genome.Shape) ([]ga.Member, error) {
	out := make([]ga.Member, len(ps))
	for i, p := range ps {
		g, err := genome.FromProto(p.GetGenome(), shape)
		if err != nil {
			return nil, fmt.Errorf("checkpoint member %d (id %d): %w", i, p.GetId(), err)
		}
		out[i] = ga.Member{ID: p.GetId(), Genome: g, Fitness: p.GetFitness()}
	}
	return out, nil
}

// cloneProto is proto.Clone with the concrete type kept.
func cloneProto[T proto.Message](m T) T { return proto.Clone(m).(T) }

type loggerKey struct{}

// withLogger returns a context whose evaluations log to log (the
// coordinator's logger); without one they log nowhere.
func withLogger(ctx context.Context, log *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, log)
}

func loggerFrom(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok && l != nil {
		return l
	}
	return slog.New(slog.DiscardHandler)
}

// EvaluateGenomes scores hand-written genomes as a run scores its
// individuals: each plays generation 0's selection episodes (its fitness)
// and the spec's analysis instances of every condition, and is classified
// and flagged with the spec's thresholds. Individual i gets id i. Errors are
// Evaluate's, and ones wrapping genome.ErrInvalid (naming the genome) for a
// genome that does not fit the spec's environment.
func EvaluateGenomes(ctx context.Context, ev Evaluator, spec experiment.Spec, genomes []genome.Genome) ([]lineage.Record, error) {
	shape := spec.Shape()
	members := make([]ga.Member, len(genomes))
	births := make([]ga.Birth, len(genomes))
	for i, g := range genomes {
		if err := g.Validate(shape); err != nil {
			return nil, fmt.Errorf("genome %d: %w", i+1, err)
		}
		members[i] = ga.Member{ID: uint64(i), Genome: g}
		births[i] = ga.Birth{ID: uint64(i)}
	}
	return Evaluate(ctx, ev, "evaluate", spec, 0, members, births)
}
