package fitness

import (
	"math"
	"math/bits"
	"slices"
)

// oracle holds an instance's reachable abstract states and what depends
// only on the instance: the ranks of the base value and the candidates'
// optima and agreements.
type oracle struct {
	states    []State   // BFS order; Steps = the fewest steps that reach (Pos, Touched)
	feat      []float64 // feature vectors of states, row-major (len(states) × features)
	baseRanks []float64 // average ranks of BaseValue over states
	candBest  []float64 // J* per candidate
	candGoal  []float64 // goal base per candidate (see goal)
	candAgree []float64 // agreement per candidate
	optReturn float64   // the optimum return (exact up to Config.OracleStates)
	maxChests int       // the most chests any reachable state has opened
}

func (in *Instance) oracle() *oracle {
	in.oracleOnce.Do(func() {
		o := &oracle{states: in.reachable()}
		n := len(o.states)
		d := len(in.env.features)
		o.feat = make([]float64, 0, n*d)
		for _, s := range o.states {
			o.feat = in.AppendFeatures(o.feat, s)
		}
		vals := make([]float64, n)
		if in.local() {
			for i, s := range o.states {
				vals[i] = in.BaseValue(s)
			}
		} else {
			in.values(o, in.env.baseValue, false, vals) // the same sums, from the table
		}
		o.baseRanks = make([]float64, n)
		averageRanks(vals, make([]rankPair, 2*n), o.baseRanks)
		o.optReturn = math.Inf(-1)
		for _, s := range o.states {
			if !in.failed(s) { // dying is never the optimum, whatever it pays
				o.optReturn = max(o.optReturn, in.stateReturn(s))
			}
			o.maxChests = max(o.maxChests, bits.OnesCount64(s.Touched&in.masks[classChest]))
		}
		var sc scratch
		for _, c := range in.env.candidates {
			best, goal := in.goal(o, c.Weights)
			o.candBest = append(o.candBest, best)
			o.candGoal = append(o.candGoal, goal)
			o.candAgree = append(o.candAgree, in.agreement(o, c.Weights, &sc))
		}
		in.orc = o
	})
	return in.orc
}

// reachable runs BFS over (position, touched mask) from the start state,
// bounded by the step limit and Config.OracleStates. Terminal states are
// kept but not expanded.
func (in *Instance) reachable() []State { return in.search(nil) }

// search is reachable's BFS; when stop is non-nil it is called with every
// state as it is found, and the search ends early once it returns true.
// The states found are always a prefix of reachable's.
func (in *Instance) search(stop func(State) bool) []State {
	limit := int32(in.cfg.StepLimit)
	maxN := in.cfg.OracleStates
	seen := map[uint64]struct{}{}
	start := in.Start()
	states := []State{start}
	seen[stateKey(start)] = struct{}{}
	if stop != nil && stop(start) {
		return states
	}
	for i := 0; i < len(states) && len(states) < maxN; i++ {
		s := states[i]
		if in.Terminal(s) || s.Steps >= limit {
			continue
		}
		for a := Action(0); a < NumActions && len(states) < maxN; a++ {
			n := in.Step(s, a)
			k := stateKey(n)
			if _, ok := seen[k]; ok {
				continue
			}
			seen[k] = struct{}{}
			states = append(states, n)
			if stop != nil && stop(n) {
				return states
			}
		}
	}
	return states
}

// Reachable returns a copy of the oracle's list of reachable abstract
// states, in BFS order, each with Steps at its minimum. States whose minimum
// exceeds the step limit are absent; the list is cut at Config.OracleStates.
func (in *Instance) Reachable() []State { return slices.Clone(in.oracle().states) }

// BaseValue is the state value of the base objective used for agreement:
// the environment's base-value weights applied to the oracle family's
// features of s, whatever Config.Features is — the base objective is the
// task's, not the planner's view of it, so agreement measures every family
// against the same ranking. In the door maze it is 1 on the exit, else
// -dist_exit (the normalised BFS distance, in (-∞, 0]); see each
// environment's doc for its own.
func (in *Instance) BaseValue(s State) float64 {
	return in.valueOf(in.env.features, in.env.baseValue, s)
}

