// Command mesactl inspects mesaopt runs and lineages over gRPC.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/mesaopt/mesaopt/coordinator"
	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/internal/grpcconf"
	"github.com/mesaopt/mesaopt/internal/render"
	"github.com/mesaopt/mesaopt/lineage"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
)

type client struct {
	addr    string
	etcd    string
	output  string
	timeout time.Duration
	conn    *grpc.ClientConn
	runs    rpc.RunServiceClient
	lineage rpc.LineageServiceClient
	checks  map[*cobra.Command]func(args []string) error
}

// check registers f to vet cmd's flags and arguments before mesactl
// connects, so that a usage mistake exits 2 with its own message even
// when no coordinator answers. It returns cmd.
func (c *client) check(cmd *cobra.Command, f func(args []string) error) *cobra.Command {
	if c.checks == nil {
		c.checks = map[*cobra.Command]func([]string) error{}
	}
	c.checks[cmd] = f
	return cmd
}

// prepare vets the global flags and cmd's own (see check), then connects.
func (c *client) prepare(cmd *cobra.Command, args []string) error {
	if c.output != "table" && c.output != "json" {
		return usageError{fmt.Errorf("-o %q, allowed table or json", c.output)}
	}
	if c.timeout <= 0 {
		return usageError{fmt.Errorf("--timeout %v, allowed a positive duration", c.timeout)}
	}
	if f := c.checks[cmd]; f != nil {
		if err := f(args); err != nil {
			return err
		}
	}
	return c.connect(cmd.Context())
}

// connect dials the coordinator and checks it answers within the timeout,
// so a wrong address fails fast with a clear message.
func (c *client) connect(ctx context.Context) error {
	if c.etcd != "" {
		addr, err := leaderFromEtcd(ctx, c.etcd, c.timeout)
		if err != nil {
			return err
		}
		c.addr = addr
	}
	conn, err := grpc.NewClient(c.addr, grpcconf.ClientOptions()...)
	if err != nil {
		return fmt.Errorf("coordinator address %q: %w", c.addr, err)
	}
	hctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if _, err := healthpb.NewHealthClient(conn).Check(hctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true)); err != nil {
		conn.Close()
		hint := "is it running? set --coordinator"
		if c.etcd != "" {
			hint = "the leader recorded in etcd " + c.etcd + " does not answer; is a coordinator running?"
		}
		return fmt.Errorf("no coordinator answering at %s within %v (%s): %v", c.addr, c.timeout, hint, status.Convert(err).Message())
	}
	c.conn = conn
	c.runs = rpc.NewRunServiceClient(conn)
	c.lineage = rpc.NewLineageServiceClient(conn)
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
		var ue usageError
		if errors.Is(err, experiment.ErrInvalid) || errors.As(err, &ue) || status.Code(err) == codes.InvalidArgument || isUsage(err) {
			return 2
		}
		return 1
	}
	return 0
}

