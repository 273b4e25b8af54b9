package khipu

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

type signatureVector struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	Secret        string            `json:"secret"`
	ReceiverID    int64             `json:"receiver_id"`
	Method        string            `json:"method"`
	URL           string            `json:"url"`
	Params        map[string]string `json:"params"`
	WireBody      string            `json:"wire_body"`
	ToSign        string            `json:"to_sign"`
	HMAC          string            `json:"hmac"`
	Authorization string            `json:"authorization"`
	PerGroupOrder bool              `json:"per_group_order"`
}

func loadSignatureVectors(t *testing.T) []signatureVector {
	t.Helper()
	b, err := os.ReadFile("testdata/signatures/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []signatureVector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	return vs
}

// TestSignatureVectors replays the worked vectors of §5.5 (K-SIG-01…06):
// the string to sign and the HMAC computed by the sandbox's signer, from
// the literal strings of the specification (not from the exported helper).
func TestSignatureVectors(t *testing.T) {
	for _, v := range loadSignatureVectors(t) {
		t.Run(v.ID+"/"+v.Name, func(t *testing.T) {
			// The HMAC of the literal string must be the documented one:
			// this checks the vector itself and hmacHex.
			if got := hmacHex(v.Secret, v.ToSign); got != v.HMAC {
				t.Fatalf("hmacHex(%q) = %s, want %s", v.ToSign, got, v.HMAC)
			}
			got := stringToSign(v.Method, v.URL, params(v.Params))
			if v.PerGroupOrder {
				// (f) row 3: only pykhipu's per-group order produces this
				// string; the sandbox's canonical form is the global order.
				if got == v.ToSign {
					t.Fatalf("the sandbox reproduced pykhipu's per-group order %q; it must sort globally", got)
				}
				if !strings.HasSuffix(got, "&another=ok&payload=123&test=true") {
					t.Fatalf("global order string = %q", got)
				}
				return
			}
			if got != v.ToSign {
				t.Fatalf("stringToSign =\n %s\nwant\n %s", got, v.ToSign)
			}
			if v.Authorization != "" {
				vals := url.Values{}
				for k, x := range v.Params {
					vals.Set(k, x)
				}
				if a := SignRequest(v.Secret, v.ReceiverID, v.Method, v.URL, vals); a != v.Authorization {
					t.Fatalf("SignRequest = %s, want %s", a, v.Authorization)
				}
			}
			if v.WireBody != "" {
				// K-SIG-07 (offline half): PHP's wire body decodes and re-encodes to the vector.
				if got := stringToSign(v.Method, v.URL, decodeForm(v.WireBody)); got != v.ToSign {
					t.Fatalf("from PHP's wire body:\n %s\nwant\n %s", got, v.ToSign)
				}
			}
		})
	}
}

func TestNotificationSignatureVector(t *testing.T) {
	b, err := os.ReadFile("testdata/signatures/notification_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []struct {
		ID, Name, Secret, Body, Header string
		T                              int64
	}
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		t.Run(v.ID, func(t *testing.T) {
			// K-NOT-02: the literal vector, then the exported helper.
			if got := "t=" + "1711965600393" + ",s=" + notificationMAC(v.Secret, "1711965600393", []byte(v.Body)); got != v.Header {
				t.Fatalf("notificationMAC header = %s, want %s", got, v.Header)
			}
			if got := NotificationSignature(v.Secret, time.UnixMilli(v.T), []byte(v.Body)); got != v.Header {
				t.Fatalf("NotificationSignature = %s, want %s", got, v.Header)
			}
		})
	}
}

