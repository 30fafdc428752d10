package fitness

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/internal/stream"
)

// Errors. Invalid genomes are reported with genome.ErrInvalid instead.
var (
	// ErrConfig: a Config field is out of range.
	ErrConfig = errors.New("fitness: invalid config")
	// ErrUnknownCondition: a condition name not in Conditions().
	ErrUnknownCondition = errors.New("fitness: unknown condition")
	// ErrNoInstances: Evaluate was given no instance seeds.
	ErrNoInstances = errors.New("fitness: no instance seeds")
	// ErrUnsolvable: no solvable layout was found for a seed.
	ErrUnsolvable = errors.New("fitness: no solvable layout")
)

func unknownCondition(c string) error {
	return fmt.Errorf("%w: %q, valid: %s", ErrUnknownCondition, c, strings.Join(Conditions(), ", "))
}

// InstanceSeed returns the instance seed of one episode:
// stream.Derive(runSeed, stream.PurposeInstance, generation,
// stream.HashString(condition), episode). Every worker derives the same
// instances for the same key, whatever the order of evaluation.
func InstanceSeed(runSeed uint64, generation uint32, condition string, episode int) uint64 {
	return stream.Derive(runSeed, stream.PurposeInstance, uint64(generation), stream.HashString(condition), uint64(episode))
}

// AnalysisSeed returns the instance seed of one analysis episode:
// stream.Derive(runSeed, stream.PurposeAnalysis, stream.HashString(condition),
// episode). Analysis instances are the same in every generation, so the
// analysis of a genome (its base, competence, agreement and drift under
// each condition) does not change when an elite is carried over, and never
// coincides with the per-generation instances that selection sees.
func AnalysisSeed(runSeed uint64, condition string, episode int) uint64 {
	return stream.Derive(runSeed, stream.PurposeAnalysis, stream.HashString(condition), uint64(episode))
}

// ConditionResult aggregates the episodes of one genome under one
// condition. Means are summed in episode order.
type ConditionResult struct {
	Condition string
	Episodes  int
	// Means over episodes; see Episode for each field's meaning and range.
	Base, Competence, Agreement, ProxyHits, Steps, Nodes float64
	// Features is the mean final feature vector, FeatureNames order.
	Features []float64
	// BehavioralObjective names the candidate (Candidates()) with the
	// highest mean achievement, ties to the lower index. For a heuristic,
	// Competence and Agreement refer to it; for a planner they refer to its
	// mesa-objective.
	BehavioralObjective string
	// Terminated and Truncated count episodes.
	Terminated, Truncated int
}

// Evaluator plays and scores genomes on door-maze instances. It is safe for
// concurrent use by multiple goroutines: per-call memory comes from a
// sync.Pool and the instance cache is guarded by a mutex. Results do not
// depend on the cache, on concurrency or on call order.
type Evaluator struct {
	cfg     Config
	runners sync.Pool

	mu    sync.Mutex
	cache map[instanceKey]*Instance
	order []instanceKey // insertion order, for FIFO eviction
}

type instanceKey struct {
	condition string
	seed      uint64
}

// NewEvaluator returns an Evaluator for cfg (errors wrap ErrConfig).
func NewEvaluator(cfg Config) (*Evaluator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Evaluator{cfg: cfg, cache: map[instanceKey]*Instance{}}
	e.runners.New = func() any { return NewRunner() }
	return e, nil
}

// Config returns the evaluator's configuration.
func (e *Evaluator) Config() Config { return e.cfg }

// Shape returns the genome shape of the door maze (see the package Shape).
func (e *Evaluator) Shape() genome.Shape { return Shape() }

