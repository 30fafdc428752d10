package coordinator

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/mesaopt/mesaopt/coordinator/ga"
	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/lineage"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// synthEvaluator answers at no cost with scores drawn from the individual's
// id: every condition gets its episodes' scores and a behavioral fit of
// benchFeatures weights (and features), as a worker's answers have, so records are of
// realistic size and some planners are flagged (and kept for good).
type synthEvaluator struct{}

const benchFeatures = 8 // the door maze's features

func (synthEvaluator) Evaluate(_ context.Context, req *pb.EvaluateRequest) (*pb.EvaluateResponse, error) {
	resp := &pb.EvaluateResponse{Worker: "synth", Results: make([]*pb.EvaluationResult, len(req.GetTasks()))}
	for i, t := range req.GetTasks() {
		r := rand.New(rand.NewPCG(t.GetIndividualId(), 5))
		res := &pb.EvaluationResult{IndividualId: t.GetIndividualId()}
		for _, c := range req.GetConditions() {
			cr := &pb.ConditionResult{Condition: c.GetCondition(), Episodes: uint32(len(c.GetInstanceSeeds())),
				Base: r.Float64(), Competence: r.Float64(), Agreement: 2*r.Float64() - 1, BehavioralObjective: "exit",
				BehavioralFit: r.Float64(), BehavioralAccuracy: r.Float64()}
			if c.GetAnalysis() {
				for range benchFeatures {
					cr.BehavioralWeights = append(cr.BehavioralWeights, r.NormFloat64())
					cr.Features = append(cr.Features, r.Float64())
				}
				for range c.GetInstanceSeeds() {
					cr.EpisodeScores = append(cr.EpisodeScores, &pb.EpisodeScore{Base: r.Float64(), Competence: r.Float64(),
						GoalBase: r.Float64(), Agreement: 2*r.Float64() - 1, BehavioralCompetence: r.Float64(), BehavioralGoalBase: r.Float64()})
				}
			}
			res.Conditions = append(res.Conditions, cr)
		}
		resp.Results[i] = res
	}
	return resp, nil
}

// addGeneration is execute's lineage bookkeeping for a generation: add its
// records (their sizes from the generation's batch, which the commit
// encodes), prune, measure (stats), and the pruned batches to rewrite.
func addGeneration(ar *activeRun, gen uint32, records []lineage.Record, batch *pb.LineageBatch) (*pb.GenerationStats, []*pb.LineageBatch, error) {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	for i, r := range records {
		if err := ar.lineage.AddSized(r, int64(proto.Size(batch.Individuals[i]))); err != nil {
			return nil, nil, err
		}
	}
	ar.last = records
	return ar.pruneGeneration(gen, records, false)
}

// generationBatch is the generation's lineage batch, as execute builds it.
func generationBatch(gen uint32, records []lineage.Record) *pb.LineageBatch {
	batch := &pb.LineageBatch{Generation: gen}
	for _, r := range records {
		batch.Individuals = append(batch.Individuals, RecordToProto(r, nil))
	}
	return batch
}

