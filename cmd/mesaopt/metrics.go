package main

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/mesaopt/mesaopt/coordinator"
	"github.com/mesaopt/mesaopt/internal/metrics"
	"github.com/mesaopt/mesaopt/worker"
)

// metricsFlags are --metrics-listen and --pprof, shared by the daemons
// and `mesaopt run` (whose coordinator they are; its local workers serve
// no metrics).
type metricsFlags struct {
	listen string
	pprof  bool
}

func (m *metricsFlags) register(f *pflag.FlagSet) {
	f.StringVar(&m.listen, "metrics-listen", "", "serve Prometheus metrics on http://HOST:PORT/metrics, plain HTTP with no authentication: an address only the cluster network reaches (default: none)")
	f.BoolVar(&m.pprof, "pprof", false, "also serve net/http/pprof under /debug/pprof/ on the --metrics-listen address")
}

// check vets the flags before anything starts.
func (m *metricsFlags) check() error {
	if m.listen == "" {
		if m.pprof {
			return usagef("--pprof without --metrics-listen: pprof is served on the metrics address, allowed --pprof with --metrics-listen HOST:PORT")
		}
		return nil
	}
	return checkAddr("metrics-listen", m.listen, true)
}

// serve starts the metrics listener when --metrics-listen is set, with
// series registered by add on a registry of the daemon's own. stop shuts
// the listener down within ctx and joins it (idempotent; a no-op without
// --metrics-listen).
func (m *metricsFlags) serve(lf logFlags, add func(prometheus.Registerer)) (stop func(context.Context) error, err error) {
	if m.listen == "" {
		return func(context.Context) error { return nil }, nil
	}
	reg := metrics.NewRegistry()
	add(reg)
	srv, err := metrics.Listen(m.listen, reg, m.pprof)
	if err != nil {
		return nil, err
	}
	lf.say(fmt.Sprintf("metrics on http://%s/metrics (pprof: %v)", srv.Addr(), m.pprof), "serving metrics", "addr", srv.Addr(), "pprof", m.pprof)
	return srv.Shutdown, nil
}

// coordinator serves a coordinator's metrics and sets cfg.Metrics (see serve).
func (m *metricsFlags) coordinator(lf logFlags, cfg *coordinator.Config) (stop func(context.Context) error, err error) {
	return m.serve(lf, func(r prometheus.Registerer) { cfg.Metrics = metrics.NewCoordinator(r) })
}

// worker serves a worker's metrics and sets cfg.Metrics (see serve).
func (m *metricsFlags) worker(lf logFlags, cfg *worker.Config) (stop func(context.Context) error, err error) {
	return m.serve(lf, func(r prometheus.Registerer) { cfg.Metrics = metrics.NewWorker(r) })
}

// stopSoon is a stop for the paths that end the daemon on an error: it
// gives open scrapes a moment.
func stopSoon(stop func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = stop(ctx)
}
