package hambit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
)

// Hambit signs a request with Base64(HMAC-SHA1(secret_key, s)) where s joins
// the top-level keys of the JSON body plus the access_key, timestamp and
// nonce headers as sorted key=value pairs with raw values (spec §5).

// param is one top-level value of a JSON object, as the signature and the
// validators see it.
type param struct {
	kind wire.LitKind
	// text is the decoded string, the number's source text, true/false, ""
	// for null, or the compacted source of an object or array.
	text string
}

// params are the top-level values of a body by key (a repeated key keeps
// its last value, as a map does).
type params map[string]param

// errNotObject and friends explain why a body cannot be canonicalised.
var (
	errNotObject = errors.New("the body must be a JSON object")
	errBadUTF8   = errors.New("the body is not valid UTF-8")
)

// parseParams reads a JSON object body with the shared literal decoder:
// numbers kept as their source text, nested values as their compact text
// (spec §5.2). A blank body is the empty object.
func parseParams(body []byte) (params, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return params{}, nil
	}
	if !utf8.Valid(body) {
		return nil, errBadUTF8
	}
	ms, err := wire.DecodeObject(body, maxParseDepth)
	if wire.IsNotObject(err) {
		return nil, errNotObject
	}
	if err != nil {
		return nil, fmt.Errorf("malformed JSON: %v", err)
	}
	out := make(params, len(ms))
	for _, m := range ms {
		out[m.Key] = param{kind: m.Kind, text: m.Text}
	}
	return out, nil
}

// maxParseDepth bounds the nesting parseParams reads: the request path
// refuses more than maxDepth before it gets here, the signing command and
// the callback checker read what they are given up to this bound.
const maxParseDepth = 64

// shortestNumber rewrites a JSON number with a fraction or an exponent to
// its exact decimal without exponent, trailing fractional zeros and a
// trailing point ("100.50" → "100.5", "1e3" → "1000"), by moving digits,
// never through float64. Integers are returned as they are; absurd exponents
// are left alone.
func shortestNumber(s string) string {
	if !strings.ContainsAny(s, ".eE") {
		return s
	}
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimPrefix(s, "-")
	mant, expText := body, ""
	if i := strings.IndexAny(body, "eE"); i >= 0 {
		mant, expText = body[:i], body[i+1:]
	}
	exp := 0
	if expText != "" {
		e, err := strconv.Atoi(expText)
		if err != nil || e > 400 || e < -400 {
			return s
		}
		exp = e
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := intPart + frac
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return s
	}
	point := len(intPart) + exp
	var out string
	switch {
	case point <= 0:
		out = "0." + strings.Repeat("0", -point) + digits
	case point >= len(digits):
		out = digits + strings.Repeat("0", point-len(digits))
	default:
		out = digits[:point] + "." + digits[point:]
	}
	if strings.Contains(out, ".") {
		out = strings.TrimRight(out, "0")
		out = strings.TrimSuffix(out, ".")
	}
	ip, fp, hasFrac := strings.Cut(out, ".")
	ip = strings.TrimLeft(ip, "0")
	if ip == "" {
		ip = "0"
	}
	out = ip
	if hasFrac {
		out += "." + fp
	}
	if neg && out != "0" {
		out = "-" + out
	}
	return out
}

// canonOptions choose a candidate convention.
type canonOptions struct {
	includeEmpty bool // write empty values as "key=" (else skip them)
	shortest     bool // rewrite numbers to their shortest form
}

func (o canonOptions) name() string {
	n := "skip empty values"
	if o.includeEmpty {
		n = "include empty values"
	}
	if o.shortest {
		return n + ", shortest numbers"
	}
	return n + ", numbers as sent"
}

// canonical builds the string to sign of a body's params and the three
// signed headers (spec §5.5).
func canonical(ps params, accessKey, timestamp, nonce string, o canonOptions) string {
	m := make(map[string]param, len(ps)+3)
	for k, v := range ps {
		m[k] = v
	}
	delete(m, "sign")
	m["access_key"] = param{kind: wire.LitString, text: accessKey}
	m["timestamp"] = param{kind: wire.LitString, text: timestamp}
	m["nonce"] = param{kind: wire.LitString, text: nonce}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys) // bytewise, as ASCII ordering wants
	var b strings.Builder
	for _, k := range keys {
		p := m[k]
		v := p.text
		if o.shortest && p.kind == wire.LitNumber {
			v = shortestNumber(v)
		}
		if v == "" && !o.includeEmpty {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
	}
	return b.String()
}

// hmacSign returns Base64(HMAC-SHA1(secret, msg)).
func hmacSign(secret, msg string) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// candidate is one string the verifier tries.
type candidate struct {
	name string
	str  string
	sign string
}

// candidates returns the distinct strings to sign of a request: {skip,
// include} × {raw, shortest} (spec §5.3), the skip/raw one first.
func candidates(ps params, secret, accessKey, timestamp, nonce string) []candidate {
	var out []candidate
	for _, o := range []canonOptions{{}, {includeEmpty: true}, {shortest: true}, {includeEmpty: true, shortest: true}} {
		s := canonical(ps, accessKey, timestamp, nonce, o)
		dup := false
		for _, c := range out {
			if c.str == s {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, candidate{name: o.name(), str: s, sign: hmacSign(secret, s)})
		}
	}
	return out
}

// firstCandidate is the first of candidates (empty values skipped, numbers
// as sent): what every merchant of the documentation computes.
func firstCandidate(ps params, secret, accessKey, timestamp, nonce string) []candidate {
	o := canonOptions{}
	str := canonical(ps, accessKey, timestamp, nonce, o)
	return []candidate{{name: o.name(), str: str, sign: hmacSign(secret, str)}}
}

// matchSign returns the index of the candidate whose sign equals got
// (constant-time comparisons), or -1.
func matchSign(cs []candidate, got string) int {
	found := -1
	for i, c := range cs {
		if hmac.Equal([]byte(c.sign), []byte(got)) && found < 0 {
			found = i
		}
	}
	return found
}

// SignRequest returns the value of the sign header a merchant sends with
// body, exactly as Hambit documents it (spec §5): the top-level keys of the
// JSON object body plus access_key, timestamp and nonce, sorted, joined as
// key=value&… with raw values (strings decoded, numbers as written in body,
// empty strings and nulls left out), HMAC-SHA1 keyed with secretKey, in
// standard Base64. A nil or blank body (a GET) signs the headers alone. The
// error reports a body that is not a JSON object.
func SignRequest(accessKey, secretKey string, body []byte, timestamp, nonce string) (string, error) {
	ps, err := parseParams(body)
	if err != nil {
		return "", err
	}
	return hmacSign(secretKey, canonical(ps, accessKey, timestamp, nonce, canonOptions{})), nil
}

// NewHeaders returns the four headers of a signed request: access_key,
// timestamp (now in milliseconds), nonce and sign, stored under their
// lower-case names so that net/http sends them in that spelling. An empty
// nonce is replaced by a random UUID v4.
func NewHeaders(accessKey, secretKey string, body []byte, now time.Time, nonce string) (http.Header, error) {
	if nonce == "" {
		nonce = uuid.NewString()
	}
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	sign, err := SignRequest(accessKey, secretKey, body, ts, nonce)
	if err != nil {
		return nil, err
	}
	return http.Header{
		"access_key": {accessKey},
		"timestamp":  {ts},
		"nonce":      {nonce},
		"sign":       {sign},
	}, nil
}
