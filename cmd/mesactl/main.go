// Command mesactl inspects mesaopt runs and lineages over gRPC.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mesaopt/mesaopt/experiment"
)

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
	pf.StringVarP(&c.output, "output", "o", "table", "output format: table, json (every field, zeros included) or csv (mesactl stats, mesactl sweep show)")
	pf.DurationVar(&c.timeout, "timeout", 5*time.Second, "deadline of each call")
	root.AddCommand(runsCmd(c), runCmd(c), sweepCmd(c), lineageCmd(c), flaggedCmd(c), descendantsCmd(c), mrcaCmd(c), statsCmd(c), exportCmd(c), evaluateCmd(c), sensitivityCmd(c))
	return root
}