func newRoot() *cobra.Command {
	c := &client{}
	root := &cobra.Command{
		Use:               "mesactl",
		Short:             "Inspect mesaopt runs and lineages",
		SilenceUsage:      true,
		SilenceErrors:     true,
		PersistentPreRunE: c.prepare,
		PersistentPostRun: func(*cobra.Command, []string) {
			if c.conn != nil {
				c.conn.Close()
			}
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&c.addr, "coordinator", envOr("MESAOPT_COORDINATOR", "127.0.0.1:7070"), "coordinator gRPC address (env MESAOPT_COORDINATOR)")
	pf.StringVar(&c.etcd, "etcd", os.Getenv("MESAOPT_ETCD"), "find the leading coordinator through these etcd endpoints (comma-separated; env MESAOPT_ETCD) instead of --coordinator")
	pf.StringVarP(&c.output, "output", "o", "table", "output format: table or json")
	pf.DurationVar(&c.timeout, "timeout", 5*time.Second, "deadline of each call")
	root.AddCommand(runsCmd(c), runCmd(c), lineageCmd(c), flaggedCmd(c), descendantsCmd(c), mrcaCmd(c), statsCmd(c), exportCmd(c))
	return root
}

// leaderFromEtcd reads the leading coordinator's gRPC address from etcd.
func leaderFromEtcd(ctx context.Context, endpoints string, timeout time.Duration) (string, error) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: strings.Split(endpoints, ","), DialTimeout: timeout, Logger: zap.NewNop()})
	if err != nil {
		return "", fmt.Errorf("etcd %s: %w", endpoints, err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	v, err := coordinator.LeaderAddress(ctx, cli, "")
	if err != nil {
		return "", fmt.Errorf("finding the leader through etcd %s: %w", endpoints, err)
	}
	return v.GRPC, nil
}

// usageError is a mistake in how mesactl was called (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// isUsage recognises cobra's own argument and flag errors.
func isUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"accepts ", "requires at least", "unknown command", "unknown flag", "unknown shorthand flag", "invalid argument", "flag needs an argument", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
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
			render.Report(cmd.OutOrStdout(), run, fitness.BaseObjectiveFor(run.GetFeatureNames()))
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
					// One object per line, so the stream can be read line by line.
					b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(msg)
					if err != nil {
						return err
					}
					fmt.Fprintln(cmd.OutOrStdout(), string(b))
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
		Short: "Stop a run now; it keeps its last checkpoint and can be resumed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := c.call(cmd.Context())
			defer cancel()
			_, err := c.runs.CancelRun(ctx, &pb.CancelRunRequest{RunId: args[0]})
			return err
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
			_, err := c.runs.ResumeRun(ctx, &pb.ResumeRunRequest{RunId: args[0], Set: resumeSets})
			return err
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
			if c.output == "json" {
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
			if c.output == "json" {
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

func parseID(s string) (uint64, error) {
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, usageError{fmt.Errorf("individual id %q, allowed a non-negative integer", s)}
	}
	return id, nil
}

// individualIDs checks that the arguments after RUN_ID are individual ids.
func individualIDs(args []string) error {
	for _, a := range args[1:] {
		if _, err := parseID(a); err != nil {
			return err
		}
	}
	return nil
}

func lineageCmd(c *client) *cobra.Command {
	return c.check(&cobra.Command{
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
				// One document: {"line_of_descent": ..., "drift_origin": ...}.
				opts := protojson.MarshalOptions{UseProtoNames: true}
				line, err := opts.Marshal(resp)
				if err != nil {
					return err
				}
				orig, err := opts.Marshal(origin)
				if err != nil {
					return err
				}
				doc, err := json.MarshalIndent(map[string]json.RawMessage{"line_of_descent": line, "drift_origin": orig}, "", "  ")
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), string(doc))
				return nil
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
				render.Objectives(w, resp.GetFeatureNames(), fitness.BaseObjectiveFor(resp.GetFeatureNames()), planners)
			}
			var fitted []*pb.Individual
			for _, in := range resp.GetIndividuals() {
				if len(in.GetTrain().GetBehavioralWeights()) > 0 && len(fitted) < 3 {
					fitted = append(fitted, in)
				}
			}
			if len(fitted) > 0 {
				fmt.Fprintln(w, "\nBehavioral objectives fitted to trajectories (unit-length weights):")
				render.Behavior(w, resp.GetFeatureNames(), fitness.BaseObjectiveFor(resp.GetFeatureNames()), fitted)
			}
			if o := origin.GetOrigin(); o != nil {
				fmt.Fprintln(w, "\nDrift origin:")
				render.DriftOrigin(w, origin.GetFeatureNames(), o)
			}
			return nil
		},
	}, individualIDs)
}

