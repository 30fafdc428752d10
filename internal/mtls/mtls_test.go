package mtls_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/mesaopt/mesaopt/internal/mtls"
)

func dir(t *testing.T) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), "tls")
	if err := mtls.WriteDir(d, nil); err != nil {
		t.Fatal(err)
	}
	return d
}

func load(t *testing.T, d, name string) *mtls.Identity {
	t.Helper()
	id, err := mtls.LoadFrom(d, name)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// handshake serves server's TLS on loopback and dials it with client;
// it returns the client's handshake error.
func handshake(t *testing.T, server *tls.Config, client *tls.Config) error {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := l.Accept()
		if err != nil {
			return
		}
		_ = c.(*tls.Conn).Handshake()
		_, _ = c.Read(make([]byte, 1))
		c.Close()
	}()
	c, err := tls.Dial("tcp", l.Addr().String(), client)
	if err == nil {
		c.Close()
	}
	l.Close()
	<-done
	return err
}

// TestDispatchTrust: the coordinator's dispatch client accepts a worker of
// its CA and refuses one of another CA or one without role worker.
func TestDispatchTrust(t *testing.T) {
	ours, theirs := dir(t), dir(t)
	client := load(t, ours, mtls.FileCoordinator).ClientTLS(mtls.RoleWorker, false)
	for _, tc := range []struct {
		name   string
		server *mtls.Identity
		ok     bool
	}{
		{"our worker", load(t, ours, mtls.FileWorker), true},
		{"another CA's worker", load(t, theirs, mtls.FileWorker), false},
		{"our coordinator posing as a worker", load(t, ours, mtls.FileCoordinator), false},
	} {
		if err := handshake(t, tc.server.ServerTLS(), client); (err == nil) != tc.ok {
			t.Errorf("%s: handshake error %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// TestByName: a client dialling by name checks the server certificate's
// SANs; loopback names are in every server certificate WriteDir makes.
func TestByName(t *testing.T) {
	d := dir(t)
	client := load(t, d, mtls.FileOperator).ClientTLS(mtls.RoleCoordinator, true)
	client.ServerName = "localhost"
	if err := handshake(t, load(t, d, mtls.FileCoordinator).ServerTLS(), client); err != nil {
		t.Fatalf("loopback by name: %v", err)
	}
	client.ServerName = "elsewhere.example"
	if err := handshake(t, load(t, d, mtls.FileCoordinator).ServerTLS(), client); err == nil {
		t.Fatal("a certificate without the name was accepted")
	}
	// An IP address sends no server name: refused, not let through
	// unchecked (ClientCredentials checks IP addresses).
	client.ServerName = ""
	if err := handshake(t, load(t, d, mtls.FileCoordinator).ServerTLS(), client); err == nil {
		t.Fatal("a handshake with no server name to check was accepted")
	}
}

// TestClientCredentialsCheckAddress: a gRPC client dialling an IP address
// accepts a coordinator certificate of its CA that names that address and
// refuses one of the same CA and role that names only another host.
func TestClientCredentialsCheckAddress(t *testing.T) {
	ca, err := mtls.NewAuthority("test CA")
	if err != nil {
		t.Fatal(err)
	}
	issue := func(r mtls.Request) *mtls.Identity {
		cert, key, err := ca.Issue(r)
		if err != nil {
			t.Fatal(err)
		}
		id, err := mtls.FromPEM(cert, key, ca.CertPEM())
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	operator := issue(mtls.Request{Name: "operator", Roles: []mtls.Role{mtls.RoleOperator}, Client: true})
	for _, tc := range []struct {
		name  string
		hosts []string
		ok    bool
	}{
		{"naming 127.0.0.1", []string{"127.0.0.1"}, true},
		{"naming only another host", []string{"evil.example"}, false},
	} {
		server := issue(mtls.Request{Name: "coordinator", Roles: []mtls.Role{mtls.RoleCoordinator}, Server: true, Client: true, Hosts: tc.hosts})
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(server.ServerTLS())))
		healthpb.RegisterHealthServer(srv, health.NewServer())
		go func() { _ = srv.Serve(l) }()
		conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(operator.ClientCredentials(mtls.RoleCoordinator)))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		cancel()
		conn.Close()
		srv.Stop()
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// TestWriteDirRefusesOverwrite: WriteDir never replaces a file, and
// EnsureDir reuses a usable directory as it is.
func TestWriteDirRefusesOverwrite(t *testing.T) {
	d := dir(t)
	if err := mtls.WriteDir(d, nil); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second WriteDir: %v, want fs.ErrExist", err)
	}
	before, _ := os.ReadFile(mtls.CertFile(d, mtls.FileCA))
	if err := mtls.EnsureDir(d); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(mtls.CertFile(d, mtls.FileCA))
	if len(before) == 0 || !bytes.Equal(before, after) {
		t.Fatal("EnsureDir replaced a usable CA")
	}
}

// TestLoadRefusesAnotherCA: a certificate the CA bundle did not sign is
// refused when loaded, not at every call a peer then refuses.
func TestLoadRefusesAnotherCA(t *testing.T) {
	ours, theirs := dir(t), dir(t)
	_, err := mtls.Load(mtls.CertFile(ours, mtls.FileWorker), mtls.KeyFile(ours, mtls.FileWorker), mtls.CertFile(theirs, mtls.FileCA))
	if err == nil || !strings.Contains(err.Error(), "is not one the CA bundle") {
		t.Fatalf("Load with another CA's bundle: %v", err)
	}
}
