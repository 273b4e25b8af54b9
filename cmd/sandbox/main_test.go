package main

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/paysandbox/sandbox/emulators/khipu"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// startServe runs `sandbox serve` in process and returns its address and a
// stop function that reports run's error.
func startServe(t *testing.T, args ...string) (addr string, stdout, stderr *syncBuffer, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), env(), stdout, stderr, func(a net.Addr) { ready <- a })
	}()
	select {
	case a := <-ready:
		addr = a.String()
	case err := <-done:
		cancel()
		t.Fatalf("serve ended before it was ready: %v\n%s", err, stderr)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("serve not ready within 20s")
	}
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { stop() })
	return addr, stdout, stderr, stop
}

func TestServeWithZeroConfiguration(t *testing.T) {
	addr, stdout, stderr, stop := startServe(t)
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthz = %d", resp.StatusCode)
	}
	if want := "sandbox ready on http://" + addr + "\n"; stdout.String() != want {
		t.Errorf("stdout = %q, want %q", stdout.String(), want)
	}
	logs := stderr.String()
	for _, want := range []string{`msg="base URL" provider=khipu`, `msg="base URL" provider=hambit`, `msg="base URL" provider=payu`, "dashboard=http://" + addr + "/_sandbox/"} {
		if !strings.Contains(logs, want) {
			t.Errorf("startup log lacks %q:\n%s", want, logs)
		}
	}
	for _, a := range []string{addr, "http://" + addr, "http://" + addr + "/"} {
		if err := healthcheck(context.Background(), []string{"--addr", a}, env(), &bytes.Buffer{}); err != nil {
			t.Errorf("healthcheck --addr %s against a running sandbox: %v", a, err)
		}
	}
	if err := stop(); err != nil {
		t.Errorf("serve returned %v after the signal, want nil (exit 0)", err)
	}
	var ee exitError
	if err := healthcheck(context.Background(), []string{"--addr", addr, "--timeout", "2s"}, env(), &bytes.Buffer{}); !errors.As(err, &ee) || ee.code != 1 {
		t.Errorf("healthcheck with nothing listening = %v, want exit 1", err)
	}
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sandbox.yaml")
	os.WriteFile(file, []byte("addr: 127.0.0.1:1111\ntime_scale: 2\nlog_level: debug\nadmin_token: from-file\n"), 0o644)
	cfg, err := parseConfig([]string{"--addr", "127.0.0.1:3333", "--config", file},
		env("SANDBOX_ADDR", "127.0.0.1:2222", "SANDBOX_TIME_SCALE", "3", "SANDBOX_NO_DEBUG_HEADERS", "true"), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:3333" || cfg.TimeScale != 3 || cfg.LogLevel != "debug" || cfg.AdminToken != "from-file" || cfg.DebugHeaders {
		t.Errorf("flag > env > file > default broken: %+v", cfg)
	}
	cfg, err = parseConfig(nil, env("SANDBOX_CONFIG", file), &bytes.Buffer{})
	if err != nil || cfg.Addr != "127.0.0.1:1111" || !cfg.DebugHeaders || cfg.Scenario != "default" {
		t.Errorf("SANDBOX_CONFIG: %v %+v", err, cfg)
	}
	cfg, err = parseConfig([]string{"--seed", "9", "--no-debug-headers"}, env(), &bytes.Buffer{})
	if err != nil || *cfg.Seed != 9 || cfg.DebugHeaders || cfg.Addr != "127.0.0.1:8080" {
		t.Errorf("flags only: %v %+v", err, cfg)
	}
}

