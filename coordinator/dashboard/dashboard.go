// Package dashboard provides the coordinator's web dashboard: an
// http.Handler that shows the runs and sweeps a coordinator holds, each
// run's curves, class shares with intervals, flagged planners and the
// line of descent of its top flagged lineage, and each sweep's aggregated
// intervals. Pages are rendered on the server from the same messages
// RunService and LineageService answer (Source); charts are SVG drawn by
// internal/plot with the figures of internal/figures. A small script of
// the dashboard's own (assets/dashboard.js) polls the live part of a page
// every PollInterval and swaps it in when the run moved on, so curves
// update while a run runs; pages work without it, as plain HTML.
//
// Routes (GET only):
//
//	/                                  runs and sweeps
//	/runs/{id}                         a run (?part=live: its live part alone)
//	/runs/{id}/figures/{name}.svg      fitness, shares, horizon, classes, lineage
//	                                   (?through=G: the first G summaries, as the page
//	                                   showing them; lineage ?top=ID: that planner's)
//	/sweeps/{id}                       a sweep (?group=NAME; ?part=live)
//	/sweeps/{id}/figures/{name}.svg    fitness, horizon, classes (?group=NAME)
//	/assets/...                        the embedded stylesheet and script
//
// Every number a page shows is in an element with data-field naming the
// API field it comes from and data-value holding the exact value
// (strconv 'g', -1), so that tests and scrapers can compare it with the
// API's. The handler carries no authentication of its own: the
// coordinator serves it behind the same TLS as its gRPC (see
// coordinator.Config.HTTPListen).
package dashboard

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mesaopt/mesaopt/internal/figures"
	"github.com/mesaopt/mesaopt/internal/plot"
	"github.com/mesaopt/mesaopt/internal/sweepview"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/sweep"
)

// PollInterval is how often the script asks for a page's live part: about
// the duration of one generation of a small experiment, so a curve gains
// its points as they are committed without loading the coordinator (one
// GetRun per open page per interval).
const PollInterval = 2 * time.Second

// Source is what the dashboard reads: RunService and LineageService
// methods in their client shape. A RunServiceClient and a
// LineageServiceClient together have them; the coordinator answers them
// in process.
type Source interface {
	ListRuns(ctx context.Context, in *pb.ListRunsRequest, opts ...grpc.CallOption) (*pb.ListRunsResponse, error)
	GetRun(ctx context.Context, in *pb.GetRunRequest, opts ...grpc.CallOption) (*pb.GetRunResponse, error)
	ListSweeps(ctx context.Context, in *pb.ListSweepsRequest, opts ...grpc.CallOption) (*pb.ListSweepsResponse, error)
	GetSweep(ctx context.Context, in *pb.GetSweepRequest, opts ...grpc.CallOption) (*pb.GetSweepResponse, error)
	GetLineOfDescent(ctx context.Context, in *pb.GetLineOfDescentRequest, opts ...grpc.CallOption) (*pb.GetLineOfDescentResponse, error)
	GetDriftOrigin(ctx context.Context, in *pb.GetDriftOriginRequest, opts ...grpc.CallOption) (*pb.GetDriftOriginResponse, error)
}

// Options configure a dashboard; the zero value is usable.
type Options struct {
	// Logger receives the errors of failed requests; nil discards them.
	Logger *slog.Logger
	// CallTimeout bounds each Source call (0: 30 s).
	CallTimeout time.Duration
}

//go:embed assets
var assets embed.FS

var pages = template.Must(template.New("").Funcs(funcs).ParseFS(assets, "assets/*.html"))

// handler serves the dashboard.
type handler struct {
	src     Source
	log     *slog.Logger
	timeout time.Duration
	mux     *http.ServeMux
}

// New returns the dashboard over src.
func New(src Source, o Options) http.Handler {
	h := &handler{src: src, log: o.Logger, timeout: o.CallTimeout, mux: http.NewServeMux()}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.timeout <= 0 {
		h.timeout = 30 * time.Second
	}
	static, _ := fs.Sub(assets, "assets")
	files := http.StripPrefix("/assets/", http.FileServerFS(static))
	h.mux.Handle("GET /assets/{file}", files) // files only: no directory listing
	h.mux.HandleFunc("GET /{$}", h.index)
	h.mux.HandleFunc("GET /runs/{id}", h.run)
	h.mux.HandleFunc("GET /runs/{id}/figures/{name}", h.runFigure)
	h.mux.HandleFunc("GET /sweeps/{id}", h.sweep)
	h.mux.HandleFunc("GET /sweeps/{id}/figures/{name}", h.sweepFigure)
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self' data:; script-src 'self'; frame-ancestors 'none'")
	h.mux.ServeHTTP(w, r)
}

