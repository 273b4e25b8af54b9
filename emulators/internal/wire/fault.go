package wire

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// Network faults a scenario can inject (docs/design.md, Scenario vocabulary).
const (
	FaultTimeout   = "timeout"   // accept the request and never answer
	FaultReset     = "reset"     // close the connection with no answer
	FaultMalformed = "malformed" // HTTP 200, provider content type, body cut short
)

// faultDone is returned by Fault after it has dealt with the connection;
// error renderers leave the response alone (it is marked committed).
type faultDone struct{}

func (faultDone) Error() string { return "scenario fault injected" }

// IsFault reports whether err is the marker Fault returns.
func IsFault(err error) bool { _, ok := err.(faultDone); return ok }

// Fault applies a network fault. For "malformed", sample is the body the
// provider would have sent; half of it is written. "timeout" holds the
// request until the client goes away or the server shuts down (request
// contexts end at shutdown). The caller returns Fault's error as is.
func Fault(c echo.Context, kind, contentType string, sample []byte) error {
	Annotate(c).Error = "scenario fault: " + kind
	switch kind {
	case FaultTimeout:
		select {
		case <-c.Request().Context().Done():
		case <-Stopping(c):
		}
		// Nothing is written: the client has gone or the server is stopping.
		c.Response().Committed = true
		return faultDone{}
	case FaultReset:
		hj, ok := c.Response().Writer.(http.Hijacker)
		if !ok {
			return faultDone{}
		}
		conn, _, err := hj.Hijack()
		if err == nil {
			if tc, ok := conn.(interface{ SetLinger(int) error }); ok {
				tc.SetLinger(0) // RST instead of FIN, like a crashed upstream
			}
			conn.Close()
		}
		c.Response().Committed = true
		return faultDone{}
	default: // malformed
		cut := sample[:len(sample)/2]
		if len(cut) == 0 {
			cut = []byte("{")
		}
		c.Response().Header().Set(echo.HeaderContentType, contentType)
		c.Response().WriteHeader(http.StatusOK)
		c.Response().Write(cut)
		return faultDone{}
	}
}

// Sleep waits d of wall-clock time (a scenario's response_delay), or until
// the request ends or the sandbox begins to shut down; it reports whether
// the full delay elapsed.
func Sleep(c echo.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.Request().Context().Done():
		return false
	case <-Stopping(c):
		return false
	}
}

// SetStopping records the channel that closes when the sandbox begins to
// shut down (set by the sandbox on every provider request).
func SetStopping(c echo.Context, ch <-chan struct{}) { stateOf(c).stopping = ch }

// Stopping returns the shutdown channel of the request (never closed when
// the sandbox did not set one).
func Stopping(c echo.Context) <-chan struct{} {
	if s, ok := c.Get(keyState).(*state); ok {
		return s.stopping
	}
	return nil
}
