package khipu

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"github.com/paysandbox/sandbox/emulators/testenv"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/paysandbox/sandbox/emulators/internal/callback"
	"github.com/paysandbox/sandbox/emulators/internal/clock"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/platform"
	"github.com/paysandbox/sandbox/emulators/internal/random"
	"github.com/paysandbox/sandbox/emulators/internal/sandboxtest"
	"github.com/paysandbox/sandbox/scenarios"
	"github.com/paysandbox/sandbox/web"
)

// clientDir holds the npm project of the real-client test.
const clientDir = "testdata/client"

// realDeps builds the core from its constructors with a real HTTP client
// for notifications (the npm test needs real listeners, so no synctest).
func realDeps(t *testing.T, scenarioYAML string) platform.Deps {
	t.Helper()
	clk := clock.New(clock.Options{Scale: 0.001})
	jr := journal.New(journal.Options{Now: clk.Now})
	disp := callback.New(callback.Options{Clock: clk, Journal: jr}) // nil Client: a real HTTP client
	eng, err := scenarios.NewEngine(scenarios.Options{
		Builtins: fstest.MapFS{"default.yaml": {Data: []byte("name: default\nrules: []\n")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Upload([]byte(scenarioYAML)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		disp.Close(ctx)
		clk.Close()
	})
	return platform.Deps{
		Log: slog.New(slog.DiscardHandler), Clock: clk, Journal: jr, Dispatcher: disp, Scenarios: eng,
		Random: random.New(nil, provider), DebugHeaders: true, Web: web.FS(),
	}
}

// TestRealClientFiKhipu runs the npm client fi-khipu@0.1.0 against the
// sandbox on a real listener (K-CLI-01): list banks → create → robot pay
// (scenario auto, tiny time scale) → notification 1.3 received by a local
// merchant → get by token → refund → get → delete.
func TestRealClientFiKhipu(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the real-client test runs Node.js on a real listener")
	}
	node := testenv.Node(t)
	testenv.NPMPackage(t, clientDir, "emulators/khipu/"+clientDir, "fi-khipu")
	deps := realDeps(t, `name: cli-robot
rules:
  - {provider: khipu, on: pay, when: {transaction_id: T-1}, then: {auto: true}}
`)
	svc, err := New(DefaultConfig(), deps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	srv := httptest.NewServer(sandboxtest.Mount(deps.Journal, nil, provider, svc.Register))
	defer srv.Close()

	type notification struct {
		header http.Header
		body   string
	}
	notes := make(chan notification, 4)
	merchant := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		notes <- notification{r.Header.Clone(), string(b)}
		w.WriteHeader(http.StatusOK)
	}))
	defer merchant.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "run.js", srv.URL+"/khipu/api/2.0", merchant.URL+"/notify", merchant.URL+"/return")
	cmd.Dir = clientDir
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	next := func(step string) map[string]any {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("node ended before %q; stderr:\n%s", step, stderr.String())
		}
		var m map[string]any
		if err := json.Unmarshal(lines.Bytes(), &m); err != nil {
			t.Fatalf("node printed %q", lines.Text())
		}
		if m["step"] != step {
			t.Fatalf("node: %s, want step %q (journal: %s)", lines.Text(), step, lastRequests(deps.Journal))
		}
		return m
	}

	if m := next("banks"); fmt.Sprint(m["ids"]) != "[Bawdf Qwert]" {
		t.Errorf("banks %v", m["ids"])
	}
	created := next("created")
	id := created["payment_id"].(string)
	if created["payment_url"] != srv.URL+"/khipu/payment/info/"+id {
		t.Errorf("payment_url %v", created["payment_url"])
	}
	var n notification
	select {
	case n = <-notes:
	case <-ctx.Done():
		t.Fatalf("no notification; journal: %s", lastRequests(deps.Journal))
	}
	token := strings.TrimPrefix(n.body, "api_version=1.3&notification_token=")
	if len(token) != 64 || n.header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Fatalf("notification %q %v", n.body, n.header)
	}
	fmt.Fprintln(stdin, token)
	stdin.Close()

	byToken := next("by_token")
	if byToken["payment_id"] != id || byToken["status"] != "done" || byToken["amount"] != "1570.0000" || byToken["receiver_id"] != float64(123456) {
		t.Errorf("by token: %v", byToken)
	}
	if m := next("refunded"); m["message"] != "Reembolso realizado" {
		t.Errorf("refund: %v", m)
	}
	if m := next("after_refund"); m["status"] != "done" || m["status_detail"] != "reversed" {
		t.Errorf("after refund: %v", m)
	}
	if m := next("deleted"); m["message"] != "Pago eliminado" {
		t.Errorf("delete: %v", m)
	}
	next("done")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	p, _ := svc.payments.Get(id)
	if p.Subject != "Prueba fi-khipu (#1)" || p.Body != "línea ñ ~*'" || p.Scenario != "cli-robot" {
		t.Errorf("stored %q %q %q", p.Subject, p.Body, p.Scenario)
	}
	// Every request of the client passed the signature check.
	for _, e := range deps.Journal.List(journal.Filter{Kinds: []journal.Kind{journal.KindRequest}, Limit: 100}) {
		if s := e.Request.Signature; s == nil || s.Verdict != journal.VerdictOK {
			t.Errorf("request %s: signature %+v", e.Summary, s)
		}
	}
	select {
	case extra := <-notes:
		t.Errorf("extra notification %q", extra.body)
	default:
	}
}

func lastRequests(jr *journal.Journal) string {
	var b strings.Builder
	for _, e := range jr.List(journal.Filter{Kinds: []journal.Kind{journal.KindRequest, journal.KindCallback}, Limit: 10}) {
		b.WriteString("\n  " + e.Summary)
		if e.Request != nil {
			b.WriteString(" " + e.Request.ResponseBody)
		}
	}
	return b.String()
}
