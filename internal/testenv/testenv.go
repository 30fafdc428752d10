// Package testenv provides what mesaopt's tests share: free loopback
// addresses, embedded etcd servers that are cleaned up with the test, waits
// whose deadlines stretch with the machine's load, and the mark of a heavy
// suite that -short skips.
// It is imported only by tests.
package testenv

import (
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
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

// LoadFactor is how many times over this machine is busy: the one-minute
// load average per CPU (Linux /proc/loadavg), at least 1; 1 where it cannot
// be read. Tests scale the latencies they allow by it, so a bound that
// holds on an idle machine also holds while other work shares the CPUs.
func LoadFactor() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 1
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return 1
	}
	load, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return 1
	}
	return max(1, load/float64(runtime.NumCPU()))
}

// Patience scales d, a latency that an idle machine keeps well within,
// by LoadFactor. It is read anew on each call: a wait that re-computes its
// deadline as it polls stretches with a load that arrives meanwhile.
func Patience(d time.Duration) time.Duration {
	return time.Duration(float64(d) * LoadFactor())
}

// WaitFor polls cond every 20 ms until it holds, failing the test when it
// has not held within Patience(d) of the call. d bounds a hang; it is not a
// timing assertion.
func WaitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	start := time.Now()
	for !cond() {
		if waited := time.Since(start); waited > Patience(d) {
			t.Fatalf("timed out after %v (load factor %.1f) waiting for %s", waited.Round(time.Millisecond), LoadFactor(), what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Heavy marks a long or multi-process suite: it is skipped under
// `go test -short` (make test-short, the quick loop while editing) and runs
// in make test and CI.
func Heavy(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("heavy suite: skipped with -short; make test runs it")
	}
}

// LogBuffer collects what several goroutines or a process's two output
// pipes write (a slog handler's sink, a command's Stdout and Stderr). The
// zero value is ready to use.
type LogBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

// Write appends p.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Count returns how many times s was written so far.
func (l *LogBuffer) Count(s string) int { return strings.Count(l.String(), s) }
