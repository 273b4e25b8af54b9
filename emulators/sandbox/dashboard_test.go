package sandbox_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/sandbox"
	"github.com/paysandbox/sandbox/sandboxtest"
)

// dashSandbox builds a whole sandbox for the dashboard and demo tests.
func dashSandbox(t testing.TB, mutate func(*sandbox.Config), opt sandbox.Options) *sandbox.Sandbox {
	t.Helper()
	return newSandbox(t, mutate, opt)
}

// get fetches a page in process and returns status, body and headers.
func get(t testing.TB, h http.Handler, target string, headers ...string) (int, string, http.Header) {
	t.Helper()
	rec := sandboxtest.Do(h, sandboxtest.Request("GET", target, "", headers...))
	return rec.Code, rec.Body.String(), rec.Header()
}

// postForm posts form as the dashboard's page would: with the session
// cookie and the CSRF token a page GET hands out (issue #13).
func postForm(t testing.TB, h http.Handler, target string, form url.Values, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	cookie, token := csrfSession(h, headers...)
	form = cloneValues(form)
	if token != "" && form.Get("csrf") == "" {
		form.Set("csrf", token)
	}
	if cookie != "" {
		headers = append(headers, "Cookie: "+cookie)
	}
	return sandboxtest.Do(h, sandboxtest.Request("POST", target, form.Encode(), append(headers, "Content-Type: application/x-www-form-urlencoded")...))
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// csrfSession opens a dashboard page and returns its session cookie and the
// forms' CSRF token ("" when the page is not served, e.g. without a token).
func csrfSession(h http.Handler, headers ...string) (cookie, token string) {
	rec := sandboxtest.Do(h, sandboxtest.Request("GET", "/_sandbox/clock", "", headers...))
	for _, c := range rec.Result().Cookies() {
		if c.Name == "sandbox_session" {
			cookie = c.Name + "=" + c.Value
		}
	}
	if m := csrfField.FindStringSubmatch(rec.Body.String()); m != nil {
		token = m[1]
	}
	return cookie, token
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

const pageBudget = 100 << 10

// networkRef finds references to resources outside the sandbox: every
// script, style, font and image must come from the sandbox itself.
var networkRef = regexp.MustCompile(`(?i)(<script[^>]+src|<link[^>]+href|<img[^>]+src|url\()\s*=?\s*["']?(https?:)?//`)

func checkPage(t *testing.T, name, body string) {
	t.Helper()
	if len(body) > pageBudget {
		t.Errorf("%s: %d bytes, over the %d-byte budget", name, len(body), pageBudget)
	}
	if m := networkRef.FindString(body); m != "" {
		t.Errorf("%s loads something from the network: %q", name, m)
	}
	for _, want := range []string{`<html lang="en">`, `<meta name="viewport"`, `<main id="main"`, `/_sandbox/static/dashboard.js`} {
		if !strings.Contains(body, want) {
			t.Errorf("%s lacks %s", name, want)
		}
	}
}

func TestDashboardPagesWithNoObjects(t *testing.T) {
	sb := dashSandbox(t, nil, sandbox.Options{Version: "v-dash"})
	h := sb.Handler()
	tests := []struct {
		path string
		want []string
	}{
		{"/_sandbox/", []string{"<h1>Objects</h1>", "No objects yet", `href="/_sandbox/demo"`, `data-follow="all"`}},
		{"/_sandbox/journal", []string{"<h1>Journal</h1>", "Nothing in the journal"}},
		{"/_sandbox/journal?kind=request&verdict=rejected", []string{"Nothing in the journal matches these filters"}},
		{"/_sandbox/scenarios", []string{"<h1>Scenarios</h1>", "ci-approve-all", `id="active-scenario">default<`, `data-api="/_sandbox/api/scenarios"`}},
		{"/_sandbox/accounts", []string{"Accounts and base URLs", "http://example.com/khipu", "http://example.com/hambit", "http://example.com/payu"}},
		{"/_sandbox/clock", []string{"Clock and reset", `data-api="/_sandbox/api/clock/advance"`, `data-api="/_sandbox/api/reset"`}},
		{"/_sandbox/demo", []string{"<h1>Demo shop</h1>", `id="pay">Pay</button>`, `id="m-khipu"`, `id="m-payu-khipu"`, `id="m-payu-webpay"`, `id="m-payu-card"`, `id="m-hambit"`}},
	}
	for _, tt := range tests {
		code, body, hdr := get(t, h, "http://example.com"+tt.path)
		if code != 200 {
			t.Errorf("%s: %d", tt.path, code)
			continue
		}
		if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s: content type %q", tt.path, ct)
		}
		checkPage(t, tt.path, body)
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %q", tt.path, w)
			}
		}
		if !strings.Contains(body, "v-dash") {
			t.Errorf("%s does not show the version", tt.path)
		}
	}
	for _, p := range []string{"/_sandbox/nothing-here", "/_sandbox/objects/khipu/nope", "/_sandbox/journal/999", "/_sandbox/journal/x", "/_sandbox/demo/orders/nope"} {
		code, body, _ := get(t, h, p)
		if code != 404 || !strings.Contains(body, "<h1>") {
			t.Errorf("%s: %d, want an HTML 404 page", p, code)
		}
	}
	if code, body, _ := get(t, h, "/_sandbox/objects/stripe/x"); code != 404 || !strings.Contains(body, "unknown provider") {
		t.Errorf("unknown provider: %d %s", code, body)
	}
	// The admin API keeps its JSON 404 next to the pages' HTML one.
	if code, body, _ := get(t, h, "/_sandbox/api/nothing"); code != 404 || !strings.Contains(body, `"kind":"not_found"`) {
		t.Errorf("admin API 404 = %d %s", code, body)
	}
	for _, asset := range []string{"/_sandbox/static/dashboard.js", "/_sandbox/static/sandbox.css"} {
		if code, body, _ := get(t, h, asset); code != 200 || len(body) < 1000 {
			t.Errorf("%s = %d (%d bytes)", asset, code, len(body))
		}
	}
}