func TestEnc(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ejemplo de compra", "ejemplo%20de%20compra"},
		{"AZaz09-._~", "AZaz09-._~"},
		{"línea ñ ~*'", "l%C3%ADnea%20%C3%B1%20~%2A%27"},
		{"a+b&c=d/e?f", "a%2Bb%26c%3Dd%2Fe%3Ff"},
		{"!'()*", "%21%27%28%29%2A"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := enc(tt.in); got != tt.want {
			t.Errorf("enc(%q) = %q, want %q", tt.in, got, tt.want)
		}
		// enc equals url.QueryEscape with + → %20 (§5.1 Go note).
		if q := strings.ReplaceAll(url.QueryEscape(tt.in), "+", "%20"); q != tt.want {
			t.Errorf("QueryEscape(%q) = %q differs from enc", tt.in, q)
		}
	}
}

func TestDecodeForm(t *testing.T) {
	tests := []struct {
		in   string
		want params
	}{
		{"a=1&b=2", params{"a": "1", "b": "2"}},
		{"a=1&a=2", params{"a": "2"}}, // last wins
		{"x=%7E%2A+y", params{"x": "~* y"}},
		{"bad=%zz%4", params{"bad": "%zz%4"}}, // invalid escapes kept, as PHP does
		{"k;x=1&&=2&novalue", params{"k;x": "1", "novalue": ""}},
		{"empty=", params{"empty": ""}},
	}
	for _, tt := range tests {
		got := decodeForm(tt.in)
		if len(got) != len(tt.want) {
			t.Errorf("decodeForm(%q) = %v, want %v", tt.in, got, tt.want)
			continue
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("decodeForm(%q)[%q] = %q, want %q", tt.in, k, got[k], v)
			}
		}
	}
}

func TestParseAuthorization(t *testing.T) {
	sig := strings.Repeat("ab", 32)
	tests := []struct {
		in string
		ok bool
	}{
		{"123456:" + sig, true},
		{" 123456 : " + strings.ToUpper(sig) + " ", true},
		{"", false},
		{"123456", false},
		{"abc:" + sig, false},
		{"-1:" + sig, false},
		{"0:" + sig, false},
		{"123456:" + sig[:63], false},
		{"123456:" + sig + "00", false},
		{"123456:" + strings.Repeat("zz", 32), false},
		{"Bearer 123456:" + sig, false},
	}
	for _, tt := range tests {
		if _, ok := parseAuthorization(tt.in); ok != tt.ok {
			t.Errorf("parseAuthorization(%q) ok = %v, want %v", tt.in, ok, tt.ok)
		}
	}
}

func TestCandidateURLs(t *testing.T) {
	got := candidateURLs("http", "127.0.0.1:8080", "/khipu/api/2.0/payments/x/", "https://pay.example/")
	want := []string{"http://127.0.0.1:8080/khipu/api/2.0/payments/x/", "https://pay.example/khipu/api/2.0/payments/x/", "https://khipu.com/api/2.0/payments/x/"}
	if len(got) != len(want) {
		t.Fatalf("candidates = %v", got)
	}
	for i := range want {
		if got[i].url != want[i] {
			t.Errorf("candidate %d = %s, want %s", i+1, got[i].url, want[i])
		}
	}
	// Host routing as khipu.com over https: candidates 1 and 3 coincide.
	if got := candidateURLs("https", "khipu.com", "/api/2.0/banks", ""); len(got) != 1 || got[0].url != "https://khipu.com/api/2.0/banks" {
		t.Errorf("host-routed candidates = %v", got)
	}
}

// K-SIG-07: request (b) sent with PHP's wire body (+, %7E) is accepted.
func TestPHPWireBodyAccepted(t *testing.T) {
	k := newKEnv(t)
	vecs := loadSignatureVectors(t)
	v := vecs[1]
	// Sign exactly as PHP does, for this sandbox's URL, with the default receiver.
	toSign := stringToSign("POST", "http://"+testHost+"/khipu/api/2.0/payments", params(v.Params))
	auth := "123456:" + hmacHex(DefaultSecret, toSign)
	rec := k.do(req(http.MethodPost, "/khipu/api/2.0/payments", v.WireBody, "Authorization: "+auth,
		"Content-Type: application/x-www-form-urlencoded; charset=UTF-8"))
	wantStatus(t, rec, http.StatusOK)
	id := decodeMap(t, rec.Body.Bytes())["payment_id"].(string)
	p := k.payment(id)
	if p["body"] != "línea ñ ~*'" || p["subject"] != "Compra de prueba (#1)" || p["send_reminders"] != true || p["send_email"] != false ||
		p["expires_date"] != "2030-01-02T03:04:05.000Z" || p["return_url"] != "http://localhost/ret?a=1&b=2" {
		t.Errorf("payment = %v", p)
	}
}

// K-SIG-08: each candidate URL alone is accepted.
func TestSignatureCandidates(t *testing.T) {
	const public = "https://sandbox.public.example"
	k := newKEnv(t, withOptions(func(o *sandboxOptions) { o.PublicURL = public + "/" }))
	sign := func(signedURL string) string {
		return "Authorization: " + SignRequest(DefaultSecret, DefaultReceiverID, "GET", signedURL, nil)
	}
	tests := []struct {
		name, host, path, signed string
	}{
		{"request URL (prefix layout)", testHost, "/khipu/api/2.0/banks", "http://" + testHost + "/khipu/api/2.0/banks"},
		{"public URL", testHost, "/khipu/api/2.0/banks", public + "/khipu/api/2.0/banks"},
		{"production URL (prefix layout)", testHost, "/khipu/api/2.0/banks", "https://khipu.com/api/2.0/banks"},
		{"production URL (host routing)", "khipu.com", "/api/2.0/banks", "https://khipu.com/api/2.0/banks"},
		{"request URL (host routing, plain http)", "khipu.com", "/api/2.0/banks", "http://khipu.com/api/2.0/banks"},
		{"escaped path kept as sent", testHost, "/khipu/api/2.0/payments/%61bc", "http://" + testHost + "/khipu/api/2.0/payments/%61bc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := req(http.MethodGet, tt.path, "", sign(tt.signed))
			r.Host = tt.host
			rec := k.do(r)
			if rec.Code == http.StatusForbidden {
				t.Fatalf("signature for %s rejected: %s", tt.signed, rec.Body)
			}
		})
	}
	t.Run("a URL that is no candidate", func(t *testing.T) {
		rec := k.do(req(http.MethodGet, "/khipu/api/2.0/banks", "", sign("http://elsewhere/khipu/api/2.0/banks")))
		wantBody(t, rec, http.StatusForbidden, `{"status":403,"message":"Error de autorización: firma inválida"}`)
	})
}

