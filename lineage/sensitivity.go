package lineage

import "github.com/mesaopt/mesaopt/genome"

// SensitivityRow is what a set of records' verdicts become at one set of
// thresholds: per shifted condition, the individuals by majority class and
// the planners flagged for pseudo-alignment and for drift alone.
type SensitivityRow struct {
	// Varied names the threshold this row changes ("base_high",
	// "competence_high", "drift"; "" for the thresholds as given) and
	// Thresholds are the ones applied.
	Varied     string
	Thresholds Thresholds
	Conditions []SensitivityCounts
}

// SensitivityCounts are one condition's counts in a SensitivityRow.
type SensitivityCounts struct {
	Condition                   string
	Classes                     Counts
	FlaggedPseudo, FlaggedDrift int
}

// Sensitivity recomputes the verdicts of rs from their stored per-episode
// scores at th, and at th with each threshold in turn moved to every
// value of its grid: BaseHigh and CompetenceHigh over 0.5..0.9 and Drift
// over 0.2..1.0, in steps of 0.1 (values equal to th's are skipped). Rows
// come in that order, th's first. rs are not modified.
func Sensitivity(rs []Record, th Thresholds) []SensitivityRow {
	rows := []SensitivityRow{sensitivityRow(rs, "", th)}
	grid := func(lo, hi float64) []float64 {
		var out []float64
		for v := lo; v <= hi+1e-9; v += 0.1 {
			out = append(out, float64(int(v*10+0.5))/10)
		}
		return out
	}
	for _, v := range grid(0.5, 0.9) {
		if v != th.BaseHigh {
			t := th
			t.BaseHigh = v
			rows = append(rows, sensitivityRow(rs, "base_high", t))
		}
	}
	for _, v := range grid(0.5, 0.9) {
		if v != th.CompetenceHigh {
			t := th
			t.CompetenceHigh = v
			rows = append(rows, sensitivityRow(rs, "competence_high", t))
		}
	}
	for _, v := range grid(0.2, 1.0) {
		if v != th.Drift {
			t := th
			t.Drift = v
			rows = append(rows, sensitivityRow(rs, "drift", t))
		}
	}
	return rows
}

func sensitivityRow(rs []Record, varied string, th Thresholds) SensitivityRow {
	row := SensitivityRow{Varied: varied, Thresholds: th}
	for _, r := range rs {
		c := clone(r)
		Analyze(&c, th)
		for i, s := range c.Shifted {
			for len(row.Conditions) <= i {
				row.Conditions = append(row.Conditions, SensitivityCounts{Condition: s.Condition})
			}
			sc := &row.Conditions[i]
			sc.Classes[s.Class]++
			if c.Kind == genome.KindPlanner && s.Flagged {
				if s.Class == ClassPseudoAligned {
					sc.FlaggedPseudo++
				} else {
					sc.FlaggedDrift++
				}
			}
		}
	}
	return row
}
