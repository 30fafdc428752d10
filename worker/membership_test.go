package worker_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mesaopt/mesaopt/internal/testenv"
	"github.com/mesaopt/mesaopt/worker"
)

// TestMetaTooLargeFailsStart: metadata over memberlist's 512 bytes is an
// error from Start (naming the limit), not a panic, and nothing is left
// listening.
func TestMetaTooLargeFailsStart(t *testing.T) {
	seed, err := worker.NewMemberlist("seed", "127.0.0.1:0", nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer seed.Shutdown()
	cfg := worker.DefaultConfig()
	cfg.Join = []string{seed.LocalNode().Address()}
	cfg.Build = strings.Repeat("x", 600)
	w, err := worker.Start(context.Background(), cfg)
	if err == nil {
		w.Shutdown(context.Background())
		t.Fatal("a worker with 600+ bytes of metadata started")
	}
	if !errors.Is(err, worker.ErrMetaTooLarge) || !strings.Contains(err.Error(), "allowed 512") {
		t.Fatalf("error %v, want ErrMetaTooLarge naming the limit", err)
	}
}

// TestManyWorkersOneHostUniqueNames starts many workers on one host with
// port 0 and default names: every name is distinct and every one is a
// member of the cluster (memberlist would refuse a duplicate name).
func TestManyWorkersOneHostUniqueNames(t *testing.T) {
	seed, err := worker.NewMemberlist("seed", "127.0.0.1:0", nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer seed.Shutdown()
	const n = 16
	names := map[string]bool{}
	for range n {
		cfg := worker.DefaultConfig()
		cfg.Join = []string{seed.LocalNode().Address()}
		w, err := worker.Start(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Shutdown(context.Background())
		if names[w.Name()] {
			t.Fatalf("duplicate worker name %s", w.Name())
		}
		names[w.Name()] = true
	}
	testenv.WaitFor(t, fmt.Sprintf("%d members", n+1), 10*time.Second, func() bool { return seed.NumMembers() >= n+1 })
	for _, m := range seed.Members() {
		if m.Name != "seed" && !names[m.Name] {
			t.Fatalf("unknown member %s", m.Name)
		}
	}
}
