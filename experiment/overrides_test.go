package experiment

import (
	"errors"
	"strings"
	"testing"
)

func TestApplyOverrides(t *testing.T) {
	got, paths, err := ApplyOverrides(Default(), []string{"generations=40", "environment.red_objects=5"})
	if err != nil || got.Generations != 40 || got.Environment.RedObjects != 5 || strings.Join(paths, ",") != "generations,environment.red_objects" {
		t.Fatalf("ApplyOverrides = %+v, %v, %v", got.Generations, paths, err)
	}
	for _, tc := range []struct{ set, want string }{
		{"nope=1", `set "nope=1": unknown field nope, allowed in an experiment: analysis_episodes`},
		{"environment.wdth=3", "unknown field environment.wdth, allowed in environment:"},
		{"seed=1.5", `set "seed=1.5": seed = 1.5, allowed an integer 0..18446744073709551615`},
		{"population=many", `population = "many", allowed an integer`},
		{"population=1", "population = 1, allowed 2..100000"},
		{"generations", `set[0] = "generations", allowed field=value`},
	} {
		_, _, err := ApplyOverrides(Default(), []string{tc.set})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("set %q: %v, want an error containing %q", tc.set, err, tc.want)
		}
	}
}
