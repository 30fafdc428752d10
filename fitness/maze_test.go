package fitness

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// fromRows builds an instance from an ASCII layout: '#' wall, '.' floor,
// '@' start, 'D' door, 'E' exit, 'r' red object (Shifted only).
func fromRows(t testing.TB, condition string, rows ...string) *Instance {
	t.Helper()
	return fromRowsFeatures(t, DefaultFeatures, condition, rows...)
}

// fromRowsFeatures is fromRows with the given feature family.
func fromRowsFeatures(t testing.TB, family FeatureFamily, condition string, rows ...string) *Instance {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Features = family
	cfg.Width, cfg.Height = len(rows[0]), len(rows)
	in := newInstance(doorsEnv, cfg, condition, cfg.Width, cfg.Height)
	doorC := Red
	if condition == Shifted {
		doorC = Blue
	}
	var doors, reds []Object
	for y, row := range rows {
		for x, c := range row {
			p := y*cfg.Width + x
			switch c {
			case '#':
				in.cells[p] = Wall
			case '@':
				in.start = int32(p)
			case 'D':
				in.cells[p] = Door
				doors = append(doors, Object{X: x, Y: y, Kind: Door, Colour: doorC})
			case 'E':
				in.cells[p] = Exit
			case 'r':
				if condition != Shifted {
					continue
				}
				reds = append(reds, Object{X: x, Y: y, Kind: Floor, Colour: Red})
			}
		}
	}
	slices.SortFunc(doors, func(a, b Object) int { return a.X - b.X })
	in.build()
	in.objects = append(append(doors, Object{X: int(in.exit) % in.w, Y: int(in.exit) / in.w, Kind: Exit, Colour: doorC}), reds...)
	in.index()
	return in
}

var handMade = []string{
	"#########",
	"#@..#...#",
	"#...#...E",
	"#..rD.#.#",
	"#########",
}

func TestOptimumHandMade(t *testing.T) {
	in := fromRows(t, Train, handMade...)
	// (1,1) → door (4,3): 3 right + 2 down = 5; door → exit (8,2): the
	// wall at (6,3) forces up first, 4 right + 1 up = 5.
	if got := in.Optimum(); got != 10 {
		t.Fatalf("optimum = %d, want 10\n%s", got, in.Render())
	}
	if got := in.DistanceToExit(in.Pos(5, 3)); got != 4 {
		t.Errorf("distance (5,3) → exit = %d, want 4", got)
	}
}

func TestStep(t *testing.T) {
	in := fromRows(t, Train, handMade...)
	s := in.Start()
	tests := []struct {
		a       Action
		x, y    int
		touched uint64
	}{
		{Up, 1, 1, 0}, // wall: stay, still a step
		{Left, 1, 1, 0},
		{Down, 1, 2, 0},
		{Down, 1, 3, 0},
		{Right, 2, 3, 0},
		{Right, 3, 3, 0},
		{Right, 4, 3, 1}, // the door: bit 0
		{Right, 5, 3, 1},
		{Right, 5, 3, 1}, // wall at (6,3)
		{Up, 5, 2, 1},
		{Right, 6, 2, 1},
		{Right, 7, 2, 1},
		{Right, 8, 2, 3}, // the exit door: bit 1
	}
	for i, tc := range tests {
		s = in.Step(s, tc.a)
		if x, y := in.XY(s.Pos); x != tc.x || y != tc.y || s.Touched != tc.touched || s.Steps != int32(i+1) {
			t.Fatalf("step %d (%v): at (%d,%d) touched %b steps %d, want (%d,%d) %b %d",
				i, tc.a, x, y, s.Touched, s.Steps, tc.x, tc.y, tc.touched, i+1)
		}
		if term := in.Terminal(s); term != (i == len(tests)-1) {
			t.Fatalf("step %d: terminal = %v", i, term)
		}
	}
}

