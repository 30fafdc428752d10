package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/genome"
)

// envHorizonCmd is `mesaopt env horizon`: does thinking help a reference
// planner? Its base, re-planned with horizon 1..max, on generated instances.
func envHorizonCmd() *cobra.Command {
	var (
		condition, candidate, features string
		instances, maxHorizon, budget  int
		runSeed                        uint64
	)
	cmd := &cobra.Command{
		Use:   "horizon [ENV]",
		Short: "A reference planner's mean base against its horizon, on generated instances",
		Long: "Plays the reference planner of --candidate (default: the base objective's) with\n" +
			"horizon 1..--max-horizon on --instances instances of --condition (episode i's\n" +
			"seed is InstanceSeed(--run-seed, 0, condition, i)) and prints the mean base,\n" +
			"steps and nodes per decision for each horizon. The default budget covers the\n" +
			"whole search tree of the largest horizon, so only the horizon decides.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			usage := func(err error) error { return exitError{code: 2, err: err} }
			name := fitness.EnvDoors
			if len(args) == 1 {
				name = args[0]
			}
			cfg, err := fitness.DefaultConfigFor(name)
			if err != nil {
				return usage(err)
			}
			if cfg.Features, err = featureFamily(features); err != nil {
				return err
			}
			switch {
			case instances < 1 || instances > 100000:
				return usage(fmt.Errorf("--instances = %d, allowed 1..100000", instances))
			case maxHorizon < genome.MinHorizon || maxHorizon > genome.MaxHorizon:
				return usage(fmt.Errorf("--max-horizon = %d, allowed %d..%d", maxHorizon, genome.MinHorizon, genome.MaxHorizon))
			case budget < 0 || budget > genome.MaxNodeBudget:
				return usage(fmt.Errorf("--budget = %d, allowed 0 (the whole tree) or %d..%d", budget, genome.MinNodeBudget, genome.MaxNodeBudget))
			}
			env, _ := cfg.Environment()
			if candidate == "" {
				candidate = env.Candidates()[0].Name
			}
			g, ok := env.Planner(candidate)
			if !ok {
				var names []string
				for _, c := range env.Candidates() {
					names = append(names, c.Name)
				}
				return usage(fmt.Errorf("--candidate = %q, allowed %s", candidate, strings.Join(names, ", ")))
			}
			if budget == 0 {
				budget = min(fitness.FullTree(maxHorizon), genome.MaxNodeBudget)
			}
			ev, err := fitness.NewEvaluator(cfg)
			if err != nil {
				return usage(err)
			}
			seeds := make([]uint64, instances)
			for i := range seeds {
				seeds[i] = fitness.InstanceSeed(runSeed, 0, condition, i)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%s %s, features %s, planner %q, budget %d, %d instances (run seed %d)\n",
				env.Name(), condition, cfg.Features, candidate, budget, instances, runSeed)
			fmt.Fprintf(w, "horizon  base    steps  nodes/step\n")
			for h := 1; h <= maxHorizon; h++ {
				g.Planner.Horizon, g.Planner.NodeBudget = h, budget
				r, err := ev.EvaluateSelection(g, condition, seeds)
				if err != nil {
					return usage(err)
				}
				fmt.Fprintf(w, "%7d  %.4f  %5.1f  %.1f\n", h, r.Base, r.Steps, r.Nodes/max(r.Steps, 1))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&condition, "condition", fitness.Train, "condition to draw the instances from")
	fl.StringVar(&candidate, "candidate", "", "candidate objective of the planner (default: the environment's first, the base objective's)")
	fl.StringVar(&features, "features", string(fitness.DefaultFeatures), "feature family: "+strings.Join(fitness.FeatureFamilies(), " or "))
	fl.IntVar(&instances, "instances", 1000, "instances to play, 1..100000")
	fl.IntVar(&maxHorizon, "max-horizon", genome.MaxHorizon, "largest horizon to try")
	fl.IntVar(&budget, "budget", 0, "node budget per decision (0: the whole search tree of --max-horizon)")
	fl.Uint64Var(&runSeed, "run-seed", 1, "run seed the instance seeds derive from")
	return cmd
}
