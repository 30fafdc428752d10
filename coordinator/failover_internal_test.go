package coordinator

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/internal/testenv"
	"github.com/mesaopt/mesaopt/lineage"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/worker"
)

func failoverSpec() experiment.Spec {
	s := experiment.Default()
	s.CheckpointRetention = 2
	s.Population = 12
	s.Elites = 2
	s.Generations = 5
	s.Episodes = 2
	s.BatchSize = 3
	return s
}

// startNamed starts a coordinator named name with an in-process evaluator
// and a 5 s session; Start returns once it leads, so a standby is started
// in the background and the returned channel says when it leads.
func startNamed(t *testing.T, cli *clientv3.Client, name string) (*Coordinator, <-chan error) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Etcd = cli
	cfg.Name = name
	cfg.Evaluator = worker.NewEngine(2)
	cfg.SessionTTL = 5
	cfg.ResumeOrphans = true
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { started <- c.Start(ctx) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer scancel()
		_ = c.Shutdown(sctx)
	})
	return c, started
}

// storedLineage returns, per generation, the ids of the records etcd holds
// for run id.
func storedLineage(t *testing.T, c *Coordinator, id string) map[uint32][]uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	batches, err := c.store.Lineage(ctx, id, ^uint32(0))
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint32][]uint64{}
	for _, b := range batches {
		for _, in := range b.GetIndividuals() {
			out[b.GetGeneration()] = append(out[b.GetGeneration()], in.GetId())
		}
	}
	return out
}

// exported is c's ALife export of run id, as LineageService serves it.
func exported(t *testing.T, c *Coordinator, id string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ar, err := c.view(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	ar.mu.Lock()
	snap := ar.lineage.Snapshot()
	ar.mu.Unlock()
	var buf bytes.Buffer
	if err := snap.Write(&buf, lineage.FormatALife, ar.spec.ShiftedConditions); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// waitSucceeded polls etcd until run id succeeded. The deadline bounds a
// hang; it grows with the run's generations.
func waitSucceeded(t *testing.T, c *Coordinator, id string, generations int) *pb.RunStatus {
	t.Helper()
	deadline := time.Now().Add(time.Duration(generations) * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		st, err := c.store.Status(ctx, id)
		cancel()
		if err == nil && st.GetState() == pb.RunState_RUN_STATE_SUCCEEDED {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s did not succeed: status %v, err %v", id, st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestLeaderLostAfterCommit revokes the leader's lease right after it
// committed a generation and before it rewrote the pruned lineage — mid-run
// and at the last generation. The standby finishes the run. Then etcd holds
// exactly the lineage an uninterrupted run stores, and both coordinators
// (the deposed one had the run loaded from its own tenure) export the
// uninterrupted run's tree.
func TestLeaderLostAfterCommit(t *testing.T) {
	spec := failoverSpec()
	cliU := testenv.Client(t, testenv.Etcd(t, 0).Endpoints()...)
	u, started := startNamed(t, cliU, "U")
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	uid, err := u.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	want := waitSucceeded(t, u, uid, spec.Generations)
	wantStored := storedLineage(t, u, uid)
	wantExport := exported(t, u, uid)

	for _, at := range []uint32{1, uint32(spec.Generations - 1)} {
		t.Run(fmt.Sprintf("generation %d", at), func(t *testing.T) {
			cli := testenv.Client(t, testenv.Etcd(t, 0).Endpoints()...)
			var once sync.Once
			testHookCommitted = func(c *Coordinator, run string, gen uint32) {
				if c.cfg.Name != "A" || gen != at {
					return
				}
				once.Do(func() {
					rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer rcancel()
					if _, err := cli.Revoke(rctx, c.term.Load().session.Lease()); err != nil {
						t.Errorf("revoke: %v", err)
					}
				})
			}
			t.Cleanup(func() { testHookCommitted = nil })
			a, aStarted := startNamed(t, cli, "A")
			if err := <-aStarted; err != nil {
				t.Fatal(err)
			}
			b, _ := startNamed(t, cli, "B")
			id, err := a.Submit(ctx, spec)
			if err != nil {
				t.Fatal(err)
			}
			got := waitSucceeded(t, b, id, spec.Generations)
			if got.GetFinalDigest() != want.GetFinalDigest() {
				t.Fatalf("final digest %s, uninterrupted %s", got.GetFinalDigest(), want.GetFinalDigest())
			}
			stored := storedLineage(t, b, id)
			for g := range uint32(spec.Generations) {
				if !slices.Equal(stored[g], wantStored[g]) {
					t.Errorf("etcd lineage of generation %d: %v, uninterrupted run stores %v", g, stored[g], wantStored[g])
				}
			}
			for _, c := range []*Coordinator{a, b} {
				if got := exported(t, c, id); !bytes.Equal(got, wantExport) {
					t.Errorf("coordinator %s exports %d bytes that differ from the uninterrupted run's %d:\n%s", c.cfg.Name, len(got), len(wantExport), got)
				}
			}
		})
	}
}
