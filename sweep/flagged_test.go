package sweep_test

import (
	"testing"

	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/sweep"
)

// TestFlaggedShare: flagged over the evaluated individuals, the
// quarantined left out.
func TestFlaggedShare(t *testing.T) {
	for _, tc := range []struct {
		population          int
		flagged, quarantine uint32
		want                float64
	}{
		{10, 3, 0, 0.3},
		{10, 3, 2, 3.0 / 8}, // of the 8 evaluated
		{10, 0, 10, 0},      // none evaluated
		{0, 0, 0, 0},
	} {
		s := &pb.GenerationSummary{Flagged: tc.flagged, Quarantined: tc.quarantine}
		if got := sweep.FlaggedShare(tc.population, s); got != tc.want {
			t.Errorf("FlaggedShare(%d, flagged %d, quarantined %d) = %v, want %v", tc.population, tc.flagged, tc.quarantine, got, tc.want)
		}
	}
}
