package coordinator

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/internal/testenv"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/worker"
)

// logBuffer collects log output written from several goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

// waitQueued polls until n calls are blocked in acquire.
func waitQueued(t *testing.T, d *Dispatcher, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		d.mu.Lock()
		queued := len(d.queue)
		d.mu.Unlock()
		if queued == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls waiting for a worker, want %d", queued, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDispatcherWarnsOncePerPeriodWithoutWorkers blocks many batches on a
// dispatcher that has no worker: "waiting for workers to join" is logged
// once, not once per batch, and once more after a worker came and went.
func TestDispatcherWarnsOncePerPeriodWithoutWorkers(t *testing.T) {
	const waiting = 20
	const line = "waiting for workers to join"
	var logs logBuffer
	d := NewDispatcher(time.Second, slog.New(slog.NewTextHandler(&logs, nil)), WithoutHedging())
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	req := &pb.EvaluateRequest{ProtocolVersion: worker.ProtocolVersion,
		Conditions: []*pb.ConditionEpisodes{{Condition: fitness.Train, InstanceSeeds: []uint64{1}}},
		Tasks:      []*pb.EvaluationTask{{IndividualId: 1, Genome: genome.ToProto(fitness.ExitSeeker())}}}
	for range waiting {
		wg.Go(func() {
			if _, err := d.Evaluate(ctx, req); !errors.Is(err, context.Canceled) {
				t.Errorf("Evaluate = %v, want it to wait until cancelled", err)
			}
		})
	}
	waitQueued(t, d, waiting)
	if n := logs.count(line); n != 1 {
		t.Fatalf("%q logged %d times for %d waiting batches, want once", line, n, waiting)
	}

	// A worker joins (nothing listens at its address, so a call sent there
	// fails and is retried) and leaves again: a new period without workers.
	d.Upsert("w", worker.Meta{Role: worker.RoleWorker, GRPC: testenv.FreeAddr(t, "127.0.0.1"), Capacity: 1, Protocol: worker.ProtocolVersion})
	d.Remove("w")
	waitQueued(t, d, waiting)
	if n := logs.count(line); n != 2 {
		t.Fatalf("%q logged %d times over two periods without workers, want twice", line, n)
	}
}
