package wire_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
)

// resolver knows one scenario, "default", which "" resolves to.
type resolver struct{}

func (resolver) Resolve(h string) (string, error) {
	if h == "" || h == "default" {
		return "default", nil
	}
	return "", &emulators.Error{Kind: emulators.UnknownScenario, Msg: "unknown scenario " + h}
}

func TestPipelineRun(t *testing.T) {
	tests := []struct {
		name     string
		limit    int64
		scenario string
		body     string
		authErr  bool
		want     string // the steps taken, then the outcome
	}{
		{"all steps", 10, "", "abc", false, "auth(default,abc) handler(abc) ok"},
		{"explicit scenario", 10, "default", "", false, "auth(default,) handler() ok"},
		{"unknown scenario stops first", 10, "nope", "abc", false, "error unknown_scenario"},
		{"body over the limit", 2, "", "abc", false, "error invalid: body mapped"},
		{"auth refuses", 10, "", "abc", true, "auth(default,abc) error forbidden"},
		{"no body read", 0, "", "abc", false, "auth(default,) handler() ok"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var steps []string
			p := &wire.Pipeline[string]{Scenarios: resolver{}, Limit: tc.limit,
				BodyError: func(err error) error {
					return &emulators.Error{Kind: emulators.Invalid, Msg: "body mapped", Err: err}
				},
				Auth: func(x wire.Exchange) (string, error) {
					steps = append(steps, "auth("+x.Scenario+","+string(x.Body)+")")
					if x.Note.Operation != "op" || x.Note.Scenario != x.Scenario {
						t.Errorf("note %+v", x.Note)
					}
					if tc.authErr {
						return "", &emulators.Error{Kind: emulators.Forbidden}
					}
					return string(x.Body), nil
				}}
			r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
			if tc.scenario != "" {
				r.Header.Set("X-Sandbox-Scenario", tc.scenario)
			}
			c := echo.New().NewContext(r, httptest.NewRecorder())
			err := p.Run(c, "op", func(b string) error { steps = append(steps, "handler("+b+")"); return nil })
			if err != nil {
				e := emulators.AsError(err)
				steps = append(steps, "error "+e.Kind.String())
				if e.Msg == "body mapped" {
					steps[len(steps)-1] += ": body mapped"
				}
			} else {
				steps = append(steps, "ok")
			}
			if got := strings.Join(steps, " "); got != tc.want {
				t.Errorf("steps %q, want %q", got, tc.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	var logged bytes.Buffer
	es := wire.Errors{Debug: true, Log: slog.New(slog.NewTextHandler(&logged, nil)),
		FromHTTP: func(c echo.Context, he *echo.HTTPError) *emulators.Error {
			return &emulators.Error{Kind: emulators.KindOfStatus(he.Code), Detail: "from echo"}
		},
		Shape: func(c echo.Context, err error, e *emulators.Error) wire.Answer {
			return wire.Answer{Status: e.Kind.Status(), Detail: emulators.DetailOf(e), Err: e, HeadBody: c.Path() == "/page",
				Write: func(c echo.Context, status int) error { return c.String(status, "shaped "+e.Kind.String()) }}
		}}
	tests := []struct {
		name, method string
		err          error
		status       int
		body, allow  string
		detail       string
	}{
		{"405 with Allow", "PUT", &emulators.Error{Kind: emulators.MethodNotAllowed, Allow: []string{"GET", "POST"}, Detail: "wrong method é"},
			405, "shaped method_not_allowed", "GET, POST", "wrong method %C3%A9"},
		{"echo's own error", "GET", echo.ErrNotFound, 404, "shaped not_found", "", "from echo"},
		{"HEAD without body", "HEAD", &emulators.Error{Kind: emulators.Conflict, Detail: "busy"}, 409, "", "", "busy"},
		{"internal logged", "GET", errors.New("boom"), 500, "shaped internal", "", "internal error"},
		{"fault left alone", "GET", nil, 200, "ab", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := echo.New()
			rec := httptest.NewRecorder()
			c := e.NewContext(httptest.NewRequest(tc.method, "/", nil), rec)
			err := es.Middleware(func(c echo.Context) error {
				if tc.err == nil { // a scenario's malformed answer: half the sample, then the fault
					return wire.Fault(c, wire.FaultMalformed, "text/plain", []byte("abcd"))
				}
				return tc.err
			})(c)
			if tc.err == nil {
				if !wire.IsFault(err) || rec.Body.String() != tc.body || rec.Header().Get("X-Sandbox-Error-Detail") != "" {
					t.Errorf("fault: err %v, body %q", err, rec.Body)
				}
				return
			}
			if err != nil || rec.Code != tc.status || rec.Body.String() != tc.body || rec.Header().Get("Allow") != tc.allow ||
				rec.Header().Get("X-Sandbox-Error-Detail") != tc.detail {
				t.Errorf("err %v, %d %q, Allow %q, detail %q", err, rec.Code, rec.Body, rec.Header().Get("Allow"), rec.Header().Get("X-Sandbox-Error-Detail"))
			}
			if wire.Annotate(c).Error != emulators.DetailOf(emulators.AsError(tc.err)) && tc.name != "echo's own error" {
				t.Errorf("journal note error %q", wire.Annotate(c).Error)
			}
		})
	}
	if !strings.Contains(logged.String(), "boom") || strings.Count(logged.String(), "internal error") != 1 {
		t.Errorf("log %q: want the internal error once", logged.String())
	}
}
