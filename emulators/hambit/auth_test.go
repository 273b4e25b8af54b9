//lint:file-ignore SA1008 Hambit sends and checks its headers lower-case on the wire (access_key, nonce, …), so the tests index http.Header by the exact wire spelling

package hambit

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/sandboxtest"
)

const balancePath = "/hambit/api/v3/chl/query/balance"
const createPath = "/hambit/api/v3/chl/createCollectingOrder"

// signedAt builds the four headers for a chosen timestamp and nonce.
func signedAt(t testing.TB, key, secret, body string, ts time.Time, nonce string) []string {
	t.Helper()
	h, err := NewHeaders(key, secret, []byte(body), ts, nonce)
	if err != nil {
		t.Fatal(err)
	}
	return []string{"access_key: " + h["access_key"][0], "timestamp: " + h["timestamp"][0], "nonce: " + h["nonce"][0], "sign: " + h["sign"][0]}
}

// H-01: vector 2 accepted on GET …/query/balance.
func TestVector2Balance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newTestEnv(t, nil, sandboxtest.Options{})
		atDocInstant(t, e)
		rec := e.do("GET", balancePath, "", "access_key: pFqV75X3", "timestamp: 1713319809342",
			"nonce: 794c26b0-d33c-4394-b2bb-c485eca16d9e", "sign: mFjgaDDYQL2Mtc0qNKDcyfIb2X0=")
		r := wantCode(t, rec, 200, "200")
		if string(r.Data) != `[{"accountBalance":"1000000","accountFreezeAmount":"0","accountStatusId":4,"accountWaitSettledAmount":"0","currencyType":"CLP","accountStatus":"InAndOut"}]` {
			t.Errorf("balance data %s", r.Data)
		}
		es := e.Journal.List(journal.Filter{Kinds: []journal.Kind{journal.KindRequest}, Limit: 1})
		if len(es) != 1 || es[0].Request.Signature == nil || es[0].Request.Signature.Verdict != "ok" ||
			es[0].Request.Signature.Candidates[0].StringToSign != "access_key=pFqV75X3&nonce=794c26b0-d33c-4394-b2bb-c485eca16d9e&timestamp=1713319809342" {
			t.Errorf("journal signature = %+v", es[0].Request.Signature)
		}
	})
}

// TestHeaderChecks is conformance check 5: missing or malformed headers → 300.
func TestHeaderChecks(t *testing.T) {
	e := newTestEnv(t, nil, sandboxtest.Options{})
	good := signedAt(t, DefaultAccessKey, DefaultSecretKey, "", time.Now(), "794c26b0-d33c-4394-b2bb-c485eca16d9e")
	without := func(name string) []string {
		var out []string
		for _, h := range good {
			if !strings.HasPrefix(h, name+":") {
				out = append(out, h)
			}
		}
		return out
	}
	replace := func(name, value string) []string { return append(without(name), name+": "+value) }
	tests := []struct {
		name    string
		headers []string
		detail  string
	}{
		{"H-05 missing access_key", without("access_key"), "missing header access_key"},
		{"H-05 missing timestamp", without("timestamp"), "missing header timestamp"},
		{"H-05 missing nonce", without("nonce"), "missing header nonce"},
		{"H-05 missing sign", without("sign"), "missing header sign"},
		{"H-05 empty sign", replace("sign", ""), "header sign is empty"},
		{"H-05 10-digit timestamp", replace("timestamp", "1713319809"), "10 digits (seconds)"},
		{"H-05 timestamp with letters", replace("timestamp", "17133198093x2"), "not 13 digits"},
		{"H-05 bad UUID", replace("nonce", "794c26b0d33c4394b2bbc485eca16d9e"), "is not a UUID"},
		{"H-05 hyphenated access-key", append(without("access_key"), "access-key: "+DefaultAccessKey), "found access-key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.do("GET", balancePath, "", tt.headers...)
			wantCode(t, rec, 200, "300")
			if d := rec.Header().Get("X-Sandbox-Error-Detail"); !strings.Contains(d, tt.detail) {
				t.Errorf("detail %q lacks %q", d, tt.detail)
			}
		})
	}
	// Upper-case names are found (lookup is case-insensitive).
	var upper []string
	for _, h := range signedAt(t, DefaultAccessKey, DefaultSecretKey, "", time.Now(), e.nonce()) {
		k, v, _ := strings.Cut(h, ":")
		upper = append(upper, strings.ToUpper(k)+":"+v)
	}
	wantCode(t, e.do("GET", balancePath, "", upper...), 200, "200")
}

