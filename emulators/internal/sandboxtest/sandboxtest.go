// Package sandboxtest builds the shared core for a provider's tests: a
// clock, journal, callback dispatcher and scenario engine wired as the
// sandbox wires them, with callbacks delivered to an in-memory Merchant
// instead of the network, so tests run inside testing/synctest bubbles.
package sandboxtest

import (
	"bytes"
	"context"
	"errors"
	"github.com/paysandbox/sandbox/emulators/testenv"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators/internal/callback"
	"github.com/paysandbox/sandbox/emulators/internal/clock"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/platform"
	"github.com/paysandbox/sandbox/emulators/internal/random"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
	"github.com/paysandbox/sandbox/scenarios"
	"github.com/paysandbox/sandbox/web"
)

// Options configure an Env.
type Options struct {
	// Scenarios are YAML texts uploaded into the engine (each needs a name).
	Scenarios []string
	// Active is the active scenario (default "default").
	Active    string
	TimeScale float64
	Seed      *int64 // default: seed 1, so ids are deterministic
	PublicURL string
	// NoDebugHeaders turns the X-Sandbox-* headers off.
	NoDebugHeaders bool
	// Log receives the logs; nil discards them (set SANDBOX_TEST_LOG=1 to see them).
	Log *slog.Logger
}

// Env is the core a provider is built on in a test.
type Env struct {
	Deps       platform.Deps
	Clock      *clock.Clock
	Journal    *journal.Journal
	Dispatcher *callback.Dispatcher
	Scenarios  *scenarios.Engine
	Merchant   *Merchant
	stopping   chan struct{}
}

const defaultScenario = "name: default\ndescription: no rules\nrules: []\n"

// New builds an Env for provider name; it is closed when the test ends.
// Call it inside the synctest bubble when the test uses one. Note that a
// bubble's clock starts at 2000-01-01 00:00:00 UTC: sleep forward first when
// the provider checks real-looking timestamps (13-digit milliseconds).
func New(t testing.TB, provider string, o Options) *Env {
	t.Helper()
	if o.Seed == nil {
		one := int64(1)
		o.Seed = &one
	}
	log := o.Log
	if log == nil {
		if os.Getenv("SANDBOX_TEST_LOG") != "" {
			log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		} else {
			log = slog.New(slog.DiscardHandler)
		}
	}
	env := &Env{Merchant: NewMerchant(), stopping: make(chan struct{})}
	env.Clock = clock.New(clock.Options{Scale: o.TimeScale})
	env.Journal = journal.New(journal.Options{Now: env.Clock.Now})
	env.Dispatcher = callback.New(callback.Options{Clock: env.Clock, Journal: env.Journal, Log: log, Client: env.Merchant.Client(), Workers: 4})
	eng, err := scenarios.NewEngine(scenarios.Options{
		Builtins: fstest.MapFS{"default.yaml": {Data: []byte(defaultScenario)}},
		Draw:     random.New(o.Seed, "scenarios").Float64,
		Log:      log,
	})
	if err != nil {
		t.Fatalf("scenario engine: %v", err)
	}
	for _, y := range o.Scenarios {
		if _, err := eng.Upload([]byte(y)); err != nil {
			t.Fatalf("scenario:\n%v", err)
		}
	}
	if o.Active != "" {
		if err := eng.SetActive(o.Active); err != nil {
			t.Fatalf("active scenario: %v", err)
		}
	}
	env.Scenarios = eng
	env.Deps = platform.Deps{
		Log: log.With("provider", provider), Clock: env.Clock, Journal: env.Journal, Dispatcher: env.Dispatcher,
		Scenarios: eng, Random: random.New(o.Seed, provider), PublicURL: o.PublicURL,
		DebugHeaders: !o.NoDebugHeaders, Web: web.FS(),
	}
	t.Cleanup(env.Close)
	return env
}

