package coordinator_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

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