// TestSignatureRejections is conformance checks 4 and 6.
func TestSignatureRejections(t *testing.T) {
	body := collectionBody("SIG-1")
	t.Run("H-04 tampered body", func(t *testing.T) {
		e := newTestEnv(t, nil, sandboxtest.Options{})
		hs := signedAt(t, DefaultAccessKey, DefaultSecretKey, body, time.Now(), e.nonce())
		tampered := strings.Replace(body, `"1500"`, `"1501"`, 1)
		rec := e.do("POST", createPath, tampered, hs...)
		wantCode(t, rec, 200, "307")
		ps, _ := parseParams([]byte(tampered))
		var ts, nonce string
		for _, h := range hs {
			k, v, _ := strings.Cut(h, ": ")
			switch k {
			case "timestamp":
				ts = v
			case "nonce":
				nonce = v
			}
		}
		want := canonical(ps, DefaultAccessKey, ts, nonce, canonOptions{})
		if got := rec.Header().Get("X-Sandbox-String-To-Sign"); got != want {
			t.Errorf("X-Sandbox-String-To-Sign = %q, want %q", got, want)
		}
		b, err := base64.StdEncoding.DecodeString(rec.Header().Get("X-Sandbox-String-To-Sign-B64"))
		if err != nil || string(b) != want {
			t.Errorf("-B64 decodes to %q (%v)", b, err)
		}
		if strings.Contains(rec.Body.String(), "access_key=") || strings.Contains(rec.Body.String(), "amount=") {
			t.Errorf("the string to sign leaked into the body: %s", rec.Body.String())
		}
		es := e.Journal.List(journal.Filter{Kinds: []journal.Kind{journal.KindRequest}, Limit: 1})
		sig := es[0].Request.Signature
		if sig == nil || sig.Verdict != "rejected" || len(sig.Candidates) < 1 || sig.Received == "" || sig.Expected == "" {
			t.Errorf("journal signature = %+v", sig)
		}
	})
	t.Run("H-04 no debug headers", func(t *testing.T) {
		e := newTestEnv(t, nil, sandboxtest.Options{NoDebugHeaders: true})
		hs := signedAt(t, DefaultAccessKey, DefaultSecretKey, body, time.Now(), e.nonce())
		rec := e.do("POST", createPath, strings.Replace(body, "1500", "1501", 1), hs...)
		wantCode(t, rec, 200, "307")
		for k := range rec.Header() {
			if strings.HasPrefix(strings.ToLower(k), "x-sandbox") {
				t.Errorf("debug header %s sent with --no-debug-headers", k)
			}
		}
		es := e.Journal.List(journal.Filter{Kinds: []journal.Kind{journal.KindRequest}, Limit: 1})
		if es[0].Request.Signature == nil || len(es[0].Request.Signature.Candidates) == 0 {
			t.Error("the journal must keep the candidates without debug headers")
		}
	})
	t.Run("H-06 unknown access_key", func(t *testing.T) {
		e := newTestEnv(t, nil, sandboxtest.Options{})
		rec := e.do("GET", balancePath, "", signedAt(t, "NOPE1234", "x", "", time.Now(), e.nonce())...)
		wantCode(t, rec, 200, "307")
		if d := rec.Header().Get("X-Sandbox-Error-Detail"); !strings.Contains(d, "unknown access_key") {
			t.Errorf("detail %q", d)
		}
		if rec.Header().Get("X-Sandbox-String-To-Sign") == "" {
			t.Error("no string to sign on a 307")
		}
	})
	t.Run("H-06 timestamp window", func(t *testing.T) {
		e := newTestEnv(t, nil, sandboxtest.Options{})
		now := time.Now()
		for _, tc := range []struct {
			off  time.Duration
			code string
		}{{-301 * time.Second, "307"}, {301 * time.Second, "307"}, {-299 * time.Second, "200"}, {299 * time.Second, "200"}} {
			rec := e.do("GET", balancePath, "", signedAt(t, DefaultAccessKey, DefaultSecretKey, "", now.Add(tc.off), e.nonce())...)
			wantCode(t, rec, 200, tc.code)
			if tc.code == "307" && !strings.Contains(rec.Header().Get("X-Sandbox-Error-Detail"), "outside the +/-300 s window") {
				t.Errorf("offset %v: detail %q", tc.off, rec.Header().Get("X-Sandbox-Error-Detail"))
			}
		}
		// Advancing the sandbox clock does not move the signature window.
		if err := e.Clock.Advance(48 * time.Hour); err != nil {
			t.Fatal(err)
		}
		wantCode(t, e.do("GET", balancePath, "", signedAt(t, DefaultAccessKey, DefaultSecretKey, "", time.Now(), e.nonce())...), 200, "200")
	})
	t.Run("H-06 nonce replay", func(t *testing.T) {
		e := newTestEnv(t, nil, sandboxtest.Options{})
		hs := signedAt(t, DefaultAccessKey, DefaultSecretKey, "", time.Now(), "794c26b0-d33c-4394-b2bb-c485eca16d9e")
		wantCode(t, e.do("GET", balancePath, "", hs...), 200, "200")
		rec := e.do("GET", balancePath, "", hs...)
		wantCode(t, rec, 200, "307")
		if d := rec.Header().Get("X-Sandbox-Error-Detail"); d != "nonce already used by this access_key" {
			t.Errorf("detail %q", d)
		}
		// A rejected signature does not burn the nonce.
		hs2 := signedAt(t, DefaultAccessKey, DefaultSecretKey, "", time.Now(), "11111111-2222-4333-8444-555555555555")
		bad := append([]string{}, hs2[:3]...)
		wantCode(t, e.do("GET", balancePath, "", append(bad, "sign: AAAAAAAAAAAAAAAAAAAAAAAAAAA=")...), 200, "307")
		wantCode(t, e.do("GET", balancePath, "", hs2...), 200, "200")
	})
}

