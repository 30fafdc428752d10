package ga_test

import (
	"fmt"

	"github.com/mesaopt/mesaopt/coordinator/ga"
	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/fitness"
)

// Breeding needs no evaluation to be deterministic: the same spec and seed
// give the same children, parents and operators.
func Example() {
	spec := experiment.Default()
	spec.Population = 6
	spec.Elites = 1
	base := ga.New(spec, fitness.Shape())
	pop, _, next := base.Initial()
	for i := range pop {
		pop[i].Fitness = float64(i) // as if evaluated: the last is the fittest
	}
	kids, births, next := base.Next(pop, 1, next)
	fmt.Println(len(kids), next, births[0].Operators, births[0].Parents)
	// Output:
	// 6 12 [elite] [5]
}
