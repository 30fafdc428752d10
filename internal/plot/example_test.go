package plot_test

import (
	"bytes"
	"fmt"

	"github.com/mesaopt/mesaopt/internal/plot"
)

// A per-generation curve with its 95 % interval as a band, as SVG.
func Example() {
	x := []float64{1, 2, 3}
	b, err := plot.Render(plot.SVG, plot.Lines{
		Title: "sweep s1", XLabel: "generation", YLabel: "best fitness",
		Series: []plot.Series{{Name: "best fitness", X: x, Y: []float64{0.4, 0.6, 0.8}, Lo: []float64{0.3, 0.5, 0.7}, Hi: []float64{0.5, 0.7, 0.9}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(bytes.Contains(b, []byte("<svg")), bytes.Contains(b, []byte("best fitness")))
	// Output: true true
}
