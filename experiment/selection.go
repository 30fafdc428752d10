package experiment

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mesaopt/mesaopt/internal/stream"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// Mixture is a training mixture: the conditions selection episodes are
// drawn from, each with its share of the episodes. Written in YAML as a
// mapping, `selection: {train: 0.98, shifted: 0.02}`; when train is not
// named it takes the rest, so `selection: {shifted: 0.02}` is the same
// mixture, and an override `selection.shifted=0.1` (a sweep's set, --set)
// changes that one weight, train taking the new rest. The empty Mixture is
// train alone.
//
// Allocation (SelectionEpisodes) is deterministic and stratified: over
// any prefix of the run's selection episodes, the condition with the
// smallest weight has its share to within one episode, and so does each
// condition of a two-condition mixture; so a 2 % share is felt even with
// 6 episodes per generation (once every 8 or 9 generations), and never by
// chance more or less often. Which episodes get it is keyed by the run's
// seed, so different seeds see it in different generations.
type Mixture []SelectionWeight

// SelectionWeight is one condition of a Mixture and its share, [0, 1].
type SelectionWeight struct {
	Condition string
	Weight    float64
}

// UnmarshalYAML merges a mapping of condition: weight into m: named
// conditions take the weights given, in the order given; train, unless
// named, takes 1 − the others' sum.
func (m *Mixture) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: selection is a %s, allowed a mapping of condition: weight, e.g. {train: 0.98, shifted: 0.02}", n.Line, nodeKind(n))
	}
	out := slices.Clone(*m)
	trainNamed := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		var w float64
		if val.Kind != yaml.ScalarNode || (val.Tag != "!!int" && val.Tag != "!!float") || val.Decode(&w) != nil || math.IsNaN(w) || w < 0 || w > 1 {
			return fmt.Errorf("line %d: selection.%s = %s, allowed a weight in [0, 1]", val.Line, key.Value, quoted(val))
		}
		if key.Value == TrainCondition {
			trainNamed = true
		}
		if k := slices.IndexFunc(out, func(s SelectionWeight) bool { return s.Condition == key.Value }); k >= 0 {
			out[k].Weight = w
		} else {
			out = append(out, SelectionWeight{Condition: key.Value, Weight: w})
		}
	}
	if !trainNamed {
		rest := 1.0
		for _, s := range out {
			if s.Condition != TrainCondition {
				rest -= s.Weight
			}
		}
		rest = max(0, rest)
		if k := slices.IndexFunc(out, func(s SelectionWeight) bool { return s.Condition == TrainCondition }); k >= 0 {
			out[k].Weight = rest
		} else {
			out = append(Mixture{{Condition: TrainCondition, Weight: rest}}, out...)
		}
	}
	*m = out
	return nil
}

// MarshalYAML writes m as a mapping in its order.
func (m Mixture) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, s := range m {
		n.Content = append(n.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s.Condition},
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: fmt.Sprint(s.Weight)})
	}
	return n, nil
}

// String spells m as "train 0.98, shifted 0.02".
func (m Mixture) String() string {
	parts := make([]string, len(m))
	for i, s := range m {
		parts[i] = fmt.Sprintf("%s %g", s.Condition, s.Weight)
	}
	return strings.Join(parts, ", ")
}

// mixtureTolerance is how far the weights' sum may be from 1: decimal
// weights such as 0.1 + 0.2 + 0.7 are not exact in binary.
const mixtureTolerance = 1e-9

func (m Mixture) validate(s Spec) error {
	if len(m) == 0 {
		return nil
	}
	cfg, err := s.Environment.Config()
	if err != nil {
		return fmt.Errorf("%w: environment: %v", ErrInvalid, err)
	}
	conds := cfg.Conditions()
	sum := 0.0
	for i, w := range m {
		if !slices.Contains(conds, w.Condition) {
			return fmt.Errorf("%w: selection.%s: unknown condition, allowed conditions of %s: %s", ErrInvalid, w.Condition, s.Environment.Name, strings.Join(conds, ", "))
		}
		if slices.ContainsFunc(m[:i], func(o SelectionWeight) bool { return o.Condition == w.Condition }) {
			return fmt.Errorf("%w: selection.%s is given twice, allowed each condition once", ErrInvalid, w.Condition)
		}
		if math.IsNaN(w.Weight) || w.Weight < 0 || w.Weight > 1 {
			return fmt.Errorf("%w: selection.%s = %v, allowed a weight in [0, 1]", ErrInvalid, w.Condition, w.Weight)
		}
		sum += w.Weight
	}
	if math.Abs(sum-1) > mixtureTolerance {
		return fmt.Errorf("%w: selection = {%s}: the weights sum to %v, allowed weights summing to 1 (leave train out to give it the rest)", ErrInvalid, m, sum)
	}
	if s.RegimeChange != nil {
		return fmt.Errorf("%w: selection = {%s} with regime_change: allowed one of the two (a regime change switches selection's condition at a generation; a mixture draws from several every generation)", ErrInvalid, m)
	}
	return nil
}

