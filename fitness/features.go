package fitness

import (
	"math/bits"
	"strings"
)

// MaxFeatures is the most features an environment's basis may have.
const MaxFeatures = 24

// FeatureFamily is how an environment's state features are computed. Both
// families give the same feature names in the same order (so the genome
// shape, the candidate objectives and the planted planners are one
// definition); they differ in what a distance feature measures. A name
// keeps its meaning — dist_exit is "how far the exit is" — and the family
// says how far is measured.
type FeatureFamily string

// The feature families.
const (
	// FeaturesOracle measures distances by BFS through the level: a
	// distance to the exit is then a value function, and one-step greed
	// over it is optimal.
	FeaturesOracle FeatureFamily = "oracle"
	// FeaturesLocal measures distances on the grid (Manhattan, walls
	// ignored): what a planner can compute from positions without solving
	// the level. Indicators, counts, keys held and steps are the same as
	// under FeaturesOracle.
	FeaturesLocal FeatureFamily = "local"
)

// DefaultFeatures is the family of a Config whose Features is empty.
const DefaultFeatures = FeaturesLocal

// FeatureFamilies returns the family names in their fixed order: oracle,
// local.
func FeatureFamilies() []string { return []string{string(FeaturesOracle), string(FeaturesLocal)} }

// Valid reports whether f is a known family or empty (DefaultFeatures).
func (f FeatureFamily) Valid() bool { return f == "" || f == FeaturesOracle || f == FeaturesLocal }

// OrDefault returns f, or DefaultFeatures for an empty f.
func (f FeatureFamily) OrDefault() FeatureFamily {
	if f == "" {
		return DefaultFeatures
	}
	return f
}

// featureOp is how a feature is computed from a state.
type featureOp uint8

const (
	opDistExit    featureOp = iota // BFS distance to the nearest exit / (Width+Height); 0 on it, 0 without an exit
	opDistLava                     // BFS distance to the nearest lava cell / (Width+Height); 0 without lava
	opOn                           // 1 on a cell of kind arg, else 0
	opCount                        // objects of class arg touched
	opNearest                      // BFS distance to the nearest untouched object of class arg / (Width+Height); 0 when none is left
	opHeld                         // keys held
	opSteps                        // steps taken / StepLimit, in [0, 1]
	opGridExit                     // Manhattan distance to the nearest exit / (Width+Height); 0 on it, 0 without an exit
	opGridLava                     // Manhattan distance to the nearest lava cell / (Width+Height); 0 without lava
	opGridNearest                  // Manhattan distance to the nearest untouched object of class arg / (Width+Height); 0 when none is left
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

// localBasis returns defs as the local family computes them: every BFS
// distance becomes the grid (Manhattan) distance to the same targets, with
// the same normalisation; the other features are unchanged.
func localBasis(defs []featureDef) []featureDef {
	out := make([]featureDef, len(defs))
	for i, d := range defs {
		switch d.op {
		case opDistExit:
			d.op = opGridExit
		case opDistLava:
			d.op = opGridLava
		case opNearest:
			d.op = opGridNearest
		}
		d.doc = strings.Replace(d.doc, "BFS distance", "grid (Manhattan, walls ignored) distance", 1)
		out[i] = d
	}
	return out
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
// the environment's Features and as the instance's family (Config.Features)
// computes them, and returns the extended slice. It allocates only if dst
// lacks capacity; cost is O(number of objects).
func (in *Instance) AppendFeatures(dst []float64, s State) []float64 {
	var f [MaxFeatures]float64
	in.features(&f, s)
	return append(dst, f[:len(in.env.features)]...)
}

// NumFeatures returns the length of the environment's feature vector.
func (in *Instance) NumFeatures() int { return len(in.env.features) }

// features writes the instance's basis (its family's) at s into f.
func (in *Instance) features(f *[MaxFeatures]float64, s State) { in.featuresOf(in.basis, f, s) }

// featuresOf writes the features defs at s into f.
func (in *Instance) featuresOf(defs []featureDef, f *[MaxFeatures]float64, s State) {
	for i, d := range defs {
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
		case opGridExit:
			if in.gridExit != nil {
				f[i] = float64(in.gridExit[s.Pos]) / in.distNorm
			} else {
				f[i] = 0
			}
		case opGridLava:
			if in.gridLava != nil {
				f[i] = float64(in.gridLava[s.Pos]) / in.distNorm
			} else {
				f[i] = 0
			}
		case opGridNearest:
			f[i] = in.gridNearest(in.masks[d.arg]&^s.Touched, s.Pos)
		}
	}
}

// gridNearest returns the normalised Manhattan distance from pos to the
// nearest object in mask, 0 for an empty mask.
func (in *Instance) gridNearest(mask uint64, pos int32) float64 {
	if mask == 0 {
		return 0
	}
	x, y := in.cellX[pos], in.cellY[pos]
	best := int16(-1)
	for m := mask; m != 0; m &= m - 1 {
		o := &in.objects[bits.TrailingZeros64(m)]
		d := abs16(int16(o.X)-x) + abs16(int16(o.Y)-y)
		if best < 0 || d < best {
			best = d
		}
	}
	return float64(best) / in.distNorm
}

func abs16(v int16) int16 {
	if v < 0 {
		return -v
	}
	return v
}

// gridTable returns the Manhattan distance from every cell to the nearest
// of targets, nil for no targets.
func (in *Instance) gridTable(targets []int) []int16 {
	if len(targets) == 0 {
		return nil
	}
	d := make([]int16, len(in.cells))
	for p := range d {
		x, y := p%in.w, p/in.w
		best := -1
		for _, t := range targets {
			if v := abs(t%in.w-x) + abs(t/in.w-y); best < 0 || v < best {
				best = v
			}
		}
		d[p] = int16(best)
	}
	return d
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// valueOf returns Σ objective[i]·feature_i(s) over the features defs, in
// their order.
func (in *Instance) valueOf(defs []featureDef, objective []float64, s State) float64 {
	var f [MaxFeatures]float64
	in.featuresOf(defs, &f, s)
	return dot(objective[:len(defs)], &f)
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

// Value returns J(s) = Σ objective[i]·feature_i(s), summed in feature order,
// with the instance's family of features. objective must have one weight
// per feature of the environment (it panics on fewer).
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
