package sandbox

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators/internal/localca"
)

// loopbackNames are the names the sandbox answers for besides the provider
// hosts: certificates are minted for them, and proxy requests to them reach
// the sandbox itself.
var loopbackNames = []string{"localhost", "127.0.0.1", "::1"}

// LoadCA returns the PEM certificate of the CA cfg names: the user's
// (tls_ca_cert, tls_ca_key) or the one kept in data_dir, created there on
// first use. It is what `sandbox ca` prints.
func LoadCA(cfg Config) (pemCert []byte, fingerprint string, err error) {
	ca, err := loadCA(cfg)
	if err != nil {
		return nil, "", err
	}
	return ca.PEM(), ca.Fingerprint(), nil
}

func loadCA(cfg Config) (*localca.CA, error) {
	if cfg.TLSCACert != "" {
		ca, err := localca.LoadFiles(cfg.TLSCACert, cfg.TLSCAKey, localca.Options{})
		if err != nil {
			return nil, fmt.Errorf("tls_ca_cert/tls_ca_key: %w", err)
		}
		return ca, nil
	}
	return localca.LoadOrCreate(cfg.DataDir, localca.Options{})
}

// issuer returns the sandbox's certificate issuer, loading or creating the
// CA on first use (a sandbox that never serves TLS never touches the data
// directory). A failure is returned to every caller until one succeeds.
func (s *Sandbox) issuer() (*localca.Issuer, error) {
	s.caMu.Lock()
	defer s.caMu.Unlock()
	if s.certs != nil {
		return s.certs, nil
	}
	ca, err := loadCA(s.cfg)
	if err != nil {
		return nil, err
	}
	s.ca = ca
	s.certs = localca.NewIssuer(ca, s.ServerNames(), "localhost")
	return s.certs, nil
}

// ServerNames are the names the sandbox mints certificates for: every
// provider host, localhost and the loopback addresses, the public URL's
// host and the HTTPS listener's host when it names one.
func (s *Sandbox) ServerNames() []string {
	names := slices.Sorted(func(yield func(string) bool) {
		for h := range s.hosts {
			if !yield(h) {
				return
			}
		}
	})
	names = append(names, loopbackNames...)
	if u, err := url.Parse(s.cfg.PublicURL); err == nil && u.Hostname() != "" {
		names = append(names, strings.ToLower(u.Hostname()))
	}
	if h, _, err := net.SplitHostPort(s.cfg.TLSAddr); err == nil && h != "" {
		if ip := net.ParseIP(h); ip == nil || !ip.IsUnspecified() {
			names = append(names, strings.ToLower(h))
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// TLSConfig returns the HTTPS configuration (TLS 1.2+, a certificate per
// SNI name from the local CA, the localhost one for unknown names),
// creating the CA on first use.
func (s *Sandbox) TLSConfig() (*tls.Config, error) {
	is, err := s.issuer()
	if err != nil {
		return nil, err
	}
	return is.TLSConfig(), nil
}

// CAPEM returns the CA certificate clients must trust (GET /_sandbox/ca.pem).
func (s *Sandbox) CAPEM() ([]byte, error) {
	if _, err := s.issuer(); err != nil {
		return nil, err
	}
	return s.ca.PEM(), nil
}

// handleCAPEM serves GET /_sandbox/ca.pem: the local CA certificate clients install to trust HTTPS (docs/design.md, URL surface).
func (s *Sandbox) handleCAPEM(c echo.Context) error {
	pem, err := s.CAPEM()
	if err != nil {
		s.log.Warn("local CA unavailable", "err", err)
		return c.JSON(http.StatusServiceUnavailable, apiError{Error: apiErrorBody{Kind: "unavailable", Message: "the local CA is unavailable: " + err.Error()}})
	}
	c.Response().Header().Set("Content-Disposition", `attachment; filename="paysandbox-ca.pem"`)
	return c.Blob(http.StatusOK, "application/x-pem-file", pem)
}

// ProxyOptions configure proxy mode.
type ProxyOptions struct {
	// MaxTunnels bounds the CONNECT tunnels open at once (default 256);
	// beyond it a CONNECT is answered 503.
	MaxTunnels int
	// NewServer builds the HTTP server that serves the tunnelled
	// connections, with the same limits as the main listener's (nil: a
	// bare http.Server).
	NewServer func(http.Handler) *http.Server
}

// DefaultMaxTunnels is ProxyOptions.MaxTunnels' default.
const DefaultMaxTunnels = 256

// Proxy is the main listener's handler in proxy mode: the sandbox's routes,
// plus HTTP proxy requests for the providers' hosts served in-process.
//   - CONNECT host:443 for a provider host: the sandbox answers 200,
//     terminates TLS on the tunnel with a certificate from its CA, and
//     serves the requests inside like any other (they are Host-routed).
//   - Absolute-form requests (GET http://khipu.com/…) are routed by host.
//   - Any other target is refused with 403 naming the hosts served: the
//     sandbox never opens a connection to the internet.
type Proxy struct {
	s       *Sandbox
	next    http.Handler
	queue   *connQueue
	tunnels *http.Server
	slots   chan struct{}
	served  chan struct{} // closed when the tunnel server's Serve returns
}

// NewProxy returns the proxy-mode handler for the main listener. Call
// Shutdown after the main server's, to end the open tunnels.
func (s *Sandbox) NewProxy(opt ProxyOptions) *Proxy {
	if opt.MaxTunnels <= 0 {
		opt.MaxTunnels = DefaultMaxTunnels
	}
	srv := &http.Server{ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
	if opt.NewServer != nil {
		srv = opt.NewServer(s.Handler())
	}
	srv.Handler = s.Handler()
	connContext := srv.ConnContext
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if connContext != nil {
			ctx = connContext(ctx, c)
		}
		return context.WithValue(ctx, tunnelKey{}, true)
	}
	p := &Proxy{
		s: s, next: s.Handler(), tunnels: srv,
		queue:  newConnQueue(),
		slots:  make(chan struct{}, opt.MaxTunnels),
		served: make(chan struct{}),
	}
	go func() {
		defer close(p.served)
		srv.Serve(p.queue) // returns http.ErrServerClosed after Shutdown
	}()
	return p
}

type tunnelKey struct{}

// inTunnel reports whether a request came through a CONNECT tunnel (its
// connection's local address is then the plain listener's).
func inTunnel(ctx context.Context) bool { return ctx.Value(tunnelKey{}) != nil }

// Shutdown stops accepting tunnels and ends the open ones gracefully (in
// the manner of http.Server.Shutdown).
func (p *Proxy) Shutdown(ctx context.Context) error {
	err := p.tunnels.Shutdown(ctx)
	<-p.served
	return err
}

// Tunnels returns the number of CONNECT tunnels open.
func (p *Proxy) Tunnels() int { return len(p.slots) }

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodConnect:
		p.connect(w, r)
	case r.URL.IsAbs() || (r.URL.Host != "" && !strings.HasPrefix(r.RequestURI, "/")):
		if !p.servesHost(r.URL.Hostname()) {
			p.refuse(w, r.URL.Scheme+"://"+r.URL.Host)
			return
		}
		p.next.ServeHTTP(w, r)
	default:
		p.next.ServeHTTP(w, r)
	}
}

// servesHost reports whether an absolute-form request's host is the
// sandbox's: a provider host, a loopback name or the public URL's host.
func (p *Proxy) servesHost(host string) bool {
	host = hostOnly(host)
	if _, ok := p.s.hosts[host]; ok {
		return true
	}
	if slices.Contains(loopbackNames, host) {
		return true
	}
	u, err := url.Parse(p.s.cfg.PublicURL)
	return err == nil && u.Hostname() != "" && strings.EqualFold(u.Hostname(), host)
}

func (p *Proxy) connect(w http.ResponseWriter, r *http.Request) {
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil {
		host, port = r.Host, ""
	}
	if _, ok := p.s.hosts[hostOnly(host)]; !ok || port != "443" {
		p.refuse(w, r.Host)
		return
	}
	is, err := p.s.issuer()
	if err != nil {
		p.s.log.Warn("proxy: local CA unavailable", "err", err)
		p.error(w, http.StatusServiceUnavailable, "unavailable", "proxy mode needs the local CA, which is unavailable: "+err.Error())
		return
	}
	select {
	case p.slots <- struct{}{}:
	default:
		p.error(w, http.StatusServiceUnavailable, "unavailable", fmt.Sprintf("too many CONNECT tunnels open (at most %d); close idle connections and retry", cap(p.slots)))
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		<-p.slots
		p.error(w, http.StatusInternalServerError, "internal", "cannot take over the connection for the tunnel")
		return
	}
	// The main server's deadlines do not apply to the tunnel: its own
	// server sets them (handshake, headers, idle).
	conn.SetDeadline(time.Time{})
	if _, err := conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		conn.Close()
		<-p.slots
		return
	}
	tc := &tunnelConn{Conn: conn, r: brw.Reader, release: func() { <-p.slots }}
	if !p.queue.push(tls.Server(tc, is.TLSConfig())) {
		tc.Close()
	}
}

