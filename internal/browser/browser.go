// Package browser is test support for mesaopt's end-to-end tests of the
// web dashboard: it starts a headless Chromium through chromedp for one
// test, and reads the page that the browser shows (text, attributes,
// JavaScript values, screenshots).
//
// A test calls New to get a browser tab; New skips the test where no
// Chromium is installed, unless MESAOPT_REQUIRE_CHROMIUM=1 (as .ci/run
// sets), and then fails it. MESAOPT_CHROMIUM names the binary to use.
//
// Only tests and this package import chromedp; the binaries must not link
// it (internal/layering checks).
package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Environment variables that the package reads.
const (
	// EnvChromium names the Chromium binary (a path, or a name on PATH).
	EnvChromium = "MESAOPT_CHROMIUM"
	// EnvRequire, when "1", makes New fail the test rather than skip it
	// where no Chromium is found.
	EnvRequire = "MESAOPT_REQUIRE_CHROMIUM"
	// EnvScreenshots names the directory of ScreenshotDir.
	EnvScreenshots = "MESAOPT_SCREENSHOTS"
)

// candidates are the names Path looks for on PATH, in order.
var candidates = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// Window size of the browser, in CSS pixels. Headless Chromium leaves
// room for the browser's own bar in it: the page's viewport is 1280x857
// (window.innerWidth, innerHeight) in Chromium 156.
const (
	WindowWidth  = 1280
	WindowHeight = 1000
)

// launchTimeout bounds how long New waits for Chromium to start and open
// its first tab. It starts in about a second on an idle machine; a busy
// two-core CI machine can take many times that.
const launchTimeout = 45 * time.Second

// closeTimeout bounds the graceful close of the browser in the test's
// cleanup; after it the browser process is killed.
const closeTimeout = 15 * time.Second

// PollInterval is how often WaitText reads the page.
const PollInterval = 100 * time.Millisecond

const installHint = "install Debian's chromium (apt-get install chromium); .ci/run does"

// Path returns the Chromium binary to run: $MESAOPT_CHROMIUM if it is set
// (a path, or a name looked up on PATH), else the first of chromium,
// chromium-browser, google-chrome and google-chrome-stable found on PATH.
// The error says what was searched and how to install Chromium.
func Path() (string, error) {
	if p := os.Getenv(EnvChromium); p != "" {
		full, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("browser: %s=%q is not an executable: %v; %s", EnvChromium, p, err, installHint)
		}
		return full, nil
	}
	for _, name := range candidates {
		if full, err := exec.LookPath(name); err == nil {
			return full, nil
		}
	}
	return "", fmt.Errorf("browser: no Chromium found: %s is unset and none of %s is on PATH; %s",
		EnvChromium, strings.Join(candidates, ", "), installHint)
}

// flags are the command-line flags New starts Chromium with, besides
// chromedp's pipe, the user data directory and about:blank.
func flags(path string) []chromedp.ExecAllocatorOption {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// The headless mode of the full browser (the old one is gone
		// from Chromium since version 132).
		chromedp.Flag("headless", "new"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		// No GPU in a container; software rendering is enough for tests.
		chromedp.Flag("disable-gpu", true),
		// /dev/shm is 64 MB in a default Docker container, and Chromium
		// crashes when it fills; keep shared memory in /tmp.
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-features", "Translate"),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.WindowSize(WindowWidth, WindowHeight),
	}
	// Chromium refuses to run as root with its sandbox; not as root, keep
	// the sandbox.
	opts = append(opts, chromedp.Flag("no-sandbox", os.Geteuid() == 0))
	return opts
}

// syncBuffer is a bytes.Buffer that Chromium's output goroutine and the
// test can use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// New starts a headless Chromium for the test and returns the context of
// its first tab, for chromedp.Run and the functions of this package. Set a
// deadline on a context derived from it, not on it: the browser lives as
// long as the returned context.
//
// Where Path finds no Chromium, New skips the test with Path's message, or
// fails it when MESAOPT_REQUIRE_CHROMIUM=1. A browser that does not start
// within 45 s, or exits, fails the test with Chromium's output. The
// browser runs in a temporary user data directory that is removed after
// it. The test's cleanup closes the tab and the browser and waits until
// the browser process has exited; if the test failed, it logs Chromium's
// output.
func New(t testing.TB) context.Context {
	t.Helper()
	path, err := Path()
	if err != nil {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("%v (%s=1)", err, EnvRequire)
		}
		t.Skip(err)
	}

	out := new(syncBuffer)
	opts := append(flags(path), chromedp.CombinedOutput(out))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)

	// The first Run starts the browser and binds it to tabCtx, so it runs
	// on tabCtx itself, in a goroutine that this function joins, with the
	// launch timeout here.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(tabCtx) }()
	var launchErr error
	select {
	case launchErr = <-started:
	case <-time.After(launchTimeout):
		cancelTab() // kills the browser, so the first Run returns
		<-started
		launchErr = fmt.Errorf("no browser within %v", launchTimeout)
	}
	if launchErr != nil {
		cancelTab()
		cancelAlloc()
		msg := launchErr.Error()
		if o := strings.TrimSpace(out.String()); o != "" && !strings.Contains(msg, o) {
			msg += "\nChromium's output:\n" + o
		}
		t.Fatalf("browser: starting %s: %s", path, msg)
	}

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(tabCtx, closeTimeout)
		err := chromedp.Cancel(ctx) // closes the browser, waits for its exit
		cancel()
		cancelTab()
		cancelAlloc() // waits for the process and the removal of its directory
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("browser: closing Chromium: %v", err)
		}
		if t.Failed() {
			t.Logf("browser: Chromium's output:\n%s", out)
		}
	})
	return tabCtx
}

