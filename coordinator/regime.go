package coordinator

import (
	"cmp"
	"slices"

	"github.com/mesaopt/mesaopt/lineage"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// regimeReport follows the lineages alive in generation G−1 (G the regime
// change) to the individuals of the last generation last, judging both
// under the new training condition. The caller holds ar.mu.
func (ar *activeRun) regimeReport() *pb.RegimeReport {
	r := ar.spec.RegimeChange
	if r == nil || len(ar.last) == 0 || int(ar.last[0].Generation) < r.Generation {
		return nil
	}
	ci := slices.Index(ar.spec.ShiftedConditions, r.TrainCondition)
	classOf := func(rec lineage.Record) lineage.Class {
		if ci < 0 || ci >= len(rec.Shifted) {
			return lineage.ClassUnknown
		}
		return rec.Shifted[ci].Class
	}
	type group struct {
		ancestor lineage.Record
		members  []lineage.Record
	}
	byAncestor := map[uint64]*group{} // grouping only; order comes from the sort below
	for _, rec := range ar.last {
		line, err := ar.lineage.LineOfDescent(rec.ID)
		if err != nil {
			continue
		}
		for _, a := range line {
			if int(a.Generation) == r.Generation-1 {
				g := byAncestor[a.ID]
				if g == nil {
					g = &group{ancestor: a}
					byAncestor[a.ID] = g
				}
				g.members = append(g.members, rec)
				break
			}
		}
	}
	groups := make([]*group, 0, len(byAncestor))
	for _, g := range byAncestor {
		groups = append(groups, g)
	}
	slices.SortFunc(groups, func(a, b *group) int {
		if c := cmp.Compare(len(b.members), len(a.members)); c != 0 {
			return c
		}
		return cmp.Compare(a.ancestor.ID, b.ancestor.ID)
	})
	rep := &pb.RegimeReport{Generation: uint32(r.Generation), TrainCondition: r.TrainCondition}
	for _, g := range groups {
		best := sortedRecords(g.members)[0]
		before, after := classOf(g.ancestor), classOf(best)
		l := &pb.RegimeLineage{Ancestor: RecordToProto(g.ancestor, nil), Descendants: uint32(len(g.members)),
			DescendantClass: ClassToProto(after), FittestDescendant: best.ID}
		switch {
		case before != lineage.ClassRobustlyAligned && after == lineage.ClassRobustlyAligned:
			rep.Readapted = append(rep.Readapted, l)
		case before == lineage.ClassPseudoAligned && after == lineage.ClassPseudoAligned:
			rep.KeptProxy = append(rep.KeptProxy, l)
		default:
			rep.Other = append(rep.Other, l)
		}
	}
	return rep
}
