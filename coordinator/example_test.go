package coordinator_test

import (
	"context"
	"fmt"

	"github.com/mesaopt/mesaopt/coordinator"
	"github.com/mesaopt/mesaopt/coordinator/ga"
	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/worker"
)

// The base optimizer without etcd or gRPC: breed, evaluate in-process,
// breed again. The same spec and seed always give the same digests.
func Example() {
	spec := experiment.Default()
	spec.Population = 8
	spec.Elites = 1
	spec.Episodes = 2
	spec.AnalysisEpisodes = 2
	base := ga.New(spec, fitness.Shape())
	members, births, next := base.Initial()
	ev := worker.NewEngine(2)
	for gen := uint32(0); gen < 3; gen++ {
		if gen > 0 {
			members, births, next = base.Next(members, gen, next)
		}
		records, err := coordinator.Evaluate(context.Background(), ev, "example", spec, gen, members, births)
		if err != nil {
			panic(err)
		}
		s := coordinator.Summarize(spec, gen, members, records, 0)
		fmt.Printf("generation %d: %d members, next id %d, digest %d hex digits\n", gen, len(members), next, len(s.GetDigest()))
	}
	// Output:
	// generation 0: 8 members, next id 8, digest 64 hex digits
	// generation 1: 8 members, next id 16, digest 64 hex digits
	// generation 2: 8 members, next id 24, digest 64 hex digits
}
