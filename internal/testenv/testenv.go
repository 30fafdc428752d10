// Package testenv provides what mesaopt's tests share: free loopback
// addresses and embedded etcd servers that are cleaned up with the test.
// It is imported only by tests.
package testenv

import (
	"net"
	"path/filepath"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/mesaopt/mesaopt/internal/localetcd"
)

// FreeAddr returns a TCP address on host (e.g. "127.0.0.1") that was free a
// moment ago: the kernel's choice for port 0.
func FreeAddr(t testing.TB, host string) string {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Etcd starts an embedded etcd in a temporary directory with the given
// request limit (0: localetcd's default) and returns its server, stopped
// when the test ends.
func Etcd(t testing.TB, maxRequestBytes uint) *localetcd.Server {
	t.Helper()
	srv, err := localetcd.Start(localetcd.Config{Dir: filepath.Join(t.TempDir(), "etcd"),
		ClientAddr: FreeAddr(t, "127.0.0.1"), PeerAddr: FreeAddr(t, "127.0.0.1"), MaxRequestBytes: maxRequestBytes})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// Client connects to endpoints and closes the client when the test ends.
func Client(t testing.TB, endpoints ...string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}
