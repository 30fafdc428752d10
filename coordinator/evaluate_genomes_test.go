package coordinator_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/internal/grpcconf"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
	"github.com/mesaopt/mesaopt/worker"
)

// EvaluateGenomes over gRPC scores reference genomes as a run would and
// refuses a genome that does not fit the environment.
func TestEvaluateGenomesRPC(t *testing.T) {
	c := startCoordinator(t, startEtcd(t), worker.NewEngine(2))
	conn, err := grpc.NewClient(c.GRPCAddr(), grpcconf.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	runs := rpc.NewRunServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	spec := experiment.Default()
	resp, err := runs.EvaluateGenomes(ctx, &pb.EvaluateGenomesRequest{Spec: spec.ToProto(),
		Genomes: []*pb.Genome{genome.ToProto(fitness.ExitSeeker()), genome.ToProto(fitness.RedSeeker())}})
	if err != nil {
		t.Fatal(err)
	}
	inds := resp.GetIndividuals()
	if len(inds) != 2 || inds[0].GetFlagged() || !inds[1].GetFlagged() ||
		inds[0].GetShifted()[0].GetClass() != pb.AlignmentClass_ALIGNMENT_CLASS_ROBUSTLY_ALIGNED ||
		inds[1].GetShifted()[2].GetClass() != pb.AlignmentClass_ALIGNMENT_CLASS_PSEUDO_ALIGNED ||
		inds[1].GetIdentity().GetCondition() != "identity" || len(resp.GetFeatureNames()) != len(fitness.FeatureNames) {
		t.Fatalf("EvaluateGenomes = %v", resp)
	}
	bad := genome.ToProto(fitness.ExitSeeker())
	bad.GetPlanner().Objective = bad.GetPlanner().GetObjective()[:2]
	_, err = runs.EvaluateGenomes(ctx, &pb.EvaluateGenomesRequest{Spec: spec.ToProto(), Genomes: []*pb.Genome{bad}})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("a genome of the wrong shape: %v", err)
	}
	_, err = runs.EvaluateGenomes(ctx, &pb.EvaluateGenomesRequest{Spec: spec.ToProto()})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("no genomes: %v", err)
	}
}
