// Package browsertest drives the Debian Chromium (/usr/bin/chromium) from Go
// tests through chromedp, for the payer pages, the dashboard and the demo
// shop. It starts Chromium headless with the flags this closed network
// needs, and writes a screenshot of the page as a test artifact when a test
// fails.
//
// Browser tests cannot run inside a synctest bubble (they need a real
// listener): serve the sandbox with httptest.NewServer and, for delays, use
// a short --time-scale or the admin clock.
package browsertest

import (
	"context"
	"github.com/paysandbox/sandbox/emulators/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser is one headless Chromium tab for one test.
type Browser struct {
	Ctx context.Context
	t   testing.TB
}

// ChromiumPath returns the browser to drive: $CHROMIUM, else the first of
// chromium, chromium-browser, google-chrome found on PATH.
func ChromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// New starts Chromium for t. Browser tests are long: under -short they are
// skipped. A missing browser skips the test with the install step, or fails
// it when SANDBOX_REQUIRE_ALL is set (bash .ci/run sets it and installs
// Debian's chromium).
func New(t testing.TB) *Browser {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: browser tests drive Chromium")
	}
	path := ChromiumPath()
	if path == "" {
		testenv.Missing(t, "Chromium", "apt-get install chromium fonts-liberation, or set $CHROMIUM to a Chromium or Chrome binary")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.DisableGPU,
		chromedp.NoSandbox,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	}
	// Not t.TempDir: Chromium may still be writing its profile while the
	// test's cleanup runs, and a failed RemoveAll would fail the test.
	profile, err := os.MkdirTemp("", "paysandbox-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts = append(opts, chromedp.UserDataDir(profile))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	b := &Browser{Ctx: ctx, t: t}
	if err := chromedp.Run(ctx); err != nil {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
		t.Fatalf("starting Chromium (%s): %v", path, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			b.Screenshot("failure")
		}
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
		for range 20 {
			if os.RemoveAll(profile) == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	return b
}

// For returns the same browser reporting to t (a subtest of the test that
// started it), so that failures inside t.Run fail the subtest.
func (b *Browser) For(t testing.TB) *Browser { return &Browser{Ctx: b.Ctx, t: t} }

// Run runs chromedp actions, failing the test on error.
func (b *Browser) Run(actions ...chromedp.Action) {
	b.t.Helper()
	if err := chromedp.Run(b.Ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// ArtifactDir is where screenshots go: $SANDBOX_ARTIFACTS, else
// test-artifacts/ at the repository root (ignored by git).
func ArtifactDir() string {
	if d := os.Getenv("SANDBOX_ARTIFACTS"); d != "" {
		return d
	}
	dir, _ := os.Getwd()
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "test-artifacts")
		}
	}
	return filepath.Join(os.TempDir(), "paysandbox-artifacts")
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Screenshot writes a full-page PNG named after the test and label into
// ArtifactDir and returns its path ("" when it could not be taken).
func (b *Browser) Screenshot(label string) string {
	var png []byte
	ctx, cancel := context.WithTimeout(b.Ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil || len(png) == 0 {
		return ""
	}
	dir := ArtifactDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ""
	}
	name := unsafeName.ReplaceAllString(b.t.Name()+"-"+label, "_") + ".png"
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		return ""
	}
	b.t.Logf("screenshot: %s", p)
	return p
}
