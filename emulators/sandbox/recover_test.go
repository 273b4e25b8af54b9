package sandbox

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators/internal/admin"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
)

// panicking is a provider whose admin reads panic, standing in for a bug
// reached through the admin API or the dashboard.
type panicking struct{ provider }

func (panicking) Objects(admin.Query) ([]admin.Object, int) { panic("boom in Objects") }
func (panicking) Object(string) (admin.Object, error)       { panic("boom in Object") }

func newPanicking(t *testing.T) *Sandbox {
	t.Helper()
	cfg := DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	for i, p := range s.providers {
		if p.Name() == "khipu" {
			s.providers[i] = panicking{p}
		}
	}
	return s
}

func serve(s *Sandbox, method, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec
}

// panicNoted reports whether the journal holds the note of a panic on path.
func panicNoted(s *Sandbox, path string) bool {
	for _, e := range s.journal.List(journal.Filter{Kinds: []journal.Kind{journal.KindNote}, Limit: 100}) {
		if strings.Contains(e.Summary, "panic in GET "+path) && strings.Contains(e.Summary, "boom") {
			return true
		}
	}
	return false
}

func TestPanicsOnSandboxRoutesAreRecovered(t *testing.T) {
	t.Run("admin API answers its JSON error shape", func(t *testing.T) {
		s := newPanicking(t)
		for _, path := range []string{"/_sandbox/api/objects/khipu/abc", "/_sandbox/api/objects"} {
			rec := serve(s, http.MethodGet, path)
			var body apiError
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 500 ||
				body.Error.Kind != "internal" || body.Error.Message != "internal error" {
				t.Errorf("GET %s: %d %s", path, rec.Code, rec.Body)
			}
			if !panicNoted(s, path) {
				t.Errorf("GET %s: the panic is not journaled", path)
			}
		}
		// The server still answers.
		if rec := serve(s, http.MethodGet, "/_sandbox/api/clock"); rec.Code != 200 {
			t.Errorf("after the panics: GET /_sandbox/api/clock %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("dashboard answers an HTML error page", func(t *testing.T) {
		s := newPanicking(t)
		for _, path := range []string{"/_sandbox/", "/_sandbox/objects/khipu/abc"} {
			rec := serve(s, http.MethodGet, path)
			if rec.Code != 500 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") ||
				!strings.Contains(rec.Body.String(), "internal error") || strings.Contains(rec.Body.String(), "boom") {
				t.Errorf("GET %s: %d %s %.300s", path, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
			if !panicNoted(s, path) {
				t.Errorf("GET %s: the panic is not journaled", path)
			}
		}
	})
	t.Run("page guard of the demo shop", func(t *testing.T) {
		s := newPanicking(t)
		s.e.GET("/_sandbox/demo/boom", func(echo.Context) error { panic("boom in a demo page") }, s.dash.pageGuard())
		rec := serve(s, http.MethodGet, "/_sandbox/demo/boom")
		if rec.Code != 500 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") || !strings.Contains(rec.Body.String(), "internal error") {
			t.Errorf("demo page: %d %.300s", rec.Code, rec.Body)
		}
		if !panicNoted(s, "/_sandbox/demo/boom") {
			t.Error("the demo panic is not journaled")
		}
	})
}
