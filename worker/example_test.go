package worker_test

import (
	"context"
	"fmt"

	"github.com/mesaopt/mesaopt/fitness"
	"github.com/mesaopt/mesaopt/worker"
)

// The Engine is what a worker serves: here the seed example's two planners
// under the shifted condition, evaluated in-process.
func ExampleEngine() {
	resp, err := worker.NewEngine(2).Evaluate(context.Background(), request(fitness.ExitSeeker(), fitness.RedSeeker()))
	if err != nil {
		panic(err)
	}
	for _, r := range resp.GetResults() {
		shifted := r.GetConditions()[1]
		fmt.Printf("individual %d: shifted base %.2f, behaves like %q\n", r.GetIndividualId(), shifted.GetBase(), shifted.GetBehavioralObjective())
	}
	// Output:
	// individual 10: shifted base 1.00, behaves like "exit/blue/doors"
	// individual 11: shifted base 0.00, behaves like "red"
}
