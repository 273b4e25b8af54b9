package sandbox_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/paysandbox/sandbox/emulators/internal/callback"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/sandboxtest"
	"github.com/paysandbox/sandbox/emulators/sandbox"
)

func newSandbox(t testing.TB, mutate func(*sandbox.Config), opt sandbox.Options) *sandbox.Sandbox {
	t.Helper()
	cfg := sandbox.DefaultConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	sb, err := sandbox.New(cfg, nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close(context.Background()) })
	return sb
}

func do(t testing.TB, h http.Handler, method, target, body string, headers ...string) (int, string, http.Header) {
	t.Helper()
	rec := sandboxtest.Do(h, sandboxtest.Request(method, target, body, headers...))
	return rec.Code, rec.Body.String(), rec.Header()
}

func TestHealthz(t *testing.T) {
	sb := newSandbox(t, nil, sandbox.Options{Version: "v-test"})
	code, body, _ := do(t, sb.Handler(), "GET", "/healthz", "")
	if code != 200 || !strings.Contains(body, `"status":"ok"`) || !strings.Contains(body, "v-test") {
		t.Errorf("healthz = %d %s", code, body)
	}
}

func TestHostRouting(t *testing.T) {
	sb := newSandbox(t, nil, sandbox.Options{})
	h := sb.Handler()
	// Paths of the sandbox itself work under a provider's host.
	if code, _, _ := do(t, h, "GET", "http://khipu.com/healthz", ""); code != 200 {
		t.Errorf("/healthz under Host khipu.com = %d", code)
	}
	if code, _, _ := do(t, h, "GET", "http://API.PayULatam.com:443/_sandbox/api/info", ""); code != 200 {
		t.Errorf("/_sandbox/api/info under a PayU host = %d", code)
	}
	// A production path on a provider host reaches that provider's tree.
	for _, c := range []struct{ host, path, provider string }{
		{"khipu.com", "/api/2.0/nothing-here", "khipu"},
		{"Payment-API.khipu.com:8443", "/v3/nothing-here", "khipu"},
		{"t-apis.hambit.co", "/api/v3/chl/nothing-here", "hambit"},
		{"sandbox.api.payulatam.com", "/nothing-here", "payu"},
	} {
		do(t, h, "GET", "http://"+c.host+c.path, "")
		es := sb.Journal().List(journal.Filter{Kinds: []journal.Kind{journal.KindRequest}, Limit: 1})
		if len(es) == 0 || es[0].Provider != c.provider || es[0].Request.Path != c.path {
			t.Errorf("Host %s %s: journaled as %+v", c.host, c.path, es)
		}
	}
	// An unknown host keeps the prefixed layout only.
	if code, body, _ := do(t, h, "GET", "http://example.com/api/2.0/banks", ""); code != 404 || !strings.Contains(body, `"kind":"not_found"`) {
		t.Errorf("unprefixed path on an unknown host = %d %s", code, body)
	}
}

func TestAdminErrorsAndToken(t *testing.T) {
	sb := newSandbox(t, func(c *sandbox.Config) { c.AdminToken = "s3cret" }, sandbox.Options{})
	h := sb.Handler()
	code, body, _ := do(t, h, "GET", "/_sandbox/api/objects", "")
	if code != 401 || !strings.Contains(body, `"kind":"unauthorized"`) {
		t.Errorf("no token: %d %s", code, body)
	}
	if code, _, _ := do(t, h, "GET", "/_sandbox/api/objects", "", "Authorization: Bearer s3cret"); code != 200 {
		t.Errorf("with the token: %d", code)
	}
	if code, _, _ := do(t, h, "GET", "/_sandbox/api/events?token=wrong", ""); code != 401 {
		t.Errorf("wrong query token: %d", code)
	}
	if code, _, _ := do(t, h, "GET", "/_sandbox/", ""); code != 401 {
		t.Errorf("dashboard without token: %d", code)
	}
	rec := sandboxtest.Do(h, sandboxtest.Request("GET", "/_sandbox/?token=s3cret", ""))
	if rec.Code != 303 || rec.Header().Get("Location") != "/_sandbox/" || !strings.Contains(rec.Header().Get("Set-Cookie"), "sandbox_token=s3cret") {
		t.Errorf("dashboard with ?token: %d %v", rec.Code, rec.Header())
	}
	auth := "Authorization: Bearer s3cret"
	tests := []struct {
		method, path, body string
		code               int
		kind               string
	}{
		{"GET", "/_sandbox/api/objects/nope/x", "", 404, "not_found"},
		{"GET", "/_sandbox/api/objects/khipu/unknown-id", "", 404, "not_found"},
		{"POST", "/_sandbox/api/objects/khipu/x/actions/pay", "[1,2]", 400, "invalid"},
		{"POST", "/_sandbox/api/callbacks/cb0000042/resend", "", 404, "not_found"},
		{"POST", "/_sandbox/api/clock/advance", `{"by":"-1h"}`, 400, "invalid"},
		{"POST", "/_sandbox/api/clock/advance", `{"by":"soon"}`, 400, "invalid"},
		{"PUT", "/_sandbox/api/scenarios/active", `{"name":"nope"}`, 404, "not_found"},
		{"POST", "/_sandbox/api/reset", `{"provider":"stripe"}`, 404, "not_found"},
		{"GET", "/_sandbox/api/nothing", "", 404, "not_found"},
		{"GET", "/_sandbox/api/objects?limit=x", "", 400, "invalid"},
	}
	for _, tt := range tests {
		code, body, _ := do(t, h, tt.method, tt.path, tt.body, auth)
		if code != tt.code || !strings.Contains(body, `"kind":"`+tt.kind+`"`) {
			t.Errorf("%s %s → %d %s, want %d %s", tt.method, tt.path, code, body, tt.code, tt.kind)
		}
	}
}

