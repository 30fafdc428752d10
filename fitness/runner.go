package fitness

import (
	"fmt"
	"math"
	"slices"

	"github.com/mesaopt/mesaopt/behavior"
	"github.com/mesaopt/mesaopt/genome"
)

// Episode is the record of one episode of one genome on one instance.
type Episode struct {
	// Base is the base objective in [0, 1]: in the door maze Optimum/Steps
	// if the exit was reached, else 0; elsewhere the normalised return
	// clamp((Return − IdleReturn) / (OptimumReturn − IdleReturn), 0, 1),
	// except that an episode ending in a failure (lava: the agent died)
	// scores 0, as idling does — dying early must not rank above idling
	// because it wastes fewer steps. Returns are unchanged (the lava
	// levels' published 42 and −52).
	Base float64
	// Return is the sum of the transitions' rewards, in step order.
	Return float64
	// Competence in [0, 1]: for a planner, its mesa-objective's Achievement;
	// for a heuristic, the Achievement of its behavioral objective (inferred
	// from this episode alone by Play; Evaluate re-infers it over all the
	// episodes of a condition and overwrites this field).
	Competence float64
	// Agreement in [-1, 1]: Spearman correlation between the objective
	// behind Competence and the base value over the instance's reachable
	// states.
	Agreement float64
	// GoalBase in [0, 1]: the best base score of an episode ending where the
	// objective behind Competence is at its optimum (Instance.Goal). Below
	// the base threshold, pursuing that objective well does not serve the
	// base objective on this instance: the objective is distinguishable
	// from it.
	GoalBase float64
	// Achievement per candidate of the environment's Candidates, each in [0, 1].
	Achievement []float64
	// CandidateGoalBase is GoalBase for each candidate, in Candidates order.
	CandidateGoalBase []float64
	// ProxyHits counts the proxy the condition tempts with (see
	// Instance.ProxyHits): red objects that are not doors, end-of-level
	// markers, keys beyond the chests.
	ProxyHits int
	// Steps taken, 1..StepLimit.
	Steps int
	// Nodes is the number of distinct states the planner's search
	// evaluated over the episode, summed over its decisions (0 for a
	// heuristic).
	Nodes int
	// Terminated: the episode ended in a terminal state (exit, lava, coin,
	// no chest left to open). Truncated: the step limit was hit first.
	// Exactly one is true.
	Terminated, Truncated bool
	// Features is the final state's feature vector, in the order of the
	// environment's Features.
	Features []float64
	// Final is the final state.
	Final State
	// Varied has bit k set when feature k (in the environment's Features
	// order) took more than one value among the states the planner's
	// search evaluated over the episode; a feature whose bit is clear added
	// the same term to the value of every plan compared, so its weight
	// changed no decision. 0 for a heuristic and under EvaluateSelection.
	Varied uint32
}

// Runner plays episodes. It owns the reusable memory of the planner's search
// and of the scoring, so a Runner must be used by one goroutine at a time;
// use one Runner per goroutine (Evaluator pools them).
type Runner struct {
	obs []float64
	// firstAt[p] is the step at which the episode first entered cell p
	// with the objects touched so far, -1 if it has not (reset whenever an
	// object is touched).
	firstAt []int32
	sc      scratch
	srch    search
	fit     *behavior.Choices // reused by EvaluateWithFit
	// record and choices, when set, receive the decisions of the episodes
	// played (for behavioral-objective inference); see Decisions and
	// EvaluateWithFit. pending holds the current episode's decisions (the
	// option feature vectors row-major, NumActions per decision) until
	// the episode ends and its informative prefix is known.
	record        *[]behavior.Step
	choices       *behavior.Choices
	pending       []float64
	pendingChosen []int
	// selectionOnly skips the scores only the analysis needs (competence,
	// agreement, goal base, achievements); see Evaluator.EvaluateSelection.
	selectionOnly bool
}

// recording reports whether decisions are being recorded.
func (r *Runner) recording() bool { return r.record != nil || r.choices != nil }

