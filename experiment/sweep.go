package experiment

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// Sweep is a set of runs of one experiment: every combination of its
// parameters' values, each run once per seed. In a file:
//
//	sweep:
//	  seeds: 1-10                          # or [1, 2, 5], or "1-3,7"
//	  set:
//	    selection.shifted: [0, 0.02, 0.1]  # a field path and its values
//	  quick: {seeds: 1-2, generations: 10} # mesaopt run --quick
//
// Each run is the experiment with seed and the values applied as
// overrides (see ApplyOverrides), so it is the very run a file with those
// values would give: a pure function of its spec and seed, whether it
// runs alone or beside the sweep's other runs.
type Sweep struct {
	// Seeds of every combination, 1..MaxSweepRuns of them, distinct.
	Seeds Seeds `yaml:"seeds"`
	// Set lists the swept fields and their values, in order; empty: the
	// sweep varies the seed alone.
	Set Parameters `yaml:"set"`
	// Quick is the sweep's short variant (fewer seeds, generations) that
	// `--quick` runs; nil: --quick shortens to seeds 1-2 and a third of
	// the generations.
	Quick *QuickSweep `yaml:"quick,omitempty"`
}

// QuickSweep is a sweep's short variant.
type QuickSweep struct {
	Seeds       Seeds `yaml:"seeds"`
	Generations int   `yaml:"generations"`
}

// MaxSweepRuns bounds the runs of one sweep (combinations × seeds): each
// is a run of its own in etcd and on the coordinator.
const MaxSweepRuns = 1000

// Seeds is a list of run seeds, written "1-10", "1-3,7,9-10", a single
// number or a YAML list of numbers.
type Seeds []uint64

// UnmarshalYAML reads a seed range, a list of ranges or a YAML list.
func (s *Seeds) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		v, err := ParseSeeds(n.Value)
		if err != nil {
			return fmt.Errorf("line %d: %v", n.Line, err)
		}
		*s = v
	case yaml.SequenceNode:
		var out Seeds
		for _, c := range n.Content {
			v, err := strconv.ParseUint(c.Value, 10, 64)
			if c.Kind != yaml.ScalarNode || err != nil {
				return fmt.Errorf("line %d: sweep.seeds: %s, allowed seeds 0..%d", c.Line, quoted(c), uint64(1<<64-1))
			}
			out = append(out, v)
		}
		*s = out
	default:
		return fmt.Errorf("line %d: sweep.seeds is a %s, allowed a range like 1-10 or a list like [1, 2, 3]", n.Line, nodeKind(n))
	}
	return nil
}

// MarshalYAML writes s as a YAML list.
func (s Seeds) MarshalYAML() (any, error) { return []uint64(s), nil }

// String spells s compactly: "1-10", "1-3,7".
func (s Seeds) String() string {
	var parts []string
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && s[j+1] == s[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", s[i], s[j]))
		} else {
			parts = append(parts, strconv.FormatUint(s[i], 10))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// ParseSeeds reads "1-10", "1-3,7,9-10" or "5". Errors name the text and
// what is allowed.
func ParseSeeds(text string) (Seeds, error) {
	bad := func() error {
		return fmt.Errorf("%w: sweep.seeds = %q, allowed a non-empty range like 1-10, ranges and seeds like 1-3,7, or a list like [1, 2, 3]", ErrInvalid, text)
	}
	var out Seeds
	for _, part := range strings.Split(text, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(strings.TrimSpace(lo), 10, 64)
		if err != nil {
			return nil, bad()
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(strings.TrimSpace(hi), 10, 64); err != nil || b < a {
				return nil, bad()
			}
		}
		if b-a >= MaxSweepRuns {
			return nil, fmt.Errorf("%w: sweep.seeds = %q: %d seeds, allowed at most %d runs in a sweep", ErrInvalid, text, b-a+1, MaxSweepRuns)
		}
		for v := a; ; v++ {
			out = append(out, v)
			if v == b {
				break
			}
		}
	}
	return out, nil
}

// Parameter is one swept field: a YAML path of the experiment and its
// values, each a YAML value as written.
type Parameter struct {
	Path   string
	Values []string
}

// Parameters is a sweep's set, in order.
type Parameters []Parameter

// UnmarshalYAML reads a mapping of field path: list of values (a single
// value is a list of one).
func (p *Parameters) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: sweep.set is a %s, allowed a mapping of field path: [values], e.g. {selection.shifted: [0, 0.1]}", n.Line, nodeKind(n))
	}
	var out Parameters
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		par := Parameter{Path: key.Value}
		items := []*yaml.Node{val}
		if val.Kind == yaml.SequenceNode {
			items = val.Content
		}
		for _, it := range items {
			b, err := yaml.Marshal(it)
			if err != nil {
				return fmt.Errorf("line %d: sweep.set.%s: %v", it.Line, key.Value, err)
			}
			par.Values = append(par.Values, flowYAML(strings.TrimSpace(string(b)), it))
		}
		out = append(out, par)
	}
	*p = out
	return nil
}

