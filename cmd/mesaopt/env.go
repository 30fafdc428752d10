package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mesaopt/mesaopt/fitness"
)

// envCmd is `mesaopt env`: tools for people who study the environments.
// Input errors (unknown environment, condition or action letter, a bad map
// file) exit with code 2.
func envCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "env",
		Short: "List, show, play and solve the grid-world environments",
		Long: "Study the environments without running an experiment.\n\n" +
			"A map file (--map) is ASCII: ';' comment lines, optional reward settings\n" +
			"\"step_reward = -1\" (also exit_reward, lava_reward, chest_reward, coin_reward),\n" +
			"then the grid, one line per row. Symbols:\n\n" + indent(fitness.Legend(), "  "),
	}
	cmd.AddCommand(envListCmd(), envShowCmd(), envPlayCmd(), envOptimumCmd(), envHorizonCmd())
	return cmd
}

func indent(s, by string) string {
	return by + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n"+by) + "\n"
}

// familyDocs says how each feature family measures distances.
var familyDocs = map[fitness.FeatureFamily]string{
	fitness.FeaturesOracle: "BFS distances through the level",
	fitness.FeaturesLocal:  "grid (Manhattan) distances, walls ignored",
}

// featureFamily parses a --features value; errors exit with code 2.
func featureFamily(v string) (fitness.FeatureFamily, error) {
	f := fitness.FeatureFamily(v)
	if v == "" || !f.Valid() {
		return "", exitError{code: 2, err: fmt.Errorf("--features = %q, allowed %s", v, strings.Join(fitness.FeatureFamilies(), " or "))}
	}
	return f, nil
}

func envListCmd() *cobra.Command {
	var features string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Environments with their conditions, parameters, features and candidate objectives",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			family, err := featureFamily(features)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			for _, e := range fitness.Envs() {
				d := e.DefaultConfig()
				fmt.Fprintf(w, "%s\n  %s\n", e.Name(), e.Summary())
				conds := strings.Join(e.Conditions(), ", ")
				if conds == "" {
					conds = "(from map files; one must be train)"
				}
				fmt.Fprintf(w, "  conditions  %s\n", conds)
				var params []string
				for _, p := range e.Params() {
					params = append(params, fmt.Sprintf("%s=%d", p, paramValue(d, p)))
				}
				fmt.Fprintf(w, "  parameters  %s\n", strings.Join(params, " "))
				r := e.Rewards()
				fmt.Fprintf(w, "  rewards     step %g, exit %g, lava %g, chest %g, coin %g\n", r.Step, r.Exit, r.Lava, r.Chest, r.Coin)
				fmt.Fprintf(w, "  features    %s\n", strings.Join(e.Features(), " "))
				fmt.Fprintf(w, "  family      %s: %s\n", family, familyDocs[family])
				fmt.Fprintf(w, "  channels    %s (observation %d values)\n", strings.Join(e.Channels(), " "), e.ObsSize())
				var cands []string
				for _, c := range e.Candidates() {
					cands = append(cands, c.Name)
				}
				fmt.Fprintf(w, "  candidates  %s (the first is the base objective's)\n\n", strings.Join(cands, " "))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&features, "features", string(fitness.DefaultFeatures),
		"feature family to describe: "+strings.Join(fitness.FeatureFamilies(), " or "))
	return cmd
}

func paramValue(c fitness.Config, p string) int {
	switch p {
	case "width":
		return c.Width
	case "height":
		return c.Height
	case "walls":
		return c.Walls
	case "red_objects":
		return c.RedObjects
	case "keys":
		return c.Keys
	case "blocks":
		return c.Blocks
	}
	return c.StepLimit
}

// instanceFlags are the flags that pick one instance.
type instanceFlags struct {
	condition string
	seed      uint64
	mapFile   string
	stepLimit int
	features  string
}

func (f *instanceFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.condition, "condition", fitness.Train, "condition to draw the instance from")
	fl.Uint64Var(&f.seed, "seed", 1, "instance seed (a run uses InstanceSeed(run seed, generation, condition, episode))")
	fl.StringVar(&f.mapFile, "map", "", "play --condition on this map file instead (ENV may then be omitted: environment maps)")
	fl.IntVar(&f.stepLimit, "step-limit", 0, "episode step limit (0: the environment's default)")
	fl.StringVar(&f.features, "features", string(fitness.DefaultFeatures),
		"feature family of the candidates' J*: "+strings.Join(fitness.FeatureFamilies(), " or "))
}

