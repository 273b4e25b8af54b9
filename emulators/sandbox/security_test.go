package sandbox_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"mime/multipart"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/sandboxtest"
	"github.com/paysandbox/sandbox/emulators/sandbox"
)

// Issue #13, class 5: the admin API and dashboard answer only Host names
// the sandbox serves, whatever the route.
func TestHostAllowList(t *testing.T) {
	sb := newSandbox(t, func(c *sandbox.Config) {
		c.AllowedHosts = []string{"sandbox", ".svc.cluster"}
		c.PublicURL = "https://pay.dev.acme.io"
	}, sandbox.Options{})
	h := sb.Handler()
	cases := []struct {
		host string
		ok   bool
	}{
		{"127.0.0.1:8080", true}, {"[::1]:8080", true}, {"localhost:8080", true}, {"app.localhost", true},
		{"10.0.0.7:8080", true}, {"sandbox:8080", true}, {"pay.svc.cluster", true}, {"khipu.com", true},
		{"api.payulatam.com", true}, {"pay.dev.acme.io", true},
		{"rebind.attacker.net:8080", false}, {"sandbox.attacker.net", false}, {"svc.cluster.attacker.net", false}, {"acme.io", false},
	}
	for _, c := range cases {
		for _, path := range []string{"/_sandbox/api/info", "/_sandbox/", "/_sandbox/api/objects", "/_sandbox/api/no-such"} {
			code, body, _ := do(t, h, "GET", "http://"+c.host+path, "")
			if refused := code == 403 && strings.Contains(body, `"kind":"forbidden"`); refused == c.ok {
				t.Errorf("GET %s with Host %s = %d %.120s; want served=%v", path, c.host, code, body, c.ok)
			}
			if !c.ok && strings.Contains(body, "secret") {
				t.Errorf("Host %s got secrets", c.host)
			}
		}
	}
	// Provider routes keep working under any name (clients use their own hosts).
	if code, _, _ := do(t, h, "GET", "http://rebind.attacker.net/healthz", ""); code != 200 {
		t.Errorf("healthz under any host = %d", code)
	}
}

