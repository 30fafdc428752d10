package sweep

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteTable writes a as the text `mesactl sweep show` prints: the runs,
// then per group a header (its runs, last generation, median horizon and
// final fitness and base), one row per condition with the class shares and
// flagged share in percent, and one row per feature with its mean final
// value under each condition. Every figure is "mean [lo, hi]"; a figure
// with a zero-width interval (one run, or all runs equal) is its mean
// alone, one without runs is "-". The curves are left to WriteCSV. It
// returns the first write error.
func (a Aggregates) WriteTable(w io.Writer) error {
	bw := bufio.NewWriter(w)
	missing := 0
	for _, r := range a.Runs {
		if r.Missing {
			missing++
		}
	}
	fmt.Fprintf(bw, "%d runs", len(a.Runs))
	if missing > 0 {
		fmt.Fprintf(bw, " (%d without a generation)", missing)
	}
	fmt.Fprintf(bw, "; figures are mean [%.0f %% bootstrap interval] across runs, B = %d\n\n", 100*a.Confidence, a.Resamples)

	tw := tabwriter.NewWriter(bw, 0, 4, 2, ' ', 0)
	head := "RUN\tSEED"
	for _, p := range a.Parameters {
		head += "\t" + strings.ToUpper(p.Path)
	}
	fmt.Fprintln(tw, head+"\tSTATE\tDONE\tFINAL DIGEST")
	for _, r := range a.Runs {
		line := fmt.Sprintf("%s\t%d", r.RunID, r.Seed)
		for i := range a.Parameters {
			v := "-"
			if i < len(r.Values) {
				v = r.Values[i]
			}
			line += "\t" + v
		}
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\n", line, r.State, r.GenerationsDone, r.Generations, short(r.FinalDigest))
	}
	tw.Flush()

	for _, g := range a.Groups {
		writeGroup(bw, g)
	}
	return bw.Flush()
}

func writeGroup(w io.Writer, g Group) {
	fmt.Fprintf(w, "\n%s", g.Name)
	if g.Kind != KindAll {
		fmt.Fprintf(w, " (%s)", g.Kind)
	}
	fmt.Fprintf(w, ": %d runs", len(g.Runs))
	if g.Missing > 0 {
		fmt.Fprintf(w, ", %d missing", g.Missing)
	}
	f := g.Final
	fmt.Fprintf(w, ", generation %s, median horizon %s\n", cell(f.LastGeneration, "%.0f"), cell(f.MedianHorizon, "%.1f"))
	fmt.Fprintf(w, "  best fitness %s  train base %s  shifted base %s  planners %s %%\n",
		cell(f.BestFitness, "%.2f"), cell(f.MeanTrainBase, "%.2f"), cell(f.MeanShiftedBase, "%.2f"), percent(f.PlannerShare))
	if len(g.Conditions) == 0 {
		return
	}

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  CONDITION\tN\tROBUST %\tPSEUDO %\tCAP-FAIL %\tMISALIGNED %\tFLAGGED %")
	for _, c := range g.Conditions {
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.RobustlyAligned.N, percent(c.RobustlyAligned),
			percent(c.PseudoAligned), percent(c.CapabilityFailure), percent(c.Misaligned), percent(c.Flagged))
	}
	tw.Flush()

	var names []string
	seen := map[string]bool{}
	for _, c := range g.Conditions {
		for _, ft := range c.Features {
			if !seen[ft.Name] {
				seen[ft.Name] = true
				names = append(names, ft.Name)
			}
		}
	}
	if len(names) == 0 {
		return
	}
	head := "  FEATURE"
	for _, c := range g.Conditions {
		head += "\t" + c.Name
	}
	fmt.Fprintln(tw, head)
	for _, n := range names {
		line := "  " + n
		for _, c := range g.Conditions {
			v := "-"
			for _, ft := range c.Features {
				if ft.Name == n {
					v = cell(ft.Mean, "%.2f")
				}
			}
			line += "\t" + v
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
}

// cell formats an interval with verb: "m [lo, hi]", or "m" for a
// zero-width one, or "-" without runs.
func cell(iv Interval, verb string) string {
	if iv.N == 0 {
		return "-"
	}
	m := fmt.Sprintf(verb, iv.Mean)
	if iv.Lo == iv.Hi {
		return m
	}
	return fmt.Sprintf("%s ["+verb+", "+verb+"]", m, iv.Lo, iv.Hi)
}

// percent formats a share interval in whole percent.
func percent(iv Interval) string {
	return cell(Interval{Mean: 100 * iv.Mean, Lo: 100 * iv.Lo, Hi: 100 * iv.Hi, N: iv.N}, "%.0f")
}

func short(d string) string {
	if d == "" {
		return "-"
	}
	if len(d) > 12 {
		return d[:12]
	}
	return d
}
