package sweep_test

import (
	"os"

	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/sweep"
)

// Two seeds of one experiment, without swept parameters: their last
// generations had 1 and 3 of 4 individuals robustly aligned under "shifted".
func ExampleAggregate() {
	var runs []sweep.Run
	for seed := uint64(1); seed <= 2; seed++ {
		robust := uint32(2*seed - 1)
		runs = append(runs, sweep.Run{Seed: seed, Run: &pb.Run{
			RunId: "run-" + string(rune('0'+seed)), State: pb.RunState_RUN_STATE_SUCCEEDED, GenerationsDone: 1,
			Spec: &pb.ExperimentSpec{Generations: 1, Population: 4}, FeatureNames: []string{"coin_collected"},
			FinalDigest: "9f86d081884c7d659a2feaa0c55ad015",
			Summaries: []*pb.GenerationSummary{{
				BestFitness: 0.9, MeanFitness: 0.6, MeanTrainBase: 0.8, MeanShiftedBase: 0.2 * float64(seed),
				PlannerShare: 1, MedianHorizon: 3, Flagged: 4 - robust,
				Classes: []*pb.ClassCounts{{
					Condition: "shifted", RobustlyAligned: robust, PseudoAligned: 4 - robust, Individuals: 4,
					FlaggedPseudoAligned: 4 - robust, MeanFeatures: []float64{1 - float64(robust)/4},
				}},
			}},
		}})
	}
	if err := sweep.Aggregate(nil, runs).WriteTable(os.Stdout); err != nil {
		panic(err)
	}
	// Output:
	// 2 runs; figures are mean [95 % bootstrap interval] across runs, B = 10000
	//
	// RUN    SEED  STATE      DONE  FINAL DIGEST
	// run-1  1     succeeded  1/1   9f86d081884c
	// run-2  2     succeeded  1/1   9f86d081884c
	//
	// all: 2 runs, generation 0, median horizon 3.0
	//   best fitness 0.90  train base 0.80  shifted base 0.30 [0.20, 0.40]  planners 100 %
	//   CONDITION  N  ROBUST %     PSEUDO %     CAP-FAIL %  MISALIGNED %  FLAGGED %
	//   shifted    2  50 [25, 75]  50 [25, 75]  0           0             50 [25, 75]
	//   FEATURE         shifted
	//   coin_collected  0.50 [0.25, 0.75]
}
