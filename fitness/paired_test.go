package fitness

import (
	"slices"
	"testing"
)

// Analysis instances are paired: one seed gives the same walls and start
// (and the same exit or end of level) under every drawn condition of an
// environment, redrawn together when any of them is unsolvable, so that
// train and a shifted condition differ only by the condition's change.
func TestInstancesPairedAcrossConditions(t *testing.T) {
	type setting struct {
		name    string
		crowded bool // as many blocks as allowed and a short step limit: many draws are redrawn
	}
	var settings []setting
	for _, name := range []string{EnvDoors, EnvCoin, EnvKeysChests} {
		settings = append(settings, setting{name, false}, setting{name, true})
	}
	for _, st := range settings {
		name := st.name
		env, _ := LookupEnv(name)
		cfg := envConfig(t, name)
		if st.crowded {
			for cfg.Validate() == nil {
				cfg.Blocks++
			}
			cfg.Blocks--
			cfg.StepLimit = 15
		}
		for e := range 200 {
			seed := AnalysisSeed(7, e)
			var first *Instance
			for _, c := range env.Conditions() {
				in, err := Generate(cfg, c, seed)
				if err != nil {
					t.Fatalf("%s %s seed %d: %v", name, c, seed, err)
				}
				if first == nil {
					first = in
					continue
				}
				walls := func(in *Instance) []bool {
					out := make([]bool, len(in.cells))
					for p, k := range in.cells {
						out[p] = k == Wall
					}
					return out
				}
				if in.Start() != first.Start() || !slices.Equal(walls(in), walls(first)) || in.attempts != first.attempts {
					t.Fatalf("%s episode %d: %s and %s differ in layout:\n%s\n%s", name, e, env.Conditions()[0], c, first.Render(), in.Render())
				}
				if ends := func(in *Instance) []int32 {
					var out []int32
					for p, k := range in.cells {
						if k == Exit {
							out = append(out, int32(p))
						}
					}
					for _, o := range in.objects {
						if o.Kind == Marker || (name == EnvDoors && o.Kind == Exit) {
							out = append(out, in.Pos(o.X, o.Y))
						}
					}
					return out
				}; !slices.Equal(ends(in), ends(first)) {
					t.Fatalf("%s episode %d: the exit moved between conditions", name, e)
				}
			}
		}
	}
}
