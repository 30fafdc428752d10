package sweep_test

import (
	"fmt"

	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/sweep"
)

// features are the fixture runs' feature names.
var features = []string{"coin_collected", "end_reached"}

// counts builds a ClassCounts of four individuals or more.
func counts(cond string, robust, pseudo, capFail, mis, flaggedPseudo, flaggedDrift uint32, hits []float64, feats ...float64) *pb.ClassCounts {
	return &pb.ClassCounts{
		Condition: cond, RobustlyAligned: robust, PseudoAligned: pseudo, CapabilityFailure: capFail, Misaligned: mis,
		Individuals: robust + pseudo + capFail + mis, FlaggedPseudoAligned: flaggedPseudo, FlaggedDriftOnly: flaggedDrift,
		ProxyHits: hits, MeanFeatures: feats,
	}
}

// summary builds generation g's summary.
func summary(g uint32, best, train, shifted, planners, horizon float64, flagged uint32, classes ...*pb.ClassCounts) *pb.GenerationSummary {
	return &pb.GenerationSummary{
		Generation: g, BestFitness: best, MeanFitness: best / 2, MeanTrainBase: train, MeanShiftedBase: shifted,
		PlannerShare: planners, MedianHorizon: horizon, Flagged: flagged, Classes: classes,
		Digest: fmt.Sprintf("digest-%d", g),
	}
}

// run builds a run of population 4 over 2 generations; with no summaries
// it is still running.
func run(id string, seed uint64, identity *pb.ClassCounts, sums ...*pb.GenerationSummary) *pb.Run {
	r := &pb.Run{
		RunId: id, Spec: &pb.ExperimentSpec{Seed: seed, Generations: 2, Population: 4},
		State: pb.RunState_RUN_STATE_SUCCEEDED, GenerationsDone: uint32(len(sums)), Summaries: sums,
		FeatureNames: features,
	}
	if len(sums) == 0 {
		r.State = pb.RunState_RUN_STATE_RUNNING
		return r
	}
	r.Report = &pb.Report{Identity: identity}
	if len(sums) == 2 {
		r.FinalDigest = fmt.Sprintf("final-%s", id)
	} else {
		r.State = pb.RunState_RUN_STATE_INTERRUPTED
	}
	return r
}

// fixture is a sweep over environment.red_objects = 1, 3 with seeds 1..3,
// whose numbers can be reasoned out:
//
//   - red_objects=1, seed s: the last generation has s of 4 individuals
//     robustly aligned under "shifted" (shares 0.25, 0.5, 0.75: mean 0.5),
//     1 pseudo-aligned and flagged (0.25 for every seed: a zero-width
//     interval), 3−s capability failures; proxy hits 2 per pseudo-aligned
//     individual (0.5 per individual); coin_collected = s/4; median
//     horizon s+1; identity all robust.
//   - red_objects=3: seeds 1 and 2 finish with 1 of 4 robust and 3
//     pseudo-aligned; seed 3 was interrupted after generation 0 (0 robust,
//     4 misaligned there, no report); seed 4 has no summary (missing).
func fixture() ([]sweep.Parameter, []sweep.Run) {
	params := []sweep.Parameter{{Path: "environment.red_objects", Values: []string{"1", "3"}}}
	hits := []float64{0, 0, 2, 0, 0}
	var runs []sweep.Run
	for s := uint64(1); s <= 3; s++ {
		f := float64(s)
		id := counts("identity", 4, 0, 0, 0, 0, 0, []float64{0, 0, 0, 0, 0}, 0, 1)
		r := run(fmt.Sprintf("r1-s%d", s), s, id,
			summary(0, 0.5, 0.6, 0.3, 0.5, 2, 0, counts("shifted", 0, 0, 4, 0, 0, 0, hits, 0, 0)),
			summary(1, 0.8+0.05*f, 0.9, 0.4+0.1*f, 0.75, f+1, 1, counts("shifted", uint32(s), 1, uint32(3-s), 0, 1, 0, hits, f/4, 1-f/4)))
		runs = append(runs, sweep.Run{Seed: s, Values: []string{"1"}, Run: r})
	}
	for s := uint64(1); s <= 2; s++ {
		id := counts("identity", 3, 1, 0, 0, 0, 0, []float64{0, 0, 1, 0, 0}, 0, 1)
		r := run(fmt.Sprintf("r3-s%d", s), s, id,
			summary(0, 0.4, 0.5, 0.2, 0.5, 1, 0, counts("shifted", 0, 0, 4, 0, 0, 0, hits, 0, 0)),
			summary(1, 0.7, 0.9, 0.2, 1, 2, 3, counts("shifted", 1, 3, 0, 0, 2, 1, hits, 1, 0)))
		runs = append(runs, sweep.Run{Seed: s, Values: []string{"3"}, Run: r})
	}
	runs = append(runs,
		sweep.Run{Seed: 3, Values: []string{"3"}, Run: run("r3-s3", 3, nil,
			summary(0, 0.3, 0.4, 0.1, 0.25, 1, 0, counts("shifted", 0, 0, 0, 4, 0, 0, hits, 0, 0)))},
		sweep.Run{Seed: 4, Values: []string{"3"}, Run: run("r3-s4", 4, nil)})
	return params, runs
}
