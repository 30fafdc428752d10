package main

import (
	"strings"
	"testing"
	"time"

	"github.com/mesaopt/mesaopt/internal/mtls"
)

// TestUsageErrorsExitTwo runs every command with flag values it cannot use:
// each exits 2 at once, before starting etcd, dialing or joining anything,
// with a message naming the flag, the value and what is allowed.
func TestUsageErrorsExitTwo(t *testing.T) {
	n := newNode(t)
	// Flags after n.args override its defaults (pflag keeps the last value).
	nowhere := freeAddr(t) // no etcd or coordinator listens here
	certs := t.TempDir()
	if err := mtls.WriteDir(certs, nil); err != nil {
		t.Fatal(err)
	}
	// The gossip checks come after the TLS ones: give the daemons their
	// certificates.
	coordTLS := strings.Fields(tlsArgs(certs, mtls.FileCoordinator))
	workerTLS := strings.Fields(tlsArgs(certs, mtls.FileWorker))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"run session ttl low", n.args("--session-ttl", "1"), "--session-ttl = 1, allowed 2..600 seconds"},
		{"run session ttl high", n.args("--session-ttl", "601"), "--session-ttl = 601, allowed 2..600 seconds"},
		{"run workers", n.args("--workers", "0"), "--workers = 0, allowed 1..256"},
		{"run listen", n.args("--listen", "localhost"), `--listen = "localhost", allowed host:port with a port 0..65535`},
		{"run etcd client port", n.args("--etcd-client", "127.0.0.1:0"), `--etcd-client = "127.0.0.1:0", allowed host:port with a port 1..65535`},
		{"run etcd peer", n.args("--etcd-peer", "127.0.0.1:99999"), `--etcd-peer = "127.0.0.1:99999", allowed host:port with a port 1..65535`},
		{"run etcd same", n.args("--etcd-peer", n.etcdClient), "--etcd-client and --etcd-peer are both " + n.etcdClient},
		{"run data", n.args("--data", ""), "--data is empty"},
		{"coordinator gossip without key", append([]string{"coordinator", "--etcd", nowhere, "--listen", "127.0.0.1:0", "--gossip", "0.0.0.0:0"}, coordTLS...),
			`--gossip = "0.0.0.0:0" is not loopback and no gossip key is given: allowed --gossip-key-file FILE or $MESAOPT_GOSSIP_KEY`},
		{"worker gossip without key", append([]string{"worker", "--join", "127.0.0.1:1", "--gossip", "0.0.0.0:0"}, workerTLS...), "or --insecure for plaintext gossip"},
		{"worker gossip key file", append([]string{"worker", "--join", "127.0.0.1:1", "--gossip-key-file", "/nonexistent/key"}, workerTLS...), `--gossip-key-file = "/nonexistent/key"`},
		{"worker advertise", []string{"worker", "--join", "127.0.0.1:1", "--advertise", "127.0.0.1:0"}, `--advertise = "127.0.0.1:0", allowed host:port with a port 1..65535`},
		{"coordinator session ttl", []string{"coordinator", "--etcd", nowhere, "--session-ttl", "1"}, "--session-ttl = 1, allowed 2..600 seconds"},
		{"coordinator session ttl high", []string{"coordinator", "--etcd", nowhere, "--session-ttl", "1000"}, "--session-ttl = 1000, allowed 2..600 seconds"},
		{"coordinator listen", []string{"coordinator", "--etcd", nowhere, "--listen", "7070"}, `--listen = "7070", allowed host:port`},
		{"coordinator gossip", []string{"coordinator", "--etcd", nowhere, "--gossip", "x:y"}, `--gossip = "x:y", allowed host:port`},
		{"coordinator join", []string{"coordinator", "--etcd", nowhere, "--join", "10.0.0.2"}, `--join = "10.0.0.2", allowed host:port`},
		{"coordinator name", []string{"coordinator", "--etcd", nowhere, "--name", ""}, "--name is empty"},
		{"coordinator etcd", []string{"coordinator", "--etcd", ","}, "--etcd is empty"},
		{"coordinator cacert device", []string{"coordinator", "--etcd", nowhere, "--etcd-cacert", "/dev/zero"}, `--etcd-cacert = "/dev/zero" is not a regular file`},
		{"coordinator cert missing", []string{"coordinator", "--etcd", nowhere, "--etcd-cert", "/no/such.pem"}, `--etcd-cert = "/no/such.pem", allowed a readable PEM file`},
		{"worker capacity", []string{"worker", "--join", nowhere, "--capacity", "0"}, "--capacity = 0, allowed 1..1024"},
		{"worker capacity high", []string{"worker", "--join", nowhere, "--capacity", "5000"}, "--capacity = 5000, allowed 1..1024"},
		{"worker no join", []string{"worker"}, "--join is missing"},
		{"worker join", []string{"worker", "--join", "coordinator"}, `--join = "coordinator", allowed host:port`},
		{"worker join timeout", []string{"worker", "--join", nowhere, "--join-timeout", "0s"}, "--join-timeout = 0s, allowed a positive duration"},
		{"worker drain", []string{"worker", "--join", nowhere, "--drain", "-1s"}, "--drain = -1s, allowed a duration ≥ 0"},
		{"worker listen", []string{"worker", "--join", nowhere, "--listen", "::1"}, `--listen = "::1", allowed host:port`},
		{"flag type", []string{"worker", "--capacity", "many"}, `invalid argument "many" for "--capacity"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, code := mesaoptWithin(t, time.Minute, tc.args...)
			if code != 2 {
				t.Fatalf("exit code %d, want 2\n%s", code, out)
			}
			if !strings.Contains(out, tc.want) {
				t.Fatalf("output does not contain %q:\n%s", tc.want, out)
			}
			if strings.Contains(out, "goroutine ") {
				t.Fatalf("stack trace in the output:\n%s", out)
			}
		})
	}
}
