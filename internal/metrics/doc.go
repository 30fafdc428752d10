// Package metrics exports a coordinator's and a worker's metrics in the
// Prometheus text format. The daemons' packages stay free of Prometheus:
// they report to the small interfaces they define (coordinator.Metrics,
// worker.Metrics), and this package implements those on a registry of its
// own per daemon, never the process-global default one.
//
// Lifecycle:
//
//	reg := metrics.NewRegistry()              // with the Go and process collectors
//	cm := metrics.NewCoordinator(reg)         // or metrics.NewWorker(reg)
//	cfg.Metrics = cm                          // coordinator.Config or worker.Config
//	srv, err := metrics.Listen(addr, reg, pprof)
//	...                                       // the daemon runs; GET /metrics
//	err = srv.Shutdown(ctx)                   // with the daemon's shutdown context
//
// /metrics is plain HTTP with no authentication: listen on an address only
// the cluster network reaches, never a public one. With pprof the same
// listener also serves net/http/pprof under /debug/pprof/.
package metrics