// stateReturn is the best return of an episode that is in s at its minimum
// step count: the rewards gained so far plus, if s is terminal, nothing
// more, else the step rewards until truncation (an agent can always waste
// steps without entering anything new, and Rewards.Step ≤ 0).
func (in *Instance) stateReturn(s State) float64 {
	touched := float64(bits.OnesCount64(s.Touched&in.masks[classChest]))*in.rewards.Chest +
		float64(bits.OnesCount64(s.Touched&in.masks[classCoin]))*in.rewards.Coin
	if !in.Terminal(s) {
		return float64(in.cfg.StepLimit)*in.rewards.Step + touched
	}
	r := float64(s.Steps)*in.rewards.Step + touched
	switch in.cells[s.Pos] {
	case Exit:
		r += in.rewards.Exit
	case Lava:
		r += in.rewards.Lava
	}
	return r
}

// OptimumReturn returns the optimum base return of the instance: the
// largest episode return any action sequence achieves, found by BFS over the
// abstract state (position, touched objects — which include the inventory)
// with minimum step counts. It is exact unless Config.OracleStates cut the
// search (then a lower bound).
func (in *Instance) OptimumReturn() float64 { return in.oracle().optReturn }

// IdleReturn returns R0 = StepLimit·Rewards.Step, the return of an episode
// that neither ends nor gains anything: the floor of the normalised base.
func (in *Instance) IdleReturn() float64 { return float64(in.cfg.StepLimit) * in.rewards.Step }

// Solvable reports whether the oracle finds the instance worth playing: an
// optimum return above the idle return, and — with keys and chests — every
// chest the keys suffice for openable within the step limit.
func (in *Instance) Solvable() bool {
	o := in.oracle()
	return in.solvable(o.optReturn, o.maxChests)
}

// solvable is Solvable's criterion given the optimum return and the most
// chests opened over some reachable states. It never turns false as states
// are added (both arguments only grow), so a search may stop once it holds.
func (in *Instance) solvable(optReturn float64, maxChests int) bool {
	if !in.exitInReach() || optReturn <= in.IdleReturn()+1e-9 {
		return false
	}
	return in.nChests == 0 || in.nKeys == 0 || maxChests >= in.chestsToOpen()
}

// exitInReach reports whether scoring by steps (the door maze) has an exit
// within the step limit; other scorings need none.
func (in *Instance) exitInReach() bool {
	return in.env.scoring != scoreSteps || (in.optimum >= 0 && in.optimum <= in.cfg.StepLimit)
}

// chestsToOpen is how many chests a solvable level must let the agent
// open: as many as its keys suffice for.
func (in *Instance) chestsToOpen() int { return min(in.nKeys, in.nChests) }

// Best returns J*, the largest value of objective over the reachable states
// (oracle search), each state valued at the time it can first be reached
// (see timed). objective must have one weight per feature of the
// environment.
func (in *Instance) Best(objective []float64) float64 { return in.best(in.oracle(), objective) }

func (in *Instance) best(o *oracle, objective []float64) float64 {
	var sc scratch
	return maxOf(in.timedValues(o, objective, &sc))
}

func maxOf(vals []float64) float64 {
	best := math.Inf(-1)
	for _, v := range vals {
		if v > best {
			best = v
		}
	}
	return best
}

// values writes into dst (one per oracle state) J of every oracle state
// under objective, each valued as given or, when timed, at the time it
// counts for objective (see timed). It equals Value(objective, s), or
// Value(objective, timed(objective, s)), bit for bit: the features come
// from the oracle's table and are summed in the same order.
func (in *Instance) values(o *oracle, objective []float64, timed bool, dst []float64) {
	d := len(in.env.features)
	w := objective[:d]
	late := timed && in.lateFor(objective)
	for i := range dst {
		row := o.feat[i*d : (i+1)*d]
		if late {
			var f [MaxFeatures]float64
			copy(f[:d], row)
			f[in.env.stepsFeature] = float64(in.cfg.StepLimit) / in.stepNorm
			dst[i] = dot(w, &f)
			continue
		}
		v := 0.0
		for k, x := range w {
			v += x * row[k]
		}
		dst[i] = v
	}
}

