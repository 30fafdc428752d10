package mtls_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mesaopt/mesaopt/internal/mtls"
)

// issuer mints identities of one fresh CA.
type issuer struct {
	t  *testing.T
	ca *mtls.Authority
}

func newIssuer(t *testing.T, name string) *issuer {
	t.Helper()
	ca, err := mtls.NewAuthority(name)
	if err != nil {
		t.Fatal(err)
	}
	return &issuer{t: t, ca: ca}
}

func (i *issuer) issue(r mtls.Request) *mtls.Identity {
	i.t.Helper()
	cert, key, err := i.ca.Issue(r)
	if err != nil {
		i.t.Fatal(err)
	}
	id, err := mtls.FromPEM(cert, key, i.ca.CertPEM())
	if err != nil {
		i.t.Fatal(err)
	}
	return id
}

func (i *issuer) client(name string, roles ...mtls.Role) *mtls.Identity {
	return i.issue(mtls.Request{Name: name, Roles: roles, Client: true})
}

// TestRequireHTTP: a TLS server behind RequireHTTP(read-only) answers 401
// without a client certificate, 403 with one lacking the role, 200 to
// read-only and operator, and refuses another CA's certificate at the
// handshake.
func TestRequireHTTP(t *testing.T) {
	ours := newIssuer(t, "test CA")
	server := ours.issue(mtls.Request{Name: "coordinator", Roles: []mtls.Role{mtls.RoleCoordinator}, Server: true, Client: true, Hosts: []string{"127.0.0.1"}})
	srv := httptest.NewUnstartedServer(mtls.RequireHTTP(mtls.RoleReadOnly, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "served")
	})))
	srv.TLS = server.ServerTLS()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	srv.StartTLS()
	defer srv.Close()

	get := func(cfg *tls.Config) (int, string, error) {
		t.Helper()
		tr := &http.Transport{TLSClientConfig: cfg}
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		resp, err := c.Get(srv.URL + "/")
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}

	// Without a client certificate: the server is still verified.
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ours.ca.CertPEM())
	code, body, err := get(&tls.Config{MinVersion: tls.VersionTLS13, RootCAs: roots})
	if err != nil {
		t.Fatalf("without a certificate: %v", err)
	}
	if code != http.StatusUnauthorized || !strings.Contains(body, string(mtls.RoleReadOnly)) {
		t.Errorf("without a certificate: %d %q, want 401 naming role %s", code, body, mtls.RoleReadOnly)
	}

	worker := ours.client("worker-7", mtls.RoleWorker)
	code, body, err = get(worker.ClientTLS(mtls.RoleCoordinator, false))
	if err != nil {
		t.Fatalf("worker: %v", err)
	}
	if code != http.StatusForbidden || !strings.Contains(body, `"worker-7"`) || !strings.Contains(body, string(mtls.RoleWorker)) ||
		!strings.Contains(body, string(mtls.RoleReadOnly)) {
		t.Errorf("worker: %d %q, want 403 naming the certificate worker-7, its role worker and the role needed", code, body)
	}

	none := ours.client("nobody")
	code, body, err = get(none.ClientTLS(mtls.RoleCoordinator, false))
	if err != nil {
		t.Fatalf("no role: %v", err)
	}
	if code != http.StatusForbidden || !strings.Contains(body, `"nobody"`) || !strings.Contains(body, "no role") {
		t.Errorf("certificate without a role: %d %q, want 403 naming nobody and no role", code, body)
	}

	for _, role := range []mtls.Role{mtls.RoleReadOnly, mtls.RoleOperator} {
		id := ours.client(string(role), role)
		code, body, err := get(id.ClientTLS(mtls.RoleCoordinator, false))
		if err != nil {
			t.Fatalf("%s: %v", role, err)
		}
		if code != http.StatusOK || body != "served" {
			t.Errorf("%s: %d %q, want 200 served", role, code, body)
		}
	}

	// Another CA's read-only certificate. A Go client does not even offer
	// it (the server names the CA it accepts): no certificate, 401.
	other := newIssuer(t, "other CA")
	certPEM, keyPEM, err := other.ca.Issue(mtls.Request{Name: "read-only", Roles: []mtls.Role{mtls.RoleReadOnly}, Client: true})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	code, _, err = get(&tls.Config{MinVersion: tls.VersionTLS13, RootCAs: roots, Certificates: []tls.Certificate{pair}})
	if err != nil || code != http.StatusUnauthorized {
		t.Errorf("another CA's certificate, not offered: %d %v, want 401", code, err)
	}
	// Presented anyway, the server refuses the handshake.
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: roots,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil }}
	code, body, err = get(cfg)
	if err == nil {
		t.Errorf("another CA's certificate presented: %d %q, want a failed handshake", code, body)
	}
}
