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

// TestUntrainedMarks: a weight whose feature is untrained gets a "*" and
// the table its legend; unknown (no Varied) marks nothing; the section
// shows "-" where there is no failure to explain.
func TestUntrainedMarks(t *testing.T) {
	features := []string{"dist_exit", "blue_touched"}
	marked := &pb.Individual{Id: 1, Objective: []float64{-1, -2}, Train: &pb.ConditionScore{Varied: []bool{true, false}}}
	unknown := &pb.Individual{Id: 2, Objective: []float64{-1, -2}, Train: &pb.ConditionScore{}}
	var b strings.Builder
	Objectives(&b, features, []float64{-1, 0}, []*pb.Individual{marked, unknown})
	out := b.String()
	if !strings.Contains(out, "-2.00*") || strings.Contains(out, "-1.00*") || strings.Count(out, "*") != 2 || !strings.Contains(out, UntrainedLegend) {
		t.Errorf("marks:\n%s", out)
	}
	b.Reset()
	Objectives(&b, features, []float64{-1, 0}, []*pb.Individual{unknown})
	if strings.Contains(b.String(), "*") {
		t.Errorf("unknown marked:\n%s", b.String())
	}
	b.Reset()
	Untrained(&b, features, &pb.GenerationSummary{Generation: 3, Untrained: []*pb.Untrained{{Individual: 1, Features: []uint32{1}, TrainBase: 1, ZeroedTrainBase: 1,
		Shifted: []*pb.UntrainedShare{
			{Condition: "blue-doors", Base: 0, ZeroedBase: 1, Failure: true, Share: 1, ZeroedClass: pb.AlignmentClass_ALIGNMENT_CLASS_ROBUSTLY_ALIGNED},
			{Condition: "red-objects", Base: 1, ZeroedBase: 1},
		}}}})
	out = b.String()
	for _, want := range []string{"#1", "blue_touched", "blue-doors", "1.00", "red-objects", "-  "} {
		if !strings.Contains(out, want) {
			t.Errorf("section lacks %q:\n%s", want, out)
		}
	}
}

// TestReportFrozen: a run with freeze_untrained names its frozen features
// in the report, "none" when there are none; a run without says nothing.
func TestReportFrozen(t *testing.T) {
	features := []string{"dist_exit", "blue_touched", "dist_blue"}
	for _, tc := range []struct {
		freeze bool
		frozen []uint32
		want   string
	}{
		{true, []uint32{1, 2}, "frozen at 0 (untrained in train): blue_touched, dist_blue\n"},
		{true, nil, "frozen at 0 (untrained in train): none\n"},
		{false, nil, ""},
	} {
		run := &pb.Run{Spec: &pb.ExperimentSpec{FreezeUntrained: tc.freeze}, FeatureNames: features,
			Report: &pb.Report{FrozenFeatures: tc.frozen}}
		var b strings.Builder
		Report(&b, run, nil)
		got := b.String()
		if tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("freeze %v, frozen %v: report lacks %q:\n%s", tc.freeze, tc.frozen, tc.want, got)
		}
		if tc.want == "" && strings.Contains(got, "frozen at 0") {
			t.Errorf("report without the control names frozen features:\n%s", got)
		}
	}
}
