package khipu

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// API 2.0 request signatures (§5) and API 3.0 notification signatures
// (§13.2), as pure functions.

// enc is the signing encoding of §5.1: every UTF-8 byte outside
// A–Z a–z 0–9 - . _ ~ becomes %XX with upper-case hex (RFC 3986, PHP
// rawurlencode). Space is %20, never +.
func enc(s string) string {
	const hexUpper = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hexUpper[c>>4], hexUpper[c&15])
	}
	return string(b)
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// params are the decoded request parameters of §5.2 (query plus form body),
// one value per key: the last one wins.
type params map[string]string

// stringToSign builds the canonical string of §5.1:
// METHOD&enc(url)&enc(k1)=enc(v1)&… with keys in byte order of enc(key).
func stringToSign(method, rawURL string, p params) string {
	return signPrefix(method, rawURL) + paramsToSign(p)
}

// signPrefix is the "METHOD&enc(url)" head of the string to sign.
func signPrefix(method, rawURL string) string {
	return strings.ToUpper(method) + "&" + enc(rawURL)
}

// paramsToSign is the "&enc(k)=enc(v)…" tail of the string to sign, keys in
// byte order of their encoding; it is the same for every candidate URL.
func paramsToSign(p params) string {
	type pair struct{ k, v string }
	pairs := make([]pair, 0, len(p))
	n := 0
	for k, v := range p {
		kv := pair{enc(k), enc(v)}
		pairs = append(pairs, kv)
		n += 2 + len(kv.k) + len(kv.v)
	}
	slices.SortFunc(pairs, func(a, b pair) int { return strings.Compare(a.k, b.k) })
	var b strings.Builder
	b.Grow(n)
	for _, kv := range pairs {
		b.WriteByte('&')
		b.WriteString(kv.k)
		b.WriteByte('=')
		b.WriteString(kv.v)
	}
	return b.String()
}

// hmacHex returns lower-case hex HMAC-SHA256 of msg under secret.
func hmacHex(secret, msg string) string {
	sum := hmacSum(secret, msg)
	return hex.EncodeToString(sum[:])
}

// hmacSum returns the HMAC-SHA256 of msg under secret, with a fresh keyed
// state (signing helpers and tools; the request path uses a receiver's
// macPool).
func hmacSum(secret, msg string) [sha256.Size]byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(unsafe.Slice(unsafe.StringData(msg), len(msg))) // hmac reads it and keeps nothing: no copy
	var sum [sha256.Size]byte
	m.Sum(sum[:0])
	return sum
}

// macPool keeps keyed HMAC states for one secret, so a verification does
// not rebuild one per candidate URL. Each receiver of a Service owns one:
// nothing is shared between sandboxes in one process, and the number of
// pools is the number of receivers, not of secrets ever seen.
type macPool struct {
	secret string
	pool   sync.Pool
}

func newMACPool(secret string) *macPool {
	p := &macPool{secret: secret}
	p.pool.New = func() any { return hmac.New(sha256.New, []byte(secret)) }
	return p
}

// sum returns the HMAC-SHA256 of msg under the pool's secret.
func (p *macPool) sum(msg string) [sha256.Size]byte {
	m := p.pool.Get().(hash.Hash)
	m.Reset()
	m.Write(unsafe.Slice(unsafe.StringData(msg), len(msg))) // hmac reads it and keeps nothing: no copy
	var sum [sha256.Size]byte
	m.Sum(sum[:0])
	p.pool.Put(m)
	return sum
}

// SignRequest returns the value of the Authorization header that Khipu's
// official API 2.0 clients send (§5.1): "<receiverID>:<hex HMAC-SHA256>".
//
// rawURL is the URL the client calls, e.g.
// "http://127.0.0.1:8080/khipu/api/2.0/payments". A query string in rawURL
// is not part of the signed URL: its parameters are signed with params
// (params wins for a key present in both). params holds the query or form
// parameters, decoded; for a key with several values the last one counts,
// as on the server. Send the same parameters on the wire (their wire
// encoding does not matter: the server decodes and re-encodes them).
func SignRequest(secret string, receiverID int64, method, rawURL string, params url.Values) string {
	p := paramsOf(params)
	if base, query, ok := strings.Cut(rawURL, "?"); ok {
		rawURL = base
		q := decodeForm(query)
		for k, v := range p {
			q[k] = v
		}
		p = q
	}
	return strconv.FormatInt(receiverID, 10) + ":" + hmacHex(secret, stringToSign(method, rawURL, p))
}

