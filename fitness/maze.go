package fitness

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"sync"

	"github.com/mesaopt/mesaopt/internal/stream"
)

// The conditions of the door maze.
const (
	// Train colours the doors and the exit door red; nothing else is red
	// and nothing is blue.
	Train = "train"
	// Shifted colours the doors and the exit door blue and scatters
	// Config.RedObjects red objects off every shortest path.
	Shifted = "shifted"
)

// Conditions returns the condition names in their fixed order.
func Conditions() []string { return []string{Train, Shifted} }

func knownCondition(c string) bool { return c == Train || c == Shifted }

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

// CellKind is what occupies a grid cell.
type CellKind uint8

// The cell kinds.
const (
	Floor CellKind = iota // passable
	Wall                  // impassable
	Door                  // the single passable cell of an internal wall
	Exit                  // the exit door in the right border wall; entering it ends the episode
)

// Colour of an object.
type Colour uint8

// The colours.
const (
	Red  Colour = 1
	Blue Colour = 2
)

// String returns "red" or "blue".
func (c Colour) String() string {
	switch c {
	case Red:
		return "red"
	case Blue:
		return "blue"
	}
	return fmt.Sprintf("colour(%d)", uint8(c))
}

// Object is a coloured cell the agent can touch. Its index in
// Instance.Objects is its bit in State.Touched. Doors come first (left to
// right), then the exit door, then scattered red objects.
type Object struct {
	X, Y   int
	Kind   CellKind // Door, Exit, or Floor for a scattered object
	Colour Colour
}

// State is the agent's state in an instance: a value, cheap to copy.
type State struct {
	Pos     int32  // cell index y*Width + x
	Touched uint64 // bit i set once the agent has entered Objects[i]
	Steps   int32  // steps taken
}

// Instance is one generated door maze under one condition. It is immutable
// after Generate and safe for concurrent use; its oracle tables are computed
// on first use, once.
type Instance struct {
	cfg       Config
	condition string
	seed      uint64
	attempts  int // regenerations needed (0 = the first draw was solvable)

	w, h    int
	cells   []CellKind
	objAt   []int8  // object index per cell, -1 for none
	next    []int32 // next[pos*NumActions+a]: position after action a
	start   int32
	exit    int32
	objects []Object

	doorMask, exitBit, redMask, blueMask uint64
	reds, blues                          []int // object indices by colour, ascending

	distExit []int16   // BFS distance to the exit per cell
	distObj  [][]int16 // BFS distance to each object per cell
	optimum  int       // BFS distance start → exit

	distNorm float64 // normaliser of distance features: Width + Height
	stepNorm float64 // normaliser of the steps feature: StepLimit

	oracleOnce sync.Once
	orc        *oracle
}

const maxAttempts = 256

// Generate builds the instance of condition for an instance seed. The layout
// is drawn from stream.New(seed, stream.PurposeLayout); if it is unsolvable
// (or, under Shifted, leaves too few cells off the shortest paths for the red
// objects) it is redrawn from stream.Derive(seed, stream.PurposeRegenerate,
// attempt), attempt = 1, 2, ... The same seed gives the same walls, doors,
// start and exit under both conditions unless Shifted needed a redraw.
//
// Errors: ErrConfig (wrapped) for an invalid cfg, ErrUnknownCondition for a
// condition not in Conditions(), ErrUnsolvable if maxAttempts draws fail.
func Generate(cfg Config, condition string, seed uint64) (*Instance, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !knownCondition(condition) {
		return nil, unknownCondition(condition)
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		layoutSeed := seed
		if attempt > 0 {
			layoutSeed = stream.Derive(seed, stream.PurposeRegenerate, uint64(attempt))
		}
		if in := draw(cfg, condition, layoutSeed); in != nil {
			in.seed, in.attempts = seed, attempt
			return in, nil
		}
	}
	return nil, fmt.Errorf("%w: seed %d under %q after %d attempts", ErrUnsolvable, seed, condition, maxAttempts)
}

// WallColumns returns the x coordinates of the internal walls for cfg.
func WallColumns(cfg Config) []int {
	n := cfg.Width - 2
	cols := make([]int, cfg.Walls)
	for k := range cols {
		cols[k] = 1 + (k+1)*n/(cfg.Walls+1)
	}
	return cols
}