// Cross-site pages cannot change state: no-cors text/plain posts, other
// origins (another port of the same host included) and cross-site fetches
// are refused on every state-changing admin route; JSON from a tool works.
func TestCrossSiteWritesRefused(t *testing.T) {
	sb := newSandbox(t, nil, sandbox.Options{})
	h := sb.Handler()
	type req struct {
		name    string
		headers []string
		want    int
	}
	reqs := []req{
		{"text/plain no-cors", []string{"Content-Type: text/plain;charset=UTF-8"}, 415},
		{"urlencoded", []string{"Content-Type: application/x-www-form-urlencoded"}, 415},
		{"multipart", []string{"Content-Type: multipart/form-data; boundary=x"}, 415},
		{"other port", []string{"Content-Type: application/json", "Origin: http://localhost:3000"}, 403},
		{"null origin", []string{"Content-Type: application/json", "Origin: null"}, 403},
		{"same-site fetch", []string{"Content-Type: application/json", "Sec-Fetch-Site: same-site"}, 403},
		{"cross-site fetch", []string{"Content-Type: application/json", "Sec-Fetch-Site: cross-site"}, 403},
	}
	routes := []struct{ method, path, body string }{
		{"POST", "/_sandbox/api/clock/advance", `{"by":"1h"}`},
		{"POST", "/_sandbox/api/reset", `{"provider":"khipu"}`},
		{"PUT", "/_sandbox/api/scenarios/active", `{"name":"ci-approve-all"}`},
		{"POST", "/_sandbox/api/scenarios", "name: x\nrules: []\n"},
		{"POST", "/_sandbox/api/objects/khipu/x/actions/pay", `{}`},
		{"POST", "/_sandbox/api/callbacks/cb1/resend", `{}`},
		{"DELETE", "/_sandbox/api/scenarios/x", `{}`},
	}
	for _, rt := range routes {
		for _, r := range reqs {
			code, body, _ := do(t, h, rt.method, "http://localhost:8080"+rt.path, rt.body, r.headers...)
			if code != r.want {
				t.Errorf("%s %s (%s) = %d %.200s, want %d", rt.method, rt.path, r.name, code, body, r.want)
			}
		}
	}
	if sb.Clock().Offset() != 0 || sb.Scenarios().Active() != "default" {
		t.Fatalf("a refused request changed state: offset %v, scenario %s", sb.Clock().Offset(), sb.Scenarios().Active())
	}
	// The sandbox's own page (same origin) and tools (no Origin) are served.
	if code, body, _ := do(t, h, "POST", "http://localhost:8080/_sandbox/api/clock/advance", `{"by":"1h"}`,
		"Content-Type: application/json", "Origin: http://localhost:8080", "Sec-Fetch-Site: same-origin"); code != 200 {
		t.Errorf("same-origin JSON = %d %s", code, body)
	}
	if code, body, _ := do(t, h, "POST", "/_sandbox/api/reset", ""); code != 200 {
		t.Errorf("a tool's empty POST /reset = %d %s", code, body)
	}
	// Dashboard forms need the session's CSRF token.
	for _, form := range []url.Values{{"by": {"1h"}}, {"by": {"1h"}, "csrf": {"0123"}}} {
		rec := sandboxtest.Do(h, sandboxtest.Request("POST", "/_sandbox/clock/advance", form.Encode(), "Content-Type: application/x-www-form-urlencoded"))
		if rec.Code != 403 {
			t.Errorf("dashboard form %v = %d", form, rec.Code)
		}
	}
	// A cookie planted by another port cannot be paired with a token.
	rec := sandboxtest.Do(h, sandboxtest.Request("POST", "/_sandbox/reset", "csrf=aaaa&provider=", "Content-Type: application/x-www-form-urlencoded",
		"Cookie: sandbox_session=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"))
	if rec.Code != 403 {
		t.Errorf("planted session = %d", rec.Code)
	}
	if sb.Clock().Offset().Hours() != 1 {
		t.Errorf("clock offset %v after one accepted advance", sb.Clock().Offset())
	}
}

// Issue #13, class 2: a form the sandbox cannot read whole is a 400 and
// nothing is done; multipart bodies are bounded and never spooled to disk.
func TestFormsParseErrorsDoNothing(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	sb := newSandbox(t, nil, sandbox.Options{})
	h := sb.Handler()
	sb.Journal().Add(journal.Entry{Kind: journal.KindNote, Provider: "khipu", Summary: "kept"})
	padded := url.Values{"provider": {"payu"}, "pad": {strings.Repeat("x", 11<<20)}}
	bad := []struct {
		name, path, body, ct string
	}{
		{"reset padded past the limit", "/_sandbox/reset", padded.Encode(), "application/x-www-form-urlencoded"},
		{"reset with a bad escape", "/_sandbox/reset", "provider=payu&x=%zz", "application/x-www-form-urlencoded"},
		{"advance with a bad escape", "/_sandbox/clock/advance", "by=1h&%", "application/x-www-form-urlencoded"},
		{"multipart without boundary", "/_sandbox/scenarios", "x", "multipart/form-data"},
		{"multipart 5 MiB upload", "/_sandbox/scenarios", multipartBody(5 << 20), "multipart/form-data; boundary=BOUNDARY"},
		{"checkout padded", "/_sandbox/demo/checkout", "product=coffee&method=khipu&pad=" + strings.Repeat("y", 3<<20), "application/x-www-form-urlencoded"},
	}
	for _, b := range bad {
		cookie, token := csrfSession(h)
		body := b.body
		if strings.HasPrefix(b.ct, "application/x-www") {
			body = "csrf=" + token + "&" + body
		}
		rec := sandboxtest.Do(h, sandboxtest.Request("POST", b.path, body, "Content-Type: "+b.ct, "Cookie: "+cookie))
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), "nothing was done") {
			t.Errorf("%s = %d %.200s", b.name, rec.Code, rec.Body.String())
		}
	}
	if es := sb.Journal().List(journal.Filter{}); len(es) == 0 || es[len(es)-1].Summary != "kept" {
		t.Errorf("a refused form reset the journal")
	}
	if sb.Clock().Offset() != 0 {
		t.Errorf("a refused form moved the clock")
	}
	if files, _ := os.ReadDir(tmp); len(files) > 0 {
		t.Errorf("%d files spooled to TMPDIR", len(files))
	}
	// The WebPay page's form and the Hambit cashier's are bounded too.
	for _, path := range []string{"/payu/webpay/initTransaction", "/hambit/cashier/none"} {
		rec := sandboxtest.Do(h, sandboxtest.Request("POST", path, multipartBody(3<<20), "Content-Type: multipart/form-data; boundary=BOUNDARY"))
		if rec.Code < 400 || rec.Code >= 500 {
			t.Errorf("%s with a 3 MiB multipart body = %d", path, rec.Code)
		}
	}
	if files, _ := os.ReadDir(tmp); len(files) > 0 {
		t.Errorf("%d files spooled to TMPDIR by the provider pages", len(files))
	}
}

