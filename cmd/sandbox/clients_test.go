package main

import (
	"bufio"
	"context"
	"github.com/paysandbox/sandbox/emulators/testenv"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startBinary builds the sandbox binary and starts it on a free loopback
// port; it returns the base URL. The process ends with the test.
func startBinary(t *testing.T, args ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sandbox")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, append([]string{"--addr", "127.0.0.1:0", "--log-level", "warn"}, args...)...)
	stdout, _ := cmd.StdoutPipe()
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("no ready line: %v\n%s", err, stderr.String())
	}
	m := regexp.MustCompile(`^sandbox ready on (http://127\.0\.0\.1:\d+)\n$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("ready line = %q", line)
	}
	return m[1]
}

// TestHTTPFlowFromNodeAndPHP runs the README's create → pay → await
// callback → verify flow from a Node script (node:test) and a PHP CLI
// script against the built binary, through the HTTP endpoints only, and
// the Python and Java versions of the README too (each skips naming its
// install step when missing; CI installs all four).
func TestHTTPFlowFromNodeAndPHP(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds and runs the binary")
	}
	node := testenv.Tool(t, "node", "apt-get install nodejs (Node 18 or later)")
	php := testenv.Tool(t, "php", "apt-get install php-cli php-curl")
	if err := exec.Command(php, "-r", "exit(function_exists('curl_init') ? 0 : 1);").Run(); err != nil {
		testenv.Missing(t, "PHP's curl extension", "apt-get install php-curl")
	}
	base := startBinary(t)
	dir, _ := filepath.Abs("../../docs/examples/http")
	for _, c := range []struct {
		name string
		cmd  []string
	}{
		{"node", []string{node, "--test", filepath.Join(dir, "khipu_flow.test.mjs")}},
		{"php", []string{php, filepath.Join(dir, "khipu_flow.php")}},
		{"python", []string{"python3", filepath.Join(dir, "khipu_flow.py")}},
		{"java", []string{"java", filepath.Join(dir, "KhipuFlow.java")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			testenv.Tool(t, c.cmd[0], map[string]string{"python": "apt-get install python3", "java": "apt-get install default-jdk-headless"}[c.name])
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, c.cmd[0], c.cmd[1:]...)
			cmd.Env = append(os.Environ(), "SANDBOX_URL="+base)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", c.name, err, out)
			}
			t.Logf("%s", out)
		})
	}
}

// TestCIStartScript runs the script the README's CI recipes call: it builds
// the binary, starts it and returns once /healthz answers.
func TestCIStartScript(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds and runs the binary")
	}
	bash := testenv.Tool(t, "bash", "apt-get install bash")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	script, _ := filepath.Abs("../../docs/examples/ci/start-sandbox.sh")
	cmd := exec.Command(bash, script, "--scenario", "ci-approve-all")
	cmd.Dir, cmd.Env = dir, append(os.Environ(), "ADDR="+addr)
	out, err := cmd.CombinedOutput()
	pid, _ := os.ReadFile(filepath.Join(dir, "paysandbox.pid"))
	if n, perr := strconv.Atoi(strings.TrimSpace(string(pid))); perr == nil {
		t.Cleanup(func() {
			if p, err := os.FindProcess(n); err == nil {
				p.Kill()
				p.Wait()
			}
		})
	}
	if err != nil || !strings.Contains(string(out), "sandbox ready on http://"+addr) {
		t.Fatalf("start-sandbox.sh: %v\n%s", err, out)
	}
	res, err := http.Get("http://" + addr + "/_sandbox/api/info")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if !strings.Contains(string(body), `"scenario":"ci-approve-all"`) {
		t.Errorf("the flags did not reach the sandbox: %s", body)
	}
}
