package hambit

import (
	"cmp"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
)

// contentTypeJSON is the content type of every API answer [CL §5.2].
const contentTypeJSON = "application/json;charset=utf-8"

// Hambit's codes (spec §3.3).
const (
	codeOK        = "200"
	codeParam     = "300"
	codeIP        = "301"
	codeSignature = "307"
	codeSystem    = "500"
)

// codeTexts are the fixed msg / msgEn of each code (spec §3.2, §3.3).
var codeTexts = map[string][2]string{
	codeOK:        {"成功", "SUCCESS"},
	codeParam:     {"参数异常", "Parameter exception"},
	codeIP:        {"IP未授权", "IP Unauthorized"},
	codeSignature: {"签名错误", "Signature error"},
	codeSystem:    {"系统错误", "System Error"},
}

// envelope is the body of every API answer but /ping.
type envelope struct {
	Code    string `json:"code"`
	Success bool   `json:"success"`
	Msg     string `json:"msg"`
	MsgEn   string `json:"msgEn"`
	Data    any    `json:"data"`
}

// ok writes the success envelope around data.
func ok(c echo.Context, data any) error {
	t := codeTexts[codeOK]
	return wire.JSON(c, http.StatusOK, contentTypeJSON, envelope{Code: codeOK, Success: true, Msg: t[0], MsgEn: t[1], Data: data})
}

// errParam is a code-300 error with its detail.
func errParam(detail string) *emulators.Error {
	return &emulators.Error{Kind: emulators.Invalid, Code: codeParam, Msg: "parameter exception", Detail: detail}
}

// errIP is a code-301 error.
func errIP(detail string) *emulators.Error {
	return &emulators.Error{Kind: emulators.Forbidden, Code: codeIP, Msg: "IP unauthorized", Detail: detail}
}

// errSignature is a code-307 error.
func errSignature(detail string) *emulators.Error {
	return &emulators.Error{Kind: emulators.Forbidden, Code: codeSignature, Msg: "signature error", Detail: detail}
}

// scenarioError is a scenario's `error`: the envelope with its code and
// optional texts, at its HTTP status.
type scenarioError struct {
	ScenarioError
	rule   string
	detail string // X-Sandbox-Error-Detail when set (a failed state write)
}

func (e *scenarioError) Error() string {
	return "scenario error " + e.Code + " (" + e.rule + ")"
}

// codeOf maps an error to Hambit's code (spec §3.3).
func codeOf(e *emulators.Error) string {
	if e.Code != "" && e.Code != "path" {
		return e.Code
	}
	switch e.Kind {
	case emulators.Invalid, emulators.TooLarge, emulators.NotFound, emulators.MethodNotAllowed,
		emulators.UnknownScenario, emulators.Conflict:
		return codeParam
	case emulators.Forbidden:
		return codeSignature
	case emulators.Unauthorized:
		return codeIP
	}
	return codeSystem
}

// answer is the one place that knows Hambit's error envelope (the shared
// error step's Shape): HTTP 200 with the code's fixed texts, except 404
// (unknown path), 405 (wrong method, with Allow), 400 (unknown scenario)
// and a scenario's http_status. The specific reason goes to
// X-Sandbox-Error-Detail and the journal only.
func (s *Service) answer(_ echo.Context, err error, e *emulators.Error) wire.Answer {
	a := wire.Answer{Status: http.StatusOK}
	var code, msg, msgEn string
	if se, ok := errors.AsType[*scenarioError](err); ok {
		code = se.Code
		if se.HTTPStatus != 0 {
			a.Status = se.HTTPStatus
		}
		t, known := codeTexts[code]
		if !known {
			t = codeTexts[codeSystem]
		}
		msg, msgEn = cmp.Or(se.Msg, t[0]), cmp.Or(se.MsgEn, t[1])
		a.Detail = cmp.Or(se.detail, "scenario error "+code+" from "+se.rule)
	} else {
		// Only these leave HTTP 200 (spec §3.3), at the default status.
		switch e.Kind {
		case emulators.NotFound:
			if e.Code == "" || e.Code == "path" {
				a.Status = e.Kind.Status()
			}
		case emulators.MethodNotAllowed, emulators.UnknownScenario:
			a.Status = e.Kind.Status()
		}
		code = codeOf(e)
		t := codeTexts[code]
		msg, msgEn = t[0], t[1]
		a.Err, a.Detail = e, emulators.DetailOf(e)
	}
	a.Write = func(c echo.Context, status int) error {
		return wire.JSON(c, status, contentTypeJSON, envelope{Code: code, Success: code == codeOK, Msg: msg, MsgEn: msgEn})
	}
	return a
}

// httpError turns echo's own errors (the group's catch-all 404) into ours.
func (s *Service) httpError(c echo.Context, he *echo.HTTPError) *emulators.Error {
	path := wire.RequestInfo(c).OriginalPath
	switch emulators.KindOfStatus(he.Code) {
	case emulators.NotFound:
		return &emulators.Error{Kind: emulators.NotFound, Code: "path", Detail: "no Hambit endpoint at " + path}
	case emulators.MethodNotAllowed:
		return emulators.AsError(methodNotAllowed(c, c.Request().Method, nil))
	}
	return &emulators.Error{Kind: emulators.Invalid, Detail: strings.ToLower(http.StatusText(he.Code))}
}

// setStringToSign adds the signature debug headers of a 307 (spec §3.5).
func (s *Service) setStringToSign(c echo.Context, str string) {
	if !s.deps.DebugHeaders {
		return
	}
	wire.SetStringToSign(c.Response().Header(), str)
}

// errorStep is the pipeline's error step in Hambit's shape: every route's
// error, and a failed state write (AnswerFailedWrite), is answered by it.
func (s *Service) errorStep() wire.Errors {
	return wire.Errors{Debug: s.deps.DebugHeaders, Log: s.deps.Log, FromHTTP: s.httpError, Shape: s.answer}
}