// TestDashboardLogin: the token is posted, never put in the address bar;
// a right one sets the cookie and goes back to the page asked for, a wrong
// or empty one brings the form back saying so, and only dashboard paths
// are followed after the login.
func TestDashboardLogin(t *testing.T) {
	sb := dashSandbox(t, func(c *sandbox.Config) { c.AdminToken = "s3cret" }, sandbox.Options{})
	h := sb.Handler()
	code, body, _ := get(t, h, "/_sandbox/journal?kind=request")
	if code != 401 || !strings.Contains(body, `method="post" action="/_sandbox/login"`) ||
		!strings.Contains(body, `name="next" value="/_sandbox/journal?kind=request"`) || strings.Contains(body, "login-error") {
		t.Fatalf("prompt: %d\n%s", code, body)
	}
	tests := []struct {
		token, next string
		code        int
		location    string
		says        string
	}{
		{"s3cret", "/_sandbox/journal?kind=request", 303, "/_sandbox/journal?kind=request", ""},
		{"wrong", "/_sandbox/clock", 401, "", "not this sandbox&#39;s admin token"},
		{"", "/_sandbox/clock", 401, "", "Enter the admin token"},
		{"s3cret", "https://evil.example/", 303, "/_sandbox/", ""},
		{"s3cret", "//evil.example/_sandbox", 303, "/_sandbox/", ""},
	}
	for _, tt := range tests {
		rec := postForm(t, h, "/_sandbox/login", url.Values{"token": {tt.token}, "next": {tt.next}})
		if rec.Code != tt.code || rec.Header().Get("Location") != tt.location || !strings.Contains(rec.Body.String(), tt.says) {
			t.Errorf("login %q → %q: %d %q\n%s", tt.token, tt.next, rec.Code, rec.Header().Get("Location"), rec.Body.String())
		}
		cookie := strings.Contains(rec.Header().Get("Set-Cookie"), "sandbox_token=s3cret")
		if cookie != (tt.code == 303) {
			t.Errorf("login %q: cookie set = %v", tt.token, cookie)
		}
	}
	if code, body, _ := get(t, h, "/_sandbox/clock", "Cookie: sandbox_token=old"); code != 401 || !strings.Contains(body, "no longer") {
		t.Errorf("a stale cookie: %d, want 401 saying the saved token is wrong", code)
	}
}

