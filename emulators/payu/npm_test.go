package payu

import (
	"github.com/paysandbox/sandbox/emulators/testenv"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// PAYU check 15: the npm client payu-latam-node@0.1.2 pings the emulator on
// a real listener through its URL override. `bash .ci/run` installs it with
// npm install --prefix emulators/payu/testdata/client.
func TestNPMClientPing(t *testing.T) {
	dir, _ := filepath.Abs(filepath.Join("testdata", "client"))
	if testing.Short() {
		t.Skip("-short: the npm client test runs Node.js on a real listener")
	}
	node := testenv.Node(t)
	testenv.NPMPackage(t, dir, "emulators/payu/testdata/client", "payu-latam-node")
	e := newEnv(t, envOpt{})
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	cmd := exec.Command(node, "ping.js", srv.URL)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "SUCCESS" {
		t.Fatalf("node ping.js: %v\n%s", err, out)
	}
	// The request reached the emulator as the client sends it.
	found := false
	for _, en := range e.entries("request") {
		if en.Request != nil && strings.Contains(en.Request.RequestBody, `"command":"PING"`) && en.Request.Status == 200 {
			found = true
		}
	}
	if !found {
		t.Error("the client's PING is not in the journal")
	}
}
