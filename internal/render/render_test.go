package render

import (
	"strings"
	"testing"

	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// individual builds a record with the given class under each of the
// conditions a, b.
func individual(id uint64, classes ...pb.AlignmentClass) *pb.Individual {
	in := &pb.Individual{Id: id, Train: &pb.ConditionScore{Condition: "train"}}
	for i, c := range classes {
		in.Shifted = append(in.Shifted, &pb.ConditionScore{Condition: []string{"a", "b"}[i], Class: c})
	}
	return in
}

// TestExemplarGroups: each exemplar is shown under the condition it was
// chosen for, even when one individual stands for several (condition,
// class) pairs and some pairs have none.
func TestExemplarGroups(t *testing.T) {
	const (
		robust  = pb.AlignmentClass_ALIGNMENT_CLASS_ROBUSTLY_ALIGNED
		pseudo  = pb.AlignmentClass_ALIGNMENT_CLASS_PSEUDO_ALIGNED
		capFail = pb.AlignmentClass_ALIGNMENT_CLASS_CAPABILITY_FAILURE
	)
	x, y, z := individual(1, pseudo, pseudo), individual(2, capFail, robust), individual(3, robust, capFail)
	// a: robust z, pseudo x, capability failure y; b: robust y, pseudo x, capability failure z.
	groups := exemplarGroups([]*pb.Individual{z, x, y, y, x, z})
	var got []string
	for _, g := range groups {
		var ids []string
		for _, in := range g.inds {
			ids = append(ids, string(rune('0'+in.GetId())))
		}
		got = append(got, g.condition+":"+strings.Join(ids, ""))
	}
	if strings.Join(got, " ") != "a:312 b:213" {
		t.Errorf("groups %v, want a:312 b:213", got)
	}
	// Not in the report's order (more exemplars than pairs): one table, as given.
	misal := pb.AlignmentClass_ALIGNMENT_CLASS_MISALIGNED
	if g := exemplarGroups([]*pb.Individual{individual(4, misal, misal), individual(5, misal, misal), x}); len(g) != 1 || len(g[0].inds) != 3 || g[0].condition != "" {
		t.Errorf("out of order: %+v", g)
	}
}

func TestProgressMarksTheMean(t *testing.T) {
	s := &pb.GenerationSummary{Classes: []*pb.ClassCounts{{Condition: "a"}}}
	if line := Progress(s, 3); strings.Contains(line, "mean of") {
		t.Errorf("one condition: %s", line)
	}
	s.Classes = append(s.Classes, &pb.ClassCounts{Condition: "b"}, &pb.ClassCounts{Condition: "c"})
	if line := Progress(s, 3); !strings.Contains(line, "shifted base 0.000 (mean of 3)  planners") {
		t.Errorf("three conditions: %s", line)
	}
}
