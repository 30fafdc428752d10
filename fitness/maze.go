package fitness

import (
	"slices"

	"github.com/mesaopt/mesaopt/internal/stream"
)

// WallColumns returns the x coordinates of the door maze's internal walls
// for cfg.
func WallColumns(cfg Config) []int {
	n := cfg.Width - 2
	cols := make([]int, cfg.Walls)
	for k := range cols {
		cols[k] = 1 + (k+1)*n/(cfg.Walls+1)
	}
	return cols
}

// drawMaze makes one attempt at a door maze; nil means unusable. The same
// layout seed gives the same walls, doors, start and exit under every
// condition, and the same red objects under every condition that has them
// (they are drawn last, from the same stream).
func drawMaze(env *Env, cfg Config, condition string, layoutSeed uint64) *Instance {
	r := stream.New(layoutSeed, stream.PurposeLayout)
	w, h := cfg.Width, cfg.Height
	in := newInstance(env, cfg, condition, w, h)
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
	exit := int32(ey*w + w - 1)
	in.cells[exit] = Exit

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

	blueDoors, redObjects := doorsChange(condition)
	doorColour, exitColour := Red, Red
	if blueDoors {
		doorColour, exitColour = Blue, Blue
	}
	for _, d := range doors {
		d.Colour = doorColour
		in.objects = append(in.objects, d)
	}
	in.objects = append(in.objects, Object{X: int(in.exit) % w, Y: int(in.exit) / w, Kind: Exit, Colour: exitColour})

	if redObjects && cfg.RedObjects > 0 {
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
