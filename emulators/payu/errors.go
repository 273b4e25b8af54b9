package payu

import (
	"cmp"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
)

// exchange is what the pipeline learns about an API request; the renderer
// reads it to answer errors in the right envelope and format.
type exchange struct {
	reports bool   // reports-api path
	command string // as sent (upper case when known)
	in      string // request format (fmtJSON, fmtXML, "")
	out     string // response format
	lang    string // en, es, pt
}

const keyExchange = "payu.exchange"

// exchangeOf returns the exchange of c; a request that never reached the
// API pipeline (unknown path, wrong method, a page) gets one from its path
// and headers.
func (s *Service) exchangeOf(c echo.Context) *exchange {
	if x, ok := c.Get(keyExchange).(*exchange); ok {
		return x
	}
	x := &exchange{reports: strings.Contains(c.Request().URL.Path, "/reports-api/"), lang: "en"}
	s.setFormats(x, c.Request(), nil)
	c.Set(keyExchange, x)
	return x
}

// setFormats sets the request format of x (from Content-Type, else by
// sniffing body; nil before it is read) and the negotiated answer format.
func (s *Service) setFormats(x *exchange, r *http.Request, body []byte) {
	x.in = requestFormat(r.Header.Get("Content-Type"), body)
	x.out = negotiate(r.Header.Get("Accept"), x.in, s.cfg.ResponseFormat)
}