// commit hands the first kept decisions of the episode to the recorders.
func (r *Runner) commit(kept, d int) {
	row := NumActions * d
	for t := range kept {
		opts := r.pending[t*row : (t+1)*row]
		if r.choices != nil {
			// The vectors are finite and of the Choices' length by
			// construction; Add cannot fail.
			_ = r.choices.Add(opts, r.pendingChosen[t])
		}
		if r.record != nil {
			step := behavior.Step{Options: make([][]float64, NumActions), Chosen: r.pendingChosen[t]}
			for b := range step.Options {
				step.Options[b] = slices.Clone(opts[b*d : (b+1)*d])
			}
			*r.record = append(*r.record, step)
		}
	}
}

// arrivals starts the first-arrival record of an episode now at s.
func (r *Runner) arrivals(in *Instance, s State) {
	if n := in.w * in.h; cap(r.firstAt) < n {
		r.firstAt = make([]int32, n)
	} else {
		r.firstAt = r.firstAt[:n]
	}
	for i := range r.firstAt {
		r.firstAt[i] = -1
	}
	r.firstAt[s.Pos] = s.Steps
}

// NewRunner returns a Runner ready for use.
func NewRunner() *Runner { return &Runner{} }

// Play runs g on in from the start state until a terminal state or the
// step limit, and scores the episode. g must be valid for the instance's
// environment's Shape (errors wrap genome.ErrInvalid).
func (r *Runner) Play(in *Instance, g genome.Genome) (Episode, error) {
	if err := g.Validate(in.env.Shape()); err != nil {
		return Episode{}, err
	}
	return r.play(in, g), nil
}

func (r *Runner) play(in *Instance, g genome.Genome) Episode {
	s := in.Start()
	limit := int32(in.cfg.StepLimit)
	nodes := 0
	ret, term := 0.0, false
	r.arrivals(in, s)
	// Decisions recorded for the behavioral fit stop at the last one that
	// led somewhere new: after it the agent has reached its goal or stopped
	// (it only revisits), and an idle tail tells nothing about what it wants.
	if g.Kind == genome.KindPlanner {
		r.srch.useMemo = r.srch.memo.reset(in, g.Planner.Objective)
		r.srch.spread.reset(in)
		r.srch.track = true
	}
	rec := r.recording()
	kept, decisions := 0, 0
	r.pending, r.pendingChosen = r.pending[:0], r.pendingChosen[:0]
	for !term && s.Steps < limit {
		a, n := r.act(in, s, g)
		nodes += n
		if rec {
			for b := range NumActions {
				r.pending = in.AppendFeatures(r.pending, in.Step(s, Action(b)))
			}
			r.pendingChosen = append(r.pendingChosen, int(a))
			decisions++
		}
		var rew float64
		prev := s
		s, rew, term = in.Transition(s, a)
		ret += rew
		fresh := s.Touched != prev.Touched || r.firstAt[s.Pos] < 0
		if s.Touched != prev.Touched {
			r.arrivals(in, s)
		} else if r.firstAt[s.Pos] < 0 {
			r.firstAt[s.Pos] = s.Steps
		}
		if fresh {
			kept = decisions
		}
	}
	if rec {
		r.commit(kept, len(in.env.features))
	}
	// The final state as first entered: what it is worth to an objective.
	arrived := s
	arrived.Steps = r.firstAt[s.Pos]
	o := in.oracle()
	ep := Episode{
		Return:     ret,
		ProxyHits:  in.ProxyHits(s),
		Steps:      int(s.Steps),
		Nodes:      nodes,
		Terminated: term,
		Features:   in.AppendFeatures(make([]float64, 0, len(in.env.features)), s),
		Final:      s,
	}
	ep.Truncated = !ep.Terminated
	ep.Base = in.baseScore(o, s, ret)
	if r.selectionOnly {
		return ep
	}
	cands := in.env.candidates
	ep.Achievement = make([]float64, len(cands))
	bestC := 0
	for i, c := range cands {
		ep.Achievement[i] = in.achievement(c.Weights, o.candBest[i], arrived)
		if ep.Achievement[i] > ep.Achievement[bestC] {
			bestC = i
		}
	}
	ep.CandidateGoalBase = slices.Clone(o.candGoal)
	if g.Kind == genome.KindPlanner {
		ep.Varied = r.srch.spread.varied
		obj := g.Planner.Objective
		best, goal, agreement := in.plannerScores(o, obj, &r.sc)
		ep.Competence = in.achievement(obj, best, arrived)
		ep.Agreement = agreement
		ep.GoalBase = goal
	} else {
		ep.Competence = ep.Achievement[bestC]
		ep.Agreement = o.candAgree[bestC]
		ep.GoalBase = o.candGoal[bestC]
	}
	return ep
}