// flowYAML writes a composite value on one line, as an override takes it.
func flowYAML(text string, n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return text
	}
	c := *n
	c.Style = yaml.FlowStyle
	b, err := yaml.Marshal(&c)
	if err != nil {
		return text
	}
	return strings.TrimSpace(string(b))
}

// MarshalYAML writes p as a mapping of path: [values].
func (p Parameters) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, par := range p {
		seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
		for _, v := range par.Values {
			var item yaml.Node
			if err := yaml.Unmarshal([]byte(v), &item); err != nil || len(item.Content) == 0 {
				seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v})
				continue
			}
			seq.Content = append(seq.Content, item.Content[0])
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: par.Path}, seq)
	}
	return n, nil
}

// ParseParameter reads a command-line parameter "path=v1,v2,…": values
// split at commas outside brackets, braces and quotes, so
// "shifted_conditions=[shifted],[shifted, blue-doors]" has two values.
func ParseParameter(text string) (Parameter, error) {
	path, values, ok := strings.Cut(text, "=")
	path = strings.TrimSpace(path)
	if !ok || path == "" || strings.TrimSpace(values) == "" {
		return Parameter{}, fmt.Errorf("%w: --set %q, allowed field=value or field=v1,v2,… (e.g. selection.shifted=0,0.02,0.1)", ErrInvalid, text)
	}
	p := Parameter{Path: path}
	depth, quote, start := 0, rune(0), 0
	for i, r := range values {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == '[' || r == '{':
			depth++
		case r == ']' || r == '}':
			depth--
		case r == ',' && depth == 0:
			p.Values = append(p.Values, strings.TrimSpace(values[start:i]))
			start = i + 1
		}
	}
	p.Values = append(p.Values, strings.TrimSpace(values[start:]))
	if slices.Contains(p.Values, "") {
		return Parameter{}, fmt.Errorf("%w: --set %q has an empty value, allowed field=v1,v2,…", ErrInvalid, text)
	}
	return p, nil
}

// SweepRun is one run of an expanded sweep.
type SweepRun struct {
	Seed uint64
	// Values, one per parameter of the sweep's Set, in order.
	Values []string
	Spec   Spec
}

