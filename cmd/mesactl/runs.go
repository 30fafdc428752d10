package main

// mesactl runs and mesactl run …: submit, watch, show, cancel, resume and fork runs.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/internal/render"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

func runsCmd(c *client) *cobra.Command {
	return &cobra.Command{
		Use:   "runs",
		Short: "List runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := c.call(cmd.Context())
			defer cancel()
			resp, err := c.runs.ListRuns(ctx, &pb.ListRunsRequest{})
			if err != nil {
				return err
			}
			if c.document() {
				return c.json(cmd.OutOrStdout(), resp)
			}
			render.Runs(cmd.OutOrStdout(), resp.GetRuns())
			return nil
		},
	}
}

func runCmd(c *client) *cobra.Command {
	cmd := &cobra.Command{Use: "run", Short: "Show, watch, cancel or resume one run"}
	show := &cobra.Command{
		Use:   "show RUN_ID",
		Short: "Show a run: status, generation summaries (with digests) and report",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := c.call(cmd.Context())
			defer cancel()
			resp, err := c.runs.GetRun(ctx, &pb.GetRunRequest{RunId: args[0]})
			if err != nil {
				return err
			}
			if c.document() {
				return c.json(cmd.OutOrStdout(), resp.GetRun())
			}
			run := resp.GetRun()
			for _, s := range run.GetSummaries() {
				fmt.Fprintln(cmd.OutOrStdout(), render.Progress(s, run.GetSpec().GetGenerations()))
			}
			render.Report(cmd.OutOrStdout(), run, fitness.BaseObjectiveFor(run.GetFeatureNames()))
			return nil
		},
	}
	watch := withOutputs(&cobra.Command{
		Use:   "watch RUN_ID",
		Short: "Stream a run's generation summaries until it ends",
		Long: "Streams a run's generation summaries until it ends. When the coordinator goes away mid-watch (a failover,\n" +
			"a restart), mesactl connects again to whichever --coordinator (or the leader in --etcd) answers, for up\n" +
			"to " + watchReconnect.String() + ", and goes on from the next generation: nothing is printed twice or skipped.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			var generations uint32
			if r, err := c.runs.GetRun(cmd.Context(), &pb.GetRunRequest{RunId: id}); err == nil {
				generations = r.GetRun().GetSpec().GetGenerations()
			}
			var from uint32
			for {
				err := c.watchFrom(cmd, id, &from, generations)
				if status.Code(err) != codes.Unavailable || cmd.Context().Err() != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "mesactl: the watch through %s ended (%s); connecting again to go on from generation %d\n",
					c.using, status.Convert(err).Message(), from)
				if err := c.reconnect(cmd.Context(), watchReconnect); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "mesactl: watching %s through %s\n", id, c.using)
			}
		},
	}, "table", "json") // json: one object per line
	cancelCmd := &cobra.Command{
		Use:   "cancel RUN_ID",
		Short: "Stop a run now; it keeps its last checkpoint and can be resumed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := c.call(cmd.Context())
			defer cancel()
			resp, err := c.runs.CancelRun(ctx, &pb.CancelRunRequest{RunId: args[0]})
			if err != nil {
				return err
			}
			if c.document() {
				return c.json(cmd.OutOrStdout(), resp)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "run %s cancelled (its last checkpoint is kept: mesactl run resume %s)\n", args[0], args[0])
			return nil
		},
	}
	var resumeSets []string
	resume := &cobra.Command{
		Use:   "resume RUN_ID [--set field=value]...",
		Short: "Continue a run from its last checkpoint; --set changes a field that is safe to change (generations, evaluation_timeout, batch_size, checkpoint_retention)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := c.call(cmd.Context())
			defer cancel()
			resp, err := c.runs.ResumeRun(ctx, &pb.ResumeRunRequest{RunId: args[0], Set: resumeSets})
			if err != nil {
				return err
			}
			if c.document() {
				return c.json(cmd.OutOrStdout(), resp)
			}
			fmt.Fprintln(cmd.OutOrStdout(), c.resumed(ctx, args[0]))
			return nil
		},
	}
	resume.Flags().StringArrayVar(&resumeSets, "set", nil, "field=value, e.g. generations=60 (repeatable)")
	var forkGen uint32
	var forkSets []string
	fork := &cobra.Command{
		Use:   "fork RUN_ID --generation G [--set field=value]...",
		Short: "Start a new run from a retained checkpoint of RUN_ID, sharing its lineage up to G, with any changes but the seed; prints the new run id",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := c.call(cmd.Context())
			defer cancel()
			resp, err := c.runs.ForkRun(ctx, &pb.ForkRunRequest{RunId: args[0], Generation: forkGen, Set: forkSets})
			if err != nil {
				return err
			}
			if c.document() {
				return c.json(cmd.OutOrStdout(), resp)
			}
			fmt.Fprintln(cmd.OutOrStdout(), resp.GetRunId())
			return nil
		},
	}
	c.check(fork, func([]string) error {
		if !fork.Flags().Changed("generation") {
			return usageError{fmt.Errorf("--generation is required, allowed a retained generation of RUN_ID (0-based)")}
		}
		return nil
	})
	fork.Flags().Uint32Var(&forkGen, "generation", 0, "generation whose checkpoint the fork continues from (must be retained)")
	fork.Flags().StringArrayVar(&forkSets, "set", nil, "field=value, e.g. environment.red_objects=5 (repeatable)")
	var file string
	var spec experiment.Spec
	submit := &cobra.Command{
		Use:   "submit -f experiment.yaml",
		Short: "Start a run of an experiment on the coordinator and print its id",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := c.call(cmd.Context())
			defer cancel()
			resp, err := c.runs.SubmitRun(ctx, &pb.SubmitRunRequest{Spec: spec.ToProto()})
			if err != nil {
				return err
			}
			if c.document() {
				return c.json(cmd.OutOrStdout(), resp)
			}
			fmt.Fprintln(cmd.OutOrStdout(), resp.GetRunId())
			return nil
		},
	}
	c.check(submit, func([]string) error {
		spec = experiment.Default()
		if file == "" {
			return spec.Validate()
		}
		var err error
		if spec, err = experiment.Load(file); err != nil && !errors.Is(err, experiment.ErrInvalid) {
			// A file that cannot be read is a mistake in the call, as an invalid one.
			return usageError{err}
		}
		return err
	})
	submit.Flags().StringVarP(&file, "file", "f", "", "experiment file (default: the built-in door-maze experiment)")
	cmd.AddCommand(submit, show, watch, cancelCmd, resume, fork)
	return cmd
}

