// Package sandbox is the composition root: it builds the shared core
// (clock, journal, callback dispatcher, scenario engine), the three provider
// emulators, the admin API, the dashboard and the demo shop, and serves them
// all from one echo server with host routing for the providers' real hosts.
//
// It is the only package that knows all three providers.
package sandbox

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators/hambit"
	"github.com/paysandbox/sandbox/emulators/internal/admin"
	"github.com/paysandbox/sandbox/emulators/internal/callback"
	"github.com/paysandbox/sandbox/emulators/internal/clock"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/localca"
	"github.com/paysandbox/sandbox/emulators/internal/persist"
	"github.com/paysandbox/sandbox/emulators/internal/platform"
	"github.com/paysandbox/sandbox/emulators/internal/random"
	"github.com/paysandbox/sandbox/emulators/khipu"
	"github.com/paysandbox/sandbox/emulators/payu"
	"github.com/paysandbox/sandbox/scenarios"
	"github.com/paysandbox/sandbox/web"
)

// Options are the knobs that are not configuration: tests use them to put
// the callback client in memory or shrink the journal.
type Options struct {
	// CallbackClient sends callbacks; nil uses a real HTTP client.
	CallbackClient *http.Client
	// Journal sizes the journal; zero values take the defaults.
	Journal journal.Options
	// Now is the real-time source of the sandbox clock (nil: time.Now).
	Now func() time.Time
	// Version is reported by /healthz and the admin API.
	Version string
	// ScenarioPoll is how often the scenarios directory is re-read (default 1s).
	ScenarioPoll time.Duration
}

// Sandbox is a running sandbox, minus its listener.
type Sandbox struct {
	cfg     Config
	opt     Options
	log     *slog.Logger
	clock   *clock.Clock
	journal *journal.Journal
	disp    *callback.Dispatcher
	scen    *scenarios.Engine

	// state is the state store when persist is on (persist.go), else nil.
	state *persist.Store

	khipu  *khipu.Service
	hambit *hambit.Service
	payu   *payu.Service
	// providers in display order
	providers []provider

	e       *echo.Echo
	hosts   map[string]string // lower-case host → provider name
	csrfKey [32]byte          // signs the dashboard's CSRF tokens (guard.go)

	lnMu      sync.RWMutex
	listeners []*net.TCPAddr // where the server listens (AddListener)
	dash      *dashboard     // the dashboard's pages and templates

	httpAddr atomic.Pointer[string] // the plain listener's address (SetHTTPAddr)

	caMu  sync.Mutex
	ca    *localca.CA     // loaded or created on first use (TLS, proxy, /_sandbox/ca.pem)
	certs *localca.Issuer // leaf certificates of ca

	resetMu sync.Mutex
	resetAt map[string]time.Time // provider → sandbox time of its last reset

	stopping  chan struct{} // closed when shutdown begins: ends held requests and event streams
	waiters   chan struct{} // one slot per waiting admin request (MaxWaiters)
	stopOnce  sync.Once
	watchStop context.CancelFunc
	closeOnce sync.Once
}

// provider is what the sandbox needs of each emulator.
type provider interface {
	admin.Provider
	Register(g *echo.Group)
	Close()
}

