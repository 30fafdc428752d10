package layering

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDaemonsFreeOfPrometheus keeps Prometheus in internal/metrics and
// the binaries: the coordinator, dispatch and worker report to interfaces
// of their own (coordinator.Metrics, dispatch.Observer, worker.Metrics).
func TestDaemonsFreeOfPrometheus(t *testing.T) {
	for _, pkg := range append([]string{
		"github.com/mesaopt/mesaopt/coordinator",
		"github.com/mesaopt/mesaopt/coordinator/dispatch",
		"github.com/mesaopt/mesaopt/worker",
	}, pure...) {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, "github.com/prometheus/") {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
}

// TestBinariesFreeOfChromedp keeps chromedp in the tests of the web
// dashboard and internal/browser, their support: the binaries do not
// link it.
func TestBinariesFreeOfChromedp(t *testing.T) {
	for _, pkg := range []string{
		"github.com/mesaopt/mesaopt/cmd/mesaopt",
		"github.com/mesaopt/mesaopt/cmd/mesactl",
	} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, "github.com/chromedp/") {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
}
