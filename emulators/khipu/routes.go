package khipu

import (
	"errors"
	"io/fs"
	"net/http"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
)

// Register mounts the production tree (§2.1) on g (the group for /khipu;
// host routing reaches the same routes). Every route answers with and
// without one trailing slash; a known path with another method is a 405
// with Allow.
func (s *Service) Register(g *echo.Group) {
	g.Use(s.renderErrors, wire.Recover(s.deps.Log))

	v2 := func(op string, h apiHandler) echo.HandlerFunc { return s.api(surfaceV2, op, h) }
	v3 := func(op string, h apiHandler) echo.HandlerFunc { return s.api(surfaceV3, op, h) }

	// API 2.0 (§6).
	s.route(g, "/api/2.0/banks", methods{http.MethodGet: v2("list banks", s.handleBanks)})
	s.route(g, "/api/2.0/payments", methods{
		http.MethodGet:  v2("get payment by notification token", s.handleGetByToken),
		http.MethodPost: v2("create payment", s.handleCreate),
	})
	s.route(g, "/api/2.0/payments/:id", methods{
		http.MethodGet:    v2("get payment", s.handleGetPayment),
		http.MethodDelete: v2("delete payment", s.handleDelete),
	})
	s.route(g, "/api/2.0/payments/:id/confirm", methods{http.MethodPost: v2("confirm payment", s.handleConfirm)})
	s.route(g, "/api/2.0/payments/:id/refunds", methods{http.MethodPost: v2("refund payment", s.handleRefund)})
	s.route(g, "/api/2.0/merchants/:id/paymentMethods", methods{http.MethodGet: v2("list payment methods", s.handlePaymentMethods)})
	s.route(g, "/api/2.0/receivers", methods{http.MethodPost: v2("create receiver", s.handleIntegratorOnly)})

	// API 3.0 (§10).
	s.route(g, "/v3/banks", methods{http.MethodGet: v3("list banks", s.handleBanks)})
	s.route(g, "/v3/payments", methods{http.MethodPost: v3("create payment", s.handleCreate)})
	s.route(g, "/v3/payments/:id", methods{
		http.MethodGet:    v3("get payment", s.handleGetPayment),
		http.MethodDelete: v3("delete payment", s.handleDelete),
	})
	s.route(g, "/v3/payments/:id/confirm", methods{http.MethodPost: v3("confirm payment", s.handleConfirm)})
	s.route(g, "/v3/payments/:id/refunds", methods{http.MethodPost: v3("refund payment", s.handleRefund)})
	s.route(g, "/v3/merchants/:id/paymentMethods", methods{http.MethodGet: v3("list payment methods", s.handlePaymentMethods)})
	s.route(g, "/v3/predict", methods{http.MethodGet: v3("predict", s.handlePredict)})
	s.route(g, "/v3/receivers", methods{http.MethodPost: v3("create receiver", s.handleIntegratorOnly)})
	s.route(g, "/v3/receivers/children", methods{http.MethodGet: v3("list child receivers", s.handleIntegratorOnly)})

	// Payer pages (§12).
	s.route(g, "/payment/info/:id", methods{http.MethodGet: s.page(s.handleInfoPage)})
	s.route(g, "/payment/simplified/:id", methods{
		http.MethodGet:  s.page(s.handleSimplifiedPage),
		http.MethodPost: s.page(s.handleSimplifiedStep),
	})
	s.route(g, "/payment/manual/:id", methods{
		http.MethodGet:  s.page(s.handleManualPage),
		http.MethodPost: s.page(s.handleManualStep),
	})
	s.route(g, "/receipts/:id", methods{http.MethodGet: s.page(s.handleReceipt)})
	g.GET("/static/*", s.handleStatic)
	g.HEAD("/static/*", s.handleStatic)
}

// methods maps HTTP methods to the handlers of one path.
type methods map[string]echo.HandlerFunc

// route registers path (and path + "/") for every method: the listed ones
// reach their handler (HEAD reaches GET), the others get Khipu's 405.
func (s *Service) route(g *echo.Group, p string, m methods) {
	allow := make([]string, 0, len(m))
	for k := range m {
		allow = append(allow, k)
	}
	sort.Strings(allow)
	h := func(c echo.Context) error {
		method := c.Request().Method
		if f, ok := m[method]; ok {
			return f(c)
		}
		if f, ok := m[http.MethodGet]; ok && method == http.MethodHead {
			return f(c)
		}
		return &emulators.Error{Kind: emulators.MethodNotAllowed, Msg: msgMethod, Allow: allow,
			Detail: "method " + method + " not allowed on " + c.Request().URL.Path + "; allowed: " + strings.Join(allow, ", ")}
	}
	g.Any(p, h)
	g.Any(p+"/", h)
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