func multipartBody(n int) string {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	w.SetBoundary("BOUNDARY")
	f, _ := w.CreateFormFile("file", "big.yaml")
	f.Write(bytes.Repeat([]byte("z"), n))
	w.WriteField("token_ws", "x")
	w.Close()
	return b.String()
}

// Issue #13, class 9: a query token is accepted on the event stream only,
// and never logged; a panic in a /_sandbox handler is journaled and
// answered, and the process carries on.
func TestTokenQueryOnlyForEventsAndNeverLogged(t *testing.T) {
	var logs bytes.Buffer
	cfg := sandbox.DefaultConfig()
	cfg.AdminToken = "s3cret-token"
	sb, err := sandbox.New(cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close(t.Context())
	h := sb.Handler()
	for _, p := range []string{"/_sandbox/api/info?token=s3cret-token", "/_sandbox/api/objects?token=s3cret-token", "/_sandbox/api/journal?x=1&token=s3cret-token"} {
		if code, _, _ := do(t, h, "GET", p, ""); code != 401 {
			t.Errorf("GET %s = %d, want 401 (query tokens only on /events)", p, code)
		}
	}
	if code, _, _ := do(t, h, "GET", "/_sandbox/api/info", "", "Authorization: Bearer s3cret-token"); code != 200 {
		t.Errorf("bearer token = %d", code)
	}
	do(t, h, "GET", "/_sandbox/?token=s3cret-token", "")
	if strings.Contains(logs.String(), "s3cret-token") {
		t.Errorf("the token was logged:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "token=[redacted]") {
		t.Errorf("the request with a token was not logged at all:\n%s", logs.String())
	}
}

func TestPanicInSandboxRouteIsAnswered(t *testing.T) {
	sb := newSandbox(t, nil, sandbox.Options{})
	e := sb.Handler().(*echo.Echo)
	e.GET("/_sandbox/api/boom", func(echo.Context) error { panic("boom") })
	e.GET("/_sandbox/boom", func(echo.Context) error { panic(fmt.Errorf("page boom")) })
	for _, p := range []string{"/_sandbox/api/boom", "/_sandbox/boom"} {
		code, body, _ := do(t, e, "GET", p, "")
		if code != 500 || !strings.Contains(body, `"kind":"internal"`) {
			t.Errorf("GET %s = %d %s", p, code, body)
		}
	}
	notes := sb.Journal().List(journal.Filter{Kinds: []journal.Kind{journal.KindNote}})
	if len(notes) != 2 || !strings.Contains(notes[1].Summary, "panic in GET /_sandbox/api/boom: boom") {
		t.Errorf("panics not journaled: %+v", notes)
	}
	if code, _, _ := do(t, e, "GET", "/_sandbox/api/info", ""); code != 200 {
		t.Errorf("after the panics /info = %d", code)
	}
}
