package behavior_test

import (
	"fmt"

	"github.com/mesaopt/mesaopt/behavior"
)

// A policy that, at every step, moves to whichever state has more of
// feature 0 ("red touched") and ignores feature 1 ("distance to the exit").
func Example() {
	steps := []behavior.Step{
		{Options: [][]float64{{0, 0.5}, {1, 0.9}, {0, 0.1}}, Chosen: 1},
		{Options: [][]float64{{1, 0.2}, {2, 0.8}}, Chosen: 1},
		{Options: [][]float64{{2, 0.3}, {2, 0.9}, {3, 0.7}}, Chosen: 2},
		{Options: [][]float64{{3, 0.6}, {3, 0.6}}, Chosen: 0}, // one distinct option: skipped
	}
	fit, err := behavior.Infer(steps, behavior.DefaultConfig())
	if err != nil {
		panic(err)
	}
	fmt.Printf("informative steps %d, accuracy %.2f, pseudo-R² %.2f\n", fit.Steps, fit.Accuracy, fit.PseudoR2)
	fmt.Printf("prefers red over distance: %v\n", fit.Weights[0] > fit.Weights[1])
	fmt.Printf("cosine to a pure red-seeker: %.2f\n", behavior.Cosine(fit.Weights, []float64{1, 0}))
	// Output:
	// informative steps 3, accuracy 1.00, pseudo-R² 0.99
	// prefers red over distance: true
	// cosine to a pure red-seeker: 0.97
}