// statusError is an error answered with a chosen HTTP status (a scenario's
// error.http_status).
type statusError struct {
	status int
	err    *emulators.Error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

// apiErr returns a code ERROR answer with text msg (HTTP 200).
func apiErr(msg string) *emulators.Error {
	return &emulators.Error{Kind: emulators.Invalid, Msg: msg, Detail: msg}
}

// apiErrDetail is apiErr with a separate English detail line.
func apiErrDetail(msg, detail string) *emulators.Error {
	return &emulators.Error{Kind: emulators.Invalid, Msg: msg, Detail: detail}
}

// envelope returns the root element and payload key of a command's answer (§3.4, §4.2).
func envelope(reports bool, command string) (root, payload string) {
	if reports {
		return "reportingResponse", "result"
	}
	switch command {
	case "GET_PAYMENT_METHODS":
		return "paymentMethodsResponse", "paymentMethods"
	case "GET_PAYMENT_METHOD_AVAILABILITY":
		return "paymentMethodAvailable", "paymentMethod"
	case "GET_BANKS_LIST":
		return "bankListResponse", "banks"
	}
	return "paymentResponse", "transactionResponse"
}

// answer is the one place that knows PayU's error envelope (§4.2), as the
// shared error step's Shape: {"code":"ERROR","error":"…","<payload>":null}
// or its XML twin under the command's root, with the status of §2.
func (s *Service) answer(c echo.Context, err error, e *emulators.Error) wire.Answer {
	a := wire.Answer{Status: http.StatusOK, HeadBody: true}
	if se, ok := errors.AsType[*statusError](err); ok {
		a.Status, e = se.status, se.err
	} else {
		// Only these leave HTTP 200 (§2), at the default status.
		switch e.Kind {
		case emulators.NotFound:
			if e.Code == "path" {
				a.Status = e.Kind.Status()
			}
		case emulators.UnknownScenario:
			a.Status = e.Kind.Status()
			e = apiErrDetail("Sandbox: "+e.Msg, e.Detail)
		case emulators.MethodNotAllowed, emulators.TooLarge, emulators.Unavailable:
			a.Status = e.Kind.Status()
		case emulators.Internal:
			a.Status = e.Kind.Status()
			a.Err = e // logged with its cause; answered without it
			e = &emulators.Error{Kind: emulators.Internal, Msg: "Sandbox: internal error", Detail: emulators.DetailOf(e)}
		}
		if a.Err == nil {
			a.Err = e
		}
	}
	a.Detail = emulators.DetailOf(e)
	msg := cmp.Or(e.Msg, a.Detail)
	x := s.exchangeOf(c)
	root, payload := envelope(x.reports, x.command)
	body := vobj(fl("code", vstr("ERROR")), fl("error", vstr(msg)), fl(payload, null))
	a.Write = func(c echo.Context, status int) error { return s.write(c, status, x.out, root, body) }
	return a
}

// httpError turns echo's own errors (the group's catch-all 404) into ours.
func (s *Service) httpError(c echo.Context, he *echo.HTTPError) *emulators.Error {
	switch emulators.KindOfStatus(he.Code) {
	case emulators.NotFound:
		return unknownPath(c)
	case emulators.MethodNotAllowed:
		return emulators.AsError(methodNotAllowed(c, c.Request().Method, nil))
	}
	msg := "Sandbox: " + strings.ToLower(http.StatusText(he.Code))
	return &emulators.Error{Kind: emulators.Invalid, Msg: msg, Detail: msg}
}

// unknownPath is the 404 of §2.
func unknownPath(c echo.Context) *emulators.Error {
	msg := "Sandbox: unknown path [" + wire.RequestInfo(c).OriginalPath + "]"
	return &emulators.Error{Kind: emulators.NotFound, Msg: msg, Detail: msg, Code: "path"}
}

// methodNotAllowed is the 405 of §2: the message names the method, Allow
// lists the path's methods.
func methodNotAllowed(c echo.Context, method string, allow []string) error {
	msg := "Sandbox: method [" + method + "] not allowed"
	return &emulators.Error{Kind: emulators.MethodNotAllowed, Msg: msg, Detail: msg, Allow: allow}
}

// write renders body in format f under root.
func (s *Service) write(c echo.Context, status int, f, root string, body val) error {
	if f == fmtXML {
		return c.Blob(status, "application/xml", encodeXML(root, body, s.dates()))
	}
	return c.Blob(status, "application/json", encodeJSON(body))
}

func (s *Service) dates() xmlDates {
	if s.cfg.XMLDates == "epoch_millis" {
		return datesEpochMillis
	}
	return datesBogota
}

// setStringToSign adds the signature debug headers.
func (s *Service) setStringToSign(c echo.Context, str string) {
	if !s.deps.DebugHeaders {
		return
	}
	wire.SetStringToSign(c.Response().Header(), str)
}

// negotiate picks the response format (§3.2): an Accept naming JSON or XML
// decides (q-values, then order); otherwise the request's format, or XML
// when payu.response_format is xml; JSON when nothing decides.
func negotiate(accept, in, cfg string) string {
	bestJSON, bestXML := -1.0, -1.0
	posJSON, posXML := 0, 0
	for i, part := range strings.Split(accept, ",") {
		fields := strings.Split(part, ";")
		mt := strings.ToLower(strings.TrimSpace(fields[0]))
		q := 1.0
		for _, p := range fields[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		if q <= 0 {
			continue
		}
		switch {
		case mt == "application/json" || strings.HasSuffix(mt, "+json"):
			if q > bestJSON {
				bestJSON, posJSON = q, i
			}
		case mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml"):
			if q > bestXML {
				bestXML, posXML = q, i
			}
		}
	}
	switch {
	case bestJSON >= 0 && bestXML >= 0:
		if bestJSON > bestXML || (bestJSON == bestXML && posJSON < posXML) {
			return fmtJSON
		}
		return fmtXML
	case bestJSON >= 0:
		return fmtJSON
	case bestXML >= 0:
		return fmtXML
	}
	if cfg == "xml" {
		return fmtXML
	}
	if in == fmtXML {
		return fmtXML
	}
	return fmtJSON
}

// errorStep is the pipeline's error step in PayU's shape: every route's
// error, and a failed state write (AnswerFailedWrite), is answered by it.
func (s *Service) errorStep() wire.Errors {
	return wire.Errors{Debug: s.deps.DebugHeaders, Log: s.deps.Log, FromHTTP: s.httpError, Shape: s.answer}
}
