package khipu

import (
	"errors"
	"io/fs"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/callback"
	"github.com/paysandbox/sandbox/emulators/internal/then"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
	"github.com/paysandbox/sandbox/scenarios"
)

// Register mounts the production tree (§2.1) on g (the group for /khipu;
// host routing reaches the same routes). Every route answers with and
// without one trailing slash; a known path with another method is a 405
// with Allow.
func (s *Service) Register(g *echo.Group) {
	g.Use(s.errorStep().Middleware, wire.Recover(s.deps.Log))

	pipe := &wire.Pipeline[*call]{Scenarios: s.deps.Scenarios, Limit: int64(s.cfg.MaxBody), Auth: s.authenticate}
	v2 := func(op string, h apiHandler) echo.HandlerFunc { return api(pipe, surfaceV2, op, h) }
	v3 := func(op string, h apiHandler) echo.HandlerFunc { return api(pipe, surfaceV3, op, h) }
	rt := wire.Router{Slash: true, HeadGet: true, NotAllowed: methodNotAllowed}

	// API 2.0 (§6).
	rt.Add(g, "/api/2.0/banks", wire.Methods{http.MethodGet: v2("list banks", s.handleBanks)})
	rt.Add(g, "/api/2.0/payments", wire.Methods{
		http.MethodGet:  v2("get payment by notification token", s.handleGetByToken),
		http.MethodPost: v2("create payment", s.handleCreate),
	})
	rt.Add(g, "/api/2.0/payments/:id", wire.Methods{
		http.MethodGet:    v2("get payment", s.handleGetPayment),
		http.MethodDelete: v2("delete payment", s.handleDelete),
	})
	rt.Add(g, "/api/2.0/payments/:id/confirm", wire.Methods{http.MethodPost: v2("confirm payment", s.handleConfirm)})
	rt.Add(g, "/api/2.0/payments/:id/refunds", wire.Methods{http.MethodPost: v2("refund payment", s.handleRefund)})
	rt.Add(g, "/api/2.0/merchants/:id/paymentMethods", wire.Methods{http.MethodGet: v2("list payment methods", s.handlePaymentMethods)})
	rt.Add(g, "/api/2.0/receivers", wire.Methods{http.MethodPost: v2("create receiver", s.handleIntegratorOnly)})

	// API 3.0 (§10).
	rt.Add(g, "/v3/banks", wire.Methods{http.MethodGet: v3("list banks", s.handleBanks)})
	rt.Add(g, "/v3/payments", wire.Methods{http.MethodPost: v3("create payment", s.handleCreate)})
	rt.Add(g, "/v3/payments/:id", wire.Methods{
		http.MethodGet:    v3("get payment", s.handleGetPayment),
		http.MethodDelete: v3("delete payment", s.handleDelete),
	})
	rt.Add(g, "/v3/payments/:id/confirm", wire.Methods{http.MethodPost: v3("confirm payment", s.handleConfirm)})
	rt.Add(g, "/v3/payments/:id/refunds", wire.Methods{http.MethodPost: v3("refund payment", s.handleRefund)})
	rt.Add(g, "/v3/merchants/:id/paymentMethods", wire.Methods{http.MethodGet: v3("list payment methods", s.handlePaymentMethods)})
	rt.Add(g, "/v3/predict", wire.Methods{http.MethodGet: v3("predict", s.handlePredict)})
	rt.Add(g, "/v3/receivers", wire.Methods{http.MethodPost: v3("create receiver", s.handleIntegratorOnly)})
	rt.Add(g, "/v3/receivers/children", wire.Methods{http.MethodGet: v3("list child receivers", s.handleIntegratorOnly)})

	// Payer pages (§12).
	rt.Add(g, "/payment/info/:id", wire.Methods{http.MethodGet: s.page(s.handleInfoPage)})
	rt.Add(g, "/payment/simplified/:id", wire.Methods{
		http.MethodGet:  s.page(s.handleSimplifiedPage),
		http.MethodPost: s.page(s.handleSimplifiedStep),
	})
	rt.Add(g, "/payment/manual/:id", wire.Methods{
		http.MethodGet:  s.page(s.handleManualPage),
		http.MethodPost: s.page(s.handleManualStep),
	})
	rt.Add(g, "/receipts/:id", wire.Methods{http.MethodGet: s.page(s.handleReceipt)})
	static := rt
	static.Slash = false // the wildcard takes the rest of the path
	static.Add(g, "/static/*", wire.Methods{http.MethodGet: s.handleStatic})
}

// methodNotAllowed is Khipu's 405 (§9.2) for a known path.
func methodNotAllowed(c echo.Context, method string, allow []string) error {
	return &emulators.Error{Kind: emulators.MethodNotAllowed, Msg: msgMethod, Allow: allow,
		Detail: "method " + method + " not allowed on " + c.Request().URL.Path + "; allowed: " + strings.Join(allow, ", ")}
}

// handleStatic serves the pages' assets (§2.1 /static/{name}).
func (s *Service) handleStatic(c echo.Context) error {
	name := c.Param("*")
	err := wire.Static(c, s.static, name, "public, max-age=3600")
	if errors.Is(err, fs.ErrNotExist) {
		return &emulators.Error{Kind: emulators.NotFound, Code: codePath, Msg: msgPathNotFound, Detail: "no Khipu asset " + name}
	}
	return err
}

// callbackPolicy is the one outbound route: how the notifications Khipu POSTs to the payment's notify_url are delivered —
// the retry schedule and timeout of the callbacks configuration, unless the
// scenario's callback point sets its own (then.Callback).
func (s *Service) callbackPolicy(plan scenarios.Plan) callback.Policy {
	return then.Callback(plan, s.cfg.Callbacks.Retry, s.cfg.Callbacks.Timeout)
}