func TestNonceCacheExpiryAndLimit(t *testing.T) {
	n := newNonceCache(3)
	now := time.Unix(1000, 0)
	if !n.remember("k", "a", now, time.Minute) || n.remember("k", "a", now, time.Minute) || n.remember("k", "A", now, time.Minute) {
		t.Fatal("a nonce is remembered once, case-insensitively")
	}
	if !n.remember("k2", "a", now, time.Minute) {
		t.Fatal("nonces are per access_key")
	}
	if !n.remember("k", "a", now.Add(2*time.Minute), time.Minute) {
		t.Error("an expired nonce is forgotten")
	}
	for _, x := range []string{"b", "c", "d", "e"} {
		n.remember("k", x, now.Add(2*time.Minute), time.Minute)
	}
	if len(n.seen) > 3 {
		t.Errorf("%d nonces kept, limit 3", len(n.seen))
	}
}

// TestNonceCacheAcrossBlocks: over many blocks of the queue, a nonce is
// refused while it is remembered, the newest limit are remembered, the
// oldest forgotten, and consumed blocks are given back.
func TestNonceCacheAcrossBlocks(t *testing.T) {
	const limit = 3000
	n := newNonceCache(limit)
	now := time.Unix(1000, 0)
	for i := range 10 * nonceBlock {
		at := now.Add(time.Duration(i) * time.Millisecond)
		if !n.remember("k", fmt.Sprint("n", i), at, time.Hour) {
			t.Fatalf("fresh nonce %d refused", i)
		}
		if i >= 1 && n.remember("k", fmt.Sprint("n", i-1), at, time.Hour) {
			t.Fatalf("nonce %d replayed", i-1)
		}
		if old := i - limit; old >= 0 && i%97 == 0 {
			if !n.remember("k", fmt.Sprint("n", old), at, time.Hour) {
				t.Fatalf("nonce %d, beyond the newest %d, still refused", old, limit)
			}
		}
	}
	if len(n.seen) > limit || n.queue.n > limit || len(n.queue.blocks) > limit/nonceBlock+2 {
		t.Errorf("%d nonces, %d queued in %d blocks for a limit of %d", len(n.seen), n.queue.n, len(n.queue.blocks), limit)
	}
}

