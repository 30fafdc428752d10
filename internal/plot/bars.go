package plot

import (
	"fmt"

	gonum "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// BarSeries is one bar per category: Y[i] over Categories[i]. Lo and Hi,
// when set, bound an interval drawn as an error bar; both empty or both
// as long as Y.
type BarSeries struct {
	Name   string
	Y      []float64
	Lo, Hi []float64
}

// Bars is a grouped bar chart: along x one group per category (a
// condition, say), within it one bar per series in the colour Color of
// its position, with an entry in the legend. YMin and YMax, when
// YMin < YMax, fix the y axis.
type Bars struct {
	Title, XLabel, YLabel string
	Categories            []string
	Series                []BarSeries
	YMin, YMax            float64
}

// groupWidth is the share of a category's unit of x its bars fill.
const groupWidth = 0.8

func (b Bars) build() (*gonum.Plot, error) {
	if len(b.Series) == 0 || len(b.Categories) == 0 {
		return nil, fmt.Errorf("%w: %q has %d series and %d categories", ErrData, b.Title, len(b.Series), len(b.Categories))
	}
	p := newPlot(b.Title, b.XLabel, b.YLabel, true)
	w := groupWidth / float64(len(b.Series))
	for i, s := range b.Series {
		if len(s.Y) != len(b.Categories) {
			return nil, fmt.Errorf("%w: bar series %q has %d values for %d categories", ErrData, s.Name, len(s.Y), len(b.Categories))
		}
		erred := len(s.Lo) > 0 || len(s.Hi) > 0
		if erred && (len(s.Lo) != len(s.Y) || len(s.Hi) != len(s.Y)) {
			return nil, fmt.Errorf("%w: bar series %q has %d values, %d lo and %d hi", ErrData, s.Name, len(s.Y), len(s.Lo), len(s.Hi))
		}
		if err := finite(fmt.Sprintf("bar series %q", s.Name), s.Y, s.Lo, s.Hi); err != nil {
			return nil, err
		}
		c := Color(i)
		var first *plotter.Polygon
		errs := errorBars{}
		for k, y := range s.Y {
			x0 := float64(k) - groupWidth/2 + float64(i)*w
			bar, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: 0}, {X: x0 + w, Y: 0}, {X: x0 + w, Y: y}, {X: x0, Y: y}})
			if err != nil {
				return nil, err
			}
			bar.Color = c
			bar.LineStyle.Width = 0
			p.Add(bar)
			if first == nil {
				first = bar
			}
			if erred {
				errs.XYs = append(errs.XYs, plotter.XY{X: x0 + w/2, Y: y})
				errs.YErrors = append(errs.YErrors, struct{ Low, High float64 }{y - s.Lo[k], s.Hi[k] - y})
			}
		}
		p.Legend.Add(s.Name, first)
		if erred {
			eb, err := plotter.NewYErrorBars(errs)
			if err != nil {
				return nil, err
			}
			eb.CapWidth = vg.Points(3)
			p.Add(eb)
		}
	}
	p.NominalX(b.Categories...)
	p.X.Min, p.X.Max = -0.5, float64(len(b.Categories))-0.5
	if b.YMin < b.YMax {
		p.Y.Min, p.Y.Max = b.YMin, b.YMax
	}
	return p, nil
}

// errorBars is the XYer and YErrorer plotter.NewYErrorBars reads.
type errorBars struct {
	plotter.XYs
	plotter.YErrors
}
