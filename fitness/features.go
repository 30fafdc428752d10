package fitness

import (
	"math/bits"
	"slices"

	"github.com/mesaopt/mesaopt/genome"
)

// Indices of the named state features; FeatureNames[i] names feature i.
const (
	FeatDistExit    = iota // BFS distance to the exit / (Width+Height); 0 on the exit
	FeatExitReached        // 1 on the exit, else 0
	FeatDoorsPassed        // internal doors entered at least once (0..Walls)
	FeatRedTouched         // distinct red cells entered (red doors and the red exit count)
	FeatDistRed            // BFS distance to the nearest untouched red cell / (Width+Height); 0 when none is left
	FeatBlueTouched        // distinct blue cells entered
	FeatDistBlue           // BFS distance to the nearest untouched blue cell / (Width+Height); 0 when none is left
	FeatSteps              // steps taken / StepLimit, in [0, 1]

	NumFeatures
)

// FeatureNames names the state features in their fixed order; it is the
// Features of Shape().
var FeatureNames = []string{
	"dist_exit", "exit_reached", "doors_passed", "red_touched",
	"dist_red", "blue_touched", "dist_blue", "steps",
}

// Observation layout for heuristic policies: an egocentric window of
// ObsRadius cells around the agent, ObsChannels channels, channel-major:
// obs[c*ObsCells + (dy+ObsRadius)*ObsSide + (dx+ObsRadius)] for dx, dy in
// [-ObsRadius, ObsRadius]. Every value is 0 or 1.
const (
	ObsRadius   = 2
	ObsSide     = 2*ObsRadius + 1
	ObsCells    = ObsSide * ObsSide
	ObsChannels = 5
	ObsSize     = ObsChannels * ObsCells // 125

	ChanWall = 0 // wall, or outside the grid
	ChanDoor = 1 // an internal door or the exit door
	ChanRed  = 2 // a red cell (touched or not: colour does not change)
	ChanBlue = 3 // a blue cell
	ChanExit = 4 // the exit door
)

// Shape returns the dimensions the door maze imposes on genomes: the
// FeatureNames, ObsSize observations and NumActions actions. The returned
// slices are fresh copies.
func Shape() genome.Shape {
	return genome.Shape{Features: slices.Clone(FeatureNames), ObsSize: ObsSize, Actions: NumActions}
}

// AppendFeatures appends the NumFeatures feature values of s to dst, in
// FeatureNames order, and returns the extended slice. It allocates only if
// dst lacks capacity; cost is O(number of objects).
func (in *Instance) AppendFeatures(dst []float64, s State) []float64 {
	var f [NumFeatures]float64
	in.features(&f, s)
	return append(dst, f[:]...)
}

func (in *Instance) features(f *[NumFeatures]float64, s State) {
	f[FeatDistExit] = float64(in.distExit[s.Pos]) / in.distNorm
	if s.Pos == in.exit {
		f[FeatExitReached] = 1
	} else {
		f[FeatExitReached] = 0
	}
	f[FeatDoorsPassed] = float64(bits.OnesCount64(s.Touched & in.doorMask))
	f[FeatRedTouched] = float64(bits.OnesCount64(s.Touched & in.redMask))
	f[FeatDistRed] = in.nearest(in.redMask&^s.Touched, s.Pos)
	f[FeatBlueTouched] = float64(bits.OnesCount64(s.Touched & in.blueMask))
	f[FeatDistBlue] = in.nearest(in.blueMask&^s.Touched, s.Pos)
	f[FeatSteps] = float64(s.Steps) / in.stepNorm
}

// nearest returns the normalised BFS distance from pos to the nearest object
// in mask, 0 for an empty mask.
func (in *Instance) nearest(mask uint64, pos int32) float64 {
	if mask == 0 {
		return 0
	}
	best := int16(-1)
	for m := mask; m != 0; m &= m - 1 {
		d := in.distObj[bits.TrailingZeros64(m)][pos]
		if d >= 0 && (best < 0 || d < best) {
			best = d
		}
	}
	if best < 0 {
		return 0
	}
	return float64(best) / in.distNorm
}

// Value returns J(s) = Σ objective[i]·feature_i(s), summed in feature order.
// objective must have NumFeatures weights (it panics otherwise).
func (in *Instance) Value(objective []float64, s State) float64 {
	var f [NumFeatures]float64
	in.features(&f, s)
	return dot(objective, &f)
}

func dot(w []float64, f *[NumFeatures]float64) float64 {
	w = w[:NumFeatures]
	v := 0.0
	for i := range f {
		v += w[i] * f[i]
	}
	return v
}

