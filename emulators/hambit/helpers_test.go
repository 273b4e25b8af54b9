//lint:file-ignore SA1008 Hambit sends and checks its headers lower-case on the wire (access_key, nonce, …), so the tests index http.Header by the exact wire spelling

package hambit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/paysandbox/sandbox/emulators/internal/callback"
	"github.com/paysandbox/sandbox/emulators/internal/sandboxtest"
)

// testEnv is a Hambit service on the shared test core.
type testEnv struct {
	*sandboxtest.Env
	svc *Service
	h   http.Handler
	t   testing.TB
	n   int // nonce counter
}

// newTestEnv builds the service from cfg (nil: defaults, zero-config accounts).
func newTestEnv(t testing.TB, cfg *Config, o sandboxtest.Options) *testEnv {
	t.Helper()
	return startService(t, sandboxtest.New(t, "hambit", o), cfg)
}

// newTestEnvWith is newTestEnv with callbacks sent through rt instead of
// the in-memory merchant (sandboxtest's merchant cannot time out).
func newTestEnvWith(t testing.TB, cfg *Config, o sandboxtest.Options, rt http.RoundTripper) *testEnv {
	t.Helper()
	env := sandboxtest.New(t, "hambit", o)
	disp := callback.New(callback.Options{Clock: env.Clock, Journal: env.Journal, Workers: 4,
		Client: &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		disp.Close(ctx)
	})
	env.Deps.Dispatcher = disp // env.Dispatcher stays: env.Close drains it
	return startService(t, env, cfg)
}

// startService builds the service on env from cfg (nil: defaults).
func startService(t testing.TB, env *sandboxtest.Env, cfg *Config) *testEnv {
	t.Helper()
	c := DefaultConfig()
	if cfg != nil {
		c = *cfg
	}
	svc, err := New(c, env.Deps)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(svc.Close)
	return &testEnv{Env: env, svc: svc, h: env.Echo("hambit", svc.Register), t: t}
}

// hangingTransport never answers: each attempt is reported on C and ends
// with the attempt's context (the dispatcher's per-attempt timeout).
type hangingTransport struct{ C chan time.Time }

func (h *hangingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	h.C <- time.Now()
	<-r.Context().Done()
	return nil, r.Context().Err()
}

// do sends an unsigned request ("Name: value" headers).
func (e *testEnv) do(method, target, body string, headers ...string) *httptest.ResponseRecorder {
	return sandboxtest.Do(e.h, sandboxtest.Request(method, target, body, headers...))
}

// nonce returns a fresh, valid, deterministic UUID.
func (e *testEnv) nonce() string {
	e.n++
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", e.n)
}

// signed sends a request signed as a merchant signs it, with the headers'
// current time and a fresh nonce.
func (e *testEnv) signed(method, target, key, secret, body string, headers ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	h, err := NewHeaders(key, secret, []byte(body), time.Now(), e.nonce())
	if err != nil {
		e.t.Fatalf("NewHeaders(%s): %v", body, err)
	}
	req := sandboxtest.Request(method, target, body, headers...)
	for k, v := range h {
		req.Header[k] = v
	}
	return sandboxtest.Do(e.h, req)
}

// api sends a request signed with the zero-config default account.
func (e *testEnv) api(method, target, body string, headers ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.signed(method, target, DefaultAccessKey, DefaultSecretKey, body, headers...)
}

// reply is a decoded envelope.
type reply struct {
	Code    string          `json:"code"`
	Success bool            `json:"success"`
	Msg     string          `json:"msg"`
	MsgEn   string          `json:"msgEn"`
	Data    json.RawMessage `json:"data"`
	status  int
	header  http.Header
	raw     string
}

func decodeReply(t testing.TB, rec *httptest.ResponseRecorder) reply {
	t.Helper()
	var r reply
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatalf("HTTP %d body %q is not an envelope: %v", rec.Code, rec.Body.String(), err)
	}
	r.status, r.header, r.raw = rec.Code, rec.Header(), rec.Body.String()
	return r
}

