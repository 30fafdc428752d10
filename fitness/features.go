package fitness

import "math/bits"

// MaxFeatures is the most features an environment's basis may have.
const MaxFeatures = 24

// featureOp is how a feature is computed from a state.
type featureOp uint8

const (
	opDistExit featureOp = iota // BFS distance to the nearest exit / (Width+Height); 0 on it, 0 without an exit
	opDistLava                  // BFS distance to the nearest lava cell / (Width+Height); 0 without lava
	opOn                        // 1 on a cell of kind arg, else 0
	opCount                     // objects of class arg touched
	opNearest                   // BFS distance to the nearest untouched object of class arg / (Width+Height); 0 when none is left
	opHeld                      // keys held
	opSteps                     // steps taken / StepLimit, in [0, 1]
)

// featureDef is one entry of the feature catalogue.
type featureDef struct {
	name string
	op   featureOp
	arg  uint8
	doc  string
}

// catalogue lists every state feature the engine computes, in the fixed
// order of the "maps" environment's basis. An environment's basis is a
// selection from it, by name.
var catalogue = []featureDef{
	{"dist_exit", opDistExit, 0, "BFS distance to the nearest exit / (width+height); 0 on it"},
	{"exit_reached", opOn, uint8(Exit), "1 on an exit, else 0"},
	{"lava_touched", opOn, uint8(Lava), "1 on lava, else 0"},
	{"dist_lava", opDistLava, 0, "BFS distance to the nearest lava cell / (width+height)"},
	{"doors_passed", opCount, classDoor, "doors entered at least once"},
	{"red_touched", opCount, classRed, "distinct red objects entered (red doors and a red exit count)"},
	{"dist_red", opNearest, classRed, "BFS distance to the nearest untouched red object / (width+height); 0 when none is left"},
	{"blue_touched", opCount, classBlue, "distinct blue objects entered"},
	{"dist_blue", opNearest, classBlue, "BFS distance to the nearest untouched blue object / (width+height); 0 when none is left"},
	{"keys_collected", opCount, classKey, "keys picked up"},
	{"keys_held", opHeld, 0, "keys picked up and not yet used on a chest"},
	{"chests_opened", opCount, classChest, "chests opened"},
	{"dist_key", opNearest, classKey, "BFS distance to the nearest key left / (width+height); 0 when none is left"},
	{"dist_chest", opNearest, classChest, "BFS distance to the nearest shut chest / (width+height); 0 when none is left"},
	{"coin_collected", opCount, classCoin, "1 once the coin is collected"},
	{"dist_coin", opNearest, classCoin, "BFS distance to the coin / (width+height); 0 once collected"},
	{"end_reached", opCount, classEnd, "1 once the end-of-level marker was entered"},
	{"dist_end", opNearest, classEnd, "BFS distance to the end-of-level marker / (width+height); 0 once reached"},
	{"steps", opSteps, 0, "steps taken / step limit, in [0, 1]"},
}

// lookupFeatures returns the catalogue entries of names, in their order; it
// panics on an unknown name (environments are defined in this package).
func lookupFeatures(names ...string) []featureDef {
	out := make([]featureDef, len(names))
	for i, n := range names {
		found := false
		for _, d := range catalogue {
			if d.name == n {
				out[i], found = d, true
				break
			}
		}
		if !found {
			panic("fitness: no feature " + n)
		}
	}
	return out
}

// AppendFeatures appends the feature values of s to dst, in the order of
// the environment's Features, and returns the extended slice. It allocates
// only if dst lacks capacity; cost is O(number of objects).
func (in *Instance) AppendFeatures(dst []float64, s State) []float64 {
	var f [MaxFeatures]float64
	in.features(&f, s)
	return append(dst, f[:len(in.env.features)]...)
}

// NumFeatures returns the length of the environment's feature vector.
func (in *Instance) NumFeatures() int { return len(in.env.features) }

func (in *Instance) features(f *[MaxFeatures]float64, s State) {
	for i, d := range in.env.features {
		switch d.op {
		case opDistExit:
			if in.distExit != nil {
				f[i] = float64(in.distExit[s.Pos]) / in.distNorm
			} else {
				f[i] = 0
			}
		case opDistLava:
			if in.distLava != nil {
				f[i] = float64(in.distLava[s.Pos]) / in.distNorm
			} else {
				f[i] = 0
			}
		case opOn:
			if in.cells[s.Pos] == CellKind(d.arg) {
				f[i] = 1
			} else {
				f[i] = 0
			}
		case opCount:
			f[i] = float64(bits.OnesCount64(s.Touched & in.masks[d.arg]))
		case opNearest:
			f[i] = in.nearest(in.masks[d.arg]&^s.Touched, s.Pos)
		case opHeld:
			f[i] = float64(in.Held(s))
		case opSteps:
			f[i] = float64(s.Steps) / in.stepNorm
		}
	}
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
// objective must have one weight per feature of the environment (it panics
// on fewer).
func (in *Instance) Value(objective []float64, s State) float64 {
	var f [MaxFeatures]float64
	in.features(&f, s)
	return dot(objective[:len(in.env.features)], &f)
}

func dot(w []float64, f *[MaxFeatures]float64) float64 {
	v := 0.0
	for i, x := range w {
		v += x * f[i]
	}
	return v
}