// commitWork is the rest of execute's work for a generation besides
// evaluating it and the etcd round trips: the summary, the generation's
// checkpoint, and the encoding of what is written.
func commitWork(ar *activeRun, spec experiment.Spec, gen uint32, members []ga.Member, records []lineage.Record, nextID uint64,
	batch *pb.LineageBatch, stats *pb.GenerationStats, rewrites []*pb.LineageBatch) error {
	summary := Summarize(spec, gen, members, records, time.Second)
	summary.Lineage = stats
	check := &pb.Checkpoint{FormatVersion: CheckpointFormat, RunId: ar.id, Spec: spec.ToProto(), Generation: gen,
		Population: membersToProto(members), NextId: nextID, Summary: summary, Records: batch}
	msgs := []proto.Message{check, batch}
	for _, b := range rewrites {
		msgs = append(msgs, b)
	}
	for _, m := range msgs {
		if _, err := (proto.MarshalOptions{Deterministic: true}).Marshal(m); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkGenerationBookkeeping measures the coordinator's work for a
// generation of the default experiment (population 48) apart from etcd
// round trips, after 10 and after 1,000 generations of a run whose
// evaluations are synthetic (synthEvaluator). ns/op is the lineage
// bookkeeping (addGeneration: add, prune, stats, the pruned batches to
// rewrite); flat figures mean it is O(population), not O(retained
// records). For comparison it reports the coordinator's other work per
// generation: Evaluate with a zero-cost in-process evaluator
// (evaluate-ns/gen: requests, answers, analysis; no RPCs) and commitWork
// (commit-ns/gen: summary, batch, checkpoint, encoding), and the lineage's
// share of the three (lineage-share: an upper bound on its share of the
// coordinator's CPU, which also spends time on RPCs, gossip and etcd).
func BenchmarkGenerationBookkeeping(b *testing.B) {
	for _, start := range []uint32{10, 1000} {
		b.Run("gen-"+strconv.Itoa(int(start)), func(b *testing.B) {
			spec := experiment.Default()
			spec.Generations = 1 << 20
			base := ga.New(spec, spec.Shape())
			ar := &activeRun{id: "bench", spec: spec, lineage: newLineage()}
			ctx := context.Background()
			members, births, nextID := base.Initial()
			var evaluating, committing, bookkeeping time.Duration
			measured := 0
			step := func(gen uint32, timed bool) {
				t0 := time.Now()
				records, err := Evaluate(ctx, synthEvaluator{}, ar.id, spec, gen, members, births)
				if err != nil {
					b.Fatal(err)
				}
				tb0 := time.Now()
				batch := generationBatch(gen, records)
				tb := time.Since(tb0)
				if timed {
					b.StartTimer()
				}
				t1 := time.Now() // inside the benchmark's timer, whose start and stop read memory statistics
				stats, rewrites, err := addGeneration(ar, gen, records, batch)
				t2 := time.Now()
				if timed {
					b.StopTimer()
				}
				if err != nil {
					b.Fatal(err)
				}
				t3 := time.Now()
				if err := commitWork(ar, spec, gen, members, records, nextID, batch, stats, rewrites); err != nil {
					b.Fatal(err)
				}
				if timed {
					evaluating += tb0.Sub(t0)
					bookkeeping += t2.Sub(t1)
					committing += time.Since(t3) + tb
					measured++
				}
				members, births, nextID = base.Next(members, gen+1, nextID)
			}
			gen := uint32(0)
			for ; gen < start; gen++ {
				step(gen, false)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.StopTimer()
			for i := 0; i < b.N; i++ {
				step(gen, true)
				gen++
			}
			n := float64(measured)
			b.ReportMetric(float64(ar.lineage.Len()), "retained")
			b.ReportMetric(float64(evaluating.Nanoseconds())/n, "evaluate-ns/gen")
			b.ReportMetric(float64(committing.Nanoseconds())/n, "commit-ns/gen")
			b.ReportMetric(float64(bookkeeping)/float64(evaluating+committing+bookkeeping), "lineage-share")
		})
	}
}

// TestPrunedBatchesRewrittenInArrears replays what etcd receives over a
// run of synthetic generations (each generation's batch, then the rewrites
// pruneGeneration returns) and checks that rewrites come only every
// rewriteEvery generations and at the last, and that after the last etcd
// holds exactly the pruned lineage, generation by generation.
func TestPrunedBatchesRewrittenInArrears(t *testing.T) {
	spec := experiment.Default()
	spec.Generations = 3*rewriteEvery + 3
	base := ga.New(spec, spec.Shape())
	ar := &activeRun{id: "t", spec: spec, lineage: newLineage()}
	members, births, nextID := base.Initial()
	etcd := map[uint32][]uint64{} // generation → ids of its stored batch
	for gen := uint32(0); int(gen) < spec.Generations; gen++ {
		records, err := Evaluate(context.Background(), synthEvaluator{}, ar.id, spec, gen, members, births)
		if err != nil {
			t.Fatal(err)
		}
		batch := generationBatch(gen, records)
		last := int(gen)+1 == spec.Generations
		ar.mu.Lock()
		for i, r := range records {
			if err := ar.lineage.AddSized(r, int64(proto.Size(batch.Individuals[i]))); err != nil {
				t.Fatal(err)
			}
		}
		_, rewrites, err := ar.pruneGeneration(gen, records, last)
		ar.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range batch.GetIndividuals() {
			etcd[gen] = append(etcd[gen], in.GetId())
		}
		if len(rewrites) > 0 && !last && (gen+1)%rewriteEvery != 0 {
			t.Fatalf("generation %d rewrote %d batches, want rewrites every %d generations", gen, len(rewrites), rewriteEvery)
		}
		for _, b := range rewrites {
			etcd[b.GetGeneration()] = etcd[b.GetGeneration()][:0]
			for _, in := range b.GetIndividuals() {
				etcd[b.GetGeneration()] = append(etcd[b.GetGeneration()], in.GetId())
			}
		}
		members, births, nextID = base.Next(members, gen+1, nextID)
	}
	for gen := range uint32(spec.Generations) {
		want := []uint64{}
		ar.lineage.VisitGeneration(gen, func(r *lineage.Record) { want = append(want, r.ID) })
		if got := etcd[gen]; !slices.Equal(got, want) && len(got)+len(want) > 0 {
			t.Errorf("generation %d: etcd would hold %v, the lineage retains %v", gen, got, want)
		}
	}
	if ar.lineage.Len() == int(ar.lineage.Births()) {
		t.Fatal("nothing was pruned: the test proves nothing")
	}
}