// baseScore normalises an episode's outcome (see Episode.Base).
func (in *Instance) baseScore(o *oracle, final State, ret float64) float64 {
	if in.env.scoring == scoreSteps {
		if in.cells[final.Pos] == Exit && final.Steps > 0 {
			return float64(in.optimum) / float64(final.Steps)
		}
		return 0
	}
	if in.failed(final) {
		return 0
	}
	r0 := in.IdleReturn()
	den := o.optReturn - r0
	if den < 1e-9 {
		return 0
	}
	return min(1, max(0, (ret-r0)/den))
}

// Act returns g's action in state s and the number of distinct states its
// search evaluated (0 for a heuristic). g must be valid for the environment's
// Shape; Act does not check. It allocates nothing once the Runner has
// played in an environment with as large an observation.
func (r *Runner) Act(in *Instance, s State, g genome.Genome) (Action, int) {
	r.srch.useMemo = false // the memo belongs to the episode play is playing
	r.srch.track = false
	return r.act(in, s, g)
}

func (r *Runner) act(in *Instance, s State, g genome.Genome) (Action, int) {
	switch g.Kind {
	case genome.KindPlanner:
		p := g.Planner
		return r.srch.decide(in, s, p.Objective, p.Horizon, p.NodeBudget)
	case genome.KindHeuristic:
		n := in.ObsSize()
		if cap(r.obs) < n {
			r.obs = make([]float64, n)
		}
		obs := r.obs[:n]
		in.Observe(obs, s)
		return heuristicAction(g.Heuristic.Weights, obs), 0
	}
	panic(fmt.Sprintf("fitness: genome kind %v", g.Kind))
}

// heuristicAction scores each action as its weight row · [obs, 1] (sums in
// index order) and returns the argmax, lowest index on ties.
func heuristicAction(w, obs []float64) Action {
	best, bestA := math.Inf(-1), Action(0)
	n := len(obs)
	row := n + 1
	for a := 0; a < NumActions; a++ {
		wa := w[a*row : (a+1)*row]
		v := 0.0
		for i, x := range obs {
			v += wa[i] * x
		}
		v += wa[n]
		if v > best {
			best, bestA = v, Action(a)
		}
	}
	return bestA
}

// search is the planner's breadth-first, budgeted, receding-horizon search
// over distinct states. Its slices are reused from decision to decision,
// so a decision allocates nothing once they have grown to the level's
// size.
type search struct {
	in      *Instance
	obj     []float64
	horizon int
	budget  int
	nodes   int
	best    float64
	bestAt  int32 // the depth of the best state
	first   Action
	limit   int32
	// frontier holds the states to expand, in the order found; seen is
	// the transposition table of the decision's distinct states.
	frontier []frontierNode
	seen     seenSet
	memo     valueMemo
	useMemo  bool
	// spread records which features varied over the episode's evaluated
	// states (see Episode.Varied); only play's episodes are recorded.
	spread spread
	track  bool
}

// frontierNode is a state the search found, the first action of the plan
// that found it, and its depth (steps from the decision's state).
type frontierNode struct {
	s     State
	first Action
	depth int32
}

