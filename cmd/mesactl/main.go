// Command mesactl inspects mesaopt runs and lineages over gRPC.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/mesaopt/mesaopt/coordinator"
	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/internal/render"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

type client struct {
	addr    string
	output  string
	timeout time.Duration
	conn    *grpc.ClientConn
	runs    pb.RunServiceClient
	lineage pb.LineageServiceClient
}

// connect dials the coordinator and checks it answers within the timeout,
// so a wrong address fails fast with a clear message.
func (c *client) connect(ctx context.Context) error {
	if c.output != "table" && c.output != "json" {
		return fmt.Errorf("-o %q, allowed table or json", c.output)
	}
	conn, err := grpc.NewClient(c.addr, coordinator.ClientOptions()...)
	if err != nil {
		return fmt.Errorf("coordinator address %q: %w", c.addr, err)
	}
	hctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if _, err := healthpb.NewHealthClient(conn).Check(hctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true)); err != nil {
		conn.Close()
		return fmt.Errorf("no coordinator answering at %s within %v (is it running? set --coordinator): %v", c.addr, c.timeout, status.Convert(err).Message())
	}
	c.conn = conn
	c.runs = pb.NewRunServiceClient(conn)
	c.lineage = pb.NewLineageServiceClient(conn)
	return nil
}

func (c *client) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.timeout)
}

func (c *client) json(w io.Writer, m proto.Message) error {
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  ", UseProtoNames: true}.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run executes mesactl with args and returns the exit code: 0, 1 for a
// failed call, 2 for invalid input.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "mesactl:", describe(err))
		if errors.Is(err, coordinator.ErrSpec) || status.Code(err) == codes.InvalidArgument {
			return 2
		}
		return 1
	}
	return 0
}

func newRoot() *cobra.Command {
	c := &client{}
	root := &cobra.Command{
		Use:           "mesactl",
		Short:         "Inspect mesaopt runs and lineages",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return c.connect(cmd.Context())
		},
		PersistentPostRun: func(*cobra.Command, []string) {
			if c.conn != nil {
				c.conn.Close()
			}
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&c.addr, "coordinator", envOr("MESAOPT_COORDINATOR", "127.0.0.1:7070"), "coordinator gRPC address (env MESAOPT_COORDINATOR)")
	pf.StringVarP(&c.output, "output", "o", "table", "output format: table or json")
	pf.DurationVar(&c.timeout, "timeout", 5*time.Second, "deadline of each call")
	root.AddCommand(runsCmd(c), runCmd(c), lineageCmd(c), flaggedCmd(c))
	return root
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// describe turns a gRPC status into "code: message".
func describe(err error) string {
	if s, ok := status.FromError(err); ok && s.Code() != codes.OK && s.Code() != codes.Unknown {
		return fmt.Sprintf("%s: %s", s.Code(), s.Message())
	}
	return err.Error()
}

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
			if c.output == "json" {
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
			if c.output == "json" {
				return c.json(cmd.OutOrStdout(), resp.GetRun())
			}
			run := resp.GetRun()
			for _, s := range run.GetSummaries() {
				fmt.Fprintln(cmd.OutOrStdout(), render.Progress(s, run.GetSpec().GetGenerations()))
			}
			render.Report(cmd.OutOrStdout(), run, fitness.BaseObjective())
			return nil
		},
	}
	watch := &cobra.Command{
		Use:   "watch RUN_ID",
		Short: "Stream a run's generation summaries until it ends",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			stream, err := c.runs.WatchRun(cmd.Context(), &pb.WatchRunRequest{RunId: args[0]})
			if err != nil {
				return err
			}
			var generations uint32
			if r, err := c.runs.GetRun(cmd.Context(), &pb.GetRunRequest{RunId: args[0]}); err == nil {
				generations = r.GetRun().GetSpec().GetGenerations()
			}
			for {
				msg, err := stream.Recv()
				if errors.Is(err, io.EOF) {
					return nil
				}
				if err != nil {
					return err
				}
				switch {
				case c.output == "json":
					if err := c.json(cmd.OutOrStdout(), msg); err != nil {
						return err
					}
				case msg.GetSummary() != nil:
					fmt.Fprintln(cmd.OutOrStdout(), render.Progress(msg.GetSummary(), generations))
				default:
					fmt.Fprintf(cmd.OutOrStdout(), "run %s\n", render.State(msg.GetState()))
				}
			}
		},
	}
	cancelCmd := &cobra.Command{
		Use:   "cancel RUN_ID",
		Short: "Stop a run after its current generation",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := c.call(cmd.Context())
			defer cancel()
			_, err := c.runs.CancelRun(ctx, &pb.CancelRunRequest{RunId: args[0]})
			return err
		},
	}
	resume := &cobra.Command{
		Use:   "resume RUN_ID",
		Short: "Continue a run from its last checkpoint on this coordinator",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := c.call(cmd.Context())
			defer cancel()
			_, err := c.runs.ResumeRun(ctx, &pb.ResumeRunRequest{RunId: args[0]})
			return err
		},
	}
	var file string
	submit := &cobra.Command{
		Use:   "submit -f experiment.yaml",
		Short: "Start a run of an experiment on the coordinator and print its id",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			spec := coordinator.DefaultSpec()
			var err error
			if file != "" {
				spec, err = coordinator.LoadSpec(file)
			} else {
				err = spec.Validate()
			}
			if err != nil {
				return err
			}
			ctx, cancel := c.call(cmd.Context())
			defer cancel()
			resp, err := c.runs.SubmitRun(ctx, &pb.SubmitRunRequest{Spec: spec.ToProto()})
			if err != nil {
				return err
			}
			if c.output == "json" {
				return c.json(cmd.OutOrStdout(), resp)
			}
			fmt.Fprintln(cmd.OutOrStdout(), resp.GetRunId())
			return nil
		},
	}
	submit.Flags().StringVarP(&file, "file", "f", "", "experiment file (default: the built-in door-maze experiment)")
	cmd.AddCommand(submit, show, watch, cancelCmd, resume)
	return cmd
}

