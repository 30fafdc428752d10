package experiment_test

import (
	"fmt"
	"strings"

	"github.com/mesaopt/mesaopt/experiment"
)

func ExampleParse() {
	spec, err := experiment.Parse(strings.NewReader("seed: 7\ngenerations: 10\nenvironment: {name: lava}\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(spec.Name, spec.Seed, spec.Generations, spec.ShiftedConditions)

	_, err = experiment.Parse(strings.NewReader("seed: 7\npopulation: 1\n"))
	fmt.Println(err)
	// Output:
	// lava 7 10 [test-v1 test-v2]
	// invalid experiment: line 2: population = 1, allowed 2..100000
}