// BenchmarkNonceRemember is the replay cache's part of a signed Hambit
// request once it is full (maxNonces); slowest-µs is the longest single
// call, the wait it imposes on every request queued behind its lock
// (-benchtime 600000x to fill it and go on).
func BenchmarkNonceRemember(b *testing.B) {
	n := newNonceCache(maxNonces)
	now := time.Unix(1_700_000_000, 0)
	var slowest time.Duration
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		nonce := strconv.Itoa(i)
		start := time.Now()
		n.remember("key", nonce, now, time.Hour)
		slowest = max(slowest, time.Since(start))
		i++
	}
	b.ReportMetric(float64(slowest.Microseconds()), "slowest-µs")
}

// BenchmarkNonceCacheHeap reports what a full replay cache (maxNonces
// pairs) gives the garbage collector to scan on every cycle (scan-B) and
// holds (live-B), after a collection, so the figures do not depend on the
// machine's load.
func BenchmarkNonceCacheHeap(b *testing.B) {
	read := func() (live, scan uint64) {
		runtime.GC()
		s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/heap:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64(), s[1].Value.Uint64()
	}
	for b.Loop() {
		live0, scan0 := read()
		n := newNonceCache(maxNonces)
		now := time.Unix(1_700_000_000, 0)
		for i := range maxNonces {
			n.remember("key", strconv.Itoa(i), now, time.Hour)
		}
		live1, scan1 := read()
		b.ReportMetric(float64(int64(live1)-int64(live0)), "live-B")
		b.ReportMetric(float64(int64(scan1)-int64(scan0)), "scan-B")
		runtime.KeepAlive(n)
	}
}

// TestIPWhitelistAndPermissions is conformance check 7.
func TestIPWhitelistAndPermissions(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Accounts = []Account{
		{AccessKey: "LISTED01", SecretKey: "s1", IPWhitelist: []string{"192.0.2.0/24"}},
		{AccessKey: "EXACT001", SecretKey: "s2", IPWhitelist: []string{"203.0.113.9", "192.0.2.1"}},
		{AccessKey: "ANYIP001", SecretKey: "s3", IPWhitelist: []string{"0.0.0.0"}},
		{AccessKey: "EMPTY001", SecretKey: "s4"},
		{AccessKey: "OTHER001", SecretKey: "s5", IPWhitelist: []string{"10.1.2.3"}},
		{AccessKey: "COLLECT1", SecretKey: "s6", Permissions: []string{"collect"}},
		{AccessKey: "PAYOUT01", SecretKey: "s7", Permissions: []string{"payout"}},
	}
	e := newTestEnv(t, &cfg, sandboxtest.Options{})
	// httptest requests come from 192.0.2.1.
	for _, tc := range []struct {
		name, key, secret, code string
	}{
		{"H-07 CIDR listed", "LISTED01", "s1", "200"},
		{"H-07 IP listed", "EXACT001", "s2", "200"},
		{"H-07 0.0.0.0", "ANYIP001", "s3", "200"},
		{"H-07 empty whitelist", "EMPTY001", "s4", "200"},
		{"H-07 not listed", "OTHER001", "s5", "301"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.signed("GET", balancePath, tc.key, tc.secret, "")
			wantCode(t, rec, 200, tc.code)
		})
	}
	t.Run("H-07 X-Forwarded-For is ignored", func(t *testing.T) {
		wantCode(t, e.signed("GET", balancePath, "OTHER001", "s5", "", "X-Forwarded-For: 10.1.2.3"), 200, "301")
	})
	t.Run("H-07 IP check before the signature", func(t *testing.T) {
		hs := signedAt(t, "OTHER001", "s5", "", time.Now(), e.nonce())
		wantCode(t, e.do("GET", balancePath, "", append(hs[:3], "sign: wrong")...), 200, "301")
	})
	t.Run("H-07 missing permission", func(t *testing.T) {
		wantCode(t, e.signed("POST", "/hambit/api/v3/chl/createTransferOrder", "COLLECT1", "s6", transferBody("P-1")), 200, "301")
		wantCode(t, e.signed("POST", "/hambit/api/v3/chl/query/bank", "COLLECT1", "s6", `{"bankName":""}`), 200, "301")
		wantCode(t, e.signed("POST", createPath, "PAYOUT01", "s7", collectionBody("P-2")), 200, "301")
		wantCode(t, e.signed("POST", "/hambit/api/v3/chl/query/collectingOrder", "PAYOUT01", "s7", `{"orderId":"x"}`), 200, "301")
		wantCode(t, e.signed("GET", balancePath, "PAYOUT01", "s7", ""), 200, "200")
		wantCode(t, e.signed("GET", balancePath, "COLLECT1", "s6", ""), 200, "200")
	})
	t.Run("H-07 ping", func(t *testing.T) {
		rec := e.do("GET", "/hambit/ping", "")
		if rec.Code != 200 {
			t.Fatalf("ping = %d %s", rec.Code, rec.Body.String())
		}
		var p map[string]any
		dec := json.NewDecoder(strings.NewReader(rec.Body.String()))
		dec.UseNumber()
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if p["version"] != "1.0.1" || p["accessIp"] != "192.0.2.1" || p["node"] != "SANDBOX1" || len(p) != 4 {
			t.Errorf("ping body %s", rec.Body.String())
		}
		ts, _ := strconv.ParseInt(string(p["timestamp"].(json.Number)), 10, 64)
		if d := time.Since(time.UnixMilli(ts)); d < -time.Second || d > time.Second {
			t.Errorf("ping timestamp %d is not the sandbox clock", ts)
		}
		wantCode(t, e.do("GET", "/hambit/ping", "", "access_key: OTHER001"), 200, "301")
		if rec := e.do("GET", "/hambit/ping", "", "access_key: LISTED01"); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"version"`) {
			t.Errorf("ping with a listed key = %d %s", rec.Code, rec.Body.String())
		}
		if rec := e.do("GET", "/hambit/api/v3/cl/ping", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"version":"1.0.1"`) {
			t.Errorf("ping alias = %d %s", rec.Code, rec.Body.String())
		}
		rec = e.do("POST", "/hambit/ping", "")
		wantCode(t, rec, 405, "300")
		if rec.Header().Get("Allow") != "GET" {
			t.Errorf("Allow = %q", rec.Header().Get("Allow"))
		}
	})
}

