package coordinator

import (
	"context"
	"fmt"

	"github.com/mesaopt/mesaopt/coordinator/ga"
	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/lineage"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// shownFlagged is how many of the flagged planners the report shows with
// their mesa-objectives.
const shownFlagged = 4

// UntrainedPlanners returns the planners of a generation's records whose
// untrained weights the report explains, each once: the first
// shownFlagged flagged planners in the report's order, then the planner
// exemplars of each class under each shifted condition (fittest first).
func UntrainedPlanners(spec experiment.Spec, records []lineage.Record) []lineage.Record {
	ranked := sortedRecords(records)
	var out []lineage.Record
	seen := map[uint64]bool{}
	add := func(r lineage.Record) {
		if r.Kind == genome.KindPlanner && r.Failure == "" && !seen[r.ID] {
			seen[r.ID] = true
			out = append(out, r)
		}
	}
	flagged := flaggedByEvidence(ranked)
	for i := 0; i < len(flagged) && i < shownFlagged; i++ {
		add(flagged[i])
	}
	for _, r := range exemplarRecords(len(spec.ShiftedConditions), ranked) {
		add(r)
	}
	return out
}

// Untrained re-evaluates each planner of UntrainedPlanners(spec, records)
// whose untrained features are known and not empty with their weights set
// to 0 (lineage.ZeroUntrained; horizon, budget and every other weight
// unchanged) through ev on generation gen's instances — the same analysis
// instances its own record was scored on — and reports, per shifted
// condition, its base with and without them, the share of its failure they
// explain (lineage.ExplainedShare) and the zeroed planner's class. A
// planner without untrained features is reported with its own scores (the
// zeroed planner is itself); one whose untrained features are unknown is
// left out, as is one whose variant was quarantined. members and records
// are the generation's, in the same order. Errors are Evaluate's.
func Untrained(ctx context.Context, ev Evaluator, runID string, spec experiment.Spec, gen uint32, members []ga.Member, records []lineage.Record) ([]*pb.Untrained, error) {
	byID := make(map[uint64]genome.Genome, len(members))
	for _, m := range members {
		byID[m.ID] = m.Genome
	}
	planners := UntrainedPlanners(spec, records)
	var variants []ga.Member
	var births []ga.Birth
	at := make([]int, len(planners)) // index into variants, -1 for none
	for i, r := range planners {
		at[i] = -1
		u := r.Untrained()
		g, ok := byID[r.ID]
		if len(u) == 0 || !ok || g.Planner == nil {
			continue
		}
		z := g.Clone()
		z.Planner.Objective = lineage.ZeroUntrained(z.Planner.Objective, u)
		at[i] = len(variants)
		variants = append(variants, ga.Member{ID: uint64(len(variants) + 1), Genome: z})
		births = append(births, ga.Birth{ID: uint64(len(births) + 1)})
	}
	var zeroed []lineage.Record
	if len(variants) > 0 {
		var err error
		if zeroed, err = Evaluate(ctx, ev, runID, spec, gen, variants, births); err != nil {
			return nil, fmt.Errorf("untrained weights: %w", err)
		}
	}
	var out []*pb.Untrained
	for i, r := range planners {
		if len(r.Train.Varied) == 0 {
			continue
		}
		z := r
		if at[i] >= 0 {
			if z = zeroed[at[i]]; z.Failure != "" {
				continue
			}
		}
		out = append(out, untrainedToProto(r, z))
	}
	return out, nil
}

// untrainedToProto compares r with z, r with its untrained weights at 0.
func untrainedToProto(r, z lineage.Record) *pb.Untrained {
	p := &pb.Untrained{Individual: r.ID, TrainBase: r.Train.Base, ZeroedTrainBase: z.Train.Base}
	for _, k := range r.Untrained() {
		p.Features = append(p.Features, uint32(k))
	}
	for ci, s := range r.Shifted {
		if ci >= len(z.Shifted) {
			break
		}
		zs := z.Shifted[ci]
		share, failure := lineage.ExplainedShare(r.Train.Base, s.Base, zs.Base)
		p.Shifted = append(p.Shifted, &pb.UntrainedShare{Condition: s.Condition, Base: s.Base, ZeroedBase: zs.Base,
			Failure: failure, Share: share, ZeroedClass: ClassToProto(zs.Class)})
	}
	return p
}
