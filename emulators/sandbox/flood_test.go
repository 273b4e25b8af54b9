package sandbox_test

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/paysandbox/sandbox/emulators/internal/callback"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/sandboxtest"
	"github.com/paysandbox/sandbox/emulators/khipu"
	"github.com/paysandbox/sandbox/emulators/sandbox"
)

// Issue #13, "nothing lost": a flood of the hostile cases against the admin
// API, the dashboard forms, the provider routes and the callback
// dispatcher, all at once, leaves the objects created before it, the
// clock, the active scenario and the built-ins exactly as they were.
func TestFloodLosesNothing(t *testing.T) {
	sb := newSandbox(t, nil, sandbox.Options{})
	srv := serve(t, sb)
	h := sb.Handler()
	const endpoint = "http://127.0.0.1/khipu/api/2.0/payments"
	for i := range 3 {
		p := url.Values{"subject": {fmt.Sprint("kept ", i)}, "amount": {"1000"}, "currency": {"CLP"}, "transaction_id": {fmt.Sprint("KEEP-", i)}}
		if code, body, _ := do(t, h, "POST", endpoint, p.Encode(), "Content-Type: application/x-www-form-urlencoded",
			"Authorization: "+khipu.SignRequest("sbx-khipu-secret-NOT-REAL", 123456, "POST", endpoint, p)); code != 200 {
			t.Fatalf("create: %d %s", code, body)
		}
	}
	snapshot := func() string {
		_, b, _ := do(t, h, "GET", "/_sandbox/api/objects?limit=1000", "")
		return b
	}
	before := snapshot()
	firstID := sb.Journal().List(journal.Filter{Limit: 1000})
	oldest := firstID[len(firstID)-1].ID

	padded := url.Values{"provider": {"payu"}, "pad": {strings.Repeat("x", 11<<20)}}.Encode()
	type hit struct {
		method, target, body string
		headers              []string
	}
	hits := []hit{
		{"POST", "/_sandbox/api/reset", "{}", []string{"Content-Type: text/plain"}},
		{"POST", "/_sandbox/api/reset", "{}", []string{"Content-Type: application/json", "Origin: http://localhost:3000"}},
		{"POST", "/_sandbox/api/reset", "{}", []string{"Content-Type: application/json", "Sec-Fetch-Site: cross-site"}},
		{"POST", "http://rebind.attacker.net/_sandbox/api/reset", "{}", []string{"Content-Type: application/json"}},
		{"POST", "/_sandbox/api/clock/advance", `{"by":"3h"}`, []string{"Content-Type: text/plain"}},
		{"PUT", "/_sandbox/api/scenarios/active", `{"name":"ci-reject-all"}`, []string{"Content-Type: text/plain"}},
		{"POST", "/_sandbox/api/scenarios", "name: default\nrules: []\n", []string{"Content-Type: application/yaml"}},
		{"POST", "/_sandbox/reset", padded, []string{"Content-Type: application/x-www-form-urlencoded"}},
		{"POST", "/_sandbox/reset", "provider=", []string{"Content-Type: application/x-www-form-urlencoded"}},
		{"POST", "/_sandbox/reset", "provider=&csrf=00", []string{"Content-Type: application/x-www-form-urlencoded", "Cookie: sandbox_session=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}},
		{"POST", "/_sandbox/clock/advance", "by=7d&%zz", []string{"Content-Type: application/x-www-form-urlencoded"}},
		{"POST", "/_sandbox/scenarios", multipartBody(3 << 20), []string{"Content-Type: multipart/form-data; boundary=BOUNDARY"}},
		{"POST", "/khipu/api/2.0/payments", strings.Repeat("a=b&", 3<<20), []string{"Content-Type: application/x-www-form-urlencoded", "Authorization: 123456:00"}},
		{"POST", "/hambit/api/v3/chl/collection/create", strings.Repeat("[", 1<<20), []string{"Content-Type: application/json"}},
		{"POST", "/payu/payments-api/4.0/service.cgi", "<r a=\"" + strings.Repeat("&amp;", 200_000) + "\"/>", []string{"Content-Type: application/xml"}},
		{"GET", "/_sandbox/api/info?token=x", "", nil},
	}
	var wg sync.WaitGroup
	for range 3 {
		for _, x := range hits {
			wg.Go(func() {
				rec := sandboxtest.Do(h, sandboxtest.Request(x.method, x.target, x.body, x.headers...))
				if rec.Code >= 500 {
					t.Errorf("%s %s = %d %.200s", x.method, x.target, rec.Code, rec.Body.String())
				}
			})
		}
	}
	for _, target := range []string{srv.URL + "/_sandbox/api/reset", srv.URL + "/_sandbox/reset", srv.URL + "/_sandbox/api/clock/advance"} {
		sb.Dispatcher().SendNow(callback.Delivery{Provider: "hambit", Event: "paid", URL: target,
			ContentType: "application/json", Body: []byte(`{"by":"3h"}`), Ack: callback.ExactlyOK})
	}
	wg.Wait()
	sb.Dispatcher().Close(t.Context())

	if after := snapshot(); after != before {
		t.Errorf("the objects changed:\nbefore %.500s\nafter  %.500s", before, after)
	}
	if sb.Clock().Offset() != 0 || sb.Scenarios().Active() != "default" {
		t.Errorf("clock offset %v, scenario %s", sb.Clock().Offset(), sb.Scenarios().Active())
	}
	if s, _ := sb.Scenarios().Lookup("default"); s.Source != "builtin" {
		t.Errorf("default scenario is now %s", s.Source)
	}
	if _, ok := sb.Journal().Get(oldest); !ok {
		t.Errorf("the journal lost its oldest entry %d: %+v", oldest, sb.Journal().Stats())
	}
}
