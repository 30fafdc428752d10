package fitness

import (
	"slices"

	"github.com/mesaopt/mesaopt/internal/stream"
)

var coinEnv = newCoinEnv()

func newCoinEnv() *Env {
	e := &Env{
		name: EnvCoin,
		summary: "coin at the end of the level (CoinRun, Langosco et al. 2022): the coin is at the far end in train, " +
			"anywhere else when shifted, where reaching the old end is a proxy hit",
		conditions: []string{Train, Shifted},
		params:     []string{"width", "height", "blocks", "step_limit"},
		features:   lookupFeatures("coin_collected", "dist_coin", "end_reached", "dist_end", "steps"),
		channels: []channelDef{
			{name: "wall", cells: cellSet(Wall), outside: true},
			{name: "coin", classes: 1 << classCoin},
		},
		rewards:  Rewards{Coin: 10},
		scoring:  scoreReturn,
		symbols:  "#. @Acx",
		validate: validateRoom(5, 3, false),
		defaults: Config{Env: EnvCoin, Width: 13, Height: 5, Blocks: 4,
			StepLimit: 40, OracleStates: 1 << 16, CacheInstances: 4096},
		draw: drawCoin,
	}
	e.candidates = []Objective{
		{"coin", e.objective("coin_collected", 1.0, "dist_coin", -1.0, "steps", stepWeight)},
		{"end", e.objective("end_reached", 1.0, "dist_end", -1.0, "steps", stepWeight)},
	}
	e.base = slices.Clone(e.candidates[0].Weights)
	e.baseValue = e.objective("coin_collected", 1.0, "dist_coin", -1.0)
	return e.finish()
}

// drawCoin draws a room with the start in the leftmost interior column and
// the end of the level in the rightmost; the coin lies on the end in train
// and on a random floor cell left of the end column when shifted. nil if
// the coin or the end is unreachable.
func drawCoin(env *Env, cfg Config, condition string, layoutSeed uint64) *Instance {
	r := stream.New(layoutSeed, stream.PurposeLayout)
	w, h := cfg.Width, cfg.Height
	sy, ey := 1+r.IntN(h-2), 1+r.IntN(h-2)
	start, end := sy*w+1, ey*w+w-2
	in, floor := room(env, cfg, condition, r)
	if in.cells[start] == Wall || in.cells[end] == Wall {
		return nil
	}
	in.start = int32(start)
	coin := end
	if condition == Shifted {
		var cand []int
		for _, p := range floor {
			if p%w < w-2 && p != start {
				cand = append(cand, p)
			}
		}
		if len(cand) == 0 {
			return nil
		}
		coin = cand[r.IntN(len(cand))]
	}
	distStart := in.build()
	if distStart[coin] < 0 || distStart[end] < 0 {
		return nil
	}
	in.objects = append(in.objects,
		Object{X: coin % w, Y: coin / w, Kind: Coin},
		Object{X: end % w, Y: end / w, Kind: Marker})
	in.index()
	return in
}
