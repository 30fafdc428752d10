package coordinator_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/mesaopt/mesaopt/coordinator"
	"github.com/mesaopt/mesaopt/internal/testenv"
	"github.com/mesaopt/mesaopt/worker"
)

// startLogged starts a leading coordinator with the given session TTL
// whose logs go to the returned buffer.
func startLogged(t *testing.T, cli *clientv3.Client, ttl int) (*coordinator.Coordinator, *testenv.LogBuffer) {
	t.Helper()
	logs := &testenv.LogBuffer{}
	cfg := coordinator.DefaultConfig()
	cfg.Etcd = cli
	cfg.Prefix = prefixOf(cli)
	cfg.Evaluator = worker.NewEngine(1)
	cfg.SessionTTL = ttl
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	c, err := coordinator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = c.Shutdown(ctx)
	})
	return c, logs
}

// TestShortSessionTTLLeaderHolds keeps an idle leader with the shortest
// allowed session TTL for several TTLs: a healthy lease must never make it
// step down (etcd reports a lease's remaining TTL in whole seconds, which
// once left a 2 s session no slack at all).
func TestShortSessionTTLLeaderHolds(t *testing.T) {
	testenv.Heavy(t)
	c, logs := startLogged(t, startEtcd(t), 2)
	time.Sleep(4 * 2 * time.Second)
	if !c.Leading() || strings.Contains(logs.String(), "leadership lost") {
		t.Fatalf("an idle leader with a 2 s session stepped down:\n%s", logs.String())
	}
}

// TestRevokedLeaseDemotes revokes the leader's lease behind its back: it
// must notice, stop leading, campaign with a new session and lead again.
func TestRevokedLeaseDemotes(t *testing.T) {
	cli := startEtcd(t)
	c, logs := startLogged(t, cli, 5)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := cli.Get(ctx, prefixOf(cli)+"leader/", clientv3.WithPrefix())
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("leader key: %v, %d keys", err, len(resp.Kvs))
	}
	var v coordinator.LeaderValue
	if err := json.Unmarshal(resp.Kvs[0].Value, &v); err != nil || v.GRPC != c.GRPCAddr() {
		t.Fatalf("leader value %q: %v", resp.Kvs[0].Value, err)
	}
	if _, err := cli.Revoke(ctx, clientv3.LeaseID(resp.Kvs[0].Lease)); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(logs.String(), "leading again") {
		select {
		case <-ctx.Done():
			t.Fatalf("no new term after the lease was revoked:\n%s", logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if !strings.Contains(logs.String(), "leadership lost") || !c.Leading() {
		t.Fatalf("leading %v after a revoked lease:\n%s", c.Leading(), logs.String())
	}
}

// TestHealthFollowsLeadership: a coordinator answers gRPC health SERVING
// only while it leads. A's lease is revoked while B stands by: B takes
// over and serves, and A, campaigning again as a standby, answers
// NOT_SERVING (probes and mesactl must not take it for the leader).
func TestHealthFollowsLeadership(t *testing.T) {
	cli := startEtcd(t)
	a, logs := startLogged(t, cli, 5)
	cfg := coordinator.DefaultConfig()
	cfg.Etcd = cli
	cfg.Prefix = prefixOf(cli)
	cfg.Evaluator = worker.NewEngine(1)
	cfg.SessionTTL = 5
	cfg.Name = "B"
	bAddr := testenv.FreeAddr(t, "127.0.0.1")
	cfg.GRPCListen = bAddr
	b, err := coordinator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	started := make(chan error, 1)
	go func() { started <- b.Start(ctx) }()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer scancel()
		_ = b.Shutdown(sctx)
	})
	health := func(addr string) healthpb.HealthCheckResponse_ServingStatus {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		hctx, hcancel := context.WithTimeout(ctx, 5*time.Second)
		defer hcancel()
		resp, err := healthpb.NewHealthClient(conn).Check(hctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
		if err != nil {
			t.Fatalf("health of %s: %v", addr, err)
		}
		return resp.GetStatus()
	}
	if st := health(a.GRPCAddr()); st != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("leader A answers %v", st)
	}
	if st := health(bAddr); st != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("standby B answers %v", st)
	}
	// A standby asked to cancel a run says who leads, not that the run
	// does not exist.
	if err := b.Cancel("some-run"); !errors.Is(err, coordinator.ErrNotLeader) || !strings.Contains(err.Error(), "at "+a.AdvertisedGRPC()) {
		t.Fatalf("standby Cancel: %v, want ErrNotLeader naming the leader at %s", err, a.AdvertisedGRPC())
	}
	resp, err := cli.Get(ctx, prefixOf(cli)+"leader/", append(clientv3.WithFirstCreate(), clientv3.WithPrefix())...)
	if err != nil || len(resp.Kvs) == 0 {
		t.Fatalf("leader key: %v", err)
	}
	if _, err := cli.Revoke(ctx, clientv3.LeaseID(resp.Kvs[0].Lease)); err != nil {
		t.Fatal(err)
	}
	if err := <-started; err != nil {
		t.Fatalf("B did not take over: %v", err)
	}
	testenv.WaitFor(t, "A to see it lost", 30*time.Second, func() bool { return strings.Contains(logs.String(), "leadership lost") })
	if a.Leading() {
		t.Fatalf("A leads again while B leads:\n%s", logs.String())
	}
	if st := health(a.GRPCAddr()); st != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("demoted A answers %v, want NOT_SERVING", st)
	}
	if st := health(bAddr); st != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("new leader B answers %v", st)
	}
}
