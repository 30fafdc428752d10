package main

// mesactl sensitivity: a generation's verdicts at other thresholds.

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mesaopt/mesaopt/internal/render"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

func sensitivityCmd(c *client) *cobra.Command {
	var gen int64
	cmd := &cobra.Command{
		Use:   "sensitivity RUN_ID [--generation G]",
		Short: "Recompute a generation's verdicts and flags with each threshold moved over a grid",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &pb.GetSensitivityRequest{RunId: args[0]}
			if gen >= 0 {
				g := uint32(gen)
				req.Generation = &g
			}
			ctx, cancel := c.call(cmd.Context())
			defer cancel()
			resp, err := c.lineage.GetSensitivity(ctx, req)
			if err != nil {
				return err
			}
			if c.document() {
				return c.json(cmd.OutOrStdout(), resp)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Generation %d of %s:\n", resp.GetGeneration(), args[0])
			render.Sensitivity(cmd.OutOrStdout(), resp.GetRows())
			return nil
		},
	}
	c.check(cmd, func([]string) error {
		if cmd.Flags().Changed("generation") && gen < 0 {
			return usageError{fmt.Errorf("--generation = %d, allowed a generation number ≥ 0", gen)}
		}
		return nil
	})
	cmd.Flags().Int64Var(&gen, "generation", -1, "generation (default: the last evaluated)")
	return cmd
}
