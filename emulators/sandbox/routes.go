package sandbox

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/admin"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
	"github.com/paysandbox/sandbox/web"
)

// routes builds the whole HTTP surface (docs/design.md, URL surface). It
// fails when the dashboard's templates do not parse.
func (s *Sandbox) routes() (*echo.Echo, error) {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.renderError
	e.Pre(s.hostRouter)
	e.Pre(s.deadlines)
	e.Pre(s.durableAnswers)
	e.Use(s.requestLog())
	e.Use(s.guard) // the /_sandbox tree: hosts, cross-site writes, forms, panics

	e.GET("/healthz", s.handleHealth)
	e.HEAD("/healthz", s.handleHealth)
	e.GET("/_sandbox/ca.pem", s.handleCAPEM)

	for _, p := range s.providers {
		name := p.Name()
		g := e.Group("/"+name, wire.Journal(s.journal, name), s.providerContext, s.durableProvider(p))
		p.Register(g)
	}

	s.adminRoutes(e.Group("/_sandbox/api", s.recoverPanics(), s.requireToken))
	if err := s.pageRoutes(e); err != nil {
		return nil, err
	}
	return e, nil
}

// recoverPanics guards the sandbox's own routes (admin API, dashboard, demo
// shop) as wire.Recover guards the providers': a panic is logged with its
// stack, journaled as a note and returned as an internal error, which
// renderError writes in the admin JSON shape (pages use pageGuard).
func (s *Sandbox) recoverPanics() echo.MiddlewareFunc {
	return wire.RecoverWith(s.log, func(c echo.Context, v any) {
		r := c.Request()
		c.Set(keyPanicked, true)
		s.journal.Add(journal.Entry{Kind: journal.KindNote,
			Summary: fmt.Sprintf("panic in %s %s: %v (answered 500)", r.Method, r.URL.Path, v)})
	})
}

// keyPanicked marks a request whose handler panicked.
const keyPanicked = "sandbox.panicked"

// pageGuard is recoverPanics for the dashboard and the demo shop: the
// internal error of a panic is answered as an HTML error page.
func (d *dashboard) pageGuard() echo.MiddlewareFunc {
	recoverPanics := d.s.recoverPanics()
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		h := recoverPanics(next)
		return func(c echo.Context) error {
			err := h(c)
			if err != nil && c.Get(keyPanicked) != nil && !c.Response().Committed {
				return d.errorPage(c, err)
			}
			return err
		}
	}
}

// hostRouter sends requests addressed to a provider's real host (khipu.com,
// apis.hambit.co, api.payulatam.com, …) to that provider's tree, so a client
// needs no change but its DNS. Prefixed paths, /_sandbox and /healthz keep
// working under every host.
func (s *Sandbox) hostRouter(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		path := r.URL.Path
		info := wire.Info{OriginalPath: path, OriginalRawPath: r.URL.EscapedPath()}
		if name, ok := s.hosts[hostOnly(r.Host)]; ok && !sandboxPath(path) {
			info.HostRouted = true
			r.URL.Path = "/" + name + path
			if r.URL.RawPath != "" {
				r.URL.RawPath = "/" + name + r.URL.RawPath
			}
		}
		wire.SetInfo(c, info)
		return next(c)
	}
}

// sandboxPath reports whether path belongs to the sandbox itself or is
// already prefixed with a provider.
func sandboxPath(path string) bool {
	for _, p := range []string{"/_sandbox", "/healthz", "/khipu", "/hambit", "/payu"} {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

func hostOnly(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

// providerContext gives provider handlers the shutdown signal.
func (s *Sandbox) providerContext(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		wire.SetStopping(c, s.stopping)
		return next(c)
	}
}

// requestLog logs every request through the sandbox's logger at debug
// (--log-level debug shows them; the journal and the dashboard already
// show the provider traffic), and answers the sandbox itself failed at
// warn. It costs nothing when the level is off.
func (s *Sandbox) requestLog() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			ctx := r.Context()
			if !s.log.Enabled(ctx, slog.LevelWarn) {
				return next(c)
			}
			start := time.Now()
			if err := next(c); err != nil {
				c.Error(err) // render now, so the status logged is the one sent
			}
			level := slog.LevelDebug
			if c.Response().Status >= http.StatusInternalServerError {
				level = slog.LevelWarn
			}
			if s.log.Enabled(ctx, level) {
				s.log.LogAttrs(ctx, level, "request",
					slog.String("method", r.Method), slog.String("uri", redactQuery(r.RequestURI)), slog.String("host", r.Host),
					slog.Int("status", c.Response().Status), slog.Duration("latency", time.Since(start)))
			}
			return nil
		}
	}
}

