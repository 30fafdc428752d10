package fitness

import "math/bits"

// Observation geometry, shared by every environment: an egocentric window
// of ObsRadius cells around the agent, channel-major:
// obs[c*ObsCells + (dy+ObsRadius)*ObsSide + (dx+ObsRadius)] for dx, dy in
// [-ObsRadius, ObsRadius], c indexing the environment's Channels. Every
// value is 0 or 1. An environment's observation has len(Channels)·ObsCells
// values.
const (
	ObsRadius = 2
	ObsSide   = 2*ObsRadius + 1
	ObsCells  = ObsSide * ObsSide
)

// channelDef is one observation channel: set on a cell whose kind is in
// cells, or that holds an object of a class in classes (keys, chests and
// coins only until touched), or — if outside — beyond the grid.
type channelDef struct {
	name    string
	cells   uint16 // bit k: CellKind k
	classes uint16 // bit c: object class c
	outside bool
}

func cellSet(ks ...CellKind) uint16 {
	var m uint16
	for _, k := range ks {
		m |= 1 << k
	}
	return m
}

// channelMasks precomputes, per cell, the channels set by its kind and its
// lasting objects (static) and by its consumable objects (shown only while
// untouched).
func (in *Instance) channelMasks() (static, consumable []uint32) {
	static = make([]uint32, len(in.cells))
	consumable = make([]uint32, len(in.cells))
	for p, k := range in.cells {
		for c, ch := range in.env.channels {
			if ch.cells&(1<<k) != 0 {
				static[p] |= 1 << c
			}
			for m := in.objBits[p]; m != 0; m &= m - 1 {
				o := bits.TrailingZeros64(m)
				for cl := 0; cl < numClasses; cl++ {
					if ch.classes&(1<<cl) == 0 || in.masks[cl]&(1<<o) == 0 {
						continue
					}
					if in.consumable&(1<<o) != 0 {
						consumable[p] |= 1 << c
					} else {
						static[p] |= 1 << c
					}
				}
			}
		}
	}
	return static, consumable
}

// ObsSize returns the length of the instance's observation.
func (in *Instance) ObsSize() int { return len(in.env.channels) * ObsCells }

// Observe writes the heuristic's observation of s into dst (len ≥
// ObsSize(); the first ObsSize() values are overwritten) in the layout
// documented at ObsCells. It allocates nothing.
func (in *Instance) Observe(dst []float64, s State) {
	dst = dst[:in.ObsSize()]
	clear(dst)
	px, py := int(s.Pos)%in.w, int(s.Pos)/in.w
	for dy := -ObsRadius; dy <= ObsRadius; dy++ {
		for dx := -ObsRadius; dx <= ObsRadius; dx++ {
			i := (dy+ObsRadius)*ObsSide + (dx + ObsRadius)
			x, y := px+dx, py+dy
			var set uint32
			if x < 0 || y < 0 || x >= in.w || y >= in.h {
				set = in.chanOutside
			} else {
				p := y*in.w + x
				set = in.chanStatic[p]
				if in.objBits[p]&in.consumable&^s.Touched != 0 {
					set |= in.chanConsumable[p]
				}
			}
			for ; set != 0; set &= set - 1 {
				dst[bits.TrailingZeros32(set)*ObsCells+i] = 1
			}
		}
	}
}