// wantCode checks an answer's HTTP status and envelope code.
func wantCode(t testing.TB, rec *httptest.ResponseRecorder, status int, code string) reply {
	t.Helper()
	r := decodeReply(t, rec)
	if r.status != status || r.Code != code {
		t.Fatalf("answer HTTP %d code %s (%s), want HTTP %d code %s; body %s", r.status, r.Code,
			rec.Header().Get("X-Sandbox-Error-Detail"), status, code, r.raw)
	}
	if r.Success != (code == "200") || r.Msg != codeTexts[code][0] || r.MsgEn != codeTexts[code][1] {
		t.Fatalf("envelope texts of code %s: %s", code, r.raw)
	}
	if code != "200" && string(r.Data) != "null" {
		t.Fatalf("error data = %s, want null", r.Data)
	}
	if ct := rec.Header().Get("Content-Type"); ct != contentTypeJSON {
		t.Fatalf("Content-Type = %q", ct)
	}
	return r
}

func (r reply) into(t testing.TB, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(r.Data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("data %s: %v", r.Data, err)
	}
}

// collectionBody is a valid Chile create-collection body.
func collectionBody(ext string, extra ...string) string {
	fields := map[string]string{
		"amount": `"1500"`, "channelType": `"BANK"`, "externalOrderId": `"` + ext + `"`, "userInfoType": `"CASH"`,
		"customerType": `"RUT"`, "userInfoNo": `"12312321"`, "notifyUrl": `"https://merchant.example/notify"`,
		"returnUrl": `"https://merchant.example/return"`, "remark": `"order ` + ext + `"`,
	}
	return objectOf(fields, extra...)
}

// transferBody is a valid Chile create-transfer body.
func transferBody(ext string, extra ...string) string {
	fields := map[string]string{
		"currencyAmount": `"1000"`, "channelType": `"BANK"`, "externalOrderId": `"` + ext + `"`,
		"accountNo": `"3193525521"`, "userInfoName": `"test"`, "accountType": `"3"`, "userInfoNo": `"12.345.678-9"`,
		"userInfoType": `"1"`, "bankName": `"Banco de Chile"`, "remark": `"payout"`, "notifyUrl": `"https://merchant.example/notify"`,
	}
	return objectOf(fields, extra...)
}

// objectOf writes fields as a JSON object with sorted keys, after the
// overrides: name, raw JSON value pairs, where the value "-" removes the key.
func objectOf(fields map[string]string, overrides ...string) string {
	for i := 0; i+1 < len(overrides); i += 2 {
		if overrides[i+1] == "-" {
			delete(fields, overrides[i])
		} else {
			fields[overrides[i]] = overrides[i+1]
		}
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%q:%s", k, fields[k])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// ---- an independent callback verifier: its own canonicalisation ----

// verifyCallback checks a callback the way a careful merchant does, written
// from the documentation without the emulator's code: decode with UseNumber,
// render strings raw and numbers as their text, skip empty values (or
// include them), add the three headers, sort, join, HMAC-SHA1, Base64.
func verifyCallback(t testing.TB, hdr http.Header, body []byte, secret string, includeEmpty bool) bool {
	t.Helper()
	get := func(name string) string {
		vals := hdr[name] // callbacks carry the lower-case names verbatim
		if len(vals) != 1 {
			t.Fatalf("callback header %q = %v (headers %v)", name, vals, hdr)
		}
		return vals[0]
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("callback body %s: %v", body, err)
	}
	pairs := map[string]string{}
	for k, v := range m {
		switch x := v.(type) {
		case nil:
			pairs[k] = ""
		case string:
			pairs[k] = x
		case json.Number:
			pairs[k] = x.String()
		case bool:
			pairs[k] = fmt.Sprint(x)
		default:
			t.Fatalf("unexpected nested value in callback: %s=%v", k, v)
		}
	}
	pairs["access_key"], pairs["timestamp"], pairs["nonce"] = get("access_key"), get("timestamp"), get("nonce")
	var keys []string
	for k, v := range pairs {
		if v == "" && !includeEmpty {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	for i, k := range keys {
		if i > 0 {
			sb.WriteString("&")
		}
		sb.WriteString(k + "=" + pairs[k])
	}
	sign, ok := hdr["sign"]
	if !ok || len(sign) != 1 {
		return false
	}
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(sb.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil)) == sign[0]
}

// indent pretty-prints JSON for golden files.
func indent(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		t.Fatalf("indent %s: %v", b, err)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

// bubble runs f in a synctest bubble whose fake clock has first been moved
// from 2000-01-01 (12-digit millisecond timestamps, which Hambit's 13-digit
// header rule rejects) to 2024-04-17 02:10:09.342 UTC, the instant of the
// specification's examples.
func bubble(t *testing.T, f func(t *testing.T)) {
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(time.Until(time.UnixMilli(1713319809342)))
		f(t)
	})
}
