package wire

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// DebugHeaderCap bounds every X-Sandbox-* response header value (issue
// #13): a string to sign built from a 10 MB body would otherwise become a
// header block no HTTP client can parse. The full text (up to the
// journal's own caps) stays in the journal entry of the exchange.
const DebugHeaderCap = 8 << 10

// DebugValue returns s cut to DebugHeaderCap bytes, with a marker giving
// the full length when it is cut. The marker is ASCII.
func DebugValue(s string) string {
	if len(s) <= DebugHeaderCap {
		return s
	}
	marker := "...[cut: " + strconv.Itoa(len(s)) + " bytes in all; the journal has more]"
	return s[:DebugHeaderCap-len(marker)] + marker
}

// HeaderSafe renders s for a header value, the same way for every
// provider: each byte outside printable ASCII (control bytes, DEL, and the
// bytes of non-ASCII UTF-8) becomes %XX in upper-case hex; everything else,
// "%" included, stays as it is. The exact bytes are in the journal (and,
// for the string to sign, in its Base64 twin). Text that needs no change
// is returned without a copy.
func HeaderSafe(s string) string {
	i := 0
	for i < len(s) && s[i] >= 0x20 && s[i] <= 0x7e {
		i++
	}
	if i == len(s) {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+16)
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		if c := s[i]; c >= 0x20 && c <= 0x7e {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&0xf])
		}
	}
	return string(b)
}

// SetDebug sets the debug header name to value, header-safe and within
// DebugHeaderCap.
func SetDebug(h http.Header, name, value string) {
	h.Set(name, DebugValue(HeaderSafe(value)))
}

// ErrorDetail records why an answer is an error: in the exchange's journal
// note and, with debug headers on, in X-Sandbox-Error-Detail.
func ErrorDetail(c echo.Context, detail string, debug bool) {
	Annotate(c).Error = detail
	if debug && detail != "" {
		SetDebug(c.Response().Header(), "X-Sandbox-Error-Detail", detail)
	}
}

// SetStringToSign sets X-Sandbox-String-To-Sign (header-safe) and
// X-Sandbox-String-To-Sign-B64, both within DebugHeaderCap: the Base64
// twin encodes the longest prefix of str that fits.
func SetStringToSign(h http.Header, str string) {
	SetDebug(h, "X-Sandbox-String-To-Sign", str)
	raw := str
	if max := base64.StdEncoding.DecodedLen(DebugHeaderCap); len(raw) > max {
		raw = raw[:max]
	}
	h.Set("X-Sandbox-String-To-Sign-B64", base64.StdEncoding.EncodeToString([]byte(raw)))
	if len(raw) < len(str) {
		h.Set("X-Sandbox-String-To-Sign-Length", strconv.Itoa(len(str)))
	}
}

// capDebugHeaders enforces DebugHeaderCap on every X-Sandbox-* header of h,
// whoever set it: the safety net under SetStringToSign and DebugValue.
func capDebugHeaders(h http.Header) {
	for k, vs := range h {
		if !strings.HasPrefix(k, "X-Sandbox-") {
			continue
		}
		for i, v := range vs {
			if len(v) > DebugHeaderCap {
				vs[i] = DebugValue(v)
			}
		}
	}
}
