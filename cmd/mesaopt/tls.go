package main

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mesaopt/mesaopt/internal/mtls"
)

// tlsFlags are the TLS flags of the coordinator and the worker.
type tlsFlags struct {
	cert, key, ca string
	insecure      bool
}

func (t *tlsFlags) register(f *pflag.FlagSet, role mtls.Role) {
	f.StringVar(&t.cert, "tls-cert", "", fmt.Sprintf("PEM certificate of this %s (URI SAN %s; mesaopt certs init makes one)", role, mtls.RoleURI(role)))
	f.StringVar(&t.key, "tls-key", "", "PEM private key of --tls-cert")
	f.StringVar(&t.ca, "tls-ca", "", "PEM bundle of the CA(s) that sign the cluster's certificates")
	f.BoolVar(&t.insecure, "insecure", false, "serve and dial gRPC in plaintext with no authentication, and allow gossip without a key off loopback (tests, one machine; logs a warning)")
}

// identity vets the flags and loads the identity of role; it returns nil
// with --insecure, after one warning (warn) unless quiet.
func (t tlsFlags) identity(role mtls.Role, quiet bool, warn func(string)) (*mtls.Identity, error) {
	given := t.cert != "" || t.key != "" || t.ca != ""
	switch {
	case t.insecure && given:
		return nil, usagef("--insecure with --tls-cert, --tls-key or --tls-ca, allowed one of them: TLS files or --insecure")
	case t.insecure:
		if !quiet {
			warn(fmt.Sprintf("--insecure: %s gRPC is plaintext and unauthenticated; anyone who reaches it can use it", role))
		}
		return nil, nil
	case !given:
		return nil, usagef("no TLS credentials: give --tls-cert, --tls-key and --tls-ca (mesaopt certs init DIR makes them), or --insecure for plaintext")
	}
	for _, f := range []struct{ flag, v string }{{"tls-cert", t.cert}, {"tls-key", t.key}, {"tls-ca", t.ca}} {
		if f.v == "" {
			return nil, usagef("--%s is missing, allowed a PEM file; --tls-cert, --tls-key and --tls-ca go together", f.flag)
		}
		if err := checkPEMFile(f.flag, f.v); err != nil {
			return nil, err
		}
	}
	id, err := mtls.Load(t.cert, t.key, t.ca)
	if err != nil {
		return nil, usagef("--tls-cert/--tls-key/--tls-ca: %v", err)
	}
	if err := id.Require(role); err != nil {
		return nil, usagef("--tls-cert = %q: %v", t.cert, err)
	}
	return id, nil
}

func certsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "certs",
		Short: "Make TLS certificates for a quick start",
	}
	var hosts string
	initCmd := &cobra.Command{
		Use:   "init DIR",
		Short: "Make a CA and the coordinator, worker, operator and read-only certificates in DIR",
		Long: "Writes DIR/ca.pem and DIR/ca-key.pem (the CA; keep ca-key.pem offline once done), and NAME.pem with NAME-key.pem\n" +
			"for coordinator, worker, operator and read-only (ECDSA P-256; keys 0600). Server certificates name localhost,\n" +
			"127.0.0.1, ::1 and every --host. Existing files are never overwritten.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if dir == "" {
				return usagef("DIR is empty, allowed a directory for the certificates")
			}
			if err := mtls.WriteDir(dir, splitList(hosts)); err != nil {
				if errors.Is(err, fs.ErrExist) {
					return exitError{code: 2, err: err}
				}
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "certificates in %s (CA: %s, valid %d days):\n", dir, mtls.CertFile(dir, mtls.FileCA), int(mtls.CertValidity.Hours()/24))
			fmt.Fprintf(out, "  %s coordinator %s ...\n", besideSelf("mesaopt"), tlsArgs(dir, mtls.FileCoordinator))
			fmt.Fprintf(out, "  %s worker %s ...\n", besideSelf("mesaopt"), tlsArgs(dir, mtls.FileWorker))
			fmt.Fprintf(out, "  %s %s ...      (submit, cancel: operator)\n", mesactlPath(), tlsArgs(dir, mtls.FileOperator))
			fmt.Fprintf(out, "  %s %s ...     (read only)\n", mesactlPath(), tlsArgs(dir, mtls.FileReadOnly))
			return nil
		},
	}
	initCmd.Flags().StringVar(&hosts, "host", "", "further DNS names or IP addresses of the coordinator and worker certificates, comma-separated")
	cmd.AddCommand(initCmd)
	return cmd
}

// tlsArgs spells the TLS flags of identity name in dir.
func tlsArgs(dir, name string) string {
	return fmt.Sprintf("--tls-cert %s --tls-key %s --tls-ca %s", mtls.CertFile(dir, name), mtls.KeyFile(dir, name), mtls.CertFile(dir, mtls.FileCA))
}