// handleHealth serves GET and HEAD /healthz: liveness for Docker and CI (docs/design.md, URL surface).
func (s *Sandbox) handleHealth(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok", "version": s.opt.Version})
}

// apiError is the error body of the admin API and of every path outside
// the providers (docs/design.md, Errors outside the provider operations).
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Kind     string          `json:"kind"`
	Message  string          `json:"message"`
	Problems []uploadProblem `json:"problems,omitempty"`
}

// adminKind is the admin API's status and kind name of an error kind:
// the default status of the kind (emulators.Kind.Status), except that a
// wrong admin token is 401 like a missing one and every request fault
// (unknown scenario, oversized body) is "invalid" at 400.
func adminKind(k emulators.Kind) (int, string) {
	switch k {
	case emulators.Invalid, emulators.UnknownScenario, emulators.TooLarge:
		return http.StatusBadRequest, "invalid"
	case emulators.Unauthorized, emulators.Forbidden:
		return http.StatusUnauthorized, "unauthorized"
	case emulators.NotFound, emulators.Conflict, emulators.MethodNotAllowed, emulators.Unavailable:
		return k.Status(), k.String()
	}
	return http.StatusInternalServerError, "internal"
}

// renderError is echo's error handler: errors that no provider rendered
// (admin API, unknown paths outside the providers) in the sandbox's shape.
func (s *Sandbox) renderError(err error, c echo.Context) {
	if c.Response().Committed || wire.IsFault(err) {
		return
	}
	var e *emulators.Error
	if he, ok := errors.AsType[*echo.HTTPError](err); ok {
		e = &emulators.Error{Kind: emulators.KindOfStatus(he.Code), Msg: strings.ToLower(http.StatusText(he.Code))}
		if he.Code == http.StatusNotFound {
			e.Msg = "no such path: " + c.Request().URL.Path
		}
		if he.Code == http.StatusMethodNotAllowed {
			e.Msg = "method " + c.Request().Method + " not allowed on " + c.Request().URL.Path
		}
	} else {
		e = emulators.AsError(err)
	}
	status, kind := adminKind(e.Kind)
	msg := e.Msg
	if e.Kind == emulators.Internal {
		s.log.Error("internal error", "path", c.Request().URL.Path, "err", err)
		msg = "internal error"
	} else if len(e.Fields) > 0 {
		msg = emulators.DetailOf(e)
	}
	body := apiError{Error: apiErrorBody{Kind: kind, Message: msg}}
	if p, ok := errors.AsType[*problemsError](err); ok {
		body.Error.Problems = p.problems
	}
	if c.Request().Method == http.MethodHead {
		c.NoContent(status)
		return
	}
	c.JSON(status, body)
}

// problemsError carries a scenario upload's problems into the error body.
type problemsError struct {
	err      *emulators.Error
	problems []uploadProblem
}

func (p *problemsError) Error() string { return p.err.Error() }
func (p *problemsError) Unwrap() error { return p.err }

// redactQuery masks a token query parameter in uri: the log never shows
// the admin token.
func redactQuery(uri string) string {
	path, q, ok := strings.Cut(uri, "?")
	if !ok || !strings.Contains(strings.ToLower(q), "token") {
		return uri
	}
	parts := strings.Split(q, "&")
	for i, p := range parts {
		k, _, _ := strings.Cut(p, "=")
		if uk, err := url.QueryUnescape(k); err == nil && strings.EqualFold(uk, "token") || strings.EqualFold(k, "token") {
			parts[i] = k + "=[redacted]"
		}
	}
	return path + "?" + strings.Join(parts, "&")
}

