package mtls

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"

	"google.golang.org/grpc/credentials"
)

// Errors of Load and of a peer's verification.
var (
	// ErrNoRole is wrapped when a certificate lacks the role its use needs.
	ErrNoRole = errors.New("certificate lacks the role")
	// ErrNoCA is wrapped when the CA file holds no certificate.
	ErrNoCA = errors.New("no CA certificate")
)

// Identity is a process's certificate and key, and the CA bundle it
// trusts for its peers. It is immutable and safe for concurrent use.
type Identity struct {
	cert  tls.Certificate
	leaf  *x509.Certificate
	roots *x509.CertPool
}

// Load reads a PEM certificate (chain) and its key, and the PEM CA bundle
// that signs the cluster's certificates. Errors name the file.
func Load(certFile, keyFile, caFile string) (*Identity, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("certificate %s with key %s: %w", certFile, keyFile, err)
	}
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("CA bundle: %w", err)
	}
	return newIdentity(cert, ca, caFile)
}

// FromPEM is Load from PEM bytes.
func FromPEM(certPEM, keyPEM, caPEM []byte) (*Identity, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("certificate and key: %w", err)
	}
	return newIdentity(cert, caPEM, "CA bundle")
}

func newIdentity(cert tls.Certificate, caPEM []byte, caName string) (*Identity, error) {
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s: %w in PEM", caName, ErrNoCA)
	}
	// A certificate the CA bundle did not sign would start a process
	// that every peer then refuses at each call: say so at start.
	inter := x509.NewCertPool()
	for _, der := range cert.Certificate[1:] {
		if c, err := x509.ParseCertificate(der); err == nil {
			inter.AddCert(c)
		}
	}
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, fmt.Errorf("certificate %q is not one the CA bundle %s signed: %w", cert.Leaf.Subject.CommonName, caName, err)
	}
	return &Identity{cert: cert, leaf: cert.Leaf, roots: roots}, nil
}

// Roles returns the roles of this identity's certificate.
func (id *Identity) Roles() []Role { return RolesOf(id.leaf) }

// Require returns an error wrapping ErrNoRole unless the certificate
// carries r (what `--tls-cert` must be for the process being started).
func (id *Identity) Require(r Role) error {
	if slices.Contains(id.Roles(), r) {
		return nil
	}
	return fmt.Errorf("%w %s: its URI SANs %s, needed %s", ErrNoRole, r, uriList(id.leaf), RoleURI(r))
}

// ServerTLS is the configuration of a server: TLS 1.3, this identity's
// certificate, and client certificates verified against the CA when given
// (the interceptors of Policy refuse calls without one where a role is
// needed).
func (id *Identity) ServerTLS() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{id.cert},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    id.roots,
	}
}

// ClientTLS is the configuration of a client that presents this
// identity's certificate and accepts only a server whose certificate the
// CA signed for server use and that carries role peer. With byName the
// certificate must also name the host dialled (a DNS or IP SAN), as for
// a coordinator an operator dials by name; without, the role alone
// identifies the server, as for workers found by gossip, whose addresses
// are hints that no certificate could list in advance.
//
// The name checked is the handshake's server name (SNI), which a client
// does not send for an IP address: with byName and no server name the
// handshake fails rather than skip the check. A gRPC client that dials by
// address uses ClientCredentials, which checks the host of the address
// dialled, IP addresses included.
func (id *Identity) ClientTLS(peer Role, byName bool) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{id.cert},
		// The chain, the name and the role are verified in VerifyConnection.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if !byName {
				return verifyServer(cs, id.roots, peer, "")
			}
			if cs.ServerName == "" {
				return errors.New("no server name to verify the server certificate against")
			}
			return verifyServer(cs, id.roots, peer, cs.ServerName)
		},
	}
}

// ClientCredentials are the gRPC transport credentials of a client that
// dials a server by its address, as an operator dials a coordinator:
// ClientTLS(peer, true), the certificate also naming the host of the
// address dialled (its DNS name or IP address, from the dial target, as
// an IP address sends no SNI).
func (id *Identity) ClientCredentials(peer Role) credentials.TransportCredentials {
	return &byAddress{TransportCredentials: credentials.NewTLS(id.ClientTLS(peer, false)), id: id, peer: peer}
}

// byAddress verifies the server against the host of each dial's target.
type byAddress struct {
	credentials.TransportCredentials
	id   *Identity
	peer Role
}

func (b *byAddress) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	host, _, err := net.SplitHostPort(authority)
	if err != nil {
		host = authority
	}
	cfg := b.id.ClientTLS(b.peer, false)
	cfg.VerifyConnection = func(cs tls.ConnectionState) error { return verifyServer(cs, b.id.roots, b.peer, host) }
	return credentials.NewTLS(cfg).ClientHandshake(ctx, authority, raw)
}

func (b *byAddress) Clone() credentials.TransportCredentials {
	c := *b
	c.TransportCredentials = b.TransportCredentials.Clone()
	return &c
}

// verifyServer checks the chain, the server usage, the role and, unless
// name is empty, that the certificate names name (a DNS name or an IP
// address).
func verifyServer(cs tls.ConnectionState, roots *x509.CertPool, peer Role, name string) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("server sent no certificate")
	}
	leaf := cs.PeerCertificates[0]
	opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, c := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	opts.DNSName = name
	if _, err := leaf.Verify(opts); err != nil {
		return fmt.Errorf("server certificate: %w", err)
	}
	if !grants(RolesOf(leaf), peer) {
		return fmt.Errorf("server certificate %q: %w %s (URI SANs %s, needed %s)", leaf.Subject.CommonName, ErrNoRole, peer, uriList(leaf), RoleURI(peer))
	}
	return nil
}

func uriList(c *x509.Certificate) string {
	if c == nil || len(c.URIs) == 0 {
		return "none"
	}
	s := make([]string, len(c.URIs))
	for i, u := range c.URIs {
		s[i] = u.String()
	}
	return strings.Join(s, ", ")
}
