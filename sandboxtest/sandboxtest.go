// Package sandboxtest runs a whole paysandbox inside a Go test: Khipu,
// Hambit and PayU on a loopback port (real HTTP, so any client library
// works), with its own clock, state, random streams and a merchant endpoint
// that records every callback with its signature verdict.
//
//	sb := sandboxtest.New(t, sandboxtest.Scenario("ci-approve-all"))
//	// point the client at sb.Khipu.APIURL with sb.Khipu.ReceiverID and sb.Khipu.Secret,
//	// pass sb.Merchant.URL+"/notify" as notify_url, create a payment, then:
//	d, err := sb.AwaitCallback(ctx, paymentID)
//	// err == nil, d.Verdict == "ok", d.Body is the raw notification
//
// Sandboxes share nothing: many can run in parallel tests of one binary,
// under -race. Each is closed when its test ends.
//
// Inside a testing/synctest bubble there is no network: use InMemory, which
// serves the sandbox through Handler and delivers callbacks to the merchant
// in memory.
package sandboxtest

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/paysandbox/sandbox/emulators/testenv"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paysandbox/sandbox/emulators/sandbox"
)

// Option configures New.
type Option func(*settings)

type settings struct {
	cfg       sandbox.Config
	opt       sandbox.Options
	mutate    []func(*sandbox.Config)
	scenario  string
	configErr error
	inMemory  bool
}

// Scenario makes a scenario active: a built-in name ("ci-approve-all",
// "flaky-callbacks", …) or the YAML text of one (uploaded first).
func Scenario(nameOrYAML string) Option { return func(s *settings) { s.scenario = nameOrYAML } }

// TimeScale multiplies the waits the sandbox schedules (0.01: 100× faster).
func TimeScale(f float64) Option { return func(s *settings) { s.cfg.TimeScale = f } }

// Seed makes ids, tokens and probability draws deterministic (default 1).
func Seed(n int64) Option { return func(s *settings) { s.cfg.Seed = &n } }

// PublicURL is the base of every URL the sandbox hands out (default: the
// loopback URL of the sandbox).
func PublicURL(u string) Option { return func(s *settings) { s.cfg.PublicURL = u } }

// Config applies a configuration file's YAML text (the format of
// sandbox.yaml: accounts, callback schedules, provider settings).
func Config(yamlText string) Option {
	return func(s *settings) {
		if err := sandbox.DecodeConfig("sandboxtest.Config", []byte(yamlText), &s.cfg); err != nil {
			s.configErr = err
		}
	}
}

// Configure changes the configuration in Go, after Config.
func Configure(f func(*sandbox.Config)) Option {
	return func(s *settings) {
		if f != nil {
			s.mutate = append(s.mutate, f)
		}
	}
}

// CoreOptions sets the sandbox's Go-only options (journal sizes, version).
// A CallbackClient set here replaces the merchant's.
func CoreOptions(o sandbox.Options) Option { return func(s *settings) { s.opt = o } }

// InMemory opens no listener: requests go through Handler (or Do), and
// callbacks reach the Merchant in memory at MerchantInMemoryURL. It is the
// mode for testing/synctest bubbles.
func InMemory() Option { return func(s *settings) { s.inMemory = true } }

// MerchantInMemoryURL is the merchant's base URL in InMemory mode.
const MerchantInMemoryURL = "http://merchant.test"

// Sandbox is a running sandbox.
type Sandbox struct {
	// URL is the sandbox's base URL, e.g. http://127.0.0.1:41234 ("" with InMemory).
	URL    string
	Khipu  Khipu
	Hambit Hambit
	PayU   PayU
	// Merchant records the callbacks sent to it; pass Merchant.URL + any
	// path as the notify/callback/confirmation URL.
	Merchant *Merchant

	fatalf func(format string, args ...any)
	once   sync.Once
	sb     *sandbox.Sandbox
	srv    *httptest.Server
}

// Khipu holds what a Khipu client needs (the default receiver).
type Khipu struct {
	APIURL     string // API 2.0 base, e.g. http://127.0.0.1:41234/khipu/api/2.0
	V3URL      string // API 3.0 base (x-api-key)
	ReceiverID int64
	Secret     string
	APIKey     string
}

// Hambit holds what a Hambit client needs (the default account).
type Hambit struct {
	BaseURL   string // prefix of /api/v3/…
	AccessKey string
	SecretKey string
}

// PayU holds what a PayU client needs (the test merchant).
type PayU struct {
	PaymentsURL string // …/payments-api/4.0/service.cgi
	ReportsURL  string // …/reports-api/4.0/service.cgi
	MerchantID  string
	AccountID   string
	APILogin    string
	APIKey      string
}

