package coordinator

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"google.golang.org/grpc"

	"github.com/mesaopt/mesaopt/coordinator/dashboard"
	"github.com/mesaopt/mesaopt/internal/mtls"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// serveDashboard starts the dashboard on Config.HTTPListen, if set; the
// listener is bound before it returns, so HTTPAddr is known.
func (c *Coordinator) serveDashboard() error {
	if c.cfg.HTTPListen == "" {
		return nil
	}
	lis, err := net.Listen("tcp", c.cfg.HTTPListen)
	if err != nil {
		return fmt.Errorf("coordinator dashboard listen %s: %w", c.cfg.HTTPListen, err)
	}
	var h http.Handler = dashboard.New(localSource{runs: &runServer{c: c}, lineage: &lineageServer{c: c}}, dashboard.Options{Logger: c.log})
	if c.cfg.TLS != nil {
		h = mtls.RequireHTTP(mtls.RoleReadOnly, h)
		lis = tls.NewListener(lis, c.cfg.TLS.ServerTLS())
	}
	c.webLis = lis
	c.web = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(c.log.Handler(), slog.LevelDebug)}
	c.webServed = make(chan error, 1)
	go func() { c.webServed <- c.web.Serve(lis) }()
	c.log.Info("dashboard", "url", c.DashboardURL())
	return nil
}

// DashboardURL is the dashboard's address as a URL (https with TLS), ""
// without Config.HTTPListen.
func (c *Coordinator) DashboardURL() string {
	if c.webLis == nil {
		return ""
	}
	scheme := "http"
	if c.cfg.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + c.HTTPAddr() + "/"
}

// dashboardGrace bounds how long Shutdown lets the dashboard's open
// requests finish (a page takes milliseconds) before it closes them, so
// that a stuck browser cannot take the time the runs' stop needs.
const dashboardGrace = 2 * time.Second

// stopDashboard lets open requests finish within ctx and dashboardGrace,
// then closes them, and joins the server.
func (c *Coordinator) stopDashboard(ctx context.Context) {
	if c.web == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, dashboardGrace)
	defer cancel()
	if err := c.web.Shutdown(ctx); err != nil {
		_ = c.web.Close()
	}
	if err := <-c.webServed; err != nil && !errors.Is(err, http.ErrServerClosed) {
		c.log.Warn("dashboard", "err", err)
	}
}

// localSource answers the dashboard's reads in process, through the same
// methods gRPC callers reach (their authorization is the dashboard's
// TLS).
type localSource struct {
	runs    *runServer
	lineage *lineageServer
}

func (s localSource) ListRuns(ctx context.Context, in *pb.ListRunsRequest, _ ...grpc.CallOption) (*pb.ListRunsResponse, error) {
	return s.runs.ListRuns(ctx, in)
}

func (s localSource) GetRun(ctx context.Context, in *pb.GetRunRequest, _ ...grpc.CallOption) (*pb.GetRunResponse, error) {
	return s.runs.GetRun(ctx, in)
}

func (s localSource) ListSweeps(ctx context.Context, in *pb.ListSweepsRequest, _ ...grpc.CallOption) (*pb.ListSweepsResponse, error) {
	return s.runs.ListSweeps(ctx, in)
}

func (s localSource) GetSweep(ctx context.Context, in *pb.GetSweepRequest, _ ...grpc.CallOption) (*pb.GetSweepResponse, error) {
	return s.runs.GetSweep(ctx, in)
}

func (s localSource) GetLineOfDescent(ctx context.Context, in *pb.GetLineOfDescentRequest, _ ...grpc.CallOption) (*pb.GetLineOfDescentResponse, error) {
	return s.lineage.GetLineOfDescent(ctx, in)
}

func (s localSource) GetDriftOrigin(ctx context.Context, in *pb.GetDriftOriginRequest, _ ...grpc.CallOption) (*pb.GetDriftOriginResponse, error) {
	return s.lineage.GetDriftOrigin(ctx, in)
}
