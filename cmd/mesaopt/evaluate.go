package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/mesaopt/mesaopt/coordinator"
	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/internal/render"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/worker"
)

func evaluateCmd() *cobra.Command {
	var file, output string
	var genomeFiles []string
	cmd := &cobra.Command{
		Use:   "evaluate [-f experiment.yaml] --genome FILE [--genome FILE ...] [-o table|json]",
		Short: "Score hand-written genomes on an experiment's analysis instances, in-process (no etcd)",
		Long: "Plays each genome on the experiment's selection episodes of generation 0 and on its analysis instances of every\n" +
			"condition (train, the shifted ones, identity), then classifies and flags it exactly as a run would.\n" +
			"Genome files are YAML or JSON (see the README: kind, objective by feature name, horizon, node_budget; heuristic weights).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" {
				return exitError{code: 2, err: fmt.Errorf("-o %q, allowed table or json", output)}
			}
			if len(genomeFiles) == 0 {
				return exitError{code: 2, err: fmt.Errorf("--genome is required, allowed one or more genome files (YAML or JSON)")}
			}
			spec := experiment.Default()
			if file != "" {
				var err error
				if spec, err = experiment.Load(file); err != nil {
					return exitError{code: 2, err: err}
				}
			}
			var names []string
			var genomes []genome.Genome
			for _, path := range genomeFiles {
				gs, err := genome.LoadFile(path, spec.Shape())
				if err != nil {
					return exitError{code: 2, err: err}
				}
				for _, g := range gs {
					names = append(names, g.Name)
					genomes = append(genomes, g.Genome)
				}
			}
			records, err := coordinator.EvaluateGenomes(cmd.Context(), worker.NewEngine(runtime.NumCPU()), spec, genomes)
			if err != nil {
				return err
			}
			inds := make([]*pb.Individual, len(records))
			for i, r := range records {
				inds[i] = coordinator.RecordToProto(r, &genomes[i])
			}
			return printEvaluation(cmd.OutOrStdout(), output, names, inds)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", "experiment file (default: the built-in door-maze experiment)")
	f.StringArrayVar(&genomeFiles, "genome", nil, "genome file, YAML or JSON, one or more genomes (repeatable)")
	f.StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

// printEvaluation writes the evaluated genomes as a table or as one JSON
// document per genome ({"name": ..., "individual": ...}).
func printEvaluation(w io.Writer, output string, names []string, inds []*pb.Individual) error {
	if output == "table" {
		render.Evaluation(w, names, inds)
		return nil
	}
	for i, in := range inds {
		b, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(in)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "{\"name\": %q, \"individual\": %s}\n", names[i], b)
	}
	return nil
}
