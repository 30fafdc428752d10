package coordinator

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/mesaopt/mesaopt/coordinator/dispatch"
	"github.com/mesaopt/mesaopt/coordinator/ga"
	"github.com/mesaopt/mesaopt/coordinator/store"
	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/internal/stream"
	"github.com/mesaopt/mesaopt/lineage"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/worker"
)

// Auditing (the spec's audit_rate). Each generation, ceil(audit_rate × P)
// of its P genomes, chosen by a stream of the seed and the generation
// (stream.PurposeAudit), are evaluated whole by one worker and evaluated
// again on another; both answers must be equal bit for bit (deterministic
// protobuf encoding). When they differ a third opinion decides — a third
// worker, or with fewer than three the coordinator's own in-process engine
// — and the worker whose answer disagrees with it is a liar: quarantined by
// the Dispatcher for good, counted in the summary, and its results undone.
// Undoing them rolls the run back to the checkpoint before the first
// generation the liar evaluated any genome of (provenance), and the run
// replays from there without it: the results are pure functions of the
// request, so the replay produces what an honest cluster would have, and
// the final digest is the honest run's. A liar caught in the generation it
// first answered costs that generation's evaluation again and nothing else.
//
// Audits need an evaluator that routes by worker (the Dispatcher: see
// quarantiner); with an in-process evaluator, or a single worker, there is
// nobody to compare with and nothing is audited. They never change a
// result or a digest, only which workers may produce one.

// quarantiner is what auditing needs of the evaluator: the Dispatcher's
// worker count (for "is there another worker") and its quarantine.
type quarantiner interface {
	Evaluator
	Workers() (n, capacity int)
	Quarantine(name, reason string)
}

// auditPicks returns which of n members generation gen audits:
// ceil(rate × n) of them, drawn by the seed's audit stream (nil when the
// rate is 0).
func auditPicks(spec experiment.Spec, gen uint32, n int) []bool {
	if spec.AuditRate <= 0 || n == 0 {
		return nil
	}
	k := min(n, int(math.Ceil(spec.AuditRate*float64(n))))
	picks := make([]bool, n)
	for _, i := range stream.New(spec.Seed, stream.PurposeAudit, uint64(gen)).Perm(n)[:k] {
		picks[i] = true
	}
	return picks
}

// errNoThird says fewer than three workers are known: the coordinator's
// engine gives the third opinion.
var errNoThird = errors.New("no third worker")

// auditOutcome is what a generation's audits found.
type auditOutcome struct {
	audited    []uint64 // individuals whose result a second worker confirmed, ascending
	mismatches int
	liars      []string // sorted
}

// sameResult reports whether two results are equal bit for bit.
func sameResult(a, b *pb.EvaluationResult) bool {
	return bytes.Equal(deterministic(a), deterministic(b))
}