// TestRouting is conformance check 10.
func TestRouting(t *testing.T) {
	e := newTestEnv(t, nil, sandboxtest.Options{})
	body := func(ext string) string { return collectionBody(ext) }
	t.Run("H-10 chl and cl", func(t *testing.T) {
		wantCode(t, e.api("POST", "/hambit/api/v3/chl/createCollectingOrder", body("R-1")), 200, "200")
		wantCode(t, e.api("POST", "/hambit/api/v3/cl/createCollectingOrder", body("R-2")), 200, "200")
	})
	t.Run("H-10 product segments", func(t *testing.T) {
		mx := `{"amount":"100.50","channelType":"BANK","externalOrderId":"MX-1"}`
		r := wantCode(t, e.api("POST", "/hambit/api/v3/mex/bankTransfers/createCollectingOrder", mx), 200, "200")
		if !strings.Contains(string(r.Data), `"currency":"MXN"`) || !strings.Contains(string(r.Data), `"amount":"100.5"`) {
			t.Errorf("mex answer %s", r.Data)
		}
		wantCode(t, e.api("POST", "/hambit/api/v3/mex/bankTransfers/query/collectingOrder", `{"externalOrderId":"MX-1"}`), 200, "200")
		br := `{"currencyAmount":"10.5","externalOrderId":"BR-1","accountNo":"123","channelType":"pix"}`
		wantCode(t, e.api("POST", "/hambit/api/v3/bra/pix/createTransferOrder", br), 200, "200")
		wantCode(t, e.api("POST", "/hambit/api/v3/bra/createTransferOrder", strings.Replace(br, "BR-1", "BR-2", 1)), 200, "200")
	})
	t.Run("H-10 unknown country", func(t *testing.T) {
		rec := e.api("POST", "/hambit/api/v3/xyz/createCollectingOrder", body("R-3"))
		wantCode(t, rec, 404, "300")
		if !strings.Contains(rec.Header().Get("X-Sandbox-Error-Detail"), "unknown country segment") {
			t.Errorf("detail %q", rec.Header().Get("X-Sandbox-Error-Detail"))
		}
	})
	t.Run("H-10 unknown paths", func(t *testing.T) {
		wantCode(t, e.do("GET", "/hambit/api/v3/chl/nothing", ""), 404, "300")
		wantCode(t, e.do("GET", "/hambit/nothing/here", ""), 404, "300")
		wantCode(t, e.do("POST", "/hambit/api/v3/mex/pix/createCollectingOrder", ""), 404, "300")
	})
	t.Run("H-10 wrong method", func(t *testing.T) {
		for _, tc := range []struct{ method, path, allow string }{
			{"GET", "/hambit/api/v3/chl/createCollectingOrder", "POST"},
			{"PUT", "/hambit/api/v3/chl/createTransferOrder", "POST"},
			{"POST", "/hambit/api/v3/chl/query/balance", "GET"},
			{"DELETE", "/hambit/api/v3/chl/query/bank", "POST"},
			{"TRACE", "/hambit/cashier/C1", "GET, POST"},
			{"POST", "/hambit/static/cashier.css", "GET"},
		} {
			rec := e.do(tc.method, tc.path, "")
			wantCode(t, rec, 405, "300")
			if rec.Header().Get("Allow") != tc.allow {
				t.Errorf("%s %s: Allow = %q", tc.method, tc.path, rec.Header().Get("Allow"))
			}
		}
		// HEAD does not reach the cashier's GET: 405 without a body.
		if rec := e.do("HEAD", "/hambit/cashier/C1", ""); rec.Code != 405 || rec.Header().Get("Allow") != "GET, POST" || rec.Body.Len() != 0 {
			t.Errorf("HEAD cashier: %d Allow %q body %q", rec.Code, rec.Header().Get("Allow"), rec.Body)
		}
	})
	t.Run("H-10 unknown scenario", func(t *testing.T) {
		rec := e.api("POST", createPath, body("R-4"), "X-Sandbox-Scenario: nope")
		wantCode(t, rec, 400, "300")
		if d := rec.Header().Get("X-Sandbox-Error-Detail"); !strings.HasPrefix(d, `unknown scenario "nope"; known: default`) {
			t.Errorf("detail %q", d)
		}
		// Checked before authentication: an unsigned request gets the same.
		wantCode(t, e.do("GET", balancePath, "", "X-Sandbox-Scenario: nope"), 400, "300")
	})
	t.Run("H-10 real hosts", func(t *testing.T) {
		// The sandbox rewrites apis.hambit.co/… to /hambit/…; emulate it.
		for _, host := range []string{"apis.hambit.co", "t-apis.hambit.co"} {
			req := sandboxtest.Request("POST", "http://"+host+createPath, body("H-"+host))
			hs, _ := NewHeaders(DefaultAccessKey, DefaultSecretKey, []byte(body("H-"+host)), time.Now(), e.nonce())
			for k, v := range hs {
				req.Header[k] = v
			}
			rec := sandboxtest.Do(e.h, req)
			r := wantCode(t, rec, 200, "200")
			if !strings.Contains(string(r.Data), `"cashierUrl":"http://`+host+`/hambit/cashier/`) {
				t.Errorf("cashierUrl under %s: %s", host, r.Data)
			}
		}
	})
}

