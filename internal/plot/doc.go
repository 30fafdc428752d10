// Package plot draws mesaopt's figures for papers: line charts of
// per-generation curves (with optional interval bands and marked
// generations) and grouped bar charts of class shares (with optional
// interval error bars), as SVG, PNG or PDF bytes.
//
// It is pure: it takes plain structs (Series, Lines, Bars) and returns
// bytes, with no gRPC and no knowledge of runs or sweeps, so mesactl plot
// and a server rendering SVG for a dashboard can share it. Build the
// charts, then call Render with a Format (FormatOf maps a file name's
// extension to one):
//
//	b, err := plot.Render(plot.SVG, plot.Lines{Title: "run r1", Series: []plot.Series{{Name: "best", X: xs, Y: ys}}})
//
// Several charts are stacked top to bottom on one page, their x axes
// aligned, each legend in a column right of its chart. Rendering is
// deterministic: the same charts give byte-identical
// SVG and PNG (PDF carries its creation time). Colours come from a fixed
// colour-blind-safe palette in series order (Okabe & Ito 2008, Color
// Universal Design), so a series keeps its colour across figures.
//
// Fonts are not embedded in SVG: viewers substitute Liberation Serif,
// the font gonum.org/v1/plot measures text with.
package plot
