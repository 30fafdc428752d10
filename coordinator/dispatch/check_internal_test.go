package dispatch

import (
	"context"
	"log/slog"
	"math"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/genome"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/worker"
)

// checkRequest asks for one selection and one analysis condition.
func checkRequest() *pb.EvaluateRequest {
	return &pb.EvaluateRequest{ProtocolVersion: worker.ProtocolVersion, Generation: 1,
		Environment: &pb.EnvironmentConfig{Name: "doors", Width: 11, Height: 7, Walls: 2, RedObjects: 3, StepLimit: 40},
		Conditions: []*pb.ConditionEpisodes{
			{Condition: fitness.Train, InstanceSeeds: []uint64{1, 2}},
			{Condition: fitness.Train, InstanceSeeds: []uint64{3, 4}, Analysis: true},
		},
		Tasks: []*pb.EvaluationTask{{IndividualId: 7, Genome: genome.ToProto(fitness.ExitSeeker())}}}
}

// TestCheckResponseRefusesBadResults tampers with an honest engine's
// answer in each way a broken or lying worker could and expects
// CheckResponse to refuse it with DataLoss.
func TestCheckResponseRefusesBadResults(t *testing.T) {
	req := checkRequest()
	honest, err := worker.NewEngine(1).Evaluate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckResponse(req, honest); err != nil {
		t.Fatalf("honest answer refused: %v", err)
	}
	for _, tc := range []struct {
		name   string
		tamper func(r *pb.EvaluateResponse)
	}{
		{"NaN base", func(r *pb.EvaluateResponse) { r.Results[0].Conditions[0].Base = math.NaN() }},
		{"base 1.5", func(r *pb.EvaluateResponse) { r.Results[0].Conditions[0].Base = 1.5 }},
		{"infinite nodes", func(r *pb.EvaluateResponse) { r.Results[0].Conditions[0].Nodes = math.Inf(1) }},
		{"negative nodes", func(r *pb.EvaluateResponse) { r.Results[0].Conditions[1].Nodes = -1 }},
		{"agreement -2", func(r *pb.EvaluateResponse) { r.Results[0].Conditions[1].Agreement = -2 }},
		{"competence above 1", func(r *pb.EvaluateResponse) { r.Results[0].Conditions[1].Competence = 1.0000001 }},
		{"episode base NaN", func(r *pb.EvaluateResponse) { r.Results[0].Conditions[1].EpisodeScores[0].Base = math.NaN() }},
		{"episodes miscounted", func(r *pb.EvaluateResponse) { r.Results[0].Conditions[0].Episodes = 3 }},
		{"episode scores missing", func(r *pb.EvaluateResponse) {
			c := r.Results[0].Conditions[1]
			c.EpisodeScores = c.EpisodeScores[:1]
		}},
		{"features short", func(r *pb.EvaluateResponse) {
			c := r.Results[0].Conditions[1]
			c.Features = c.Features[:len(c.Features)-1]
		}},
		{"feature NaN", func(r *pb.EvaluateResponse) { r.Results[0].Conditions[1].Features[0] = math.NaN() }},
		{"condition renamed", func(r *pb.EvaluateResponse) { r.Results[0].Conditions[0].Condition = "blue-doors" }},
		{"condition missing", func(r *pb.EvaluateResponse) { r.Results[0].Conditions = r.Results[0].Conditions[:1] }},
		{"wrong individual", func(r *pb.EvaluateResponse) { r.Results[0].IndividualId = 8 }},
		{"no results", func(r *pb.EvaluateResponse) { r.Results = nil }},
		{"terminated over episodes", func(r *pb.EvaluateResponse) { r.Results[0].Conditions[0].Terminated = 3 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := proto.Clone(honest).(*pb.EvaluateResponse)
			tc.tamper(bad)
			if err := CheckResponse(req, bad); status.Code(err) != codes.DataLoss {
				t.Fatalf("CheckResponse = %v, want a DataLoss error", err)
			}
		})
	}
}

// liarWorker answers every batch with NaN scores.
type liarWorker struct{ engineWorker }

func (w *liarWorker) Evaluate(ctx context.Context, req *pb.EvaluateRequest) (*pb.EvaluateResponse, error) {
	resp, err := w.engineWorker.Evaluate(ctx, req)
	if err == nil {
		for _, r := range resp.GetResults() {
			for _, c := range r.GetConditions() {
				c.Base = math.NaN()
			}
		}
	}
	return resp, err
}

// TestDispatcherRetriesBadResultElsewhere has a worker that answers NaN
// beside an honest one: the batch is answered by the honest worker, and
// the liar is rested; a request excluding the honest worker gets no
// answer from the liar; a quarantined worker gets no more work.
func TestDispatcherRetriesBadResultElsewhere(t *testing.T) {
	d := NewDispatcher(time.Minute, slog.New(slog.DiscardHandler), WithoutHedging())
	defer d.Close()
	liar := serveEvaluator(t, &liarWorker{engineWorker{name: "a-liar", engine: worker.NewEngine(1)}})
	honest := serveEvaluator(t, &engineWorker{name: "b-honest", engine: worker.NewEngine(1)})
	d.Upsert("a-liar", worker.Meta{Role: worker.RoleWorker, GRPC: liar, Capacity: 1, Protocol: worker.ProtocolVersion})
	d.Upsert("b-honest", worker.Meta{Role: worker.RoleWorker, GRPC: honest, Capacity: 1, Protocol: worker.ProtocolVersion})
	req := checkRequest()
	resp, err := d.Evaluate(context.Background(), req) // the liar sorts first: it is tried first
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetWorker() != "b-honest" || CheckResponse(req, resp) != nil {
		t.Fatalf("answered by %s (%v), want the honest worker", resp.GetWorker(), CheckResponse(req, resp))
	}
	d.mu.Lock()
	rested := time.Now().Before(d.workers["a-liar"].restUntil)
	d.mu.Unlock()
	if !rested {
		t.Fatal("the worker that answered NaN is not rested")
	}

	ctx, cancel := context.WithTimeout(WithExcludedWorkers(context.Background(), "b-honest"), 300*time.Millisecond)
	defer cancel()
	if resp, err := d.Evaluate(ctx, req); err == nil {
		t.Fatalf("excluding the honest worker, answered by %s", resp.GetWorker())
	}

	d.Quarantine("b-honest", "test")
	d.Upsert("b-honest", worker.Meta{Role: worker.RoleWorker, GRPC: honest, Capacity: 1, Protocol: worker.ProtocolVersion})
	if n, _ := d.Workers(); n != 1 {
		t.Fatalf("%d workers after quarantining one of 2 and hearing of it again, want 1", n)
	}
}
