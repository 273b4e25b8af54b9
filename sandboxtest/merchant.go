package sandboxtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paysandbox/sandbox/emulators/sandbox"
)

// Signature verdicts of a received callback (Callback.Verdict).
const (
	VerdictOK       = sandbox.CallbackOK       // the signature holds by the provider's rules
	VerdictRejected = sandbox.CallbackRejected // missing or wrong
	VerdictUnsigned = sandbox.CallbackUnsigned // Khipu notification 1.3: no signature, fetch the payment by token
	VerdictUnknown  = sandbox.CallbackUnknown  // not recognisably a callback of these providers
)

// Callback is one request the merchant received.
type Callback struct {
	Method   string
	URL      string // as sent, e.g. http://127.0.0.1:41235/notify
	Header   http.Header
	Body     []byte
	Time     time.Time // wall clock
	Provider string    // khipu, hambit, payu ("" when not recognised)
	Verdict  string    // VerdictOK, VerdictRejected, …
	Detail   string    // why
	Answer   Answer    // what the merchant answered
}

// Answer scripts one answer of the merchant.
type Answer struct {
	Status int           // HTTP status (200 when 0)
	Delay  time.Duration // wall-clock wait before answering (the sandbox's attempt timeout still applies)
	Drop   bool          // close the connection without an answer
}

// Status answers code at once (200, 500, …).
func Status(code int) Answer { return Answer{Status: code} }

// Slow answers code after d.
func Slow(d time.Duration, code int) Answer { return Answer{Status: code, Delay: d} }

// Drop closes the connection without an answer.
func Drop() Answer { return Answer{Drop: true} }

// Merchant is the merchant's callback endpoint: every request is recorded
// (with its signature verdict) and answered with the next scripted Answer,
// 200 once the script is used up.
type Merchant struct {
	// URL is the endpoint's base: pass URL + any path as notify_url,
	// callback URL or confirmationUrl.
	URL string

	s   *Sandbox
	srv *httptest.Server
	c   chan Callback

	mu     sync.Mutex
	script []Answer
	all    []Callback
	gen    int // reset count: a request that began before a reset is not recorded after it
}

func newMerchant(s *Sandbox) *Merchant {
	return &Merchant{s: s, c: make(chan Callback, 1024)}
}

func (m *Merchant) serve() {
	m.srv = httptest.NewServer(m)
	m.URL = m.srv.URL
}

func (m *Merchant) close() {
	if m.srv != nil {
		m.srv.Close()
	}
}

func (m *Merchant) reset() {
	m.mu.Lock()
	m.all, m.script = nil, nil
	m.gen++
	m.mu.Unlock()
	for {
		select {
		case <-m.c:
		default:
			return
		}
	}
}

// Script queues the next answers, in order.
func (m *Merchant) Script(answers ...Answer) {
	m.mu.Lock()
	m.script = append(m.script, answers...)
	m.mu.Unlock()
}

// errDropped is the in-memory form of a dropped connection.
var errDropped = errors.New("sandboxtest: the merchant dropped the connection")

// errReset refuses a request that Sandbox.Reset overtook: its sender gave
// it up, or it began before the reset.
var errReset = errors.New("sandboxtest: the request was overtaken by a reset")

// record reads r, records it and returns the answer to give.
func (m *Merchant) record(r *http.Request) (Callback, error) {
	m.mu.Lock()
	gen := m.gen
	m.mu.Unlock()
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return Callback{}, err
	}
	if r.Context().Err() != nil {
		return Callback{}, errReset // the sandbox gave the attempt up (a reset aborts those in flight)
	}
	u := r.URL.String()
	if !r.URL.IsAbs() {
		u = m.URL + r.URL.RequestURI()
	}
	chk := m.s.sb.CheckCallback(r.Header, body)
	m.mu.Lock()
	if m.gen != gen {
		m.mu.Unlock()
		return Callback{}, errReset
	}
	a := Status(http.StatusOK)
	if len(m.script) > 0 {
		a, m.script = m.script[0], m.script[1:]
	}
	if a.Status == 0 && !a.Drop {
		a.Status = http.StatusOK
	}
	cb := Callback{Method: r.Method, URL: u, Header: r.Header.Clone(), Body: body, Time: time.Now(),
		Provider: chk.Provider, Verdict: chk.Verdict, Detail: chk.Detail, Answer: a}
	m.all = append(m.all, cb)
	m.mu.Unlock()
	select {
	case m.c <- cb:
	default: // Callbacks still has it
	}
	return cb, nil
}

