package main

// mesactl workers: the workers the coordinator knows and what they did.

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

func workersCmd(c *client) *cobra.Command {
	return withOutputs(&cobra.Command{
		Use:   "workers",
		Short: "List the workers that joined the coordinator: address, capacity, build, state, evaluation digest and evaluations served",
		Long: "List the workers the coordinator knows through gossip, sorted by name. STATE is alive (gets work),\n" +
			"resting (its last calls failed; work again after a pause), draining (left, finishing its batches) or\n" +
			"quarantined (its answers were caught wrong; never work again). The counters count since the worker's\n" +
			"process joined. -o wide adds the batches in flight, consecutive failures and the join time.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := c.call(cmd.Context())
			defer cancel()
			resp, err := c.runs.ListWorkers(ctx, &pb.ListWorkersRequest{})
			if err != nil {
				return err
			}
			if c.document() {
				return c.json(cmd.OutOrStdout(), resp)
			}
			wide := c.output == "wide"
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			head := "NAME\tADDRESS\tCAPACITY\tBUILD\tSTATE\tDIGEST\tBATCHES\tEVALUATIONS"
			if wide {
				head += "\tIN FLIGHT\tFAILURES\tJOINED\tREASON"
			}
			fmt.Fprintln(tw, head)
			for _, w := range resp.GetWorkers() {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%d\t%d", w.GetName(), dash(w.GetAddress()), w.GetCapacity(), dash(w.GetBuild()),
					workerState(w.GetState()), dash(w.GetEvaluationDigest()), w.GetBatches(), w.GetEvaluations())
				if wide {
					joined := "-"
					if w.GetJoinedUnix() != 0 {
						joined = time.Unix(w.GetJoinedUnix(), 0).UTC().Format(time.DateTime)
					}
					fmt.Fprintf(tw, "\t%d\t%d\t%s\t%s", w.GetInFlight(), w.GetFailures(), joined, dash(w.GetReason()))
				}
				fmt.Fprintln(tw)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if len(resp.GetWorkers()) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "mesactl: no worker has joined this coordinator (or it evaluates in-process)")
			}
			return nil
		},
	}, "table", "wide", "json", "yaml")
}

// workerState is a worker state's lower-case name: "alive", "draining".
func workerState(s pb.WorkerState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "WORKER_STATE_"))
}

// dash is s, or "-" for an empty s, so that a table column is never blank.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
