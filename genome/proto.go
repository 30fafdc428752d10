package genome

import (
	"fmt"

	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// ToProto encodes g for the wire.
func ToProto(g Genome) *pb.Genome {
	switch g.Kind {
	case KindHeuristic:
		return &pb.Genome{Policy: &pb.Genome_Heuristic{Heuristic: &pb.HeuristicGenome{
			Weights: append([]float64(nil), g.Heuristic.Weights...),
		}}}
	case KindPlanner:
		return &pb.Genome{Policy: &pb.Genome_Planner{Planner: &pb.PlannerGenome{
			Objective:  append([]float64(nil), g.Planner.Objective...),
			Horizon:    uint32(g.Planner.Horizon),
			NodeBudget: uint32(g.Planner.NodeBudget),
		}}}
	}
	return &pb.Genome{}
}

// FromProto decodes and validates a genome received from outside. Errors
// wrap ErrInvalid and name the offending field.
func FromProto(p *pb.Genome, s Shape) (Genome, error) {
	var g Genome
	switch x := p.GetPolicy().(type) {
	case *pb.Genome_Heuristic:
		g = Genome{Kind: KindHeuristic, Heuristic: &Heuristic{
			Weights: append([]float64(nil), x.Heuristic.GetWeights()...),
		}}
	case *pb.Genome_Planner:
		if x.Planner.GetHorizon() > MaxHorizon || x.Planner.GetNodeBudget() > MaxNodeBudget {
			return Genome{}, fmt.Errorf("%w: planner horizon %d / node_budget %d, allowed %d..%d / %d..%d",
				ErrInvalid, x.Planner.GetHorizon(), x.Planner.GetNodeBudget(),
				MinHorizon, MaxHorizon, MinNodeBudget, MaxNodeBudget)
		}
		g = Genome{Kind: KindPlanner, Planner: &Planner{
			Objective:  append([]float64(nil), x.Planner.GetObjective()...),
			Horizon:    int(x.Planner.GetHorizon()),
			NodeBudget: int(x.Planner.GetNodeBudget()),
		}}
	default:
		return Genome{}, fmt.Errorf("%w: policy is missing, allowed heuristic or planner", ErrInvalid)
	}
	if err := g.Validate(s); err != nil {
		return Genome{}, err
	}
	return g, nil
}

// KindToProto maps a Kind to its wire enum.
func KindToProto(k Kind) pb.GenomeKind {
	switch k {
	case KindHeuristic:
		return pb.GenomeKind_GENOME_KIND_HEURISTIC
	case KindPlanner:
		return pb.GenomeKind_GENOME_KIND_PLANNER
	}
	return pb.GenomeKind_GENOME_KIND_UNSPECIFIED
}

// KindFromProto maps a wire enum to a Kind (0 if unspecified).
func KindFromProto(k pb.GenomeKind) Kind {
	switch k {
	case pb.GenomeKind_GENOME_KIND_HEURISTIC:
		return KindHeuristic
	case pb.GenomeKind_GENOME_KIND_PLANNER:
		return KindPlanner
	}
	return 0
}
