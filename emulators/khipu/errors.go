package khipu

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

// The one place that knows Khipu's error bodies (§9): every handler returns
// an *emulators.Error (or a scenarioFailure) and answer (the shared error step's Shape) answers it in
// the v2 or v3 shape, or as an HTML page on the payer pages.

// Top-level messages (§9.3).
const (
	msgA1 = "Error de autorización: falta la cabecera Authorization o su formato es inválido"
	msgA2 = "Error de autorización: cobrador desconocido"
	msgA3 = "Error de autorización: firma inválida"
	msgA4 = "Error de autorización: la cuenta de cobro no tiene contratada esta funcionalidad"
	msgA5 = "Error de autorización: el cobrador no corresponde a las credenciales"
	msgA6 = "Error de autorización: operación disponible solo para cuentas integradoras"
	msgV0 = "Datos inválidos"
	msgS1 = "Error de operación: solo se pueden eliminar pagos pendientes"
	msgS2 = "Error de operación: solo se pueden confirmar pagos terminados"
	msgS3 = "Error de operación: solo se pueden reembolsar pagos terminados"
	msgS4 = "Error de operación: el pago ya fue reembolsado"
	msgS5 = "Error de operación: el pago no fue recaudado por Khipu"
	msgS6 = "Error de operación: el pago ya fue rendido"
	msgS7 = "Error de operación: la cuenta de cobro no permite reembolsos"
	msgS8 = "Error de operación: reembolso rechazado"
	msgS9 = "Error de operación: servicio no disponible"

	msgV3Credentials = "Credenciales no válidas o faltantes"
	msgV3Forbidden   = "Cliente no tiene privilegios"
	msgV3NotFound    = "Pago no encontrado"
	msgV3Internal    = "Error interno"
	msgMalformed     = "Solicitud mal formada"
	msgPathNotFound  = "Recurso no encontrado"
	msgMethod        = "Método no permitido"
)

// Error codes carried in emulators.Error.Code to pick the rendering.
const (
	codePath      = "path"      // unknown path: 404 Recurso no encontrado
	codePayment   = "payment"   // unknown payment on v3: 404 Pago no encontrado
	codeMalformed = "malformed" // malformed v3 JSON: 400 Solicitud mal formada
)

func authError(code, msg, detail string) *emulators.Error {
	return &emulators.Error{Kind: emulators.Forbidden, Code: code, Msg: msg, Detail: detail}
}

// stateError is an operation refused in the payment's state: v2 503, v3 400.
func stateError(code, msg, detail string) *emulators.Error {
	return &emulators.Error{Kind: emulators.Conflict, Code: code, Msg: msg, Detail: detail}
}

// fieldError is a 400 "Datos inválidos" with one field error.
func fieldError(field, msg, detail string) *emulators.Error {
	return &emulators.Error{Kind: emulators.Invalid, Msg: msgV0, Detail: detail,
		Fields: []emulators.FieldError{{Field: field, Message: msg}}}
}

func fieldErrors(fields []emulators.FieldError) *emulators.Error {
	return &emulators.Error{Kind: emulators.Invalid, Msg: msgV0, Fields: fields,
		Detail: "invalid fields (§7): " + joinFields(fields)}
}

// joinFields renders field errors as "field: message; field: message".
func joinFields(fields []emulators.FieldError) string {
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return strings.Join(parts, "; ")
}

// scenarioFailure is an error answer chosen by a scenario rule (create or
// refund `error`): status, message and errors as the rule gives them.
type scenarioFailure struct {
	status  int
	message string
	errors  []emulators.FieldError
	withErr bool // render an errors array
	detail  string
}

func (f *scenarioFailure) Error() string { return f.detail }

// surface says which shape errors take on a route.
type surface int

const (
	surfaceV2 surface = iota
	surfaceV3
	surfacePage
)

const keySurface = "khipu.surface"

func setSurface(c echo.Context, s surface) { c.Set(keySurface, s) }

func surfaceOf(c echo.Context) surface {
	if s, ok := c.Get(keySurface).(surface); ok {
		return s
	}
	return surfaceV2
}

// errorItem is one entry of errors[] (ErrorItem of the official models).
type errorItem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// errorBody is ValidationError / AuthorizationError / ServiceError (§9.1).
type errorBody struct {
	Status  int          `json:"status"`
	Message string       `json:"message"`
	Errors  *[]errorItem `json:"errors,omitempty"`
}

func items(fields []emulators.FieldError) *[]errorItem {
	out := make([]errorItem, len(fields))
	for i, f := range fields {
		out[i] = errorItem{Field: f.Field, Message: f.Message}
	}
	return &out
}

