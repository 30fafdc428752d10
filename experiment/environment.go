package experiment

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/genome"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// Environment selects and sizes the grid world of an experiment. Name is
// one of fitness.EnvNames(); the other fields are the environment's
// parameters (`mesaopt env list` shows which each reads). In a file, fields
// left out take the named environment's defaults, and a field the
// environment does not read is an error.
type Environment struct {
	Name       string `yaml:"name"`
	Width      int    `yaml:"width"`
	Height     int    `yaml:"height"`
	Walls      int    `yaml:"walls"`
	RedObjects int    `yaml:"red_objects"`
	// Keys: keys-chests' smaller count (train: keys keys, 2·keys chests).
	Keys      int `yaml:"keys"`
	StepLimit int `yaml:"step_limit"`
	// Features is the state-feature family planners and behavioral
	// objectives see: "oracle" (BFS distances through the level, a value
	// function for the exit) or "local" (grid distances, walls ignored:
	// what a planner could compute without solving the level). Default
	// "oracle". Levels, base scores and the base side of agreement do not
	// depend on it.
	Features string `yaml:"features"`
	// Maps plays conditions on map files (see the fitness package's map
	// format): each adds a condition or replaces a built-in one.
	Maps []MapFile `yaml:"maps"`
}

// MapFile names the map of one condition. In an experiment file, give
// either file (a path relative to the experiment file) or text (the map
// inline); Load reads the file into Text, so the content — never the
// path — travels to workers and determines the run.
type MapFile struct {
	Condition string `yaml:"condition"`
	File      string `yaml:"file"`
	Text      string `yaml:"text"`
}

// envParams are the spec names of the scalar environment fields.
var envParams = []string{"width", "height", "walls", "red_objects", "keys", "step_limit"}

// applyEnvironmentDefaults fills the fields a file left out from the named
// environment's defaults and rejects fields it does not read; given lists
// the paths present in the file. shifted_conditions, if left out, becomes
// every condition but train.
func applyEnvironmentDefaults(s *Spec, given fieldLines) error {
	env, err := fitness.LookupEnv(s.Environment.Name)
	if err != nil || s.Environment.Name == "" {
		return fmt.Errorf("%w: environment.name = %q, allowed one of %v", ErrInvalid, s.Environment.Name, fitness.EnvNames())
	}
	d := env.DefaultConfig()
	e := &s.Environment
	for _, p := range envParams {
		_, set := given["environment."+p]
		if set && !slices.Contains(env.Params(), p) {
			return given.locate(fmt.Errorf("%w: environment.%s = %v, allowed only for environments that read it; %s reads %s",
				ErrInvalid, p, e.param(p), env.Name(), strings.Join(env.Params(), ", ")))
		}
		if !set {
			e.setParam(p, d)
		}
	}
	if _, set := given["shifted_conditions"]; !set {
		cfg, err := e.Config()
		if err != nil {
			return fmt.Errorf("%w: environment: %v", ErrInvalid, err)
		}
		s.ShiftedConditions = slices.DeleteFunc(cfg.Conditions(), func(c string) bool { return c == TrainCondition })
	}
	return nil
}

func (e *Environment) param(p string) int {
	switch p {
	case "width":
		return e.Width
	case "height":
		return e.Height
	case "walls":
		return e.Walls
	case "red_objects":
		return e.RedObjects
	case "keys":
		return e.Keys
	}
	return e.StepLimit
}

func (e *Environment) setParam(p string, d fitness.Config) {
	switch p {
	case "width":
		e.Width = d.Width
	case "height":
		e.Height = d.Height
	case "walls":
		e.Walls = d.Walls
	case "red_objects":
		e.RedObjects = d.RedObjects
	case "keys":
		e.Keys = d.Keys
	case "step_limit":
		e.StepLimit = d.StepLimit
	}
}

// loadMaps reads the map files the maps name into Text, through read.
func loadMaps(e *Environment, read mapReader, given fieldLines) error {
	for i := range e.Maps {
		m := &e.Maps[i]
		field := fmt.Sprintf("environment.maps[%d]", i)
		switch {
		case m.File != "" && m.Text != "":
			return given.locate(fmt.Errorf("%w: %s.file = %q, allowed file or text, not both", ErrInvalid, field, m.File))
		case m.File == "":
			continue
		}
		data, err := read(m.File)
		if err != nil {
			return given.locate(fmt.Errorf("%w: %s.file = %q, allowed a readable map file of at most %d bytes: %v", ErrInvalid, field, m.File, fitness.MaxMapBytes, err))
		}
		m.Text = string(data)
	}
	return nil
}

// mapReader returns the content of a map file named in an experiment.
type mapReader func(file string) ([]byte, error)

// mapFilesIn reads map files relative to dir (absolute paths as they are),
// each bounded by fitness.MaxMapBytes.
func mapFilesIn(dir string) mapReader {
	return func(file string) ([]byte, error) {
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, file)
		}
		return fitness.ReadMapFile(file)
	}
}

