package coordinator

import (
	"fmt"
	"slices"

	"github.com/mesaopt/mesaopt/fitness"
)

// validateEnvironment checks the environment section and that every
// shifted condition exists in it.
func validateEnvironment(e Environment, shifted []string) error {
	if e.Name != "doors" {
		return fmt.Errorf("environment.name = %q, allowed \"doors\"", e.Name)
	}
	cfg := fitness.DefaultConfig()
	cfg.Width, cfg.Height, cfg.Walls, cfg.RedObjects, cfg.StepLimit = e.Width, e.Height, e.Walls, e.RedObjects, e.StepLimit
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("environment: %v", err)
	}
	conds := fitness.Conditions()
	for i, c := range shifted {
		if !slices.Contains(conds, c) {
			return fmt.Errorf("shifted_conditions[%d] = %q, allowed one of %v other than train", i, c, conds)
		}
	}
	return nil
}