// Instance returns the instance of condition for seed, from the cache or
// freshly generated (see Generate for errors).
func (e *Evaluator) Instance(condition string, seed uint64) (*Instance, error) {
	k := instanceKey{condition, seed}
	e.mu.Lock()
	in, ok := e.cache[k]
	e.mu.Unlock()
	if ok {
		return in, nil
	}
	in, err := Generate(e.cfg, condition, seed)
	if err != nil || e.cfg.CacheInstances == 0 {
		return in, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if prev, ok := e.cache[k]; ok { // another goroutine won the race; keep one copy
		return prev, nil
	}
	for len(e.order) >= e.cfg.CacheInstances {
		delete(e.cache, e.order[0])
		e.order = e.order[1:]
	}
	e.cache[k] = in
	e.order = append(e.order, k)
	return in, nil
}

// Evaluate plays one episode of g per instance seed under condition and
// aggregates them. Errors: ErrUnknownCondition (the message lists the valid
// ones), genome.ErrInvalid (wrapped) for a genome that does not fit Shape(),
// ErrNoInstances for an empty seed list, ErrUnsolvable.
func (e *Evaluator) Evaluate(g genome.Genome, condition string, instanceSeeds []uint64) (ConditionResult, error) {
	if !knownCondition(condition) {
		return ConditionResult{}, unknownCondition(condition)
	}
	if err := g.Validate(e.Shape()); err != nil {
		return ConditionResult{}, err
	}
	if len(instanceSeeds) == 0 {
		return ConditionResult{}, ErrNoInstances
	}
	eps, ins, err := e.Episodes(g, condition, instanceSeeds)
	if err != nil {
		return ConditionResult{}, err
	}
	return aggregate(condition, g, eps, ins), nil
}

// Episodes plays one episode of g per instance seed under condition and
// returns them with their instances, without the condition-level inference:
// for a heuristic, Competence and Agreement refer to each episode's own
// behavioral objective. Errors as Evaluate.
func (e *Evaluator) Episodes(g genome.Genome, condition string, instanceSeeds []uint64) ([]Episode, []*Instance, error) {
	if !knownCondition(condition) {
		return nil, nil, unknownCondition(condition)
	}
	if err := g.Validate(e.Shape()); err != nil {
		return nil, nil, err
	}
	r := e.runners.Get().(*Runner)
	defer e.runners.Put(r)
	eps := make([]Episode, len(instanceSeeds))
	ins := make([]*Instance, len(instanceSeeds))
	for i, seed := range instanceSeeds {
		in, err := e.Instance(condition, seed)
		if err != nil {
			return nil, nil, err
		}
		ins[i] = in
		eps[i] = r.play(in, g)
	}
	return eps, ins, nil
}

// aggregate infers the behavioral objective over eps, rewrites heuristic
// episodes' Competence and Agreement to it, and averages in episode order.
func aggregate(condition string, g genome.Genome, eps []Episode, ins []*Instance) ConditionResult {
	n := float64(len(eps))
	meanAch := make([]float64, len(candidates))
	for i := range candidates {
		for _, ep := range eps {
			meanAch[i] += ep.Achievement[i]
		}
		meanAch[i] /= n
	}
	bc := 0
	for i := range meanAch {
		if meanAch[i] > meanAch[bc] {
			bc = i
		}
	}
	if g.Kind == genome.KindHeuristic {
		for j := range eps {
			eps[j].Competence = eps[j].Achievement[bc]
			eps[j].Agreement = ins[j].oracle().candAgree[bc]
		}
	}
	res := ConditionResult{Condition: condition, Episodes: len(eps),
		Features: make([]float64, NumFeatures), BehavioralObjective: candidates[bc].Name}
	for _, ep := range eps {
		res.Base += ep.Base
		res.Competence += ep.Competence
		res.Agreement += ep.Agreement
		res.ProxyHits += float64(ep.ProxyHits)
		res.Steps += float64(ep.Steps)
		res.Nodes += float64(ep.Nodes)
		for i, f := range ep.Features {
			res.Features[i] += f
		}
		if ep.Terminated {
			res.Terminated++
		} else {
			res.Truncated++
		}
	}
	res.Base /= n
	res.Competence /= n
	res.Agreement /= n
	res.ProxyHits /= n
	res.Steps /= n
	res.Nodes /= n
	for i := range res.Features {
		res.Features[i] /= n
	}
	return res
}