// adminRoutes registers the admin API (docs/design.md, Admin API).
func (s *Sandbox) adminRoutes(g *echo.Group) {
	g.GET("", s.handleIndex)
	g.GET("/", s.handleIndex)
	g.GET("/info", s.handleInfo)
	g.GET("/objects", s.handleObjects)
	g.GET("/objects/:provider/:id", s.handleObject)
	g.POST("/objects/:provider/:id/actions/:action", s.handleAction)
	g.GET("/callbacks", s.handleCallbacks)
	g.POST("/callbacks/:id/resend", s.handleResend)
	g.GET("/requests", s.handleRequests)
	g.GET("/journal", s.handleJournal)
	g.GET("/scenarios", s.handleScenarios)
	g.PUT("/scenarios/active", s.handleSetActive)
	g.POST("/scenarios", s.handleUpload)
	g.DELETE("/scenarios/:name", s.handleDeleteScenario)
	g.GET("/schedule", s.handleSchedule)
	g.GET("/clock", s.handleClock)
	g.POST("/clock/advance", s.handleAdvance)
	g.POST("/reset", s.handleReset)
	g.GET("/state", s.handleState)
	g.GET("/events", s.handleEvents)
	g.RouteNotFound("/*", func(c echo.Context) error {
		return emulators.Errorf(emulators.NotFound, "no admin API path %s", c.Request().URL.Path)
	})
}

// pageRoutes registers the dashboard (/_sandbox/) and the demo shop
// (/_sandbox/demo), served from package web. Every page is behind the admin
// token when one is set (requirePageToken); the demo shop's callback
// endpoints are not, as they are a merchant's and check signatures instead.
func (s *Sandbox) pageRoutes(e *echo.Echo) error {
	tmpl, err := web.Pages(web.FS(), "sandbox", pageFuncs)
	if err != nil {
		return fmt.Errorf("dashboard templates: %w", err)
	}
	d := &dashboard{s: s, tmpl: tmpl, hasAccounts: map[string]bool{}}
	s.dash = d
	for _, p := range s.providers {
		if _, n := p.Objects(admin.Query{Kind: accountKind, Limit: 1}); n > 0 {
			d.hasAccounts[p.Name()] = true
		}
	}
	if static, err := web.Static(web.FS(), "sandbox"); err == nil {
		e.StaticFS("/_sandbox/static", static)
	}
	// Every page handler runs behind pageGuard, then the token check.
	guard, tok := d.pageGuard(), s.requirePageToken
	e.POST("/_sandbox/login", s.loginForm, guard)
	e.GET("/_sandbox", func(c echo.Context) error { return c.Redirect(http.StatusFound, "/_sandbox/") })
	e.GET("/_sandbox/", d.objectsPage, guard, tok)
	e.GET("/_sandbox/objects/:provider/:id", d.objectPage, guard, tok)
	e.POST("/_sandbox/objects/:provider/:id/actions/:action", d.actionForm, guard, tok)
	e.GET("/_sandbox/journal", d.journalPage, guard, tok)
	e.GET("/_sandbox/journal/:id", d.entryPage, guard, tok)
	e.POST("/_sandbox/callbacks/:id/resend", d.resendForm, guard, tok)
	e.GET("/_sandbox/scenarios", d.scenariosPage, guard, tok)
	e.POST("/_sandbox/scenarios", d.uploadForm, guard, tok)
	e.POST("/_sandbox/scenarios/active", d.activateForm, guard, tok)
	e.GET("/_sandbox/accounts", d.accountsPage, guard, tok)
	e.GET("/_sandbox/clock", d.clockPage, guard, tok)
	e.POST("/_sandbox/clock/advance", d.advanceForm, guard, tok)
	e.POST("/_sandbox/reset", d.resetForm, guard, tok)
	newDemo(s, d).routes(e, guard)
	e.RouteNotFound("/_sandbox/*", d.notFound, guard)
	return nil
}
