package worker_test

import (
	"net"
	"testing"

	"github.com/mesaopt/mesaopt/worker"
)

func TestReachableAddr(t *testing.T) {
	for _, c := range []struct{ bound, gossip, want string }{
		{"127.0.0.1:7071", "", "127.0.0.1:7071"},
		{"10.0.0.5:7071", "10.9.9.9:7946", "10.0.0.5:7071"},
		{"0.0.0.0:7071", "172.18.0.4:7946", "172.18.0.4:7071"},
		{"[::]:7071", "172.18.0.4:7946", "172.18.0.4:7071"},
		{":7071", "worker-1:7946", "worker-1:7071"},
	} {
		got, err := worker.ReachableAddr(c.bound, c.gossip)
		if err != nil || got != c.want {
			t.Errorf("ReachableAddr(%q, %q) = %q, %v; want %q", c.bound, c.gossip, got, err, c.want)
		}
	}
	// Without a gossip address the host is an interface's private
	// address, or there is none and that is an error: never 0.0.0.0.
	got, err := worker.ReachableAddr("0.0.0.0:7071", "")
	if err != nil {
		t.Logf("no private address on this machine: %v", err)
		return
	}
	host, port, _ := net.SplitHostPort(got)
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() || ip.IsLoopback() || port != "7071" {
		t.Errorf("ReachableAddr(0.0.0.0:7071) = %q, want an interface address with port 7071", got)
	}
	if _, err := worker.ReachableAddr("no-port", ""); err == nil {
		t.Error("ReachableAddr(no-port) succeeded")
	}
}
