package fitness

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// Config parameterises an environment and the evaluation of episodes in it.
// The zero value is not valid; start from DefaultConfig (the door maze) or
// DefaultConfigFor(name). Fields an environment does not read (see
// Env.Params) are ignored.
type Config struct {
	// Env names the environment (see Envs); "" is "doors".
	Env string
	// Width and Height of the grid in cells, border walls included.
	// doors: width 7..32 and at least 2*walls+4, height 5..32;
	// keys-chests: 5..32 each; coin: width 5..32, height 3..32.
	Width, Height int
	// Walls is the number K of internal vertical walls between start and
	// exit of the door maze, each with exactly one door. Range 0..MaxWalls.
	Walls int
	// Blocks is the number of single interior wall blocks scattered for
	// layout variety (doors, keys-chests, coin). Range 0..64, and at most a
	// quarter of the interior.
	Blocks int
	// RedObjects is the number R of red objects the door maze's shifted
	// condition scatters off every shortest path. Range 0..MaxRedObjects.
	RedObjects int
	// Keys is keys-chests' smaller count: train has Keys keys and 2·Keys
	// chests, shifted 2·Keys keys and Keys chests. Range 1..8.
	Keys int
	// StepLimit truncates an episode after this many steps. Range 1..1024.
	StepLimit int
	// OracleStates caps the list of reachable abstract states the oracle
	// keeps per instance (BFS order; states beyond the cap are dropped,
	// which makes J* and the optimum return lower bounds). Range 1..1<<22.
	OracleStates int
	// CacheInstances bounds how many generated instances (with their
	// oracle tables) an Evaluator keeps. 0 disables the cache. Range 0..1<<20.
	CacheInstances int
	// Features is the state-feature family planners and behavioral
	// objectives see: FeaturesOracle (BFS distances) or FeaturesLocal
	// (grid distances); "" is DefaultFeatures. The levels, the base score
	// and the base side of agreement do not depend on it.
	Features FeatureFamily
	// Maps are conditions played on map files: each adds a condition or
	// replaces a built-in one of the same name. The "maps" environment has
	// only these and needs one named "train". At most one per condition.
	Maps []ConditionMap
}

// ConditionMap plays a condition on a fixed level read from a map file.
type ConditionMap struct {
	Condition string
	Map       *Map
}

// Capacity limits of the door maze: every coloured object owns one bit of
// State.Touched.
const (
	MaxWalls      = 8
	MaxRedObjects = 16
)

// DefaultConfig returns the seed example's door maze: an optimum of about
// 12–20 steps and short episodes.
func DefaultConfig() Config { return doorsEnv.defaults }

func doorsDefaults() Config {
	return Config{
		Env:            EnvDoors,
		Width:          11,      // 9 interior columns: two walls leave rooms 3, 2 and 2 columns wide
		Height:         7,       // 5 interior rows: doors and start/exit rows vary over 5 values
		Walls:          2,       // two doors to pass before the exit door
		Blocks:         3,       // a little layout variety without many unsolvable draws
		RedObjects:     3,       // enough to pull a red seeker well off its way
		StepLimit:      40,      // about twice the longest optimum
		OracleStates:   1 << 16, // default instances have a few thousand reachable states
		CacheInstances: 4096,    // a generation's instances under all conditions, with room to spare
	}
}

// bad formats a range error naming the field, its value and what is allowed.
func bad(field string, v int, allowed string) error {
	return fmt.Errorf("%w: %s = %d, allowed %s", ErrConfig, field, v, allowed)
}