// Warnings lists what a valid spec does that its author may not expect:
// a mixture's condition with fewer than one selection episode per
// generation on average, and how often it will appear. For a sweep, the
// warnings of its runs, each once.
func (s Spec) Warnings() []string {
	var out []string
	if s.Sweep != nil {
		runs, err := s.Runs()
		if err != nil {
			return nil
		}
		for _, r := range runs {
			for _, w := range r.Spec.Warnings() {
				if !slices.Contains(out, w) {
					out = append(out, w)
				}
			}
		}
		return out
	}
	for _, w := range s.Selection {
		per := w.Weight * float64(s.Episodes)
		if total := per * float64(s.Generations); w.Weight > 0 && total < 1 {
			out = append(out, fmt.Sprintf("selection.%s = %g with %d episodes per generation and %d generations: %.3g %s episodes over the whole run, "+
				"so %s may not appear at all (raise episodes or generations)", w.Condition, w.Weight, s.Episodes, s.Generations, total, w.Condition, w.Condition))
			continue
		}
		if w.Weight > 0 && per < 1 {
			out = append(out, fmt.Sprintf("selection.%s = %g with %d episodes per generation: %.3g %s episodes per generation, "+
				"so %s appears in about 1 generation in %.3g: about %.3g of the run's %d selection episodes",
				w.Condition, w.Weight, s.Episodes, per, w.Condition, w.Condition, 1/per, per*float64(s.Generations), s.Episodes*s.Generations))
		}
	}
	return out
}

// mixtureScale is the fixed-point unit of the weights in the schedule:
// weights are allocated in integer arithmetic, the same on every
// platform, to 2^-32 (2.3e-10).
const mixtureScale = 1 << 32

// SelectionEpisodes returns the condition of each of generation gen's
// selection episodes, in episode order (len = Episodes). Without a
// mixture every episode is train's (or, after a regime change, the new
// training condition's).
//
// The schedule: the run's selection episodes are numbered n = gen ×
// Episodes + e. The mixture's conditions are taken from the smallest
// weight up (ties in written order); condition j claims, among the
// episodes the smaller ones left, the m-th one exactly when
// ⌊(q_j(m+1) + u_j)/R_j⌋ > ⌊(q_j m + u_j)/R_j⌋, where q_j is its weight
// and R_j the weight not yet claimed (both in units of 2^-32) and u_j in
// [0, R_j) a phase drawn from the run's seed. The largest takes what is
// left. So the first m episodes a level sees hold ⌊(q_j m + u_j)/R_j⌋ of
// its condition, within one of its share; the smallest condition's count
// over any prefix of the run is within one episode of weight × episodes.
// A pure function of (spec, seed, gen).
func (s Spec) SelectionEpisodes(gen uint32) []string {
	out := make([]string, s.Episodes)
	if len(s.Selection) == 0 {
		c := s.SelectionCondition(gen)
		for e := range out {
			out[e] = c
		}
		return out
	}
	levels := s.mixtureLevels()
	for e := range out {
		out[e] = levels.condition(uint64(gen)*uint64(s.Episodes) + uint64(e))
	}
	return out
}

type mixtureLevel struct {
	condition string
	q, r, u   uint64 // weight, weight not yet claimed, phase in [0, r)
}

type mixtureLevels []mixtureLevel

// mixtureLevels quantises the weights (the largest takes the rounding
// rest) and orders them smallest first.
func (s Spec) mixtureLevels() mixtureLevels {
	order := make([]int, len(s.Selection))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		wa, wb := s.Selection[a].Weight, s.Selection[b].Weight
		switch {
		case wa < wb:
			return -1
		case wa > wb:
			return 1
		}
		return 0
	})
	levels := make(mixtureLevels, len(order))
	var claimed uint64
	for k, i := range order {
		w := s.Selection[i]
		q := uint64(math.Round(w.Weight * mixtureScale))
		r := uint64(mixtureScale) - claimed
		if k == len(order)-1 || q > r {
			q = r
		}
		u := uint64(0)
		if r > 0 {
			u = stream.Derive(s.Seed, stream.PurposeMixture, stream.HashString(w.Condition)) % r
		}
		levels[k] = mixtureLevel{condition: w.Condition, q: q, r: r, u: u}
		claimed += q
	}
	return levels
}

// condition returns the condition of the run's selection episode n.
func (l mixtureLevels) condition(n uint64) string {
	m := n
	for _, lv := range l[:len(l)-1] {
		if lv.q == 0 {
			continue
		}
		before := claimedBy(lv, m)
		if claimedBy(lv, m+1) > before {
			return lv.condition
		}
		m -= before
	}
	return l[len(l)-1].condition
}

// claimedBy returns ⌊(q·m + u)/r⌋: how many of the first m episodes the
// level sees it claims.
func claimedBy(lv mixtureLevel, m uint64) uint64 {
	hi, lo := bits.Mul64(lv.q, m)
	lo, carry := bits.Add64(lo, lv.u, 0)
	hi += carry
	quo, _ := bits.Div64(hi, lo, lv.r)
	return quo
}

func (m Mixture) toProto() []*pb.SelectionWeight {
	var out []*pb.SelectionWeight
	for _, w := range m {
		out = append(out, &pb.SelectionWeight{Condition: w.Condition, Weight: w.Weight})
	}
	return out
}

func mixtureFromProto(ps []*pb.SelectionWeight) Mixture {
	var out Mixture
	for _, p := range ps {
		out = append(out, SelectionWeight{Condition: p.GetCondition(), Weight: p.GetWeight()})
	}
	return out
}
