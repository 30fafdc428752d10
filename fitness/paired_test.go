package fitness

import (
	"errors"
	"slices"
	"strings"
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

// TestDoorsOneChangePerCondition checks, on paired analysis instances, that
// each shifted condition of the door maze changes only what it says: the
// doors of blue-doors are shifted's (blue) and it has nothing red;
// red-objects has train's red doors and exit plus exactly shifted's red
// objects, on the same cells; the proxy (red objects that are not doors)
// counts Config.RedObjects cells where red objects lie and none elsewhere.
func TestDoorsOneChangePerCondition(t *testing.T) {
	cfg := DefaultConfig()
	split := func(in *Instance) (doors, proxies []Object) {
		for _, o := range in.Objects() {
			if o.Kind == Floor {
				proxies = append(proxies, o)
			} else {
				doors = append(doors, o)
			}
		}
		return doors, proxies
	}
	for e := range 200 {
		seed := AnalysisSeed(11, e)
		ins := map[string]*Instance{}
		for _, c := range Conditions() {
			in, err := Generate(cfg, c, seed)
			if err != nil {
				t.Fatal(err)
			}
			ins[c] = in
		}
		trainDoors, trainProxies := split(ins[Train])
		shiftDoors, shiftProxies := split(ins[Shifted])
		blueDoors, blueProxies := split(ins[BlueDoors])
		redDoors, redProxies := split(ins[RedObjectsOffPath])
		if len(trainProxies) != 0 || len(blueProxies) != 0 || len(shiftProxies) != cfg.RedObjects {
			t.Fatalf("episode %d: red objects train %d blue-doors %d shifted %d, want 0, 0, %d",
				e, len(trainProxies), len(blueProxies), len(shiftProxies), cfg.RedObjects)
		}
		if !slices.Equal(blueDoors, shiftDoors) || !slices.Equal(redDoors, trainDoors) || !slices.Equal(redProxies, shiftProxies) {
			t.Fatalf("episode %d: more than one change:\ntrain %v\nshifted %v\nblue-doors %v\nred-objects %v",
				e, ins[Train].Objects(), ins[Shifted].Objects(), ins[BlueDoors].Objects(), ins[RedObjectsOffPath].Objects())
		}
		for _, o := range trainDoors {
			if o.Colour != Red {
				t.Fatalf("episode %d: train door %+v not red", e, o)
			}
		}
		for _, o := range shiftDoors {
			if o.Colour != Blue {
				t.Fatalf("episode %d: shifted door %+v not blue", e, o)
			}
		}
		for c, in := range ins {
			all := State{Pos: in.start}
			for i := range in.objects {
				all.Touched |= 1 << i
			}
			want := 0
			if c == Shifted || c == RedObjectsOffPath {
				want = cfg.RedObjects
			}
			if got := in.ProxyHits(all); got != want {
				t.Fatalf("episode %d %s: every object touched is %d proxy hits, want %d", e, c, got, want)
			}
		}
	}
}

// TestRedObjectsNeedRedObjects: with red_objects = 0, red-objects would be
// train; Generate and Config.CheckCondition refuse it, while the other
// conditions (and the pairing, which draws red-objects too) are unaffected.
func TestRedObjectsNeedRedObjects(t *testing.T) {
	cfg := DefaultConfig()
	for _, c := range Conditions() {
		if err := cfg.CheckCondition(c); err != nil {
			t.Errorf("default config, %s: %v", c, err)
		}
	}
	if err := cfg.CheckCondition("moon"); !errors.Is(err, ErrUnknownCondition) || !strings.Contains(err.Error(), "blue-doors, red-objects") {
		t.Errorf("unknown condition: %v", err)
	}
	cfg.RedObjects = 0
	if _, err := Generate(cfg, RedObjectsOffPath, 1); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "red_objects = 0") {
		t.Errorf("red-objects without red objects: err = %v, want ErrConfig naming red_objects", err)
	}
	if err := cfg.CheckCondition(RedObjectsOffPath); !errors.Is(err, ErrConfig) {
		t.Errorf("CheckCondition: %v", err)
	}
	for _, c := range []string{Train, Shifted, BlueDoors} {
		if _, err := Generate(cfg, c, 1); err != nil {
			t.Errorf("%s with red_objects = 0: %v", c, err)
		}
	}
}
