package sandbox

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/web"
)

// pageRoutes registers the dashboard (/_sandbox/) and the demo shop
// (/_sandbox/demo), served from package web.
func (s *Sandbox) pageRoutes(e *echo.Echo) {
	static, err := web.Static(web.FS(), "sandbox")
	if err == nil {
		e.StaticFS("/_sandbox/static", static)
	}
	dash := func(c echo.Context) error { return s.renderPage(c, "dashboard.html", nil) }
	e.GET("/_sandbox", func(c echo.Context) error { return c.Redirect(http.StatusFound, "/_sandbox/") })
	e.GET("/_sandbox/", dash, s.requirePageToken)
}

// renderPage renders one template of the sandbox's own set.
func (s *Sandbox) renderPage(c echo.Context, name string, data any) error {
	t, err := web.Pages(web.FS(), "sandbox", nil)
	if err != nil {
		return err
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, name, data); err != nil {
		return err
	}
	return c.HTML(http.StatusOK, b.String())
}