// TestStartupErrors: every bad start is one clear error naming the problem
// and a non-zero exit.
func TestStartupErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o644)
		return p
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name string
		args []string
		env  func(string) string
		want string
	}{
		{"malformed file", []string{"--config", write("bad.yaml", "addr: [\n")}, env(), "bad.yaml:"},
		{"unknown key", []string{"--config", write("typo.yaml", "khipu:\n  recievers: []\n")}, env(), `typo.yaml:2: khipu: unknown key "recievers" (did you mean "receivers"?)`},
		{"bad duration", []string{"--config", write("dur.yaml", "hambit:\n  callbacks:\n    timeout: 10\n")}, env(), `dur.yaml:3: hambit.callbacks.timeout: bad duration "10": write a unit`},
		{"missing file", []string{"--config", filepath.Join(dir, "none.yaml")}, env(), "config file: open"},
		{"port in use", []string{"--addr", busy.Addr().String()}, env(), "cannot listen on " + busy.Addr().String() + ": the address is already in use"},
		{"bad env", nil, env("SANDBOX_TIME_SCALE", "fast"), `SANDBOX_TIME_SCALE: "fast" is not a number`},
		{"bad value", []string{"--time-scale", "0"}, env(), "time_scale: 0: expected a factor above 0"},
		{"bad addr", []string{"--addr", "8080"}, env(), `addr: "8080" is not host:port`},
		{"unknown scenario", []string{"--scenario", "nope"}, env(), `unknown scenario "nope"; known: ci-approve-all`},
		{"unknown flag", []string{"--adress", "x"}, env(), "flag provided but not defined: -adress"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"serve"}, tt.args...), tt.env, &stdout, &stderr, nil)
			if err == nil {
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
			if strings.Count(err.Error(), "\n") > 0 && tt.name != "unknown scenario" {
				t.Errorf("error spans several lines:\n%s", err)
			}
			if strings.Contains(stdout.String(), "ready") {
				t.Error("printed the ready line")
			}
		})
	}
}

func TestScenariosCheck(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"scenarios", "check", "--builtins"}, env(), &out, &out, nil); err != nil {
		t.Fatalf("built-ins fail the check: %v\n%s", err, out.String())
	}
	for _, name := range []string{"default", "ci-approve-all", "ci-reject-all", "slow-bank", "flaky-callbacks", "provider-outage"} {
		if !strings.Contains(out.String(), `ok (scenario "`+name+`"`) {
			t.Errorf("check output lacks %s:\n%s", name, out.String())
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("name: bad\nrules:\n  - {provider: khipu, on: payy, then: {}}\n  - {provider: hambit, on: pay, then: {outcome: paid}}\n"), 0o644)
	out.Reset()
	err := run(context.Background(), []string{"scenarios", "check", bad}, env(), &out, &out, nil)
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Errorf("check of a broken file = %v, want exit 1", err)
	}
	for _, want := range []string{"bad.yaml:3: rules[0]: unknown decision point \"payy\"", "bad.yaml:4: rules[1]: then.outcome: unknown outcome \"paid\""} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestVersionAndUnknownCommand(t *testing.T) {
	var out bytes.Buffer
	run(context.Background(), []string{"version"}, env(), &out, &out, nil)
	if out.String() != "sandbox dev\n" {
		t.Errorf("version = %q", out.String())
	}
	if err := run(context.Background(), []string{"serv"}, env(), &out, &out, nil); err == nil || !strings.Contains(err.Error(), `unknown command "serv"`) {
		t.Errorf("unknown command: %v", err)
	}
}

