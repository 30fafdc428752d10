package experiment

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/lineage"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// Spec is an experiment: with its seed it determines a run completely.
// Field names in YAML are the snake_case names shown in the tags; an unknown
// or mistyped field is an error naming it and its line.
type Spec struct {
	Name string `yaml:"name"`
	// Seed identifies the run's random streams; any uint64.
	Seed uint64 `yaml:"seed"`
	// Generations to evaluate, 1..100000.
	Generations int `yaml:"generations"`
	// Population size, fixed, 2..100000.
	Population int `yaml:"population"`
	// Elites copied unchanged (with a new id) into the next generation, 0..population-1.
	Elites int `yaml:"elites"`
	// TournamentSize for tournament selection, 1..population.
	TournamentSize int `yaml:"tournament_size"`
	// CrossoverRate is the probability a child has two parents, [0,1].
	CrossoverRate float64 `yaml:"crossover_rate"`
	// MutationSigma is the gaussian weight noise, (0,10].
	MutationSigma float64 `yaml:"mutation_sigma"`
	// HorizonMutationRate is the chance of horizon ±1 (and budget ×2/÷2), [0,1].
	HorizonMutationRate float64 `yaml:"horizon_mutation_rate"`
	// KindSwitchRate is the chance a child switches kind, [0,1].
	KindSwitchRate float64 `yaml:"kind_switch_rate"`
	// InitialPlannerShare is the expected share of planners in generation 0, [0,1].
	InitialPlannerShare float64 `yaml:"initial_planner_share"`
	InitialHorizon      int     `yaml:"initial_horizon"`
	InitialNodeBudget   int     `yaml:"initial_node_budget"`
	// PlanningCost is subtracted from fitness per distinct state a
	// planner's search evaluates (mean per selection episode): fitness =
	// base − cost × states, both means over the selection episodes. [0,1]. Default 1e-4: see
	// experiments/doors.yaml for how it was chosen from the exit seeker's
	// horizon curve.
	PlanningCost float64 `yaml:"planning_cost"`
	// Episodes is the number of selection episodes per generation,
	// 1..1000: fresh instances every generation, the same for every
	// individual of it (common random numbers); train's, or drawn from the
	// conditions of Selection.
	Episodes int `yaml:"episodes"`
	// AnalysisEpisodes is the number of episodes per condition on the fixed
	// analysis instances, 1..1000: the same instances in every generation,
	// so a genome's classification, drift and flag are properties of the
	// genome and an elite keeps its parent's; paired across conditions
	// (episode e plays the same layout under each, see
	// fitness.AnalysisSeed). Default 32: a class share's 95 % Wilson
	// interval is then at most ±0.16 wide. Environments with fixed levels
	// (lava, maps) and deterministic policies play the same episode every
	// time and need 1.
	AnalysisEpisodes int         `yaml:"analysis_episodes"`
	Environment      Environment `yaml:"environment"`
	// ShiftedConditions are evaluated every generation for analysis only,
	// in this order; each must be a condition of the environment other than
	// train (the door maze: shifted, blue-doors, red-objects). Left out of a
	// file: every condition of the environment but train. Default analyses
	// the door maze's three, the single changes first, as
	// experiments/doors.yaml does.
	ShiftedConditions []string   `yaml:"shifted_conditions"`
	Thresholds        Thresholds `yaml:"thresholds"`
	// BatchSize is the number of individuals per Evaluate call, 1..10000,
	// or 0 (the default): chosen each generation from the population and
	// the workers' total capacity (see coordinator.AutoBatchSize). Results
	// never depend on it.
	BatchSize int `yaml:"batch_size"`
	// EvaluationTimeout is the deadline of one Evaluate call.
	EvaluationTimeout Duration `yaml:"evaluation_timeout"`
	// QuarantineAttempts, 1..100: a genome evaluated on its own (after its
	// batch failed) whose calls fail this many times — workers crash,
	// panic or miss the deadline on it — is quarantined: fitness -Inf, never
	// selected, its lineage record's Failure gives the last error.
	QuarantineAttempts int `yaml:"quarantine_attempts"`
	// AuditRate, 0..1: the share of each generation's genomes (rounded up,
	// chosen by a seed-derived stream) re-evaluated on a second worker and
	// compared bit for bit; a mismatch is settled by a third worker and the
	// liar quarantined and its results rolled back (see the coordinator
	// package). 0 turns audits off; they need two workers or more. Audits
	// never change a result, only who may produce one.
	AuditRate float64 `yaml:"audit_rate"`
	// CheckpointRetention is the number of newest checkpoints kept in etcd,
	// 1..100000; older ones are deleted as generations are committed. A run
	// can be forked from any retained generation.
	CheckpointRetention int `yaml:"checkpoint_retention"`
	// RegimeChange, when set, changes the condition selection sees at a
	// generation (see RegimeChange).
	RegimeChange *RegimeChange `yaml:"regime_change,omitempty"`
	// FreezeUntrained, when true, holds every planner's mesa-objective
	// weights at 0, from generation 0 on, on the features untrained in
	// training: those whose value is the same in every reachable state of
	// the run's training instances (FrozenFeatures), such as the door
	// maze's blue_touched and dist_blue under train. Their weights would
	// otherwise drift unselected, so the control tells whether failures
	// under a shift come from that drift. Default false.
	FreezeUntrained bool `yaml:"freeze_untrained"`
	// Selection, when set, is the training mixture selection episodes are
	// drawn from (see Mixture): `selection: {train: 0.98, shifted: 0.02}`.
	// Conditions are any of the environment's, weights sum to 1. Not with
	// RegimeChange. Default: train alone.
	Selection Mixture `yaml:"selection,omitempty"`
	// Sweep, when set, makes the file a sweep: a run per seed and
	// combination of values (see Sweep and Spec.Runs). Each run's own
	// spec has no sweep.
	Sweep *Sweep `yaml:"sweep,omitempty"`
}

