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
