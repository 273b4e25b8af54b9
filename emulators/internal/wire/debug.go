package wire

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
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

// SetStringToSign sets X-Sandbox-String-To-Sign (made header-safe by safe)
// and X-Sandbox-String-To-Sign-B64, both within DebugHeaderCap: the Base64
// twin encodes the longest prefix of str that fits.
func SetStringToSign(h http.Header, str string, safe func(string) string) {
	h.Set("X-Sandbox-String-To-Sign", DebugValue(safe(str)))
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
