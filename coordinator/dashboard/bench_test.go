package dashboard_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mesaopt/mesaopt/coordinator/dashboard"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// benchRun is testRun with 150 generations, the length of the Chromium
// test's runs.
func benchRun() *pb.Run {
	r := testRun()
	last := r.Summaries[len(r.Summaries)-1]
	r.Summaries = nil
	for g := range uint32(150) {
		s := summary(g, 0.5+float64(g%7)/20, 0.4+float64(g%5)/25, g%10, 0)
		s.Classes = last.Classes
		r.Summaries = append(r.Summaries, s)
	}
	r.GenerationsDone = 150
	return r
}

// BenchmarkDashboard is one request of each kind a live run page makes
// per update: the live part, and its charts (fitness shown; the others
// are alike), over the in-process handler with an in-memory Source.
func BenchmarkDashboard(b *testing.B) {
	f := newFake()
	f.setRun(benchRun())
	h := dashboard.New(f, dashboard.Options{})
	for _, u := range []string{"/runs/r1?part=live", "/runs/r1/figures/fitness.svg", "/runs/r1/figures/lineage.svg", "/"} {
		b.Run(u, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, u, nil))
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", u, w.Code, w.Body)
				}
				_, _ = io.Copy(io.Discard, w.Body)
			}
		})
	}
}
