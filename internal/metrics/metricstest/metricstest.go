// Package metricstest scrapes a metrics listener over HTTP in tests and
// checks the exposition with promtool where it is installed.
package metricstest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Families are the metric families of one scrape, by name.
type Families map[string]*dto.MetricFamily

// Get fetches http://addr+path and returns its status code and body.
func Get(t testing.TB, addr, path string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, body
}

// Scrape fetches /metrics from addr and parses it; it also returns the
// text.
func Scrape(t testing.TB, addr string) (Families, []byte) {
	t.Helper()
	code, body := Get(t, addr, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", code, body)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return fams, body
}

// Value returns the value of the series of family name whose labels
// include labels (name, value pairs): a counter's, gauge's or untyped
// value, or a histogram's sample count. ok is false when there is none.
func (f Families) Value(name string, labels ...string) (v float64, ok bool) {
	fam := f[name]
	if fam == nil {
		return 0, false
	}
next:
	for _, m := range fam.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue(), true
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue(), true
		case m.GetHistogram() != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		case m.GetUntyped() != nil:
			return m.GetUntyped().GetValue(), true
		}
	}
	return 0, false
}

// Sum returns the sum of histogram name's observations (0 without it).
func (f Families) Sum(name string) float64 {
	fam := f[name]
	if fam == nil || len(fam.GetMetric()) == 0 {
		return 0
	}
	return fam.GetMetric()[0].GetHistogram().GetSampleSum()
}

// Series returns the number of series of family name (0 without it).
func (f Families) Series(name string) int {
	if fam := f[name]; fam != nil {
		return len(fam.GetMetric())
	}
	return 0
}

// Names returns the families' names with the given prefix, sorted.
func (f Families) Names(prefix string) []string {
	var out []string
	for n := range f {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Promtool runs `promtool check metrics` on an exposition and fails the
// test on any problem it reports; it skips the test where promtool is not
// installed (Debian: apt-get install prometheus).
func Promtool(t testing.TB, exposition []byte) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (apt-get install prometheus): the exposition is not linted")
	}
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = bytes.NewReader(exposition)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}