// Config returns the fitness configuration of e: the environment's
// defaults with e's parameters and parsed maps. Errors name the bad map's
// file, line and column.
func (e Environment) Config() (fitness.Config, error) {
	cfg, err := fitness.DefaultConfigFor(e.Name)
	if err != nil || e.Name == "" {
		return fitness.Config{}, fmt.Errorf("environment.name = %q, allowed one of %v", e.Name, fitness.EnvNames())
	}
	cfg.Width, cfg.Height, cfg.Walls, cfg.RedObjects, cfg.Keys, cfg.StepLimit = e.Width, e.Height, e.Walls, e.RedObjects, e.Keys, e.StepLimit
	cfg.Features = fitness.FeatureFamily(e.Features)
	for i, m := range e.Maps {
		name := m.File
		if name == "" {
			name = fmt.Sprintf("environment.maps[%d].text", i)
		}
		parsed, err := fitness.ParseMap(name, []byte(m.Text))
		if err != nil {
			return fitness.Config{}, fmt.Errorf("maps[%d] (%s): %w", i, m.Condition, err)
		}
		cfg.Maps = append(cfg.Maps, fitness.ConditionMap{Condition: m.Condition, Map: parsed})
	}
	return cfg, nil
}

// validateEnvironment checks the environment section, that every map's
// level is solvable (a map plays the same level for every seed, so an
// unsolvable one would fail the run's first generation) and that every
// shifted condition exists in it and changes something under it (see
// fitness.Config.CheckCondition), and the feature family.
func validateEnvironment(e Environment, shifted []string) error {
	if !slices.Contains(fitness.FeatureFamilies(), e.Features) {
		return fmt.Errorf("environment.features = %q, allowed %s", e.Features, strings.Join(fitness.FeatureFamilies(), " or "))
	}
	cfg, err := e.Config()
	if err != nil {
		return fmt.Errorf("environment: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("environment: %v", err)
	}
	if err := cfg.CheckSolvable(); err != nil {
		return fmt.Errorf("environment: %w", err)
	}
	conds := cfg.Conditions()
	if !slices.Contains(conds, TrainCondition) {
		return fmt.Errorf("environment: no %q condition, allowed environments or maps that have one", TrainCondition)
	}
	for i, c := range shifted {
		if !slices.Contains(conds, c) {
			return fmt.Errorf("shifted_conditions[%d] = %q, allowed one of %v other than train", i, c, conds)
		}
		if err := cfg.CheckCondition(c); err != nil {
			return fmt.Errorf("shifted_conditions[%d] = %q: environment: %v", i, c, err)
		}
	}
	return nil
}

// Env returns the spec's environment (the door maze for an unknown name,
// which a validated spec never has).
func (s Spec) Env() *fitness.Env {
	if env, err := fitness.LookupEnv(s.Environment.Name); err == nil {
		return env
	}
	env, _ := fitness.LookupEnv(fitness.EnvDoors)
	return env
}

// Shape returns the genome shape the spec's environment imposes.
func (s Spec) Shape() genome.Shape { return s.Env().Shape() }

// EnvOf returns the environment of a spec on the wire (the door maze for a
// missing or unknown name), for feature names and the base objective.
func EnvOf(p *pb.ExperimentSpec) *fitness.Env {
	if env, err := fitness.LookupEnv(p.GetEnvironment().GetName()); err == nil {
		return env
	}
	env, _ := fitness.LookupEnv(fitness.EnvDoors)
	return env
}

func EnvironmentToProto(e Environment) *pb.EnvironmentConfig {
	p := &pb.EnvironmentConfig{
		Name: e.Name, Width: uint32(e.Width), Height: uint32(e.Height), Walls: uint32(e.Walls),
		RedObjects: uint32(e.RedObjects), Keys: uint32(e.Keys), StepLimit: uint32(e.StepLimit),
		Features: e.Features,
	}
	for _, m := range e.Maps {
		p.Maps = append(p.Maps, &pb.ConditionMap{Condition: m.Condition, File: m.File, Text: m.Text})
	}
	return p
}

func environmentFromProto(e *pb.EnvironmentConfig) Environment {
	out := Environment{
		Name: e.GetName(), Width: int(e.GetWidth()), Height: int(e.GetHeight()), Walls: int(e.GetWalls()),
		RedObjects: int(e.GetRedObjects()), Keys: int(e.GetKeys()), StepLimit: int(e.GetStepLimit()),
		Features: string(fitness.FeatureFamily(e.GetFeatures()).OrDefault()),
	}
	for _, m := range e.GetMaps() {
		out.Maps = append(out.Maps, MapFile{Condition: m.GetCondition(), File: m.GetFile(), Text: m.GetText()})
	}
	return out
}
