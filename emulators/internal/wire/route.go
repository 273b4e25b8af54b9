package wire

import (
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"
)

// Methods maps the HTTP methods of one path to their handlers.
type Methods map[string]echo.HandlerFunc

// Router is the method routing every provider shares: one handler per
// path that dispatches on the method, so a known path with another method
// always answers the provider's 405 with a correct Allow list.
type Router struct {
	// Slash also registers path + "/" (Khipu answers both).
	Slash bool
	// HeadGet lets HEAD reach the GET handler of a path that has one.
	HeadGet bool
	// NotAllowed builds the provider's 405 error for method; allow is the
	// sorted list of the path's methods (HEAD not added for HeadGet).
	NotAllowed func(c echo.Context, method string, allow []string) error
}

// Add registers p on g (and p + "/" with Slash) for every method.
func (rt Router) Add(g *echo.Group, p string, m Methods) {
	h := rt.Handler(m)
	g.Any(p, h)
	if rt.Slash {
		g.Any(p+"/", h)
	}
}

// Handler returns the dispatching handler of one path, for a provider
// that finds the path itself (Hambit's country segments) and then hands
// the method to the kit.
func (rt Router) Handler(m Methods) echo.HandlerFunc {
	allow := make([]string, 0, len(m))
	for k := range m {
		allow = append(allow, k)
	}
	slices.Sort(allow)
	get := m[http.MethodGet]
	return func(c echo.Context) error {
		method := c.Request().Method
		if f, ok := m[method]; ok {
			return f(c)
		}
		if rt.HeadGet && get != nil && method == http.MethodHead {
			return get(c)
		}
		return rt.NotAllowed(c, method, slices.Clone(allow))
	}
}