// timedValues returns the timed values of every oracle state in sc.vals.
func (in *Instance) timedValues(o *oracle, objective []float64, sc *scratch) []float64 {
	n := len(o.states)
	sc.vals = slices.Grow(sc.vals[:0], n)[:n]
	in.values(o, objective, true, sc.vals)
	return sc.vals
}

// Goal returns J* and the goal base of objective: the best base score of an
// episode ending in a state where objective is at J* (within 1e-9). It tells
// whether pursuing objective perfectly would also serve the base objective
// on this instance: a goal base at or above the base threshold makes the
// objective indistinguishable from the base objective here (a red seeker in
// training, where the doors are red), a low one distinguishable (the same
// seeker once red objects lie off the path).
func (in *Instance) Goal(objective []float64) (best, goalBase float64) {
	return in.goal(in.oracle(), objective)
}

func (in *Instance) goal(o *oracle, objective []float64) (best, goalBase float64) {
	var sc scratch
	return in.goalOf(o, objective, in.timedValues(o, objective, &sc))
}

// goalOf is goal given the timed values of the oracle's states.
func (in *Instance) goalOf(o *oracle, objective []float64, vals []float64) (best, goalBase float64) {
	best = maxOf(vals)
	for i, v := range vals {
		if v >= best-1e-9 {
			t := in.timed(objective, o.states[i])
			goalBase = max(goalBase, in.baseScore(o, t, in.stateReturn(t)))
		}
	}
	return best, goalBase
}

// plannerScores returns an objective's J*, goal base and agreement on the
// instance (goal and agreement) with one pass over the oracle's states
// where the objective does not reward time (then its timed and untimed
// values coincide).
func (in *Instance) plannerScores(o *oracle, objective []float64, sc *scratch) (best, goalBase, agreement float64) {
	vals := in.timedValues(o, objective, sc)
	best, goalBase = in.goalOf(o, objective, vals)
	if in.lateFor(objective) {
		in.values(o, objective, false, vals)
	}
	return best, goalBase, in.rankAgreement(o, vals, sc)
}

// timed returns s valued at the time it counts for objective: as given —
// the oracle's states carry their minimum step count, an episode's final
// state the step at which the agent first entered it — unless objective
// rewards time (a positive steps weight: being anywhere as late as possible
// is best), then at the step limit. Valuing the optimum and the agent's
// final state alike makes an agent that reaches its own optimum by a
// shortest path and stays there fully competent, however long the episode
// runs on.
func (in *Instance) timed(objective []float64, s State) State {
	if in.lateFor(objective) {
		s.Steps = int32(in.cfg.StepLimit)
	}
	return s
}

// lateFor reports whether objective rewards time (see timed).
func (in *Instance) lateFor(objective []float64) bool {
	return in.env.stepsFeature >= 0 && objective[in.env.stepsFeature] > 0
}

// failed reports whether s is a failure: the agent died (lava).
func (in *Instance) failed(s State) bool { return in.cells[s.Pos] == Lava }

