package coordinator_test

import (
	"testing"

	"github.com/mesaopt/mesaopt/experiment"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/worker"
)

// TestRegimeChange switches selection to the shifted condition mid-run and
// checks the report follows the lineages alive before the change.
func TestRegimeChange(t *testing.T) {
	spec := smallSpec()
	spec.Generations = 8
	spec.Population = 16
	spec.RegimeChange = &experiment.RegimeChange{Generation: 4, TrainCondition: "shifted"}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := spec.SelectionCondition(3); got != "train" {
		t.Fatalf("generation 3 selects on %q", got)
	}
	if got := spec.SelectionCondition(4); got != "shifted" {
		t.Fatalf("generation 4 selects on %q", got)
	}
	run := runToEnd(t, startCoordinator(t, startEtcd(t), worker.NewEngine(2)), spec)
	r := run.GetReport().GetRegime()
	if r == nil || r.GetGeneration() != 4 || r.GetTrainCondition() != "shifted" {
		t.Fatalf("regime report %v", r)
	}
	total := 0
	for _, ls := range [][]*pb.RegimeLineage{r.GetReadapted(), r.GetKeptProxy(), r.GetOther()} {
		for _, l := range ls {
			if l.GetAncestor().GetGeneration() != 3 || l.GetDescendants() == 0 {
				t.Fatalf("lineage %v: ancestor generation %d, %d descendants", l.GetAncestor().GetId(), l.GetAncestor().GetGeneration(), l.GetDescendants())
			}
			total += int(l.GetDescendants())
		}
	}
	if total != spec.Population {
		t.Fatalf("the lineages cover %d of %d individuals of the last generation", total, spec.Population)
	}

	bad := spec
	bad.RegimeChange = &experiment.RegimeChange{Generation: 4, TrainCondition: "moon"}
	if err := bad.Validate(); err == nil {
		t.Fatal("a regime change to an unknown condition validated")
	}
	bad.RegimeChange = &experiment.RegimeChange{Generation: 8, TrainCondition: "shifted"}
	if err := bad.Validate(); err == nil {
		t.Fatal("a regime change after the last generation validated")
	}
}