// instance resolves ENV (args) and the flags into an instance; input errors
// exit with code 2.
func (f *instanceFlags) instance(args []string) (*fitness.Instance, error) {
	usage := func(err error) error { return exitError{code: 2, err: err} }
	name := fitness.EnvMaps
	switch {
	case len(args) == 1:
		name = args[0]
	case f.mapFile == "":
		return nil, usage(fmt.Errorf("name an environment, one of %s, or give --map FILE", strings.Join(fitness.EnvNames(), ", ")))
	}
	cfg, err := fitness.DefaultConfigFor(name)
	if err != nil {
		return nil, usage(err)
	}
	if f.stepLimit != 0 {
		cfg.StepLimit = f.stepLimit
	}
	if cfg.Features, err = featureFamily(f.features); err != nil {
		return nil, err
	}
	if f.mapFile != "" {
		data, err := fitness.ReadMapFile(f.mapFile)
		if err != nil {
			return nil, usage(err)
		}
		m, err := fitness.ParseMap(f.mapFile, data)
		if err != nil {
			return nil, usage(err)
		}
		cfg.Maps = []fitness.ConditionMap{{Condition: f.condition, Map: m}}
	}
	if err := cfg.Validate(); err != nil {
		return nil, usage(err)
	}
	in, err := fitness.Generate(cfg, f.condition, f.seed)
	if err != nil {
		return nil, usage(err)
	}
	return in, nil
}

func envShowCmd() *cobra.Command {
	var f instanceFlags
	cmd := &cobra.Command{
		Use:   "show [ENV]",
		Short: "Draw one instance as ASCII (map-file symbols) with its optimum",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := f.instance(args)
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), in.Render())
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

func envPlayCmd() *cobra.Command {
	var f instanceFlags
	var actions string
	cmd := &cobra.Command{
		Use:   "play [ENV] --actions udlr...",
		Short: "Play an action string and print every step's reward and the return",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			acts, err := fitness.ParseActions(actions)
			if err != nil {
				return exitError{code: 2, err: err}
			}
			in, err := f.instance(args)
			if err != nil {
				return err
			}
			play(cmd.OutOrStdout(), in, acts)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&actions, "actions", "", "actions, one letter each: u(p) d(own) l(eft) r(ight)")
	return cmd
}

func play(w io.Writer, in *fitness.Instance, acts []fitness.Action) {
	res := in.Replay(acts)
	for i, r := range res {
		x, y := in.XY(r.State.Pos)
		fmt.Fprintf(w, "step %3d  %-5s  to (%d,%d)  reward %s  return %s\n", i+1, r.Action,
			x, y, num(r.Reward), num(r.Return))
	}
	ret, end := 0.0, "not ended"
	last := in.Start()
	if n := len(res); n > 0 {
		ret, last = res[n-1].Return, res[n-1].State
		switch {
		case res[n-1].Terminated:
			end = "terminated"
		case res[n-1].Truncated:
			end = "truncated at the step limit"
		}
	}
	if len(res) < len(acts) {
		end += fmt.Sprintf("; %d later actions not taken", len(acts)-len(res))
	}
	fmt.Fprint(w, in.RenderState(last))
	fmt.Fprintf(w, "return %s after %d steps, %s (optimum %s)\n", num(ret), len(res), end, num(in.OptimumReturn()))
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func envOptimumCmd() *cobra.Command {
	var f instanceFlags
	cmd := &cobra.Command{
		Use:   "optimum [ENV]",
		Short: "The oracle's optimum return of one instance, an action string that achieves it, and each candidate's J*",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := f.instance(args)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			acts := in.OptimalActions()
			var b strings.Builder
			for _, a := range acts {
				b.WriteByte(fitness.ActionLetters[a])
			}
			fmt.Fprintf(w, "environment     %s, condition %s, seed %d\n", in.Env().Name(), in.Condition(), in.Seed())
			fmt.Fprintf(w, "optimum return  %s (idle return %s)\n", num(in.OptimumReturn()), num(in.IdleReturn()))
			fmt.Fprintf(w, "actions         %s (%d steps)\n", b.String(), len(acts))
			if in.Optimum() >= 0 {
				fmt.Fprintf(w, "steps to exit   %d\n", in.Optimum())
			}
			fmt.Fprintf(w, "states          %d reachable (position, touched objects)\n", len(in.Reachable()))
			for _, c := range in.Env().Candidates() {
				fmt.Fprintf(w, "J* %-12s %.4f\n", c.Name, in.Best(c.Weights))
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}
