package plot_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"image/png"
	"io"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"

	"github.com/mesaopt/mesaopt/internal/plot"
)

func fitnessChart() plot.Lines {
	x := []float64{1, 2, 3, 4}
	return plot.Lines{
		Title: "run r1 (seed 7)", XLabel: "generation", YLabel: "fitness",
		Series: []plot.Series{
			{Name: "best fitness", X: x, Y: []float64{0.2, 0.5, 0.7, 0.9}},
			{Name: "mean fitness", X: x, Y: []float64{0.1, 0.3, 0.4, 0.6}, Lo: []float64{0, 0.2, 0.3, 0.5}, Hi: []float64{0.2, 0.4, 0.5, 0.7}},
		},
		Marks: []plot.Mark{{X: 3, Label: "drift origin"}},
	}
}

func classChart() plot.Bars {
	return plot.Bars{
		Title: "classes", YLabel: "share", Categories: []string{"shifted", "lava"}, YMin: 0, YMax: 1,
		Series: []plot.BarSeries{
			{Name: "robustly aligned", Y: []float64{0.5, 0.2}, Lo: []float64{0.4, 0.1}, Hi: []float64{0.6, 0.3}},
			{Name: "pseudo-aligned", Y: []float64{0.3, 0.6}, Lo: []float64{0.2, 0.5}, Hi: []float64{0.4, 0.7}},
			{Name: "capability failure", Y: []float64{0.1, 0.1}, Lo: []float64{0, 0}, Hi: []float64{0.2, 0.2}},
			{Name: "misaligned", Y: []float64{0.1, 0.1}, Lo: []float64{0, 0}, Hi: []float64{0.2, 0.2}},
		},
	}
}

// svgDoc is what an SVG says: its texts and, per stroke or fill colour,
// how many paths are drawn in it.
type svgDoc struct {
	texts   []string
	strokes map[string]int
	fills   map[string]int
}

func parseSVG(t *testing.T, b []byte) svgDoc {
	t.Helper()
	doc := svgDoc{strokes: map[string]int{}, fills: map[string]int{}}
	dec := xml.NewDecoder(bytes.NewReader(b))
	root := true
	var inText bool
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not XML: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if root {
				if el.Name.Local != "svg" {
					t.Fatalf("root element %q, want svg", el.Name.Local)
				}
				root = false
			}
			inText = el.Name.Local == "text"
			if el.Name.Local == "path" {
				for _, a := range el.Attr {
					if a.Name.Local != "style" {
						continue
					}
					for _, decl := range strings.Split(a.Value, ";") {
						k, v, _ := strings.Cut(decl, ":")
						switch strings.TrimSpace(k) {
						case "stroke":
							doc.strokes[strings.TrimSpace(v)]++
						case "fill":
							doc.fills[strings.TrimSpace(v)]++
						}
					}
				}
			}
		case xml.CharData:
			if inText {
				doc.texts = append(doc.texts, strings.TrimSpace(string(el)))
			}
		case xml.EndElement:
			inText = false
		}
	}
	if root {
		t.Fatal("empty SVG")
	}
	return doc
}

// rgb is how the SVG spells the colour of series i.
func rgb(i int) string {
	c := plot.Color(i)
	return fmt.Sprintf("#%02X%02X%02X", c.R, c.G, c.B)
}

func TestRenderSVGDeterministic(t *testing.T) {
	for name, charts := range map[string][]plot.Chart{
		"lines":   {fitnessChart()},
		"bars":    {classChart()},
		"stacked": {fitnessChart(), fitnessChart()},
	} {
		a, err := plot.Render(plot.SVG, charts...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, err := plot.Render(plot.SVG, charts...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two renderings of the same data differ", name)
		}
	}
}

func TestRenderSVGLines(t *testing.T) {
	b, err := plot.Render(plot.SVG, fitnessChart())
	if err != nil {
		t.Fatal(err)
	}
	doc := parseSVG(t, b)
	for _, want := range []string{"run r1 (seed 7)", "generation", "fitness", "best fitness", "mean fitness", "drift origin"} {
		if !contains(doc.texts, want) {
			t.Errorf("no text %q in %q", want, doc.texts)
		}
	}
	// Each series: its line and its legend's sample line.
	for i := range 2 {
		if n := doc.strokes[rgb(i)]; n != 2 {
			t.Errorf("series %d (%s): %d paths stroked, want 2 (line and legend)\n%v", i, rgb(i), n, doc.strokes)
		}
	}
}

func TestRenderSVGBars(t *testing.T) {
	b, err := plot.Render(plot.SVG, classChart())
	if err != nil {
		t.Fatal(err)
	}
	doc := parseSVG(t, b)
	for _, want := range []string{"robustly aligned", "pseudo-aligned", "capability failure", "misaligned", "shifted", "lava", "share"} {
		if !contains(doc.texts, want) {
			t.Errorf("no text %q in %q", want, doc.texts)
		}
	}
	// Each series: a bar per category and its legend's swatch.
	for i := range 4 {
		if n := doc.fills[rgb(i)]; n != 3 {
			t.Errorf("series %d: %d paths filled, want 3 (2 bars, 1 legend)\n%v", i, n, doc.fills)
		}
	}
}

func TestRenderPNG(t *testing.T) {
	b, err := plot.Render(plot.PNG, fitnessChart(), classChart())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("no PNG header: % x", b[:8])
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	w, h := float64(plot.Width/vg.Inch)*plot.DPI, 2*float64(plot.ChartHeight/vg.Inch)*plot.DPI
	if got := img.Bounds().Size(); got.X != int(w+0.5) || got.Y != int(h+0.5) {
		t.Errorf("PNG is %v, want %.0fx%.0f", got, w, h)
	}
	again, _ := plot.Render(plot.PNG, fitnessChart(), classChart())
	if !bytes.Equal(b, again) {
		t.Error("two PNG renderings of the same data differ")
	}
}

func TestRenderPDF(t *testing.T) {
	b, err := plot.Render(plot.PDF, fitnessChart())
	if err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("PDF: %v % x", err, b[:min(8, len(b))])
	}
}

func TestFormatOf(t *testing.T) {
	for name, want := range map[string]plot.Format{"out.svg": plot.SVG, "a/b.PNG": plot.PNG, "f.pdf": plot.PDF} {
		if got, err := plot.FormatOf(name); err != nil || got != want {
			t.Errorf("FormatOf(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	for _, name := range []string{"out.jpg", "out", "svg"} {
		if _, err := plot.FormatOf(name); !errors.Is(err, plot.ErrFormat) {
			t.Errorf("FormatOf(%q): %v, want ErrFormat", name, err)
		}
	}
}

func TestRenderInvalid(t *testing.T) {
	for name, c := range map[string]plot.Chart{
		"no series":     plot.Lines{Title: "t"},
		"short y":       plot.Lines{Series: []plot.Series{{Name: "s", X: []float64{1, 2}, Y: []float64{1}}}},
		"short band":    plot.Lines{Series: []plot.Series{{Name: "s", X: []float64{1}, Y: []float64{1}, Lo: []float64{0}}}},
		"bars mismatch": plot.Bars{Categories: []string{"a"}, Series: []plot.BarSeries{{Name: "s", Y: []float64{1, 2}}}},
	} {
		if _, err := plot.Render(plot.SVG, c); !errors.Is(err, plot.ErrData) {
			t.Errorf("%s: %v, want ErrData", name, err)
		}
	}
	if _, err := plot.Render("gif", fitnessChart()); !errors.Is(err, plot.ErrFormat) {
		t.Errorf("gif: %v, want ErrFormat", err)
	}
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}
