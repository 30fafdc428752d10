package plot_test

import (
	"strings"
	"testing"

	"github.com/mesaopt/mesaopt/internal/plot"
)

// TestRenderSVGFontFallbacks checks that every font an SVG names has
// metric-compatible fallbacks, so its text keeps the widths the layout
// measured where Liberation Serif is not installed.
func TestRenderSVGFontFallbacks(t *testing.T) {
	b, err := plot.Render(plot.SVG, plot.Lines{Title: "title", XLabel: "x", YLabel: "y", Series: []plot.Series{{Name: "a long legend entry", X: []float64{1, 2}, Y: []float64{1, 2}}}})
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if n := strings.Count(s, "font-family:"); n == 0 || n != strings.Count(s, plot.SVGFontFallbacks) {
		t.Fatalf("%d font-family declarations, %d with the fallbacks %q", n, strings.Count(s, plot.SVGFontFallbacks), plot.SVGFontFallbacks)
	}
}
