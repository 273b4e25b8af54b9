package sandbox

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
	"github.com/paysandbox/sandbox/scenarios"
)

// The sandbox's own tree (/_sandbox: admin API, dashboard, demo shop) is
// guarded by one middleware, whatever handler is behind it (issue #13,
// classes 2, 5 and 9):
//
//   - Host allow-list: only names the sandbox serves are answered (IP
//     literals, localhost and the other names reserved for tests, the
//     public URL's host, the providers' hosts, allowed_hosts), so a DNS-rebinding page cannot read
//     the admin API through a name it controls.
//   - Cross-site writes: a state-changing request whose Sec-Fetch-Site is
//     not same-origin or none, or whose Origin is not the sandbox's own, is
//     refused; the admin API refuses bodies in the three content types a
//     page may send cross-site without asking (text/plain, urlencoded and
//     multipart forms) unless X-CSRF-Token carries the session's token;
//     the dashboard's forms carry that token in a hidden csrf field.
//   - Forms are read within formLimit (multipart parts in memory, never
//     spooled to disk) and a form that cannot be read is a 400 before any
//     handler runs: a truncated "reset payu" never resets everything.
//   - A panic in a handler is journaled, logged and answered 500; it never
//     takes the process down.

// formLimit bounds a form posted to the sandbox's own pages: the largest
// is a scenario upload (scenarios.MaxFileSize) plus the form's framing.
const formLimit = scenarios.MaxFileSize + 64<<10

// csrfCookie names the dashboard session whose token the forms carry.
const csrfCookie = "sandbox_session"

func (s *Sandbox) guard(next echo.HandlerFunc) echo.HandlerFunc {
	// The guard's own checks recover as the routes behind it do.
	guarded := s.recoverPanics()(func(c echo.Context) error { return s.guardSandbox(c, next) })
	return func(c echo.Context) error {
		path := c.Request().URL.Path
		if path != "/_sandbox" && !strings.HasPrefix(path, "/_sandbox/") {
			return next(c)
		}
		return guarded(c)
	}
}

// guardSandbox applies the checks of the /_sandbox tree to one request.
func (s *Sandbox) guardSandbox(c echo.Context, next echo.HandlerFunc) error {
	r := c.Request()
	path := r.URL.Path
	if !s.hostAllowed(r.Host) {
		return s.refuse(c, http.StatusForbidden, "forbidden", fmt.Sprintf(
			"Host %q is not a name this sandbox serves: add it to allowed_hosts (--allowed-hosts, SANDBOX_ALLOWED_HOSTS)", hostOnly(r.Host)))
	}
	if !stateChanging(r.Method) {
		return next(c)
	}
	merchant := strings.HasPrefix(path, "/_sandbox/demo/callbacks/") // the demo shop's callback endpoints are a merchant's
	if !merchant {
		if msg := crossSite(r); msg != "" {
			return s.refuse(c, http.StatusForbidden, "forbidden", msg)
		}
	}
	api := strings.HasPrefix(path, "/_sandbox/api/")
	if api {
		if ct := mediaType(r); hasBody(r) && corsSafelisted(ct) && !s.csrfHeaderOK(r) {
			return s.refuse(c, http.StatusUnsupportedMediaType, "invalid",
				"the admin API takes JSON (or YAML for scenario uploads), not "+ct+": send Content-Type: application/json, or X-CSRF-Token")
		}
		return next(c)
	}
	if merchant {
		return next(c)
	}
	defer wire.ReleaseBody(c)
	if err := wire.ParseForm(c, formLimit); err != nil {
		return s.refuse(c, http.StatusBadRequest, "invalid", emulators.AsError(err).Msg+"; nothing was done")
	}
	if s.cfg.AdminToken != "" && !s.tokenOK(c) {
		return next(c) // the route's token check answers 401 first
	}
	if !s.csrfFormOK(r) {
		return s.refuse(c, http.StatusForbidden, "forbidden", "the form's CSRF token is missing or stale: reload the page and submit again")
	}
	return next(c)
}