// Runs expands the sweep of spec: every combination of the parameters'
// values (the first parameter varying slowest), each with every seed, in
// seed order within a combination. Each run's spec is spec without its
// sweep, with the seed and the values applied and validated. Errors name
// the field, the value and what is allowed, and wrap ErrInvalid.
func (s Spec) Runs() ([]SweepRun, error) {
	sw := s.Sweep
	if sw == nil {
		return nil, fmt.Errorf("%w: the experiment has no sweep, allowed a sweep: {seeds: …, set: …} section or --seeds", ErrInvalid)
	}
	if len(sw.Seeds) == 0 {
		return nil, fmt.Errorf("%w: sweep.seeds is empty, allowed a non-empty range like 1-10 or a list like [1, 2, 3]", ErrInvalid)
	}
	for i, v := range sw.Seeds {
		if slices.Contains(sw.Seeds[:i], v) {
			return nil, fmt.Errorf("%w: sweep.seeds = %s: seed %d is given twice, allowed distinct seeds", ErrInvalid, sw.Seeds, v)
		}
	}
	total := len(sw.Seeds)
	for i, p := range sw.Set {
		switch {
		case p.Path == "seed":
			return nil, fmt.Errorf("%w: sweep.set.seed: seeds are swept by sweep.seeds (--seeds), allowed any other field", ErrInvalid)
		case p.Path == "sweep" || strings.HasPrefix(p.Path, "sweep."):
			return nil, fmt.Errorf("%w: sweep.set.%s: a sweep cannot sweep itself, allowed a field of the experiment", ErrInvalid, p.Path)
		case len(p.Values) == 0:
			return nil, fmt.Errorf("%w: sweep.set.%s has no values, allowed a list of one or more", ErrInvalid, p.Path)
		case slices.ContainsFunc(sw.Set[:i], func(o Parameter) bool { return o.Path == p.Path }):
			return nil, fmt.Errorf("%w: sweep.set.%s is given twice, allowed each field once", ErrInvalid, p.Path)
		}
		for j, v := range p.Values {
			if slices.Contains(p.Values[:j], v) {
				return nil, fmt.Errorf("%w: sweep.set.%s: value %s is given twice, allowed distinct values", ErrInvalid, p.Path, v)
			}
		}
		total *= len(p.Values)
		if total > MaxSweepRuns {
			return nil, fmt.Errorf("%w: sweep: more than %d runs (seeds × every combination of values), allowed at most %d", ErrInvalid, MaxSweepRuns, MaxSweepRuns)
		}
	}
	base := s
	base.Sweep = nil
	var out []SweepRun
	combo := make([]int, len(sw.Set))
	for {
		values := make([]string, len(sw.Set))
		sets := make([]string, 0, len(sw.Set)+1)
		for k, p := range sw.Set {
			values[k] = p.Values[combo[k]]
			sets = append(sets, p.Path+"="+values[k])
		}
		// Each value alone first, so that an error names the value at fault.
		for k, set := range sets {
			if _, _, err := ApplyOverrides(base, []string{set}); err != nil {
				return nil, fmt.Errorf("%w: sweep.set.%s = %s: %s", ErrInvalid, sw.Set[k].Path, values[k], lineRE.ReplaceAllString(strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": "), ""))
			}
		}
		for _, seed := range sw.Seeds {
			spec, _, err := ApplyOverrides(base, append(slices.Clone(sets), "seed="+strconv.FormatUint(seed, 10)))
			if err != nil {
				return nil, fmt.Errorf("%w: sweep run seed %d, %s: %s", ErrInvalid, seed, strings.Join(sets, ", "), strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": "))
			}
			out = append(out, SweepRun{Seed: seed, Values: values, Spec: spec})
		}
		k := len(combo) - 1
		for ; k >= 0; k-- {
			combo[k]++
			if combo[k] < len(sw.Set[k].Values) {
				break
			}
			combo[k] = 0
		}
		if k < 0 {
			break
		}
	}
	return out, nil
}

// Shorten returns the sweep's quick variant: Quick's seeds and
// generations, or without Quick the first two seeds and a third of the
// generations (at least 1).
func (s Spec) Shorten() Spec {
	if s.Sweep == nil {
		return s
	}
	sw := *s.Sweep
	q := sw.Quick
	if q == nil {
		q = &QuickSweep{Seeds: sw.Seeds[:min(2, len(sw.Seeds))], Generations: max(1, s.Generations/3)}
	}
	if len(q.Seeds) > 0 {
		sw.Seeds = q.Seeds
	}
	if q.Generations > 0 {
		s.Generations = q.Generations
	}
	sw.Quick = nil
	s.Sweep = &sw
	return s
}

// SweepToProto encodes a sweep's definition for the wire.
func SweepToProto(sw *Sweep) *pb.SweepDefinition {
	if sw == nil {
		return nil
	}
	d := &pb.SweepDefinition{Seeds: slices.Clone([]uint64(sw.Seeds))}
	for _, p := range sw.Set {
		d.Parameters = append(d.Parameters, &pb.SweepParameter{Path: p.Path, Values: slices.Clone(p.Values)})
	}
	return d
}

