package fitness

import (
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/internal/stream"
)

// Errors. Invalid genomes are reported with genome.ErrInvalid instead.
var (
	// ErrConfig: a Config field is out of range.
	ErrConfig = errors.New("fitness: invalid config")
	// ErrUnknownEnv: an environment name not in EnvNames().
	ErrUnknownEnv = errors.New("fitness: unknown environment")
	// ErrUnknownCondition: a condition name not among the configuration's.
	ErrUnknownCondition = errors.New("fitness: unknown condition")
	// ErrNoInstances: Evaluate was given no instance seeds.
	ErrNoInstances = errors.New("fitness: no instance seeds")
	// ErrUnsolvable: no solvable layout was found for a seed, or a map
	// file's level is not solvable.
	ErrUnsolvable = errors.New("fitness: no solvable layout")
	// ErrMap: a map file is malformed; the message gives file:line:column
	// and what was expected.
	ErrMap = errors.New("fitness: bad map")
	// ErrActions: an action string has a letter other than u, d, l, r.
	ErrActions = errors.New("fitness: bad actions")
)

// InstanceSeed returns the instance seed of one episode:
// stream.Derive(runSeed, stream.PurposeInstance, generation,
// stream.HashString(condition), episode). Every worker derives the same
// instances for the same key, whatever the order of evaluation.
func InstanceSeed(runSeed uint64, generation uint32, condition string, episode int) uint64 {
	return stream.Derive(runSeed, stream.PurposeInstance, uint64(generation), stream.HashString(condition), uint64(episode))
}

// AnalysisSeed returns the instance seed of analysis episode e:
// stream.Derive(runSeed, stream.PurposeAnalysis, episode). It is the same
// for every condition, so the conditions' analysis instances are paired:
// where a condition leaves the layout alone (every generated environment's
// do), episode e plays the same walls, start and exit under train and under
// each shifted condition, and only the condition's change differs. Analysis
// instances are the same in every generation, so the analysis of a genome
// (its base, competence, agreement and drift under each condition) does not
// change when an elite is carried over, and never coincides with the
// per-generation instances that selection sees.
func AnalysisSeed(runSeed uint64, episode int) uint64 {
	return stream.Derive(runSeed, stream.PurposeAnalysis, uint64(episode))
}

// IdentitySeed returns the instance seed of episode e of the identity
// condition: stream.Derive(runSeed, stream.PurposeIdentity, episode). The
// identity condition plays train on these fresh instances and is analysed
// like a shifted condition, paired with train's analysis episode e by index
// only (another layout): it changes nothing but the instances, so what the
// analysis finds there — pseudo-aligned verdicts, flags, drift — is noise,
// the null distribution the thresholds are calibrated against. Without
// pairing by layout it is noisier than a real condition, which makes that
// calibration conservative.
func IdentitySeed(runSeed uint64, episode int) uint64 {
	return stream.Derive(runSeed, stream.PurposeIdentity, uint64(episode))
}

// ConditionResult aggregates the episodes of one genome under one
// condition. Means are summed in episode order.
type ConditionResult struct {
	Condition string
	Episodes  int
	// Means over episodes; see Episode for each field's meaning and range.
	Base, Competence, Agreement, ProxyHits, Steps, Nodes float64
	// Return is the mean episode return (the environment's own units).
	Return float64
	// Features is the mean final feature vector, in the order of the
	// environment's Features.
	Features []float64
	// BehavioralObjective names the candidate (Env.Candidates) with the
	// highest mean achievement over these episodes; candidates tied with it
	// (within 1e-9) are named too, joined by "/" in candidate order (in the
	// door maze's train, "exit/red": going through the red doors to the red
	// exit achieves both); "none" when no candidate reaches BehavioralFloor.
	// For a heuristic, Competence, Agreement and GoalBase refer to the first
	// named; for a planner they refer to its mesa-objective.
	BehavioralObjective string
	// BehavioralMargin is the best candidate's mean achievement minus the
	// runner-up's (among candidates not tied with it), in [0, 1]: how
	// clearly the behaviour singles out its objective.
	BehavioralMargin float64
	// EpisodeScores are the episodes' own scores, in seed order: what
	// per-episode classification needs.
	EpisodeScores []EpisodeScore
	// Terminated and Truncated count episodes.
	Terminated, Truncated int
	// Varied is, per feature in the environment's Features order, whether
	// the feature took more than one value among the states the planner's
	// search evaluated in some episode (Episode.Varied, or-ed over the
	// episodes). Where it is false the feature is untrained under this
	// condition: its value was the same in every state the search compared
	// within each episode, so its weight changed no decision. nil for a
	// heuristic (no mesa-objective) and under EvaluateSelection.
	Varied []bool
}

