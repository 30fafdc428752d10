package genome

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxFileBytes bounds a genome file: a few hand-written genomes, or a
// heuristic's weights written out (a 125-cell observation and 4 actions is
// 504 numbers); 1 MiB is generous.
const MaxFileBytes = 1 << 20

// File is the hand-written form of a genome, as YAML or JSON (a JSON
// document is YAML):
//
//	name: exit seeker           # optional, for reports
//	kind: planner               # planner or heuristic
//	objective:                  # planner: mesa-objective weights by feature name; absent features weigh 0
//	  dist_exit: -1
//	  exit_reached: 1
//	  steps: -0.1
//	horizon: 12                 # planner: 1..16
//	node_budget: 1024           # planner: distinct states per decision, 1..65536
//	weights: idle               # heuristic: "idle" (all zero: always the first action) or
//	                            # Actions × (ObsSize + 1) numbers, row by row, one bias per action
//
// A file holds one genome or several YAML documents separated by "---".
type File struct {
	Name       string             `yaml:"name"`
	Kind       string             `yaml:"kind"`
	Objective  map[string]float64 `yaml:"objective"`
	Horizon    int                `yaml:"horizon"`
	NodeBudget int                `yaml:"node_budget"`
	Weights    yaml.Node          `yaml:"weights"`
}

// Named is a genome read from a file with the name it was given (or
// "FILE#k", the k-th document of FILE, counting from 1).
type Named struct {
	Name   string
	Genome Genome
}

// LoadFile reads and parses the genome file at path (see ParseFile),
// reading at most MaxFileBytes+1 bytes: a larger file, or a device, is
// refused with an error naming it and the limit.
func LoadFile(path string, s Shape) ([]Named, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ParseFile(path, data, s)
}

// ParseFile reads the genomes of a genome file for shape s. Errors wrap
// ErrInvalid and name the file, the document, the field, the value and
// what is allowed; an unknown feature name lists the shape's features.
func ParseFile(name string, data []byte, s Shape) ([]Named, error) {
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("%w: %s: larger than the %d bytes allowed for a genome file", ErrInvalid, name, MaxFileBytes)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var out []Named
	for doc := 1; ; doc++ {
		var f File
		err := dec.Decode(&f)
		if errors.Is(err, io.EOF) {
			break
		}
		where := fmt.Sprintf("%s#%d", name, doc)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %s", ErrInvalid, where, strings.TrimPrefix(err.Error(), "yaml: "))
		}
		g, err := f.genome(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if f.Name != "" {
			where = f.Name
		}
		out = append(out, Named{Name: where, Genome: g})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s holds no genome, allowed one or more YAML documents with kind planner or heuristic", ErrInvalid, name)
	}
	return out, nil
}

// genome builds the genome f describes for shape s and validates it.
func (f File) genome(s Shape) (Genome, error) {
	var g Genome
	switch f.Kind {
	case "planner":
		if f.Weights.Kind != 0 {
			return Genome{}, fmt.Errorf("%w: weights is for heuristics, allowed for a planner: objective, horizon, node_budget", ErrInvalid)
		}
		obj := make([]float64, len(s.Features))
		for _, k := range sortedKeys(f.Objective) {
			i := slices.Index(s.Features, k)
			if i < 0 {
				return Genome{}, fmt.Errorf("%w: objective.%s: unknown feature, allowed %s", ErrInvalid, k, strings.Join(s.Features, ", "))
			}
			obj[i] = f.Objective[k]
		}
		g = Genome{Kind: KindPlanner, Planner: &Planner{Objective: obj, Horizon: f.Horizon, NodeBudget: f.NodeBudget}}
	case "heuristic":
		if f.Objective != nil || f.Horizon != 0 || f.NodeBudget != 0 {
			return Genome{}, fmt.Errorf("%w: objective, horizon and node_budget are for planners, allowed for a heuristic: weights", ErrInvalid)
		}
		w, err := heuristicWeights(&f.Weights, s)
		if err != nil {
			return Genome{}, err
		}
		g = Genome{Kind: KindHeuristic, Heuristic: &Heuristic{Weights: w}}
	default:
		return Genome{}, fmt.Errorf("%w: kind = %q, allowed planner or heuristic", ErrInvalid, f.Kind)
	}
	if err := g.Validate(s); err != nil {
		return Genome{}, err
	}
	return g, nil
}

func heuristicWeights(n *yaml.Node, s Shape) ([]float64, error) {
	want := s.HeuristicWeights()
	switch {
	case n.Kind == yaml.ScalarNode && n.Value == "idle":
		return make([]float64, want), nil
	case n.Kind == yaml.SequenceNode:
		var w []float64
		if err := n.Decode(&w); err != nil {
			return nil, fmt.Errorf("%w: weights: %v, allowed numbers", ErrInvalid, err)
		}
		if len(w) != want {
			return nil, fmt.Errorf("%w: weights has %d numbers, allowed %d (%d actions × (%d observations + 1 bias))", ErrInvalid, len(w), want, s.Actions, s.ObsSize)
		}
		return w, nil
	}
	return nil, fmt.Errorf("%w: weights = %q, allowed idle or a list of %d numbers", ErrInvalid, n.Value, want)
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
