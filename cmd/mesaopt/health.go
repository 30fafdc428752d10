package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/mesaopt/mesaopt/internal/grpcconf"
	"github.com/mesaopt/mesaopt/internal/mtls"
)

// healthCmd is the health check of containers: a FROM scratch image has
// no shell or grpc_health_probe, and native gRPC probes cannot do mutual
// TLS. It reads the daemon's own --tls-ca from $MESAOPT_TLS_CA (bindEnv),
// so in a container configured by environment it needs only the address.
func healthCmd() *cobra.Command {
	var caFile, service string
	var plaintext, live bool
	timeout := 3 * time.Second
	cmd := &cobra.Command{
		Use:   "health ADDR (--tls-ca FILE | --insecure)",
		Short: "Check that a coordinator or worker answers gRPC health at ADDR (exit 0: serving)",
		Long: "Calls grpc.health.v1.Health/Check at ADDR (host:port) and exits 0 when the answer is SERVING, 1 otherwise.\n" +
			"A standby coordinator answers NOT_SERVING until it leads: with --live any answer counts (a liveness probe),\n" +
			"without it only the leader passes (a readiness probe, so a Service routes clients to the leader).\n" +
			"Every flag is also read from MESAOPT_<FLAG> (e.g. MESAOPT_TLS_CA), as the daemons' are.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			addr := args[0]
			if err := checkAddr("ADDR", addr, false); err != nil {
				return usagef("ADDR = %q, allowed host:port with a port 1..65535", addr)
			}
			if timeout <= 0 {
				return usagef("--timeout = %v, allowed a positive duration", timeout)
			}
			var creds credentials.TransportCredentials
			switch {
			case plaintext && caFile != "":
				return usagef("--insecure with --tls-ca, allowed one of them")
			case plaintext:
				creds = insecure.NewCredentials()
			case caFile == "":
				return usagef("--tls-ca is missing, allowed the PEM CA bundle of the cluster (or --insecure for a daemon started with --insecure)")
			default:
				if err := checkPEMFile("tls-ca", caFile); err != nil {
					return err
				}
				tc, err := mtls.ProbeTLS(caFile)
				if err != nil {
					return usagef("--tls-ca = %q: %v", caFile, err)
				}
				creds = credentials.NewTLS(tc)
			}
			conn, err := grpc.NewClient(addr, append(grpcconf.ClientOptions(), grpc.WithTransportCredentials(creds))...)
			if err != nil {
				return usagef("ADDR = %q: %v", addr, err)
			}
			defer conn.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
			if err != nil {
				return fmt.Errorf("%s: no health answer within %v: %v", addr, timeout, status.Convert(err).Message())
			}
			st := resp.GetStatus()
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", addr, st)
			if st == healthpb.HealthCheckResponse_SERVING || live {
				return nil
			}
			return exitError{code: 1, err: fmt.Errorf("%s answers %s (a standby coordinator, or shutting down; --live accepts any answer)", addr, st)}
		},
	}
	f := cmd.Flags()
	f.StringVar(&caFile, "tls-ca", "", "PEM bundle of the CA(s) that sign the cluster's certificates (env MESAOPT_TLS_CA)")
	f.BoolVar(&plaintext, "insecure", false, "plaintext gRPC, for a daemon started with --insecure")
	f.BoolVar(&live, "live", false, "exit 0 on any answer, NOT_SERVING included (liveness: the process answers)")
	f.StringVar(&service, "service", "", `health service name to check ("": the server as a whole)`)
	f.DurationVar(&timeout, "timeout", timeout, "give up after this long")
	return bindEnv(cmd, nil)
}