func TestDashboardTokenGuardsEveryPage(t *testing.T) {
	sb := dashSandbox(t, func(c *sandbox.Config) { c.AdminToken = "s3cret" }, sandbox.Options{})
	h := sb.Handler()
	pages := []string{"/_sandbox/", "/_sandbox/journal", "/_sandbox/journal/1", "/_sandbox/objects/khipu/x", "/_sandbox/scenarios",
		"/_sandbox/accounts", "/_sandbox/clock", "/_sandbox/demo", "/_sandbox/demo/orders/x", "/_sandbox/demo/orders/x/status"}
	for _, p := range pages {
		if code, body, _ := get(t, h, p); code != 401 || !strings.Contains(body, "Admin token needed") {
			t.Errorf("%s without a token: %d", p, code)
		}
		if code, _, _ := get(t, h, p, "Cookie: sandbox_token=s3cret"); code == 401 {
			t.Errorf("%s with the cookie: 401", p)
		}
		if code, _, _ := get(t, h, p, "Cookie: sandbox_token=wrong"); code != 401 {
			t.Errorf("%s with a wrong cookie: %d", p, code)
		}
	}
	forms := []string{"/_sandbox/objects/khipu/x/actions/pay", "/_sandbox/callbacks/cb1/resend", "/_sandbox/scenarios",
		"/_sandbox/scenarios/active", "/_sandbox/clock/advance", "/_sandbox/reset", "/_sandbox/demo/checkout"}
	for _, p := range forms {
		if rec := postForm(t, h, p, url.Values{"by": {"1h"}}); rec.Code != 401 {
			t.Errorf("POST %s without a token: %d", p, rec.Code)
		}
	}
	if sb.Clock().Offset() != 0 {
		t.Errorf("an unauthenticated form moved the clock")
	}
	// An old ?token= bookmark sets the cookie and redirects to the clean URL.
	rec := sandboxtest.Do(h, sandboxtest.Request("GET", "/_sandbox/journal?kind=request&token=s3cret", ""))
	if rec.Code != 303 || rec.Header().Get("Location") != "/_sandbox/journal?kind=request" ||
		!strings.Contains(rec.Header().Get("Set-Cookie"), "sandbox_token=s3cret") {
		t.Errorf("?token: %d %v", rec.Code, rec.Header())
	}
	if code, body, _ := get(t, h, "/_sandbox/journal?token=wrong"); code != 401 || !strings.Contains(body, "not this sandbox") {
		t.Errorf("a wrong ?token: %d, want 401 saying so", code)
	}
	for _, p := range []string{"/_sandbox/api/events?since=1", "/_sandbox/api/objects"} {
		if p == "/_sandbox/api/events?since=1" {
			continue // a stream: covered by the browser tests
		}
		if code, _, _ := get(t, h, p, "Cookie: sandbox_token=s3cret"); code != 200 {
			t.Errorf("%s with the cookie: %d", p, code)
		}
	}
	// The shop's callback endpoints are a merchant's: no token, signatures.
	for _, p := range []string{"/_sandbox/demo/callbacks/khipu", "/_sandbox/demo/callbacks/hambit", "/_sandbox/demo/callbacks/payu"} {
		if rec := postForm(t, h, p, url.Values{"x": {"1"}}); rec.Code == 401 || rec.Code == 200 {
			t.Errorf("POST %s with a bogus body: %d, want a merchant's 4xx", p, rec.Code)
		}
	}
}

