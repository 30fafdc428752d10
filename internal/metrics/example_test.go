package metrics_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/mesaopt/mesaopt/internal/metrics"
)

// A worker's metrics on a listener of their own: the daemon reports to
// w (worker.Config.Metrics), a scraper reads /metrics.
func ExampleListen() {
	reg := metrics.NewRegistry()
	w := metrics.NewWorker(reg)
	srv, err := metrics.Listen("127.0.0.1:0", reg, false)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown(context.Background())

	w.BatchStarted()
	w.BatchDone(3, 20*time.Millisecond, nil) // a batch of 3 tasks, answered

	resp, err := http.Get("http://" + srv.Addr() + "/metrics")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	for s := bufio.NewScanner(resp.Body); s.Scan(); {
		if line := s.Text(); strings.HasPrefix(line, "mesaopt_worker_evaluations_total") || strings.HasPrefix(line, "mesaopt_worker_inflight_batches") {
			fmt.Println(line)
		}
	}
	// Output:
	// mesaopt_worker_evaluations_total 3
	// mesaopt_worker_inflight_batches 0
}
