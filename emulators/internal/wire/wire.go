// Package wire is the provider kit: the HTTP plumbing every provider
// emulator shares, so that a provider package keeps only its envelope, its
// signature and its state machine. It is the one home of:
//
//   - method routing (Router, Methods): one handler per path, the
//     provider's 405 with a sorted Allow list;
//   - the request pipeline (Pipeline.Run): X-Sandbox-Scenario → bounded
//     body (ReadBody) → the provider's auth hook → handler, and its error
//     step (Errors): the provider's Shape, Allow, the journal note and
//     X-Sandbox-Error-Detail;
//   - header-safe debug values (HeaderSafe, SetDebug, SetStringToSign,
//     ErrorDetail), capped at DebugHeaderCap;
//   - decoding JSON with literal values (DecodeLiteral, DecodeObject,
//     LitKind): numbers as sent, linear, depth-bounded;
//   - rendering JSON the way payment APIs write it, the per-request facts
//     routing establishes (host routing, the link base), journaling each
//     API exchange once with its signature note (Journal, Annotate), and
//     the network faults scenarios can inject.
package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators"
)

// keyState is the one echo context key of this package: everything the
// request path records lives in one struct, so a request costs one entry in
// echo's per-request map instead of one per fact.
const keyState = "wire.state"

type state struct {
	body     []byte
	hasBody  bool
	note     Note
	info     Info
	hasInfo  bool
	stopping <-chan struct{}
	reserved int64 // bytes of the body budget held (budget.go)
}

func stateOf(c echo.Context) *state {
	if s, ok := c.Get(keyState).(*state); ok {
		return s
	}
	s := &state{}
	c.Set(keyState, s)
	return s
}

// ReadBody reads the request body once, up to limit bytes, and keeps it for
// the journal. A larger body is a TooLarge error; the bytes are returned
// exactly as sent (signatures are computed over them).
func ReadBody(c echo.Context, limit int64) ([]byte, error) {
	st := stateOf(c)
	if st.hasBody {
		return st.body, nil
	}
	r := c.Request()
	if r.Body == nil {
		st.body, st.hasBody = []byte{}, true
		return st.body, nil
	}
	if err := reserveBody(c, st, limit); err != nil {
		return nil, err
	}
	var b []byte
	var err error
	if n := r.ContentLength; n >= 0 && n <= limit {
		// The usual case: the length is announced, read exactly that (one
		// allocation), then make sure nothing follows.
		b = make([]byte, n)
		if _, err = io.ReadFull(r.Body, b); err == nil {
			var one [1]byte
			if m, _ := r.Body.Read(one[:]); m > 0 {
				rest, rerr := io.ReadAll(io.LimitReader(r.Body, limit))
				b, err = append(append(b, one[0]), rest...), rerr
			}
		} else if err == io.ErrUnexpectedEOF || err == io.EOF {
			err = fmt.Errorf("the body ended after %d of the %d bytes announced", len(b), n)
		}
	} else {
		b, err = io.ReadAll(io.LimitReader(r.Body, limit+1))
	}
	if err != nil {
		return nil, &emulators.Error{Kind: emulators.Invalid, Msg: "the request body could not be read", Detail: "reading the body: " + err.Error(), Err: err}
	}
	if int64(len(b)) > limit {
		st.body = b[:limit] // journaled as received (cut); the request is refused
		return nil, &emulators.Error{Kind: emulators.TooLarge, Msg: "request body too large",
			Detail: "request body exceeds " + HumanBytes(limit)}
	}
	st.body, st.hasBody = b, true
	return b, nil
}

// Body returns the body ReadBody read, if any.
func Body(c echo.Context) []byte {
	if s, ok := c.Get(keyState).(*state); ok {
		return s.body
	}
	return nil
}

// HumanBytes renders a byte count as 64 KiB, 1 MiB, 10 MiB.
func HumanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// MarshalJSON encodes v compactly without HTML escaping (payment APIs write
// "<" and "&" as they are), without a trailing newline.
func MarshalJSON(v any) ([]byte, error) {
	buf := jsonBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<10 {
			buf.Reset()
			jsonBuffers.Put(buf)
		}
	}()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.Clone(bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})), nil
}

var jsonBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// JSON writes v as JSON with the given status and content type.
func JSON(c echo.Context, status int, contentType string, v any) error {
	b, err := MarshalJSON(v)
	if err != nil {
		return err
	}
	return Blob(c, status, contentType, b)
}

