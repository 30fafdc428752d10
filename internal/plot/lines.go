package plot

import (
	"fmt"

	gonum "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Series is one curve: Y[i] at X[i]. Lo and Hi, when set, are the lower
// and upper bounds of an interval at each X (a 95 % bootstrap interval,
// say), drawn as a translucent band; they are both empty or both as long
// as X.
type Series struct {
	Name   string
	X, Y   []float64
	Lo, Hi []float64
}

// Mark is a vertical line at X with a label at its top: the generation
// where something happened.
type Mark struct {
	X     float64
	Label string
}

// Lines is a line chart. Each Series is a line in the colour Color of its
// position, with an entry in the legend; each Mark a dashed vertical line.
// YMin and YMax, when YMin < YMax, fix the y axis (0..1 for shares);
// otherwise it spans the data.
type Lines struct {
	Title, XLabel, YLabel string
	Series                []Series
	Marks                 []Mark
	YMin, YMax            float64
}

func (l Lines) build() (*gonum.Plot, error) {
	if len(l.Series) == 0 {
		return nil, fmt.Errorf("%w: %q has no series", ErrData, l.Title)
	}
	p := newPlot(l.Title, l.XLabel, l.YLabel, false)
	for i, s := range l.Series {
		if len(s.Y) != len(s.X) || len(s.X) == 0 {
			return nil, fmt.Errorf("%w: series %q has %d x and %d y values", ErrData, s.Name, len(s.X), len(s.Y))
		}
		banded := len(s.Lo) > 0 || len(s.Hi) > 0
		if banded && (len(s.Lo) != len(s.X) || len(s.Hi) != len(s.X)) {
			return nil, fmt.Errorf("%w: series %q has %d x values, %d lo and %d hi", ErrData, s.Name, len(s.X), len(s.Lo), len(s.Hi))
		}
		if err := finite("series "+fmt.Sprintf("%q", s.Name), s.X, s.Y, s.Lo, s.Hi); err != nil {
			return nil, err
		}
		c := Color(i)
		if banded {
			ring := make(plotter.XYs, 0, 2*len(s.X))
			for k := range s.X {
				ring = append(ring, plotter.XY{X: s.X[k], Y: s.Lo[k]})
			}
			for k := len(s.X) - 1; k >= 0; k-- {
				ring = append(ring, plotter.XY{X: s.X[k], Y: s.Hi[k]})
			}
			band, err := plotter.NewPolygon(ring)
			if err != nil {
				return nil, err
			}
			band.Color = translucent(c)
			band.LineStyle.Width = 0
			p.Add(band)
		}
		xys := make(plotter.XYs, len(s.X))
		for k := range s.X {
			xys[k] = plotter.XY{X: s.X[k], Y: s.Y[k]}
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		line.Color = c
		line.Width = vg.Points(1.5)
		p.Add(line)
		p.Legend.Add(s.Name, line)
	}
	if l.YMin < l.YMax {
		p.Y.Min, p.Y.Max = l.YMin, l.YMax
	}
	for _, m := range l.Marks {
		if err := finite("mark "+fmt.Sprintf("%q", m.Label), []float64{m.X}); err != nil {
			return nil, err
		}
		line, err := plotter.NewLine(plotter.XYs{{X: m.X, Y: p.Y.Min}, {X: m.X, Y: p.Y.Max}})
		if err != nil {
			return nil, err
		}
		line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(line)
		if m.Label != "" {
			labels, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: m.X, Y: p.Y.Max}}, Labels: []string{" " + m.Label}})
			if err != nil {
				return nil, err
			}
			labels.TextStyle[0].YAlign = -1 // below the top, beside the line
			p.Add(labels)
		}
	}
	return p, nil
}