// New starts a sandbox for the test; it is closed when the test ends.
func New(t testing.TB, opts ...Option) *Sandbox {
	t.Helper()
	s, err := start(opts)
	if err != nil {
		t.Fatalf("sandboxtest: %v", err)
	}
	s.fatalf = t.Fatalf
	t.Cleanup(s.Close)
	return s
}

// Start starts a sandbox outside a test (an Example, TestMain, a tool);
// Close it when done. Outside a test, the helpers that would fail the test
// panic instead.
func Start(opts ...Option) (*Sandbox, error) {
	s, err := start(opts)
	if err != nil {
		return nil, err
	}
	s.fatalf = func(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
	return s, nil
}

func start(opts []Option) (*Sandbox, error) {
	st := settings{cfg: sandbox.DefaultConfig()}
	one := int64(1)
	st.cfg.Seed = &one
	for _, o := range opts {
		o(&st)
	}
	if st.configErr != nil {
		return nil, st.configErr
	}
	for _, f := range st.mutate {
		f(&st.cfg)
	}
	yamlScenario := strings.Contains(st.scenario, "\n")
	if st.scenario != "" && !yamlScenario {
		st.cfg.Scenario = st.scenario
	}
	if err := st.cfg.Validate(); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	s := &Sandbox{}
	s.Merchant = newMerchant(s)
	if st.opt.CallbackClient == nil && st.inMemory {
		st.opt.CallbackClient = s.Merchant.Client()
	}
	sb, err := sandbox.New(st.cfg, nil, st.opt)
	if err != nil {
		return nil, err
	}
	s.sb = sb
	if !st.inMemory {
		s.srv = httptest.NewServer(sb.Handler())
		s.URL = s.srv.URL
		s.Merchant.serve()
	} else {
		s.Merchant.URL = MerchantInMemoryURL
	}
	if yamlScenario {
		sc, err := sb.Scenarios().Upload([]byte(st.scenario))
		if err == nil {
			err = sb.Scenarios().SetActive(sc.Name)
		}
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("scenario:\n%w", err)
		}
	}
	s.describe()
	return s, nil
}

// Close stops the sandbox and the merchant (New does it at the test's end).
func (s *Sandbox) Close() {
	s.once.Do(s.close)
}

