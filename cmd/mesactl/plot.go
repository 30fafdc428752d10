package main

// mesactl plot: a run's or a sweep's figures as SVG, PNG or PDF files
// (package internal/plot draws them).

import (
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mesaopt/mesaopt/internal/figures"
	"github.com/mesaopt/mesaopt/internal/plot"
	"github.com/mesaopt/mesaopt/internal/sweepview"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/sweep"
)

// plotKinds are the --what values, in the order messages name them.
var plotKinds = []string{"fitness", "classes", "horizon", "lineage"}

func plotCmd(c *client) *cobra.Command {
	var what, file, group string
	cmd := withoutOutputs(&cobra.Command{
		Use:   "plot RUN_ID|SWEEP_ID --what fitness|classes|horizon|lineage --file out.svg|out.png|out.pdf",
		Short: "Draw a run's or a sweep's figure for a paper: fitness curves, classes, horizons or a flagged line of descent",
		Long: `Draw one figure of a run, or of a sweep's runs together, into --file (SVG, PNG or PDF by its extension).

  fitness  best and mean fitness, mean train base and mean shifted base per generation (1-based)
  classes  the last generation's class shares under each shifted condition, as grouped bars
  horizon  the planners' median horizon per generation above the planner share (0..1)
  lineage  the line of descent of the last generation's fittest flagged planner: agreement and base
           under train and each shifted condition per generation, its drift origin marked (runs only;
           exit 1 when no planner is flagged)

For a sweep every figure is the mean over its runs with a 95 % bootstrap interval (a band, or error
bars): of the group --group names, by default the first one mesactl sweep show lists.`,
		Args: cobra.ExactArgs(1),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, s string) ([]cobra.Completion, cobra.ShellCompDirective) {
			runs, d := c.completeRuns(cmd, args, s)
			sweeps, _ := c.completeSweeps(cmd, args, s)
			return append(runs, sweeps...), d
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			format, _ := plot.FormatOf(file) // vetted by the check below
			charts, err := c.plotCharts(cmd, args[0], what, group)
			if err != nil {
				return err
			}
			b, err := plot.Render(format, charts...)
			if err != nil {
				return err
			}
			return os.WriteFile(file, b, 0o644)
		},
	}, "allowed --file PATH with .svg, .png or .pdf")
	cmd.Flags().StringVar(&what, "what", "fitness", "the figure: "+orList(plotKinds))
	cmd.Flags().StringVarP(&file, "file", "f", "", "write the figure to this file; its extension (.svg, .png or .pdf) chooses the format")
	cmd.Flags().StringVar(&group, "group", "", "with a sweep id: the group of runs to draw (all, or path=value as mesactl sweep show names them); default the first")
	return c.check(cmd, func([]string) error {
		if !slices.Contains(plotKinds, what) {
			return usageError{fmt.Errorf("--what %q, allowed %s", what, orList(plotKinds))}
		}
		if file == "" {
			return usageError{errors.New("--file is required, allowed a path ending in .svg, .png or .pdf")}
		}
		if _, err := plot.FormatOf(file); err != nil {
			return usageError{fmt.Errorf("--file %q, allowed a path ending in .svg, .png or .pdf", file)}
		}
		return nil
	})
}

// plotCharts fetches id as a run, or else as a sweep, and returns the
// charts of what.
func (c *client) plotCharts(cmd *cobra.Command, id, what, group string) ([]plot.Chart, error) {
	ctx, cancel := c.call(cmd.Context())
	resp, err := c.runs.GetRun(ctx, &pb.GetRunRequest{RunId: id})
	cancel()
	if status.Code(err) == codes.NotFound {
		_, params, runs, serr := sweepview.Load(cmd.Context(), c.runs, id, c.timeout)
		if status.Code(serr) == codes.NotFound {
			return nil, fmt.Errorf("no run or sweep %q", id)
		}
		if serr != nil {
			return nil, serr
		}
		if what == "lineage" {
			return nil, usageError{fmt.Errorf("--what lineage takes a run id; %s is a sweep, allowed fitness, classes or horizon", id)}
		}
		g, err := figures.Group(sweep.Aggregate(params, runs), group)
		if ug := (*figures.UnknownGroupError)(nil); errors.As(err, &ug) {
			return nil, usageError{fmt.Errorf("--group %q, allowed %s", ug.Name, orList(ug.Allowed))}
		}
		if err != nil {
			return nil, fmt.Errorf("sweep %s: %w", id, err)
		}
		return figures.Sweep(id, what, g)
	}
	if err != nil {
		return nil, err
	}
	if group != "" {
		return nil, usageError{fmt.Errorf("--group %q applies to a sweep id; %s is a run", group, id)}
	}
	r := resp.GetRun()
	if len(r.GetSummaries()) == 0 {
		return nil, fmt.Errorf("run %s has no generation yet: %w", id, figures.ErrNothing)
	}
	title := fmt.Sprintf("run %s (seed %d)", r.GetRunId(), r.GetSpec().GetSeed())
	switch what {
	case "fitness":
		return []plot.Chart{figures.Fitness(title, r.GetSummaries())}, nil
	case "classes":
		return figures.Classes(title, r)
	case "horizon":
		return figures.Horizon(title, r.GetSummaries()), nil
	}
	return c.lineagePlot(cmd, title, r)
}

// lineagePlot draws the line of descent of the last generation's fittest
// flagged planner (ties: lowest id).
func (c *client) lineagePlot(cmd *cobra.Command, title string, r *pb.Run) ([]plot.Chart, error) {
	var flagged []*pb.Individual
	req := &pb.ListFlaggedRequest{RunId: r.GetRunId(), Kind: pb.GenomeKind_GENOME_KIND_PLANNER, PageSize: 1000}
	for {
		ctx, cancel := c.call(cmd.Context())
		resp, err := c.lineage.ListFlagged(ctx, req)
		cancel()
		if err != nil {
			return nil, err
		}
		flagged = append(flagged, resp.GetIndividuals()...)
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	top := figures.TopFlagged(flagged)
	if top == nil {
		return nil, fmt.Errorf("run %s has no flagged planner in its last generation: no line of descent to plot", r.GetRunId())
	}
	ctx, cancel := c.call(cmd.Context())
	defer cancel()
	line, err := c.lineage.GetLineOfDescent(ctx, &pb.GetLineOfDescentRequest{RunId: r.GetRunId(), IndividualId: top.GetId()})
	if err != nil {
		return nil, err
	}
	origin, err := c.lineage.GetDriftOrigin(ctx, &pb.GetDriftOriginRequest{RunId: r.GetRunId(), IndividualId: top.GetId()})
	if err != nil {
		return nil, err
	}
	return figures.Lineage(fmt.Sprintf("%s: line of descent of #%d", title, top.GetId()), line.GetIndividuals(), origin.GetOrigin()), nil
}