// TestFeatures checks the oracle family's features on the hand-made level
// (BFS distances; TestLocalFeaturesDoors has the local family's).
func TestFeatures(t *testing.T) {
	tr := fromRowsFeatures(t, FeaturesOracle, Train, handMade...)
	sh := fromRowsFeatures(t, FeaturesOracle, Shifted, handMade...)
	norm := float64(9 + 5)
	tests := []struct {
		name string
		in   *Instance
		s    State
		want [NumFeatures]float64
	}{
		{"train start", tr, tr.Start(),
			[NumFeatures]float64{10 / norm, 0, 0, 0, 5 / norm, 0, 0, 0}},
		{"train after door", tr, State{Pos: tr.Pos(5, 3), Touched: 1, Steps: 6},
			[NumFeatures]float64{4 / norm, 0, 1, 1, 4 / norm, 0, 0, 6.0 / 40}},
		{"train exit", tr, State{Pos: tr.exit, Touched: 3, Steps: 10},
			[NumFeatures]float64{0, 1, 1, 2, 0, 0, 0, 10.0 / 40}},
		{"shifted start", sh, sh.Start(),
			[NumFeatures]float64{10 / norm, 0, 0, 0, 4 / norm, 0, 5 / norm, 0}},
		{"shifted red touched", sh, State{Pos: sh.Pos(3, 3), Touched: 4, Steps: 4},
			[NumFeatures]float64{6 / norm, 0, 0, 1, 0, 0, 1 / norm, 0.1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.in.AppendFeatures(nil, tc.s)
			if !slices.Equal(got, tc.want[:]) {
				t.Errorf("features = %v, want %v", got, tc.want)
			}
			w := []float64{1, 2, 3, 4, 5, 6, 7, 8}
			v := 0.0
			for i := range w {
				v += w[i] * tc.want[i]
			}
			if got := tc.in.Value(w, tc.s); got != v {
				t.Errorf("Value = %v, want %v", got, v)
			}
		})
	}
	if got := sh.ProxyHits(State{Touched: 0b111}); got != 1 {
		t.Errorf("ProxyHits = %d, want 1 (doors are not the proxy)", got)
	}
}

func TestObserve(t *testing.T) {
	in := fromRows(t, Train, handMade...)
	obs := make([]float64, ObsSize)
	at := func(c, dx, dy int) float64 { return obs[c*ObsCells+(dy+ObsRadius)*ObsSide+dx+ObsRadius] }
	in.Observe(obs, in.Start()) // at (1,1)
	tests := []struct {
		name      string
		c, dx, dy int
		want      float64
	}{
		{"outside grid is wall", ChanWall, -2, -2, 1},
		{"border wall", ChanWall, 0, -1, 1},
		{"self floor", ChanWall, 0, 0, 0},
		{"floor right", ChanWall, 1, 0, 0},
		{"wall column", ChanWall, 2, 1, 0}, // (3,2) is floor
		{"no door in view", ChanDoor, 2, 2, 0},
	}
	for _, tc := range tests {
		if got := at(tc.c, tc.dx, tc.dy); got != tc.want {
			t.Errorf("%s: obs = %v, want %v", tc.name, got, tc.want)
		}
	}
	in.Observe(obs, State{Pos: in.Pos(6, 2)})
	if at(ChanDoor, 2, 0) != 1 || at(ChanExit, 2, 0) != 1 || at(ChanRed, 2, 0) != 1 || at(ChanDoor, -2, 1) != 1 || at(ChanRed, -2, 1) != 1 {
		t.Errorf("exit door two right and red door at (-2,+1) not seen:\n%v", obs)
	}
}