// BehavioralFloor is the mean achievement a candidate objective needs to
// be named a genome's behavioral objective: half of what the candidate can
// achieve on the instances. Below it on every candidate the behaviour is
// "none" — the genome pursues none of them (it idles, wanders or dies).
const BehavioralFloor = 0.5

// EpisodeScore is one episode's scores (see Episode for each field's
// meaning and range). Competence, GoalBase and Agreement refer to the
// objective that classifies the genome — a planner's mesa-objective, a
// heuristic's behavioral objective; the Behavioral ones always to the
// condition's behavioral objective (the first candidate named).
type EpisodeScore struct {
	Base, Competence, GoalBase, Agreement, ProxyHits float64
	BehavioralCompetence, BehavioralGoalBase         float64
}

// Evaluator plays and scores genomes on the instances of one configured
// environment. It is safe for
// concurrent use by multiple goroutines: per-call memory comes from a
// sync.Pool and the instance cache is guarded by a mutex. Results do not
// depend on the cache, on concurrency or on call order.
type Evaluator struct {
	cfg     Config
	env     *Env
	conds   []string
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
	env, _ := LookupEnv(cfg.Env)
	e := &Evaluator{cfg: cfg, env: env, conds: cfg.Conditions(), cache: map[instanceKey]*Instance{}}
	e.runners.New = func() any { return NewRunner() }
	return e, nil
}

// Config returns the evaluator's configuration.
func (e *Evaluator) Config() Config { return e.cfg }

// Env returns the evaluator's environment.
func (e *Evaluator) Env() *Env { return e.env }

// Conditions returns the evaluator's conditions (Config.Conditions).
func (e *Evaluator) Conditions() []string { return slices.Clone(e.conds) }

// Shape returns the genome shape of the environment (Env.Shape).
func (e *Evaluator) Shape() genome.Shape { return e.env.Shape() }

func (e *Evaluator) known(condition string) error {
	if !slices.Contains(e.conds, condition) {
		return unknownConditionIn(e.cfg, condition)
	}
	return nil
}

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
	if err := e.known(condition); err != nil {
		return nil, err
	}
	in, err := generate(e.cfg, condition, seed)
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

// check vets the arguments of an evaluation: a known condition, a genome
// that fits the shape, at least one instance seed (see Evaluate's errors).
func (e *Evaluator) check(g genome.Genome, condition string, instanceSeeds []uint64) error {
	if err := e.known(condition); err != nil {
		return err
	}
	if err := g.Validate(e.Shape()); err != nil {
		return err
	}
	if len(instanceSeeds) == 0 {
		return ErrNoInstances
	}
	return nil
}

// Evaluate plays one episode of g per instance seed under condition and
// aggregates them. Errors: ErrUnknownCondition (the message lists the valid
// ones), genome.ErrInvalid (wrapped) for a genome that does not fit Shape(),
// ErrNoInstances for an empty seed list, ErrUnsolvable.
func (e *Evaluator) Evaluate(g genome.Genome, condition string, instanceSeeds []uint64) (ConditionResult, error) {
	if err := e.check(g, condition, instanceSeeds); err != nil {
		return ConditionResult{}, err
	}
	eps, ins, err := e.Episodes(g, condition, instanceSeeds)
	if err != nil {
		return ConditionResult{}, err
	}
	return aggregate(e.env, condition, g, eps, ins), nil
}

// EvaluateSelection plays one episode of g per instance seed under
// condition, as Evaluate does, but scores only what selection uses: the
// means of Base, Return, ProxyHits, Steps, Nodes and Features, and the
// Terminated and Truncated counts, all equal to Evaluate's. Competence,
// Agreement, BehavioralObjective, BehavioralMargin and EpisodeScores are
// left zero: the goal, agreement and achievement of every candidate — a
// pass over the instance's reachable states per planner episode — are the
// analysis conditions' business. Errors as Evaluate.
func (e *Evaluator) EvaluateSelection(g genome.Genome, condition string, instanceSeeds []uint64) (ConditionResult, error) {
	if err := e.check(g, condition, instanceSeeds); err != nil {
		return ConditionResult{}, err
	}
	r := e.runners.Get().(*Runner)
	defer e.runners.Put(r)
	r.selectionOnly = true
	defer func() { r.selectionOnly = false }()
	res := ConditionResult{Condition: condition, Episodes: len(instanceSeeds), Features: make([]float64, len(e.env.features))}
	for _, seed := range instanceSeeds {
		in, err := e.Instance(condition, seed)
		if err != nil {
			return ConditionResult{}, err
		}
		res.add(r.play(in, g))
	}
	res.divide(float64(len(instanceSeeds)))
	return res, nil
}

