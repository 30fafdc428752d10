package fitness

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mesaopt/mesaopt/genome"
)

// scoring is how an environment normalises an episode's base objective.
type scoring uint8

const (
	// scoreSteps: Optimum/Steps if an exit was reached, else 0 (the door maze).
	scoreSteps scoring = iota
	// scoreReturn: clamp((R − R0) / (R* − R0), 0, 1), R the return, R* the
	// optimum return and R0 = StepLimit·Rewards.Step, the return of an
	// episode that neither ends nor gains anything.
	scoreReturn
)

// Env describes one environment of the suite: its conditions, the Config
// fields it reads, its feature basis and observation channels (the genome
// Shape), its rewards, its candidate behavioral objectives and how it draws
// instances. Envs are immutable values defined by this package; look them
// up with LookupEnv.
type Env struct {
	name, summary string
	conditions    []string
	params        []string     // the Config fields it reads, by their spec names
	features      []featureDef // the oracle family's basis; its names are every family's
	local         []featureDef // the local family's basis: features with grid distances
	stepsFeature  int          // index of "steps" in features, -1 if absent
	channels      []channelDef
	candidates    []Objective
	base          []float64 // base objective as feature weights, for reports
	baseValue     []float64 // state value of the base objective, for agreement
	rewards       Rewards
	scoring       scoring
	symbols       string // map symbols its map files may use
	defaults      Config
	validate      func(Config) error
	// checkCondition, if set, rejects a built-in condition cfg cannot
	// play as intended (see Config.CheckCondition).
	checkCondition func(cfg Config, condition string) error
	// draw makes one attempt at an instance from a layout seed; nil means
	// the draw is unusable and Generate redraws.
	draw func(e *Env, cfg Config, condition string, layoutSeed uint64) *Instance
}

// Name returns the environment's name, as used in experiment specs and on
// the command line.
func (e *Env) Name() string { return e.name }

// Summary returns a one-line description, with its source.
func (e *Env) Summary() string { return e.summary }

// Conditions returns the environment's built-in condition names in their
// fixed order; "train" first. The "maps" environment has none: its
// conditions come from Config.Maps.
func (e *Env) Conditions() []string { return slices.Clone(e.conditions) }

// Params returns the Config fields the environment reads, by their spec
// names (width, height, walls, blocks, red_objects, keys, step_limit).
func (e *Env) Params() []string { return slices.Clone(e.params) }

// Features returns the names of the environment's state features, in order.
func (e *Env) Features() []string {
	out := make([]string, len(e.features))
	for i, f := range e.features {
		out[i] = f.name
	}
	return out
}

// FeatureDoc returns a one-line description of feature i of Features as
// the oracle family computes it.
func (e *Env) FeatureDoc(i int) string { return e.features[i].doc }

// FeatureDocIn returns a one-line description of feature i of Features as
// family computes it ("" is DefaultFeatures; an unknown family is
// described as the default).
func (e *Env) FeatureDocIn(family FeatureFamily, i int) string { return e.basis(family)[i].doc }

// Channels returns the names of the observation channels, in order.
func (e *Env) Channels() []string {
	out := make([]string, len(e.channels))
	for i, c := range e.channels {
		out[i] = c.name
	}
	return out
}

// ObsSize returns the length of the heuristic's observation:
// len(Channels())·ObsCells.
func (e *Env) ObsSize() int { return len(e.channels) * ObsCells }

// Shape returns the dimensions the environment imposes on genomes: its
// Features, ObsSize observations and NumActions actions. The returned
// slices are fresh copies.
func (e *Env) Shape() genome.Shape {
	return genome.Shape{Features: e.Features(), ObsSize: e.ObsSize(), Actions: NumActions}
}

// Candidates returns the environment's candidate behavioral objectives in
// their fixed order (ties in inference go to the lower index); the first is
// the base objective's own.
func (e *Env) Candidates() []Objective {
	out := make([]Objective, len(e.candidates))
	for i, c := range e.candidates {
		out[i] = Objective{Name: c.Name, Weights: slices.Clone(c.Weights)}
	}
	return out
}

// BaseObjective returns the base objective written as weights over the
// feature basis, so that reports can show a mesa-objective next to it.
// Scoring itself uses the normalised base score of an episode.
func (e *Env) BaseObjective() []float64 { return slices.Clone(e.base) }