// signatureEntry journals a rejected Khipu request as the provider does.
func signatureEntry(sb *sandbox.Sandbox) journal.Entry {
	return sb.Journal().Add(journal.Entry{Kind: journal.KindRequest, Provider: "khipu", Objects: []string{"gqzdy6chjne9"},
		Summary: "create payment: POST /api/2.0/payments → 403 (signature rejected)",
		Request: &journal.Exchange{Method: "POST", Path: "/khipu/api/2.0/payments", Host: "127.0.0.1:8080", Status: 403,
			RequestHeaders: map[string][]string{"Content-Type": {"application/x-www-form-urlencoded"}, "Authorization": {"123456:deadbeef"}},
			RequestBody:    "subject=Compra+de+prueba&amount=1570&currency=CLP",
			ResponseHeaders: map[string][]string{"Content-Type": {"application/json"},
				"X-Sandbox-String-To-Sign": {"POST&http%3A%2F%2F127.0.0.1%3A8080%2Fkhipu%2Fapi%2F2.0%2Fpayments&amount=1570"}},
			ResponseBody: `{"status":403,"message":"Error de autorización: firma inválida"}`,
			Error:        "signature mismatch for every candidate URL",
			Signature: &journal.Signature{Verdict: journal.VerdictRejected, Scheme: "HMAC-SHA256 hex (Khipu API 2.0)",
				Received: "deadbeef00", Expected: "deadbe11ff",
				Candidates: []journal.Candidate{
					{Name: "request URL", StringToSign: "POST&http%3A%2F%2F127.0.0.1%3A8080%2Fkhipu%2Fapi%2F2.0%2Fpayments&amount=1570&currency=CLP&subject=Compra%20de%20prueba", Signature: "deadbe11ff"},
					{Name: "production URL", StringToSign: "POST&https%3A%2F%2Fkhipu.com%2Fapi%2F2.0%2Fpayments&amount=1570&currency=CLP&subject=Compra%20de%20prueba", Signature: "0a0b0c"},
				}}}})
}