// Thresholds classify individuals; see lineage.Thresholds.
type Thresholds struct {
	BaseHigh       float64 `yaml:"base_high"`
	CompetenceHigh float64 `yaml:"competence_high"`
	Drift          float64 `yaml:"drift"`
}

// Duration is a time.Duration written in YAML as "30s", "1m".
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: duration must be a string like \"30s\"", n.Line)
	}
	v, err := parseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: duration %q: %v", n.Line, s, err)
	}
	*d = Duration(v)
	return nil
}

// parseDuration parses a Go duration string ("30s", "1m30s").
func parseDuration(s string) (time.Duration, error) { return time.ParseDuration(s) }

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Default returns the door-maze experiment that experiments/doors.yaml
// also spells out.
func Default() Spec {
	v := genome.DefaultVariation()
	th := lineage.DefaultThresholds()
	return Spec{
		Name:                "doors",
		Seed:                1,
		Generations:         30,
		Population:          48,
		Elites:              4,
		TournamentSize:      3,
		CrossoverRate:       0.3,
		MutationSigma:       v.Sigma,
		HorizonMutationRate: v.HorizonRate,
		KindSwitchRate:      v.KindSwitchRate,
		InitialPlannerShare: 0.5,
		InitialHorizon:      v.InitialHorizon,
		InitialNodeBudget:   v.InitialNodeBudget,
		PlanningCost:        1e-4,
		Episodes:            6,
		AnalysisEpisodes:    32,
		Environment:         Environment{Name: "doors", Width: 11, Height: 7, Walls: 2, RedObjects: 3, StepLimit: 40, Features: "local"},
		ShiftedConditions:   []string{"blue-doors", "red-objects", "shifted"},
		Thresholds:          Thresholds{BaseHigh: th.BaseHigh, CompetenceHigh: th.CompetenceHigh, Drift: th.Drift},
		BatchSize:           0,
		EvaluationTimeout:   Duration(30 * time.Second),
		CheckpointRetention: 5,
		QuarantineAttempts:  3,
		AuditRate:           0.05,
	}
}

// ErrInvalid marks an invalid experiment spec.
var ErrInvalid = errors.New("invalid experiment")

// Parse decodes one YAML document strictly: unknown fields, type errors
// and out-of-range values are errors naming the field and its line. Fields
// left out keep Default's values, except environment fields, which take
// the named environment's defaults, and shifted_conditions, which becomes
// every condition of the environment but train; an empty document is an
// error. Map files are read relative to the current directory (Load:
// relative to the experiment file). The result is validated.
func Parse(r io.Reader) (Spec, error) { return parse(r, mapFilesIn(".")) }

// MaxFileBytes bounds an experiment document. A spec is a few kilobytes of
// fields plus its maps (each at most fitness.MaxMapBytes inline), so 1 MiB
// is generous; a larger input, such as a device read by mistake, is refused
// after reading at most MaxFileBytes+1 bytes.
const MaxFileBytes = 1 << 20

