package sandbox

import (
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// Per-request deadlines (issue #13, class 4), set through
// http.ResponseController so that each route gets its own: a request body
// must arrive within BodyTimeout, and an answer must be written within
// WriteTimeout, except on event streams, which stay open as long as their
// reader reads (each event must be taken within StreamWriteTimeout). The
// server's own ReadHeaderTimeout and IdleTimeout bound the rest, and
// MaxHeaderBytes the header block.
const (
	BodyTimeout        = 30 * time.Second
	WriteTimeout       = 2 * time.Minute
	StreamWriteTimeout = 30 * time.Second
	ReadHeaderTimeout  = 10 * time.Second
	IdleTimeout        = 2 * time.Minute
	MaxHeaderBytes     = 64 << 10
)

// NewServer returns the http.Server the sandbox is meant to run under:
// its header, idle and size limits (the per-route deadlines are set by the
// sandbox's handler itself).
func (s *Sandbox) NewServer() *http.Server { return NewHTTPServer(s.Handler()) }

// NewHTTPServer returns an http.Server for h with the sandbox's header, idle
// and size limits: every server that serves the sandbox (the main and HTTPS
// listeners, proxy-mode tunnels) is built by it.
func NewHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
}

func (s *Sandbox) deadlines(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		rc := http.NewResponseController(c.Response().Writer)
		if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
			// A body must arrive in time. Once it has been read whole the
			// deadline is lifted: the server's background read (which
			// notices a client going away) must not end a held answer.
			if rc.SetReadDeadline(time.Now().Add(BodyTimeout)) == nil {
				r.Body = &liftOnEOF{ReadCloser: r.Body, rc: rc}
			}
		}
		if !eventStream(r.URL.Path) {
			rc.SetWriteDeadline(time.Now().Add(WriteTimeout))
		}
		return next(c)
	}
}

// liftOnEOF clears the read deadline once the body has been read whole.
type liftOnEOF struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (l *liftOnEOF) Read(p []byte) (int, error) {
	n, err := l.ReadCloser.Read(p)
	if err == io.EOF && !l.done {
		l.done = true
		l.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}