// K-SIG-09: upper-case hex accepted; tampered, wrong secret, unknown
// receiver, missing and malformed headers → 403 with the right message and
// the debug headers (absent with --no-debug-headers, never in the body).
func TestSignatureRejections(t *testing.T) {
	path := "/khipu/api/2.0/payments"
	body := url.Values{"subject": {"x"}, "currency": {"CLP"}, "amount": {"1000"}}
	good := SignRequest(DefaultSecret, DefaultReceiverID, "POST", "http://"+testHost+path, body)
	candidate1 := stringToSign("POST", "http://"+testHost+path, params{"subject": "x", "currency": "CLP", "amount": "1000"})
	id, hexSig, _ := strings.Cut(good, ":")
	tests := []struct {
		name   string
		auth   string
		body   string
		status int
		msg    string
	}{
		{"upper-case hex", id + ":" + strings.ToUpper(hexSig), body.Encode(), http.StatusOK, ""},
		{"tampered param", good, strings.Replace(body.Encode(), "1000", "1001", 1), http.StatusForbidden, msgA3},
		{"wrong secret", SignRequest("other", DefaultReceiverID, "POST", "http://"+testHost+path, body), body.Encode(), http.StatusForbidden, msgA3},
		{"unknown receiver", "999:" + hexSig, body.Encode(), http.StatusForbidden, msgA2},
		{"missing header", "", body.Encode(), http.StatusForbidden, msgA1},
		{"no colon", id + hexSig, body.Encode(), http.StatusForbidden, msgA1},
		{"non-integer receiver", "abc:" + hexSig, body.Encode(), http.StatusForbidden, msgA1},
		{"short hex", id + ":" + hexSig[:60], body.Encode(), http.StatusForbidden, msgA1},
	}
	for _, debug := range []bool{true, false} {
		k := newKEnv(t, withOptions(func(o *sandboxOptions) { o.NoDebugHeaders = !debug }))
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				hs := []string{"Content-Type: application/x-www-form-urlencoded"}
				if tt.auth != "" {
					hs = append(hs, "Authorization: "+tt.auth)
				}
				rec := k.do(req(http.MethodPost, path, tt.body, hs...))
				wantStatus(t, rec, tt.status)
				if tt.status == http.StatusOK {
					return
				}
				wantBody(t, rec, http.StatusForbidden, `{"status":403,"message":"`+tt.msg+`"}`)
				sts := rec.Header().Get("X-Sandbox-String-To-Sign")
				if !debug {
					if sts != "" || rec.Header().Get("X-Sandbox-String-To-Sign-B64") != "" || rec.Header().Get("X-Sandbox-Error-Detail") != "" {
						t.Errorf("debug headers present with --no-debug-headers: %v", rec.Header())
					}
					return
				}
				wantSTS := candidate1
				if tt.name == "tampered param" {
					wantSTS = strings.Replace(candidate1, "amount=1000", "amount=1001", 1)
				}
				if sts != wantSTS {
					t.Errorf("X-Sandbox-String-To-Sign = %q, want %q", sts, wantSTS)
				}
				if b, _ := base64.StdEncoding.DecodeString(rec.Header().Get("X-Sandbox-String-To-Sign-B64")); string(b) != wantSTS {
					t.Errorf("X-Sandbox-String-To-Sign-B64 decodes to %q", b)
				}
				if rec.Header().Get("X-Sandbox-Error-Detail") == "" {
					t.Error("no X-Sandbox-Error-Detail")
				}
				if strings.Contains(rec.Body.String(), "POST&") {
					t.Error("the string to sign leaked into the body")
				}
			})
		}
	}
}

// K-SIG-09 (journal): every candidate string is journaled with the verdict.
func TestSignatureJournal(t *testing.T) {
	k := newKEnv(t, withOptions(func(o *sandboxOptions) { o.PublicURL = "https://pub.example" }))
	rec := k.do(req(http.MethodGet, "/khipu/api/2.0/banks", "", "Authorization: 123456:"+strings.Repeat("0", 64)))
	wantStatus(t, rec, http.StatusForbidden)
	es := k.journalEntries("request")
	if len(es) == 0 || es[len(es)-1].Request.Signature == nil {
		t.Fatal("no request entry with a signature")
	}
	sig := es[len(es)-1].Request.Signature
	if sig.Verdict != "rejected" || len(sig.Candidates) != 3 || sig.Expected != sig.Candidates[0].Signature ||
		sig.Candidates[2].StringToSign != "GET&https%3A%2F%2Fkhipu.com%2Fapi%2F2.0%2Fbanks" {
		t.Errorf("signature diagnostics = %+v", sig)
	}
}

// K-SIG-10: the Java large-amount mismatch and npm khipu-client's
// encodeURIComponent signature of "Compra (#1)" are rejected.
func TestClientBugsRejected(t *testing.T) {
	k := newKEnv(t)
	path := "/khipu/api/2.0/payments"
	u := "http://" + testHost + path
	// Java signs Double.toString(amount) but sends the BigDecimal text.
	javaSigned := stringToSign("POST", u, params{"subject": "x", "currency": "CLP", "amount": "1.2345678E7"})
	rec := k.do(req(http.MethodPost, path, "subject=x&currency=CLP&amount=12345678",
		"Authorization: 123456:"+hmacHex(DefaultSecret, javaSigned), "Content-Type: application/x-www-form-urlencoded"))
	wantBody(t, rec, http.StatusForbidden, `{"status":403,"message":"`+msgA3+`"}`)

	// encodeURIComponent leaves ( ) unescaped.
	jsEnc := func(s string) string {
		return strings.NewReplacer("%28", "(", "%29", ")", "%21", "!", "%27", "'", "%2A", "*").Replace(enc(s))
	}
	toSign := "POST&" + jsEnc(u) + "&amount=1000&currency=CLP&subject=" + jsEnc("Compra (#1)")
	rec = k.do(req(http.MethodPost, path, "subject=Compra+%28%231%29&currency=CLP&amount=1000",
		"Authorization: 123456:"+hmacHex(DefaultSecret, toSign), "Content-Type: application/x-www-form-urlencoded"))
	wantBody(t, rec, http.StatusForbidden, `{"status":403,"message":"`+msgA3+`"}`)
}

