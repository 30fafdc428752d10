package coordinator_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/internal/grpcconf"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
	"github.com/mesaopt/mesaopt/worker"
)

// TestSubmitRunRefusesUnsolvableMap submits, over gRPC, an experiment whose
// train map has its exit walled off: RunService answers InvalidArgument
// naming the map and why, and records no run.
func TestSubmitRunRefusesUnsolvableMap(t *testing.T) {
	cli := startEtcd(t)
	c := startCoordinator(t, cli, worker.NewEngine(1))
	conn, err := grpc.NewClient(c.GRPCAddr(), grpcconf.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	runs := rpc.NewRunServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	spec := smallSpec()
	spec.Environment = experiment.Environment{Name: "maps", StepLimit: 20, Maps: []experiment.MapFile{
		{Condition: experiment.TrainCondition, File: "walled.txt", Text: "######\n#@.#G#\n######\n"},
		{Condition: "open", Text: "#####\n#@.G#\n#####\n"},
	}}
	spec.ShiftedConditions = []string{"open"}
	_, err = runs.SubmitRun(ctx, &pb.SubmitRunRequest{Spec: spec.ToProto()})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), `map walled.txt for condition "train": no exit, coin or chest is reachable from the start`) {
		t.Fatalf("SubmitRun of an unsolvable map: %v, want InvalidArgument naming the map and why", err)
	}
	list, err := runs.ListRuns(ctx, &pb.ListRunsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(list.GetRuns()); n != 0 {
		t.Fatalf("%d runs recorded after a refused submission", n)
	}
}