// Rewards returns the environment's rewards (a map file may override them).
func (e *Env) Rewards() Rewards { return e.rewards }

// DefaultConfig returns the environment's default configuration.
func (e *Env) DefaultConfig() Config { return e.defaults }

// Planner returns a reference planner whose mesa-objective is the named
// candidate (see Candidates), with horizon 4 and budget 512; ok is false for
// an unknown name.
func (e *Env) Planner(candidate string) (g genome.Genome, ok bool) {
	for _, c := range e.candidates {
		if c.Name == candidate {
			return genome.Genome{Kind: genome.KindPlanner, Planner: &genome.Planner{
				Objective: slices.Clone(c.Weights), Horizon: refHorizon, NodeBudget: refBudget}}, true
		}
	}
	return genome.Genome{}, false
}

// Objective is a named weighting of an environment's state features
// (len(Weights) = its number of features): a candidate behavioral
// objective, or the mesa-objective of a reference planner.
type Objective struct {
	Name    string
	Weights []float64
}

// objective builds weights over e's features from (name, weight) pairs; it
// panics on a feature e lacks.
func (e *Env) objective(kv ...any) []float64 {
	w := make([]float64, len(e.features))
	for i := 0; i < len(kv); i += 2 {
		name, v := kv[i].(string), kv[i+1].(float64)
		j := slices.IndexFunc(e.features, func(f featureDef) bool { return f.name == name })
		if j < 0 {
			panic("fitness: environment " + e.name + " has no feature " + name)
		}
		w[j] = v
	}
	return w
}

// The step weight of every candidate: small, so it only breaks ties in
// favour of shorter plans (without it a planner may wander before entering
// an exit it can already reach), and small enough that a step towards a
// target (0.5/(Width+Height) or more) always outweighs its cost.
const stepWeight = -0.1

// Reference planner settings: horizon 12 is past the knee of the exit
// seeker's curve on the default door maze with local features (base 1.0
// from horizon 10; see the package doc), and a decision there evaluates
// about 50 distinct states, well within the budget.
const (
	refHorizon = 12
	refBudget  = 512
)

// The environment names.
const (
	EnvDoors      = "doors"
	EnvLava       = "lava"
	EnvKeysChests = "keys-chests"
	EnvCoin       = "coin"
	EnvMaps       = "maps"
)

var envs = []*Env{doorsEnv, lavaEnv, keysChestsEnv, coinEnv, mapsEnv}

// Envs returns the environments in their fixed order: doors, lava,
// keys-chests, coin, maps.
func Envs() []*Env { return slices.Clone(envs) }

// EnvNames returns the environment names in the order of Envs.
func EnvNames() []string {
	out := make([]string, len(envs))
	for i, e := range envs {
		out[i] = e.name
	}
	return out
}

// LookupEnv returns the environment called name ("" is doors). Errors wrap
// ErrUnknownEnv and list the valid names.
func LookupEnv(name string) (*Env, error) {
	if name == "" {
		return doorsEnv, nil
	}
	for _, e := range envs {
		if e.name == name {
			return e, nil
		}
	}
	return nil, fmt.Errorf("%w: %q, valid: %s", ErrUnknownEnv, name, strings.Join(EnvNames(), ", "))
}

// DefaultConfigFor returns the default configuration of the environment
// called name (errors as LookupEnv).
func DefaultConfigFor(name string) (Config, error) {
	e, err := LookupEnv(name)
	if err != nil {
		return Config{}, err
	}
	return e.defaults, nil
}

// finish derives the fields that follow from the others.
func (e *Env) finish() *Env {
	e.stepsFeature = slices.IndexFunc(e.features, func(f featureDef) bool { return f.op == opSteps })
	e.local = localBasis(e.features)
	return e
}

// basis returns the environment's features as family computes them (""
// is DefaultFeatures).
func (e *Env) basis(family FeatureFamily) []featureDef {
	if family.OrDefault() == FeaturesLocal {
		return e.local
	}
	return e.features
}

// BaseObjectiveFor returns the base objective of the environment whose
// feature basis is features (as a client receives them with a run), or
// zero weights of that length when none matches. Feature bases of the
// environments differ, so the match is unique.
func BaseObjectiveFor(features []string) []float64 {
	for _, e := range envs {
		if slices.Equal(e.Features(), features) {
			return e.BaseObjective()
		}
	}
	return make([]float64, len(features))
}