// TestShippedBinary builds the binary exactly as docker/Dockerfile does
// (static, stripped, version from ldflags) and runs it as a user would.
func TestShippedBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: building the static binary takes minutes on a busy 2-core machine")
	}
	bin := filepath.Join(t.TempDir(), "sandbox")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=v0.0.0-test", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary is dynamically linked (has PT_INTERP); the Docker image has no libc")
		}
	}
	f.Close()
	if st, _ := os.Stat(bin); st != nil {
		t.Logf("binary size: %.1f MiB", float64(st.Size())/(1<<20))
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil || string(out) != "sandbox v0.0.0-test\n" {
		t.Errorf("version = %q, %v", out, err)
	}

	cmd := exec.Command(bin, "--addr", "127.0.0.1:0")
	stdout, _ := cmd.StdoutPipe()
	var stderr syncBuffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("no ready line: %v\n%s", err, stderr.String())
	}
	m := regexp.MustCompile(`^sandbox ready on http://(127\.0\.0\.1:\d+)\n$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("ready line = %q", line)
	}
	resp, err := http.Get("http://" + m[1] + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	t.Logf("start to first answered request: %v", time.Since(start))
	if err := exec.Command(bin, "healthcheck", "--addr", m[1]).Run(); err != nil {
		t.Errorf("healthcheck against the binary: %v", err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no exit within 15s of SIGTERM")
	}
	if !strings.Contains(stderr.String(), "msg=stopped") {
		t.Errorf("no orderly stop in the log:\n%s", stderr.String())
	}
	hc := exec.Command(bin, "healthcheck", "--addr", m[1])
	if err := hc.Run(); err == nil || hc.ProcessState.ExitCode() != 1 {
		t.Errorf("healthcheck after the stop: %v, want exit 1", err)
	}
}

// TestShutdownDeliversTheCallbackInFlight: a notification is being delivered
// to a slow merchant when the stop signal arrives; the sandbox waits for
// the merchant's answer before it exits, and exits cleanly.
func TestShutdownDeliversTheCallbackInFlight(t *testing.T) {
	received, release := make(chan struct{}), make(chan struct{})
	var answered atomic.Bool
	merchant := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(received)
		<-release // the merchant answers only when the test says so
		answered.Store(true)
	}))
	defer merchant.Close()
	addr, _, stderr, stop := startServe(t)
	base := "http://" + addr
	endpoint := base + "/khipu/api/2.0/payments"
	params := url.Values{"subject": {"Shutdown"}, "amount": {"1000"}, "currency": {"CLP"},
		"notify_url": {merchant.URL + "/notify"}, "notify_api_version": {"1.3"}}
	req, _ := http.NewRequest("POST", endpoint, strings.NewReader(params.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", khipu.SignRequest("sbx-khipu-secret-NOT-REAL", 123456, "POST", endpoint, params))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		PaymentID string `json:"payment_id"`
	}
	json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	resp, err = http.Post(base+"/_sandbox/api/objects/khipu/"+created.PaymentID+"/actions/pay", "application/json",
		strings.NewReader(`{"outcome":"approve","skip_verify":true}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("pay: %v %v", err, resp)
	}
	resp.Body.Close()
	select {
	case <-received:
	case <-time.After(10 * time.Second):
		t.Fatal("the notification never reached the merchant")
	}
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	for !strings.Contains(stderr.String(), "shutting down") {
		select {
		case err := <-stopped:
			t.Fatalf("serve returned %v before the merchant answered", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	select {
	case err := <-stopped:
		t.Fatalf("serve returned %v while a notification was in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Fatalf("serve returned %v, want nil", err)
	}
	if !answered.Load() {
		t.Error("the sandbox exited before the merchant answered the notification in flight")
	}
	if strings.Contains(stderr.String(), "drain incomplete") {
		t.Errorf("drain incomplete:\n%s", stderr.String())
	}
}

// TestLogFormatJSON: --log-format json writes one JSON object a line, and
// request lines are debug: absent at the default level, present at debug.
func TestLogFormatJSON(t *testing.T) {
	for _, level := range []string{"info", "debug"} {
		t.Run(level, func(t *testing.T) {
			addr, _, stderr, stop := startServe(t, "--log-format", "json", "--log-level", level)
			resp, err := http.Get("http://" + addr + "/_sandbox/api/objects")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			stop()
			requests := 0
			for line := range strings.SplitSeq(strings.TrimSpace(stderr.String()), "\n") {
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("log line is not JSON: %q", line)
				}
				if rec["msg"] == "request" {
					requests++
					if rec["level"] != "DEBUG" {
						t.Errorf("request logged at %v, want DEBUG", rec["level"])
					}
				}
			}
			if want := map[string]int{"info": 0, "debug": 1}[level]; requests != want {
				t.Errorf("%d request lines at --log-level %s, want %d:\n%s", requests, level, want, stderr)
			}
		})
	}
}
