package wire

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators"
)

// The request pipeline every provider's API runs, written once: the
// scenario header, the bounded body, the provider's envelope and
// credential check (its auth hook), the handler; then, for any error, the
// provider's error shape with the debug headers (Errors). A provider
// plugs in only what is its own: envelope decoding, signature, error body.

// Resolver resolves X-Sandbox-Scenario to a scenario name (the sandbox's
// scenarios.Engine).
type Resolver interface {
	Resolve(header string) (string, error)
}

// Exchange is what the pipeline established about a request before the
// provider's auth hook sees it.
type Exchange struct {
	C    echo.Context
	Note *Note // the exchange's journal note (journaled once, by Journal)
	// Header is X-Sandbox-Scenario as sent ("" when absent); Scenario is
	// the scenario it resolves to.
	Header, Scenario string
	// Body is the raw body, exactly as sent (nil when Limit is 0).
	Body []byte
}

// Pipeline runs one API request through the shared steps; R is the
// provider's authenticated request.
type Pipeline[R any] struct {
	Scenarios Resolver
	// Limit bounds the body; 0 reads none (an unsigned ping).
	Limit int64
	// BodyError turns a body that cannot be read (too large, cut off) into
	// the provider's error; nil returns the error as it is.
	BodyError func(err error) error
	// Auth decodes the provider's envelope and checks its credentials or
	// signature (noting the verdict in x.Note.Signature); nil gives the
	// handler R's zero value.
	Auth func(x Exchange) (R, error)
}

// Run runs the steps in order: operation name and scenario header on the
// note, bounded body, auth hook, handler. The first error ends the
// request; the provider's error step (Errors) answers it.
func (p *Pipeline[R]) Run(c echo.Context, op string, h func(R) error) error {
	x := Exchange{C: c, Note: Annotate(c), Header: c.Request().Header.Get("X-Sandbox-Scenario")}
	if op != "" {
		x.Note.Operation = op
	}
	name, err := p.Scenarios.Resolve(x.Header)
	if err != nil {
		return err
	}
	x.Scenario, x.Note.Scenario = name, name
	if p.Limit > 0 {
		if x.Body, err = ReadBody(c, p.Limit); err != nil {
			if p.BodyError != nil {
				return p.BodyError(err)
			}
			return err
		}
	}
	var r R
	if p.Auth != nil {
		if r, err = p.Auth(x); err != nil {
			return err
		}
	}
	return h(r)
}

// Answer is one error answer as the provider shapes it.
type Answer struct {
	Status int
	// Detail says why, for X-Sandbox-Error-Detail and the journal.
	Detail string
	// Err is the error answered (nil for a provider's own scenario error):
	// a MethodNotAllowed gets Allow, an Internal is logged.
	Err *emulators.Error
	// Write writes the provider's body at Status.
	Write func(c echo.Context, status int) error
	// HeadBody writes the body on HEAD too (a page, PayU's envelope);
	// otherwise HEAD gets the status alone.
	HeadBody bool
}

// Errors is the error step of every provider's tree, as group middleware:
// it leaves answered requests and injected faults alone, turns echo's own
// errors (the router's 404) into *emulators.Error with FromHTTP, lets
// Shape build the provider's answer, and writes it with Allow, the
// journal note and X-Sandbox-Error-Detail.
type Errors struct {
	Debug    bool
	Log      *slog.Logger
	FromHTTP func(c echo.Context, he *echo.HTTPError) *emulators.Error
	// Shape answers err; e is err as an *emulators.Error (FromHTTP or
	// emulators.AsError), for every error that is not the provider's own.
	Shape func(c echo.Context, err error, e *emulators.Error) Answer
}

// Middleware is the group middleware of Errors.
func (es Errors) Middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if err == nil || c.Response().Committed || IsFault(err) {
			return err
		}
		var e *emulators.Error
		if he, ok := errors.AsType[*echo.HTTPError](err); ok {
			e = es.FromHTTP(c, he)
		} else {
			e = emulators.AsError(err)
		}
		a := es.Shape(c, err, e)
		if a.Err != nil {
			switch a.Err.Kind {
			case emulators.MethodNotAllowed:
				c.Response().Header().Set("Allow", strings.Join(a.Err.Allow, ", "))
			case emulators.Internal:
				es.Log.Error("internal error", "path", c.Request().URL.Path, "err", err)
			}
		}
		ErrorDetail(c, a.Detail, es.Debug)
		if c.Request().Method == http.MethodHead && !a.HeadBody {
			return c.NoContent(a.Status)
		}
		return a.Write(c, a.Status)
	}
}