// errorStep answers every error of the Khipu tree in Khipu's shape (§9.2)
// through the shared error step: a scenario's failure as it says, the
// rest by shape; an error on a payer page as HTML.
func (s *Service) errorStep() wire.Errors {
	return wire.Errors{Debug: s.deps.DebugHeaders, Log: s.deps.Log, FromHTTP: httpError, Shape: s.answer}
}

func (s *Service) answer(c echo.Context, err error, e *emulators.Error) wire.Answer {
	sf := surfaceOf(c)
	var a wire.Answer
	var body errorBody
	if f, ok := errors.AsType[*scenarioFailure](err); ok {
		a.Status, a.Detail = f.status, f.detail
		body = errorBody{Status: f.status, Message: f.message}
		if f.withErr {
			body.Errors = items(f.errors)
		}
	} else {
		a.Err, a.Detail = e, emulators.DetailOf(e)
		a.Status, body = s.shape(c, sf, e)
	}
	if sf == surfacePage {
		a.HeadBody = true
		a.Write = func(c echo.Context, status int) error {
			s.renderErrorPage(c, status, body.Message)
			return nil
		}
		return a
	}
	a.Write = func(c echo.Context, status int) error {
		return wire.JSON(c, status, echo.MIMEApplicationJSON, body)
	}
	return a
}

// shape maps an error to Khipu's status and body on a surface (§9.2).
func (s *Service) shape(c echo.Context, sf surface, e *emulators.Error) (int, errorBody) {
	v3 := sf == surfaceV3
	empty := func(status int, msg string) (int, errorBody) {
		return status, errorBody{Status: status, Message: msg, Errors: &[]errorItem{}}
	}
	plain := func(status int, msg string) (int, errorBody) {
		return status, errorBody{Status: status, Message: msg}
	}
	switch e.Kind {
	case emulators.Invalid:
		if e.Code == codeMalformed {
			return empty(http.StatusBadRequest, msgMalformed)
		}
		if len(e.Fields) == 0 {
			return empty(http.StatusBadRequest, cmp.Or(e.Msg, msgV0))
		}
		return http.StatusBadRequest, errorBody{Status: http.StatusBadRequest, Message: msgV0, Errors: items(e.Fields)}
	case emulators.TooLarge:
		return http.StatusBadRequest, errorBody{Status: http.StatusBadRequest, Message: msgV0,
			Errors: &[]errorItem{{Field: "body", Message: msgBodyTooLarge}}}
	case emulators.Unauthorized:
		return plain(e.Kind.Status(), msgV3Credentials)
	case emulators.Forbidden:
		return plain(e.Kind.Status(), e.Msg)
	case emulators.NotFound:
		if e.Code == codePayment && v3 {
			return plain(http.StatusNotFound, msgV3NotFound)
		}
		if sf == surfacePage && e.Code != codePath {
			return plain(http.StatusNotFound, cmp.Or(e.Msg, "Cobro no encontrado"))
		}
		return plain(http.StatusNotFound, msgPathNotFound)
	case emulators.Conflict:
		if v3 {
			return empty(http.StatusBadRequest, e.Msg)
		}
		return plain(http.StatusServiceUnavailable, e.Msg)
	case emulators.MethodNotAllowed:
		return plain(e.Kind.Status(), msgMethod)
	case emulators.UnknownScenario:
		return empty(http.StatusBadRequest, e.Msg)
	case emulators.Unavailable:
		if v3 {
			return plain(http.StatusInternalServerError, msgV3Internal)
		}
		return plain(http.StatusServiceUnavailable, msgS9)
	}
	return plain(http.StatusInternalServerError, msgV3Internal)
}

// httpError converts echo's own errors (unknown path under the tree) into
// the sandbox's kinds.
func httpError(c echo.Context, he *echo.HTTPError) *emulators.Error {
	switch emulators.KindOfStatus(he.Code) {
	case emulators.NotFound:
		return &emulators.Error{Kind: emulators.NotFound, Code: codePath, Msg: msgPathNotFound,
			Detail: "no Khipu route for " + c.Request().Method + " " + c.Request().URL.Path}
	case emulators.MethodNotAllowed:
		return emulators.AsError(methodNotAllowed(c, c.Request().Method, nil))
	case emulators.TooLarge:
		return &emulators.Error{Kind: emulators.TooLarge, Msg: msgBodyTooLarge, Detail: "request body too large"}
	case emulators.Invalid:
		return &emulators.Error{Kind: emulators.Invalid, Msg: msgV0, Detail: "bad request: " + strconv.Quote(he.Error())}
	}
	return &emulators.Error{Kind: emulators.Internal, Msg: msgV3Internal, Detail: "internal error: " + he.Error()}
}
