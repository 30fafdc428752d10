package coordinator_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/mesaopt/mesaopt/coordinator"
	"github.com/mesaopt/mesaopt/internal/grpcconf"
	"github.com/mesaopt/mesaopt/internal/mtls"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	rpc "github.com/mesaopt/mesaopt/proto/mesaopt/v1/mesaoptv1grpc"
	"github.com/mesaopt/mesaopt/worker"
)

// fetch GETs u with client and returns the status and body.
func fetch(t *testing.T, ctx context.Context, client *http.Client, u string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// httpsClient dials with cfg, checking the server certificate names
// localhost (an IP address sends no server name).
func httpsClient(cfg *tls.Config) *http.Client {
	cfg.ServerName = "localhost"
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 20 * time.Second}
}

var bestFitness = regexp.MustCompile(`data-field="best_fitness" data-value="([^"]*)"`)

// pageBest is the best_fitness data-value of a run page.
func pageBest(t *testing.T, body string) float64 {
	t.Helper()
	m := bestFitness.FindAllStringSubmatch(body, -1)
	if len(m) != 1 {
		t.Fatalf("%d best_fitness fields in the page, want 1", len(m))
	}
	v, err := strconv.ParseFloat(m[0][1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestDashboardOverTLS: a coordinator with TLS serves the dashboard over
// HTTPS to a read-only certificate, its numbers those gRPC answers, and
// refuses a client without a certificate.
func TestDashboardOverTLS(t *testing.T) {
	dir := certDir(t)
	c := startCoordinatorWith(t, startEtcd(t), worker.NewEngine(1), func(cfg *coordinator.Config) {
		cfg.TLS = identity(t, dir, mtls.FileCoordinator)
		cfg.HTTPListen = "127.0.0.1:0"
	})
	if u := c.DashboardURL(); !strings.HasPrefix(u, "https://") || !strings.Contains(u, c.HTTPAddr()) {
		t.Fatalf("DashboardURL %q, want https:// and %s", u, c.HTTPAddr())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	spec := smallSpec()
	spec.Generations = 2
	id, err := c.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(ctx, id); err != nil {
		t.Fatal(err)
	}

	ro := identity(t, dir, mtls.FileReadOnly)
	conn, err := grpc.NewClient(c.GRPCAddr(), append(grpcconf.ClientOptions(), grpc.WithTransportCredentials(ro.ClientCredentials(mtls.RoleCoordinator)))...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp, err := rpc.NewRunServiceClient(conn).GetRun(ctx, &pb.GetRunRequest{RunId: id})
	if err != nil {
		t.Fatal(err)
	}
	sums := resp.GetRun().GetSummaries()
	if resp.GetRun().GetState() != pb.RunState_RUN_STATE_SUCCEEDED || len(sums) != 2 {
		t.Fatalf("run %v with %d summaries: %s", resp.GetRun().GetState(), len(sums), resp.GetRun().GetError())
	}

	client := httpsClient(ro.ClientTLS(mtls.RoleCoordinator, true))
	code, body := fetch(t, ctx, client, c.DashboardURL()+"runs/"+id)
	if code != http.StatusOK {
		t.Fatalf("run page as read-only: %d %s", code, body)
	}
	if got, want := pageBest(t, body), sums[len(sums)-1].GetBestFitness(); math.Float64bits(got) != math.Float64bits(want) {
		t.Errorf("page best_fitness %v, gRPC %v", got, want)
	}
	if !strings.Contains(body, `data-final="true"`) {
		t.Error("the page of a finished run is not final")
	}
	if code, _ := fetch(t, ctx, client, c.DashboardURL()+"runs/"+id+"/figures/fitness.svg"); code != http.StatusOK {
		t.Errorf("fitness.svg: %d", code)
	}

	anon := ro.ClientTLS(mtls.RoleCoordinator, true)
	anon.Certificates = nil
	if code, body := fetch(t, ctx, httpsClient(anon), c.DashboardURL()); code != http.StatusUnauthorized || !strings.Contains(body, string(mtls.RoleReadOnly)) {
		t.Errorf("without a client certificate: %d %q, want 401 naming read-only", code, body)
	}
	// The coordinator's own certificate is a client one too, without
	// read-only (a worker's is for servers only: refused at the handshake).
	if code, body := fetch(t, ctx, httpsClient(identity(t, dir, mtls.FileCoordinator).ClientTLS(mtls.RoleCoordinator, true)), c.DashboardURL()); code != http.StatusForbidden || !strings.Contains(body, `"coordinator"`) {
		t.Errorf("with the coordinator's certificate: %d %q, want 403 naming it", code, body)
	}
	if code, body := fetch(t, ctx, httpsClient(identity(t, dir, mtls.FileOperator).ClientTLS(mtls.RoleCoordinator, true)), c.DashboardURL()); code != http.StatusOK {
		t.Errorf("as operator: %d %q, want 200", code, body)
	}
	// Plain HTTP to the TLS port is no way in.
	if code, _, err := plainGet(ctx, "http://"+c.HTTPAddr()+"/runs/"+id); err == nil && code == http.StatusOK {
		t.Error("plain HTTP served a page on the TLS port")
	}
}

func plainGet(ctx context.Context, u string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// TestDashboardPlaintextAndShutdown: without TLS the dashboard is plain
// HTTP; Shutdown returns, within its deadline, while pages are being
// polled.
func TestDashboardPlaintextAndShutdown(t *testing.T) {
	c := startCoordinatorWith(t, startEtcd(t), worker.NewEngine(1), func(cfg *coordinator.Config) { cfg.HTTPListen = "127.0.0.1:0" })
	if u := c.DashboardURL(); u != "http://"+c.HTTPAddr()+"/" {
		t.Fatalf("DashboardURL %q, want http://%s/", u, c.HTTPAddr())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	spec := smallSpec()
	spec.Generations = 1000 // still running at Shutdown
	id, err := c.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	code, body, err := plainGet(ctx, c.DashboardURL())
	if err != nil || code != http.StatusOK || !strings.Contains(body, `href="/runs/`+id+`"`) {
		t.Fatalf("index over plain HTTP: %d %v, want 200 linking the run", code, err)
	}

	// Poll the run's live part as the script does, without pause, until
	// the server goes away.
	first := make(chan struct{})
	polled := make(chan error, 1)
	go func() {
		n := 0
		for {
			code, _, err := plainGet(ctx, c.DashboardURL()+"runs/"+id+"?part=live")
			if err != nil {
				polled <- nil
				return
			}
			if code != http.StatusOK && code != http.StatusServiceUnavailable {
				polled <- errors.New("live part answered " + strconv.Itoa(code))
				return
			}
			if n++; n == 1 {
				close(first)
			}
		}
	}()
	select {
	case <-first:
	case err := <-polled:
		t.Fatalf("polling: %v", err)
	case <-ctx.Done():
		t.Fatal("no live part answered")
	}
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	start := time.Now()
	err = c.Shutdown(sctx)
	if err != nil {
		t.Errorf("Shutdown with a poll in flight: %v after %v", err, time.Since(start))
	}
	select {
	case err := <-polled:
		if err != nil {
			t.Error(err)
		}
	case <-sctx.Done():
		t.Error("the dashboard still answers after Shutdown")
	}
}
