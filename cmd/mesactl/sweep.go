package main

// mesactl sweep …: submit, list, show, watch, cancel and resume sweeps.

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/internal/render"
	"github.com/mesaopt/mesaopt/internal/sweepview"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/sweep"
)

func sweepCmd(c *client) *cobra.Command {
	cmd := &cobra.Command{Use: "sweep", Short: "Submit, list, show, watch, cancel or resume sweeps (runs over seeds and parameter values)"}
	var file, seeds string
	var sets []string
	var quick bool
	var spec experiment.Spec
	submit := &cobra.Command{
		Use:   "submit -f experiment.yaml [--seeds 1-10] [--set field=v1,v2]... [--quick]",
		Short: "Start a sweep on the coordinator and print its id and runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := c.call(cmd.Context())
			defer cancel()
			base := spec
			base.Sweep = nil
			resp, err := c.runs.SubmitSweep(ctx, &pb.SubmitSweepRequest{Spec: base.ToProto(), Definition: experiment.SweepToProto(spec.Sweep)})
			if err != nil {
				return err
			}
			if c.document() {
				return c.json(cmd.OutOrStdout(), resp)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "sweep %s: %d runs\n", resp.GetSweepId(), len(resp.GetRuns()))
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			head := "RUN\tSEED"
			for _, p := range spec.Sweep.Set {
				head += "\t" + strings.ToUpper(p.Path)
			}
			fmt.Fprintln(tw, head)
			for _, r := range resp.GetRuns() {
				fmt.Fprintf(tw, "%s\t%d\t%s\n", r.GetRunId(), r.GetSeed(), strings.Join(r.GetValues(), "\t"))
			}
			return tw.Flush()
		},
	}
	c.check(submit, func([]string) error {
		spec = experiment.Default()
		if file != "" {
			var err error
			if spec, err = experiment.Load(file); err != nil {
				if !errors.Is(err, experiment.ErrInvalid) {
					return usageError{err}
				}
				return err
			}
		}
		var err error
		if spec, err = experiment.WithSweepFlags(spec, experiment.SweepFlags{Seeds: seeds, SeedsGiven: submit.Flags().Changed("seeds"), Sets: sets, Quick: quick}); err != nil {
			return err
		}
		if spec.Sweep == nil {
			return usageError{errors.New("the experiment has no sweep, allowed a file with a sweep: section, --seeds or --set field=v1,v2 (one run: mesactl run submit)")}
		}
		for _, w := range spec.Warnings() {
			fmt.Fprintln(submit.ErrOrStderr(), "mesactl: warning:", w)
		}
		return nil
	})
	submit.Flags().StringVarP(&file, "file", "f", "", "experiment file (default: the built-in door-maze experiment)")
	submit.Flags().StringVar(&seeds, "seeds", "", "seeds of every combination: 1-10, 1-3,7 (replaces the file's)")
	submit.Flags().StringArrayVar(&sets, "set", nil, "sweep a field over values: --set selection.shifted=0,0.02,0.1 (repeatable; replaces the file's values of that field)")
	submit.Flags().BoolVar(&quick, "quick", false, "the sweep's quick variant (its quick: section; without one its first 2 seeds and a third of the generations)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List sweeps, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := c.call(cmd.Context())
			defer cancel()
			resp, err := c.runs.ListSweeps(ctx, &pb.ListSweepsRequest{})
			if err != nil {
				return err
			}
			if c.document() {
				return c.json(cmd.OutOrStdout(), resp)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "SWEEP\tSTATE\tRUNS DONE\tGENERATIONS\tCREATED")
			for _, sw := range resp.GetSweeps() {
				done, gens, all := 0, 0, 0
				for _, r := range sw.GetRuns() {
					if r.GetState() == pb.RunState_RUN_STATE_SUCCEEDED {
						done++
					}
					gens += int(r.GetGenerationsDone())
					all += int(r.GetGenerations())
				}
				fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%d/%d\t%s\n", sw.GetSweepId(), render.State(sw.GetState()), done, len(sw.GetRuns()), gens, all,
					time.Unix(sw.GetCreatedUnix(), 0).UTC().Format(time.DateTime))
			}
			return tw.Flush()
		},
	}

	show := withOutputs(&cobra.Command{
		Use:   "show SWEEP_ID",
		Short: "Show a sweep's aggregates: class shares, horizons and curves with 95 % bootstrap intervals across seeds",
		Long: "Show a sweep's aggregates across its seeds: per group of runs (all runs, or each value of each swept field),\n" +
			"per shifted condition the last generation's class shares, flagged share and mean final features, the median\n" +
			"horizon and the final fitness figures, each as mean [95 % percentile bootstrap interval] over the runs.\n" +
			"-o csv gives every number (also the per-generation curves), -o json the same as one document.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, params, runs, err := sweepview.Load(cmd.Context(), c.runs, args[0], c.timeout)
			if err != nil {
				return err
			}
			agg := sweep.Aggregate(params, runs)
			w := cmd.OutOrStdout()
			switch c.output {
			case "json":
				b, err := json.MarshalIndent(agg, "", "  ")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(w, string(b))
				return err
			case "csv":
				return agg.WriteCSV(w)
			}
			return agg.WriteTable(w)
		},
	}, "table", "json", "csv")

	watch := withoutOutputs(&cobra.Command{
		Use:   "watch SWEEP_ID",
		Short: "Print a line per generation any run of the sweep commits, with an ETA, until all have ended",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sw, err := sweepview.Watch(cmd.Context(), c.runs, args[0], cmd.OutOrStdout())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "sweep %s %s\n", args[0], sweepview.Summary(sw))
			return nil
		},
	}, "it prints progress lines; for numbers use mesactl sweep show -o json|csv")

	cancelCmd := &cobra.Command{
		Use:   "cancel SWEEP_ID",
		Short: "Cancel every running run of a sweep (each keeps its last checkpoint)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := c.call(cmd.Context())
			defer cancel()
			resp, err := c.runs.CancelSweep(ctx, &pb.CancelSweepRequest{SweepId: args[0]})
			if err != nil {
				return err
			}
			if c.document() {
				return c.json(cmd.OutOrStdout(), resp)
			}
			if len(resp.GetCancelled()) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "sweep %s: no run was running; nothing cancelled\n", args[0])
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "sweep %s: cancelled %d runs %s\n", args[0], len(resp.GetCancelled()), strings.Join(resp.GetCancelled(), " "))
			return nil
		},
	}
	resume := &cobra.Command{
		Use:   "resume SWEEP_ID",
		Short: "Resume every run of a sweep that is neither running nor succeeded, from its last checkpoint",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := c.call(cmd.Context())
			defer cancel()
			resp, err := c.runs.ResumeSweep(ctx, &pb.ResumeSweepRequest{SweepId: args[0]})
			if err != nil {
				return err
			}
			if c.document() {
				return c.json(cmd.OutOrStdout(), resp)
			}
			if len(resp.GetResumed()) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "sweep %s: every run is running or succeeded; nothing resumed\n", args[0])
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "sweep %s: resumed %d runs %s\n", args[0], len(resp.GetResumed()), strings.Join(resp.GetResumed(), " "))
			return nil
		},
	}
	cmd.AddCommand(submit, list, show, watch, cancelCmd, resume)
	return cmd
}
