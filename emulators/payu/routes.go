package payu

import (
	"errors"
	"io/fs"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators/internal/wire"
)

// Register mounts the production tree on g (mounted at /payu; the sandbox
// routes the real hosts here too). Every PayU route is listed here (§2); a
// known path with another method is the 405 of §2 with Allow.
func (s *Service) Register(g *echo.Group) {
	g.Use(wire.Errors{Debug: s.deps.DebugHeaders, Log: s.deps.Log, FromHTTP: s.httpError, Shape: s.answer}.Middleware, wire.Recover(s.deps.Log))
	rt := wire.Router{NotAllowed: methodNotAllowed}
	rt.Add(g, "/payments-api/4.0/service.cgi", wire.Methods{http.MethodPost: s.handleAPI(false)})
	rt.Add(g, "/reports-api/4.0/service.cgi", wire.Methods{http.MethodPost: s.handleAPI(true)})
	rt.Add(g, "/webpay/initTransaction", wire.Methods{http.MethodGet: s.handleWebPay, http.MethodPost: s.handleWebPay})
	rt.Add(g, "/response/:id", wire.Methods{http.MethodGet: s.handleResponse})
	rt.Add(g, "/static/*", wire.Methods{http.MethodGet: s.handleStatic})
}

// handleStatic serves GET /payu/static/{name}: the pages' assets (§2).
func (s *Service) handleStatic(c echo.Context) error {
	err := wire.Static(c, s.static, c.Param("*"), "")
	if errors.Is(err, fs.ErrNotExist) {
		return unknownPath(c)
	}
	return err
}
