package figures_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/mesaopt/mesaopt/internal/figures"
	"github.com/mesaopt/mesaopt/internal/plot"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/sweep"
)

func TestClassShares(t *testing.T) {
	cc := &pb.ClassCounts{Individuals: 8, RobustlyAligned: 4, PseudoAligned: 2, CapabilityFailure: 1, Misaligned: 1}
	if got, want := figures.ClassShares(cc), []float64{0.5, 0.25, 0.125, 0.125}; !slices.Equal(got, want) {
		t.Errorf("ClassShares = %v, want %v", got, want)
	}
	if got, want := figures.ClassCounts(cc), []int{4, 2, 1, 1}; !slices.Equal(got, want) {
		t.Errorf("ClassCounts = %v, want %v", got, want)
	}
	if got := figures.ClassShares(&pb.ClassCounts{}); !slices.Equal(got, []float64{0, 0, 0, 0}) {
		t.Errorf("ClassShares of nobody = %v, want zeros", got)
	}
}

func TestLastClassesAndClasses(t *testing.T) {
	r := &pb.Run{RunId: "r", Summaries: []*pb.GenerationSummary{
		{Generation: 0}, {Generation: 1, Classes: []*pb.ClassCounts{{Condition: "a", Individuals: 2, RobustlyAligned: 2}}},
	}, Report: &pb.Report{Identity: &pb.ClassCounts{Condition: "identity", Individuals: 2, PseudoAligned: 1, Misaligned: 1}}}
	counts, identity := figures.LastClasses(r)
	if len(counts) != 2 || !identity || counts[1].GetCondition() != "identity" {
		t.Fatalf("LastClasses = %v, identity %v", counts, identity)
	}
	charts, err := figures.Classes("t", r)
	if err != nil {
		t.Fatal(err)
	}
	b := charts[0].(plot.Bars)
	if !slices.Equal(b.Categories, []string{"a", "identity"}) || !slices.Equal(b.Series[0].Y, []float64{1, 0}) || !slices.Equal(b.Series[1].Y, []float64{0, 0.5}) {
		t.Errorf("bars %v: robustly aligned %v, pseudo-aligned %v", b.Categories, b.Series[0].Y, b.Series[1].Y)
	}
	if b.Title != "t, generation 2" {
		t.Errorf("title %q counts generations from 1", b.Title)
	}
	if _, err := figures.Classes("t", &pb.Run{RunId: "r"}); !errors.Is(err, figures.ErrNothing) {
		t.Errorf("a run with no generation: %v, want ErrNothing", err)
	}
}

func TestTopFlagged(t *testing.T) {
	in := []*pb.Individual{{Id: 5, Fitness: 1}, {Id: 3, Fitness: 2}, {Id: 2, Fitness: 2}, {Id: 9, Fitness: 0.5}}
	if top := figures.TopFlagged(in); top.GetId() != 2 {
		t.Errorf("TopFlagged = #%d, want #2 (fittest; ties: lowest id)", top.GetId())
	}
	if figures.TopFlagged(nil) != nil {
		t.Error("TopFlagged of none is not nil")
	}
}

func TestLineage(t *testing.T) {
	line := []*pb.Individual{ // newest first
		{Id: 3, Generation: 2, Train: &pb.ConditionScore{Condition: "train", Agreement: 0.9, Base: 1}, Shifted: []*pb.ConditionScore{{Condition: "s", Agreement: -0.5, Base: 0.2}}},
		{Id: 2, Generation: 1, Failure: "quarantined"},
		{Id: 1, Generation: 0, Train: &pb.ConditionScore{Condition: "train", Agreement: 0.8, Base: 0.5}, Shifted: []*pb.ConditionScore{{Condition: "s", Agreement: 0.7, Base: 0.4}}},
	}
	charts := figures.Lineage("t", line, &pb.DriftOrigin{Ancestor: line[0]})
	top := charts[0].(plot.Lines)
	if len(top.Series) != 2 || top.Series[0].Name != "train" || !slices.Equal(top.Series[1].X, []float64{1, 3}) || !slices.Equal(top.Series[1].Y, []float64{0.7, -0.5}) {
		t.Errorf("agreement series %+v", top.Series)
	}
	if len(top.Marks) != 1 || top.Marks[0].X != 3 {
		t.Errorf("drift origin mark %+v, want at generation 3 (1-based)", top.Marks)
	}
}

func TestGroup(t *testing.T) {
	agg := sweep.Aggregates{Groups: []sweep.Group{{Name: "all"}, {Name: "p=1"}}}
	if g, err := figures.Group(agg, ""); err != nil || g.Name != "all" {
		t.Errorf("default group %v %v", g, err)
	}
	if g, err := figures.Group(agg, "p=1"); err != nil || g.Name != "p=1" {
		t.Errorf("group p=1: %v %v", g, err)
	}
	var ug *figures.UnknownGroupError
	if _, err := figures.Group(agg, "p=2"); !errors.As(err, &ug) || !slices.Equal(ug.Allowed, []string{"all", "p=1"}) {
		t.Errorf("unknown group: %v", err)
	}
	if _, err := figures.Group(sweep.Aggregates{}, ""); !errors.Is(err, figures.ErrNothing) {
		t.Errorf("no groups: %v, want ErrNothing", err)
	}
}
