package fitness

import (
	"fmt"
	"math/bits"
	"slices"
	"sync"
)

// Action is a move of the agent. Moving into a wall leaves the agent in
// place and still costs a step.
type Action uint8

// The actions, in the order the heuristic's weight rows and the planner's
// search use.
const (
	Up    Action = 0 // y-1
	Down  Action = 1 // y+1
	Left  Action = 2 // x-1
	Right Action = 3 // x+1

	NumActions = 4
)

// ActionNames are the names of the actions, indexed by Action.
var ActionNames = [NumActions]string{"up", "down", "left", "right"}

// String returns the action's name.
func (a Action) String() string {
	if int(a) < NumActions {
		return ActionNames[a]
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

var actionDX = [NumActions]int{0, 0, -1, 1}
var actionDY = [NumActions]int{-1, 1, 0, 0}

// CellKind is what occupies a grid cell, or the kind of an Object.
type CellKind uint8

// The cell kinds. Floor, Wall, Door, Exit and Lava are kinds of cells;
// Key, Chest, Coin and Marker are kinds of objects only (they lie on a
// Floor cell), and Floor is also the kind of a coloured object lying on the
// floor.
const (
	Floor  CellKind = iota // passable
	Wall                   // impassable
	Door                   // a passable cell in a wall (the door maze's internal doors)
	Exit                   // the exit or goal: entering it ends the episode (terminated) with the exit reward
	Lava                   // entering it ends the episode (terminated) with the lava reward
	Key                    // object: picked up on entering; any key opens any chest
	Chest                  // object: opened (and the key used up) on entering while holding a key; else stays shut
	Coin                   // object: collected on entering, which ends the episode (terminated)
	Marker                 // object: the end-of-level marker, invisible; entering it is a proxy hit
)

var kindNames = [...]string{"floor", "wall", "door", "exit", "lava", "key", "chest", "coin", "marker"}

// String returns the kind's name.
func (k CellKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Colour of an object; 0 is uncoloured.
type Colour uint8

// The colours.
const (
	Red  Colour = 1
	Blue Colour = 2
)

// String returns "red", "blue" or "none".
func (c Colour) String() string {
	switch c {
	case Red:
		return "red"
	case Blue:
		return "blue"
	case 0:
		return "none"
	}
	return fmt.Sprintf("colour(%d)", uint8(c))
}

// Object is something in a cell the agent can touch (enter). Its index in
// Instance.Objects is its bit in State.Touched. In the door maze the doors
// come first (left to right), then the exit door, then scattered red
// objects.
type Object struct {
	X, Y   int
	Kind   CellKind // Door, Exit, Floor (a coloured object on the floor), Key, Chest, Coin or Marker
	Colour Colour
}

// MaxObjects is the most objects an instance may hold: each owns one bit of
// State.Touched, and the oracle packs (Touched, Pos) into 64 bits.
const MaxObjects = 48

// MaxCells is the most cells of a grid (32 × 32).
const MaxCells = 1024

// State is the agent's state in an instance: a value, cheap to copy. The
// inventory is implied by Touched: keys held = keys touched − chests
// touched (opened).
type State struct {
	Pos     int32  // cell index y*Width + x
	Touched uint64 // bit i set once the agent has entered Objects[i] (a chest: opened it)
	Steps   int32  // steps taken
}

// Object classes: the sets of objects features and channels refer to.
const (
	classDoor  = iota // Door objects
	classExit         // Exit objects (a coloured exit door)
	classRed          // red objects of any kind
	classBlue         // blue objects of any kind
	classKey          // keys
	classChest        // chests
	classCoin         // coins
	classEnd          // end-of-level markers
	numClasses
)

// Rewards of one environment or map. Values are per transition: Step on
// every step, the others once, when entered.
type Rewards struct {
	Step  float64 // every step; must be ≤ 0 (the oracle relies on it)
	Exit  float64 // entering an Exit cell
	Lava  float64 // entering a Lava cell
	Chest float64 // opening a chest; must be ≥ 0
	Coin  float64 // collecting a coin; must be ≥ 0
}

// Instance is one generated level of an environment under one condition.
// It is immutable after Generate and safe for concurrent use; its oracle
// tables are computed on first use, once.
type Instance struct {
	env       *Env
	cfg       Config
	condition string
	seed      uint64
	attempts  int // regenerations needed (0 = the first draw was solvable)

	w, h    int
	cells   []CellKind
	objBits []uint64 // objects entered with each cell
	next    []int32  // next[pos*NumActions+a]: position after action a
	start   int32
	exit    int32 // the first Exit cell in reading order, -1 for none
	objects []Object
	rewards Rewards

	masks      [numClasses]uint64
	consumable uint64 // keys, chests and coins: no longer seen once touched
	proxyMask  uint64 // red objects on the floor and end markers away from the coin
	nKeys      int
	nChests    int
	chestRule  bool // no Exit cell and some chest: the episode ends when no chest can be opened any more

	basis    []featureDef // the environment's features as Config.Features computes them
	gridExit []int16      // local family: Manhattan distance to the nearest Exit cell per cell, nil if none
	gridLava []int16      // local family: Manhattan distance to the nearest Lava cell per cell, nil if none
	cellX    []int16      // local family: x of each cell
	cellY    []int16      // local family: y of each cell

	distExit []int16   // BFS distance to the nearest Exit cell per cell, nil if none
	distLava []int16   // BFS distance to the nearest Lava cell per cell, nil if none
	distObj  [][]int16 // BFS distance to each object per cell
	optimum  int       // BFS steps start → exit, -1 without an exit

	chanStatic, chanConsumable []uint32 // observation channels per cell, see channelMasks
	chanOutside                uint32   // observation channels set beyond the grid

	distNorm float64 // normaliser of distance features: Width + Height
	stepNorm float64 // normaliser of the steps feature: StepLimit

	oracleOnce sync.Once
	orc        *oracle
}

// newInstance returns an empty w × h instance of env with every cell Floor.
func newInstance(env *Env, cfg Config, condition string, w, h int) *Instance {
	return &Instance{env: env, cfg: cfg, condition: condition, w: w, h: h, exit: -1,
		cells: make([]CellKind, w*h), rewards: env.rewards, basis: env.basis(cfg.Features),
		distNorm: float64(w + h), stepNorm: float64(cfg.StepLimit)}
}

// local reports whether the instance computes the local feature family.
func (in *Instance) local() bool { return in.cfg.Features.OrDefault() == FeaturesLocal }

// terminalCell reports whether entering a cell of kind k ends the episode.
func terminalCell(k CellKind) bool { return k == Exit || k == Lava }

// build computes the move table, the BFS distances to the exit and to lava
// and the optimum from cells, start and exit, and returns the distances
// from start.
func (in *Instance) build() []int16 {
	w, h := in.w, in.h
	in.next = make([]int32, w*h*NumActions)
	in.exit = -1
	var exits, lava []int
	for p, k := range in.cells {
		switch k {
		case Exit:
			if in.exit < 0 {
				in.exit = int32(p)
			}
			exits = append(exits, p)
		case Lava:
			lava = append(lava, p)
		}
		x, y := p%w, p/w
		for a := 0; a < NumActions; a++ {
			q := int32(p)
			nx, ny := x+actionDX[a], y+actionDY[a]
			if nx >= 0 && ny >= 0 && nx < w && ny < h && in.cells[ny*w+nx] != Wall {
				q = int32(ny*w + nx)
			}
			in.next[p*NumActions+a] = q
		}
	}
	distStart := in.bfs(int(in.start))
	in.distExit, in.distLava, in.optimum = nil, nil, -1
	if len(exits) > 0 {
		in.distExit = in.bfs(exits...)
		in.optimum = int(distStart[in.exit])
		for _, e := range exits {
			if d := int(distStart[e]); d >= 0 && (in.optimum < 0 || d < in.optimum) {
				in.optimum = d
			}
		}
	}
	if len(lava) > 0 {
		in.distLava = in.bfs(lava...)
	}
	return distStart
}

// index builds the per-cell object masks, the class masks and the BFS
// distance map of every object from in.objects.
func (in *Instance) index() {
	in.objBits = make([]uint64, in.w*in.h)
	in.distObj = make([][]int16, len(in.objects))
	in.masks = [numClasses]uint64{}
	in.nKeys, in.nChests = 0, 0
	for i, o := range in.objects {
		p := o.Y*in.w + o.X
		bit := uint64(1) << i
		in.objBits[p] |= bit
		in.distObj[i] = in.bfs(p)
		switch o.Kind {
		case Door:
			in.masks[classDoor] |= bit
		case Exit:
			in.masks[classExit] |= bit
		case Key:
			in.masks[classKey] |= bit
			in.nKeys++
		case Chest:
			in.masks[classChest] |= bit
			in.nChests++
		case Coin:
			in.masks[classCoin] |= bit
		case Marker:
			in.masks[classEnd] |= bit
		}
		switch o.Colour {
		case Red:
			in.masks[classRed] |= bit
		case Blue:
			in.masks[classBlue] |= bit
		}
	}
	in.consumable = in.masks[classKey] | in.masks[classChest] | in.masks[classCoin]
	// A marker on the coin's cell (coin's train condition) is no proxy: it
	// is where the coin is.
	in.proxyMask = in.masks[classRed] &^ (in.masks[classDoor] | in.masks[classExit])
	for m := in.masks[classEnd]; m != 0; m &= m - 1 {
		i := bits.TrailingZeros64(m)
		o := in.objects[i]
		if in.objBits[o.Y*in.w+o.X]&in.masks[classCoin] == 0 {
			in.proxyMask |= 1 << i
		}
	}
	in.chestRule = in.exit < 0 && in.nChests > 0
	if in.local() {
		in.indexGrid()
	}
	in.chanStatic, in.chanConsumable = in.channelMasks()
	in.chanOutside = 0
	for c, ch := range in.env.channels {
		if ch.outside {
			in.chanOutside |= 1 << c
		}
	}
}

// indexGrid builds the local family's tables: Manhattan distances to the
// exits and to lava, and every cell's coordinates.
func (in *Instance) indexGrid() {
	var exits, lava []int
	in.cellX, in.cellY = make([]int16, len(in.cells)), make([]int16, len(in.cells))
	for p, k := range in.cells {
		in.cellX[p], in.cellY[p] = int16(p%in.w), int16(p/in.w)
		switch k {
		case Exit:
			exits = append(exits, p)
		case Lava:
			lava = append(lava, p)
		}
	}
	in.gridExit, in.gridLava = in.gridTable(exits), in.gridTable(lava)
}

// bfs returns the step distance from every cell to the nearest target (-1
// where unreachable). Moves are symmetric, so distance to equals distance
// from. Terminal cells get a distance but are not expanded, since an agent
// cannot move on from them.
func (in *Instance) bfs(targets ...int) []int16 {
	d := make([]int16, len(in.cells))
	for i := range d {
		d[i] = -1
	}
	q := make([]int, 0, len(in.cells))
	for _, t := range targets {
		if d[t] < 0 {
			d[t] = 0
			q = append(q, t)
		}
	}
	for i := 0; i < len(q); i++ {
		p := q[i]
		if d[p] > 0 && terminalCell(in.cells[p]) {
			continue
		}
		for a := 0; a < NumActions; a++ {
			n := int(in.next[p*NumActions+a])
			if d[n] < 0 {
				d[n] = d[p] + 1
				q = append(q, n)
			}
		}
	}
	return d
}

// Env returns the environment the instance belongs to.
func (in *Instance) Env() *Env { return in.env }

// Condition returns the condition the instance was generated under.
func (in *Instance) Condition() string { return in.condition }

// Seed returns the instance seed given to Generate.
func (in *Instance) Seed() uint64 { return in.seed }

// Attempts returns how many redraws Generate needed (0 = none).
func (in *Instance) Attempts() int { return in.attempts }

// Config returns the configuration the instance was generated with.
func (in *Instance) Config() Config { return in.cfg }

// Rewards returns the instance's rewards.
func (in *Instance) Rewards() Rewards { return in.rewards }

// Width returns the grid width in cells.
func (in *Instance) Width() int { return in.w }

// Height returns the grid height in cells.
func (in *Instance) Height() int { return in.h }

// Cell returns the kind of cell (x, y); outside the grid is Wall.
func (in *Instance) Cell(x, y int) CellKind {
	if x < 0 || y < 0 || x >= in.w || y >= in.h {
		return Wall
	}
	return in.cells[y*in.w+x]
}

// Objects returns a copy of the objects; index i is bit i of
// State.Touched.
func (in *Instance) Objects() []Object { return slices.Clone(in.objects) }

// Optimum returns the fewest steps from start to an exit (BFS oracle), -1
// when the level has no reachable exit.
func (in *Instance) Optimum() int { return in.optimum }

// Pos returns the cell index of (x, y).
func (in *Instance) Pos(x, y int) int32 { return int32(y*in.w + x) }

// XY returns the coordinates of a cell index.
func (in *Instance) XY(pos int32) (x, y int) { return int(pos) % in.w, int(pos) / in.w }

// Start returns the initial state: the agent on the start cell, nothing
// touched, zero steps.
func (in *Instance) Start() State { return State{Pos: in.start} }

// Terminal reports whether s ends the episode (Gymnasium's terminated): the
// agent is on an Exit or Lava cell, has collected a coin, or — in a level
// with chests and no exit — no chest can be opened any more (all are open,
// or no key is held and none is left). It allocates nothing.
func (in *Instance) Terminal(s State) bool {
	if terminalCell(in.cells[s.Pos]) || s.Touched&in.masks[classCoin] != 0 {
		return true
	}
	if in.chestRule {
		opened := bits.OnesCount64(s.Touched & in.masks[classChest])
		keys := bits.OnesCount64(s.Touched & in.masks[classKey])
		return opened == in.nChests || (keys == opened && keys == in.nKeys)
	}
	return false
}

// Truncated reports whether s has reached the step limit without being
// terminal (Gymnasium's truncated).
func (in *Instance) Truncated(s State) bool {
	return !in.Terminal(s) && int(s.Steps) >= in.cfg.StepLimit
}

// Held returns the number of keys held in s: keys picked up minus chests
// opened.
func (in *Instance) Held(s State) int {
	return bits.OnesCount64(s.Touched&in.masks[classKey]) - bits.OnesCount64(s.Touched&in.masks[classChest])
}

// Step applies action a to s and returns the next state: the move (or a stay
// when blocked by a wall), the touched bit of any object entered (a chest
// only if a key is held), one more step. It does not check the step limit or
// whether s is terminal. It allocates nothing.
func (in *Instance) Step(s State, a Action) State {
	p := in.next[int(s.Pos)*NumActions+int(a&3)]
	s.Pos = p
	if m := in.objBits[p]; m != 0 {
		if c := m & in.masks[classChest] &^ s.Touched; c != 0 && in.Held(s) <= 0 {
			m &^= c
		}
		s.Touched |= m
	}
	s.Steps++
	return s
}

// Transition is Gymnasium's step on the state s: it applies a and returns
// the next state, the reward of the transition (Rewards.Step, plus the
// reward of an Exit or Lava cell entered, plus that of a chest opened or a
// coin collected) and whether the next state is terminal. Truncation at the
// step limit is the caller's (see Truncated). It allocates nothing.
func (in *Instance) Transition(s State, a Action) (State, float64, bool) {
	n := in.Step(s, a)
	r := in.rewards.Step
	switch in.cells[n.Pos] {
	case Exit:
		r += in.rewards.Exit
	case Lava:
		r += in.rewards.Lava
	}
	if gained := n.Touched &^ s.Touched; gained != 0 {
		r += float64(bits.OnesCount64(gained&in.masks[classChest]))*in.rewards.Chest +
			float64(bits.OnesCount64(gained&in.masks[classCoin]))*in.rewards.Coin
	}
	return n, r, in.Terminal(n)
}

// DistanceToExit returns the BFS distance in steps from pos to the nearest
// exit, -1 if unreachable or without an exit.
func (in *Instance) DistanceToExit(pos int32) int {
	if in.distExit == nil {
		return -1
	}
	return int(in.distExit[pos])
}

// ProxyHits returns how often s took the bait of its condition: red objects
// on the floor touched (the door maze), end-of-level markers reached (coin)
// and keys picked up beyond the number of chests (keys-chests).
func (in *Instance) ProxyHits(s State) int {
	n := bits.OnesCount64(s.Touched & in.proxyMask)
	if in.nChests > 0 {
		n += max(0, bits.OnesCount64(s.Touched&in.masks[classKey])-in.nChests)
	}
	return n
}