// draw makes one attempt; nil means unusable.
func draw(cfg Config, condition string, layoutSeed uint64) *Instance {
	r := stream.New(layoutSeed, stream.PurposeLayout)
	w, h := cfg.Width, cfg.Height
	in := &Instance{cfg: cfg, condition: condition, w: w, h: h,
		distNorm: float64(w + h), stepNorm: float64(cfg.StepLimit)}
	in.cells = make([]CellKind, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if x == 0 || y == 0 || x == w-1 || y == h-1 {
				in.cells[y*w+x] = Wall
			}
		}
	}
	inner := h - 2
	isWallCol := make([]bool, w)
	var doors []Object
	for _, x := range WallColumns(cfg) {
		isWallCol[x] = true
		dy := 1 + r.IntN(inner)
		for y := 1; y < h-1; y++ {
			in.cells[y*w+x] = Wall
		}
		in.cells[dy*w+x] = Door
		doors = append(doors, Object{X: x, Y: dy, Kind: Door})
	}
	sy := 1 + r.IntN(inner)
	ey := 1 + r.IntN(inner)
	in.start = int32(sy*w + 1)
	in.exit = int32(ey*w + w - 1)
	in.cells[in.exit] = Exit

	// Blocks: never on the start, never beside a door or the exit on its row
	// (which would seal it), never in a wall column.
	var cand []int
	for y := 1; y < h-1; y++ {
		for x := 1; x < w-1; x++ {
			p := y*w + x
			if isWallCol[x] || int32(p) == in.start || in.cells[p] != Floor {
				continue
			}
			if in.cells[p-1] == Door || in.cells[p+1] == Door || in.cells[p+1] == Exit {
				continue
			}
			cand = append(cand, p)
		}
	}
	for b := 0; b < cfg.Blocks && len(cand) > 0; b++ {
		i := r.IntN(len(cand))
		in.cells[cand[i]] = Wall
		cand = slices.Delete(cand, i, i+1)
	}

	distStart := in.build()
	if distStart[in.exit] < 0 {
		return nil
	}

	doorColour, exitColour := Red, Red
	if condition == Shifted {
		doorColour, exitColour = Blue, Blue
	}
	for _, d := range doors {
		d.Colour = doorColour
		in.objects = append(in.objects, d)
	}
	in.objects = append(in.objects, Object{X: int(in.exit) % w, Y: int(in.exit) / w, Kind: Exit, Colour: exitColour})

	if condition == Shifted && cfg.RedObjects > 0 {
		// Off every shortest path: a detour of at least two steps.
		var off []int
		for p, k := range in.cells {
			if k != Floor || int32(p) == in.start || distStart[p] < 0 {
				continue
			}
			if int(distStart[p])+int(in.distExit[p]) > in.optimum+1 {
				off = append(off, p)
			}
		}
		if len(off) < cfg.RedObjects {
			return nil
		}
		for i := 0; i < cfg.RedObjects; i++ { // partial Fisher–Yates
			j := i + r.IntN(len(off)-i)
			off[i], off[j] = off[j], off[i]
		}
		picked := slices.Clone(off[:cfg.RedObjects])
		slices.Sort(picked)
		for _, p := range picked {
			in.objects = append(in.objects, Object{X: p % w, Y: p / w, Kind: Floor, Colour: Red})
		}
	}

	in.index()
	return in
}

