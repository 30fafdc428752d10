package worker_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/mesaopt/mesaopt/internal/testenv"
	"github.com/mesaopt/mesaopt/worker"
)

// changingMeta announces coordinator metadata that differs on every call,
// so each UpdateNode makes the other members rewrite their copy of it.
type changingMeta struct{ n atomic.Int64 }

func (c *changingMeta) NodeMeta(limit int) []byte {
	b, _ := worker.Meta{Role: worker.RoleCoordinator, GRPC: fmt.Sprintf("127.0.0.1:%d", 1+c.n.Add(1)%60000),
		Protocol: worker.ProtocolVersion}.Encode()
	return b
}
func (*changingMeta) NotifyMsg([]byte)                           {}
func (*changingMeta) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (*changingMeta) LocalState(join bool) []byte                { return nil }
func (*changingMeta) MergeRemoteState(buf []byte, join bool)     {}

// TestClusterWatchWhileCoordinatorMetaChanges keeps a coordinator member
// re-announcing new metadata (memberlist UpdateNode) for several of the
// worker's cluster checks. memberlist rewrites its node records on each
// update, so a watch that read them outside its event callbacks is a data
// race (go test -race fails the test). The worker must also keep seeing
// its coordinator throughout: it never re-joins for want of one.
func TestClusterWatchWhileCoordinatorMetaChanges(t *testing.T) {
	c := memberlist.DefaultLocalConfig()
	c.Name = "coord"
	c.BindAddr, c.BindPort, c.AdvertisePort = "127.0.0.1", 0, 0
	c.Delegate = &changingMeta{}
	c.LogOutput = io.Discard
	coord, err := memberlist.Create(c)
	if err != nil {
		t.Fatal(err)
	}
	defer coord.Shutdown()

	var logs testenv.LogBuffer
	cfg := worker.DefaultConfig()
	cfg.Join = []string{coord.LocalNode().Address()}
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	w, err := worker.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Shutdown(context.Background())

	// Several cluster checks (one a second) run while the metadata keeps
	// changing; the duration only sets how many, it asserts nothing.
	for end := time.Now().Add(4 * time.Second); time.Now().Before(end); {
		// A timeout only says this update has not gone out yet (a loaded
		// machine): it is queued, or replaced by the next one, either way.
		_ = coord.UpdateNode(time.Second)
		time.Sleep(2 * time.Millisecond)
	}
	if strings.Contains(logs.String(), "no coordinator in the gossip view") {
		t.Fatalf("the worker lost sight of its coordinator:\n%s", logs.String())
	}
}
