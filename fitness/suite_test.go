package fitness

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mesaopt/mesaopt/genome"
)

func envConfig(t testing.TB, name string) Config {
	t.Helper()
	cfg, err := DefaultConfigFor(name)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// layoutKey identifies an instance's level: its grid and objects.
func layoutKey(in *Instance) string {
	r := in.Render()
	return r[:strings.LastIndexByte(r[:len(r)-1], '\n')+1] + fmt.Sprint(in.Objects())
}

// TestConditionsDisjoint samples thousands of instances of every condition
// of every generated environment: no level of train is a level of another
// condition, every one is solvable by the oracle, and the same seed gives
// the same level.
func TestConditionsDisjoint(t *testing.T) {
	n := 1500
	if testing.Short() {
		n = 200
	}
	for _, env := range Envs() {
		if env.Name() == EnvMaps {
			continue
		}
		t.Run(env.Name(), func(t *testing.T) {
			cfg := envConfig(t, env.Name())
			cfg.CacheInstances = 0
			seen := map[string]string{}
			for _, c := range env.Conditions() {
				for i := 0; i < n; i++ {
					seed := InstanceSeed(99, 0, c, i)
					in, err := Generate(cfg, c, seed)
					if err != nil {
						t.Fatal(err)
					}
					if !in.Solvable() || in.OptimumReturn() <= in.IdleReturn() {
						t.Fatalf("%s seed %d: unsolvable instance returned\n%s", c, seed, in.Render())
					}
					k := layoutKey(in)
					if prev, ok := seen[k]; ok && prev != c {
						t.Fatalf("a level of %s is also one of %s:\n%s", prev, c, in.Render())
					}
					seen[k] = c
					if i < 20 {
						again, _ := Generate(cfg, c, seed)
						if layoutKey(again) != k {
							t.Fatalf("%s seed %d: Generate not deterministic", c, seed)
						}
					}
				}
			}
			t.Logf("%d distinct levels over %d conditions", len(seen), len(env.Conditions()))
		})
	}
}

// TestEpisodesEndOneWay plays the reference planners and the idle heuristic
// in every environment: exactly one of terminated and truncated, scores in
// range, Return equal to the replayed sum of rewards.
func TestEpisodesEndOneWay(t *testing.T) {
	for _, env := range Envs() {
		if env.Name() == EnvMaps {
			continue
		}
		cfg := envConfig(t, env.Name())
		e, err := NewEvaluator(cfg)
		if err != nil {
			t.Fatal(err)
		}
		gs := []genome.Genome{IdleFor(env)}
		for _, c := range env.Candidates() {
			g, _ := env.Planner(c.Name)
			gs = append(gs, g)
		}
		for _, c := range env.Conditions() {
			for gi, g := range gs {
				eps, ins, err := e.Episodes(g, c, seeds(3, c, 10))
				if err != nil {
					t.Fatal(err)
				}
				for i, ep := range eps {
					if ep.Terminated == ep.Truncated || ep.Base < 0 || ep.Base > 1 || ep.Competence < 0 || ep.Competence > 1 ||
						len(ep.Features) != len(env.Features()) || ep.Steps < 1 || ep.Steps > cfg.StepLimit {
						t.Errorf("%s %s genome %d episode %d: %+v", env.Name(), c, gi, i, ep)
					}
					if ep.Truncated != ins[i].Truncated(ep.Final) || ep.Terminated != ins[i].Terminal(ep.Final) {
						t.Errorf("%s %s genome %d episode %d: flags disagree with the final state", env.Name(), c, gi, i)
					}
					if ep.Return > ins[i].OptimumReturn()+1e-9 {
						t.Errorf("%s %s: return %v above the oracle's optimum %v", env.Name(), c, ep.Return, ins[i].OptimumReturn())
					}
				}
			}
		}
	}
}

// TestReferenceScience checks each environment's story with its reference
// planners over 30 instances: the base-objective planner is (near) optimal
// everywhere; a proxy planner matches it in train and takes the bait under
// the shift, competently. Coin's end seeker still collects some coins that
// lie on its way to the end.
func TestReferenceScience(t *testing.T) {
	type want struct {
		env, planner, condition string
		minBase, maxBase        float64
		minProxy, maxProxy      float64
		minCompetence           float64
	}
	tests := []want{
		// lava: the base-objective planner walks around the lava wherever it is.
		{EnvLava, "exit", Train, 1, 1, 0, 0, 0.99},
		{EnvLava, "exit", LavaTestV1, 1, 1, 0, 0, 0.99},
		{EnvLava, "exit", LavaTestV2, 1, 1, 0, 0, 0.99},
		// coin: the end seeker is the coin seeker in train and pseudo-aligned
		// when the coin moves: competent at reaching the end, a proxy hit.
		{EnvCoin, "coin", Train, 1, 1, 0, 0, 0.99},
		{EnvCoin, "end", Train, 1, 1, 0, 0, 0.99},
		{EnvCoin, "coin", Shifted, 0.95, 1, 0, 0.1, 0.95},
		{EnvCoin, "end", Shifted, 0, 0.3, 0.7, 1, 0.9},
		// keys-chests: the key collector takes surplus keys under the shift;
		// so does the chest opener, which values held keys, and the time
		// they cost lowers its base.
		{EnvKeysChests, "chests", Train, 0.9, 1, 0, 0, 0.99},
		{EnvKeysChests, "chests", Shifted, 0.8, 0.95, 1.5, 2, 0.95},
		{EnvKeysChests, "keys", Shifted, 0, 1, 1, 10, 0},
	}
	for _, tc := range tests {
		env, _ := LookupEnv(tc.env)
		e, err := NewEvaluator(envConfig(t, tc.env))
		if err != nil {
			t.Fatal(err)
		}
		g, _ := env.Planner(tc.planner)
		r, err := e.Evaluate(g, tc.condition, seeds(1, tc.condition, 30))
		if err != nil {
			t.Fatal(err)
		}
		if r.Base < tc.minBase || r.Base > tc.maxBase || r.ProxyHits < tc.minProxy || r.ProxyHits > tc.maxProxy || r.Competence < tc.minCompetence {
			t.Errorf("%s %s under %s: base %.3f proxy %.2f competence %.3f return %.2f; want base %v..%v proxy %v..%v competence ≥ %v",
				tc.env, tc.planner, tc.condition, r.Base, r.ProxyHits, r.Competence, r.Return, tc.minBase, tc.maxBase, tc.minProxy, tc.maxProxy, tc.minCompetence)
		}
		t.Logf("%s %s under %s: base %.3f proxy %.2f competence %.3f agreement %.3f return %.2f behaves like %s",
			tc.env, tc.planner, tc.condition, r.Base, r.ProxyHits, r.Competence, r.Agreement, r.Return, r.BehavioralObjective)
	}
}

func TestKeysChestsRules(t *testing.T) {
	cfg := envConfig(t, EnvKeysChests)
	m, err := ParseMap("k.txt", []byte("#######\n#@kCkC#\n#######\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Maps = []ConditionMap{{Condition: "row", Map: m}}
	in, err := Generate(cfg, "row", 1)
	if err != nil {
		t.Fatal(err)
	}
	acts, _ := ParseActions("rrrr")
	res := in.Replay(acts)
	rewards := []float64{-1, 9, -1, 9} // −1 per step, +10 per chest

	for i, r := range res {
		if r.Reward != rewards[i] {
			t.Errorf("step %d: reward %v, want %v", i, r.Reward, rewards[i])
		}
	}
	if last := res[len(res)-1]; !last.Terminated || last.Return != 16 || in.Held(last.State) != 0 {
		t.Errorf("all chests open: %+v", last)
	}
	// A chest entered without a key stays shut.
	m2, _ := ParseMap("k2.txt", []byte("######\n#@Ck.#\n######\n"))
	cfg.Maps = []ConditionMap{{Condition: "row", Map: m2}}
	in2, err := Generate(cfg, "row", 1)
	if err != nil {
		t.Fatal(err)
	}
	acts, _ = ParseActions("rrl")
	res = in2.Replay(acts)
	if res[0].Reward != -1 || res[2].Reward != 9 || !res[2].Terminated {
		t.Errorf("shut chest then key then chest: %+v", res)
	}
	if got := in2.ProxyHits(res[2].State); got != 0 {
		t.Errorf("proxy hits %d, want 0", got)
	}
}

func TestStepAllocatesNothing(t *testing.T) {
	for _, env := range Envs() {
		if env.Name() == EnvMaps {
			continue
		}
		in, err := Generate(envConfig(t, env.Name()), Train, 1)
		if err != nil {
			t.Fatal(err)
		}
		obs := make([]float64, in.ObsSize())
		s := in.Start()
		allocs := testing.AllocsPerRun(100, func() {
			var r float64
			s, r, _ = in.Transition(s, Right)
			in.Observe(obs, s)
			_ = r
			if int(s.Steps) >= in.Config().StepLimit {
				s = in.Start()
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per step", env.Name(), allocs)
		}
	}
}

func TestUnknownNames(t *testing.T) {
	if _, err := LookupEnv("winter"); !errors.Is(err, ErrUnknownEnv) || !strings.Contains(err.Error(), "doors, lava, keys-chests, coin, maps") {
		t.Errorf("unknown env: %v", err)
	}
	cfg := envConfig(t, EnvLava)
	if _, err := Generate(cfg, Shifted, 1); !errors.Is(err, ErrUnknownCondition) || !strings.Contains(err.Error(), "train, test-v1, test-v2") {
		t.Errorf("unknown lava condition: %v", err)
	}
	cfg.Env = "winter"
	if err := cfg.Validate(); !errors.Is(err, ErrConfig) || !errors.Is(err, ErrUnknownEnv) {
		t.Errorf("config with unknown env: %v", err)
	}
	kc := envConfig(t, EnvKeysChests)
	kc.Keys = 9
	if err := kc.Validate(); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "keys = 9, allowed 1..8") {
		t.Errorf("keys out of range: %v", err)
	}
}

func TestShapes(t *testing.T) {
	for _, env := range Envs() {
		s := env.Shape()
		if len(s.Features) != len(env.Features()) || s.ObsSize != len(env.Channels())*ObsCells || s.Actions != NumActions {
			t.Errorf("%s: shape %+v", env.Name(), s)
		}
		if len(env.BaseObjective()) != len(s.Features) {
			t.Errorf("%s: base objective has %d weights", env.Name(), len(env.BaseObjective()))
		}
		for _, c := range env.Candidates() {
			g, ok := env.Planner(c.Name)
			if !ok || g.Validate(s) != nil {
				t.Errorf("%s: planner %s invalid", env.Name(), c.Name)
			}
		}
	}
	if s := Shape(); len(s.Features) != NumFeatures || s.ObsSize != ObsSize {
		t.Errorf("door maze shape %+v", s)
	}
}
