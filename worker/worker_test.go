package worker_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/genome"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
	"github.com/mesaopt/mesaopt/worker"
)

func request(gs ...genome.Genome) *pb.EvaluateRequest {
	req := &pb.EvaluateRequest{
		ProtocolVersion: worker.ProtocolVersion,
		Environment:     &pb.EnvironmentConfig{Name: "doors", Width: 11, Height: 7, Walls: 2, RedObjects: 3, StepLimit: 40},
		Conditions: []*pb.ConditionEpisodes{
			{Condition: fitness.Train, InstanceSeeds: []uint64{1, 2, 3}},
			{Condition: fitness.Shifted, InstanceSeeds: []uint64{4, 5, 6}, Analysis: true},
		},
	}
	for i, g := range gs {
		req.Tasks = append(req.Tasks, &pb.EvaluationTask{IndividualId: uint64(10 + i), Genome: genome.ToProto(g)})
	}
	return req
}

// startWorker starts a worker whose gossip has a seed node to join.
func startWorker(t *testing.T) *worker.Worker {
	t.Helper()
	seed, err := worker.NewMemberlist("seed", "127.0.0.1:0", nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = seed.Shutdown() })
	cfg := worker.DefaultConfig()
	cfg.Join = []string{seed.LocalNode().Address()}
	cfg.Capacity = 2
	w, err := worker.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = w.Shutdown(ctx)
	})
	return w
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestEvaluateOverGRPC(t *testing.T) {
	w := startWorker(t)
	conn := dial(t, w.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", h, err)
	}
	client := rpc.NewEvaluatorServiceClient(conn)
	resp, err := client.Evaluate(ctx, request(fitness.ExitSeeker(), fitness.RedSeeker()))
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetWorker() != w.Name() || len(resp.GetResults()) != 2 {
		t.Fatalf("worker %q, %d results", resp.GetWorker(), len(resp.GetResults()))
	}
	exit, red := resp.GetResults()[0], resp.GetResults()[1]
	if exit.GetIndividualId() != 10 || red.GetIndividualId() != 11 {
		t.Fatal("results out of task order")
	}
	if b := exit.GetConditions()[1].GetBase(); b != 1 {
		t.Fatalf("exit seeker shifted base %v, want 1", b)
	}
	if b := red.GetConditions()[1].GetBase(); b >= 0.5 {
		t.Fatalf("red seeker shifted base %v, want < 0.5", b)
	}
	// The same request answers bitwise the same as the in-process engine.
	local, err := worker.NewEngine(1).Evaluate(ctx, request(fitness.ExitSeeker(), fitness.RedSeeker()))
	if err != nil {
		t.Fatal(err)
	}
	for i := range local.GetResults() {
		for c := range local.GetResults()[i].GetConditions() {
			a, b := local.GetResults()[i].GetConditions()[c], resp.GetResults()[i].GetConditions()[c]
			if a.GetBase() != b.GetBase() || a.GetAgreement() != b.GetAgreement() || a.GetCompetence() != b.GetCompetence() {
				t.Fatalf("result %d condition %d differs between gRPC and in-process", i, c)
			}
		}
	}
}

func TestEvaluateRejectsBadInput(t *testing.T) {
	w := startWorker(t)
	client := rpc.NewEvaluatorServiceClient(dial(t, w.Addr()))
	bad := fitness.ExitSeeker()
	bad.Planner.Horizon = 99
	tests := []struct {
		name string
		edit func(*pb.EvaluateRequest)
		code codes.Code
		want string
	}{
		{"protocol", func(r *pb.EvaluateRequest) { r.ProtocolVersion = 99 }, codes.FailedPrecondition, "protocol version 99"},
		{"genome", func(r *pb.EvaluateRequest) { r.Tasks[0].Genome = genome.ToProto(bad) }, codes.InvalidArgument, "individual 10"},
		{"empty genome", func(r *pb.EvaluateRequest) { r.Tasks[0].Genome = &pb.Genome{} }, codes.InvalidArgument, "policy is missing"},
		{"condition", func(r *pb.EvaluateRequest) { r.Conditions[1].Condition = "moon" }, codes.InvalidArgument, `"moon"`},
		{"no seeds", func(r *pb.EvaluateRequest) { r.Conditions[0].InstanceSeeds = nil }, codes.InvalidArgument, "instance_seeds"},
		{"environment", func(r *pb.EvaluateRequest) { r.Environment.Name = "winter" }, codes.InvalidArgument, "environment.name"},
		{"environment size", func(r *pb.EvaluateRequest) { r.Environment.Width = 3 }, codes.InvalidArgument, "width"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := request(fitness.ExitSeeker())
			tc.edit(req)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := client.Evaluate(ctx, req)
			if s := status.Convert(err); s.Code() != tc.code || !strings.Contains(s.Message(), tc.want) {
				t.Fatalf("got %v %q, want %v containing %q", s.Code(), s.Message(), tc.code, tc.want)
			}
		})
	}
}

func TestEvaluateStopsOnCancel(t *testing.T) {
	e := worker.NewEngine(1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.Evaluate(ctx, request(fitness.ExitSeeker(), fitness.RedSeeker()))
	if status.Code(err) != codes.Canceled {
		t.Fatalf("got %v, want Canceled", err)
	}
}

func TestMeta(t *testing.T) {
	m := worker.Meta{Role: worker.RoleWorker, GRPC: "127.0.0.1:1234", Capacity: 4, Protocol: worker.ProtocolVersion}
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := worker.DecodeMeta(b)
	if err != nil || back != m {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	m.GRPC = strings.Repeat("x", memberlist.MetaMaxSize)
	if _, err := m.Encode(); !errors.Is(err, worker.ErrMetaTooLarge) {
		t.Fatalf("oversized metadata: %v", err)
	}
	if _, err := worker.DecodeMeta([]byte("{")); err == nil {
		t.Fatal("garbage metadata decoded")
	}
}

func TestStartFailsWithoutCluster(t *testing.T) {
	cfg := worker.DefaultConfig()
	cfg.Join = []string{"127.0.0.1:1"}
	cfg.JoinTimeout = 500 * time.Millisecond
	if _, err := worker.Start(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "join gossip cluster") {
		t.Fatalf("got %v", err)
	}
	cfg.Capacity = 0
	if _, err := worker.Start(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "capacity = 0") {
		t.Fatalf("got %v", err)
	}
}