// SweepFromProto decodes a sweep's definition.
func SweepFromProto(d *pb.SweepDefinition) *Sweep {
	sw := &Sweep{Seeds: slices.Clone(Seeds(d.GetSeeds()))}
	for _, p := range d.GetParameters() {
		sw.Set = append(sw.Set, Parameter{Path: p.GetPath(), Values: slices.Clone(p.GetValues())})
	}
	return sw
}

// SweepFlags is the command-line form of a sweep.
type SweepFlags struct {
	// Seeds, when SeedsGiven, replaces the file's sweep seeds ("1-10",
	// "1-3,7"); an empty text is an error then.
	Seeds      string
	SeedsGiven bool
	// Sets are "path=value" or "path=v1,v2,…": a field with several values
	// is swept (replacing the file's values of that field, or added after
	// the file's parameters); one with a single value is set in the base
	// experiment, for every run. A field may be given once.
	Sets []string
	// Quick runs the sweep's quick variant (Shorten).
	Quick bool
}

// WithSweepFlags applies the command-line form of a sweep to spec.
// Without seeds, without a field of several values and without a sweep
// in the file, the result is one run with the single values set and no
// sweep. Errors wrap ErrInvalid and name the flag, the value and what is
// allowed.
func WithSweepFlags(spec Spec, f SweepFlags) (Spec, error) {
	var params Parameters
	var single []string
	for _, set := range f.Sets {
		p, err := ParseParameter(set)
		if err != nil {
			return Spec{}, err
		}
		if slices.ContainsFunc(params, func(o Parameter) bool { return o.Path == p.Path }) ||
			slices.ContainsFunc(single, func(o string) bool { return strings.HasPrefix(o, p.Path+"=") }) {
			return Spec{}, fmt.Errorf("%w: --set %s is given twice, allowed each field once (several values: --set %s=v1,v2)", ErrInvalid, p.Path, p.Path)
		}
		if len(p.Values) == 1 {
			single = append(single, p.Path+"="+p.Values[0])
			continue
		}
		params = append(params, p)
	}
	if len(single) > 0 {
		var err error
		sweep := spec.Sweep
		spec.Sweep = nil
		if spec, _, err = ApplyOverrides(spec, single); err != nil {
			return Spec{}, err
		}
		spec.Sweep = sweep
		if sweep != nil {
			for _, set := range single {
				path, _, _ := strings.Cut(set, "=")
				if k := slices.IndexFunc(sweep.Set, func(o Parameter) bool { return o.Path == path }); k >= 0 {
					return Spec{}, fmt.Errorf("%w: --set %s: the file sweeps %s over %v, allowed several values to replace them (--set %s=v1,v2) or a field the file does not sweep", ErrInvalid, set, path, sweep.Set[k].Values, path)
				}
			}
		}
	}
	if spec.Sweep == nil && !f.SeedsGiven && len(params) == 0 {
		if f.Quick {
			return Spec{}, fmt.Errorf("%w: --quick shortens a sweep, and this experiment has none, allowed with a sweep: section, --seeds or --set field=v1,v2", ErrInvalid)
		}
		return spec, nil
	}
	sw := &Sweep{Seeds: Seeds{spec.Seed}}
	if spec.Sweep != nil {
		c := *spec.Sweep
		c.Set = slices.Clone(c.Set)
		sw = &c
	}
	if f.SeedsGiven {
		v, err := ParseSeeds(f.Seeds)
		if err != nil {
			return Spec{}, fmt.Errorf("--seeds: %w", err)
		}
		sw.Seeds = v
		sw.Quick = nil
	}
	for _, p := range params {
		if k := slices.IndexFunc(sw.Set, func(o Parameter) bool { return o.Path == p.Path }); k >= 0 {
			sw.Set[k] = p
		} else {
			sw.Set = append(sw.Set, p)
		}
	}
	spec.Sweep = sw
	if f.Quick {
		spec = spec.Shorten()
	}
	if _, err := spec.Runs(); err != nil {
		return Spec{}, err
	}
	return spec, nil
}
