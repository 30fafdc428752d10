package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// selftestPage shows a counter that its script refreshes every 200 ms
// from /count, without reloading the page; window.loadedAt tells a reload.
const selftestPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>browser self-test</title>
<style>body { font-family: sans-serif; margin: 2em; } #n { font-size: 4em; }</style>
</head><body>
<h1>browser self-test</h1>
<p>count: <span id="n" data-kind="counter">0</span></p>
<script>
window.loadedAt = Date.now() + Math.random();
async function tick() {
  try {
    const r = await fetch("/count", {cache: "no-store"});
    const j = await r.json();
    document.getElementById("n").textContent = String(j.n);
  } catch (e) {
    document.getElementById("n").dataset.error = String(e);
  }
}
setInterval(tick, 200);
</script>
</body></html>`

// server serves the self-test page on plain HTTP at 127.0.0.1.
func server(t *testing.T) *httptest.Server {
	t.Helper()
	var n atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(selftestPage))
	})
	mux.HandleFunc("GET /count", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]int64{"n": n.Add(1)})
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: mux}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func TestSelfTest(t *testing.T) {
	srv := server(t)
	start := time.Now()
	tab := New(t)
	t.Logf("Chromium started in %v", time.Since(start).Round(time.Millisecond))

	// Starting Chromium is done; the page, a few polls and the
	// screenshot take about a second on an idle machine. A busy two-core
	// machine is many times slower.
	ctx, cancel := context.WithTimeout(tab, 60*time.Second)
	defer cancel()

	if err := Open(ctx, srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	var loadedAt float64
	if err := Eval(ctx, "window.loadedAt", &loadedAt); err != nil {
		t.Fatal(err)
	}
	first, err := Text(ctx, "#n")
	if err != nil {
		t.Fatal(err)
	}
	n0, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		t.Fatalf("initial #n = %q, not a number", first)
	}

	// The span must count up past its first value by fetch, not reload.
	text, err := WaitText(ctx, "#n", func(s string) bool {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		return err == nil && n > n0+1
	})
	if err != nil {
		t.Fatal(err)
	}
	var after float64
	if err := Eval(ctx, "window.loadedAt", &after); err != nil {
		t.Fatal(err)
	}
	if after != loadedAt {
		t.Errorf("window.loadedAt changed from %v to %v: the page reloaded", loadedAt, after)
	}
	t.Logf("#n went from %s to %s", first, text)

	kind, err := Attr(ctx, "#n", "data-kind")
	if err != nil {
		t.Fatal(err)
	}
	if kind != "counter" {
		t.Errorf(`#n data-kind = %q, want "counter"`, kind)
	}
	if v, err := Attr(ctx, "#n", "data-error"); err == nil {
		t.Errorf("the page's fetch failed: %s", v)
	}
	if _, err := Attr(ctx, "#missing", "id"); err == nil {
		t.Error("Attr of a missing element: no error")
	}

	path := filepath.Join(ScreenshotDir(t), "browser-selftest.png")
	if err := Screenshot(ctx, path); err != nil {
		t.Fatal(err)
	}
	png, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 100 {
		t.Errorf("%s is not a PNG (%d bytes)", path, len(png))
	}
	t.Logf("wrote %s (%d bytes)", path, len(png))
}

func TestWaitTextDeadline(t *testing.T) {
	srv := server(t)
	tab := New(t)
	ctx, cancel := context.WithTimeout(tab, 60*time.Second)
	defer cancel()
	if err := Open(ctx, srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer wcancel()
	_, err := WaitText(wctx, "#n", func(string) bool { return false })
	if err == nil || !strings.Contains(err.Error(), `"#n"`) || !strings.Contains(err.Error(), "last text") {
		t.Errorf("WaitText past its deadline: error %v, want one naming the selector and the last text", err)
	}
	// The tab outlives the deadline of one wait.
	if _, err := Text(ctx, "h1"); err != nil {
		t.Errorf("after a WaitText deadline: %v", err)
	}
}

func TestPathEnv(t *testing.T) {
	t.Setenv(EnvChromium, filepath.Join(t.TempDir(), "nonexistent"))
	_, err := Path()
	if err == nil || !strings.Contains(err.Error(), "apt-get install chromium") {
		t.Errorf("Path with a missing %s: error %v, want the install hint", EnvChromium, err)
	}
}
