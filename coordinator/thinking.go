package coordinator

import (
	"context"
	"fmt"

	"github.com/mesaopt/mesaopt/coordinator/ga"
	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/lineage"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// Thinking re-plans the fittest planner of members (ties to the smaller
// id) at every horizon 1 .. genome.MaxHorizon with the node budget of the
// full tree to that horizon, its mesa-objective unchanged, and evaluates
// each variant through ev on generation gen's instances: "does thinking
// help", its base under train and each shifted condition on the analysis
// instances. nil without planners. Errors are Evaluate's; a variant whose
// evaluation was quarantined is left out.
func Thinking(ctx context.Context, ev Evaluator, runID string, spec experiment.Spec, gen uint32, members []ga.Member) (*pb.Thinking, error) {
	champion := -1
	for i, m := range members {
		if m.Genome.Kind != genome.KindPlanner {
			continue
		}
		if champion < 0 || m.Fitness > members[champion].Fitness || (m.Fitness == members[champion].Fitness && m.ID < members[champion].ID) {
			champion = i
		}
	}
	if champion < 0 {
		return nil, nil
	}
	c := members[champion]
	variants := make([]ga.Member, genome.MaxHorizon)
	births := make([]ga.Birth, genome.MaxHorizon)
	for h := 1; h <= genome.MaxHorizon; h++ {
		g := c.Genome.Clone()
		g.Planner.Horizon = h
		g.Planner.NodeBudget = min(genome.MaxNodeBudget, fitness.FullTree(h))
		variants[h-1] = ga.Member{ID: uint64(h), Genome: g}
		births[h-1] = ga.Birth{ID: uint64(h)}
	}
	records, err := Evaluate(ctx, ev, runID, spec, gen, variants, births)
	if err != nil {
		return nil, fmt.Errorf("thinking curve of individual %d: %w", c.ID, err)
	}
	out := &pb.Thinking{Individual: c.ID, Horizon: uint32(c.Genome.Planner.Horizon), NodeBudget: uint32(c.Genome.Planner.NodeBudget)}
	for i, r := range records {
		if r.Failure != "" {
			continue
		}
		out.Points = append(out.Points, thinkingPoint(variants[i].Genome, r))
	}
	return out, nil
}

func thinkingPoint(g genome.Genome, r lineage.Record) *pb.ThinkingPoint {
	p := &pb.ThinkingPoint{Horizon: uint32(g.Planner.Horizon), NodeBudget: uint32(g.Planner.NodeBudget), TrainBase: r.Train.Base}
	for _, s := range r.Shifted {
		p.ShiftedBase = append(p.ShiftedBase, s.Base)
	}
	return p
}
