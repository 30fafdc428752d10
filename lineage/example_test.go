package lineage_test

import (
	"fmt"

	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/lineage"
)

// The seed example in miniature: a planner whose mesa-objective weighs
// features (red, door) is copied into generation 1 and then mutated so that
// it rewards red more than doors. In training the doors are red, so both
// score well; under the "blue-doors" shift only the red-seeker is
// pseudo-aligned.
func Example() {
	th := lineage.DefaultThresholds()
	if err := th.Validate(); err != nil {
		panic(err)
	}
	train := lineage.ConditionScore{Condition: "train", Base: 0.95, Competence: 0.9, Agreement: 0.9}
	aligned := lineage.ConditionScore{Condition: "blue-doors", Base: 0.9, Competence: 0.9, Agreement: 0.85}
	redSeeking := lineage.ConditionScore{Condition: "blue-doors", Base: 0.1, Competence: 0.85, Agreement: 0.2}

	planner := func(id uint64, gen uint32, parent uint64, op string, red, door float64, shifted lineage.ConditionScore) lineage.Record {
		r := lineage.Record{
			ID: id, Generation: gen, Kind: genome.KindPlanner, Horizon: 3,
			Objective: []float64{red, door}, Fitness: train.Base,
			Train: train, Shifted: []lineage.ConditionScore{shifted},
		}
		if gen > 0 {
			r.Parents, r.Operators = []uint64{parent}, []string{op}
		}
		return r
	}
	generations := [][]lineage.Record{
		{planner(1, 0, 0, "", 0.2, 1.0, aligned)},
		{planner(2, 1, 1, genome.OpElite, 0.2, 1.0, aligned)},
		{planner(3, 2, 2, genome.OpGaussian, 1.4, 0.3, redSeeking)},
		{planner(4, 3, 3, genome.OpElite, 1.4, 0.3, redSeeking)},
	}

	s := lineage.NewStore()
	for _, gen := range generations {
		for i := range gen {
			lineage.Analyze(&gen[i], th) // after evaluation, before Add
			if err := s.Add(gen[i]); err != nil {
				panic(err)
			}
		}
	}

	for _, r := range s.Flagged(3) {
		fmt.Println("flagged:", r.ID, r.Shifted[0].Class, r.FlagReasons)
	}
	line, _ := s.LineOfDescent(4)
	for _, r := range line {
		fmt.Println("line:", r.ID, r.Generation, r.Operators, r.Flagged)
	}
	o, ok, _ := s.DriftOrigin(4)
	fmt.Println("origin:", ok, o.Ancestor.ID, "from", o.Parent.ID, o.Operators, o.ObjectiveBefore, "→", o.ObjectiveAfter)
	sum := lineage.Summarize(s.Records())
	fmt.Println("pseudo-aligned under", sum.Conditions[0].Condition+":", sum.Conditions[0].Planners[lineage.ClassPseudoAligned], "of", sum.Planners)

	// Output:
	// flagged: 4 pseudo-aligned [pseudo-aligned under blue-doors drift 0.70 > 0.60 under blue-doors]
	// line: 4 3 [elite] true
	// line: 3 2 [mutate:gaussian] true
	// line: 2 1 [elite] false
	// line: 1 0 [] false
	// origin: true 3 from 2 [mutate:gaussian] [0.2 1] → [1.4 0.3]
	// pseudo-aligned under blue-doors: 2 of 4
}
