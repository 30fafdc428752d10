package genome_test

import (
	"fmt"

	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/internal/stream"
)

// A planner is born, mutated with a seed-derived stream, and checked.
func Example() {
	shape := genome.Shape{Features: []string{"dist_exit", "red_touched"}, ObsSize: 9, Actions: 4}
	v := genome.DefaultVariation()
	parent := genome.Random(shape, genome.KindPlanner, v, stream.New(1, stream.PurposeInitialPopulation, 0))
	child, ops := genome.Mutate(parent, shape, v, stream.New(1, stream.PurposeVariation, 1, 0))
	fmt.Println(parent.Kind, len(parent.Planner.Objective), parent.Planner.Horizon)
	fmt.Println(child.Kind, ops[0], child.Validate(shape) == nil)
	// Output:
	// planner 2 3
	// planner mutate:gaussian true
}