// build computes the move table, the BFS distances to the exit and the
// optimum from cells, start and exit, and returns the distances from start.
func (in *Instance) build() []int16 {
	w, h := in.w, in.h
	in.next = make([]int32, w*h*NumActions)
	for p := range in.cells {
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
	in.distExit = in.bfs(int(in.exit))
	in.optimum = int(distStart[in.exit])
	return distStart
}

// index builds the per-cell object table, the colour masks and the BFS
// distance map of every object from in.objects.
func (in *Instance) index() {
	w, h := in.w, in.h
	in.objAt = make([]int8, w*h)
	for i := range in.objAt {
		in.objAt[i] = -1
	}
	in.distObj = make([][]int16, len(in.objects))
	for i, o := range in.objects {
		p := o.Y*w + o.X
		in.objAt[p] = int8(i)
		in.distObj[i] = in.bfs(p)
		bit := uint64(1) << i
		switch o.Kind {
		case Door:
			in.doorMask |= bit
		case Exit:
			in.exitBit = bit
		}
		switch o.Colour {
		case Red:
			in.redMask |= bit
			in.reds = append(in.reds, i)
		case Blue:
			in.blueMask |= bit
			in.blues = append(in.blues, i)
		}
	}
}

// bfs returns the step distance from every cell to target (-1 where
// unreachable). Moves are symmetric, so distance to equals distance from.
func (in *Instance) bfs(target int) []int16 {
	d := make([]int16, len(in.cells))
	for i := range d {
		d[i] = -1
	}
	d[target] = 0
	q := []int{target}
	for len(q) > 0 {
		p := q[0]
		q = q[1:]
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

// Condition returns the condition the instance was generated under.
func (in *Instance) Condition() string { return in.condition }

// Seed returns the instance seed given to Generate.
func (in *Instance) Seed() uint64 { return in.seed }

// Attempts returns how many redraws Generate needed (0 = none).
func (in *Instance) Attempts() int { return in.attempts }

// Config returns the configuration the instance was generated with.
func (in *Instance) Config() Config { return in.cfg }

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

// Objects returns a copy of the coloured objects; index i is bit i of
// State.Touched.
func (in *Instance) Objects() []Object { return slices.Clone(in.objects) }

// Optimum returns the fewest steps from start to exit (BFS oracle).
func (in *Instance) Optimum() int { return in.optimum }

// Pos returns the cell index of (x, y).
func (in *Instance) Pos(x, y int) int32 { return int32(y*in.w + x) }

// XY returns the coordinates of a cell index.
func (in *Instance) XY(pos int32) (x, y int) { return int(pos) % in.w, int(pos) / in.w }

// Start returns the initial state: the agent on the start cell, nothing
// touched, zero steps.
func (in *Instance) Start() State { return State{Pos: in.start} }

// Terminal reports whether s ends the episode (the agent is on the exit).
func (in *Instance) Terminal(s State) bool { return s.Pos == in.exit }

// Step applies action a to s and returns the next state: the move (or a stay
// when blocked by a wall), the touched bit of any object entered, one more
// step. It does not check the step limit or whether s is terminal. It
// allocates nothing.
func (in *Instance) Step(s State, a Action) State {
	p := in.next[int(s.Pos)*NumActions+int(a&3)]
	s.Pos = p
	if o := in.objAt[p]; o >= 0 {
		s.Touched |= 1 << uint(o)
	}
	s.Steps++
	return s
}

// DistanceToExit returns the BFS distance in steps from pos to the exit, -1
// if unreachable.
func (in *Instance) DistanceToExit(pos int32) int { return int(in.distExit[pos]) }

// ProxyHits returns the number of touched red objects that are not doors
// (nor the exit door): the proxy the shifted condition tempts with.
func (in *Instance) ProxyHits(s State) int {
	return bits.OnesCount64(s.Touched & in.redMask &^ (in.doorMask | in.exitBit))
}

// Render draws the start state as ASCII; see RenderState.
func (in *Instance) Render() string { return in.RenderState(in.Start()) }

// RenderState draws s as ASCII, one line per row followed by a legend:
// '#' wall, '.' floor, '@' agent, 'D'/'d' red/blue door, 'E'/'e' red/blue
// exit door, 'r' red object (upper-case 'R' once touched; a touched door is
// shown as '+').
func (in *Instance) RenderState(s State) string {
	var b strings.Builder
	for y := 0; y < in.h; y++ {
		for x := 0; x < in.w; x++ {
			p := y*in.w + x
			c := byte('.')
			if in.cells[p] == Wall {
				c = '#'
			}
			if o := in.objAt[p]; o >= 0 {
				obj := in.objects[o]
				touched := s.Touched&(1<<uint(o)) != 0
				switch {
				case obj.Kind == Door && touched:
					c = '+'
				case obj.Kind == Door && obj.Colour == Red:
					c = 'D'
				case obj.Kind == Door:
					c = 'd'
				case obj.Kind == Exit && obj.Colour == Red:
					c = 'E'
				case obj.Kind == Exit:
					c = 'e'
				case touched:
					c = 'R'
				default:
					c = 'r'
				}
			}
			if int32(p) == s.Pos {
				c = '@'
			}
			b.WriteByte(c)
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "%s seed=%d optimum=%d steps=%d  # wall . floor @ agent D/d red/blue door E/e red/blue exit r red object\n",
		in.condition, in.seed, in.optimum, s.Steps)
	return b.String()
}
