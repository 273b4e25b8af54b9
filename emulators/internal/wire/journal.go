package wire

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"
	"unsafe"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators/internal/journal"
)

// Note collects what a handler learned about its request for the journal:
// the signature diagnostics, the objects it touched, the scenario that
// decided it. Handlers fill it through Annotate; the Journal middleware
// writes it out with the exchange.
type Note struct {
	Operation string
	Objects   []string
	Signature *journal.Signature
	Scenario  string
	Rule      string
	Error     string
	Skip      bool // do not journal this exchange (static assets)
}

// Annotate returns the request's Note (a fresh one outside the middleware).
func Annotate(c echo.Context) *Note {
	return &stateOf(c).note
}

// AddObject records that the request concerns object id.
func (n *Note) AddObject(id string) {
	if id == "" {
		return
	}
	for _, o := range n.Objects {
		if o == id {
			return
		}
	}
	n.Objects = append(n.Objects, id)
}

// Journal returns middleware that records every exchange under provider,
// with request and response bodies up to the journal's cap. It must be the
// outermost middleware of the provider's group so that it sees the response
// the provider's error renderer wrote.
func Journal(jr *journal.Journal, provider string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			note := Annotate(c)
			start := time.Now()
			res := c.Response()
			tee := &teeWriter{ResponseWriter: res.Writer, limit: jr.BodyCap()}
			res.Writer = tee
			defer ReleaseBody(c)
			err := next(c)
			if err != nil && !res.Committed {
				c.Error(err) // render now, so the journal sees the answer
			}
			res.Writer = tee.ResponseWriter
			if note.Skip {
				return nil
			}
			req := c.Request()
			info := RequestInfo(c)
			path := info.OriginalPath
			if q := req.URL.RawQuery; q != "" {
				path += "?" + q
			}
			body := Body(c)
			cut := len(body) > jr.BodyCap()
			if cut {
				body = body[:jr.BodyCap()] // the journal copies only what it keeps
			}
			// The request's and the response's header maps are not touched by
			// net/http once the handler has returned: the journal keeps them
			// as they are (Add copies only to redact a secret).
			x := &journal.Exchange{
				Method: req.Method, Path: path, Host: req.Host, Remote: req.RemoteAddr,
				Status: res.Status, DurationMS: float64(time.Since(start).Microseconds()) / 1000,
				RequestHeaders: req.Header, RequestBody: string(body), RequestTruncated: cut,
				ResponseHeaders: res.Header(), ResponseBody: unsafe.String(unsafe.SliceData(tee.buf), len(tee.buf)),
				ResponseTruncated: tee.truncated,
				Scenario:          note.Scenario, Rule: note.Rule, Operation: note.Operation,
				Error: note.Error, Signature: note.Signature,
			}
			if x.Error == "" && res.Status >= 400 {
				x.Error = res.Header().Get("X-Sandbox-Error-Detail")
			}
			summary := req.Method + " " + info.OriginalPath + " → " + strconv.Itoa(res.Status)
			if note.Operation != "" {
				summary = note.Operation + ": " + summary
			}
			if note.Signature != nil && note.Signature.Verdict != journal.VerdictOK {
				summary += " (signature " + note.Signature.Verdict + ")"
			}
			jr.Add(journal.Entry{Kind: journal.KindRequest, Provider: provider, Objects: note.Objects, Summary: summary, Request: x})
			return nil
		}
	}
}

// teeWriter copies the first limit bytes of the response aside.
type teeWriter struct {
	http.ResponseWriter
	buf       []byte // never written once the exchange is journaled (it is aliased there)
	limit     int
	truncated bool
}

// WriteHeader caps the debug headers before they are sent.
func (t *teeWriter) WriteHeader(code int) {
	capDebugHeaders(t.ResponseWriter.Header())
	t.ResponseWriter.WriteHeader(code)
}

func (t *teeWriter) Write(p []byte) (int, error) {
	if t.buf == nil && len(p) > 0 {
		// Most answers are written in one piece: one exact allocation.
		t.buf = make([]byte, 0, min(len(p), t.limit))
	}
	if room := t.limit - len(t.buf); room > 0 {
		if len(p) <= room {
			t.buf = append(t.buf, p...)
		} else {
			t.buf = append(t.buf, p[:room]...)
			t.truncated = true
		}
	} else if len(p) > 0 {
		t.truncated = true
	}
	return t.ResponseWriter.Write(p)
}

func (t *teeWriter) Flush() {
	if f, ok := t.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (t *teeWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := t.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("connection cannot be hijacked")
}

func (t *teeWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }
