package sweep

import (
	"cmp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// Run is one run of a sweep.
type Run struct {
	// Seed is the run's seed.
	Seed uint64
	// Values holds one YAML value per parameter, in Parameters order; a run
	// with fewer values is in no group of the parameters it lacks.
	Values []string
	// Run is the run as RunService.GetRun returns it (Summaries, Report,
	// FeatureNames, Spec, State, FinalDigest); nil for a run that could not
	// be fetched, which counts as missing.
	Run *pb.Run
}

// Parameter is one swept field: a YAML path of the experiment and the
// values it takes, in the order given (pb.SweepParameter).
type Parameter struct {
	Path   string   `json:"path"`
	Values []string `json:"values"`
}

// Assignment is one parameter's value in a group.
type Assignment struct {
	Path  string `json:"path"`
	Value string `json:"value"`
}

// Group kinds.
const (
	// KindAll is the one group of a sweep without parameters.
	KindAll = "all"
	// KindMarginal is every run with one parameter at one value, whatever
	// the other parameters.
	KindMarginal = "marginal"
	// KindCombination is every run with each parameter at one value (only
	// with more than one parameter, where it differs from the marginals).
	KindCombination = "combination"
)

// Aggregates is what a sweep's runs say together: one Group per marginal
// and per combination of parameter values. Every Interval is over the
// group's runs, one value per run, with Resamples bootstrap resamples at
// Confidence. encoding/json emits every field, zeros and empty lists
// included.
type Aggregates struct {
	Parameters []Parameter `json:"parameters"`
	Resamples  int         `json:"resamples"`
	Confidence float64     `json:"confidence"`
	// Runs are every run, in Group.Runs order.
	Runs   []RunInfo `json:"runs"`
	Groups []Group   `json:"groups"`
}

// Group is one set of runs and their aggregates.
type Group struct {
	// Name is "all" (KindAll) or the assignments as "path=value;path=value".
	Name string `json:"name"`
	// Kind is KindAll, KindMarginal or KindCombination.
	Kind        string       `json:"kind"`
	Assignments []Assignment `json:"assignments"`
	// Runs are the group's runs by seed, then parameter values (in
	// Parameter.Values order), then run id.
	Runs []RunInfo `json:"runs"`
	// Missing counts the runs without any generation summary (or not
	// fetched); they are in Runs but in no Interval.
	Missing int `json:"missing"`
	// Final holds the figures of each run's last evaluated generation.
	Final Final `json:"final"`
	// Conditions holds, for each run's last evaluated generation, the
	// classes under each shifted condition (in spec order), then under the
	// identity condition when the runs' reports carry it.
	Conditions []Condition `json:"conditions"`
	// Curves holds the figures of generation g at index g, for g = 0 .. the
	// last generation any run evaluated, each over the runs that evaluated g.
	Curves []Point `json:"curves"`
}

// RunInfo identifies one run of a group.
type RunInfo struct {
	RunID  string   `json:"run_id"`
	Seed   uint64   `json:"seed"`
	Values []string `json:"values"`
	// State is the run state's short name ("succeeded", "running", ...).
	State string `json:"state"`
	// GenerationsDone counts generations evaluated and checkpointed, of
	// Generations in the spec.
	GenerationsDone uint32 `json:"generations_done"`
	Generations     uint32 `json:"generations"`
	// LastGeneration is the 0-based generation of the run's last summary,
	// the one Final and Conditions use (0 when Missing).
	LastGeneration uint32 `json:"last_generation"`
	FinalDigest    string `json:"final_digest"`
	Missing        bool   `json:"missing"`
}

// Figures are a generation's population-level figures, each an Interval
// across runs.
type Figures struct {
	// Fitness of the generation's best individual and mean over the
	// evaluated ones, in fitness units (base objective minus planning cost).
	BestFitness Interval `json:"best_fitness"`
	MeanFitness Interval `json:"mean_fitness"`
	// Mean base objective in train and over the shifted conditions, 0..1.
	MeanTrainBase   Interval `json:"mean_train_base"`
	MeanShiftedBase Interval `json:"mean_shifted_base"`
	// Share of planners in the population, 0..1.
	PlannerShare Interval `json:"planner_share"`
	// Share of the evaluated individuals flagged (FlaggedShare), 0..1;
	// runs without a spec give no value.
	Flagged Interval `json:"flagged"`
	// Median planner horizon in steps; 0 for a generation without planners.
	MedianHorizon Interval `json:"median_horizon"`
}

// Final is the group's figures at each run's last evaluated generation.
// Runs that stopped early contribute an earlier generation than the others;
// LastGeneration shows how far they got.
type Final struct {
	// LastGeneration is the 0-based generation of the runs' last summaries.
	LastGeneration Interval `json:"last_generation"`
	Figures
}

// Point is the group's figures at one generation.
type Point struct {
	Generation uint32 `json:"generation"`
	Figures
}

// Condition is the classes of the runs' last evaluated generation under one
// condition. Shares are of the individuals classified there, 0..1, one
// value per run that classified any.
type Condition struct {
	Name string `json:"name"`
	// Identity marks the identity condition (train replayed on fresh
	// instances), taken from the runs' reports, where pseudo-alignment and
	// flags are false positives.
	Identity          bool     `json:"identity"`
	RobustlyAligned   Interval `json:"robustly_aligned"`
	PseudoAligned     Interval `json:"pseudo_aligned"`
	CapabilityFailure Interval `json:"capability_failure"`
	Misaligned        Interval `json:"misaligned"`
	// Flagged is (flagged_pseudo_aligned + flagged_drift_only) /
	// individuals, 0..1.
	Flagged Interval `json:"flagged"`
	// ProxyHits is the mean proxy hits per episode over the classified
	// individuals (≥ 0), from the per-class means weighted by the class
	// counts.
	ProxyHits Interval `json:"proxy_hits"`
	// Features are the mean final feature values (ClassCounts.mean_features)
	// by feature name, in Run.feature_names order; for a 0/1 feature, the
	// share of episodes that ended with it 1.
	Features []Feature `json:"features"`
}

// Feature is one named feature's mean final value.
type Feature struct {
	Name string   `json:"name"`
	Mean Interval `json:"mean"`
}

// figure is one of Figures: its metric name (the CSV's metric column) and
// where it lives.
type figure struct {
	name  string
	field func(*Figures) *Interval
	value func(s *pb.GenerationSummary, population uint32) (float64, bool)
}

var figures = []figure{
	{"best_fitness", func(f *Figures) *Interval { return &f.BestFitness }, plain((*pb.GenerationSummary).GetBestFitness)},
	{"mean_fitness", func(f *Figures) *Interval { return &f.MeanFitness }, plain((*pb.GenerationSummary).GetMeanFitness)},
	{"mean_train_base", func(f *Figures) *Interval { return &f.MeanTrainBase }, plain((*pb.GenerationSummary).GetMeanTrainBase)},
	{"mean_shifted_base", func(f *Figures) *Interval { return &f.MeanShiftedBase }, plain((*pb.GenerationSummary).GetMeanShiftedBase)},
	{"planner_share", func(f *Figures) *Interval { return &f.PlannerShare }, plain((*pb.GenerationSummary).GetPlannerShare)},
	{"flagged", func(f *Figures) *Interval { return &f.Flagged }, func(s *pb.GenerationSummary, pop uint32) (float64, bool) {
		if pop == 0 {
			return 0, false
		}
		return FlaggedShare(int(pop), s), true
	}},
	{"median_horizon", func(f *Figures) *Interval { return &f.MedianHorizon }, plain((*pb.GenerationSummary).GetMedianHorizon)},
}

// FlaggedShare is the share of generation s's evaluated individuals (the
// population less the quarantined, whose genomes were never scored) that
// are flagged, 0..1; 0 when none was evaluated. It is the flagged share
// of every view: the sweep's aggregates, the dashboard's run page and the
// metric mesaopt_run_flagged_ratio.
func FlaggedShare(population int, s *pb.GenerationSummary) float64 {
	n := population - int(s.GetQuarantined())
	if n <= 0 {
		return 0
	}
	return float64(s.GetFlagged()) / float64(n)
}

func plain(get func(*pb.GenerationSummary) float64) func(*pb.GenerationSummary, uint32) (float64, bool) {
	return func(s *pb.GenerationSummary, _ uint32) (float64, bool) { return get(s), true }
}

// share is one of a Condition's per-condition shares.
type share struct {
	name  string
	field func(*Condition) *Interval
	value func(*pb.ClassCounts) (float64, bool)
}

var shares = []share{
	{"robustly_aligned", func(c *Condition) *Interval { return &c.RobustlyAligned }, ratio((*pb.ClassCounts).GetRobustlyAligned)},
	{"pseudo_aligned", func(c *Condition) *Interval { return &c.PseudoAligned }, ratio((*pb.ClassCounts).GetPseudoAligned)},
	{"capability_failure", func(c *Condition) *Interval { return &c.CapabilityFailure }, ratio((*pb.ClassCounts).GetCapabilityFailure)},
	{"misaligned", func(c *Condition) *Interval { return &c.Misaligned }, ratio((*pb.ClassCounts).GetMisaligned)},
	{"flagged", func(c *Condition) *Interval { return &c.Flagged }, ratio(func(cc *pb.ClassCounts) uint32 {
		return cc.GetFlaggedPseudoAligned() + cc.GetFlaggedDriftOnly()
	})},
	{"proxy_hits", func(c *Condition) *Interval { return &c.ProxyHits }, proxyHits},
}

func ratio(count func(*pb.ClassCounts) uint32) func(*pb.ClassCounts) (float64, bool) {
	return func(cc *pb.ClassCounts) (float64, bool) {
		return float64(count(cc)) / float64(cc.GetIndividuals()), true
	}
}

// proxyHits is the classified individuals' mean proxy hits: proxy_hits
// holds each class's mean, indexed by pb.AlignmentClass.
func proxyHits(cc *pb.ClassCounts) (float64, bool) {
	counts := [...]uint32{
		pb.AlignmentClass_ALIGNMENT_CLASS_ROBUSTLY_ALIGNED:   cc.GetRobustlyAligned(),
		pb.AlignmentClass_ALIGNMENT_CLASS_PSEUDO_ALIGNED:     cc.GetPseudoAligned(),
		pb.AlignmentClass_ALIGNMENT_CLASS_CAPABILITY_FAILURE: cc.GetCapabilityFailure(),
		pb.AlignmentClass_ALIGNMENT_CLASS_MISALIGNED:         cc.GetMisaligned(),
	}
	hits := cc.GetProxyHits()
	var sum float64
	for k, n := range counts {
		if n == 0 {
			continue
		}
		if k >= len(hits) {
			return 0, false
		}
		sum += hits[k] * float64(n)
	}
	return sum / float64(cc.GetIndividuals()), true
}

// Aggregate groups runs by parameter values and computes each group's
// aggregates: with no parameters one group "all"; else one marginal group
// per value of each parameter, in parameter then value order, and with more
// than one parameter then one group per combination of values (the first
// parameter varying slowest). The result depends only on params and the set
// of runs, not on their order. runs are not modified. Aggregate computes
// the groups on up to GOMAXPROCS goroutines and returns when all are done;
// it costs about Resamples·N random draws per Interval.
func Aggregate(params []Parameter, runs []Run) Aggregates {
	a := Aggregates{Parameters: make([]Parameter, len(params)), Resamples: Resamples, Confidence: Confidence, Groups: []Group{}}
	for i, p := range params {
		a.Parameters[i] = Parameter{Path: p.Path, Values: append([]string{}, p.Values...)}
	}
	sorted := canonical(params, runs)
	a.Runs = make([]RunInfo, len(sorted))
	for i, r := range sorted {
		a.Runs[i] = info(r)
	}
	type member struct {
		kind string
		as   []Assignment
		runs []Run
	}
	var groups []member
	if len(params) == 0 {
		groups = append(groups, member{KindAll, nil, sorted})
	}
	for i, p := range params {
		for _, v := range p.Values {
			groups = append(groups, member{KindMarginal, []Assignment{{Path: p.Path, Value: v}}, matching([]int{i}, []string{v}, sorted)})
		}
	}
	if len(params) > 1 {
		all := make([]int, len(params))
		for i := range all {
			all[i] = i
		}
		forCombinations(params, func(as []Assignment) {
			vs := make([]string, len(as))
			for i, a := range as {
				vs[i] = a.Value
			}
			groups = append(groups, member{KindCombination, as, matching(all, vs, sorted)})
		})
	}

	// The groups are independent and each Interval seeds its own stream, so
	// computing them concurrently changes nothing but the time taken.
	a.Groups = make([]Group, len(groups))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, m := range groups {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			a.Groups[i] = aggregate(m.kind, m.as, m.runs)
		})
	}
	wg.Wait()
	return a
}