func paramsOf(v url.Values) params {
	p := make(params, len(v))
	for k, vs := range v {
		if len(vs) > 0 {
			p[k] = vs[len(vs)-1]
		}
	}
	return p
}

// NotificationSignature returns the x-khipu-signature header value of an
// API 3.0 notification sent at t with exactly these body bytes (§13.2):
// "t=<unix ms>,s=<base64 HMAC-SHA256(secret, t + "." + body)>". A merchant
// verifies a notification by recomputing it from the t it received.
func NotificationSignature(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.UnixMilli(), 10)
	return "t=" + ts + ",s=" + notificationMAC(secret, ts, body)
}

func notificationMAC(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// decodeForm decodes an application/x-www-form-urlencoded text leniently,
// the way PHP's parse_str does: pairs split at '&', key and value at the
// first '=', '+' is a space, valid %XX escapes are decoded and anything
// else (a lone '%', "%zz", ';') is kept as it is. The last value of a key
// wins. It never fails: a malformed body simply signs differently.
func decodeForm(s string) params {
	p := params{}
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k = formUnescape(k)
		if k == "" {
			continue
		}
		p[k] = formUnescape(v)
	}
	return p
}

// formUnescape decodes '+' and valid %XX escapes, keeping invalid ones.
func formUnescape(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// authHeader is a parsed Authorization header of API 2.0.
type authHeader struct {
	receiverID int64
	signature  string // 64 hex characters, as received
}

// parseAuthorization parses "<receiver_id>:<hex>" (§5.2 step 1): split at
// the first ':', spaces trimmed; the id must be a positive integer and the
// signature 64 hex characters (either case).
func parseAuthorization(h string) (authHeader, bool) {
	idText, sig, ok := strings.Cut(h, ":")
	if !ok {
		return authHeader{}, false
	}
	idText, sig = strings.TrimSpace(idText), strings.TrimSpace(sig)
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 || strings.HasPrefix(idText, "+") {
		return authHeader{}, false
	}
	if len(sig) != 64 {
		return authHeader{}, false
	}
	for i := 0; i < len(sig); i++ {
		if !isHex(sig[i]) {
			return authHeader{}, false
		}
	}
	return authHeader{receiverID: id, signature: sig}, true
}

// candidate is one URL the sandbox tries when verifying (§5.2 step 4).
type candidate struct {
	name string
	url  string
}

// candidateURLs lists the URLs a client may have signed, in order, without
// duplicates: the request as received ({scheme}://{Host}{path}), the public
// base URL with the same path, and Khipu's production URL.
func candidateURLs(scheme, host, path, publicURL string) []candidate {
	var out []candidate
	add := func(name, u string) {
		for _, c := range out {
			if c.url == u {
				return
			}
		}
		out = append(out, candidate{name, u})
	}
	add("request URL", scheme+"://"+host+path)
	if publicURL != "" {
		add("public URL", strings.TrimRight(publicURL, "/")+path)
	}
	rest := strings.TrimPrefix(path, "/khipu")
	if strings.HasPrefix(rest, "/api/2.0") {
		add("production URL", "https://khipu.com/api/2.0"+strings.TrimPrefix(rest, "/api/2.0"))
	}
	return out
}

// verification is the outcome of checking one request's signature.
type verification struct {
	ok         bool
	candidates []verifiedCandidate
}

type verifiedCandidate struct {
	candidate
	toSign    string
	signature string
	match     bool
}

// verifySignature checks a received signature against the candidate URLs
// in order (§5.2 step 5), each comparison in constant time, and stops at
// the first match. It records every string it tried: all of them when the
// signature is rejected.
func verifySignature(macs *macPool, method string, cands []candidate, p params, received string) verification {
	var v verification
	tail := paramsToSign(p)
	// The received signature is decoded once; a malformed one matches nothing.
	got, err := hex.DecodeString(received)
	if err != nil || len(got) != sha256.Size {
		got = nil
	}
	for _, c := range cands {
		s := signPrefix(method, c.url) + tail
		mac := macs.sum(s)
		m := got != nil && hmac.Equal(got, mac[:])
		v.candidates = append(v.candidates, verifiedCandidate{candidate: c, toSign: s, signature: hex.EncodeToString(mac[:]), match: m})
		if m {
			v.ok = true
			break
		}
	}
	return v
}
