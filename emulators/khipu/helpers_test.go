package khipu

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/sandboxtest"
)

// testHost is the Host of requests in tests (the client's view of the sandbox).
const testHost = "127.0.0.1:8080"

// kenv is a Khipu service on the shared test core, served the way the
// sandbox serves it (prefix layout and host routing).
type kenv struct {
	t   testing.TB
	env *sandboxtest.Env
	svc *Service
	h   http.Handler
}

type envOption func(*sandboxtest.Options, *Config)

func withScenario(yaml string) envOption {
	return func(o *sandboxtest.Options, _ *Config) { o.Scenarios = append(o.Scenarios, yaml) }
}

func withActive(name string) envOption {
	return func(o *sandboxtest.Options, _ *Config) { o.Active = name }
}

func withConfig(f func(*Config)) envOption {
	return func(_ *sandboxtest.Options, c *Config) { f(c) }
}

func withOptions(f func(*sandboxtest.Options)) envOption {
	return func(o *sandboxtest.Options, _ *Config) { f(o) }
}

// newKEnv builds the service; call it inside the synctest bubble when the
// test uses one.
func newKEnv(t testing.TB, opts ...envOption) *kenv {
	t.Helper()
	o := sandboxtest.Options{}
	cfg := DefaultConfig()
	for _, f := range opts {
		f(&o, &cfg)
	}
	env := sandboxtest.New(t, provider, o)
	svc, err := New(cfg, env.Deps)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(svc.Close)
	return &kenv{t: t, env: env, svc: svc, h: env.Mount(provider, svc.Register, cfg.Hosts...)}
}

// req builds a request as a client on testHost sends it (origin-form path).
func req(method, path, body string, headers ...string) *http.Request {
	r := sandboxtest.Request(method, path, body, headers...)
	r.Host = testHost
	// A real server canonicalizes header names (x-api-key → X-Api-Key).
	h := http.Header{}
	for k, vs := range r.Header {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	r.Header = h
	return r
}

// do sends r and returns the answer.
func (k *kenv) do(r *http.Request) *httptest.ResponseRecorder {
	return sandboxtest.Do(k.h, r)
}

// v2 sends a signed API 2.0 request for the default receiver: params go in
// the query for GET/DELETE and in a form body otherwise.
func (k *kenv) v2(method, path string, params url.Values, headers ...string) *httptest.ResponseRecorder {
	return k.do(signedV2(DefaultSecret, DefaultReceiverID, method, path, params, headers...))
}

// signedV2 builds an API 2.0 request signed the way the official clients
// sign it (candidate 1: http://testHost + path).
func signedV2(secret string, receiverID int64, method, path string, params url.Values, headers ...string) *http.Request {
	target, body := path, ""
	if len(params) > 0 {
		if method == http.MethodGet || method == http.MethodDelete {
			target += "?" + params.Encode()
		} else {
			body = params.Encode()
		}
	}
	auth := SignRequest(secret, receiverID, method, "http://"+testHost+strings.SplitN(path, "?", 2)[0], params)
	hs := append([]string{"Authorization: " + auth}, headers...)
	if body != "" {
		hs = append(hs, "Content-Type: application/x-www-form-urlencoded")
	}
	return req(method, target, body, hs...)
}

// v3 sends an API 3.0 request with the default API key.
func (k *kenv) v3(method, path, body string, headers ...string) *httptest.ResponseRecorder {
	hs := append([]string{"x-api-key: " + DefaultAPIKey, "Content-Type: application/json"}, headers...)
	return k.do(req(method, path, body, hs...))
}

// createV2 creates a payment through API 2.0 and returns its id.
func (k *kenv) createV2(params url.Values, headers ...string) string {
	k.t.Helper()
	rec := k.v2(http.MethodPost, "/khipu/api/2.0/payments", params, headers...)
	if rec.Code != http.StatusOK {
		k.t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	var out createResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		k.t.Fatalf("create response %s: %v", rec.Body, err)
	}
	return out.PaymentID
}

// basicPayment is a valid create with a notify URL.
func basicPayment() url.Values {
	return url.Values{
		"subject": {"Compra de prueba"}, "currency": {"CLP"}, "amount": {"1570"}, "transaction_id": {"ORD-1"},
		"return_url": {"http://shop.test/return"}, "cancel_url": {"http://shop.test/cancel"},
		"notify_url": {"http://shop.test/notify"}, "notify_api_version": {"1.3"},
	}
}

// payment reads a payment through API 2.0 as a map.
func (k *kenv) payment(id string) map[string]any {
	k.t.Helper()
	rec := k.v2(http.MethodGet, "/khipu/api/2.0/payments/"+id, nil)
	if rec.Code != http.StatusOK {
		k.t.Fatalf("GET payment %s: %d %s", id, rec.Code, rec.Body)
	}
	return decodeMap(k.t, rec.Body.Bytes())
}

func (k *kenv) stored(id string) Payment {
	k.t.Helper()
	p, ok := k.svc.payments.Get(id)
	if !ok {
		k.t.Fatalf("no payment %s", id)
	}
	return p
}

// advance moves the sandbox clock (firing due timers) by d.
func (k *kenv) advance(d time.Duration) {
	k.t.Helper()
	if err := k.env.Clock.Advance(d); err != nil {
		k.t.Fatal(err)
	}
}

func decodeMap(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return m
}

// wantStatus fails unless rec has the status.
func wantStatus(t testing.TB, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d; body %s", rec.Code, status, rec.Body)
	}
}

// wantBody fails unless the body is exactly want.
func wantBody(t testing.TB, rec *httptest.ResponseRecorder, status int, want string) {
	t.Helper()
	if rec.Code != status || rec.Body.String() != want {
		t.Fatalf("got %d %s\nwant %d %s", rec.Code, rec.Body, status, want)
	}
}

// journalEntries returns the journal's entries of a kind, oldest first.
func (k *kenv) journalEntries(kind journal.Kind) []journal.Entry {
	es := k.env.Journal.List(journal.Filter{Kinds: []journal.Kind{kind}, Limit: 10000})
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
	return es
}

type sandboxOptions = sandboxtest.Options