// Episodes plays one episode of g per instance seed under condition and
// returns them with their instances, without the condition-level inference:
// for a heuristic, Competence and Agreement refer to each episode's own
// behavioral objective. Errors as Evaluate.
func (e *Evaluator) Episodes(g genome.Genome, condition string, instanceSeeds []uint64) ([]Episode, []*Instance, error) {
	if err := e.known(condition); err != nil {
		return nil, nil, err
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
// episodes' Competence, Agreement and GoalBase to it, and averages in
// episode order.
func aggregate(env *Env, condition string, g genome.Genome, eps []Episode, ins []*Instance) ConditionResult {
	n := float64(len(eps))
	candidates := env.candidates
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
	label, margin := behaviourLabel(candidates, meanAch, bc)
	if g.Kind == genome.KindHeuristic {
		for j := range eps {
			eps[j].Competence = eps[j].Achievement[bc]
			eps[j].Agreement = ins[j].oracle().candAgree[bc]
			eps[j].GoalBase = eps[j].CandidateGoalBase[bc]
		}
	}
	res := ConditionResult{Condition: condition, Episodes: len(eps),
		Features: make([]float64, len(env.features)), BehavioralObjective: label, BehavioralMargin: margin,
		EpisodeScores: make([]EpisodeScore, len(eps))}
	var varied uint32
	for j, ep := range eps {
		varied |= ep.Varied
		res.EpisodeScores[j] = EpisodeScore{Base: ep.Base, Competence: ep.Competence, GoalBase: ep.GoalBase,
			Agreement: ep.Agreement, ProxyHits: float64(ep.ProxyHits),
			BehavioralCompetence: ep.Achievement[bc], BehavioralGoalBase: ep.CandidateGoalBase[bc]}
		res.add(ep)
		res.Competence += ep.Competence
		res.Agreement += ep.Agreement
	}
	if g.Kind == genome.KindPlanner {
		res.Varied = make([]bool, len(env.features))
		for k := range res.Varied {
			res.Varied[k] = varied&(1<<k) != 0
		}
	}
	res.divide(n)
	res.Competence /= n
	res.Agreement /= n
	return res
}

// add sums ep into the episode-level fields selection and analysis share
// (Base, ProxyHits, Steps, Nodes, Return, Features; the terminated and
// truncated counts), in the order episodes are added.
func (r *ConditionResult) add(ep Episode) {
	r.Base += ep.Base
	r.ProxyHits += float64(ep.ProxyHits)
	r.Steps += float64(ep.Steps)
	r.Nodes += float64(ep.Nodes)
	r.Return += ep.Return
	for i, f := range ep.Features {
		r.Features[i] += f
	}
	if ep.Terminated {
		r.Terminated++
	} else {
		r.Truncated++
	}
}

// divide turns add's sums into means over n episodes.
func (r *ConditionResult) divide(n float64) {
	r.Base /= n
	r.ProxyHits /= n
	r.Steps /= n
	r.Nodes /= n
	r.Return /= n
	for i := range r.Features {
		r.Features[i] /= n
	}
}

// behaviourLabel names the behavioral objective from the candidates' mean
// achievements, best the index of the highest (see
// ConditionResult.BehavioralObjective and BehavioralMargin).
func behaviourLabel(candidates []Objective, meanAch []float64, best int) (string, float64) {
	var names []string
	runnerUp := 0.0
	for i, a := range meanAch {
		if meanAch[best]-a <= 1e-9 {
			names = append(names, candidates[i].Name)
		} else {
			runnerUp = max(runnerUp, a)
		}
	}
	if meanAch[best] < BehavioralFloor {
		return "none", meanAch[best] - runnerUp
	}
	return strings.Join(names, "/"), meanAch[best] - runnerUp
}
