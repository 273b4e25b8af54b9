package hambit

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/paysandbox/sandbox/emulators/internal/sandboxtest"
)

// signWith signs body with a chosen string (for conventions a merchant may use).
func signWith(secret, str string) string { return hmacSign(secret, str) }

// TestNumberAndEmptyConventions is conformance check 3 over HTTP: numbers
// are signed as their source text (the shortest form is also accepted), and
// empty and null values may be skipped or written as "key=".
func TestNumberAndEmptyConventions(t *testing.T) {
	e := newTestEnv(t, nil, sandboxtest.Options{})
	const path = "/hambit/api/v3/bra/createCollectingOrder"
	send := func(body, str, ts, nonce string) *reply {
		t.Helper()
		r := decodeReply(t, e.do("POST", path, body, "access_key: "+DefaultAccessKey, "timestamp: "+ts, "nonce: "+nonce,
			"sign: "+signWith(DefaultSecretKey, str)))
		return &r
	}
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	tests := []struct {
		name, body, str string
	}{
		{"H-03 raw 100.50", `{"amount":100.50,"externalOrderId":"N-1","inputCpf":0}`,
			"access_key=SBXFAKE1&amount=100.50&externalOrderId=N-1&inputCpf=0&nonce=%s&timestamp=%s"},
		{"H-03 shortest 100.5", `{"amount":100.50,"externalOrderId":"N-2","inputCpf":0}`,
			"access_key=SBXFAKE1&amount=100.5&externalOrderId=N-2&inputCpf=0&nonce=%s&timestamp=%s"},
		{"H-03 empty and null skipped", `{"amount":"10","externalOrderId":"N-3","remark":"","userInfoNo":null}`,
			"access_key=SBXFAKE1&amount=10&externalOrderId=N-3&nonce=%s&timestamp=%s"},
		{"H-03 empty and null included", `{"amount":"10","externalOrderId":"N-4","remark":"","userInfoNo":null}`,
			"access_key=SBXFAKE1&amount=10&externalOrderId=N-4&nonce=%s&remark=&timestamp=%s&userInfoNo="},
		{"H-03 include + shortest", `{"amount":1e1,"externalOrderId":"N-5","remark":""}`,
			"access_key=SBXFAKE1&amount=10&externalOrderId=N-5&nonce=%s&remark=&timestamp=%s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nonce := e.nonce()
			str := strings.Replace(strings.Replace(tt.str, "%s", nonce, 1), "%s", ts, 1)
			r := send(tt.body, str, ts, nonce)
			if tt.name == "H-03 include + shortest" {
				// 1e1 is accepted by the signature, then refused by the amount rule.
				if r.Code != "300" {
					t.Errorf("code %s", r.Code)
				}
				return
			}
			if r.Code != "200" {
				t.Errorf("code %s (%s)", r.Code, r.header.Get("X-Sandbox-Error-Detail"))
			}
		})
	}
	// The float rendering of a millisecond time is not accepted.
	nonce := e.nonce()
	body := `{"amount":"10","externalOrderId":"N-6","ref":1713319900000}`
	str := "access_key=SBXFAKE1&amount=10&externalOrderId=N-6&nonce=" + nonce + "&ref=1.7133199e+12&timestamp=" + ts
	if r := send(body, str, ts, nonce); r.Code != "307" {
		t.Errorf("float rendering accepted: %s", r.Code)
	}
}

// FuzzAPI (H-20) sends arbitrary bodies and header values through the whole
// handler: every answer is a Hambit envelope (or /ping's body), never a 500
// or a panic (conformance check 20).
func FuzzAPI(f *testing.F) {
	e := newTestEnv(f, nil, sandboxtest.Options{})
	f.Add("POST", "chl/createCollectingOrder", []byte(collectionBody("F-1")), true, "")
	f.Add("POST", "chl/createTransferOrder", []byte(transferBody("F-2")), true, "")
	f.Add("POST", "chl/query/collectingOrder", []byte(`{"orderId":"x"}`), true, "")
	f.Add("GET", "chl/query/balance", []byte(nil), true, "")
	f.Add("POST", "chl/query/bank", []byte(`{"bankName":1}`), false, "1713319809")
	f.Add("POST", "mex/bankTransfers/createCollectingOrder", []byte(`{"amount":1e999}`), true, "")
	f.Add("PUT", "zz/createTransferOrder", []byte("\xff"), false, "x")
	f.Fuzz(func(t *testing.T, method, path string, body []byte, sign bool, ts string) {
		switch method {
		case "GET", "POST", "PUT", "DELETE", "HEAD":
		default:
			method = "POST"
		}
		if strings.ContainsAny(path, " ?#%\r\n\t\x00") || !isASCII(path) {
			path = "chl/createCollectingOrder"
		}
		if strings.ContainsAny(ts, "\r\n\x00") || !isASCII(ts) {
			ts = ""
		}
		req := sandboxtest.Request(method, "/hambit/api/v3/"+path, string(body))
		if sign {
			if h, err := NewHeaders(DefaultAccessKey, DefaultSecretKey, body, time.Now(), uuid.NewString()); err == nil {
				for k, v := range h {
					req.Header[k] = v
				}
			}
		}
		if ts != "" {
			req.Header["timestamp"] = []string{ts}
		}
		rec := sandboxtest.Do(e.h, req)
		if rec.Code >= 500 {
			t.Fatalf("HTTP %d for %s %s %q", rec.Code, method, path, body)
		}
		if method == http.MethodHead {
			return
		}
		var env struct {
			Code *string `json:"code"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Code == nil {
			if !strings.Contains(rec.Body.String(), `"version":"1.0.1"`) {
				t.Fatalf("not an envelope: %d %q", rec.Code, rec.Body.String())
			}
			return
		}
		if *env.Code == codeSystem {
			t.Fatalf("code 500 for %s %s %q: %s", method, path, body, rec.Header().Get("X-Sandbox-Error-Detail"))
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