func flaggedCmd(c *client) *cobra.Command {
	var generation, from, to int
	var pageSize uint32
	var kind, class, condition string
	cmd := &cobra.Command{
		Use:   "flagged RUN_ID",
		Short: "List flagged planners (default: of the last generation), with filters",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &pb.ListFlaggedRequest{RunId: args[0], PageSize: pageSize, Condition: condition}
			if generation >= 0 {
				g := uint32(generation)
				req.Generation = &g
			}
			if from >= 0 {
				g := uint32(from)
				req.MinGeneration = &g
			}
			if to >= 0 {
				g := uint32(to)
				req.MaxGeneration = &g
			}
			switch kind {
			case "planner":
				req.Kind = pb.GenomeKind_GENOME_KIND_PLANNER
			case "heuristic":
				req.Kind = pb.GenomeKind_GENOME_KIND_HEURISTIC
			}
			if class != "" {
				cls, _ := lineage.ParseClass(class)
				req.Classification = coordinator.ClassToProto(cls)
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
	f := cmd.Flags()
	f.IntVar(&generation, "generation", -1, "generation to list, counted from 0 (unset: the last checkpointed)")
	f.IntVar(&from, "from", -1, "first generation of a range, instead of --generation (unset: 0)")
	f.IntVar(&to, "to", -1, "last generation of a range, instead of --generation (unset: the last)")
	f.StringVar(&kind, "kind", "", "only this genome kind: planner or heuristic")
	f.StringVar(&class, "class", "", "only this class: robustly-aligned, pseudo-aligned, capability-failure or misaligned")
	f.StringVar(&condition, "condition", "", "only individuals flagged under this shifted condition (and --class there)")
	f.Uint32Var(&pageSize, "page-size", 100, "individuals per call (1..1000)")
	return c.check(cmd, func([]string) error {
		for _, fl := range []struct {
			name string
			v    int
		}{{"generation", generation}, {"from", from}, {"to", to}} {
			if cmd.Flags().Changed(fl.name) && fl.v < 0 {
				return usageError{fmt.Errorf("--%s = %d, allowed a generation number ≥ 0", fl.name, fl.v)}
			}
		}
		if kind != "" && kind != "planner" && kind != "heuristic" {
			return usageError{fmt.Errorf("--kind %q, allowed planner or heuristic", kind)}
		}
		if class != "" {
			if cls, err := lineage.ParseClass(class); err != nil || cls == lineage.ClassUnknown {
				return usageError{fmt.Errorf("--class %q, allowed robustly-aligned, pseudo-aligned, capability-failure or misaligned", class)}
			}
		}
		if pageSize < 1 || pageSize > 1000 {
			return usageError{fmt.Errorf("--page-size = %d, allowed 1..1000", pageSize)}
		}
		return nil
	})
}

func descendantsCmd(c *client) *cobra.Command {
	var depth, limit uint32
	cmd := &cobra.Command{
		Use:   "descendants RUN_ID INDIVIDUAL_ID",
		Short: "List an individual's retained descendants, by depth",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[1])
			if err != nil {
				return err
			}
			ctx, cancel := c.call(cmd.Context())
			defer cancel()
			resp, err := c.lineage.GetDescendants(ctx, &pb.GetDescendantsRequest{RunId: args[0], IndividualId: id, MaxDepth: depth, Limit: limit})
			if err != nil {
				return err
			}
			if c.output == "json" {
				return c.json(cmd.OutOrStdout(), resp)
			}
			render.Individuals(cmd.OutOrStdout(), resp.GetIndividuals())
			if resp.GetTruncated() {
				fmt.Fprintf(cmd.OutOrStdout(), "(more descendants within depth %d; raise --limit)\n", depth)
			}
			return nil
		},
	}
	cmd.Flags().Uint32Var(&depth, "depth", 1, "generations of descent to follow (1..1000)")
	cmd.Flags().Uint32Var(&limit, "limit", 1000, "most individuals to list (1..10000)")
	return c.check(cmd, func(args []string) error {
		switch {
		case depth < 1 || depth > 1000:
			return usageError{fmt.Errorf("--depth = %d, allowed 1..1000", depth)}
		case limit < 1 || limit > 10000:
			return usageError{fmt.Errorf("--limit = %d, allowed 1..10000", limit)}
		}
		return individualIDs(args)
	})
}

