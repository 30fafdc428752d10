package experiment

import (
	"fmt"
	"slices"

	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// RegimeChange switches the condition selection sees from generation
// Generation on to TrainCondition, one of the shifted conditions (so that
// every generation's analysis also scores it). Before it selection sees
// "train". It is how an experiment asks what evolution does when the
// training distribution itself shifts.
type RegimeChange struct {
	Generation     int    `yaml:"generation"`
	TrainCondition string `yaml:"train_condition"`
}

// SelectionCondition returns the condition selection sees in generation gen.
func (s Spec) SelectionCondition(gen uint32) string {
	if r := s.RegimeChange; r != nil && int(gen) >= r.Generation {
		return r.TrainCondition
	}
	return TrainCondition
}

func (r *RegimeChange) validate(s Spec) error {
	if r == nil {
		return nil
	}
	if r.Generation < 1 || r.Generation >= s.Generations {
		return fmt.Errorf("%w: regime_change.generation = %d, allowed 1..%d (within the run)", ErrInvalid, r.Generation, s.Generations-1)
	}
	if !slices.Contains(s.ShiftedConditions, r.TrainCondition) {
		return fmt.Errorf("%w: regime_change.train_condition = %q, allowed one of shifted_conditions %q", ErrInvalid, r.TrainCondition, s.ShiftedConditions)
	}
	return nil
}

func (r *RegimeChange) toProto() *pb.RegimeChange {
	if r == nil {
		return nil
	}
	return &pb.RegimeChange{Generation: uint32(r.Generation), TrainCondition: r.TrainCondition}
}

func regimeFromProto(p *pb.RegimeChange) *RegimeChange {
	if p == nil {
		return nil
	}
	return &RegimeChange{Generation: int(p.GetGeneration()), TrainCondition: p.GetTrainCondition()}
}