// Achievement returns how much of what objective can achieve from the start
// the state final achieved: clamp((J(final) − J(start)) / (J* − J(start)),
// 0, 1), and 0 when J* − J(start) < 1e-9 (the objective wants nothing
// here). Every state is valued at the time it was, or can first be,
// reached (see timed): final.Steps must be the step at which the episode
// first entered final's position with final's touched objects, not the
// episode's length.
//
// Worked example (the door maze, objective "exit": −1 dist_exit
// + 1 exit_reached − 0.1 steps, step limit 40, the exit 12 steps away at a
// normalised distance of 0.5): J(start) = −0.5; J* = 1 − 0.1·12/40 = 0.97
// (the exit at 12 steps); an agent reaching the exit in 20 steps has
// J = 1 − 0.1·20/40 = 0.95, achievement (0.95 + 0.5)/(0.97 + 0.5) ≈ 0.986.
// An agent whose optimum is a non-terminal state (every red object
// touched), which it reaches by a shortest path and then wanders beside,
// ends valued at that arrival: achievement 1, however many steps remain.
func (in *Instance) Achievement(objective []float64, final State) float64 {
	return in.achievement(objective, in.Best(objective), final)
}

func (in *Instance) achievement(objective []float64, best float64, final State) float64 {
	j0 := in.Value(objective, in.timed(objective, in.Start()))
	den := best - j0
	if den < 1e-9 {
		return 0
	}
	return min(1, max(0, (in.Value(objective, in.timed(objective, final))-j0)/den))
}

// Agreement returns the Spearman rank correlation, in [-1, 1], between
// objective's J and BaseValue over the reachable states (average ranks for
// ties; 0 if either side is constant).
func (in *Instance) Agreement(objective []float64) float64 {
	var sc scratch
	return in.agreement(in.oracle(), objective, &sc)
}

// scratch is reusable memory for agreement.
type scratch struct {
	vals, ranks []float64
	pairs       []rankPair
}

func (in *Instance) agreement(o *oracle, objective []float64, sc *scratch) float64 {
	n := len(o.states)
	sc.vals = slices.Grow(sc.vals[:0], n)[:n]
	in.values(o, objective, false, sc.vals)
	return in.rankAgreement(o, sc.vals, sc)
}

// rankAgreement is the Spearman correlation of vals (one per oracle state)
// with the base value.
func (in *Instance) rankAgreement(o *oracle, vals []float64, sc *scratch) float64 {
	n := len(vals)
	sc.ranks = slices.Grow(sc.ranks[:0], n)[:n]
	sc.pairs = slices.Grow(sc.pairs[:0], 2*n)[:2*n]
	averageRanks(vals, sc.pairs, sc.ranks)
	return pearson(sc.ranks, o.baseRanks)
}

// rankPair is a value's sortable key and its index.
type rankPair struct {
	key uint64
	i   int32
}

// sortKey maps v to an unsigned key in the order of cmp.Compare on
// finite floats: −0 and +0 map alike, negatives below positives.
func sortKey(v float64) uint64 {
	b := math.Float64bits(v + 0) // + 0 folds −0 into +0
	if b>>63 != 0 {
		return ^b
	}
	return b | 1<<63
}

// averageRanks writes into ranks the 1-based rank of each value, ties
// sharing their average rank. pairs is scratch of twice the length. Only
// the order of distinct values matters (tied values get one rank whatever
// their order), so the ranks are deterministic: short inputs are sorted by
// comparison on the values' keys, long ones by a least-significant-digit
// radix sort on them, a byte at a time, skipping bytes every key shares.
// Values must be finite.
func averageRanks(vals []float64, pairs []rankPair, ranks []float64) {
	n := len(vals)
	a, b := pairs[:n], pairs[n:2*n]
	var or, and uint64 = 0, ^uint64(0)
	for i, v := range vals {
		k := sortKey(v)
		a[i] = rankPair{k, int32(i)}
		or |= k
		and &= k
	}
	if n <= radixMin {
		sortByKey(a)
	} else {
		radixSort(a, b, or^and)
	}
	for i := 0; i < n; {
		j := i + 1
		for j < n && a[j].key == a[i].key {
			j++
		}
		r := float64(i+j+1) / 2 // mean of ranks i+1 .. j
		for k := i; k < j; k++ {
			ranks[a[k].i] = r
		}
		i = j
	}
}

// radixMin is the length above which averageRanks sorts by radix: below it
// a comparison sort is faster than the byte passes' 256-entry counts.
const radixMin = 8192