func mrcaCmd(c *client) *cobra.Command {
	return c.check(&cobra.Command{
		Use:   "mrca RUN_ID INDIVIDUAL_ID INDIVIDUAL_ID...",
		Short: "Show the most recent common ancestor of individuals",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &pb.GetMRCARequest{RunId: args[0]}
			for _, a := range args[1:] {
				id, err := parseID(a)
				if err != nil {
					return err
				}
				req.IndividualIds = append(req.IndividualIds, id)
			}
			ctx, cancel := c.call(cmd.Context())
			defer cancel()
			resp, err := c.lineage.GetMRCA(ctx, req)
			if err != nil {
				return err
			}
			if c.output == "json" {
				return c.json(cmd.OutOrStdout(), resp)
			}
			w := cmd.OutOrStdout()
			if resp.GetMrca() == nil {
				fmt.Fprintln(w, "No common ancestor: the lines of descent lead to different generation-0 individuals.")
				return nil
			}
			fmt.Fprintf(w, "MRCA #%d, %d generations before the youngest:\n", resp.GetMrca().GetId(), resp.GetDepth())
			render.Individuals(w, []*pb.Individual{resp.GetMrca()})
			return nil
		},
	}, individualIDs)
}

func statsCmd(c *client) *cobra.Command {
	var watch bool
	var from int
	cmd := &cobra.Command{
		Use:   "stats RUN_ID",
		Short: "Show per-generation phylogenetic metrics (MRCA depth, diversity, shares, pruning)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			w := cmd.OutOrStdout()
			if !watch {
				req := &pb.GetGenerationStatsRequest{RunId: args[0]}
				if from >= 0 {
					g := uint32(from)
					req.MinGeneration = &g
				}
				ctx, cancel := c.call(cmd.Context())
				defer cancel()
				resp, err := c.lineage.GetGenerationStats(ctx, req)
				if err != nil {
					return err
				}
				if c.output == "json" {
					return c.json(w, resp)
				}
				render.Stats(w, resp.GetStats())
				return nil
			}
			stream, err := c.lineage.WatchGenerations(cmd.Context(), &pb.WatchGenerationsRequest{RunId: args[0], FromGeneration: uint32(max(from, 0))})
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
				if c.output == "json" {
					if err := c.json(w, msg); err != nil {
						return err
					}
					continue
				}
				render.Stats(w, []*pb.GenerationStats{msg.GetStats()})
			}
		},
	}
	cmd.Flags().BoolVar(&watch, "watch", false, "stream each generation's metrics as it is committed, until the run ends")
	cmd.Flags().IntVar(&from, "from", -1, "first generation to show")
	return c.check(cmd, func([]string) error {
		if cmd.Flags().Changed("from") && from < 0 {
			return usageError{fmt.Errorf("--from = %d, allowed a generation number ≥ 0", from)}
		}
		return nil
	})
}

func exportCmd(c *client) *cobra.Command {
	var format, file string
	cmd := &cobra.Command{
		Use:   "export RUN_ID --format alife|newick|dot",
		Short: "Export the retained phylogeny: ALife standard CSV, Newick or Graphviz DOT",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f := exportFormats[format]
			w := cmd.OutOrStdout()
			if file != "" {
				out, err := os.Create(file)
				if err != nil {
					return err
				}
				defer out.Close()
				w = out
			}
			stream, err := c.lineage.ExportPhylogeny(cmd.Context(), &pb.ExportPhylogenyRequest{RunId: args[0], Format: f})
			if err != nil {
				return err
			}
			for {
				msg, err := stream.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return err
				}
				if _, err := w.Write(msg.GetChunk()); err != nil {
					return err
				}
			}
			if out, ok := w.(*os.File); ok && file != "" {
				return out.Close()
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "alife", "alife (ALife data standard CSV), newick or dot")
	cmd.Flags().StringVarP(&file, "file", "f", "", "write to this file instead of standard output")
	return c.check(cmd, func([]string) error {
		if _, ok := exportFormats[format]; !ok {
			return usageError{fmt.Errorf("--format %q, allowed alife, newick or dot", format)}
		}
		return nil
	})
}

var exportFormats = map[string]pb.ExportFormat{
	"alife": pb.ExportFormat_EXPORT_FORMAT_ALIFE, "newick": pb.ExportFormat_EXPORT_FORMAT_NEWICK, "dot": pb.ExportFormat_EXPORT_FORMAT_DOT,
}