func TestScenarioAdmin(t *testing.T) {
	sb := newSandbox(t, nil, sandbox.Options{})
	h := sb.Handler()
	code, body, _ := do(t, h, "GET", "/_sandbox/api/scenarios", "")
	var list struct {
		Active    string `json:"active"`
		Scenarios []struct {
			Name, Source string
		} `json:"scenarios"`
	}
	json.Unmarshal([]byte(body), &list)
	names := map[string]bool{}
	for _, s := range list.Scenarios {
		names[s.Name] = s.Source == "builtin"
	}
	for _, want := range []string{"default", "ci-approve-all", "ci-reject-all", "slow-bank", "flaky-callbacks", "provider-outage"} {
		if !names[want] {
			t.Errorf("built-in %q missing from %s", want, body)
		}
	}
	if code != 200 || list.Active != "default" {
		t.Errorf("scenarios = %d, active %q", code, list.Active)
	}
	code, body, _ = do(t, h, "POST", "/_sandbox/api/scenarios", "name: broken\nrules:\n  - {provider: khipu, on: pay, then: {outcome: aprove}}\n")
	if code != 400 || !strings.Contains(body, `"problems":[{`) || !strings.Contains(body, `did you mean \"approve\"`) {
		t.Errorf("broken upload = %d %s", code, body)
	}
	code, _, _ = do(t, h, "POST", "/_sandbox/api/scenarios", "name: mine\nrules:\n  - {provider: khipu, on: pay, then: {outcome: abandon}}\n")
	if code != 201 {
		t.Errorf("upload = %d", code)
	}
	code, body, _ = do(t, h, "PUT", "/_sandbox/api/scenarios/active", `{"name":"mine"}`)
	if code != 200 || !strings.Contains(body, `"active":"mine"`) || sb.Scenarios().Active() != "mine" {
		t.Errorf("activate = %d %s", code, body)
	}
}

func TestClockAdvanceAndReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sb := newSandbox(t, nil, sandbox.Options{})
		h := sb.Handler()
		fired := make(chan time.Time, 1)
		sb.Clock().After(72*time.Hour, func() { fired <- sb.Clock().Now() })
		code, body, _ := do(t, h, "POST", "/_sandbox/api/clock/advance", `{"by":"3d"}`)
		if code != 200 || !strings.Contains(body, `"offset":"72h0m0s"`) {
			t.Fatalf("advance = %d %s", code, body)
		}
		select {
		case <-fired:
		default:
			t.Fatal("the 72h timer had not fired when the advance answered")
		}
		sb.Journal().Add(journal.Entry{Kind: journal.KindNote, Provider: "khipu"})
		sb.Journal().Add(journal.Entry{Kind: journal.KindNote, Provider: "payu"})
		do(t, h, "POST", "/_sandbox/api/reset", `{"provider":"khipu"}`)
		if es := sb.Journal().List(journal.Filter{}); len(es) != 1 || es[0].Provider != "payu" {
			t.Errorf("after a khipu reset the journal holds %+v", es)
		}
		do(t, h, "POST", "/_sandbox/api/reset", "")
		if es := sb.Journal().List(journal.Filter{}); len(es) != 0 {
			t.Errorf("after a full reset the journal holds %d entries", len(es))
		}
	})
}