// refuse answers a proxy request for a host the sandbox does not serve.
func (p *Proxy) refuse(w http.ResponseWriter, target string) {
	if len(target) > 256 {
		target = target[:256] + "…"
	}
	hosts := slices.Sorted(func(yield func(string) bool) {
		for h := range p.s.hosts {
			if !yield(h) {
				return
			}
		}
	})
	p.error(w, http.StatusForbidden, "forbidden", fmt.Sprintf(
		"paysandbox is not a forwarding proxy and never connects to the internet: %q is not served. It serves %s (CONNECT on port 443 or plain http), and itself on localhost",
		target, strings.Join(hosts, ", ")))
}

func (p *Proxy) error(w http.ResponseWriter, status int, kind, msg string) {
	b, _ := json.Marshal(apiError{Error: apiErrorBody{Kind: kind, Message: msg}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Connection", "close")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// tunnelConn is a hijacked connection: reads go through the server's
// buffered reader (it may already hold the start of the TLS handshake),
// and closing it frees its tunnel slot once.
type tunnelConn struct {
	net.Conn
	r       *bufio.Reader
	once    sync.Once
	release func()
}

func (c *tunnelConn) Read(b []byte) (int, error) { return c.r.Read(b) }

func (c *tunnelConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// connQueue is a net.Listener whose connections are handed over by the
// CONNECT handler, so that one http.Server serves every tunnel.
type connQueue struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newConnQueue() *connQueue {
	return &connQueue{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (q *connQueue) push(c net.Conn) bool {
	select {
	case q.ch <- c:
		return true
	case <-q.done:
		return false
	}
}

func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case c := <-q.ch:
		return c, nil
	case <-q.done:
		return nil, net.ErrClosed
	}
}

func (q *connQueue) Close() error {
	q.once.Do(func() { close(q.done) })
	return nil
}

func (q *connQueue) Addr() net.Addr { return tunnelAddr{} }

type tunnelAddr struct{}

func (tunnelAddr) Network() string { return "tunnel" }
func (tunnelAddr) String() string  { return "connect-tunnel" }
