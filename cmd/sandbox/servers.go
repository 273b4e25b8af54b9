package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/paysandbox/sandbox/emulators/sandbox"
)

// servers are the sandbox's listeners: the main one (plain HTTP, and proxy
// mode: CONNECT tunnels and absolute-form requests for the providers'
// hosts) and the optional HTTPS one (--tls-addr). Every server the sandbox
// runs is built here, by newHTTPServer.
type servers struct {
	main   *http.Server
	mainLn net.Listener
	proxy  *sandbox.Proxy
	tls    *http.Server // nil without --tls-addr
	tlsLn  net.Listener
}

// newHTTPServer builds every server the sandbox runs (main listener, HTTPS
// listener, CONNECT tunnels) with the sandbox's limits (sandbox.NewHTTPServer;
// README, Security) and the command's logger.
func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	srv := sandbox.NewHTTPServer(h)
	srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelDebug)
	return srv
}

// listen opens the listeners (the HTTPS one creates or loads the CA first,
// so that a CA problem stops the start) and builds their servers.
func listen(cfg sandbox.Config, sb *sandbox.Sandbox, log *slog.Logger) (*servers, error) {
	var tlsConf *tls.Config
	if cfg.TLSAddr != "" {
		c, err := sb.TLSConfig()
		if err != nil {
			return nil, fmt.Errorf("--tls-addr: %w", err)
		}
		tlsConf = c
	}
	s := &servers{}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, listenError(cfg.Addr, err)
	}
	s.mainLn = ln
	sb.SetHTTPAddr(ln.Addr())
	sb.AddListener(ln.Addr()) // callbacks never reach the sandbox's own admin API
	if tlsConf != nil {
		tln, err := net.Listen("tcp", cfg.TLSAddr)
		if err != nil {
			ln.Close()
			return nil, listenError(cfg.TLSAddr, err)
		}
		sb.AddListener(tln.Addr())
		s.tlsLn = tls.NewListener(tln, tlsConf)
		s.tls = newHTTPServer(sb.Handler(), log)
	}
	s.proxy = sb.NewProxy(sandbox.ProxyOptions{
		NewServer: func(h http.Handler) *http.Server { return newHTTPServer(h, log) },
	})
	s.main = newHTTPServer(s.proxy, log)
	return s, nil
}

// serve runs the servers; the first one to stop reports on errc.
func (s *servers) serve(errc chan<- error) {
	go func() { errc <- s.main.Serve(s.mainLn) }()
	if s.tls != nil {
		go func() { errc <- s.tls.Serve(s.tlsLn) }()
	}
}

// shutdown stops the servers gracefully: the listeners first, then the
// CONNECT tunnels (whose connections the main server handed over).
func (s *servers) shutdown(ctx context.Context) error {
	var errs []error
	errs = append(errs, s.main.Shutdown(ctx))
	if s.tls != nil {
		errs = append(errs, s.tls.Shutdown(ctx))
	}
	errs = append(errs, s.proxy.Shutdown(ctx))
	return errors.Join(errs...)
}