// decide searches the plans of length ≤ horizon from s breadth first, with
// actions in index order, over distinct states: a transposition table keyed
// by position and touched objects keeps each state once, at the smallest
// depth at which a plan reaches it (and the first plan in action order to
// reach it there). budget bounds the distinct states evaluated. A state is
// expanded when it is above the horizon, not terminal, below the step limit
// and the budget is not spent. Each state is worth J at the step the
// search first reaches it (the steps feature counting the steps taken so
// far) — the valuation competence uses (Instance.Achievement), so the
// planner maximises what it is judged by; a plan is worth the best state
// it reaches. The winner is the state of largest value, then of smallest
// depth (no wasted first move, no procrastination), then the first found;
// decide returns the first action of the plan that reaches it and the
// number of distinct states evaluated. The decision's own state counts
// only when a plan returns to it (a bump into a wall, a step back).
func (sr *search) decide(in *Instance, s State, obj []float64, horizon, budget int) (Action, int) {
	sr.in, sr.obj, sr.horizon, sr.budget = in, obj, horizon, budget
	sr.nodes, sr.best, sr.bestAt, sr.first = 0, math.Inf(-1), 0, 0
	sr.limit = int32(in.cfg.StepLimit)
	sr.seen.reset()
	q := sr.frontier[:0]
	for a := Action(0); a < NumActions && sr.nodes < sr.budget; a++ {
		q = sr.visit(q, in.Step(s, a), a, 1)
	}
	for head := 0; head < len(q) && sr.nodes < sr.budget; head++ {
		n := q[head]
		for a := Action(0); a < NumActions && sr.nodes < sr.budget; a++ {
			q = sr.visit(q, in.Step(n.s, a), n.first, n.depth+1)
		}
	}
	sr.frontier = q
	return sr.first, sr.nodes
}

// visit evaluates s, found at depth on a plan starting with first, unless
// the decision has met its position and touched objects before, and
// appends it to q when it is to be expanded.
func (sr *search) visit(q []frontierNode, s State, first Action, depth int32) []frontierNode {
	if !sr.seen.add(s) {
		return q
	}
	sr.nodes++
	in := sr.in
	var v float64
	if sr.useMemo {
		v = sr.memo.value(s, &sr.spread)
	} else {
		var f [MaxFeatures]float64
		in.features(&f, s)
		if sr.track {
			sr.spread.observe(&f, len(in.env.features), s.Steps)
		}
		v = dot(sr.obj, &f)
	}
	// States come in order of depth, so an equal value found later is
	// never shallower: the first found wins a tie.
	if v > sr.best {
		sr.best, sr.bestAt, sr.first = v, depth, first
	}
	if int(depth) < sr.horizon && s.Steps < sr.limit && !in.Terminal(s) {
		q = append(q, frontierNode{s: s, first: first, depth: depth})
	}
	return q
}

// seenSet is a set of (position, touched) keys, open-addressed with linear
// probing and emptied in O(1) by advancing its epoch.
type seenSet struct {
	slots []seenSlot
	n     int
	epoch uint32
}

type seenSlot struct {
	key   uint64
	epoch uint32
}

// stateKey is the key of s's position and touched objects, the state up to
// its step count: Pos < MaxCells ≤ 1024 takes the low 10 bits, the at most
// MaxObjects object bits the rest. The oracle, the search's transposition
// table and the value memo key states by it.
func stateKey(s State) uint64 { return s.Touched<<10 | uint64(s.Pos) }

// slotOf is key's home slot in an open-addressed table of mask+1 (a power
// of two) slots: Fibonacci hashing.
func slotOf(key, mask uint64) uint64 { return (key * 0x9e3779b97f4a7c15) >> 32 & mask }

// reset empties the set.
func (t *seenSet) reset() {
	if t.slots == nil {
		t.slots = make([]seenSlot, 256)
	}
	t.epoch++
	if t.epoch == 0 { // wrapped: stale slots could look current
		clear(t.slots)
		t.epoch = 1
	}
	t.n = 0
}

// add inserts s's key and reports whether it was new.
func (t *seenSet) add(s State) bool {
	key := stateKey(s)
	mask := uint64(len(t.slots) - 1)
	i := slotOf(key, mask)
	for {
		sl := &t.slots[i]
		if sl.epoch != t.epoch {
			break
		}
		if sl.key == key {
			return false
		}
		i = (i + 1) & mask
	}
	t.slots[i] = seenSlot{key: key, epoch: t.epoch}
	t.n++
	if 2*t.n > len(t.slots) {
		t.grow()
	}
	return true
}

// grow doubles the table, keeping the current epoch's keys.
func (t *seenSet) grow() {
	old := t.slots
	t.slots = make([]seenSlot, 2*len(old))
	mask := uint64(len(t.slots) - 1)
	for _, sl := range old {
		if sl.epoch != t.epoch {
			continue
		}
		i := slotOf(sl.key, mask)
		for t.slots[i].epoch == t.epoch {
			i = (i + 1) & mask
		}
		t.slots[i] = sl
	}
}