// K-SIG-11: a bad signature wins over invalid fields (auth first).
func TestAuthenticationBeforeValidation(t *testing.T) {
	k := newKEnv(t)
	rec := k.do(req(http.MethodPost, "/khipu/api/2.0/payments", "amount=abc", "Authorization: 123456:"+strings.Repeat("a", 64),
		"Content-Type: application/x-www-form-urlencoded"))
	wantBody(t, rec, http.StatusForbidden, `{"status":403,"message":"`+msgA3+`"}`)
}

func FuzzVerifyAuthorization(f *testing.F) {
	f.Add("123456:"+strings.Repeat("ab", 32), "GET", "http://127.0.0.1:8080/khipu/api/2.0/banks", "a=1&b=%7E")
	f.Add("", "POST", "/test", "")
	f.Add("1:zz", "DELETE", "https://khipu.com/api/2.0/payments/x/", "%%%&&==")
	f.Fuzz(func(t *testing.T, header, method, rawURL, form string) {
		p := decodeForm(form)
		ah, ok := parseAuthorization(header)
		if !ok {
			return
		}
		cands := candidateURLs("http", "h", rawURL, "")
		v := verifySignature(newMACPool(DefaultSecret), method, cands, p, ah.signature)
		// Property: a header computed by the signer is always accepted.
		good := hmacHex(DefaultSecret, stringToSign(method, cands[0].url, p))
		if !verifySignature(newMACPool(DefaultSecret), method, cands, p, good).ok {
			t.Fatalf("own signature rejected for %q %q %q", method, rawURL, form)
		}
		_ = v
	})
}

func FuzzDecodeForm(f *testing.F) {
	f.Add("subject=Compra+de+prueba+%28%231%29&amount=1570")
	f.Add("%")
	f.Add("a=%e2%82%ac&b=%ff")
	f.Fuzz(func(t *testing.T, s string) {
		p := decodeForm(s)
		// Round trip: re-encoding with enc and decoding gives the same params.
		var parts []string
		for k, v := range p {
			parts = append(parts, enc(k)+"="+enc(v))
		}
		q := decodeForm(strings.Join(parts, "&"))
		if len(q) != len(p) {
			t.Fatalf("round trip of %q: %v → %v", s, p, q)
		}
		for k, v := range p {
			if q[k] != v {
				t.Fatalf("round trip of %q: %q = %q → %q", s, k, v, q[k])
			}
		}
	})
}

// The debug headers render bytes a header cannot carry as %XX, as Hambit
// and PayU do: a malformed Authorization quoting "é" and a control byte.
func TestDebugHeadersHeaderSafe(t *testing.T) {
	k := newKEnv(t)
	rec := k.do(req(http.MethodPost, "/khipu/api/2.0/payments", "subject=x", "Content-Type: application/x-www-form-urlencoded", "Authorization: é\x01"))
	wantStatus(t, rec, http.StatusForbidden)
	d := rec.Header().Get("X-Sandbox-Error-Detail")
	if !strings.Contains(d, `"%C3%A9\x01"`) {
		t.Errorf("X-Sandbox-Error-Detail = %q, want the header quoted with é percent-encoded", d)
	}
}