// ModuleRoot returns the directory of the go.mod above the working
// directory (a test's working directory is its package's directory).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("browser: no go.mod in %s or above", dir)
		}
		d = parent
	}
}

// ScreenshotDir returns the directory for the tests' screenshots,
// creating it: $MESAOPT_SCREENSHOTS if set, else bin/screenshots in the
// module root (bin/ is ignored by git). It fails the test if the
// directory cannot be found or made.
func ScreenshotDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(EnvScreenshots)
	if dir == "" {
		root, err := ModuleRoot()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, "bin", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("browser: screenshot directory: %v", err)
	}
	return dir
}

// Screenshot writes a PNG screenshot of the whole page of the tab ctx
// (beyond the window, at the window's width) to the file path, replacing
// it. The error is the browser's or the file's.
func Screenshot(ctx context.Context, path string) error {
	// FullScreenshot takes a PNG at quality 100 and a JPEG below it.
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return fmt.Errorf("browser: screenshot: %w", err)
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		return fmt.Errorf("browser: screenshot: %w", err)
	}
	return nil
}

// Open navigates the tab ctx to url and waits until the page has loaded
// (its load event). The error is the navigation's, or ctx's.
func Open(ctx context.Context, url string) error {
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		return fmt.Errorf("browser: open %s: %w", url, err)
	}
	return nil
}

// Eval evaluates the JavaScript expression js in the page of the tab ctx
// and decodes its value, as JSON, into out (a pointer, as for
// json.Unmarshal; nil to drop the value). An expression that throws gives
// an error with the exception; a Promise is not awaited.
func Eval(ctx context.Context, js string, out any) error {
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](js))
	if err != nil {
		return fmt.Errorf("browser: eval %q: %w", js, err)
	}
	if out == nil {
		return nil
	}
	if len(raw) == 0 {
		raw = []byte("null") // undefined
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("browser: eval %q: decoding %s: %w", js, raw, err)
	}
	return nil
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

// Text returns the rendered text (innerText) of the first element that
// matches the CSS selector sel, now. It does not wait for the element:
// the error says so when none matches.
func Text(ctx context.Context, sel string) (string, error) {
	var text *string
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%s); return e === null ? null : e.innerText; })()`, jsString(sel))
	if err := Eval(ctx, js, &text); err != nil {
		return "", err
	}
	if text == nil {
		return "", fmt.Errorf("browser: no element matches %q", sel)
	}
	return *text, nil
}

// Attr returns the value of the attribute name of the first element that
// matches the CSS selector sel, now. The error says whether no element
// matches or the element has no such attribute.
func Attr(ctx context.Context, sel, name string) (string, error) {
	var res struct {
		Found bool
		Value *string
	}
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%s); return e === null ? {Found: false} : {Found: true, Value: e.getAttribute(%s)}; })()`,
		jsString(sel), jsString(name))
	if err := Eval(ctx, js, &res); err != nil {
		return "", err
	}
	if !res.Found {
		return "", fmt.Errorf("browser: no element matches %q", sel)
	}
	if res.Value == nil {
		return "", fmt.Errorf("browser: element %q has no attribute %q", sel, name)
	}
	return *res.Value, nil
}

// WaitText reads the text of the first element that matches the CSS
// selector sel every 100 ms (PollInterval) until pred returns true for it,
// and returns that text. An element that does not match yet counts as a
// read that fails, and polling goes on. When ctx ends first (the caller
// sets its deadline), WaitText returns the last text it read and an error
// that names the selector, that text and ctx's error.
func WaitText(ctx context.Context, sel string, pred func(string) bool) (string, error) {
	ticker := time.NewTicker(PollInterval)
	defer ticker.Stop()
	var last string
	var lastErr error
	seen := false
	for {
		text, err := Text(ctx, sel)
		if err == nil {
			last, seen = text, true
			if pred(text) {
				return text, nil
			}
		} else {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if !seen {
				return "", fmt.Errorf("browser: waiting for the text of %q: never read it (last error: %v): %w", sel, lastErr, ctx.Err())
			}
			return last, fmt.Errorf("browser: waiting for the text of %q: last text %q: %w", sel, last, ctx.Err())
		case <-ticker.C:
		}
	}
}
