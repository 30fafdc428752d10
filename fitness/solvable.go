package fitness

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
)

// CheckSolvable reports whether the level of every condition c plays on a
// map file is solvable (Instance.Solvable): nil, or an error wrapping
// ErrUnsolvable that names the map, its condition and why. A map plays the
// same level for every seed, so this is what Generate would refuse at the
// first evaluation. It is pure and cheap: a level with nothing to reach is
// decided on its cells, and otherwise the oracle's search over (position,
// touched objects) runs only until the verdict is known — for a solvable
// level, until the states nearer than its goal; at worst as far as the
// oracle would (Config.OracleStates) — and none of the oracle's tables are
// built. c must be valid (Validate).
func (c Config) CheckSolvable() error {
	env, err := LookupEnv(c.Env)
	if err != nil {
		return fmt.Errorf("%w: env: %w", ErrConfig, err)
	}
	for _, cm := range c.Maps {
		in := cm.Map.instance(env, c, cm.Condition)
		if why := in.unsolvable(); why != "" {
			return unsolvableMap(cm.Map, cm.Condition, why)
		}
	}
	return nil
}

func unsolvableMap(m *Map, condition, why string) error {
	return fmt.Errorf("%w: map %s for condition %q: %s", ErrUnsolvable, m.Name, condition, why)
}

// unsolvable returns "" when in is solvable, else why not. The verdict is
// Solvable's: the same search, stopped once solvable holds, which it then
// does for all the states too.
func (in *Instance) unsolvable() string {
	if !in.exitInReach() {
		return in.whyUnsolvable(math.Inf(-1), 0, false)
	}
	if in.nChests == 0 && !in.endInReach() {
		// Every reachable state then idles: no need to search them.
		return in.whyUnsolvable(in.IdleReturn(), 0, false)
	}
	opt, chests := math.Inf(-1), 0
	states := in.search(func(s State) bool {
		if !in.failed(s) {
			opt = max(opt, in.stateReturn(s))
		}
		chests = max(chests, bits.OnesCount64(s.Touched&in.masks[classChest]))
		return in.solvable(opt, chests)
	})
	if in.solvable(opt, chests) {
		return ""
	}
	return in.whyUnsolvable(opt, chests, len(states) >= in.cfg.OracleStates)
}

// endInReach reports whether an exit, lava or a coin — something that ends
// the episode with its reward — lies within the step limit of the start.
// Without one, and without chests, every reachable state idles.
func (in *Instance) endInReach() bool {
	dist := in.bfs(int(in.start))
	near := func(p int) bool { return dist[p] >= 0 && int(dist[p]) <= in.cfg.StepLimit }
	for p, k := range in.cells {
		if terminalCell(k) && near(p) {
			return true
		}
	}
	for _, o := range in.objects {
		if o.Kind == Coin && near(o.Y*in.w+o.X) {
			return true
		}
	}
	return false
}

// whyUnsolvable explains, for the author of a level, why it is not
// solvable, given what the oracle's search found: the optimum return, the
// most chests opened and whether the search was cut at
// Config.OracleStates. It names the first reason that applies.
func (in *Instance) whyUnsolvable(opt float64, chests int, cut bool) string {
	limit := in.cfg.StepLimit
	if in.env.scoring == scoreSteps {
		switch {
		case in.exit < 0:
			return "it has no exit (G, E or e)"
		case in.optimum < 0:
			return "no exit is reachable from the start"
		case in.optimum > limit:
			return fmt.Sprintf("the nearest exit is %d steps from the start, more than step_limit = %d", in.optimum, limit)
		}
	}
	idle := in.IdleReturn()
	if opt > idle+1e-9 && in.nKeys > 0 && chests < in.chestsToOpen() {
		return fmt.Sprintf("only %d of the %d chests its keys suffice for can be opened within step_limit = %d steps", chests, in.chestsToOpen(), limit)
	}
	// Goals: cells whose reward can beat idling.
	dist := in.bfs(int(in.start))
	goals, reachable, nearest := 0, 0, -1
	goal := func(p int) {
		goals++
		if d := int(dist[p]); d >= 0 {
			reachable++
			if nearest < 0 || d < nearest {
				nearest = d
			}
		}
	}
	for p, k := range in.cells {
		if k == Exit {
			goal(p)
		}
	}
	for _, o := range in.objects {
		if o.Kind == Coin || (o.Kind == Chest && in.nKeys > 0) {
			goal(o.Y*in.w + o.X)
		}
	}
	switch {
	case goals == 0:
		return "it has no exit (G, E or e), coin (c), or chest (C) and key (k)"
	case reachable == 0:
		return "no exit, coin or chest is reachable from the start"
	case nearest > limit:
		return fmt.Sprintf("the nearest exit, coin or chest is %d steps from the start, more than step_limit = %d", nearest, limit)
	}
	why := fmt.Sprintf("nothing better than the idle return (%s: %d steps of step_reward %s) is reachable within step_limit = %d steps",
		strconv.FormatFloat(idle, 'g', -1, 64), limit, strconv.FormatFloat(in.rewards.Step, 'g', -1, 64), limit)
	if cut {
		why += fmt.Sprintf(" (the search stopped after %d states, the oracle's limit; fewer objects or a smaller level search fully)", in.cfg.OracleStates)
	}
	return why
}