func (h *handler) ctx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), h.timeout)
}

// fail answers an API error with its HTTP equivalent and the API's
// message.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusInternalServerError
	switch status.Code(err) {
	case codes.NotFound:
		code = http.StatusNotFound
	case codes.InvalidArgument:
		code = http.StatusBadRequest
	case codes.Unavailable, codes.FailedPrecondition, codes.DeadlineExceeded:
		code = http.StatusServiceUnavailable
	}
	var nothing *nothingError
	if errors.As(err, &nothing) || errors.Is(err, figures.ErrNothing) {
		code = http.StatusNotFound
	}
	msg := err.Error()
	if s, ok := status.FromError(err); ok {
		msg = s.Message()
	}
	if len(msg) > maxMessage {
		msg = msg[:maxMessage] + "…"
	}
	if code >= 500 {
		h.log.Warn("dashboard request failed", "path", r.URL.Path, "err", err)
	}
	http.Error(w, msg, code)
}

// maxMessage bounds the error text a response carries: a long id in the
// request is echoed by the API's message.
const maxMessage = 500

// nothingError is a request for something that does not exist.
type nothingError struct{ msg string }

func (e *nothingError) Error() string { return e.msg }

func (h *handler) page(w http.ResponseWriter, r *http.Request, name string, data any) {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, name, data); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b.Bytes())
}

func (h *handler) svg(w http.ResponseWriter, r *http.Request, charts []plot.Chart, err error) {
	if err == nil {
		var b []byte
		if b, err = plot.Render(plot.SVG, charts...); err == nil {
			w.Header().Set("Content-Type", "image/svg+xml")
			w.Header().Set("Cache-Control", "no-store")
			_, _ = w.Write(b)
			return
		}
	}
	h.fail(w, r, err)
}

// live reports whether the request asks for a page's live part alone.
func live(r *http.Request) bool { return r.URL.Query().Get("part") == "live" }

func (h *handler) index(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := h.ctx(r)
	defer cancel()
	runs, err := h.src.ListRuns(ctx, &pb.ListRunsRequest{})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	sweeps, err := h.src.ListSweeps(ctx, &pb.ListSweepsRequest{})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := indexView(runs.GetRuns(), sweeps.GetSweeps())
	if live(r) {
		h.page(w, r, "index-live", v)
		return
	}
	h.page(w, r, "index", v)
}

func (h *handler) getRun(r *http.Request) (*pb.Run, error) {
	ctx, cancel := h.ctx(r)
	defer cancel()
	resp, err := h.src.GetRun(ctx, &pb.GetRunRequest{RunId: r.PathValue("id")})
	return resp.GetRun(), err
}

// lineOf is the line of descent of individual id of run, newest first.
func (h *handler) lineOf(r *http.Request, run string, id uint64) ([]*pb.Individual, error) {
	ctx, cancel := h.ctx(r)
	defer cancel()
	resp, err := h.src.GetLineOfDescent(ctx, &pb.GetLineOfDescentRequest{RunId: run, IndividualId: id})
	return resp.GetIndividuals(), err
}