// resumed says a run was resumed and, when the coordinator tells, from
// how far it is: "run X resumed: 3 of 5 generations done".
func (c *client) resumed(ctx context.Context, id string) string {
	resp, err := c.runs.GetRun(ctx, &pb.GetRunRequest{RunId: id})
	if err != nil {
		return "run " + id + " resumed"
	}
	run := resp.GetRun()
	return fmt.Sprintf("run %s resumed: %d of %d generations done", id, run.GetGenerationsDone(), run.GetSpec().GetGenerations())
}

// watchReconnect bounds how long run watch tries to connect again after
// its coordinator went away: longer than a failover, which waits out the
// old leader's session (--session-ttl, 10 s by default).
const watchReconnect = 2 * time.Minute

// watchFrom streams run id's summaries from generation *from on, moving
// *from past each one printed, until the run ends (nil) or the stream
// fails (its error).
func (c *client) watchFrom(cmd *cobra.Command, id string, from *uint32, generations uint32) error {
	stream, err := c.runs.WatchRun(cmd.Context(), &pb.WatchRunRequest{RunId: id, FromGeneration: *from})
	if err != nil {
		return err
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if sum := msg.GetSummary(); sum != nil {
			*from = sum.GetGeneration() + 1
		}
		switch {
		case c.document():
			// One object per line, so the stream can be read line by line.
			if err := jsonLine(cmd.OutOrStdout(), msg); err != nil {
				return err
			}
		case msg.GetSummary() != nil:
			fmt.Fprintln(cmd.OutOrStdout(), render.Progress(msg.GetSummary(), generations))
		default:
			fmt.Fprintf(cmd.OutOrStdout(), "run %s\n", render.State(msg.GetState()))
		}
	}
}