// Close drains the dispatcher and stops the clock (called at cleanup).
func (e *Env) Close() {
	select {
	case <-e.stopping:
		return
	default:
		close(e.stopping)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e.Dispatcher.Close(ctx)
	e.Clock.Close()
}

// Echo returns a server with the provider's routes mounted under /name the
// way the sandbox mounts them (journal middleware, shutdown signal).
func (e *Env) Echo(name string, register func(g *echo.Group)) *echo.Echo {
	return e.Mount(name, register)
}

// Mount is Echo plus host routing as emulators/sandbox does it: a request
// whose Host (case-insensitive, port ignored) is one of hosts and whose path
// is not already under /name or /_sandbox reaches /name+path, and
// wire.Info records that it was host-routed.
func (e *Env) Mount(name string, register func(g *echo.Group), hosts ...string) *echo.Echo {
	return Mount(e.Journal, e.stopping, name, register, hosts...)
}

// Mount serves register under /name with the journal jr and the shutdown
// channel stopping, as Env.Mount does, for tests that build their core
// without an Env (real listeners and a real HTTP client).
func Mount(jr *journal.Journal, stopping <-chan struct{}, name string, register func(g *echo.Group), hosts ...string) *echo.Echo {
	hostSet := map[string]bool{}
	for _, h := range hosts {
		hostSet[strings.ToLower(h)] = true
	}
	prefix := "/" + name
	ec := echo.New()
	ec.HideBanner, ec.HidePort = true, true
	ec.Pre(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			path := r.URL.Path
			info := wire.Info{OriginalPath: path, OriginalRawPath: r.URL.EscapedPath()}
			host := strings.ToLower(r.Host)
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
			mounted := path == prefix || strings.HasPrefix(path, prefix+"/") || strings.HasPrefix(path, "/_sandbox")
			if hostSet[host] && !mounted {
				info.HostRouted = true
				r.URL.Path = prefix + path
				if r.URL.RawPath != "" {
					r.URL.RawPath = prefix + r.URL.RawPath
				}
			}
			wire.SetInfo(c, info)
			return next(c)
		}
	})
	g := ec.Group(prefix, wire.Journal(jr, name), func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			wire.SetStopping(c, stopping)
			return next(c)
		}
	})
	register(g)
	return ec
}

// Do sends req to h and returns the recorded answer.
func Do(h http.Handler, req *http.Request) *httptest.ResponseRecorder { return testenv.Do(h, req) }

// Request builds a request with an optional body and headers ("Name: value";
// names are canonicalised as net/http does for a request off the wire).
func Request(method, target, body string, headers ...string) *http.Request {
	return testenv.Request(method, target, body, headers...)
}

// Received is one request the Merchant got.
type Received struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
	Time   time.Time
}

// Merchant is an in-memory merchant server: every callback is recorded on
// C and answered with the next scripted status (200 once the script is
// used up), or by Handler when set. Two scripted values stand for network
// failures: Refused (connection refused) and Hang (no answer until the
// attempt's timeout ends the request).
type Merchant struct {
	C chan Received

	mu       sync.Mutex
	statuses []int
	handler  http.Handler
}

// NewMerchant returns a merchant answering 200.
func NewMerchant() *Merchant { return &Merchant{C: make(chan Received, 4096)} }

// Scripted network failures for Respond.
const (
	Refused = -1 // the connection is refused
	Hang    = -2 // the merchant never answers; the attempt times out
)

// ErrRefused is what an attempt gets from a Refused answer.
var ErrRefused = errors.New("dial tcp: connect: connection refused (sandboxtest)")

// Respond scripts the statuses of the next answers, in order (Refused and
// Hang script network failures).
func (m *Merchant) Respond(statuses ...int) {
	m.mu.Lock()
	m.statuses = append(m.statuses, statuses...)
	m.mu.Unlock()
}

// Handle makes h answer every request (after it is recorded).
func (m *Merchant) Handle(h http.Handler) {
	m.mu.Lock()
	m.handler = h
	m.mu.Unlock()
}

// Client returns an HTTP client whose requests reach the merchant in memory.
func (m *Merchant) Client() *http.Client {
	return &http.Client{Transport: m, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// RoundTrip implements http.RoundTripper.
func (m *Merchant) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body.Close()
	}
	m.C <- Received{Method: r.Method, URL: r.URL.String(), Header: r.Header.Clone(), Body: body, Time: time.Now()}
	m.mu.Lock()
	h := m.handler
	status := http.StatusOK
	if len(m.statuses) > 0 {
		status, m.statuses = m.statuses[0], m.statuses[1:]
	}
	m.mu.Unlock()
	switch status {
	case Refused:
		return nil, ErrRefused
	case Hang:
		<-r.Context().Done()
		return nil, r.Context().Err()
	}
	if h != nil {
		r2 := r.Clone(r.Context())
		r2.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r2)
		res := rec.Result()
		res.Request = r
		return res, nil
	}
	return &http.Response{StatusCode: status, Status: http.StatusText(status), Header: http.Header{},
		Body: io.NopCloser(strings.NewReader(`{"ok":true}`)), Request: r}, nil
}

// Next waits up to d (of bubble time under synctest) for the next callback.
func (m *Merchant) Next(t testing.TB, d time.Duration) Received {
	t.Helper()
	select {
	case r := <-m.C:
		return r
	case <-time.After(d):
		t.Fatalf("no callback within %v", d)
		return Received{}
	}
}

// None fails the test if a callback is waiting.
func (m *Merchant) None(t testing.TB) {
	t.Helper()
	select {
	case r := <-m.C:
		t.Fatalf("unexpected callback to %s: %s", r.URL, r.Body)
	default:
	}
}