func (h *handler) run(w http.ResponseWriter, r *http.Request) {
	run, err := h.getRun(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// The page shows the run without the line of descent when it cannot
	// be read, saying why: the rest of the run is worth seeing.
	var line []*pb.Individual
	var lineErr error
	if len(run.GetReport().GetFlagged()) > 0 {
		line, lineErr = h.lineOf(r, run.GetRunId(), run.GetReport().GetTopFlagged())
	}
	v := runView(run, line, lineErr)
	if live(r) {
		h.page(w, r, "run-live", v)
		return
	}
	h.page(w, r, "run", v)
}

// through is the ?through= of a figure request: how many of n summaries
// it draws (n without one).
func through(r *http.Request, n int) (int, error) {
	q := r.URL.Query().Get("through")
	if q == "" {
		return n, nil
	}
	g, err := strconv.Atoi(q)
	if err != nil || g < 1 || g > n {
		return 0, status.Errorf(codes.InvalidArgument, "through = %q, allowed 1..%d (the run's summaries)", q, n)
	}
	return g, nil
}

// runFigures are the figures of a run page, by file name.
var runFigures = []string{"fitness.svg", "shares.svg", "horizon.svg", "classes.svg", "lineage.svg"}

func (h *handler) runFigure(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !slices.Contains(runFigures, name) {
		h.fail(w, r, &nothingError{fmt.Sprintf("no figure %q, allowed %s", name, strings.Join(runFigures, ", "))})
		return
	}
	run, err := h.getRun(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	sums := run.GetSummaries()
	if len(sums) == 0 {
		h.fail(w, r, fmt.Errorf("run %s has no generation yet: %w", run.GetRunId(), figures.ErrNothing))
		return
	}
	g, err := through(r, len(sums))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// A figure draws what the page that links it showed: the first g
	// summaries, and the identity condition's counts (the report's, of the
	// last generation) only when g is the last.
	pinned := &pb.Run{RunId: run.GetRunId(), Summaries: sums[:g]}
	if g == len(sums) {
		pinned.Report = &pb.Report{Identity: run.GetReport().GetIdentity()}
	}
	sums = sums[:g]
	title := fmt.Sprintf("run %s (seed %d)", run.GetRunId(), run.GetSpec().GetSeed())
	switch name {
	case "fitness.svg":
		h.svg(w, r, []plot.Chart{figures.Fitness(title, sums)}, nil)
	case "shares.svg":
		h.svg(w, r, []plot.Chart{figures.Shares(title, int(run.GetSpec().GetPopulation()), sums)}, nil)
	case "horizon.svg":
		h.svg(w, r, horizonPanel(figures.Horizon(title, sums)), nil)
	case "classes.svg":
		charts, err := figures.Classes(title, pinned)
		h.svg(w, r, charts, err)
	case "lineage.svg":
		charts, err := h.lineageFigure(r, title, run)
		h.svg(w, r, charts, err)
	}
}

// horizonPanel is the median horizon panel of a figures horizon chart
// (median horizon above planner share), with the generation axis: the
// pages draw the planner share with the flagged share (run) or not at all
// (sweep), and one panel keeps the chart grid even.
func horizonPanel(charts []plot.Chart) []plot.Chart {
	hz := charts[0].(plot.Lines)
	hz.XLabel = figures.GenerationLabel
	return []plot.Chart{hz}
}

// lineageFigure draws the line of descent of ?top= (default: the
// report's top flagged planner) with its drift origin.
func (h *handler) lineageFigure(r *http.Request, title string, run *pb.Run) ([]plot.Chart, error) {
	top, origin := run.GetReport().GetTopFlagged(), run.GetReport().GetTopDriftOrigin()
	if q := r.URL.Query().Get("top"); q != "" {
		id, err := strconv.ParseUint(q, 10, 64)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "top = %q, allowed an individual id", q)
		}
		ctx, cancel := h.ctx(r)
		defer cancel()
		resp, err := h.src.GetDriftOrigin(ctx, &pb.GetDriftOriginRequest{RunId: run.GetRunId(), IndividualId: id})
		if err != nil {
			return nil, err
		}
		top, origin = id, resp.GetOrigin()
	} else if len(run.GetReport().GetFlagged()) == 0 {
		return nil, fmt.Errorf("run %s has no flagged planner: %w", run.GetRunId(), figures.ErrNothing)
	}
	line, err := h.lineOf(r, run.GetRunId(), top)
	if err != nil {
		return nil, err
	}
	return figures.Lineage(fmt.Sprintf("%s: line of descent of #%d", title, top), line, origin), nil
}

// loadSweep is the sweep of the request, its aggregates and the group
// ?group= names (the first without one).
func (h *handler) loadSweep(r *http.Request) (*pb.Sweep, sweep.Aggregates, *sweep.Group, error) {
	sw, params, runs, err := sweepview.Load(r.Context(), h.src, r.PathValue("id"), h.timeout)
	if err != nil {
		return nil, sweep.Aggregates{}, nil, err
	}
	agg := sweep.Aggregate(params, runs)
	if len(agg.Groups) == 0 {
		return sw, agg, nil, nil
	}
	g, err := figures.Group(agg, r.URL.Query().Get("group"))
	if err != nil {
		return nil, agg, nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return sw, agg, g, nil
}

func (h *handler) sweep(w http.ResponseWriter, r *http.Request) {
	sw, agg, g, err := h.loadSweep(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := sweepView(sw, agg, g)
	if live(r) {
		h.page(w, r, "sweep-live", v)
		return
	}
	h.page(w, r, "sweep", v)
}

// sweepFigures are the figures of a sweep page, by file name.
var sweepFigures = []string{"fitness.svg", "horizon.svg", "classes.svg"}

func (h *handler) sweepFigure(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !slices.Contains(sweepFigures, name) {
		h.fail(w, r, &nothingError{fmt.Sprintf("no figure %q, allowed %s", name, strings.Join(sweepFigures, ", "))})
		return
	}
	sw, _, g, err := h.loadSweep(r)
	if err == nil && g == nil {
		err = fmt.Errorf("sweep %s has no runs: %w", sw.GetSweepId(), figures.ErrNothing)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	charts, err := figures.Sweep(sw.GetSweepId(), strings.TrimSuffix(name, ".svg"), g)
	if name == "horizon.svg" && err == nil {
		charts = horizonPanel(charts)
	}
	h.svg(w, r, charts, err)
}
