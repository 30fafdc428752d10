package mtls_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

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
	if err := handshake(t, load(t, d, mtls.FileCoordinator).ServerTLS(), client); err != nil {
		t.Fatalf("loopback by name: %v", err)
	}
	client.ServerName = "elsewhere.example"
	if err := handshake(t, load(t, d, mtls.FileCoordinator).ServerTLS(), client); err == nil {
		t.Fatal("a certificate without the name was accepted")
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