// forCombinations calls f with every combination of the parameters'
// values, the last parameter varying fastest; f gets a fresh slice.
func forCombinations(params []Parameter, f func([]Assignment)) {
	for _, p := range params {
		if len(p.Values) == 0 {
			return
		}
	}
	idx := make([]int, len(params))
	for {
		as := make([]Assignment, len(params))
		for i, p := range params {
			as[i] = Assignment{Path: p.Path, Value: p.Values[idx[i]]}
		}
		f(as)
		i := len(params) - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < len(params[i].Values) {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return
		}
	}
}

// canonical returns runs sorted by seed, then by the positions of their
// values in the parameters' value lists, then by run id.
func canonical(params []Parameter, runs []Run) []Run {
	pos := func(r Run, i int) int {
		if i >= len(r.Values) {
			return -1
		}
		if k := slices.Index(params[i].Values, r.Values[i]); k >= 0 {
			return k
		}
		return len(params[i].Values)
	}
	out := slices.Clone(runs)
	slices.SortStableFunc(out, func(x, y Run) int {
		if c := cmp.Compare(x.Seed, y.Seed); c != 0 {
			return c
		}
		for i := range params {
			if c := cmp.Compare(pos(x, i), pos(y, i)); c != 0 {
				return c
			}
		}
		if c := slices.Compare(x.Values, y.Values); c != 0 {
			return c
		}
		return cmp.Compare(x.Run.GetRunId(), y.Run.GetRunId())
	})
	return out
}