// Observe writes the heuristic's observation of s into dst (len ≥ ObsSize;
// the first ObsSize values are overwritten) in the layout documented at
// ObsSize. It allocates nothing.
func (in *Instance) Observe(dst []float64, s State) {
	dst = dst[:ObsSize]
	clear(dst)
	px, py := int(s.Pos)%in.w, int(s.Pos)/in.w
	for dy := -ObsRadius; dy <= ObsRadius; dy++ {
		for dx := -ObsRadius; dx <= ObsRadius; dx++ {
			i := (dy+ObsRadius)*ObsSide + (dx + ObsRadius)
			x, y := px+dx, py+dy
			if x < 0 || y < 0 || x >= in.w || y >= in.h {
				dst[ChanWall*ObsCells+i] = 1
				continue
			}
			p := y*in.w + x
			switch in.cells[p] {
			case Wall:
				dst[ChanWall*ObsCells+i] = 1
			case Door:
				dst[ChanDoor*ObsCells+i] = 1
			case Exit:
				dst[ChanDoor*ObsCells+i] = 1
				dst[ChanExit*ObsCells+i] = 1
			}
			if o := in.objAt[p]; o >= 0 {
				switch in.objects[o].Colour {
				case Red:
					dst[ChanRed*ObsCells+i] = 1
				case Blue:
					dst[ChanBlue*ObsCells+i] = 1
				}
			}
		}
	}
}

// Objective is a named weighting of the state features (len(Weights) =
// NumFeatures): a candidate behavioral objective, or the mesa-objective of a
// reference planner.
type Objective struct {
	Name    string
	Weights []float64
}

// The step weight of every candidate: small, so it only breaks ties in
// favour of shorter plans (without it a planner may wander before entering
// an exit it can already reach), and small enough that a step towards a
// target (0.5/(Width+Height) or more) always outweighs its cost.
const stepWeight = -0.1

func weights(kv map[int]float64) []float64 {
	w := make([]float64, NumFeatures)
	for i := 0; i < NumFeatures; i++ { // fixed order; the map is only looked up
		w[i] = kv[i]
	}
	return w
}

// Candidates returns the fixed list of candidate behavioral objectives, in
// their fixed order (ties in inference go to the lower index):
//
//	exit:  -1 dist_exit, +1 exit_reached            (the base objective's own shape)
//	red:   +1 red_touched, -0.5 dist_red             (the proxy of the seed example)
//	blue:  +1 blue_touched, -0.5 dist_blue
//	doors: +1 doors_passed, +1 exit_reached
//
// each with -0.1 steps. The touched weight exceeds 0.5 × the largest
// normalised distance between objects, so entering a target always pays
// even though the distance to the next one jumps up.
func Candidates() []Objective {
	return []Objective{
		{"exit", weights(map[int]float64{FeatDistExit: -1, FeatExitReached: 1, FeatSteps: stepWeight})},
		{"red", weights(map[int]float64{FeatRedTouched: 1, FeatDistRed: -0.5, FeatSteps: stepWeight})},
		{"blue", weights(map[int]float64{FeatBlueTouched: 1, FeatDistBlue: -0.5, FeatSteps: stepWeight})},
		{"doors", weights(map[int]float64{FeatDoorsPassed: 1, FeatExitReached: 1, FeatSteps: stepWeight})},
	}
}

var candidates = Candidates()

// Reference planner settings: horizon 4 explores 4+16+64+256 = 340 nodes,
// within the budget.
const (
	refHorizon = 4
	refBudget  = 512
)

// ExitSeeker returns a planner whose mesa-objective is the "exit" candidate:
// go through the doors to the exit. It is robustly aligned: optimal under
// every condition.
func ExitSeeker() genome.Genome {
	return genome.Genome{Kind: genome.KindPlanner, Planner: &genome.Planner{
		Objective: candidates[0].Weights, Horizon: refHorizon, NodeBudget: refBudget}}.Clone()
}

// RedSeeker returns a planner whose mesa-objective is the "red" candidate:
// touch red things. In Train, where the doors and the exit are red, it is
// optimal and indistinguishable from ExitSeeker by fitness; under Shifted it
// detours to the red objects and does not leave (pseudo-aligned).
func RedSeeker() genome.Genome {
	return genome.Genome{Kind: genome.KindPlanner, Planner: &genome.Planner{
		Objective: candidates[1].Weights, Horizon: refHorizon, NodeBudget: refBudget}}.Clone()
}

// Idle returns the do-nothing heuristic: all weights zero, so every action
// scores 0 and it always takes action 0 (Up), bumping into the wall above.
func Idle() genome.Genome {
	return genome.Genome{Kind: genome.KindHeuristic, Heuristic: &genome.Heuristic{
		Weights: make([]float64, Shape().HeuristicWeights())}}
}
