package main

// Per-generation statistics and phylogeny exports.

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/mesaopt/mesaopt/internal/render"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

func statsCmd(c *client) *cobra.Command {
	var watch bool
	var from int
	cmd := &cobra.Command{
		Use:   "stats RUN_ID [-o table|json|csv]",
		Short: "Show per-generation phylogenetic metrics (MRCA depth, diversity, shares, pruning), or every statistic as CSV",
		Long: `Show per-generation phylogenetic metrics (MRCA depth, diversity, shares,
pruning): a table, or -o json for the GenerationStats messages.

-o csv writes every per-generation statistic of the run instead, one row
per generation after a header row: the generation summary of mesactl run
show joined with the phylogenetic metrics, for loading into a data frame
(pandas.read_csv, R read.csv). With --watch, rows follow as generations
are committed.

` + render.StatsColumnsDoc,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			w := cmd.OutOrStdout()
			if c.output == "csv" {
				return c.statsCSV(cmd, w, args[0], max(from, 0), watch)
			}
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
	withOutputs(cmd, "table", "json", "csv")
	cmd.Flags().BoolVar(&watch, "watch", false, "stream each generation's metrics as it is committed, until the run ends")
	cmd.Flags().IntVar(&from, "from", -1, "first generation to show")
	return c.check(cmd, func([]string) error {
		if cmd.Flags().Changed("from") && from < 0 {
			return usageError{fmt.Errorf("--from = %d, allowed a generation number ≥ 0", from)}
		}
		return nil
	})
}

// statsCSV writes run id's generation summaries from generation from on
// as CSV (render.StatsCSV); with watch it follows the run until it ends.
func (c *client) statsCSV(cmd *cobra.Command, w io.Writer, id string, from int, watch bool) error {
	ctx, cancel := c.call(cmd.Context())
	defer cancel()
	resp, err := c.runs.GetRun(ctx, &pb.GetRunRequest{RunId: id})
	if err != nil {
		return err
	}
	run := resp.GetRun()
	out := render.NewStatsCSV(w, run.GetFeatureNames(), render.StatsConditions(run))
	if err := out.WriteHeader(); err != nil {
		return err
	}
	if !watch {
		return writeStatsRows(out, run.GetSummaries(), uint32(from))
	}
	stream, err := c.runs.WatchRun(cmd.Context(), &pb.WatchRunRequest{RunId: id, FromGeneration: uint32(from)})
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
		if s := msg.GetSummary(); s != nil && s.GetGeneration() >= uint32(from) {
			if err := out.Write(s); err != nil {
				return err
			}
		}
	}
}

// writeStatsRows writes the summaries of generation from on.
func writeStatsRows(out *render.StatsCSV, sums []*pb.GenerationSummary, from uint32) error {
	for _, s := range sums {
		if s.GetGeneration() < from {
			continue
		}
		if err := out.Write(s); err != nil {
			return err
		}
	}
	return nil
}

func exportCmd(c *client) *cobra.Command {
	var format, file string
	var full bool
	cmd := withoutOutputs(&cobra.Command{
		Use:   "export RUN_ID --format alife|newick|dot [--full]",
		Short: "Export the retained phylogeny: ALife standard CSV, Newick or Graphviz DOT",
		Long: `Export the retained phylogeny: the ALife data standard CSV (every record, with origin_time and
destruction_time in generations), Newick (primary parents, nodes labelled id<ID>) or Graphviz DOT.
The DOT draws the lines of descent of the champions and of the drift origins (the flagged planners
where a flag began) and counts the other individuals per generation; --full draws every retained
individual.`,
		Args: cobra.ExactArgs(1),
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
			stream, err := c.lineage.ExportPhylogeny(cmd.Context(), &pb.ExportPhylogenyRequest{RunId: args[0], Format: f, Full: full})
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
	}, "allowed --format alife, newick or dot")
	cmd.Flags().StringVar(&format, "format", "alife", "alife (ALife data standard CSV), newick or dot")
	cmd.Flags().StringVarP(&file, "file", "f", "", "write to this file instead of standard output")
	cmd.Flags().BoolVar(&full, "full", false, "with --format dot: draw every retained individual, not only the champions' and drift origins' lines of descent")
	return c.check(cmd, func([]string) error {
		if _, ok := exportFormats[format]; !ok {
			return usageError{fmt.Errorf("--format %q, allowed alife, newick or dot", format)}
		}
		if full && format != "dot" {
			return usageError{fmt.Errorf("--full applies to --format dot only, not %q", format)}
		}
		return nil
	})
}

var exportFormats = map[string]pb.ExportFormat{
	"alife": pb.ExportFormat_EXPORT_FORMAT_ALIFE, "newick": pb.ExportFormat_EXPORT_FORMAT_NEWICK, "dot": pb.ExportFormat_EXPORT_FORMAT_DOT,
}