func parseID(s string) (uint64, error) {
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("individual id %q, allowed a non-negative integer", s)
	}
	return id, nil
}

func lineageCmd(c *client) *cobra.Command {
	return &cobra.Command{
		Use:   "lineage RUN_ID INDIVIDUAL_ID",
		Short: "Show an individual's line of descent with each ancestor's kind, mesa-objective and classification",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[1])
			if err != nil {
				return err
			}
			ctx, cancel := c.call(cmd.Context())
			defer cancel()
			resp, err := c.lineage.GetLineOfDescent(ctx, &pb.GetLineOfDescentRequest{RunId: args[0], IndividualId: id})
			if err != nil {
				return err
			}
			origin, err := c.lineage.GetDriftOrigin(ctx, &pb.GetDriftOriginRequest{RunId: args[0], IndividualId: id})
			if err != nil {
				return err
			}
			if c.output == "json" {
				if err := c.json(cmd.OutOrStdout(), resp); err != nil {
					return err
				}
				return c.json(cmd.OutOrStdout(), origin)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Line of descent of #%d (newest first):\n", id)
			render.Individuals(w, resp.GetIndividuals())
			var planners []*pb.Individual
			for _, in := range resp.GetIndividuals() {
				if in.GetKind() == pb.GenomeKind_GENOME_KIND_PLANNER && len(planners) < 8 {
					planners = append(planners, in)
				}
			}
			if len(planners) > 0 {
				fmt.Fprintln(w, "\nMesa-objectives along the line (newest first):")
				render.Objectives(w, resp.GetFeatureNames(), fitness.BaseObjective(), planners)
			}
			if o := origin.GetOrigin(); o != nil {
				fmt.Fprintln(w, "\nDrift origin:")
				render.DriftOrigin(w, origin.GetFeatureNames(), o)
			}
			return nil
		},
	}
}

func flaggedCmd(c *client) *cobra.Command {
	var generation int
	var pageSize uint32
	cmd := &cobra.Command{
		Use:   "flagged RUN_ID",
		Short: "List the flagged planners of a generation (default: the last)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &pb.ListFlaggedRequest{RunId: args[0], PageSize: pageSize}
			if generation >= 0 {
				g := uint32(generation)
				req.Generation = &g
			}
			var all []*pb.Individual
			var features []string
			for {
				ctx, cancel := c.call(cmd.Context())
				resp, err := c.lineage.ListFlagged(ctx, req)
				cancel()
				if err != nil {
					return err
				}
				all = append(all, resp.GetIndividuals()...)
				features = resp.GetFeatureNames()
				if resp.GetNextPageToken() == "" {
					break
				}
				req.PageToken = resp.GetNextPageToken()
			}
			if c.output == "json" {
				return c.json(cmd.OutOrStdout(), &pb.ListFlaggedResponse{Individuals: all, FeatureNames: features})
			}
			render.Individuals(cmd.OutOrStdout(), all)
			for _, in := range all {
				fmt.Fprintf(cmd.OutOrStdout(), "  #%d: %v\n", in.GetId(), in.GetFlagReasons())
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&generation, "generation", -1, "generation to list (default: the last checkpointed)")
	cmd.Flags().Uint32Var(&pageSize, "page-size", 100, "individuals per call (1..1000)")
	return cmd
}