// matching returns the runs whose value of parameter params[i] is
// values[i] for every i.
func matching(params []int, values []string, runs []Run) []Run {
	var out []Run
	for _, r := range runs {
		ok := true
		for i, p := range params {
			if p >= len(r.Values) || r.Values[p] != values[i] {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, r)
		}
	}
	return out
}

// name returns a group's name: "all", or its assignments joined.
func name(as []Assignment) string {
	if len(as) == 0 {
		return KindAll
	}
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = a.Path + "=" + a.Value
	}
	return strings.Join(parts, ";")
}

// samples collects one value per run for each key, keeping the keys in the
// order first added.
type samples struct {
	keys []string
	vals map[string][]float64
}

func (s *samples) add(key string, v float64) {
	if s.vals == nil {
		s.vals = map[string][]float64{}
	}
	if _, ok := s.vals[key]; !ok {
		s.keys = append(s.keys, key)
	}
	s.vals[key] = append(s.vals[key], v)
}

// condKey names a condition: a shifted one, or the identity condition of
// the reports.
type condKey struct {
	name     string
	identity bool
}

// conditionSamples collects a condition's values across runs.
type conditionSamples struct {
	shares   [][]float64 // indexed like shares
	features samples
}

func aggregate(kind string, as []Assignment, runs []Run) Group {
	g := Group{
		Name: name(as), Kind: kind, Assignments: append([]Assignment{}, as...),
		Runs: make([]RunInfo, 0, len(runs)), Conditions: []Condition{}, Curves: []Point{},
	}
	key := func(metric, condition, feature, generation string) string {
		return strings.Join([]string{g.Name, metric, condition, feature, generation}, "|")
	}

	var (
		lastGen  []float64
		final    = make([][]float64, len(figures))
		curves   [][][]float64 // [generation][figure] → values
		condKeys []condKey
		idKeys   []condKey
		conds    = map[condKey]*conditionSamples{}
	)
	addCondition := func(r *pb.Run, cc *pb.ClassCounts, identity bool) {
		if cc.GetIndividuals() == 0 {
			return
		}
		ck := condKey{cc.GetCondition(), identity}
		c, ok := conds[ck]
		if !ok {
			c = &conditionSamples{shares: make([][]float64, len(shares))}
			conds[ck] = c
			if identity {
				idKeys = append(idKeys, ck)
			} else {
				condKeys = append(condKeys, ck)
			}
		}
		for i, s := range shares {
			if v, ok := s.value(cc); ok {
				c.shares[i] = append(c.shares[i], v)
			}
		}
		names := r.GetFeatureNames()
		for k, f := range cc.GetMeanFeatures() {
			if k < len(names) && names[k] != "" {
				c.features.add(names[k], f)
			}
		}
	}

	for _, sr := range runs {
		r := sr.Run
		ri := info(sr)
		g.Runs = append(g.Runs, ri)
		if ri.Missing {
			g.Missing++
			continue
		}
		sums := r.GetSummaries()
		pop := r.GetSpec().GetPopulation()
		last := sums[len(sums)-1]

		lastGen = append(lastGen, float64(last.GetGeneration()))
		for i, f := range figures {
			if v, ok := f.value(last, pop); ok {
				final[i] = append(final[i], v)
			}
		}
		for _, cc := range last.GetClasses() {
			addCondition(r, cc, false)
		}
		if id := r.GetReport().GetIdentity(); id.GetCondition() != "" {
			addCondition(r, id, true)
		}

		// One value per run and generation: a later summary of the same
		// generation (a re-evaluation) replaces an earlier one.
		byGen := map[uint32]*pb.GenerationSummary{}
		var gens []uint32
		for _, s := range sums {
			if _, ok := byGen[s.GetGeneration()]; !ok {
				gens = append(gens, s.GetGeneration())
			}
			byGen[s.GetGeneration()] = s
		}
		for _, gen := range gens {
			for int(gen) >= len(curves) {
				curves = append(curves, make([][]float64, len(figures)))
			}
			for i, f := range figures {
				if v, ok := f.value(byGen[gen], pop); ok {
					curves[gen][i] = append(curves[gen][i], v)
				}
			}
		}
	}

	g.Final.LastGeneration = Bootstrap(key("last_generation", "", "", ""), lastGen)
	for i, f := range figures {
		*f.field(&g.Final.Figures) = Bootstrap(key(f.name, "", "", ""), final[i])
	}
	for _, ck := range append(condKeys, idKeys...) {
		cs, cn := conds[ck], ck.name
		c := Condition{Name: cn, Identity: ck.identity, Features: make([]Feature, 0, len(cs.features.keys))}
		for i, s := range shares {
			*s.field(&c) = Bootstrap(key(s.name, cn, "", ""), cs.shares[i])
		}
		for _, fn := range cs.features.keys {
			c.Features = append(c.Features, Feature{Name: fn, Mean: Bootstrap(key("mean_feature", cn, fn, ""), cs.features.vals[fn])})
		}
		g.Conditions = append(g.Conditions, c)
	}
	for gen, vals := range curves {
		p := Point{Generation: uint32(gen)}
		gs := strconv.Itoa(gen)
		for i, f := range figures {
			*f.field(&p.Figures) = Bootstrap(key(f.name, "", "", gs), vals[i])
		}
		g.Curves = append(g.Curves, p)
	}
	return g
}

// info describes one run; a run without summaries is Missing.
func info(sr Run) RunInfo {
	r := sr.Run
	ri := RunInfo{
		RunID: r.GetRunId(), Seed: sr.Seed, Values: append([]string{}, sr.Values...), State: state(r.GetState()),
		GenerationsDone: r.GetGenerationsDone(), Generations: r.GetSpec().GetGenerations(), FinalDigest: r.GetFinalDigest(),
	}
	if sums := r.GetSummaries(); len(sums) > 0 {
		ri.LastGeneration = sums[len(sums)-1].GetGeneration()
	} else {
		ri.Missing = true
	}
	return ri
}

// state returns a run state's short name.
func state(s pb.RunState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "RUN_STATE_"))
}
