package payu

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
)

// call is one decoded API request on its way through the pipeline.
type call struct {
	c        echo.Context
	x        *exchange
	req      *node
	merchant Merchant
	lang     string
	scenario string
}

// handleAPI serves POST /payu/payments-api/4.0/service.cgi and
// /payu/reports-api/4.0/service.cgi (§4.1) through the shared pipeline:
// X-Sandbox-Scenario, the 1 MiB body bound, authenticate (envelope,
// command, credentials), then the command's handler.
func (s *Service) handleAPI(pipe *wire.Pipeline[call], reports bool) echo.HandlerFunc {
	dispatch := func(cl call) error { return s.dispatchPayments(&cl) }
	if reports {
		dispatch = func(cl call) error { return s.dispatchReports(&cl) }
	}
	return func(c echo.Context) error {
		// The answer's format and envelope are known before anything can fail.
		x := &exchange{reports: reports, lang: "en"}
		s.setFormats(x, c.Request(), nil)
		c.Set(keyExchange, x)
		return pipe.Run(c, "", dispatch)
	}
}

// bodyError is the answer to a body over the 1 MiB bound (§4.1).
func bodyError(err error) error {
	if emulators.KindOf(err) == emulators.TooLarge {
		msg := "Sandbox: request body exceeds 1 MiB"
		return &emulators.Error{Kind: emulators.TooLarge, Msg: msg, Detail: msg}
	}
	return err
}

// authenticate is the pipeline's auth hook (§4.1): the envelope in its
// format, the command, the language and the merchant's credentials.
func (s *Service) authenticate(wx wire.Exchange) (call, error) {
	c, r := wx.C, wx.C.Request()
	x := s.exchangeOf(c)
	s.setFormats(x, r, wx.Body)
	var req *node
	err := errParse
	switch x.in {
	case fmtJSON:
		req, err = decodeJSON(wx.Body)
	case fmtXML:
		req, err = decodeXML(wx.Body)
	}
	if err != nil {
		detail := err.Error()
		if errors.Is(err, errXMLRefused) {
			detail = "Sandbox: " + strings.TrimPrefix(detail, errXMLRefused.Error()+": ")
			return call{}, apiErrDetail(detail, detail)
		}
		return call{}, apiErrDetail("Sandbox: the request body could not be parsed as JSON or XML", detail)
	}
	cmd := strings.TrimSpace(req.s("command"))
	known := paymentsCommands
	if x.reports {
		known = reportsCommands
	}
	if known[strings.ToUpper(cmd)] {
		cmd = strings.ToUpper(cmd)
	}
	x.command = cmd
	wx.Note.Operation = cmd + " (" + orDash(x.in) + "→" + x.out + ")"
	if !known[cmd] {
		return call{}, apiErr("Sandbox: unsupported command [" + cmd + "]")
	}
	x.lang = language(req.s("language"))
	m, ok := s.merchantByCredentials(req.s("merchant", "apiLogin"), req.s("merchant", "apiKey"))
	if !ok {
		return call{}, apiErrDetail(invalidCredentials(x.lang), "merchant.apiLogin/apiKey match no configured merchant")
	}
	return call{c: c, x: x, req: req, merchant: m, lang: x.lang, scenario: wx.Scenario}, nil
}

func orDash(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

// language is en, es or pt; anything else is en (§4.1).
func language(l string) string {
	switch strings.ToLower(strings.TrimSpace(l)) {
	case "es":
		return "es"
	case "pt":
		return "pt"
	}
	return "en"
}

func invalidCredentials(lang string) string {
	switch lang {
	case "es":
		return "Credenciales inválidas"
	case "pt":
		return "Credenciais inválidas"
	}
	return "Invalid credentials"
}

// ok answers code SUCCESS with the command's payload.
func (s *Service) ok(cl *call, payload val) error {
	root, key := envelope(cl.x.reports, cl.x.command)
	return s.write(cl.c, http.StatusOK, cl.x.out, root, vobj(fl("code", vstr("SUCCESS")), fl("error", null), fl(key, payload)))
}

func (s *Service) dispatchPayments(cl *call) error {
	switch cl.x.command {
	case "PING":
		return s.ok(cl, null)
	case "GET_PAYMENT_METHODS":
		items := make([]val, 0, len(methods))
		for _, m := range methods {
			items = append(items, vobj(fl("id", vstr(m.ID)), fl("description", vstr(m.Name)), fl("country", vstr("CL")),
				fl("enabled", vbool(true)), fl("reason", null)))
		}
		return s.ok(cl, vlist("paymentMethodComplete", items...))
	case "GET_PAYMENT_METHOD_AVAILABILITY":
		name := strings.TrimSpace(cl.req.s("paymentMethod"))
		m, ok := method(name)
		if !ok {
			return apiErr("Sandbox: payment method [" + name + "] is not available")
		}
		return s.ok(cl, vobj(fl("name", vstr(m.Name)), fl("type", vstr(m.Type))))
	case "GET_BANKS_LIST":
		pm := strings.TrimSpace(cl.req.s("bankListInformation", "paymentMethod"))
		country := strings.TrimSpace(cl.req.s("bankListInformation", "paymentCountry"))
		items := []val{}
		if strings.EqualFold(pm, "KHIPU") && strings.EqualFold(country, "CL") {
			for _, b := range khipuBanks {
				items = append(items, vobj(fl("bankId", vstr(b.ID)), fl("name", vstr(b.Name)),
					fl("message", vstr("Este es un banco de pruebas. Las transacciones no son reales.")),
					fl("minAmount", vdec(b.Min)), fl("type", vstr("Persona")), fl("parent", vstr(""))))
			}
		}
		return s.ok(cl, vlist("bank", items...))
	}
	return s.submit(cl)
}