func (s *Sandbox) close() {
	s.sb.BeginShutdown()
	if s.srv != nil {
		s.srv.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.sb.Close(ctx)
	s.Merchant.close()
}

// describe fills the providers' fields from the sandbox's own description.
func (s *Sandbox) describe() {
	for _, d := range s.sb.Describe(s.URL) {
		field := func(name string) string {
			if len(d.Credentials) == 0 {
				return ""
			}
			for _, f := range d.Credentials[0].Fields {
				if f.Name == name {
					return f.Value
				}
			}
			return ""
		}
		switch d.Provider {
		case "khipu":
			id, _ := strconv.ParseInt(field("receiver_id"), 10, 64)
			s.Khipu = Khipu{APIURL: s.URL + "/khipu/api/2.0", V3URL: s.URL + "/khipu/v3", ReceiverID: id,
				Secret: field("secret"), APIKey: field("api_key")}
		case "hambit":
			s.Hambit = Hambit{BaseURL: s.URL + "/hambit", AccessKey: field("access_key"), SecretKey: field("secret_key")}
		case "payu":
			s.PayU = PayU{PaymentsURL: s.URL + "/payu/payments-api/4.0/service.cgi", ReportsURL: s.URL + "/payu/reports-api/4.0/service.cgi",
				MerchantID: field("merchantId"), AccountID: field("accountId"), APILogin: field("apiLogin"), APIKey: field("apiKey")}
		}
	}
}

// Core returns the sandbox itself (clock, journal, scenario engine).
func (s *Sandbox) Core() *sandbox.Sandbox { return s.sb }

// Handler serves the whole sandbox (what URL serves).
func (s *Sandbox) Handler() http.Handler { return s.sb.Handler() }

// Do sends a request to the sandbox's handler in memory and returns the
// answer; target is a path ("/khipu/api/2.0/banks") or an absolute URL
// whose host picks host routing.
func (s *Sandbox) Do(method, target, body string, headers ...string) *httptest.ResponseRecorder {
	return Do(s.sb.Handler(), Request(method, target, body, headers...))
}

// Do sends req to h and returns the recorded answer.
func Do(h http.Handler, req *http.Request) *httptest.ResponseRecorder { return testenv.Do(h, req) }

// Request builds a request with an optional body and headers ("Name:
// value"; names are canonicalised as net/http does for a request off the
// wire).
func Request(method, target, body string, headers ...string) *http.Request {
	return testenv.Request(method, target, body, headers...)
}

// Scheduled is one thing due on the sandbox clock.
type Scheduled struct {
	Due      time.Time `json:"due"`
	Provider string    `json:"provider,omitempty"`
	Object   string    `json:"object,omitempty"`
	Kind     string    `json:"kind"`
	Rule     string    `json:"rule,omitempty"`
	Detail   string    `json:"detail,omitempty"`
}

// Advance moves the sandbox clock forward by d; everything that became due
// fires before it returns, and is returned.
func (s *Sandbox) Advance(d time.Duration) []Scheduled {
	fired, err := s.sb.Clock().AdvanceFired(d)
	if err != nil {
		s.fatalf("sandboxtest: advance: %v", err)
	}
	out := make([]Scheduled, len(fired))
	for i, f := range fired {
		out[i] = Scheduled{Due: f.Due, Provider: f.Provider, Object: f.Object, Kind: f.Kind, Rule: f.Rule, Detail: f.Detail}
	}
	return out
}

// Schedule lists what is scheduled (callback attempts, robot payers,
// verifications, expiries, reviews) for object ("" for all), soonest first.
func (s *Sandbox) Schedule(object string) []Scheduled {
	var out []Scheduled
	for _, f := range s.sb.Schedule(nil) {
		if object == "" || f.Object == object {
			out = append(out, Scheduled{Due: f.Due, Provider: f.Provider, Object: f.Object, Kind: f.Kind, Rule: f.Rule, Detail: f.Detail})
		}
	}
	return out
}

// Now is the sandbox time.
func (s *Sandbox) Now() time.Time { return s.sb.Clock().Now() }

// Object is an object as the admin API shows it.
type Object struct {
	Provider string          `json:"provider"`
	Kind     string          `json:"kind"`
	ID       string          `json:"id"`
	Status   string          `json:"status"`
	Amount   string          `json:"amount"`
	Currency string          `json:"currency"`
	Data     json.RawMessage `json:"data"` // as the provider's API shows it
}

// Object returns an object of a provider (nil, error when unknown).
func (s *Sandbox) Object(provider, id string) (*Object, error) {
	rec := s.Do(http.MethodGet, "/_sandbox/api/objects/"+provider+"/"+id, "")
	return decodeObject(rec)
}

// Act performs an admin action on an object (pay, fail, expire, approve,
// decline, resend_callback, …) with params (nil for none) and returns the
// object after it.
func (s *Sandbox) Act(provider, id, action string, params any) (*Object, error) {
	body := "{}"
	if params != nil {
		b, err := json.Marshal(params)
		if err != nil {
			return nil, err
		}
		body = string(b)
	}
	rec := s.Do(http.MethodPost, "/_sandbox/api/objects/"+provider+"/"+id+"/actions/"+action, body, "Content-Type: application/json")
	return decodeObject(rec)
}

func decodeObject(rec *httptest.ResponseRecorder) (*Object, error) {
	if rec.Code != http.StatusOK {
		return nil, fmt.Errorf("sandbox answered %d: %s", rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	var o Object
	if err := json.Unmarshal(rec.Body.Bytes(), &o); err != nil {
		return nil, err
	}
	return &o, nil
}

// UseScenario makes a scenario active: a name or YAML text (uploaded).
func (s *Sandbox) UseScenario(nameOrYAML string) {
	name := nameOrYAML
	if strings.Contains(nameOrYAML, "\n") {
		sc, err := s.sb.Scenarios().Upload([]byte(nameOrYAML))
		if err != nil {
			s.fatalf("sandboxtest: scenario:\n%v", err)
		}
		name = sc.Name
	}
	if err := s.sb.Scenarios().SetActive(name); err != nil {
		s.fatalf("sandboxtest: %v", err)
	}
}

// Reset wipes every provider's objects, timers, pending callbacks and the
// journal, and the merchant's records. A callback attempt still waiting on
// the merchant is aborted first, so nothing from before the reset shows up
// after it.
func (s *Sandbox) Reset() {
	if rec := s.Do(http.MethodPost, "/_sandbox/api/reset", ""); rec.Code != http.StatusOK {
		s.fatalf("sandboxtest: reset: %d %s", rec.Code, rec.Body)
	}
	s.Merchant.reset()
}

// AwaitStatus waits until the object has the status (as Object shows it;
// "done" also matches Khipu's "done/normal") or ctx ends.
func (s *Sandbox) AwaitStatus(ctx context.Context, provider, id, status string) (*Object, error) {
	var o *Object
	var err error
	ok := s.sb.WaitFor(ctx, func() bool {
		o, err = s.Object(provider, id)
		if err != nil {
			return true
		}
		head, _, _ := strings.Cut(o.Status, "/")
		return strings.EqualFold(o.Status, status) || strings.EqualFold(head, status)
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		return o, fmt.Errorf("%s %s is %q, not %q, at the end of the wait: %w", provider, id, o.Status, status, ctx.Err())
	}
	return o, nil
}
