package fitness

import "fmt"

// Config parameterises the door maze and the evaluation of episodes in it.
// The zero value is not valid; start from DefaultConfig.
type Config struct {
	// Width and Height of the grid in cells, border walls included.
	// Width 7..32 and at least 2*Walls+4; Height 5..32.
	Width, Height int
	// Walls is the number K of internal vertical walls between start and
	// exit, each with exactly one door. Range 0..MaxWalls.
	Walls int
	// Blocks is the number of single interior wall blocks scattered for
	// layout variety. Range 0..64, and at most a quarter of the interior.
	Blocks int
	// RedObjects is the number R of red objects the shifted condition
	// scatters off every shortest path. Range 0..MaxRedObjects.
	RedObjects int
	// StepLimit truncates an episode after this many steps. Range 1..1024.
	StepLimit int
	// OracleStates caps the list of reachable abstract states the oracle
	// keeps per instance (BFS order; states beyond the cap are dropped,
	// which makes J* a lower bound). Range 1..1<<22.
	OracleStates int
	// CacheInstances bounds how many generated instances (with their
	// oracle tables) an Evaluator keeps. 0 disables the cache. Range 0..1<<20.
	CacheInstances int
}

// Capacity limits: every coloured object owns one bit of a uint64 mask.
const (
	MaxWalls      = 8
	MaxRedObjects = 16
)

// DefaultConfig returns the seed example's door maze: an optimum of about
// 12–20 steps and short episodes.
func DefaultConfig() Config {
	return Config{
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

// Validate reports the first field out of range, naming the field, its value
// and the allowed range.
func (c Config) Validate() error {
	bad := func(field string, v int, allowed string) error {
		return fmt.Errorf("%w: %s = %d, allowed %s", ErrConfig, field, v, allowed)
	}
	switch {
	case c.Walls < 0 || c.Walls > MaxWalls:
		return bad("walls", c.Walls, fmt.Sprintf("0..%d", MaxWalls))
	case c.Width < 7 || c.Width > 32 || c.Width < 2*c.Walls+4:
		return bad("width", c.Width, fmt.Sprintf("%d..32 (at least 2*walls+4)", max(7, 2*c.Walls+4)))
	case c.Height < 5 || c.Height > 32:
		return bad("height", c.Height, "5..32")
	case c.Blocks < 0 || c.Blocks > 64 || c.Blocks > (c.Width-2)*(c.Height-2)/4:
		return bad("blocks", c.Blocks, fmt.Sprintf("0..%d", min(64, (c.Width-2)*(c.Height-2)/4)))
	case c.RedObjects < 0 || c.RedObjects > MaxRedObjects:
		return bad("red_objects", c.RedObjects, fmt.Sprintf("0..%d", MaxRedObjects))
	case c.StepLimit < 1 || c.StepLimit > 1024:
		return bad("step_limit", c.StepLimit, "1..1024")
	case c.OracleStates < 1 || c.OracleStates > 1<<22:
		return bad("oracle_states", c.OracleStates, fmt.Sprintf("1..%d", 1<<22))
	case c.CacheInstances < 0 || c.CacheInstances > 1<<20:
		return bad("cache_instances", c.CacheInstances, fmt.Sprintf("0..%d", 1<<20))
	}
	return nil
}