func stateChanging(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// crossSite explains why a state-changing request came from another site
// ("" when it did not, or when no browser sent it).
func crossSite(r *http.Request) string {
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "", "same-origin", "none":
	default:
		return "cross-site request refused (Sec-Fetch-Site: " + site + "): the sandbox's admin API and dashboard take writes from their own pages and from non-browser clients only"
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if o == "null" || err != nil || !strings.EqualFold(u.Host, r.Host) {
			return "cross-origin request refused (Origin: " + o + "): the sandbox's admin API and dashboard take writes from their own pages and from non-browser clients only"
		}
	}
	return ""
}

func mediaType(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		return mt
	}
	return strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
}

func hasBody(r *http.Request) bool {
	return r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody
}

// corsSafelisted reports the content types a page can POST to another
// origin without a preflight.
func corsSafelisted(mt string) bool {
	switch mt {
	case "text/plain", "application/x-www-form-urlencoded", "multipart/form-data":
		return true
	}
	return false
}

// hostAllowed reports whether the sandbox serves the Host name hostport.
func (s *Sandbox) hostAllowed(hostport string) bool {
	h := hostOnly(hostport)
	if h == "" || reservedName(h) {
		return true
	}
	if net.ParseIP(strings.Trim(h, "[]")) != nil {
		return true // an address is no DNS-rebinding vector
	}
	if _, ok := s.hosts[h]; ok {
		return true
	}
	if s.cfg.PublicURL != "" {
		if u, err := url.Parse(s.cfg.PublicURL); err == nil && hostOnly(u.Host) == h {
			return true
		}
	}
	for _, a := range s.cfg.AllowedHosts {
		a = strings.ToLower(strings.TrimSuffix(a, "."))
		if a == h || (strings.HasPrefix(a, ".") && strings.HasSuffix(h, a)) {
			return true
		}
	}
	return false
}

// reservedName reports the names reserved for testing and documentation
// (RFC 2606, RFC 6761): no one can point them at a page on the public
// internet, so they are no DNS-rebinding vector. Tests use them.
func reservedName(h string) bool {
	for _, d := range []string{"localhost", "test", "example", "invalid", "example.com", "example.net", "example.org"} {
		if h == d || strings.HasSuffix(h, "."+d) {
			return true
		}
	}
	return false
}

// csrfToken returns the token of the request's dashboard session, starting
// a session (a cookie) when there is none. The token is an HMAC of the
// session id under a key that never leaves the process, so a page that can
// set cookies for the sandbox's host (another port of the same host) still
// cannot make a valid pair.
func (s *Sandbox) csrfToken(c echo.Context) string {
	id := ""
	if ck, err := c.Request().Cookie(csrfCookie); err == nil && len(ck.Value) == 32 {
		id = ck.Value
	} else {
		var b [16]byte
		rand.Read(b[:])
		id = hex.EncodeToString(b[:])
		c.SetCookie(&http.Cookie{Name: csrfCookie, Value: id, Path: "/_sandbox", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	}
	return s.csrfFor(id)
}

func (s *Sandbox) csrfFor(session string) string {
	m := hmac.New(sha256.New, s.csrfKey[:])
	m.Write([]byte(session))
	return hex.EncodeToString(m.Sum(nil))
}

func (s *Sandbox) csrfMatches(r *http.Request, token string) bool {
	ck, err := r.Cookie(csrfCookie)
	if err != nil || token == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(token), []byte(s.csrfFor(ck.Value))) == 1
}

func (s *Sandbox) csrfFormOK(r *http.Request) bool { return s.csrfMatches(r, r.PostForm.Get("csrf")) }

func (s *Sandbox) csrfHeaderOK(r *http.Request) bool {
	return s.csrfMatches(r, r.Header.Get("X-CSRF-Token"))
}

// refuse answers in the sandbox's error shape.
func (s *Sandbox) refuse(c echo.Context, status int, kind, msg string) error {
	if c.Request().Method == http.MethodHead {
		return c.NoContent(status)
	}
	return c.JSON(status, apiError{Error: apiErrorBody{Kind: kind, Message: msg}})
}
