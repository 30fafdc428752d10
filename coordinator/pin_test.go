package coordinator_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mesaopt/mesaopt/coordinator"
	"github.com/mesaopt/mesaopt/coordinator/dispatch"
	"github.com/mesaopt/mesaopt/internal/testenv"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/worker"
)

// TestWorkerOfAnotherDigestGetsNoWork: a run pinned to the coordinator's
// evaluation digest sends nothing to a worker that advertises another
// one, and both the worker's and the coordinator's logs say why; a worker
// bound to 0.0.0.0 that advertises 127.0.0.1:PORT gets the work. Gossip is
// encrypted, the coordinator's keyring in rotation (two keys).
func TestWorkerOfAnotherDigestGetsNoWork(t *testing.T) {
	oldKey, _ := worker.GenerateGossipKey()
	newKey, _ := worker.GenerateGossipKey()
	coordKeys, err := worker.ParseGossipKeys("coordinator", oldKey+"\n"+newKey)
	if err != nil {
		t.Fatal(err)
	}
	workerKeys, _ := worker.ParseGossipKeys("worker", newKey+"\n"+oldKey)

	cli := startEtcd(t)
	var coordLog testenv.LogBuffer
	c := startCoordinatorWith(t, cli, nil, func(cfg *coordinator.Config) {
		cfg.Gossip.Keys = coordKeys
		cfg.Logger = slog.New(slog.NewTextHandler(&coordLog, nil))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	start := func(name, listen, advertise, digest string, log *testenv.LogBuffer) *worker.Worker {
		wcfg := worker.DefaultConfig()
		wcfg.Name, wcfg.Join = name, []string{c.GossipAddr()}
		wcfg.Listen, wcfg.Advertise, wcfg.EvaluationDigest = listen, advertise, digest
		wcfg.Gossip.Keys = workerKeys
		wcfg.Capacity = 2
		wcfg.Logger = slog.New(slog.NewTextHandler(log, nil))
		w, err := worker.Start(ctx, wcfg)
		if err != nil {
			t.Fatalf("worker %s: %v", name, err)
		}
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = w.Shutdown(sctx)
		})
		return w
	}
	var strangerLog, honestLog testenv.LogBuffer
	other := "0123456789ab:v9.9.9/p3/s99/riscv64"
	stranger := start("stranger", "127.0.0.1:0", "", other, &strangerLog)
	_, port, _ := net.SplitHostPort(freeAddr(t))
	honest := start("honest", "0.0.0.0:"+port, "127.0.0.1:"+port, "", &honestLog)
	testenv.WaitFor(t, "2 workers to join", 10*time.Second, func() bool { n, _ := c.Workers(); return n >= 2 })

	id, err := c.Submit(ctx, smallSpec())
	if err != nil {
		t.Fatal(err)
	}
	if run := waitRun(t, ctx, c, id); run.GetState() != pb.RunState_RUN_STATE_SUCCEEDED {
		t.Fatalf("run ended %v: %s", run.GetState(), run.GetError())
	}
	if _, tasks := stranger.Served(); tasks != 0 {
		t.Fatalf("the worker of another evaluation digest answered %d tasks", tasks)
	}
	if _, tasks := honest.Served(); tasks == 0 {
		t.Fatal("the worker bound to 0.0.0.0 advertising 127.0.0.1 got no work")
	}
	testenv.WaitFor(t, "the stranger's log to say why", 10*time.Second, func() bool {
		return strangerLog.Count("no run of this coordinator takes this worker") == 1 && strangerLog.Count(worker.EvaluationDigest()) > 0
	})
	if coordLog.Count("worker gets no work from a run") != 1 || coordLog.Count(other) == 0 {
		t.Fatalf("coordinator log does not say once why the stranger got no work:\n%s", coordLog.String())
	}
}

// A resume with workers known and none of the run's evaluation digest is
// refused, naming the digests and offering a fork.
func TestResumeWithoutMatchingWorkerOffersFork(t *testing.T) {
	d := dispatch.NewDispatcher(10*time.Second, slog.New(slog.DiscardHandler))
	t.Cleanup(d.Close)
	c := startCoordinator(t, startEtcd(t), d)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d.Upsert("other", worker.Meta{Role: worker.RoleWorker, GRPC: "127.0.0.1:1", Capacity: 1, Protocol: worker.ProtocolVersion, Digest: "000000000000:v9/p3/s99/amd64"})
	id, err := c.Submit(ctx, smallSpec())
	if err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the run to record its evaluation digest", 30*time.Second, func() bool {
		run, err := c.GetRun(ctx, id)
		return err == nil && run.GetState() == pb.RunState_RUN_STATE_RUNNING
	})
	if err := c.Cancel(id); err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(ctx, id); err != nil {
		t.Fatal(err)
	}
	err = c.Resume(ctx, id)
	if !errors.Is(err, coordinator.ErrNoMatchingWorker) || !strings.Contains(err.Error(), "000000000000:v9/p3/s99/amd64") || !strings.Contains(err.Error(), "mesactl run fork "+id) {
		t.Fatalf("resume: %v, want a refusal naming the workers' digest and offering a fork", err)
	}
}
