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
	Width       = 7 * vg.Inch
	ChartHeight = 3.6 * vg.Inch
	// legendGap separates the plots from the legends' column.
	legendGap = vg.Length(8) // points
	// DPI is the resolution of PNG output: 7 in at 150 dpi is 1050 pixels.
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
	// Legends go in a column right of the plots, so they hide no data and
	// every panel's x axis keeps the same length.
	legends := make([]gonum.Legend, len(plots))
	var lw vg.Length
	for i, row := range plots {
		legends[i] = row[0].Legend
		row[0].Legend = gonum.NewLegend()
		r := legends[i].Rectangle(draw.Canvas{})
		lw = max(lw, r.Max.X-r.Min.X)
	}
	if lw > 0 {
		lw += legendGap
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
	area := draw.Crop(dc, 0, -lw, 0, 0)
	column := draw.Crop(dc, dc.Max.X-dc.Min.X-lw+legendGap, 0, 0, 0)
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadY: vg.Points(6)}
	for i, row := range gonum.Align(plots, tiles, area) {
		p := plots[i][0]
		p.Draw(row[0])
		c := tiles.At(column, 0, i)
		if p.Title.Text != "" {
			c = draw.Crop(c, 0, 0, 0, -(p.Title.TextStyle.Height(p.Title.Text) + p.Title.Padding))
		}
		legends[i].Left, legends[i].Top = true, true
		legends[i].Draw(c)
	}
	var buf bytes.Buffer
	if _, err := canvas.WriteTo(&buf); err != nil {
		return nil, err
	}
	if f == SVG {
		return svgFallbacks(buf.Bytes()), nil
	}
	return buf.Bytes(), nil
}

// svgFontFamily is how an SVG names the charts' font, and
// SVGFontFallbacks the declaration written instead with fonts of the same metrics after it:
// Liberation Serif is metric-compatible with Times New Roman (and Tinos),
// so a viewer without Liberation (Windows, macOS) draws text of the
// widths the layout measured, and legends and labels fit. Debian's
// fonts-liberation package provides Liberation itself.
const (
	svgFontFamily    = "font-family:Liberation Serif;"
	SVGFontFallbacks = "font-family:'Liberation Serif','Times New Roman',Tinos,serif;"
)

// svgFallbacks adds the fallbacks to every font-family of an SVG.
func svgFallbacks(b []byte) []byte {
	return bytes.ReplaceAll(b, []byte(svgFontFamily), []byte(SVGFontFallbacks))
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

// translucent returns c at about a fifth of full opacity, for bands.
func translucent(c color.RGBA) color.NRGBA {
	return color.NRGBA{R: c.R, G: c.G, B: c.B, A: 0x30}
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

// newPlot returns a plot with a grid; bars get none across x, where its
// lines would cut through them.
func newPlot(title, xlabel, ylabel string, bars bool) *gonum.Plot {
	p := gonum.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	grid := plotter.NewGrid()
	if bars {
		grid.Vertical.Color = nil
	}
	p.Add(grid)
	return p
}