func TestGenerate(t *testing.T) {
	cfg := DefaultConfig()
	for seed := uint64(0); seed < 300; seed++ {
		tr, err := Generate(cfg, Train, seed)
		if err != nil {
			t.Fatal(err)
		}
		sh, err := Generate(cfg, Shifted, seed)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := Generate(cfg, Shifted, seed)
		if again.Render() != sh.Render() || !slices.Equal(again.Objects(), sh.Objects()) {
			t.Fatalf("seed %d: Generate not deterministic", seed)
		}
		for _, in := range []*Instance{tr, sh} {
			if in.Optimum() < 1 || in.DistanceToExit(in.Start().Pos) != in.Optimum() {
				t.Fatalf("seed %d %s: unsolvable or inconsistent optimum %d\n%s", seed, in.Condition(), in.Optimum(), in.Render())
			}
			if in.Optimum() > cfg.StepLimit/2 {
				t.Errorf("seed %d %s: optimum %d exceeds half the step limit", seed, in.Condition(), in.Optimum())
			}
		}
		if tr.Attempts() == 0 && sh.Attempts() == 0 {
			if a, b := tr.Render(), sh.Render(); strings.Count(a, "#") != strings.Count(b, "#") {
				t.Errorf("seed %d: walls differ between conditions", seed)
			}
		}
		for _, o := range tr.Objects() {
			if o.Colour != Red || o.Kind == Floor {
				t.Errorf("seed %d train: object %+v; want only red doors and a red exit", seed, o)
			}
		}
		reds := 0
		ds := sh.bfs(int(sh.start))
		for _, o := range sh.Objects() {
			switch {
			case o.Kind == Floor:
				reds++
				p := sh.Pos(o.X, o.Y)
				if o.Colour != Red || int(ds[p])+int(sh.distExit[p]) <= sh.Optimum()+1 {
					t.Errorf("seed %d shifted: red object %+v on a shortest path", seed, o)
				}
			case o.Colour != Blue:
				t.Errorf("seed %d shifted: door %+v not blue", seed, o)
			}
		}
		if reds != cfg.RedObjects {
			t.Errorf("seed %d shifted: %d red objects, want %d", seed, reds, cfg.RedObjects)
		}
	}
}

func TestGenerateErrors(t *testing.T) {
	if _, err := Generate(DefaultConfig(), "night", 1); !errors.Is(err, ErrUnknownCondition) ||
		!strings.Contains(err.Error(), "train, shifted") {
		t.Errorf("unknown condition: err = %v", err)
	}
	cfg := DefaultConfig()
	cfg.Walls = 9
	if _, err := Generate(cfg, Train, 1); !errors.Is(err, ErrConfig) {
		t.Errorf("bad config: err = %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		field string
		edit  func(*Config)
	}{
		{"", func(*Config) {}},
		{"width", func(c *Config) { c.Width = 6 }},
		{"width", func(c *Config) { c.Walls = 4 }}, // 11 < 2*4+4
		{"height", func(c *Config) { c.Height = 33 }},
		{"walls", func(c *Config) { c.Walls = -1 }},
		{"blocks", func(c *Config) { c.Blocks = 20 }},
		{"red_objects", func(c *Config) { c.RedObjects = 17 }},
		{"step_limit", func(c *Config) { c.StepLimit = 0 }},
		{"oracle_states", func(c *Config) { c.OracleStates = 0 }},
		{"cache_instances", func(c *Config) { c.CacheInstances = -1 }},
	}
	for _, tc := range tests {
		c := DefaultConfig()
		tc.edit(&c)
		err := c.Validate()
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("default config: %v", err)
		case tc.field != "" && (!errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.field+" = ")):
			t.Errorf("%s: err = %v", tc.field, err)
		}
	}
}

func TestLargerConfigs(t *testing.T) {
	for _, cfg := range []Config{
		{Width: 20, Height: 9, Walls: 8, Blocks: 4, RedObjects: 16, StepLimit: 80, OracleStates: 1 << 12, CacheInstances: 0},
		{Width: 7, Height: 5, Walls: 0, Blocks: 0, RedObjects: 1, StepLimit: 12, OracleStates: 100, CacheInstances: 1},
	} {
		for seed := uint64(0); seed < 20; seed++ {
			for _, c := range Conditions() {
				in, err := Generate(cfg, c, seed)
				if err != nil {
					t.Fatalf("%+v %s seed %d: %v", cfg, c, seed, err)
				}
				if n := len(in.Reachable()); n > cfg.OracleStates {
					t.Errorf("oracle kept %d states, cap %d", n, cfg.OracleStates)
				}
			}
		}
	}
}

func ExampleInstance_Render() {
	in, err := Generate(DefaultConfig(), Shifted, 5)
	if err != nil {
		panic(err)
	}
	fmt.Print(in.Render())
	// Output:
	// ###########
	// #@.##.r#.##
	// #...d..#.r#
	// #...#..#..e
	// #...##.d..#
	// #...#r.#..#
	// ###########
	// shifted seed=5 optimum=13 steps=0  # wall . floor @ agent D/d red/blue door E/e red/blue exit r red object
}
