package sandboxtest

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
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

// update is the -update flag of every test binary that uses Golden.
var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// Golden compares got with testdata/golden/<name> byte for byte, or
// rewrites the file when the test runs with -update.
func Golden(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run go test -update to create it)", path, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n got: %s\nwant: %s", path, got, want)
	}
}