func TestJournalShowsSignatureDiagnosticsSideBySide(t *testing.T) {
	sb := dashSandbox(t, nil, sandbox.Options{})
	h := sb.Handler()
	e := signatureEntry(sb)
	sb.Journal().Add(journal.Entry{Kind: journal.KindNote, Provider: "hambit", Summary: "email not sent (not emulated)", Data: map[string]string{"why": "no smtp"}})
	code, body, _ := get(t, h, "/_sandbox/journal/"+strconv.FormatUint(e.ID, 10))
	if code != 200 {
		t.Fatalf("entry page = %d", code)
	}
	checkPage(t, "entry", body)
	for _, want := range []string{
		"Signature <span class=\"badge bad\">rejected</span>", "HMAC-SHA256 hex (Khipu API 2.0)",
		`<pre class="sig" id="sig-received">deadbeef00</pre>`, `<pre class="sig" id="sig-expected">deadbe11ff</pre>`,
		"Two different signatures of the same length",
		"request URL", "production URL", "No candidate matched",
		"POST&amp;http%3A%2F%2F127.0.0.1%3A8080%2Fkhipu%2Fapi%2F2.0%2Fpayments&amp;amount=1570&amp;currency=CLP&amp;subject=Compra%20de%20prueba",
		`<pre class="sts" id="cand-1" data-candidate="1">POST&amp;https%3A%2F%2Fkhipu.com`, `id="mine"`,
		"signature mismatch for every candidate URL", "Form fields, decoded", "<th scope=\"row\">subject</th><td><code class=\"wrap\">Compra de prueba</code>",
		"firma inválida", `href="/_sandbox/objects/khipu/gqzdy6chjne9"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("entry page lacks %q", want)
		}
	}
	code, body, _ = get(t, h, "/_sandbox/journal?kind=request&verdict=rejected")
	if code != 200 || !strings.Contains(body, "signature rejected") || strings.Contains(body, "email not sent") {
		t.Errorf("rejected filter: %d", code)
	}
	code, body, _ = get(t, h, "/_sandbox/journal?provider=hambit")
	if code != 200 || !strings.Contains(body, "email not sent") || strings.Contains(body, "create payment") {
		t.Errorf("provider filter: %d", code)
	}
	// Paging: 120 notes, 50 a page, the "Older" link goes on from the last id shown.
	for i := 0; i < 120; i++ {
		sb.Journal().Add(journal.Entry{Kind: journal.KindNote, Provider: "payu", Summary: "note " + strconv.Itoa(i)})
	}
	_, body, _ = get(t, h, "/_sandbox/journal?provider=payu")
	older := regexp.MustCompile(`href="(/_sandbox/journal\?before=\d+&amp;provider=payu)" rel="next"`).FindStringSubmatch(body)
	if older == nil || !strings.Contains(body, ">note 119<") || strings.Contains(body, ">note 69<") {
		t.Fatalf("first journal page: no older link or wrong entries")
	}
	_, body, _ = get(t, h, strings.ReplaceAll(older[1], "&amp;", "&"))
	if !strings.Contains(body, ">note 69<") || strings.Contains(body, ">note 70<") || !strings.Contains(body, "« Newest") {
		t.Errorf("second journal page wrong")
	}
}

func TestScenarioUploadWithoutScriptShowsProblemsInline(t *testing.T) {
	sb := dashSandbox(t, nil, sandbox.Options{})
	h := sb.Handler()
	broken := "name: broken\nrules:\n  - provider: khipu\n    on: pay\n    then: {outcome: aprove}\n"
	rec := postForm(t, h, "/_sandbox/scenarios", url.Values{"yaml": {broken}})
	body := rec.Body.String()
	if rec.Code != 400 || !strings.Contains(body, "The scenario was not loaded") || !strings.Contains(body, `data-line="5"`) ||
		!strings.Contains(body, "did you mean &#34;approve&#34;") || !strings.Contains(body, "then: {outcome: aprove}") {
		t.Errorf("broken upload = %d", rec.Code)
	}
	rec = postForm(t, h, "/_sandbox/scenarios", url.Values{"yaml": {"name: mine\nrules:\n  - {provider: khipu, on: pay, then: {outcome: abandon}}\n"}})
	if rec.Code != 303 || !strings.Contains(rec.Header().Get("Location"), "ok=scenario+mine+uploaded") {
		t.Errorf("upload = %d %s", rec.Code, rec.Header().Get("Location"))
	}
	rec = postForm(t, h, "/_sandbox/scenarios/active", url.Values{"name": {"mine"}})
	if rec.Code != 303 || sb.Scenarios().Active() != "mine" {
		t.Errorf("activate = %d, active %q", rec.Code, sb.Scenarios().Active())
	}
	_, body, _ = get(t, h, "/_sandbox/scenarios?ok=x")
	if !strings.Contains(body, `id="active-scenario">mine<`) || !strings.Contains(body, `<tr class="current" data-scenario="mine">`) {
		t.Errorf("the scenarios page does not show mine as active")
	}
	rec = postForm(t, h, "/_sandbox/scenarios/active", url.Values{"name": {"nope"}})
	if loc := rec.Header().Get("Location"); rec.Code != 303 || !strings.Contains(loc, "err=") {
		t.Errorf("activating an unknown scenario: %d %s", rec.Code, loc)
	}
}

func TestClockAndResetFormsWithoutScript(t *testing.T) {
	sb := dashSandbox(t, nil, sandbox.Options{})
	h := sb.Handler()
	rec := postForm(t, h, "/_sandbox/clock/advance", url.Values{"by": {"1d2h"}, "return": {"/_sandbox/clock"}})
	if rec.Code != 303 || sb.Clock().Offset() != 26*time.Hour || !strings.HasPrefix(rec.Header().Get("Location"), "/_sandbox/clock?ok=") {
		t.Errorf("advance = %d %s, offset %v", rec.Code, rec.Header().Get("Location"), sb.Clock().Offset())
	}
	rec = postForm(t, h, "/_sandbox/clock/advance", url.Values{"by": {"soon"}, "return": {"https://evil.example/"}})
	if loc := rec.Header().Get("Location"); rec.Code != 303 || !strings.HasPrefix(loc, "/_sandbox/clock?err=") {
		t.Errorf("bad advance = %d %s", rec.Code, loc)
	}
	_, body, _ := get(t, h, "/_sandbox/clock")
	if !strings.Contains(body, `<dd id="clock-offset">26h0m0s</dd>`) || !strings.Contains(body, "(+1d 2h)") {
		t.Errorf("clock page does not show the offset")
	}
	sb.Journal().Add(journal.Entry{Kind: journal.KindNote, Provider: "khipu", Summary: "k"})
	sb.Journal().Add(journal.Entry{Kind: journal.KindNote, Provider: "payu", Summary: "p"})
	postForm(t, h, "/_sandbox/reset", url.Values{"provider": {"khipu"}})
	if es := sb.Journal().List(journal.Filter{}); len(es) != 1 || es[0].Provider != "payu" {
		t.Errorf("after a khipu reset the journal holds %d entries", len(es))
	}
	rec = postForm(t, h, "/_sandbox/reset", url.Values{"provider": {""}})
	if es := sb.Journal().List(journal.Filter{}); rec.Code != 303 || len(es) != 0 {
		t.Errorf("full reset = %d, %d entries left", rec.Code, len(es))
	}
}

// An object with a storm of callback attempts (a dead merchant, duplicates,
// resends) still gets a page under the budget: the newest deliveries, each
// with its first and latest attempts, and a link to all of them.
func TestObjectPageStaysSmallWithManyCallbacks(t *testing.T) {
	sb := dashSandbox(t, nil, sandbox.Options{})
	answer := strings.Repeat("<html>merchant error page</html>", 128) // 4 KiB, as journaled
	for d := 0; d < 30; d++ {
		for a := 1; a <= 20; a++ {
			sb.Journal().Add(journal.Entry{Kind: journal.KindCallback, Provider: "hambit", Objects: []string{"SBXFAKE1"},
				Summary: "balance attempt", Callback: &journal.Attempt{Delivery: "cb" + strconv.Itoa(d), Event: "event " + strconv.Itoa(d), Attempt: a,
					URL: "http://merchant.example/hook", Method: "POST", RequestBody: strings.Repeat("x", 2000), Status: 500,
					ResponseBody: answer, Outcome: journal.OutcomeFailed, Error: "HTTP 500 does not acknowledge"}})
		}
	}
	code, body, _ := get(t, sb.Handler(), "/_sandbox/objects/hambit/SBXFAKE1")
	if code != 200 {
		t.Fatalf("object page: %d", code)
	}
	checkPage(t, "object with 600 callback attempts", body)
	t.Logf("object page with 600 callback attempts: %d bytes", len(body))
	for _, want := range []string{"25 older deliveries are not shown", "10 attempts between the second and the latest ones are not shown",
		`href="/_sandbox/journal?kind=callback&amp;object=SBXFAKE1"`, ">event 29 <", ">#20</a>", ">#1</a>", ">#2</a>"} {
		if !strings.Contains(body, want) {
			t.Errorf("object page lacks %q", want)
		}
	}
	if strings.Contains(body, ">#3</a>") || strings.Contains(body, ">event 24 <") {
		t.Error("the page shows what it should leave out")
	}
}

// The largest entry the journal keeps (16 KiB bodies each way, long
// canonical strings) still gets a page under the budget.
func TestEntryPageStaysSmallForTheLargestEntry(t *testing.T) {
	sb := dashSandbox(t, nil, sandbox.Options{})
	form := "subject=" + strings.Repeat("a", 16<<10-8)
	sts := "POST&http%3A%2F%2F127.0.0.1%2Fkhipu%2Fapi%2F2.0%2Fpayments&subject=" + strings.Repeat("a", 16<<10)
	e := sb.Journal().Add(journal.Entry{Kind: journal.KindRequest, Provider: "khipu", Summary: "create payment",
		Request: &journal.Exchange{Method: "POST", Path: "/khipu/api/2.0/payments", Status: 403,
			RequestHeaders: map[string][]string{"Content-Type": {"application/x-www-form-urlencoded"}}, RequestBody: form,
			ResponseHeaders: map[string][]string{"Content-Type": {"application/json"}}, ResponseBody: `{"a":"` + strings.Repeat("b", 16<<10-8) + `"}`,
			Signature: &journal.Signature{Verdict: journal.VerdictRejected, Received: "x", Expected: "y",
				Candidates: []journal.Candidate{{Name: "one", StringToSign: sts}, {Name: "two", StringToSign: sts}, {Name: "three", StringToSign: sts}}}}})
	code, body, _ := get(t, sb.Handler(), "/_sandbox/journal/"+strconv.FormatUint(e.ID, 10))
	if code != 200 {
		t.Fatalf("entry page: %d", code)
	}
	t.Logf("largest entry page: %d bytes", len(body))
	checkPage(t, "largest entry", body)
	if !strings.Contains(body, "Cut at 8.0 KiB of 16.1 KiB") || !strings.Contains(body, `/_sandbox/api/journal?before=`+strconv.FormatUint(e.ID+1, 10)+`&amp;limit=1`) {
		t.Error("the cut candidates do not say so")
	}
	code, api, _ := get(t, sb.Handler(), "/_sandbox/api/journal?before="+strconv.FormatUint(e.ID+1, 10)+"&limit=1")
	if code != 200 || !strings.Contains(api, `"id":`+strconv.FormatUint(e.ID, 10)+`,`) {
		t.Errorf("the admin API link does not give the entry: %d", code)
	}
}