// Blob writes b with the given status and content type. The content type's
// header value is shared between answers (net/http copies header values
// when it writes them), which saves an allocation per answer.
func Blob(c echo.Context, status int, contentType string, b []byte) error {
	res := c.Response()
	res.Header()[echo.HeaderContentType] = contentTypeValue(contentType)
	res.WriteHeader(status)
	_, err := res.Write(b)
	return err
}

// contentTypes holds the header values of the content types the providers
// answer with; it is read-only after package initialisation, so sandboxes in
// one process share nothing mutable through it. Other types get a fresh
// value per answer.
var contentTypes = func() map[string][]string {
	m := map[string][]string{}
	for _, ct := range []string{echo.MIMEApplicationJSON, "application/json; charset=UTF-8", "application/json;charset=UTF-8",
		"application/json;charset=utf-8", echo.MIMEApplicationXMLCharsetUTF8, echo.MIMETextHTMLCharsetUTF8, echo.MIMETextPlainCharsetUTF8} {
		m[ct] = []string{ct}
	}
	return m
}()

func contentTypeValue(ct string) []string {
	if v, ok := contentTypes[ct]; ok {
		return v
	}
	return []string{ct}
}

// CheckJSONDepth reports an error when the JSON text nests objects and arrays
// deeper than max. It does not validate the JSON otherwise.
func CheckJSONDepth(b []byte, max int) error {
	depth := 0
	inString, escaped := false, false
	for _, ch := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case ch == '\\':
				escaped = true
			case ch == '"':
				inString = false
			}
			continue
		}
		switch ch {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > max {
				return errors.New("JSON nesting deeper than " + strconv.Itoa(max))
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

// Info is what routing establishes about a request.
type Info struct {
	// HostRouted is true when the request reached its provider through the
	// Host header (a real provider host) rather than the /{provider} prefix.
	HostRouted bool
	// OriginalPath is the path as the client sent it (before the prefix was
	// added for host routing), decoded.
	OriginalPath string
	// OriginalRawPath is the same path in its escaped form, as it appeared on
	// the request line (what a client signs).
	OriginalRawPath string
}

// SetInfo records routing facts (called by the sandbox's host router).
func SetInfo(c echo.Context, i Info) {
	st := stateOf(c)
	st.info, st.hasInfo = i, true
}

// RequestInfo returns the routing facts of the request.
func RequestInfo(c echo.Context) Info {
	if s, ok := c.Get(keyState).(*state); ok && s.hasInfo {
		return s.info
	}
	return Info{OriginalPath: c.Request().URL.Path, OriginalRawPath: c.Request().URL.EscapedPath()}
}

// LinkBase is the base of every URL handed out for an object created by this
// request (docs/design.md, Link base): publicURL without a trailing "/" when set,
// else scheme://host the client used: "https" on a TLS connection (the
// HTTPS listener, a proxy CONNECT tunnel), the Host it sent (for a proxy
// request in absolute form, the URL's host) without the scheme's default
// port, and the address it reached when it sent no Host (HTTP/1.0).
func LinkBase(r *http.Request, publicURL string) string {
	if publicURL != "" {
		return strings.TrimRight(publicURL, "/")
	}
	scheme, defaultPort := "http", "80"
	if r.TLS != nil {
		scheme, defaultPort = "https", "443"
	}
	host := r.Host
	if host == "" {
		if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
			host = a.String()
		}
	}
	if h, port, err := net.SplitHostPort(host); err == nil && port == defaultPort {
		host = h
		if strings.Contains(h, ":") {
			host = "[" + h + "]"
		}
	}
	return scheme + "://" + strings.ToLower(host)
}

// IsHostRouted is a convenience for RequestInfo(c).HostRouted.
func IsHostRouted(c echo.Context) bool { return RequestInfo(c).HostRouted }

// Static answers a provider page's asset (CSS, JS, SVG) read from fsys,
// with its content type and the given Cache-Control, and keeps it out of the
// journal. A name the file system does not hold returns an error matching
// fs.ErrNotExist and writes nothing, so that the provider answers in its own
// error shape.
func Static(c echo.Context, fsys fs.FS, name, cacheControl string) error {
	Annotate(c).Skip = true
	b, err := fs.ReadFile(fsys, name) // refuses "", ".." and other invalid names
	if err != nil {
		return fmt.Errorf("static file %q: %w", name, fs.ErrNotExist)
	}
	ct := "application/octet-stream"
	switch path.Ext(name) {
	case ".css":
		ct = "text/css; charset=utf-8"
	case ".js":
		ct = "text/javascript; charset=utf-8"
	case ".svg":
		ct = "image/svg+xml"
	}
	if cacheControl != "" {
		c.Response().Header().Set("Cache-Control", cacheControl)
	}
	return c.Blob(http.StatusOK, ct, b)
}
