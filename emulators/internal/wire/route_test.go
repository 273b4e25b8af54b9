package wire_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators/internal/wire"
)

func TestRouter(t *testing.T) {
	tests := []struct {
		name         string
		rt           wire.Router
		method, path string
		want         string // body: the handler's name or "405 <method> <allow>"
	}{
		{"listed method", wire.Router{}, "POST", "/p", "post"},
		{"other listed method", wire.Router{}, "GET", "/p", "get"},
		{"unlisted method, sorted allow", wire.Router{}, "DELETE", "/p", "405 DELETE GET,POST"},
		{"HEAD without HeadGet", wire.Router{}, "HEAD", "/p", "405 HEAD GET,POST"},
		{"HEAD with HeadGet", wire.Router{HeadGet: true}, "HEAD", "/p", "get"},
		{"odd method", wire.Router{HeadGet: true}, "PROPFIND", "/p", "405 PROPFIND GET,POST"},
		{"slash not registered", wire.Router{}, "GET", "/p/", "404"},
		{"slash registered", wire.Router{Slash: true}, "GET", "/p/", "get"},
		{"slash 405", wire.Router{Slash: true}, "PUT", "/p/", "405 PUT GET,POST"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := echo.New()
			e.HTTPErrorHandler = func(err error, c echo.Context) { _ = c.String(http.StatusNotFound, "404") }
			rt := tc.rt
			rt.NotAllowed = func(c echo.Context, method string, allow []string) error {
				return c.String(http.StatusMethodNotAllowed, "405 "+method+" "+strings.Join(allow, ","))
			}
			rt.Add(e.Group(""), "/p", wire.Methods{
				http.MethodPost: func(c echo.Context) error { return c.String(200, "post") },
				http.MethodGet:  func(c echo.Context) error { return c.String(200, "get") },
			})
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if got := rec.Body.String(); got != tc.want {
				t.Errorf("%s %s = %q, want %q", tc.method, tc.path, got, tc.want)
			}
		})
	}
}

// TestRouterAllowNotShared: a provider that edits the allow list it was
// given does not change the next request's list.
func TestRouterAllowNotShared(t *testing.T) {
	var got []string
	h := wire.Router{NotAllowed: func(c echo.Context, _ string, allow []string) error {
		got = append(got, strings.Join(allow, ","))
		allow[0] = "X"
		return nil
	}}.Handler(wire.Methods{http.MethodGet: nil, http.MethodPost: nil})
	e := echo.New()
	for range 2 {
		_ = h(e.NewContext(httptest.NewRequest("PUT", "/", nil), httptest.NewRecorder()))
	}
	if strings.Join(got, " ") != "GET,POST GET,POST" {
		t.Errorf("allow lists %q", got)
	}
}