// New builds a sandbox from a validated configuration.
func New(cfg Config, log *slog.Logger, opt Options) (*Sandbox, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opt.ScenarioPoll <= 0 {
		opt.ScenarioPoll = time.Second
	}
	s := &Sandbox{cfg: cfg, opt: opt, log: log, stopping: make(chan struct{}), waiters: make(chan struct{}, MaxWaiters)}
	s.clock = clock.New(clock.Options{Scale: cfg.TimeScale, Now: opt.Now, OnPanic: func(v any, stack []byte) {
		log.Error("panic in a clock timer", "panic", fmt.Sprint(v), "stack", string(stack))
		if s.journal != nil {
			s.journal.Add(journal.Entry{Kind: journal.KindNote, Summary: "panic in a clock timer: " + fmt.Sprint(v),
				Data: map[string]string{"stack": string(stack)}})
		}
	}})
	jo := opt.Journal
	jo.Now = s.clock.Now
	s.journal = journal.New(jo)
	s.disp = callback.New(callback.Options{Clock: s.clock, Journal: s.journal, Log: log.With("component", "callbacks"), Client: opt.CallbackClient,
		Self: s.isSelf})

	scenRand := random.New(cfg.Seed, "scenarios")
	eng, err := scenarios.NewEngine(scenarios.Options{
		Log: log.With("component", "scenarios"), Draw: scenRand.Float64,
		Dir: cfg.ScenariosDir, Active: cfg.Scenario,
		OnChange: func() {
			s.saveScenarios()
			s.journal.Notify("scenarios", map[string]any{"active": s.scen.Active()})
		},
	})
	if err != nil {
		s.disp.Close(context.Background())
		s.clock.Close()
		return nil, fmt.Errorf("scenarios: %w", err)
	}
	s.scen = eng

	deps := func(name string) platform.Deps {
		return platform.Deps{
			Log: log.With("provider", name), Clock: s.clock, Journal: s.journal, Dispatcher: s.disp,
			Scenarios: eng, Random: random.New(cfg.Seed, name), PublicURL: cfg.PublicURL,
			DebugHeaders: cfg.DebugHeaders, Web: web.FS(), MaxObjects: cfg.MaxObjects,
		}
	}
	fail := func(err error) (*Sandbox, error) {
		s.disp.Close(context.Background())
		s.clock.Close()
		return nil, err
	}
	if s.khipu, err = khipu.New(cfg.Khipu, deps("khipu")); err != nil {
		return fail(fmt.Errorf("khipu: %w", err))
	}
	if s.hambit, err = hambit.New(cfg.Hambit, deps("hambit")); err != nil {
		return fail(fmt.Errorf("hambit: %w", err))
	}
	if id := cfg.PayU.Khipu.ReceiverID; s.khipu.IsConfiguredReceiver(id) {
		return fail(fmt.Errorf("payu.khipu.receiver_id: %d is also a khipu.receivers entry; PayU's internal Khipu receiver needs an id of its own", id))
	}
	if s.payu, err = payu.New(cfg.PayU, deps("payu"), s.khipu); err != nil {
		return fail(fmt.Errorf("payu: %w", err))
	}
	s.khipu.SetTransferListener(s.payu)
	s.providers = []provider{s.khipu, s.hambit, s.payu}

	rand.Read(s.csrfKey[:])
	s.hosts = map[string]string{}
	for _, p := range []struct {
		name  string
		hosts []string
	}{{"khipu", cfg.Khipu.Hosts}, {"hambit", cfg.Hambit.Hosts}, {"payu", cfg.PayU.Hosts}} {
		for _, h := range p.hosts {
			h = strings.ToLower(strings.TrimSpace(h))
			if other, dup := s.hosts[h]; dup && other != p.name {
				return fail(fmt.Errorf("host %q is listed for both %s and %s", h, other, p.name))
			}
			s.hosts[h] = p.name
		}
	}
	if s.e, err = s.routes(); err != nil {
		return fail(err)
	}
	if cfg.Persist {
		if err := s.openState(); err != nil {
			return fail(err)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	s.watchStop = cancel
	if cfg.ScenariosDir != "" {
		go eng.Watch(ctx, opt.ScenarioPoll)
	}
	return s, nil
}

// Handler returns the HTTP handler of the whole sandbox.
func (s *Sandbox) Handler() http.Handler { return s.e }

// Scenarios returns the scenario engine.
func (s *Sandbox) Scenarios() *scenarios.Engine { return s.scen }

// Clock returns the sandbox clock.
func (s *Sandbox) Clock() *clock.Clock { return s.clock }

// Journal returns the journal.
func (s *Sandbox) Journal() *journal.Journal { return s.journal }

// Dispatcher returns the callback dispatcher.
func (s *Sandbox) Dispatcher() *callback.Dispatcher { return s.disp }

// Providers returns the emulators' admin views, in display order.
func (s *Sandbox) Providers() []admin.Provider {
	out := make([]admin.Provider, len(s.providers))
	for i, p := range s.providers {
		out[i] = p
	}
	return out
}

// Describe returns each provider's base URLs and credentials for links built
// on linkBase.
func (s *Sandbox) Describe(linkBase string) []admin.Description {
	out := make([]admin.Description, len(s.providers))
	for i, p := range s.providers {
		out[i] = p.Describe(linkBase)
	}
	return out
}

// AddListener tells the sandbox an address it is served on, so that no
// callback is ever delivered to its own admin API or dashboard through it
// (issue #13). Until one is added, every loopback and local address counts
// as the sandbox's own.
func (s *Sandbox) AddListener(addr net.Addr) {
	if a, ok := addr.(*net.TCPAddr); ok {
		s.lnMu.Lock()
		s.listeners = append(s.listeners, a)
		s.lnMu.Unlock()
	}
}

// isSelf reports whether ip:port reaches this sandbox: one of its
// listeners, a local address when a listener is on every interface, the
// public URL's host, and any local address while no listener is known.
func (s *Sandbox) isSelf(ip net.IP, port int) bool {
	s.lnMu.RLock()
	lns := s.listeners
	s.lnMu.RUnlock()
	if pub, err := url.Parse(s.cfg.PublicURL); err == nil && s.cfg.PublicURL != "" {
		pp, _ := strconv.Atoi(pub.Port())
		if pp == 0 {
			pp = map[string]int{"http": 80, "https": 443}[pub.Scheme]
		}
		if pp == port {
			if ips, err := net.LookupIP(pub.Hostname()); err == nil && slices.ContainsFunc(ips, ip.Equal) {
				return true
			}
		}
	}
	if len(lns) == 0 {
		return localIP(ip)
	}
	for _, l := range lns {
		if l.Port != port {
			continue
		}
		if l.IP == nil || l.IP.IsUnspecified() {
			if localIP(ip) {
				return true
			}
			continue
		}
		if l.IP.Equal(ip) || (l.IP.IsLoopback() && ip.IsLoopback()) {
			return true
		}
	}
	return false
}

// localIP reports whether ip is loopback, unspecified or one of this
// machine's interface addresses.
func localIP(ip net.IP) bool {
	if ip.IsLoopback() || ip.IsUnspecified() {
		return true
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}

// LinkBaseFor returns the base URL to show for a listener address: the
// public URL when configured, else http://addr with a wildcard host shown as
// 127.0.0.1.
func (s *Sandbox) LinkBaseFor(addr net.Addr) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// SetHTTPAddr tells the sandbox where its plain-HTTP listener is, so that
// the demo shop opened on the HTTPS listener registers its callbacks there
// (the callback client does not trust the sandbox's CA).
func (s *Sandbox) SetHTTPAddr(addr net.Addr) {
	a := addr.String()
	s.httpAddr.Store(&a)
}

// BeginShutdown ends held requests (scenario timeouts) and event streams so
// that the HTTP server can finish its in-flight requests. Call it right
// before http.Server.Shutdown.
func (s *Sandbox) BeginShutdown() {
	s.stopOnce.Do(func() { close(s.stopping) })
}

// Close drains the callback dispatcher (attempts already due are sent,
// later ones are journaled as cancelled), then stops the providers' timers
// and the clock. Call it after the HTTP server has shut down.
func (s *Sandbox) Close(ctx context.Context) error {
	var err error
	s.closeOnce.Do(func() {
		s.BeginShutdown()
		s.watchStop()
		err = s.disp.Close(ctx)
		for _, p := range s.providers {
			p.Close()
		}
		s.clock.Close()
		if s.state != nil {
			s.state.Close()
		}
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("callbacks still in flight when the shutdown time ran out: %w", err)
		}
	})
	return err
}
