package emulators

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Kind classifies an error so that each provider can map it to its own
// status code and envelope in exactly one place.
//
// Do not reorder this list: the values are compared, never persisted, but
// keeping them stable keeps test output stable.
type Kind int

const (
	Internal         Kind = iota // a bug or an unexpected failure; rendered without detail
	Invalid                      // the request is malformed or a field breaks a documented rule
	Unauthorized                 // credentials are missing (e.g. no API key)
	Forbidden                    // credentials are present but wrong (bad signature, unknown key)
	NotFound                     // the object or path does not exist
	Conflict                     // the object's current state refuses the operation
	MethodNotAllowed             // known path, wrong HTTP method
	TooLarge                     // the request body exceeds the provider's limit
	Unavailable                  // the provider is "down" (scenario-injected outage)
	UnknownScenario              // X-Sandbox-Scenario names no known scenario
)

var kindNames = [...]string{
	Internal:         "internal",
	Invalid:          "invalid",
	Unauthorized:     "unauthorized",
	Forbidden:        "forbidden",
	NotFound:         "not_found",
	Conflict:         "conflict",
	MethodNotAllowed: "method_not_allowed",
	TooLarge:         "too_large",
	Unavailable:      "unavailable",
	UnknownScenario:  "unknown_scenario",
}

// String returns the snake_case name of k, as used by the admin API.
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// FieldError is one broken rule of one request field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	// Code is an optional provider-specific code for the rule (e.g. Khipu's F3).
	Code string `json:"code,omitempty"`
}

// Error is the one error type that travels from the core and the services to
// the provider's renderer. Msg is safe to show to the API client; Detail is a
// one-line English explanation for the X-Sandbox-Error-Detail header and the
// journal; Err is the cause, logged but never rendered.
type Error struct {
	Kind   Kind
	Msg    string
	Detail string
	Fields []FieldError
	// Code is an optional provider-specific error code (Hambit "307", Khipu "A2", ...).
	Code string
	// Allow lists the methods of a known path (Kind MethodNotAllowed).
	Allow []string
	Err   error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.String())
	if e.Msg != "" {
		b.WriteString(": ")
		b.WriteString(e.Msg)
	}
	if e.Detail != "" && e.Detail != e.Msg {
		b.WriteString(" (")
		b.WriteString(e.Detail)
		b.WriteString(")")
	}
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of the given kind whose message and detail are
// the formatted text.
func Errorf(kind Kind, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Kind: kind, Msg: msg, Detail: msg}
}

// AsError returns err as an *Error. A nil err gives nil; any other error is
// wrapped as Internal, so renderers never see an unclassified error.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	return &Error{Kind: Internal, Msg: "internal error", Err: err}
}

// KindOf returns the Kind of err (Internal for foreign errors).
func KindOf(err error) Kind {
	if e := AsError(err); e != nil {
		return e.Kind
	}
	return Internal
}

// DetailOf returns the most specific one-line explanation of err.
func DetailOf(err error) string {
	e := AsError(err)
	if e == nil {
		return ""
	}
	switch {
	case e.Detail != "":
		return e.Detail
	case e.Msg != "" && len(e.Fields) == 0:
		return e.Msg
	}
	var parts []string
	if e.Msg != "" {
		parts = append(parts, e.Msg)
	}
	for _, f := range e.Fields {
		parts = append(parts, f.Field+": "+f.Message)
	}
	return strings.Join(parts, "; ")
}

// Status is the HTTP status an error of kind k gets unless the provider's
// spec says otherwise: the one default every renderer (the three providers
// and the admin API) starts from.
func (k Kind) Status() int {
	switch k {
	case Invalid, UnknownScenario:
		return http.StatusBadRequest
	case Unauthorized:
		return http.StatusUnauthorized
	case Forbidden:
		return http.StatusForbidden
	case NotFound:
		return http.StatusNotFound
	case Conflict:
		return http.StatusConflict
	case MethodNotAllowed:
		return http.StatusMethodNotAllowed
	case TooLarge:
		return http.StatusRequestEntityTooLarge
	case Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// KindOfStatus is the kind of an HTTP status that arrives without one (the
// router's own 404 and 405, echo's 413): the inverse of Status. Other
// client errors are Invalid, everything else Internal.
func KindOfStatus(status int) Kind {
	for k := Invalid; k <= UnknownScenario; k++ {
		if k != UnknownScenario && k.Status() == status {
			return k
		}
	}
	if status >= 400 && status < 500 {
		return Invalid
	}
	return Internal
}
