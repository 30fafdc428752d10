package main

// Lineage queries: individuals, lines of descent, drift origins, flagged
// planners, descendants and most recent common ancestors.

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/mesaopt/mesaopt/coordinator"
	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/internal/render"
	"github.com/mesaopt/mesaopt/lineage"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

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
			if c.document() {
				// One document: {"line_of_descent": ..., "drift_origin": ...}.
				line, err := jsonOptions.Marshal(resp)
				if err != nil {
					return err
				}
				orig, err := jsonOptions.Marshal(origin)
				if err != nil {
					return err
				}
				doc, err := json.MarshalIndent(map[string]json.RawMessage{"line_of_descent": line, "drift_origin": orig}, "", "  ")
				if err != nil {
					return err
				}
				return c.write(cmd.OutOrStdout(), doc)
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
			if c.document() {
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
			if c.document() {
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
			if c.document() {
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
