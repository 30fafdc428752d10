package plot

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"strings"

	gonum "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Format is an output file format.
type Format string

// Formats Render writes.
const (
	SVG Format = "svg"
	PNG Format = "png"
	PDF Format = "pdf"
)

// Formats lists every Format, in the order error messages name them.
var Formats = []Format{SVG, PNG, PDF}

// Sentinel errors.
var (
	// ErrFormat is a format (or file extension) Render does not write.
	ErrFormat = errors.New("plot: unknown format")
	// ErrData is a chart whose data cannot be drawn: slices of unequal
	// length, no series, or a NaN or infinite value.
	ErrData = errors.New("plot: invalid chart data")
)

// FormatOf returns the Format of a file name's extension (.svg, .png or
// .pdf, any case), or ErrFormat.
func FormatOf(name string) (Format, error) {
	ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(name), "."))
	for _, f := range Formats {
		if ext == string(f) {
			return f, nil
		}
	}
	return "", fmt.Errorf("%w: extension %q", ErrFormat, filepath.Ext(name))
}

// Page sizes: each chart of a Render is Width wide and ChartHeight high.
const (
	Width       = 6 * vg.Inch
	ChartHeight = 3.6 * vg.Inch
	// DPI is the resolution of PNG output: 6 in at 150 dpi is 900 pixels.
	DPI = 150
)

// Chart is one panel of a figure: Lines or Bars.
type Chart interface {
	build() (*gonum.Plot, error)
}

// Render draws charts stacked top to bottom, their x axes aligned, and
// returns the file's bytes in format f. The page is Width by
// len(charts)·ChartHeight.
func Render(f Format, charts ...Chart) ([]byte, error) {
	if len(charts) == 0 {
		return nil, fmt.Errorf("%w: no chart", ErrData)
	}
	plots := make([][]*gonum.Plot, len(charts))
	for i, c := range charts {
		p, err := c.build()
		if err != nil {
			return nil, err
		}
		plots[i] = []*gonum.Plot{p}
	}
	w, h := Width, ChartHeight*vg.Length(len(charts))
	var canvas interface {
		vg.CanvasSizer
		io.WriterTo
	}
	switch f {
	case SVG:
		canvas = vgsvg.New(w, h)
	case PNG:
		canvas = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(DPI))}
	case PDF:
		canvas = vgpdf.New(w, h)
	default:
		return nil, fmt.Errorf("%w: %q", ErrFormat, f)
	}
	dc := draw.New(canvas)
	if len(plots) == 1 {
		plots[0][0].Draw(dc)
	} else {
		tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadY: vg.Points(6)}
		for i, row := range gonum.Align(plots, tiles, dc) {
			plots[i][0].Draw(row[0])
		}
	}
	var buf bytes.Buffer
	if _, err := canvas.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// palette is Okabe & Ito's colour-blind-safe palette without its black
// and yellow (too faint on white), in the order series take it.
var palette = []color.RGBA{
	{0x00, 0x72, 0xb2, 0xff}, // blue
	{0xd5, 0x5e, 0x00, 0xff}, // vermillion
	{0x00, 0x9e, 0x73, 0xff}, // bluish green
	{0xcc, 0x79, 0xa7, 0xff}, // reddish purple
	{0xe6, 0x9f, 0x00, 0xff}, // orange
	{0x56, 0xb4, 0xe9, 0xff}, // sky blue
}

// Color returns the colour of the i-th series (0-based) of a chart.
func Color(i int) color.RGBA { return palette[i%len(palette)] }

// translucent returns c at a quarter opacity, for bands.
func translucent(c color.RGBA) color.NRGBA {
	return color.NRGBA{R: c.R, G: c.G, B: c.B, A: 0x40}
}

func finite(name string, vs ...[]float64) error {
	for _, v := range vs {
		for _, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return fmt.Errorf("%w: %s holds %v", ErrData, name, x)
			}
		}
	}
	return nil
}

func newPlot(title, xlabel, ylabel string) *gonum.Plot {
	p := gonum.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return p
}
