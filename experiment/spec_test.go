package experiment

import (
	"errors"
	"os"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mesaopt/mesaopt/fitness"
)

func TestDefaultExperimentFileParses(t *testing.T) {
	s, err := Load("../experiments/doors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Seed != 1 || s.Environment.Name != "doors" {
		t.Fatalf("unexpected spec %+v", s)
	}
}

func TestParseSpecErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown field", "seed: 1\npopulaton: 10\n", []string{"line 2: unknown field populaton, allowed in an experiment:", "population"}},
		{"wrong type", "population: many\n", []string{`line 1: population = "many", allowed an integer`}},
		{"nested unknown", "seed: 1\nenvironment:\n  wdth: 3\n", []string{"line 3: unknown field environment.wdth", "allowed in environment: features, height, keys"}},
		{"features", "seed: 1\nenvironment:\n  features: bfs\n", []string{`line 3: environment.features = "bfs", allowed oracle or local`}},
		{"empty features", "environment: {features: \"\"}\n", []string{`line 1: environment.features = "", allowed oracle or local`}},
		{"features case", "environment:\n  name: lava\n  features: Local\n", []string{`line 3: environment.features = "Local", allowed oracle or local`}},
		{"features list", "environment:\n  features: [local]\n", []string{"environment.features is a list, allowed a string"}},
		{"fraction for an integer", "seed: 1.5\n", []string{"line 1: seed = 1.5, allowed an integer 0..18446744073709551615"}},
		{"integer overflow", "seed: 18446744073709551616\n", []string{"line 1: seed = 18446744073709551616, allowed an integer 0..18446744073709551615"}},
		{"negative seed", "seed: -1\n", []string{"seed = -1, allowed an integer 0.."}},
		{"fraction population", "population: 48.7\n", []string{"population = 48.7, allowed an integer"}},
		{"exponent population", "population: 1e3\n", []string{"population = 1e3, allowed an integer"}},
		{"word for a number", "crossover_rate: half\n", []string{`crossover_rate = "half", allowed a finite number`}},
		{"bad duration", "evaluation_timeout: banana\n", []string{`evaluation_timeout = "banana", allowed a duration`}},
		{"list for a string", "name: [a]\n", []string{"name is a list, allowed a string"}},
		{"nested range", "seed: 1\nenvironment:\n  width: 3\n", []string{"line 3", "width = 3"}},
		{"range line", "seed: 1\n\npopulation: 1\n", []string{"line 3", "population = 1"}},
		{"name", "name: a/b c\n", []string{"line 1", `name = "a/b c"`}},
		{"empty", "# nothing\n", []string{"holds no fields"}},
		{"two documents", "seed: 1\n---\nseed: 2\n", []string{"more than one YAML document"}},
		{"population range", "population: 1\n", []string{"population = 1", "2..100000"}},
		{"elites", "population: 10\nelites: 10\n", []string{"elites = 10", "0..9"}},
		{"rate", "crossover_rate: 1.5\n", []string{"crossover_rate = 1.5", "[0, 1]"}},
		{"condition", "shifted_conditions: [train]\n", []string{"shifted_conditions[0]"}},
		{"unknown condition", "shifted_conditions: [moon]\n", []string{"shifted_conditions[0] = \"moon\""}},
		{"environment", "environment: {name: winter}\n", []string{"line 1", "environment.name"}},
		{"timeout", "evaluation_timeout: 5\n", []string{"line 1", "duration"}},
		{"thresholds", "thresholds: {base_high: 2}\n", []string{"base_high"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.yaml))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestSpecProtoRoundTrip(t *testing.T) {
	f, err := os.Open("../experiments/doors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	back, err := FromProto(s.ToProto())
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(s.ToProto(), back.ToProto()) {
		t.Fatal("spec changed through proto")
	}
}

func TestSpecFeatures(t *testing.T) {
	tests := []struct {
		yaml string
		want fitness.FeatureFamily
	}{
		{"seed: 1\n", fitness.FeaturesLocal},
		{"environment: {features: oracle}\n", fitness.FeaturesOracle},
		{"environment: {features: local}\n", fitness.FeaturesLocal},
		{"environment: {name: lava, features: local}\n", fitness.FeaturesLocal},
		{"environment: {name: keys-chests}\n", fitness.FeaturesLocal},
	}
	for _, tc := range tests {
		s, err := Parse(strings.NewReader(tc.yaml))
		if err != nil {
			t.Fatalf("%q: %v", tc.yaml, err)
		}
		cfg, err := s.Environment.Config()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Features != tc.want {
			t.Errorf("%q: config features %q, want %q", tc.yaml, cfg.Features, tc.want)
		}
		back, err := FromProto(s.ToProto())
		if err != nil {
			t.Fatal(err)
		}
		if back.Environment.Features != string(tc.want) || s.ToProto().GetEnvironment().GetFeatures() != string(tc.want) {
			t.Errorf("%q: through proto %q", tc.yaml, back.Environment.Features)
		}
	}
	// A spec from a coordinator that predates the field carries no family:
	// the default.
	p := Default().ToProto()
	p.Environment.Features = ""
	back, err := FromProto(p)
	if err != nil {
		t.Fatal(err)
	}
	if back.Environment.Features != string(fitness.DefaultFeatures) {
		t.Errorf("empty features on the wire = %q, want %q", back.Environment.Features, fitness.DefaultFeatures)
	}
}
