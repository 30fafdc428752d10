package fitness

import (
	"fmt"

	"github.com/mesaopt/mesaopt/internal/stream"
)

const maxAttempts = 256

// Generate builds the instance of condition for an instance seed. A
// condition played on a map file (Config.Maps) is that fixed level for
// every seed. Otherwise the environment draws a layout from the seed; if
// the draw is unusable or the oracle finds it unsolvable (see
// Instance.Solvable), or unsolvable under another of the environment's
// drawn conditions (see pairable), it is redrawn from stream.Derive(seed,
// stream.PurposeRegenerate, attempt), attempt = 1, 2, ... — never scored 0
// silently. Equal (cfg, condition, seed) give equal instances on every
// machine.
//
// Errors: ErrConfig (wrapped) for an invalid cfg or a condition cfg cannot
// play (see Config.CheckCondition), ErrUnknownCondition for a condition not
// in cfg.Conditions() (the message lists them), ErrUnsolvable if
// maxAttempts draws fail.
func Generate(cfg Config, condition string, seed uint64) (*Instance, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return generate(cfg, condition, seed)
}

// generate is Generate for a validated cfg.
func generate(cfg Config, condition string, seed uint64) (*Instance, error) {
	env, _ := LookupEnv(cfg.Env)
	if m := cfg.mapFor(condition); m != nil {
		in := m.instance(env, cfg, condition)
		in.seed = seed
		if !in.Solvable() {
			o := in.oracle()
			return nil, unsolvableMap(m, condition, in.whyUnsolvable(o.optReturn, o.maxChests, len(o.states) >= cfg.OracleStates))
		}
		return in, nil
	}
	if env.draw == nil || !knownIn(env.conditions, condition) {
		return nil, unknownConditionIn(cfg, condition)
	}
	if env.checkCondition != nil {
		if err := env.checkCondition(cfg, condition); err != nil {
			return nil, err
		}
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		layoutSeed := seed
		if attempt > 0 {
			layoutSeed = stream.Derive(seed, stream.PurposeRegenerate, uint64(attempt))
		}
		if in := env.draw(env, cfg, condition, layoutSeed); in != nil && in.Solvable() && pairable(env, cfg, condition, layoutSeed) {
			in.seed, in.attempts = seed, attempt
			return in, nil
		}
	}
	return nil, fmt.Errorf("%w: seed %d under %q after %d attempts", ErrUnsolvable, seed, condition, maxAttempts)
}

// pairable reports whether a layout seed drawn under condition also gives
// a solvable instance under every other drawn condition of env (those no
// map file replaces): a seed is then redrawn the same way under every
// condition, so the instances of one seed stay paired — same walls, start
// and exit — whatever condition they are played under.
func pairable(env *Env, cfg Config, condition string, layoutSeed uint64) bool {
	for _, c := range env.conditions {
		if c == condition || cfg.mapFor(c) != nil {
			continue
		}
		in := env.draw(env, cfg, c, layoutSeed)
		if in == nil || in.unsolvable() != "" {
			return false
		}
	}
	return true
}

func knownIn(conds []string, c string) bool {
	for _, k := range conds {
		if k == c {
			return true
		}
	}
	return false
}
