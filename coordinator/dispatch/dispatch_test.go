package dispatch_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/mesaopt/mesaopt/coordinator/dispatch"
	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/internal/testenv"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/worker"
)

func evalRequest() *pb.EvaluateRequest {
	return &pb.EvaluateRequest{
		ProtocolVersion: worker.ProtocolVersion,
		Generation:      3,
		Environment:     &pb.EnvironmentConfig{Name: "doors", Width: 11, Height: 7, Walls: 2, RedObjects: 3, StepLimit: 40},
		Conditions:      []*pb.ConditionEpisodes{{Condition: fitness.Train, InstanceSeeds: []uint64{1, 2}}},
		Tasks:           []*pb.EvaluationTask{{IndividualId: 5, Genome: genome.ToProto(fitness.ExitSeeker())}},
	}
}

func TestDispatcherRefusesOtherProtocol(t *testing.T) {
	var logs bytes.Buffer
	d := dispatch.NewDispatcher(time.Second, slog.New(slog.NewTextHandler(&logs, nil)))
	defer d.Close()
	d.Upsert("old", worker.Meta{Role: worker.RoleWorker, GRPC: "127.0.0.1:1", Capacity: 1, Protocol: worker.ProtocolVersion + 1})
	if n, _ := d.Workers(); n != 0 {
		t.Fatalf("a worker of another protocol version was accepted")
	}
	if !strings.Contains(logs.String(), "protocol version differs") {
		t.Fatalf("no log line says why: %s", logs.String())
	}
}

// TestDispatcherRetriesElsewhere routes a batch while one known worker is
// dead: the call must land on the live one.
func TestDispatcherRetriesElsewhere(t *testing.T) {
	seed, err := worker.NewMemberlist("seed", "127.0.0.1:0", nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer seed.Shutdown()
	cfg := worker.DefaultConfig()
	cfg.Join = []string{seed.LocalNode().Address()}
	w, err := worker.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Shutdown(context.Background())

	d := dispatch.NewDispatcher(5*time.Second, slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)))
	defer d.Close()
	// "a-dead" sorts first, so it is tried first.
	d.Upsert("a-dead", worker.Meta{Role: worker.RoleWorker, GRPC: freeAddr(t), Capacity: 1, Protocol: worker.ProtocolVersion})
	d.Upsert("b-live", worker.Meta{Role: worker.RoleWorker, GRPC: w.Addr(), Capacity: 1, Protocol: worker.ProtocolVersion})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := d.Evaluate(ctx, evalRequest())
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetWorker() != w.Name() || resp.GetResults()[0].GetIndividualId() != 5 {
		t.Fatalf("answered by %q: %v", resp.GetWorker(), resp.GetResults())
	}
}

func TestDispatcherWaitsForWorkersUntilDeadline(t *testing.T) {
	d := dispatch.NewDispatcher(time.Second, slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)))
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := d.Evaluate(ctx, evalRequest()); err == nil {
		t.Fatal("evaluated without any worker")
	}
}

func freeAddr(t *testing.T) string { return testenv.FreeAddr(t, "127.0.0.1") }
