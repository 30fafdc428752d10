package coordinator_test

import (
	"context"
	"errors"
	"io"
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

// A sweep's runs execute concurrently on the same evaluator, and each
// ends with the digest it has alone: a run is a pure function of its
// spec and seed whatever runs beside it. WatchSweep streams every run's
// generations until all have ended.
func TestSweepRunsMatchSoloRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a sweep of four runs and each run alone")
	}
	c := startCoordinator(t, startEtcd(t), worker.NewEngine(2))
	conn, err := grpc.NewClient(c.GRPCAddr(), grpcconf.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	runs := rpc.NewRunServiceClient(conn)
	spec := smallSpec()
	spec.Sweep = &experiment.Sweep{Seeds: experiment.Seeds{1, 2}, Set: experiment.Parameters{{Path: "selection.shifted", Values: []string{"0", "0.3"}}}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	base := spec
	base.Sweep = nil
	resp, err := runs.SubmitSweep(ctx, &pb.SubmitSweepRequest{Spec: base.ToProto(), Definition: experiment.SweepToProto(spec.Sweep)})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetRuns()) != 4 {
		t.Fatalf("%d runs, want 2 seeds × 2 values", len(resp.GetRuns()))
	}
	watch, err := runs.WatchSweep(ctx, &pb.WatchSweepRequest{SweepId: resp.GetSweepId()})
	if err != nil {
		t.Fatal(err)
	}
	gens, ends := map[string]int{}, map[string]pb.RunState{}
	for {
		msg, err := watch.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if msg.GetSummary() != nil {
			gens[msg.GetRunId()]++
		} else {
			ends[msg.GetRunId()] = msg.GetState()
		}
	}
	for _, r := range resp.GetRuns() {
		if gens[r.GetRunId()] != spec.Generations || ends[r.GetRunId()] != pb.RunState_RUN_STATE_SUCCEEDED {
			t.Fatalf("run %s: watched %d generations and end %v, want %d and SUCCEEDED", r.GetRunId(), gens[r.GetRunId()], ends[r.GetRunId()], spec.Generations)
		}
	}
	got, err := runs.GetSweep(ctx, &pb.GetSweepRequest{SweepId: resp.GetSweepId()})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetSweep().GetState() != pb.RunState_RUN_STATE_SUCCEEDED {
		t.Fatalf("sweep state %v", got.GetSweep().GetState())
	}
	expanded, err := spec.Runs()
	if err != nil {
		t.Fatal(err)
	}
	for k, r := range got.GetSweep().GetRuns() {
		solo := runToEnd(t, c, expanded[k].Spec)
		if r.GetFinalDigest() == "" || r.GetFinalDigest() != solo.GetFinalDigest() {
			t.Fatalf("run %d (seed %d, %v): digest in the sweep %s, alone %s", k+1, r.GetRun().GetSeed(), r.GetRun().GetValues(), r.GetFinalDigest(), solo.GetFinalDigest())
		}
	}
	list, err := runs.ListSweeps(ctx, &pb.ListSweepsRequest{})
	if err != nil || len(list.GetSweeps()) != 1 || list.GetSweeps()[0].GetSweepId() != resp.GetSweepId() {
		t.Fatalf("ListSweeps = %v, %v", list, err)
	}
}

// Bad sweeps are refused with INVALID_ARGUMENT naming the field and what
// is allowed; nothing is recorded.
func TestSubmitSweepInvalid(t *testing.T) {
	c := startCoordinator(t, startEtcd(t), worker.NewEngine(1))
	conn, err := grpc.NewClient(c.GRPCAddr(), grpcconf.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	runs := rpc.NewRunServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	spec := smallSpec().ToProto()
	for _, tc := range []struct {
		def  *pb.SweepDefinition
		want string
	}{
		{&pb.SweepDefinition{}, "sweep.seeds is empty"},
		{&pb.SweepDefinition{Seeds: []uint64{1}, Parameters: []*pb.SweepParameter{{Path: "nonsense", Values: []string{"1"}}}}, "unknown field nonsense, allowed in an experiment:"},
		{&pb.SweepDefinition{Seeds: []uint64{1}, Parameters: []*pb.SweepParameter{{Path: "selection", Values: []string{"{train: 0.5, shifted: 0.4}"}}}}, "allowed weights summing to 1"},
		{&pb.SweepDefinition{Seeds: []uint64{1}, Parameters: []*pb.SweepParameter{{Path: "selection.elsewhere", Values: []string{"0.1"}}}}, "unknown condition, allowed conditions of doors"},
		{nil, "definition is missing"},
	} {
		_, err := runs.SubmitSweep(ctx, &pb.SubmitSweepRequest{Spec: spec, Definition: tc.def})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want InvalidArgument saying %q", tc.def, err, tc.want)
		}
	}
	list, err := runs.ListSweeps(ctx, &pb.ListSweepsRequest{})
	if err != nil || len(list.GetSweeps()) != 0 {
		t.Fatalf("after refusals: %v, %v", list, err)
	}
}
