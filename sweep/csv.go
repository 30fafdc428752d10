package sweep

import (
	"encoding/csv"
	"io"
	"strconv"
)

// csvHeader names the columns WriteCSV writes (the package doc describes
// them).
var csvHeader = []string{"group", "parameters", "metric", "condition", "feature", "generation", "mean", "lo", "hi", "n"}

// WriteCSV writes every number of a in long format, one row per number,
// under csvHeader's columns: per group, the run counts, then the final
// figures, then each condition's shares and features, then the curves by
// generation. Numbers are written in the shortest form that reads back
// exactly. It returns the first write error.
func (a Aggregates) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, g := range a.Groups {
		params := ""
		if g.Kind != KindAll {
			params = g.Name
		}
		row := func(metric, condition, feature, generation string, iv Interval) error {
			return cw.Write([]string{g.Kind, params, metric, condition, feature, generation,
				num(iv.Mean), num(iv.Lo), num(iv.Hi), strconv.Itoa(iv.N)})
		}
		count := func(v int) Interval {
			return Interval{Mean: float64(v), Lo: float64(v), Hi: float64(v), N: len(g.Runs)}
		}
		if err := row("runs", "", "", "", count(len(g.Runs))); err != nil {
			return err
		}
		if err := row("missing_runs", "", "", "", count(g.Missing)); err != nil {
			return err
		}
		if err := row("last_generation", "", "", "", g.Final.LastGeneration); err != nil {
			return err
		}
		for _, f := range figures {
			if err := row(f.name, "", "", "", *f.field(&g.Final.Figures)); err != nil {
				return err
			}
		}
		for _, c := range g.Conditions {
			for _, s := range shares {
				if err := row(s.name, c.Name, "", "", *s.field(&c)); err != nil {
					return err
				}
			}
			for _, f := range c.Features {
				if err := row("mean_feature", c.Name, f.Name, "", f.Mean); err != nil {
					return err
				}
			}
		}
		for _, p := range g.Curves {
			gen := strconv.FormatUint(uint64(p.Generation), 10)
			for _, f := range figures {
				if err := row(f.name, "", "", gen, *f.field(&p.Figures)); err != nil {
					return err
				}
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
