package payu

import (
	"errors"
	"io/fs"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators/internal/callback"
	"github.com/paysandbox/sandbox/emulators/internal/then"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
	"github.com/paysandbox/sandbox/scenarios"
)

// Register mounts the production tree on g (mounted at /payu; the sandbox
// routes the real hosts here too). Every PayU route is listed here (§2); a
// known path with another method is the 405 of §2 with Allow.
func (s *Service) Register(g *echo.Group) {
	g.Use(s.errorStep().Middleware, wire.Recover(s.deps.Log))
	// The call travels by value so that it stays on the stack (the
	// dispatchers do not keep it). authenticate decodes the envelope
	// (decodeJSON or decodeXML, §3.1) and checks the credentials.
	pipe := &wire.Pipeline[call]{Scenarios: s.deps.Scenarios, Limit: maxBody, BodyError: bodyError, Auth: s.authenticate}
	rt := wire.Router{NotAllowed: methodNotAllowed}
	rt.Add(g, "/payments-api/4.0/service.cgi", wire.Methods{http.MethodPost: s.handleAPI(pipe, false)})
	rt.Add(g, "/reports-api/4.0/service.cgi", wire.Methods{http.MethodPost: s.handleAPI(pipe, true)})
	rt.Add(g, "/webpay/initTransaction", wire.Methods{http.MethodGet: s.handleWebPay, http.MethodPost: s.handleWebPay})
	rt.Add(g, "/response/:id", wire.Methods{http.MethodGet: s.handleResponse})
	rt.Add(g, "/static/*", wire.Methods{http.MethodGet: s.handleStatic})
}

// PayU's routes inside service.cgi are commands (§4.1): the ones each
// endpoint takes. dispatchPayments and dispatchReports serve them;
// SUBMIT_TRANSACTION goes on by transaction.type (transactionRoute).
var paymentsCommands = map[string]bool{
	"PING": true, "GET_PAYMENT_METHODS": true, "GET_PAYMENT_METHOD_AVAILABILITY": true,
	"GET_BANKS_LIST": true, "SUBMIT_TRANSACTION": true,
}

var reportsCommands = map[string]bool{
	"PING": true, "ORDER_DETAIL": true, "ORDER_DETAIL_BY_REFERENCE_CODE": true, "TRANSACTION_RESPONSE_DETAIL": true,
}

// transactionRoute is SUBMIT_TRANSACTION's handler for a transaction type
// (§6.5): new payments (§7) or operations on an existing one; nil for a
// type PayU does not know.
func (s *Service) transactionRoute(typ string) func(cl *call, t *node, typ string) error {
	switch typ {
	case TypeAuthorization, TypeAuthorizationAndCapture:
		return s.newPayment
	case TypeCapture, TypeVoid, TypeRefund, TypePartialRefund:
		return s.postPayment
	}
	return nil
}

// handleStatic serves GET /payu/static/{name}: the pages' assets (§2).
func (s *Service) handleStatic(c echo.Context) error {
	err := wire.Static(c, s.static, c.Param("*"), "")
	if errors.Is(err, fs.ErrNotExist) {
		return unknownPath(c)
	}
	return err
}

// callbackPolicy is the one outbound route: how the confirmations PayU POSTs to the order's notifyUrl are delivered —
// the retry schedule and timeout of the callbacks configuration, unless the
// scenario's callback point sets its own (then.Callback).
func (s *Service) callbackPolicy(plan scenarios.Plan) callback.Policy {
	return then.Callback(plan, s.cfg.Callbacks.Retry, s.cfg.Callbacks.Timeout)
}