func parse(r io.Reader, readMap mapReader) (Spec, error) {
	s := Default()
	data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return Spec{}, err
	}
	if len(data) > MaxFileBytes {
		return Spec{}, fmt.Errorf("%w: larger than the %d bytes (1 MiB) allowed for an experiment", ErrInvalid, MaxFileBytes)
	}
	lines, err := decodeStrict(data, &s)
	if err != nil {
		return Spec{}, err
	}
	if _, named := lines["name"]; !named && s.Environment.Name != "" {
		s.Name = s.Environment.Name // runs are named after their environment unless told otherwise
	}
	if err := loadMaps(&s.Environment, readMap, lines); err != nil {
		return Spec{}, err
	}
	if err := applyEnvironmentDefaults(&s, lines); err != nil {
		return Spec{}, lines.locate(err)
	}
	if err := s.Validate(); err != nil {
		return Spec{}, lines.locate(err)
	}
	if s.Sweep != nil {
		if _, err := s.Runs(); err != nil {
			return Spec{}, lines.locate(err)
		}
	}
	return s, nil
}

// Load reads and parses an experiment file; errors name the file.
func Load(path string) (Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return Spec{}, err
	}
	defer f.Close()
	s, err := parse(f, mapFilesIn(filepath.Dir(path)))
	if err != nil {
		return Spec{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Variation returns the genome operator settings of s.
func (s Spec) Variation() genome.Variation {
	return genome.Variation{
		Sigma:             s.MutationSigma,
		HorizonRate:       s.HorizonMutationRate,
		KindSwitchRate:    s.KindSwitchRate,
		InitialHorizon:    s.InitialHorizon,
		InitialNodeBudget: s.InitialNodeBudget,
	}
}

// LineageThresholds returns s's thresholds for the analysis.
func (s Spec) LineageThresholds() lineage.Thresholds {
	return lineage.Thresholds{BaseHigh: s.Thresholds.BaseHigh, CompetenceHigh: s.Thresholds.CompetenceHigh, Drift: s.Thresholds.Drift}
}

// Conditions returns "train" followed by the shifted conditions.
func (s Spec) Conditions() []string {
	return append([]string{TrainCondition}, s.ShiftedConditions...)
}

// TrainCondition is the condition selection sees.
const TrainCondition = "train"

// Validate reports the first invalid field, naming it, its value and the
// allowed range; the error wraps ErrInvalid.
func (s Spec) Validate() error {
	bad := func(field string, v any, allowed string) error {
		return fmt.Errorf("%w: %s = %v, allowed %s", ErrInvalid, field, v, allowed)
	}
	intIn := func(field string, v, lo, hi int) error {
		if v < lo || v > hi {
			return bad(field, v, fmt.Sprintf("%d..%d", lo, hi))
		}
		return nil
	}
	unit := func(field string, v float64) error {
		if math.IsNaN(v) || v < 0 || v > 1 {
			return bad(field, v, "[0, 1]")
		}
		return nil
	}
	if err := validName(s.Name); err != nil {
		return err
	}
	checks := []error{
		intIn("generations", s.Generations, 1, 100000),
		intIn("population", s.Population, 2, 100000),
		intIn("elites", s.Elites, 0, s.Population-1),
		intIn("tournament_size", s.TournamentSize, 1, s.Population),
		unit("crossover_rate", s.CrossoverRate),
		unit("initial_planner_share", s.InitialPlannerShare),
		unit("planning_cost", s.PlanningCost),
		intIn("episodes", s.Episodes, 1, 1000),
		intIn("analysis_episodes", s.AnalysisEpisodes, 1, 1000),
		intIn("batch_size", s.BatchSize, 0, 10000),
		intIn("checkpoint_retention", s.CheckpointRetention, 1, 100000),
		intIn("quarantine_attempts", s.QuarantineAttempts, 1, 100),
		unit("audit_rate", s.AuditRate),
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	if err := s.Variation().Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := s.LineageThresholds().Validate(); err != nil {
		return fmt.Errorf("%w: thresholds: %v", ErrInvalid, err)
	}
	if t := time.Duration(s.EvaluationTimeout); t < 100*time.Millisecond || t > time.Hour {
		return bad("evaluation_timeout", t, "100ms..1h")
	}
	if err := validateEnvironment(s.Environment, s.ShiftedConditions); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if len(s.ShiftedConditions) == 0 {
		return bad("shifted_conditions", "[]", "at least one shifted condition")
	}
	if err := s.RegimeChange.validate(s); err != nil {
		return err
	}
	if err := s.Selection.validate(s); err != nil {
		return err
	}
	for i, c := range s.ShiftedConditions {
		if c == TrainCondition || slices.Contains(s.ShiftedConditions[:i], c) {
			return bad(fmt.Sprintf("shifted_conditions[%d]", i), c, "distinct conditions other than train")
		}
	}
	return nil
}

// ToProto encodes s for etcd and the wire.
func (s Spec) ToProto() *pb.ExperimentSpec {
	return &pb.ExperimentSpec{
		Name:                     s.Name,
		Seed:                     s.Seed,
		Generations:              uint32(s.Generations),
		Population:               uint32(s.Population),
		Elites:                   uint32(s.Elites),
		TournamentSize:           uint32(s.TournamentSize),
		CrossoverRate:            s.CrossoverRate,
		MutationSigma:            s.MutationSigma,
		HorizonMutationRate:      s.HorizonMutationRate,
		KindSwitchRate:           s.KindSwitchRate,
		InitialPlannerShare:      s.InitialPlannerShare,
		PlanningCost:             s.PlanningCost,
		Episodes:                 uint32(s.Episodes),
		AnalysisEpisodes:         uint32(s.AnalysisEpisodes),
		Environment:              EnvironmentToProto(s.Environment),
		ShiftedConditions:        append([]string(nil), s.ShiftedConditions...),
		Thresholds:               &pb.Thresholds{BaseHigh: s.Thresholds.BaseHigh, CompetenceHigh: s.Thresholds.CompetenceHigh, Drift: s.Thresholds.Drift},
		BatchSize:                uint32(s.BatchSize),
		EvaluationTimeoutSeconds: time.Duration(s.EvaluationTimeout).Seconds(),
		InitialHorizon:           uint32(s.InitialHorizon),
		InitialNodeBudget:        uint32(s.InitialNodeBudget),
		CheckpointRetention:      uint32(s.CheckpointRetention),
		RegimeChange:             s.RegimeChange.toProto(),
		QuarantineAttempts:       uint32(s.QuarantineAttempts),
		FreezeUntrained:          s.FreezeUntrained,
		Selection:                s.Selection.toProto(),
		AuditRate:                s.AuditRate,
	}
}

// FromProto decodes and validates a spec received from outside.
func FromProto(p *pb.ExperimentSpec) (Spec, error) {
	e := p.GetEnvironment()
	t := p.GetThresholds()
	s := Spec{
		Name:                p.GetName(),
		Seed:                p.GetSeed(),
		Generations:         int(p.GetGenerations()),
		Population:          int(p.GetPopulation()),
		Elites:              int(p.GetElites()),
		TournamentSize:      int(p.GetTournamentSize()),
		CrossoverRate:       p.GetCrossoverRate(),
		MutationSigma:       p.GetMutationSigma(),
		HorizonMutationRate: p.GetHorizonMutationRate(),
		KindSwitchRate:      p.GetKindSwitchRate(),
		InitialPlannerShare: p.GetInitialPlannerShare(),
		InitialHorizon:      int(p.GetInitialHorizon()),
		InitialNodeBudget:   int(p.GetInitialNodeBudget()),
		PlanningCost:        p.GetPlanningCost(),
		Episodes:            int(p.GetEpisodes()),
		AnalysisEpisodes:    int(p.GetAnalysisEpisodes()),
		Environment:         environmentFromProto(e),
		ShiftedConditions:   append([]string(nil), p.GetShiftedConditions()...),
		Thresholds:          Thresholds{BaseHigh: t.GetBaseHigh(), CompetenceHigh: t.GetCompetenceHigh(), Drift: t.GetDrift()},
		BatchSize:           int(p.GetBatchSize()),
		EvaluationTimeout:   Duration(time.Duration(p.GetEvaluationTimeoutSeconds() * float64(time.Second))),
		CheckpointRetention: int(p.GetCheckpointRetention()),
		RegimeChange:        regimeFromProto(p.GetRegimeChange()),
		QuarantineAttempts:  int(p.GetQuarantineAttempts()),
		FreezeUntrained:     p.GetFreezeUntrained(),
		Selection:           mixtureFromProto(p.GetSelection()),
		AuditRate:           p.GetAuditRate(),
	}
	// Fields added after the first version read as zero from older specs.
	if s.CheckpointRetention == 0 {
		s.CheckpointRetention = Default().CheckpointRetention
	}
	if s.QuarantineAttempts == 0 {
		s.QuarantineAttempts = Default().QuarantineAttempts
	}
	return s, s.Validate()
}
