package coordinator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/mesaopt/mesaopt/coordinator/store"
	"github.com/mesaopt/mesaopt/internal/grpcconf"
	"github.com/mesaopt/mesaopt/internal/testenv"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
)

// TestWatchRunSurvivesCompaction compacts etcd's history between WatchRun's
// read and its watch: the watch must re-read, re-watch and deliver every
// generation summary once, in order, then the run's end.
func TestWatchRunSurvivesCompaction(t *testing.T) {
	cli := testenv.Client(t, testenv.Etcd(t, 0).Endpoints()...)
	cfg := DefaultConfig()
	cfg.Etcd = cli
	cfg.Evaluator = nopEvaluator{}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown(context.Background())

	const run = "watched"
	s := c.store
	putSummary := func(g uint32) {
		if _, err := cli.Put(ctx, fmt.Sprintf("%sruns/%s/summary/%08d", store.DefaultPrefix, run, g), string(deterministic(&pb.GenerationSummary{Generation: g, Digest: "d"}))); err != nil {
			t.Fatal(err)
		}
	}
	putStatus := func(st pb.RunState) {
		if _, err := cli.Put(ctx, store.DefaultPrefix+"runs/"+run+"/status", string(deterministic(&pb.RunStatus{RunId: run, State: st}))); err != nil {
			t.Fatal(err)
		}
	}
	putStatus(pb.RunState_RUN_STATE_RUNNING)
	putSummary(0)

	watches := 0
	beforeWatch = func() {
		watches++
		switch watches {
		case 1: // history the first watch needs disappears
			putSummary(1)
			putSummary(2)
			if err := s.Compact(ctx); err != nil {
				t.Error(err)
			}
		case 2: // the re-started watch replays what follows its read
			putSummary(3)
			putStatus(pb.RunState_RUN_STATE_SUCCEEDED)
		}
	}
	defer func() { beforeWatch = nil }()

	conn, err := grpc.NewClient(c.GRPCAddr(), grpcconf.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stream, err := rpc.NewRunServiceClient(conn).WatchRun(ctx, &pb.WatchRunRequest{RunId: run})
	if err != nil {
		t.Fatal(err)
	}
	var gens []uint32
	var last pb.RunState
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if msg.GetSummary() != nil {
			gens = append(gens, msg.GetSummary().GetGeneration())
		} else {
			last = msg.GetState()
		}
	}
	if watches < 2 {
		t.Fatalf("the watch was started %d times; the compaction was not met", watches)
	}
	if len(gens) != 4 || gens[0] != 0 || gens[1] != 1 || gens[2] != 2 || gens[3] != 3 || last != pb.RunState_RUN_STATE_SUCCEEDED {
		t.Fatalf("received generations %v and end %v, want [0 1 2 3] and succeeded", gens, last)
	}
}

// nopEvaluator is never called: this test runs no generation.
type nopEvaluator struct{}

func (nopEvaluator) Evaluate(context.Context, *pb.EvaluateRequest) (*pb.EvaluateResponse, error) {
	return nil, errors.New("not used")
}
