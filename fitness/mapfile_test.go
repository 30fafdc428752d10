package fitness

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestParseMapErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"unknown symbol", "####\n#@Z#\n####\n", "m.txt:2:3: unknown symbol 'Z'; expected one of #"},
		{"ragged row", "####\n#@.#\n###\n", "m.txt:3:4: row is 3 wide; expected 4 like line 1"},
		{"two starts", "####\n#@A#\n####\n", "m.txt:2:3: a second start"},
		{"no start", "####\n#..#\n####\n", "m.txt:1:1: no start"},
		{"empty", "; nothing\n\n", "m.txt:3:1: no grid"},
		{"gap", "####\n#@.#\n\n####\n", "m.txt:4:1: a row after a blank or comment line ended the grid at line 3"},
		{"unknown setting", "speed = 3\n#@#\n", `m.txt:1:1: unknown setting "speed"; expected one of step_reward`},
		{"bad number", "step_reward = fast\n#@#\n", `m.txt:1:14: step_reward = "fast"; expected a number`},
		{"positive step", "step_reward = 1\n#@#\n", "m.txt:1:1: step_reward = 1; expected ≤ 0"},
		{"setting after grid", "#@#\nstep_reward = -1\n", "m.txt:2:1: a setting after the grid"},
		{"tab", "#@\t#\n", `m.txt:1:3: unknown symbol '\t'`},
		{"unicode", "#@é#\n", "m.txt:1:3: unknown symbol 'é'"},
		{"too wide", "@" + strings.Repeat(".", 32) + "\n", "m.txt:1:33: row is 33 wide; expected at most 32"},
	}
	for _, tc := range tests {
		_, err := ParseMap("m.txt", []byte(tc.text))
		if !errors.Is(err, ErrMap) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestMapFiles(t *testing.T) {
	data, err := os.ReadFile("testdata/maps/lava-train.txt")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMap("lava-train.txt", data)
	if err != nil {
		t.Fatal(err)
	}
	// The file is the built-in training level, so it plays the same.
	if m.String() != "step_reward = -1\nexit_reward = 50\nlava_reward = -50\n"+lavaMaps[Train].String() {
		t.Errorf("canonical form:\n%s", m.String())
	}
	cfg := envConfig(t, EnvLava)
	cfg.Maps = []ConditionMap{{Condition: "mine", Map: m}}
	if got := cfg.Conditions(); strings.Join(got, ",") != "train,test-v1,test-v2,mine" {
		t.Errorf("conditions = %v", got)
	}
	in, err := Generate(cfg, "mine", 3)
	if err != nil {
		t.Fatal(err)
	}
	acts, _ := ParseActions("drrrrrru")
	if res := in.Replay(acts); res[len(res)-1].Return != 42 {
		t.Errorf("drrrrrru on the map file: %v", res[len(res)-1].Return)
	}

	all, err := os.ReadFile("testdata/maps/everything.txt")
	if err != nil {
		t.Fatal(err)
	}
	em, err := ParseMap("everything.txt", all)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Maps = []ConditionMap{{Condition: "all", Map: em}}
	if err := cfg.Validate(); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), `which environment lava does not know`) {
		t.Errorf("a key in a lava map: %v", err)
	}
	mc := envConfig(t, EnvMaps)
	if err := mc.Validate(); err == nil || !strings.Contains(err.Error(), `needs a map for condition "train"`) {
		t.Errorf("maps without train: %v", err)
	}
	mc.Maps = []ConditionMap{{Condition: Train, Map: em}}
	e, err := NewEvaluator(mc)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Shape().Features) != len(catalogue) {
		t.Errorf("maps shape: %+v", e.Shape())
	}
	r, err := e.Evaluate(IdleFor(mapsEnv), Train, []uint64{1, 2})
	if err != nil || r.Truncated != 2 {
		t.Errorf("idle on a map: %+v %v", r, err)
	}
	in, _ = e.Instance(Train, 1)
	if got := in.Render(); !strings.HasPrefix(got, string(all[len("; One of each symbol.\n"):])) {
		t.Errorf("render differs from the map:\n%s", got)
	}
}

// FuzzParseMap feeds arbitrary text to the map parser; it must never panic,
// and whatever it accepts must round-trip through String and play.
func FuzzParseMap(f *testing.F) {
	for _, m := range lavaMaps {
		f.Add([]byte(m.String()))
	}
	f.Add([]byte("####\n#@.#\n####\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMap("fuzz.txt", data)
		if err != nil {
			if !errors.Is(err, ErrMap) {
				t.Fatalf("error not wrapping ErrMap: %v", err)
			}
			return
		}
		again, err := ParseMap("fuzz.txt", []byte(m.String()))
		if err != nil || again.String() != m.String() {
			t.Fatalf("round trip: %v\n%s\n%s", err, m.String(), again)
		}
		cfg := mapsEnv.DefaultConfig()
		cfg.StepLimit, cfg.OracleStates = 16, 4096
		cfg.Maps = []ConditionMap{{Condition: Train, Map: m}}
		e, err := NewEvaluator(cfg)
		if err != nil {
			t.Fatalf("valid map, invalid config: %v", err)
		}
		in, err := e.Instance(Train, 1)
		if err != nil {
			if !errors.Is(err, ErrUnsolvable) {
				t.Fatalf("instance: %v", err)
			}
			return
		}
		_ = in.Render()
		r := NewRunner()
		if _, err := r.Play(in, IdleFor(mapsEnv)); err != nil {
			t.Fatal(err)
		}
	})
}
