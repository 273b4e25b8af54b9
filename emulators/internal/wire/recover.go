package wire

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators"
)

// Recover turns a panic in a handler into an Internal *emulators.Error (so
// the provider's renderer answers in the provider's shape) and logs it with
// its stack. Install it inside the provider's error middleware.
func Recover(log *slog.Logger) echo.MiddlewareFunc { return RecoverWith(log, nil) }

// RecoverWith is Recover that also calls onPanic (when not nil) with the
// request and the panic value, after logging it: the sandbox journals the
// panics of its own routes there.
func RecoverWith(log *slog.Logger, onPanic func(c echo.Context, v any)) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				if r := recover(); r != nil {
					if r == http.ErrAbortHandler {
						panic(r)
					}
					buf := make([]byte, 8<<10)
					buf = buf[:runtime.Stack(buf, false)]
					log.Error("panic in handler", "path", c.Request().URL.Path, "panic", fmt.Sprint(r), "stack", string(buf))
					if onPanic != nil {
						onPanic(c, r)
					}
					err = &emulators.Error{Kind: emulators.Internal, Msg: "internal error", Detail: fmt.Sprintf("internal error: %v", r)}
				}
			}()
			return next(c)
		}
	}
}
