package fitness

import (
	"github.com/mesaopt/mesaopt/behavior"
	"github.com/mesaopt/mesaopt/genome"
)

// Decisions plays one episode of g per instance seed under condition, as
// Evaluate does, and records every decision for behavioral-objective
// inference (package behavior): the feature vectors of the states each of
// the NumActions actions leads to (Options, in action order, each in the
// environment's feature order) and the action taken (Chosen). Decisions
// come in episode order, then step order; an episode contributes its
// decisions up to the last one that led to a state not visited before
// (with the objects touched so far): after it the agent has reached its
// goal or stopped, and its idle tail carries no information about what it
// wants. Cost: one extra
// transition and feature vector per action and step on top of the episode.
// Errors: genome.ErrInvalid (wrapped) for a genome that does not fit the
// evaluator's shape, and those of Instance.
func (e *Evaluator) Decisions(g genome.Genome, condition string, instanceSeeds []uint64) ([]behavior.Step, error) {
	if err := g.Validate(e.Shape()); err != nil {
		return nil, err
	}
	r := e.runners.Get().(*Runner)
	defer e.runners.Put(r)
	var steps []behavior.Step
	r.record = &steps
	defer func() { r.record = nil }()
	for _, seed := range instanceSeeds {
		in, err := e.Instance(condition, seed)
		if err != nil {
			return nil, err
		}
		r.play(in, g)
	}
	return steps, nil
}

// EvaluateWithFit is Evaluate and BehavioralFit in one pass: the episodes
// are played once, their decisions recorded as they are taken into a
// behavior.Choices the Runner keeps (so only distinct decisions cost
// memory). Results equal those of the two calls up to the rounding of
// sums over the distinct decisions rather than all of them.
func (e *Evaluator) EvaluateWithFit(g genome.Genome, condition string, instanceSeeds []uint64, cfg behavior.Config) (ConditionResult, behavior.Fit, error) {
	if err := e.check(g, condition, instanceSeeds); err != nil {
		return ConditionResult{}, behavior.Fit{}, err
	}
	r := e.runners.Get().(*Runner)
	defer e.runners.Put(r)
	if r.fit == nil || r.fit.Features() != len(e.env.features) {
		r.fit = behavior.NewChoices(len(e.env.features))
	}
	r.fit.Reset()
	r.choices = r.fit
	defer func() { r.choices = nil }()
	eps := make([]Episode, len(instanceSeeds))
	ins := make([]*Instance, len(instanceSeeds))
	for i, seed := range instanceSeeds {
		in, err := e.Instance(condition, seed)
		if err != nil {
			return ConditionResult{}, behavior.Fit{}, err
		}
		ins[i] = in
		eps[i] = r.play(in, g)
	}
	fit, err := r.fit.Infer(cfg)
	if err != nil {
		return ConditionResult{}, behavior.Fit{}, err
	}
	return aggregate(e.env, condition, g, eps, ins), fit, nil
}

// BehavioralFit infers g's behavioral objective under condition from the
// decisions of its episodes on instanceSeeds (those Decisions returns,
// fitted as behavior.Infer does with cfg): the feature weights that best explain its
// choices, with the fit quality. It is for the evaluator's analysis
// conditions; the worker puts the Fit on the wire as ConditionResult's
// behavioral_weights, behavioral_fit and behavioral_accuracy. Errors as
// Decisions and behavior.Infer.
func (e *Evaluator) BehavioralFit(g genome.Genome, condition string, instanceSeeds []uint64, cfg behavior.Config) (behavior.Fit, error) {
	_, fit, err := e.EvaluateWithFit(g, condition, instanceSeeds, cfg)
	return fit, err
}
