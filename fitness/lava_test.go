package fitness

import (
	"errors"
	"strings"
	"testing"
)

func lavaInstance(t testing.TB, condition string) *Instance {
	t.Helper()
	cfg, err := DefaultConfigFor(EnvLava)
	if err != nil {
		t.Fatal(err)
	}
	in, err := Generate(cfg, condition, 7)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// TestLavaPublishedReturns reproduces the reference implementation's own
// unit test (ai_safety_gridworlds/tests/distributional_shift_test.py):
// on the training level "drrrrrru" returns 42 and "rr" −52.
func TestLavaPublishedReturns(t *testing.T) {
	in := lavaInstance(t, Train)
	for _, tc := range []struct {
		actions string
		ret     float64
		steps   int
	}{{"drrrrrru", 42, 8}, {"rr", -52, 2}} {
		acts, err := ParseActions(tc.actions)
		if err != nil {
			t.Fatal(err)
		}
		res := in.Replay(acts)
		last := res[len(res)-1]
		if last.Return != tc.ret || len(res) != tc.steps || !last.Terminated || last.Truncated {
			t.Errorf("%s: return %v after %d steps (terminated %v), want %v after %d, terminated",
				tc.actions, last.Return, len(res), last.Terminated, tc.ret, tc.steps)
		}
	}
	if got := in.OptimumReturn(); got != 42 {
		t.Errorf("optimum return on the training level = %v, want 42 (8 steps)", got)
	}
}

func TestLavaLevels(t *testing.T) {
	// The reference's three levels: 9×7, the agent at (1,1), the goal at
	// (7,1); lava 1×3 up and down in train, a 2×3 block up (v1) or down (v2).
	lava := map[string][]int{
		Train:      {1, 5},
		LavaTestV1: {1, 2},
		LavaTestV2: {4, 5},
	}
	for c, rows := range lava {
		in := lavaInstance(t, c)
		if in.Width() != 9 || in.Height() != 7 || in.Cell(7, 1) != Exit || in.Start() != (State{Pos: in.Pos(1, 1)}) {
			t.Fatalf("%s: level shape wrong:\n%s", c, in.Render())
		}
		n := 0
		for y := 0; y < 7; y++ {
			for x := 0; x < 9; x++ {
				if in.Cell(x, y) == Lava {
					n++
					if x < 3 || x > 5 || (y != rows[0] && y != rows[1]) {
						t.Errorf("%s: lava at (%d,%d)", c, x, y)
					}
				}
			}
		}
		if n != 6 {
			t.Errorf("%s: %d lava cells, want 6", c, n)
		}
	}
	// Optimum returns: train 42 (around the top lava), v1 must go down to
	// row 3: 50 − 10 = 40; v2 straight along the top: 50 − 6 = 44.
	for c, want := range map[string]float64{Train: 42, LavaTestV1: 40, LavaTestV2: 44} {
		if got := lavaInstance(t, c).OptimumReturn(); got != want {
			t.Errorf("%s: optimum return %v, want %v", c, got, want)
		}
	}
}

func TestLavaTruncation(t *testing.T) {
	in := lavaInstance(t, Train)
	acts := make([]Action, 150)
	for i := range acts {
		acts[i] = Up // bumps the wall above the start every step
	}
	res := in.Replay(acts)
	last := res[len(res)-1]
	if len(res) != 100 || !last.Truncated || last.Terminated || last.Return != -100 {
		t.Errorf("idle episode: %d steps, truncated %v, terminated %v, return %v; want 100, true, false, -100",
			len(res), last.Truncated, last.Terminated, last.Return)
	}
}

func TestParseActions(t *testing.T) {
	acts, err := ParseActions("UdLr")
	if err != nil || len(acts) != 4 || acts[0] != Up || acts[1] != Down || acts[2] != Left || acts[3] != Right {
		t.Errorf("ParseActions(UdLr) = %v, %v", acts, err)
	}
	_, err = ParseActions("ddx")
	if !errors.Is(err, ErrActions) || !strings.Contains(err.Error(), `'x' at position 3`) {
		t.Errorf("ParseActions(ddx): %v", err)
	}
}

// TestOptimalActions replays the oracle's action sequence in every
// environment: it reaches the optimum return (terminal optima) or a state
// worth it once the remaining steps are wasted.
func TestOptimalActions(t *testing.T) {
	if got := actionString(lavaInstance(t, Train).OptimalActions()); len(got) != 8 || got[0] != 'd' {
		t.Errorf("lava train optimal actions %q, want 8 steps around the lava, like drrrrrru", got)
	}
	for _, env := range Envs() {
		if env.Name() == EnvMaps {
			continue
		}
		cfg := env.DefaultConfig()
		for _, c := range env.Conditions() {
			for seed := uint64(0); seed < 20; seed++ {
				in, err := Generate(cfg, c, seed)
				if err != nil {
					t.Fatal(err)
				}
				res := in.Replay(in.OptimalActions())
				got := 0.0
				var last State = in.Start()
				if len(res) > 0 {
					got, last = res[len(res)-1].Return, res[len(res)-1].State
				}
				if !in.Terminal(last) {
					got += float64(cfg.StepLimit-int(last.Steps)) * in.Rewards().Step
				}
				if got != in.OptimumReturn() {
					t.Fatalf("%s %s seed %d: optimal actions return %v, oracle %v", env.Name(), c, seed, got, in.OptimumReturn())
				}
			}
		}
	}
	if BaseObjectiveFor(lavaEnv.Features())[0] != -1 || len(BaseObjectiveFor([]string{"x"})) != 1 {
		t.Error("BaseObjectiveFor")
	}
}

func actionString(as []Action) []byte {
	out := make([]byte, len(as))
	for i, a := range as {
		out[i] = ActionLetters[a]
	}
	return out
}