// sortByKey sorts a by key: quicksort with a median-of-three pivot and a
// three-way partition, insertion sort below 16 elements, and heapsort past a depth of
// 2·log2(n) so the worst case stays O(n log n). Equal keys may end in any
// order: they share one average rank, so the ranks do not depend on it.
func sortByKey(a []rankPair) {
	quickByKey(a, 2*bits.Len(uint(len(a))))
}

func quickByKey(a []rankPair, depth int) {
	for len(a) > 16 {
		if depth == 0 {
			heapByKey(a)
			return
		}
		depth--
		// Median of three as the pivot, then a three-way partition
		// (Dijkstra): below, equal, above. Values of J tie often (more
		// than half of a level's states share their value with another),
		// and the equal run is final at once.
		m := len(a) / 2
		x, y, z := a[0].key, a[m].key, a[len(a)-1].key
		p := max(min(x, y), min(max(x, y), z))
		lt, i, gt := 0, 0, len(a)
		for i < gt {
			switch k := a[i].key; {
			case k < p:
				a[lt], a[i] = a[i], a[lt]
				lt++
				i++
			case k > p:
				gt--
				a[i], a[gt] = a[gt], a[i]
			default:
				i++
			}
		}
		// Recurse into the smaller side, loop on the larger.
		if lt < len(a)-gt {
			quickByKey(a[:lt], depth)
			a = a[gt:]
		} else {
			quickByKey(a[gt:], depth)
			a = a[:lt]
		}
	}
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j].key < a[j-1].key; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

func heapByKey(a []rankPair) {
	down := func(i, n int) {
		for {
			c := 2*i + 1
			if c >= n {
				return
			}
			if c+1 < n && a[c+1].key > a[c].key {
				c++
			}
			if a[c].key <= a[i].key {
				return
			}
			a[i], a[c] = a[c], a[i]
			i = c
		}
	}
	for i := len(a)/2 - 1; i >= 0; i-- {
		down(i, len(a))
	}
	for n := len(a) - 1; n > 0; n-- {
		a[0], a[n] = a[n], a[0]
		down(0, n)
	}
}

// radixSort sorts a by key, stably, using b (same length) as scratch; the
// result ends in a. differ has the bits in which some keys differ.
func radixSort(a, b []rankPair, differ uint64) {
	src, dst := a, b
	var count [256]int
	for shift := uint(0); shift < 64; shift += 8 {
		if differ>>shift&0xff == 0 {
			continue // every key has this byte: the pass would not move anything
		}
		clear(count[:])
		for _, p := range src {
			count[p.key>>shift&0xff]++
		}
		sum := 0
		for d, c := range count {
			count[d] = sum
			sum += c
		}
		for _, p := range src {
			d := p.key >> shift & 0xff
			dst[count[d]] = p
			count[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &a[0] {
		copy(a, src)
	}
}

// pearson returns the correlation of a and b (equal lengths), 0 if either is
// constant; sums run in index order.
func pearson(a, b []float64) float64 {
	n := len(a)
	if n < 2 {
		return 0
	}
	var ma, mb float64
	for i := range a {
		ma += a[i]
		mb += b[i]
	}
	ma /= float64(n)
	mb /= float64(n)
	var cov, va, vb float64
	for i := range a {
		da, db := a[i]-ma, b[i]-mb
		cov += da * db
		va += da * da
		vb += db * db
	}
	if va < 1e-12 || vb < 1e-12 {
		return 0
	}
	return min(1, max(-1, cov/math.Sqrt(va*vb)))
}

// spearman is the rank correlation of a and b (tests and small inputs).
func spearman(a, b []float64) float64 {
	ra, rb := make([]float64, len(a)), make([]float64, len(b))
	pairs := make([]rankPair, 2*len(a))
	averageRanks(a, pairs, ra)
	averageRanks(b, pairs, rb)
	return pearson(ra, rb)
}