// ServeHTTP records a callback and answers as scripted.
func (m *Merchant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cb, err := m.record(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !sleep(r.Context(), cb.Answer.Delay) {
		return
	}
	if cb.Answer.Drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(cb.Answer.Status)
	io.WriteString(w, `{"ok":true}`)
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Client returns an HTTP client whose requests reach the merchant in
// memory (InMemory mode).
func (m *Merchant) Client() *http.Client {
	return &http.Client{Transport: roundTripper(m.roundTrip), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (m *Merchant) roundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil {
		r.Body = http.NoBody
	}
	defer r.Body.Close()
	cb, err := m.record(r)
	if err != nil {
		return nil, err
	}
	if !sleep(r.Context(), cb.Answer.Delay) {
		return nil, r.Context().Err()
	}
	if cb.Answer.Drop {
		return nil, errDropped
	}
	return &http.Response{StatusCode: cb.Answer.Status, Status: fmt.Sprintf("%d %s", cb.Answer.Status, http.StatusText(cb.Answer.Status)),
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(`{"ok":true}`)), Request: r,
		ProtoMajor: 1, ProtoMinor: 1}, nil
}

// Callbacks returns every callback received so far, oldest first.
func (m *Merchant) Callbacks() []Callback {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Callback(nil), m.all...)
}

// Next waits up to d (of bubble time under synctest) for the next callback
// not yet taken by Next, and fails the test without one.
func (m *Merchant) Next(t testing.TB, d time.Duration) Callback {
	t.Helper()
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case cb := <-m.c:
		return cb
	case <-tm.C:
		t.Fatalf("sandboxtest: no callback within %v", d)
		return Callback{}
	}
}

// None fails the test if a callback not yet taken by Next is waiting.
func (m *Merchant) None(t testing.TB) {
	t.Helper()
	select {
	case cb := <-m.c:
		t.Fatalf("sandboxtest: unexpected callback to %s: %s", cb.URL, cb.Body)
	default:
	}
}

// Delivery is one callback attempt as the sandbox journaled it, wherever
// it was sent.
type Delivery struct {
	ID       string // delivery id (POST /_sandbox/api/callbacks/{id}/resend)
	Provider string
	Object   string
	Event    string
	Attempt  int
	URL      string
	Method   string
	Header   http.Header
	Body     []byte
	Status   int    // the merchant's answer; 0 without one
	Outcome  string // acknowledged, failed, gave_up, skipped, superseded, cancelled
	Verdict  string // the signature verdict by the provider's rules
	Detail   string
	Time     time.Time // sandbox clock
}

// Deliveries returns the callback attempts journaled for object ("" for
// all), oldest first.
func (s *Sandbox) Deliveries(object string) []Delivery {
	es := s.sb.CallbackAttempts(object)
	out := make([]Delivery, 0, len(es))
	for _, e := range es {
		a := e.Callback
		if a == nil {
			continue
		}
		d := Delivery{ID: a.Delivery, Provider: e.Provider, Event: a.Event, Attempt: a.Attempt, URL: a.URL, Method: a.Method,
			Header: http.Header(a.RequestHeaders).Clone(), Body: []byte(a.RequestBody), Status: a.Status, Outcome: a.Outcome, Time: e.Time}
		if len(e.Objects) > 0 {
			d.Object = e.Objects[0]
		}
		chk := s.sb.CheckCallback(d.Header, d.Body)
		d.Verdict, d.Detail = chk.Verdict, chk.Detail
		out = append(out, d)
	}
	return out
}

// AwaitCallback waits until a callback attempt for object has been made
// (acknowledged or not) and returns the first one; it ends with ctx.
func (s *Sandbox) AwaitCallback(ctx context.Context, object string) (Delivery, error) {
	ds, err := s.AwaitCallbacks(ctx, object, 1)
	if err != nil {
		return Delivery{}, err
	}
	return ds[0], nil
}

// AwaitCallbacks waits until n callback attempts for object have been made
// and returns them, oldest first; at the end of ctx it returns what there is
// with an error.
func (s *Sandbox) AwaitCallbacks(ctx context.Context, object string, n int) ([]Delivery, error) {
	var ds []Delivery
	ok := s.sb.WaitFor(ctx, func() bool {
		ds = s.Deliveries(object)
		return len(ds) >= n
	})
	if !ok {
		return ds, fmt.Errorf("%d callback attempt(s) for %s, want %d, at the end of the wait (scheduled: %s): %w",
			len(ds), object, n, describe(s.Schedule(object)), context.Cause(ctx))
	}
	return ds, nil
}

func describe(ss []Scheduled) string {
	if len(ss) == 0 {
		return "nothing"
	}
	var b bytes.Buffer
	for i, x := range ss {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s at %s", x.Kind, x.Due.Format(time.TimeOnly))
		if x.Rule != "" {
			b.WriteString(" by rule " + x.Rule)
		}
	}
	return b.String()
}

// APIRequest is one API request the sandbox received, with its signature verdict.
type APIRequest struct {
	Provider  string
	Method    string
	Path      string
	Status    int
	Operation string
	Verdict   string // ok, tolerated, rejected; "" for unsigned operations
	Detail    string
	Time      time.Time // sandbox clock
}

// Requests lists the API requests to provider ("" for all), oldest first.
func (s *Sandbox) Requests(provider string) []APIRequest {
	es := s.sb.Requests(provider)
	out := make([]APIRequest, 0, len(es))
	for _, e := range es {
		x := e.Request
		if x == nil {
			continue
		}
		r := APIRequest{Provider: e.Provider, Method: x.Method, Path: x.Path, Status: x.Status, Operation: x.Operation, Detail: x.Error, Time: e.Time}
		if x.Signature != nil {
			r.Verdict = x.Signature.Verdict
			if x.Signature.Detail != "" {
				r.Detail = x.Signature.Detail
			}
		}
		out = append(out, r)
	}
	return out
}
