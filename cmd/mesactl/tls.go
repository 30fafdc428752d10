package main

import (
	"fmt"
	"io"

	"google.golang.org/grpc/credentials/insecure"

	"github.com/mesaopt/mesaopt/internal/mtls"
)

// tlsCredentials vets --tls-cert, --tls-key, --tls-ca and --insecure and
// sets c.creds: mutual TLS toward a server whose certificate carries role
// coordinator and names the host dialled, or plaintext with --insecure
// (after one warning line on stderr).
func (c *client) tlsCredentials(stderr io.Writer) error {
	given := c.tlsCert != "" || c.tlsKey != "" || c.tlsCA != ""
	switch {
	case c.insecure && given:
		return usageError{fmt.Errorf("--insecure with --tls-cert, --tls-key or --tls-ca (or MESAOPT_TLS_*), allowed one of them: TLS files or --insecure")}
	case c.insecure:
		fmt.Fprintln(stderr, "mesactl: warning: --insecure: plaintext gRPC, no client certificate")
		c.creds = insecure.NewCredentials()
		return nil
	case !given:
		return usageError{fmt.Errorf("no TLS credentials: give --tls-cert, --tls-key and --tls-ca (env MESAOPT_TLS_CERT, MESAOPT_TLS_KEY, MESAOPT_TLS_CA; `mesaopt run` prints them), or --insecure for a coordinator started with --insecure")}
	}
	for _, f := range []struct{ flag, v string }{{"tls-cert", c.tlsCert}, {"tls-key", c.tlsKey}, {"tls-ca", c.tlsCA}} {
		if f.v == "" {
			return usageError{fmt.Errorf("--%s is not given: --tls-cert, --tls-key and --tls-ca go together, each a PEM file", f.flag)}
		}
	}
	id, err := mtls.Load(c.tlsCert, c.tlsKey, c.tlsCA)
	if err != nil {
		return usageError{fmt.Errorf("--tls-cert/--tls-key/--tls-ca: %w", err)}
	}
	if id.Require(mtls.RoleReadOnly) != nil && id.Require(mtls.RoleOperator) != nil {
		return usageError{fmt.Errorf("--tls-cert %s has roles %v, allowed a client certificate of role operator or read-only (mesaopt certs init makes operator.pem and read-only.pem)", c.tlsCert, id.Roles())}
	}
	c.creds = id.ClientCredentials(mtls.RoleCoordinator)
	return nil
}