// audit re-evaluates the picked members of e on other workers through q
// and settles each disagreement with a third opinion (arbiter when fewer
// than three workers are known or none answers). Each re-evaluation is one
// attempt on a worker with a slot free now: a worker resting after a
// failure or stopped is not waited for, and arbiter — the coordinator's
// own engine, nil when the run is of another evaluation semantics — is the
// second opinion instead, a trusted one (a mismatch with it convicts the
// first worker). Without arbiter such a member stays unaudited; only the
// run's context ending is an error.
func audit(ctx context.Context, q quarantiner, arbiter Evaluator, spec experiment.Spec, e *evaluation, picks []bool) (auditOutcome, error) {
	var out auditOutcome
	if n, _ := q.Workers(); n < 2 || picks == nil {
		return out, nil
	}
	log := loggerFrom(ctx)
	timeout := time.Duration(spec.EvaluationTimeout) * time.Duration(spec.QuarantineAttempts)
	ctx = dispatch.WithMaxAttempts(dispatch.WithAttemptTimeout(ctx, time.Duration(spec.EvaluationTimeout)), spec.QuarantineAttempts)
	var mu sync.Mutex
	liars := map[string]bool{} // membership only; sorted below
	g, gctx := errgroup.WithContext(ctx)
	for i, pick := range picks {
		first, w1 := e.results[i], e.workers[i]
		if !pick || first == nil || w1 == "" {
			continue
		}
		one := dispatch.WithTasks(e.shared, []*pb.EvaluationTask{e.tasks[i]})
		g.Go(func() error {
			again := func(ev Evaluator, exclude ...string) (*pb.EvaluationResult, string, error) {
				// One attempt, on a worker free now: a worker that is resting
				// after a failure, or stopped, is not waited for; the
				// coordinator's own engine answers instead.
				actx, cancel := context.WithTimeout(dispatch.WithNoWait(dispatch.WithMaxAttempts(dispatch.WithExcludedWorkers(gctx, exclude...), 1)), timeout)
				defer cancel()
				resp, err := evaluateChecked(actx, ev, one)
				if err != nil {
					return nil, "", err
				}
				return resp.GetResults()[0], dispatch.ResultWorker(resp, 0), nil
			}
			second, w2, err := again(q, w1)
			if err != nil || w2 == w1 {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if arbiter == nil {
					log.Warn("audit skipped: no other worker answered", "generation", one.GetGeneration(), "individual", one.GetTasks()[0].GetIndividualId(), "err", err)
					return nil
				}
				// The coordinator's own engine, of the run's evaluation
				// semantics, is the second opinion, and a trusted one: a
				// mismatch convicts the first worker.
				resp, err := evaluateChecked(gctx, arbiter, one)
				if err != nil {
					return fmt.Errorf("audit of individual %d: in-process second opinion: %w", one.GetTasks()[0].GetIndividualId(), err)
				}
				mu.Lock()
				defer mu.Unlock()
				id := one.GetTasks()[0].GetIndividualId()
				if sameResult(first, resp.GetResults()[0]) {
					out.audited = append(out.audited, id)
					return nil
				}
				out.mismatches++
				liars[w1] = true
				log.Error("audit mismatch: worker lied", "liar", w1, "generation", one.GetGeneration(), "individual", id, "confirmed_by", []string{"coordinator"})
				return nil
			}
			if sameResult(first, second) {
				mu.Lock()
				out.audited = append(out.audited, one.GetTasks()[0].GetIndividualId())
				mu.Unlock()
				return nil
			}
			var third *pb.EvaluationResult
			var w3 string
			err = errNoThird
			if n, _ := q.Workers(); n >= 3 {
				third, w3, err = again(q, w1, w2)
			}
			if err != nil && arbiter == nil {
				log.Warn("audit undecided: no third opinion (no third worker answered, and the coordinator's engine is of another evaluation semantics than the run)",
					"generation", one.GetGeneration(), "individual", one.GetTasks()[0].GetIndividualId(), "workers", []string{w1, w2})
				return nil
			}
			if err != nil {
				resp, err := evaluateChecked(gctx, arbiter, one)
				if err != nil {
					return fmt.Errorf("audit of individual %d: in-process third opinion: %w", one.GetTasks()[0].GetIndividualId(), err)
				}
				third, w3 = resp.GetResults()[0], "coordinator"
			}
			mu.Lock()
			defer mu.Unlock()
			out.mismatches++
			id := one.GetTasks()[0].GetIndividualId()
			switch {
			case sameResult(third, first):
				liars[w2] = true
				log.Error("audit mismatch: worker lied", "liar", w2, "generation", one.GetGeneration(), "individual", id, "confirmed_by", []string{w1, w3})
			case sameResult(third, second):
				liars[w1] = true
				log.Error("audit mismatch: worker lied", "liar", w1, "generation", one.GetGeneration(), "individual", id, "confirmed_by", []string{w2, w3})
			default:
				liars[w1], liars[w2] = true, true
				log.Error("audit mismatch: three different answers; both audited workers count as liars", "workers", []string{w1, w2, w3}, "generation", one.GetGeneration(), "individual", id)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return out, err
	}
	for w := range liars {
		out.liars = append(out.liars, w)
	}
	slices.Sort(out.liars) // the map's order is discarded
	slices.Sort(out.audited)
	return out, nil
}

// provenanceOf is generation gen's provenance as e records it.
func provenanceOf(gen uint32, e *evaluation, audited []uint64) *pb.Provenance {
	p := &pb.Provenance{Generation: gen, Audited: audited}
	for i, t := range e.tasks {
		p.IndividualIds = append(p.IndividualIds, t.GetIndividualId())
		p.Workers = append(p.Workers, e.workers[i])
	}
	return p
}

// graveyard keeps, per generation step, the records that step's pruning
// removed, for the steps a rollback may undo: restoring the lineage as it
// was after generation t is the stored records of generations ≤ t plus
// those removed by the pruning of later steps (pruning never brings a
// record back, and no later step adds one of generation ≤ t).
type graveyard struct {
	from  uint32 // complete from this step on: earlier steps are not kept
	steps []grave
}

type grave struct {
	step uint32
	recs []lineage.Record
}

func (g *graveyard) add(step uint32, recs []lineage.Record) {
	g.steps = append(g.steps, grave{step: step, recs: recs})
}

// trim forgets the steps before from.
func (g *graveyard) trim(from uint32) {
	if from <= g.from {
		return
	}
	g.from = from
	i, _ := slices.BinarySearchFunc(g.steps, from, func(e grave, s uint32) int { return cmp.Compare(e.step, s) })
	g.steps = slices.Delete(g.steps, 0, i)
}

// covers reports whether the steps from step on are all kept.
func (g *graveyard) covers(step uint32) bool { return g != nil && step >= g.from }

// restore returns the records of generations ≤ t removed by steps > t and
// forgets those steps.
func (g *graveyard) restore(t uint32) []lineage.Record {
	var out []lineage.Record
	i, _ := slices.BinarySearchFunc(g.steps, t+1, func(e grave, s uint32) int { return cmp.Compare(e.step, s) })
	for _, e := range g.steps[i:] {
		for _, r := range e.recs {
			if r.Generation <= t {
				out = append(out, r)
			}
		}
	}
	g.steps = g.steps[:i]
	return out
}

// firstAnswered returns the first generation before gen whose provenance
// names one of liars, or gen when none does.
func (c *Coordinator) firstAnswered(ctx context.Context, run string, gen uint32, liars []string) (uint32, error) {
	for h := range gen {
		p, err := c.store.Provenance(ctx, run, h)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return 0, err
		}
		if slices.ContainsFunc(p.GetWorkers(), func(w string) bool { return slices.Contains(liars, w) }) {
			return h, nil
		}
	}
	return gen, nil
}

// rollback undoes the committed generations the liars evaluated any genome
// of, caught while evaluating generation gen: it finds the first such
// generation f from the provenance, forgets generations ≥ f in etcd and in
// the run's lineage, and returns the population to evaluate next (the
// checkpoint of f−1 bred into f; the initial population when f is 0, or
// when the checkpoint of f−1 is no longer retained or the lineage removed
// since is not all kept) with the run's new status. With f = gen nothing
// committed is touched and ok is false: evaluate gen again.
func (c *Coordinator) rollback(ctx context.Context, ar *activeRun, base *ga.Optimizer, st *pb.RunStatus, gen uint32, liars []string) (next rollbackState, ok bool, err error) {
	f, err := c.firstAnswered(ctx, ar.id, gen, liars)
	if err != nil || f == gen {
		return next, false, err
	}
	t := int64(f) - 1
	var cp *pb.Checkpoint
	if t >= 0 {
		cp, err = c.store.CheckpointAt(ctx, ar.id, uint32(t))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return next, false, err
		}
		if cp == nil || !ar.graves.covers(f) {
			c.log.Warn("rollback: the checkpoint before the liar's first result is not retained (or this coordinator did not see the pruning since); replaying from the start",
				"run", ar.id, "first_tainted_generation", f)
			t, cp = -1, nil
		}
	}
	// The lineage as it was after generation t.
	ar.mu.Lock()
	var restored []lineage.Record
	if t >= 0 {
		restored = ar.graves.restore(uint32(t))
		for _, r := range ar.lineage.Records() {
			if int64(r.Generation) <= t {
				restored = append(restored, r)
			}
		}
	} else {
		ar.graves = &graveyard{}
	}
	slices.SortFunc(restored, func(a, b lineage.Record) int { return cmp.Compare(a.ID, b.ID) })
	fresh := newLineage()
	for _, r := range restored {
		if err := fresh.Add(r); err != nil {
			ar.mu.Unlock()
			return next, false, fmt.Errorf("rollback: lineage: %w", err)
		}
	}
	ar.lineage = fresh
	ar.last = nil
	ar.gens = uint32(t + 1)
	var rewrite []uint32
	if t >= 0 {
		ar.last = fresh.Generation(uint32(t))
		rewrite = fresh.Generations() // every batch ≤ t: etcd's may lack what was restored
	}
	ar.dirty = ar.dirty[:0]
	batches := ar.batches(rewrite)
	ar.mu.Unlock()

	event := fmt.Sprintf("rolled back to generation %d: results of %v (quarantined as liars) undone from generation %d", t, liars, f)
	if t < 0 {
		event = fmt.Sprintf("rolled back to the start: results of %v (quarantined as liars) undone from generation %d", liars, f)
	}
	nst := cloneProto(st)
	nst.GenerationsDone = uint32(t + 1)
	nst.History = append(nst.History, event)
	// The restored lineage of generations ≤ t first, then the rollback in
	// one transaction. A crash between the two leaves the tainted run as it
	// was (its resume prunes the restored batches back to its population);
	// after both, a resume from checkpoint t finds the lineage as it was
	// after t. The other order would leave a window in which generation t's
	// lineage stays pruned by the tainted generations, and the replay would
	// not end with the honest digest.
	if err := c.rewriteLineage(ctx, ar.id, batches); err != nil {
		return next, false, err
	}
	if err := c.write(ctx, "rollback of "+ar.id, func(ctx context.Context, fe store.Fence) error {
		return c.store.Rollback(ctx, fe, ar.id, t, nst)
	}); err != nil {
		return next, false, err
	}
	c.log.Warn("run rolled back", "run", ar.id, "to_generation", t, "caught_in", gen, "liars", liars, "replaying", int64(gen)-t-1)
	next.st = nst
	if cp == nil {
		next.members, next.births, next.nextID = base.Initial()
		return next, true, nil
	}
	prev, err := membersFromProto(cp.GetPopulation(), ar.spec.Shape())
	if err != nil {
		return next, false, err
	}
	next.gen = uint32(t + 1)
	next.members, next.births, next.nextID = base.Next(prev, next.gen, cp.GetNextId())
	return next, true, nil
}

// rollbackState is where a rolled-back run continues.
type rollbackState struct {
	gen     uint32
	members []ga.Member
	births  []ga.Birth
	nextID  uint64
	st      *pb.RunStatus
}

// newArbiter returns the in-process engine that gives the third opinion
// when fewer than three workers are known.
func newArbiter() Evaluator { return worker.NewEngine(runtime.NumCPU()) }
