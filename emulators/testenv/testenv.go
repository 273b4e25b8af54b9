// Package testenv holds what every test of the project shares, whatever it
// tests: what a test does when a tool it needs outside Go (Chromium,
// Node.js, an npm client, PHP, Java, curl, openssl) is missing (it is
// skipped with the exact install step, or fails when SANDBOX_REQUIRE_ALL=1,
// which `bash .ci/run` sets so that CI can never pass by skipping), and
// in-memory requests (Request, Do) that both test kits offer.
package testenv

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// RequireAllEnv names the environment variable that turns every skip for a
// missing external tool (Chromium, Node.js, the npm clients) into a
// failure. `bash .ci/run` sets it, so CI can never pass by skipping.
const RequireAllEnv = "SANDBOX_REQUIRE_ALL"

// RequireAll reports whether RequireAllEnv is set to a non-empty value
// other than "0".
func RequireAll() bool {
	v := os.Getenv(RequireAllEnv)
	return v != "" && v != "0"
}

// Missing ends t because something the test needs outside Go is absent:
// what names it, install is the exact step that installs it. The test is
// skipped, or fails when RequireAll.
func Missing(t testing.TB, what, install string) {
	t.Helper()
	if RequireAll() {
		t.Fatalf("%s is missing: %s (%s=1 turns this skip into a failure)", what, install, RequireAllEnv)
		return
	}
	t.Skipf("%s is missing: %s (or run `bash .ci/run`, which installs it)", what, install)
}

// Tool returns the path of the external program name, or ends t through
// Missing with install as the step that installs it.
func Tool(t testing.TB, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name, install)
	}
	return p
}

// Node returns the path of the node executable, or ends t through Missing.
func Node(t testing.TB) string {
	t.Helper()
	return Tool(t, "node", "apt-get install nodejs npm")
}

// NPMPackage ends t through Missing unless the npm package pkg is installed
// in the npm project dir (a path from the package under test, such as
// testdata/client); repoDir is the same directory from the repository root,
// for the install step in the message.
func NPMPackage(t testing.TB, dir, repoDir, pkg string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
		Missing(t, "the npm package "+pkg, "npm ci --prefix "+repoDir+" (from the repository root)")
	}
}

// Do sends req to h and returns the recorded answer.
func Do(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// Request builds a request with an optional body and headers ("Name:
// value"; names are canonicalised as net/http does for a request off the
// wire).
func Request(method, target, body string, headers ...string) *http.Request {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return req
}
