package main

// mesactl evaluate: score hand-written genomes on the cluster's workers.

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/internal/render"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

func evaluateCmd(c *client) *cobra.Command {
	var file string
	var genomeFiles []string
	var spec experiment.Spec
	var names []string
	var genomes []*pb.Genome
	cmd := &cobra.Command{
		Use:   "evaluate [-f experiment.yaml] --genome FILE [--genome FILE ...]",
		Short: "Score hand-written genomes on the experiment's analysis instances, on the cluster's workers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := c.call(cmd.Context())
			defer cancel()
			resp, err := c.runs.EvaluateGenomes(ctx, &pb.EvaluateGenomesRequest{Spec: spec.ToProto(), Genomes: genomes})
			if err != nil {
				return err
			}
			if c.document() {
				return c.json(cmd.OutOrStdout(), resp)
			}
			render.Evaluation(cmd.OutOrStdout(), names, resp.GetIndividuals())
			return nil
		},
	}
	c.check(cmd, func([]string) error {
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
		if len(genomeFiles) == 0 {
			return usageError{fmt.Errorf("--genome is required, allowed one or more genome files (YAML or JSON)")}
		}
		for _, path := range genomeFiles {
			gs, err := genome.LoadFile(path, spec.Shape())
			if err != nil {
				return usageError{err}
			}
			for _, g := range gs {
				names = append(names, g.Name)
				genomes = append(genomes, genome.ToProto(g.Genome))
			}
		}
		return nil
	})
	cmd.Flags().StringVarP(&file, "file", "f", "", "experiment file (default: the built-in door-maze experiment)")
	cmd.Flags().StringArrayVar(&genomeFiles, "genome", nil, "genome file, YAML or JSON, one or more genomes (repeatable)")
	return cmd
}