// TestBodyLimits (H-20): oversized, deep, malformed and non-object bodies → 300 (check 20).
func TestBodyLimits(t *testing.T) {
	e := newTestEnv(t, nil, sandboxtest.Options{})
	big := `{"remark":"` + strings.Repeat("x", 70<<10) + `"}`
	deep := strings.Repeat(`{"a":`, 9) + "1" + strings.Repeat("}", 9)
	for _, tc := range []struct{ name, body, detail string }{
		{"oversized", big, "exceeds 64 KiB"},
		{"too deep", deep, "nesting deeper than 8"},
		{"array", `[1,2]`, "must be a JSON object"},
		{"malformed", `{"amount":`, "malformed JSON"},
		{"trailing", `{"amount":"1"} x`, "malformed JSON"},
		{"invalid UTF-8", "{\"remark\":\"\xff\"}", "not valid UTF-8"},
		{"empty POST", ``, "empty body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := signedAt(t, DefaultAccessKey, DefaultSecretKey, "", time.Now(), e.nonce())
			rec := e.do("POST", createPath, tc.body, hs...)
			wantCode(t, rec, 200, "300")
			if d := rec.Header().Get("X-Sandbox-Error-Detail"); !strings.Contains(d, tc.detail) {
				t.Errorf("detail %q lacks %q", d, tc.detail)
			}
		})
	}
}
