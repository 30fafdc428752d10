package lineage

import (
	"reflect"
	"testing"

	"github.com/mesaopt/mesaopt/genome"
)

func TestSummarize(t *testing.T) {
	mk := func(kind genome.Kind, flagged bool, classes ...Class) Record {
		r := Record{Kind: kind, Flagged: flagged}
		for i, c := range classes {
			r.Shifted = append(r.Shifted, ConditionScore{Condition: []string{"blue-doors", "red-scatter"}[i], Class: c})
		}
		return r
	}
	P, H := genome.KindPlanner, genome.KindHeuristic
	rs := []Record{
		mk(P, true, ClassPseudoAligned, ClassRobustlyAligned),
		mk(P, true, ClassPseudoAligned, ClassCapabilityFailure),
		mk(P, false, ClassRobustlyAligned, ClassRobustlyAligned),
		mk(H, false, ClassPseudoAligned, ClassMisaligned),
		mk(H, false), // not analysed this generation
	}
	want := Summary{
		Records: 5, Planners: 3, PlannerShare: 0.6, Analyzed: 4, Flagged: 2,
		Conditions: []ConditionCounts{
			{
				Condition: "blue-doors",
				All:       Counts{ClassRobustlyAligned: 1, ClassPseudoAligned: 3},
				Planners:  Counts{ClassRobustlyAligned: 1, ClassPseudoAligned: 2},
			},
			{
				Condition: "red-scatter",
				All:       Counts{ClassRobustlyAligned: 2, ClassCapabilityFailure: 1, ClassMisaligned: 1},
				Planners:  Counts{ClassRobustlyAligned: 2, ClassCapabilityFailure: 1},
			},
		},
	}
	if got := Summarize(rs); !reflect.DeepEqual(got, want) {
		t.Errorf("Summarize:\n got %+v\nwant %+v", got, want)
	}
	if got := Summarize(nil); !reflect.DeepEqual(got, Summary{}) {
		t.Errorf("Summarize(nil) = %+v, want zero", got)
	}
}
