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
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
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

// newRoot returns mesactl's command tree writing to stdout and stderr.
func newRoot(stdout, stderr io.Writer) *cobra.Command {
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
	root.SetOut(stdout) // before completion(root): its scripts go where it was then
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&c.addr, "coordinator", envOr("MESAOPT_COORDINATOR", "127.0.0.1:7070"), "coordinator gRPC address, or several comma-separated (a leader and its standbys: the one that leads is used; env MESAOPT_COORDINATOR)")
	pf.StringVar(&c.etcd, "etcd", os.Getenv("MESAOPT_ETCD"), "find the leading coordinator through these etcd endpoints (comma-separated; env MESAOPT_ETCD) instead of --coordinator")
	pf.StringVarP(&c.output, "output", "o", "table", "output format: table, json (every field, zeros included), yaml (the same document), wide (mesactl workers) or csv (mesactl stats, mesactl sweep show)")
	pf.DurationVar(&c.timeout, "timeout", 5*time.Second, "deadline of each call")
	pf.StringVar(&c.tlsCert, "tls-cert", os.Getenv("MESAOPT_TLS_CERT"), "PEM client certificate with role operator or read-only (env MESAOPT_TLS_CERT; mesaopt certs init makes both)")
	pf.StringVar(&c.tlsKey, "tls-key", os.Getenv("MESAOPT_TLS_KEY"), "PEM private key of --tls-cert (env MESAOPT_TLS_KEY)")
	pf.StringVar(&c.tlsCA, "tls-ca", os.Getenv("MESAOPT_TLS_CA"), "PEM bundle of the CA(s) that sign the cluster's certificates (env MESAOPT_TLS_CA)")
	pf.BoolVar(&c.insecure, "insecure", false, "talk plaintext gRPC to a coordinator started with --insecure")
	pf.StringVar(&c.etcdTLS.TrustedCAFile, "etcd-cacert", os.Getenv("MESAOPT_ETCD_CACERT"), "with --etcd: CA bundle that signed the etcd servers' certificates (enables TLS; env MESAOPT_ETCD_CACERT)")
	pf.StringVar(&c.etcdTLS.CertFile, "etcd-cert", os.Getenv("MESAOPT_ETCD_CERT"), "with --etcd: client certificate for etcd (mutual TLS; env MESAOPT_ETCD_CERT)")
	pf.StringVar(&c.etcdTLS.KeyFile, "etcd-key", os.Getenv("MESAOPT_ETCD_KEY"), "with --etcd: client key for etcd (env MESAOPT_ETCD_KEY)")
	root.AddCommand(runsCmd(c), runCmd(c), sweepCmd(c), workersCmd(c), lineageCmd(c), flaggedCmd(c), descendantsCmd(c), mrcaCmd(c), statsCmd(c), exportCmd(c), plotCmd(c), evaluateCmd(c), sensitivityCmd(c), versionCmd(c))
	versionFlag(root)
	completion(root)
	c.completeIDs(root)
	return root
}
