package worker_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/genome"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/worker"
)

// TestEvaluateOtherEnvironments evaluates lava's reference planner on the
// built-in levels and on a map file whose content travels in the request.
func TestEvaluateOtherEnvironments(t *testing.T) {
	lava, _ := fitness.LookupEnv(fitness.EnvLava)
	g, _ := lava.Planner("exit")
	req := &pb.EvaluateRequest{
		ProtocolVersion: worker.ProtocolVersion,
		Environment: &pb.EnvironmentConfig{Name: "lava", Width: 9, Height: 7, StepLimit: 100,
			Maps: []*pb.ConditionMap{{Condition: "corridor", File: "corridor.txt", Text: "#####\n#A G#\n#####\n"}}},
		Conditions: []*pb.ConditionEpisodes{
			{Condition: fitness.LavaTestV1, InstanceSeeds: []uint64{1}},
			{Condition: "corridor", InstanceSeeds: []uint64{1, 2}},
		},
		Tasks: []*pb.EvaluationTask{{IndividualId: 1, Genome: genome.ToProto(g)}},
	}
	e := worker.NewEngine(1)
	resp, err := e.Evaluate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range resp.GetResults()[0].GetConditions() {
		if c.GetBase() != 1 || c.GetTerminated() != c.GetEpisodes() {
			t.Errorf("%s: %+v", c.GetCondition(), c)
		}
	}

	bad := func(edit func(*pb.EvaluateRequest), want string) {
		t.Helper()
		r := &pb.EvaluateRequest{ProtocolVersion: req.ProtocolVersion, Environment: &pb.EnvironmentConfig{
			Name: "lava", StepLimit: 100, Maps: []*pb.ConditionMap{{Condition: "corridor", File: "corridor.txt", Text: "#####\n#A G#\n#####\n"}}},
			Conditions: []*pb.ConditionEpisodes{{Condition: fitness.Train, InstanceSeeds: []uint64{1}}}, Tasks: req.Tasks}
		edit(r)
		_, err := e.Evaluate(context.Background(), r)
		if s := status.Convert(err); s.Code() != codes.InvalidArgument || !strings.Contains(s.Message(), want) {
			t.Errorf("got %v %q, want InvalidArgument containing %q", s.Code(), s.Message(), want)
		}
	}
	bad(func(r *pb.EvaluateRequest) { r.Environment.Maps[0].Text = "#####\n#A ?#\n" }, "corridor.txt:2:4: unknown symbol '?'")
	bad(func(r *pb.EvaluateRequest) { r.Environment.Maps[0].Text = "#####\n#AkG#\n" }, "which environment lava does not know")
	bad(func(r *pb.EvaluateRequest) { r.Conditions[0].Condition = fitness.Shifted }, "allowed [train test-v1 test-v2 corridor]")
	bad(func(r *pb.EvaluateRequest) {
		r.Tasks = []*pb.EvaluationTask{{IndividualId: 3, Genome: genome.ToProto(fitness.ExitSeeker())}}
	}, "individual 3")
}

// TestEnvironmentConfigFeatures maps the wire's feature family: empty (a
// coordinator that predates the field) is the default, a known family is
// kept and is part of the evaluator cache key, an unknown one is refused.
func TestEnvironmentConfigFeatures(t *testing.T) {
	wire := func(features string) *pb.EnvironmentConfig {
		return &pb.EnvironmentConfig{Name: "doors", Width: 11, Height: 7, Walls: 2, RedObjects: 3, StepLimit: 40, Features: features}
	}
	keys := map[string]string{}
	for _, f := range []string{"", "oracle", "local"} {
		cfg, err := worker.EnvironmentConfig(wire(f))
		if err != nil {
			t.Fatalf("features %q: %v", f, err)
		}
		if want := fitness.FeatureFamily(f).OrDefault(); cfg.Features.OrDefault() != want {
			t.Errorf("features %q: config %q, want %q", f, cfg.Features, want)
		}
		keys[f] = cfg.Key()
	}
	if keys[""] != keys[string(fitness.DefaultFeatures)] || keys["oracle"] == keys["local"] {
		t.Errorf("cache keys: %q", keys)
	}
	if _, err := worker.EnvironmentConfig(wire("bfs")); err == nil || !strings.Contains(err.Error(), `features = "bfs", allowed oracle or local`) {
		t.Errorf("unknown family: %v", err)
	}
}
