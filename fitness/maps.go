package fitness

import "slices"

var mapsEnv = newMapsEnv()

func newMapsEnv() *Env {
	names := make([]string, len(catalogue))
	for i, f := range catalogue {
		names[i] = f.name
	}
	e := &Env{
		name:       EnvMaps,
		summary:    "your own levels: every condition is a map file (Config.Maps), with the whole feature catalogue",
		params:     []string{"step_limit"},
		features:   lookupFeatures(names...),
		conditions: nil,
		channels: []channelDef{
			{name: "wall", cells: cellSet(Wall), outside: true},
			{name: "exit", cells: cellSet(Exit)},
			{name: "lava", cells: cellSet(Lava)},
			{name: "door", cells: cellSet(Door)},
			{name: "red", classes: 1 << classRed},
			{name: "blue", classes: 1 << classBlue},
			{name: "key", classes: 1 << classKey},
			{name: "chest", classes: 1 << classChest},
			{name: "coin", classes: 1 << classCoin},
		},
		rewards:  Rewards{Step: -1, Exit: 50, Lava: -50, Chest: 1, Coin: 10},
		scoring:  scoreReturn,
		symbols:  "#.@GEeLDdrbkCcx",
		defaults: Config{Env: EnvMaps, StepLimit: 100, OracleStates: 1 << 18, CacheInstances: 64},
	}
	e.candidates = []Objective{
		{"return", e.objective("dist_exit", -1.0, "exit_reached", 1.0, "lava_touched", -1.0, "chests_opened", 1.0,
			"keys_held", 0.5, "coin_collected", 1.0, "steps", stepWeight)},
		{"exit", e.objective("dist_exit", -1.0, "exit_reached", 1.0, "lava_touched", -1.0, "steps", stepWeight)},
		{"red", e.objective("red_touched", 1.0, "dist_red", -0.5, "steps", stepWeight)},
		{"blue", e.objective("blue_touched", 1.0, "dist_blue", -0.5, "steps", stepWeight)},
		{"keys", e.objective("keys_collected", 1.0, "dist_key", -0.5, "steps", stepWeight)},
		{"coin", e.objective("coin_collected", 1.0, "dist_coin", -1.0, "steps", stepWeight)},
		{"end", e.objective("end_reached", 1.0, "dist_end", -1.0, "steps", stepWeight)},
	}
	e.base = slices.Clone(e.candidates[0].Weights)
	e.baseValue = e.objective("dist_exit", -1.0, "exit_reached", 1.0, "lava_touched", -1.0, "chests_opened", 1.0,
		"keys_held", 0.5, "coin_collected", 1.0)
	return e.finish()
}