func TestCallbacksListAndResendThroughAdmin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := sandboxtest.NewMerchant()
		sb := newSandbox(t, nil, sandbox.Options{CallbackClient: m.Client()})
		id := sb.Dispatcher().Send(callback.Delivery{Provider: "hambit", Objects: []string{"o1"}, Event: "paid",
			URL: "http://merchant.local/cb", Body: []byte(`{"x":1}`), Ack: callback.ExactlyOK})
		m.Next(t, time.Second)
		synctest.Wait()
		h := sb.Handler()
		code, body, _ := do(t, h, "GET", "/_sandbox/api/callbacks?provider=hambit", "")
		if code != 200 || !strings.Contains(body, `"delivery":"`+id+`"`) || !strings.Contains(body, `"outcome":"acknowledged"`) {
			t.Errorf("callbacks = %d %s", code, body)
		}
		// Filters combine: each one given must hold.
		for q, want := range map[string]int{
			"outcome=acknowledged&delivery=" + id: 1,
			"outcome=failed&delivery=" + id:       0,
			"outcome=acknowledged&delivery=cb999": 0,
		} {
			code, body, _ := do(t, h, "GET", "/_sandbox/api/callbacks?"+q, "")
			var page struct{ Entries []journal.Entry }
			if err := json.Unmarshal([]byte(body), &page); code != 200 || err != nil || len(page.Entries) != want {
				t.Errorf("callbacks?%s = %d, %d entries; want %d", q, code, len(page.Entries), want)
			}
		}
		code, _, _ = do(t, h, "POST", "/_sandbox/api/callbacks/"+id+"/resend", "")
		if code != 202 {
			t.Errorf("resend = %d", code)
		}
		if got := m.Next(t, time.Second); string(got.Body) != `{"x":1}` {
			t.Errorf("resent body %s", got.Body)
		}
	})
}

func TestEventsStreamReplaysAndFollows(t *testing.T) {
	sb := newSandbox(t, nil, sandbox.Options{})
	srv := httptest.NewServer(sb.Handler())
	defer srv.Close()
	first := sb.Journal().Add(journal.Entry{Kind: journal.KindNote, Summary: "before"})
	sb.Journal().Add(journal.Entry{Kind: journal.KindNote, Summary: "missed"})
	req, _ := http.NewRequest("GET", srv.URL+"/_sandbox/api/events", nil)
	req.Header.Set("Last-Event-ID", itoa(first.ID))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("content type %q", ct)
	}
	r := bufio.NewReader(resp.Body)
	want := []string{`"summary":"missed"`, `"summary":"live"`}
	for i, w := range want {
		if i == 1 {
			sb.Journal().Add(journal.Entry{Kind: journal.KindNote, Summary: "live"})
		}
		if !readUntil(t, r, w) {
			t.Fatalf("event %s not received", w)
		}
	}
	sb.BeginShutdown()
	io.Copy(io.Discard, r) // the stream ends at shutdown
}

func readUntil(t *testing.T, r *bufio.Reader, substr string) bool {
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return false
		}
		if strings.HasPrefix(line, "data:") && strings.Contains(line, substr) {
			return true
		}
	}
}

func itoa(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestConfigFileStrictErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown top-level key", "adr: x\n", `sandbox.yaml:1: unknown key "adr" (did you mean "addr"?)`},
		{"unknown nested key", "khipu:\n  hostz: [a]\n", `sandbox.yaml:2: khipu: unknown key "hostz" (did you mean "hosts"?)`},
		{"bad duration", "khipu:\n  callbacks:\n    timeout: 30\n", `sandbox.yaml:3: khipu.callbacks.timeout: bad duration "30"`},
		{"wrong type", "time_scale: fast\n", "sandbox.yaml:1"},
		{"malformed", "addr: [\n", "sandbox.yaml:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := sandbox.DefaultConfig()
			err := sandbox.DecodeConfig("sandbox.yaml", []byte(tt.yaml), &cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	cfg := sandbox.DefaultConfig()
	if err := sandbox.DecodeConfig("sandbox.yaml", []byte("time_scale: 0.5\nseed: 7\n"), &cfg); err != nil || cfg.TimeScale != 0.5 || *cfg.Seed != 7 || cfg.Addr != sandbox.DefaultAddr {
		t.Errorf("valid file: %v %+v", err, cfg)
	}
}
