package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mesaopt/mesaopt/internal/testenv"
	"github.com/mesaopt/mesaopt/worker"
)

func coordinatorMeta(t *testing.T, protocol uint32) []byte {
	t.Helper()
	b, err := worker.Meta{Role: worker.RoleCoordinator, GRPC: "127.0.0.1:1", Protocol: protocol}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestWorkerRejoinsRestartedCoordinator restarts the coordinator's gossip
// member at the same address: the worker must find it again by itself.
func TestWorkerRejoinsRestartedCoordinator(t *testing.T) {
	first, err := worker.NewMemberlist("coord", "127.0.0.1:0", coordinatorMeta(t, worker.ProtocolVersion), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := first.LocalNode().Address()
	cfg := worker.DefaultConfig()
	cfg.Join = []string{addr}
	w, err := worker.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Shutdown(context.Background())
	_ = first.Shutdown()

	second, err := worker.NewMemberlist("coord-2", addr, coordinatorMeta(t, worker.ProtocolVersion), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Shutdown()
	testenv.WaitFor(t, "the worker to re-join the restarted coordinator", 15*time.Second, func() bool {
		for _, n := range second.Members() {
			if n.Name == w.Name() {
				return true
			}
		}
		return false
	})
}

// TestWorkerGivesUpOnForeignProtocol: a worker whose only coordinators
// speak another protocol exits with an error saying so.
func TestWorkerGivesUpOnForeignProtocol(t *testing.T) {
	coord, err := worker.NewMemberlist("coord-v99", "127.0.0.1:0", coordinatorMeta(t, worker.ProtocolVersion+98), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer coord.Shutdown()
	cfg := worker.DefaultConfig()
	cfg.Join = []string{coord.LocalNode().Address()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	err = worker.Run(ctx, cfg, time.Second)
	if err == nil || !strings.Contains(err.Error(), "every coordinator in the cluster speaks protocol version") {
		t.Fatalf("Run = %v", err)
	}
	// It gives up after 5 s of only foreign coordinators, checked every second.
	if took := time.Since(start); took > testenv.Patience(15*time.Second) {
		t.Fatalf("gave up after %v", took)
	}
}