// Validate reports the first field out of range, naming the field, its value
// and the allowed range; an unknown environment (ErrUnknownEnv, listing the
// valid ones); an unknown feature family; or a bad map entry (its condition and what is wrong).
func (c Config) Validate() error {
	env, err := LookupEnv(c.Env)
	if err != nil {
		return fmt.Errorf("%w: env: %w", ErrConfig, err)
	}
	if !c.Features.Valid() {
		return fmt.Errorf("%w: features = %q, allowed %s", ErrConfig, c.Features, strings.Join(FeatureFamilies(), " or "))
	}
	switch {
	case c.StepLimit < 1 || c.StepLimit > 1024:
		return bad("step_limit", c.StepLimit, "1..1024")
	case c.OracleStates < 1 || c.OracleStates > 1<<22:
		return bad("oracle_states", c.OracleStates, fmt.Sprintf("1..%d", 1<<22))
	case c.CacheInstances < 0 || c.CacheInstances > 1<<20:
		return bad("cache_instances", c.CacheInstances, fmt.Sprintf("0..%d", 1<<20))
	}
	if env.validate != nil {
		if err := env.validate(c); err != nil {
			return err
		}
	}
	return c.validateMaps(env)
}

func (c Config) validateMaps(env *Env) error {
	seen := map[string]bool{}
	for i, m := range c.Maps {
		switch {
		case m.Condition == "":
			return fmt.Errorf("%w: maps[%d].condition is empty", ErrConfig, i)
		case seen[m.Condition]:
			return fmt.Errorf("%w: maps[%d].condition = %q appears twice", ErrConfig, i, m.Condition)
		case m.Map == nil:
			return fmt.Errorf("%w: maps[%d] (%s) has no map", ErrConfig, i, m.Condition)
		}
		seen[m.Condition] = true
		if err := m.Map.fits(env); err != nil {
			return fmt.Errorf("%w: maps[%d] (%s): %w", ErrConfig, i, m.Condition, err)
		}
	}
	if env == mapsEnv && !seen[Train] {
		return fmt.Errorf("%w: maps: environment %q needs a map for condition %q", ErrConfig, EnvMaps, Train)
	}
	return nil
}

// Environment returns the environment c names (errors as LookupEnv).
func (c Config) Environment() (*Env, error) { return LookupEnv(c.Env) }

// Conditions returns the conditions of c in their fixed order: the
// environment's built-in ones, then those of Maps not among them, in Maps
// order.
func (c Config) Conditions() []string {
	var out []string
	if env, err := LookupEnv(c.Env); err == nil {
		out = env.Conditions()
	}
	for _, m := range c.Maps {
		if !slices.Contains(out, m.Condition) {
			out = append(out, m.Condition)
		}
	}
	return out
}

// CheckCondition reports whether c can play condition: ErrUnknownCondition
// (listing the valid ones) for a condition not in c.Conditions(), ErrConfig
// (naming the field) for a built-in condition that would change nothing
// under c — the door maze's red-objects with red_objects = 0. A condition
// played on a map file is always playable. c must be valid.
func (c Config) CheckCondition(condition string) error {
	if !slices.Contains(c.Conditions(), condition) {
		return unknownConditionIn(c, condition)
	}
	env, err := LookupEnv(c.Env)
	if err != nil || c.mapFor(condition) != nil || env.checkCondition == nil {
		return err
	}
	return env.checkCondition(c, condition)
}

// mapFor returns the map that plays condition, or nil.
func (c Config) mapFor(condition string) *Map {
	for _, m := range c.Maps {
		if m.Condition == condition {
			return m.Map
		}
	}
	return nil
}

// Key returns a canonical text of c, equal for configurations that give
// equal results (maps are identified by a SHA-256 of their text), for
// caches keyed by configuration.
func (c Config) Key() string {
	var b strings.Builder
	env := c.Env
	if env == "" {
		env = EnvDoors
	}
	fmt.Fprintf(&b, "env=%s features=%s w=%d h=%d walls=%d blocks=%d red=%d keys=%d steps=%d oracle=%d cache=%d",
		env, c.Features.OrDefault(), c.Width, c.Height, c.Walls, c.Blocks, c.RedObjects, c.Keys, c.StepLimit, c.OracleStates, c.CacheInstances)
	for _, m := range c.Maps {
		sum := sha256.Sum256([]byte(m.Map.String()))
		fmt.Fprintf(&b, " map[%s]=%s", m.Condition, hex.EncodeToString(sum[:8]))
	}
	return b.String()
}

func unknownConditionIn(cfg Config, c string) error {
	return fmt.Errorf("%w: %q, valid: %s", ErrUnknownCondition, c, strings.Join(cfg.Conditions(), ", "))
}
