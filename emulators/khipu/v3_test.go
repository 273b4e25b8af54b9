package khipu

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/paysandbox/sandbox/emulators/internal/journal"
)

// K-V3-01: credentials.
func TestV3Credentials(t *testing.T) {
	k := newKEnv(t)
	wantBody(t, k.do(req("GET", "/khipu/v3/banks", "")), 401, `{"status":401,"message":"Credenciales no válidas o faltantes"}`)
	wantBody(t, k.do(req("GET", "/khipu/v3/banks", "", "x-api-key: nope")), 403, `{"status":403,"message":"Cliente no tiene privilegios"}`)
	// A v2 secret is not an API key.
	wantBody(t, k.do(req("GET", "/khipu/v3/banks", "", "x-api-key: "+DefaultSecret)), 403, `{"status":403,"message":"Cliente no tiene privilegios"}`)
	// The header name is case-insensitive.
	wantStatus(t, k.do(req("GET", "/khipu/v3/banks", "", "X-API-KEY: "+DefaultAPIKey)), 200)
}

// K-V3-02: JSON create with number and string amounts and JSON booleans;
// numbers keep their text (no float64).
func TestV3Create(t *testing.T) {
	k := newKEnv(t)
	tests := []struct {
		body, amount string
	}{
		{`{"subject":"x","currency":"CLP","amount":1570}`, "1570.0000"},
		{`{"subject":"x","currency":"CLP","amount":"1570"}`, "1570.0000"},
		{`{"subject":"x","currency":"CLP","amount":1570.0}`, "1570.0000"},
		{`{"subject":"x","currency":"USD","amount":0.1}`, "0.1000"},
		{`{"subject":"x","currency":"USD","amount":12345678901.1234}`, "12345678901.1234"},
		{`{"subject":"x","currency":"CLF","amount":"1.5"}`, "1.5000"},
		{`{"subject":"x","currency":"CLP","amount":1000,"send_email":true,"payer_name":"Ana","payer_email":"ana@example.com","send_reminders":false,"custom":null}`, "1000.0000"},
	}
	for _, tt := range tests {
		rec := k.v3("POST", "/khipu/v3/payments", tt.body)
		wantStatus(t, rec, 200)
		id := decodeMap(t, rec.Body.Bytes())["payment_id"].(string)
		m := decodeMap(t, k.v3("GET", "/khipu/v3/payments/"+id, "").Body.Bytes())
		if m["amount"] != tt.amount {
			t.Errorf("%s: amount %v, want %s", tt.body, m["amount"], tt.amount)
		}
	}
	bad := []struct{ body, field, msg string }{
		{`{"subject":12,"currency":"CLP","amount":1000}`, "subject", msgType},
		{`{"subject":"x","currency":"CLP","amount":true}`, "amount", msgType},
		{`{"subject":"x","currency":"CLP","amount":1e3}`, "amount", msgAmountFormat},
		{`{"subject":"x","currency":"CLP","amount":1000,"send_email":"maybe"}`, "send_email", msgBool},
		{`{"subject":"x","currency":"CLP","amount":1000,"send_email":{}}`, "send_email", msgType},
		{`{"subject":"x","currency":"CLP","amount":1000,"expires_date":20300101}`, "expires_date", msgType},
		{`{"subject":"x","currency":"CLP","amount":[1]}`, "amount", msgType},
	}
	for _, tt := range bad {
		rec := k.v3("POST", "/khipu/v3/payments", tt.body)
		wantStatus(t, rec, 400)
		errs := errorsOf(t, rec.Body.Bytes())
		if len(errs) != 1 || errs[0].Field != tt.field || errs[0].Message != tt.msg {
			t.Errorf("%s: errors %+v, want %s %s", tt.body, errs, tt.field, tt.msg)
		}
	}
}

// K-V3-03: malformed JSON.
func TestV3Malformed(t *testing.T) {
	k := newKEnv(t)
	for _, body := range []string{``, `{`, `[]`, `"x"`, `{"a":1}x`, `null`, strings.Repeat("[", 100) + strings.Repeat("]", 100),
		`{"a":` + strings.Repeat(`{"b":`, 40) + `1` + strings.Repeat("}", 41), "{\"subject\":\"\xff\"", `{"amount":1000,}`} {
		rec := k.v3("POST", "/khipu/v3/payments", body)
		if rec.Code != 400 || rec.Body.String() != `{"status":400,"message":"Solicitud mal formada","errors":[]}` {
			t.Errorf("%.40q: %d %s", body, rec.Code, rec.Body)
		}
	}
	// JSON is parsed regardless of Content-Type.
	rec := k.do(req("POST", "/khipu/v3/payments", `{"subject":"x","currency":"CLP","amount":1000}`, "x-api-key: "+DefaultAPIKey, "Content-Type: text/plain"))
	wantStatus(t, rec, 200)
}

// K-V3-04: one store behind both APIs; third_party_authorization_details
// only in v3.
func TestV2AndV3ShareTheStore(t *testing.T) {
	k := newKEnv(t)
	rec := k.v3("POST", "/khipu/v3/payments", `{"subject":"desde v3","currency":"CLP","amount":1000,"psp_client_merchant_name":"Tienda"}`)
	wantStatus(t, rec, 200)
	v3id := decodeMap(t, rec.Body.Bytes())["payment_id"].(string)
	if m := k.payment(v3id); m["subject"] != "desde v3" {
		t.Errorf("v3 payment through v2: %v", m)
	}
	if b := k.v2("GET", "/khipu/api/2.0/payments/"+v3id, nil).Body.String(); strings.Contains(b, "third_party_authorization_details") {
		t.Errorf("v2 shows the v3-only field: %s", b)
	}
	v2id := k.createV2(valid())
	b := k.v3("GET", "/khipu/v3/payments/"+v2id, "").Body.String()
	if !strings.Contains(b, `"third_party_authorization_details":""`) || !strings.Contains(b, `"payment_id":"`+v2id+`"`) {
		t.Errorf("v2 payment through v3: %s", b)
	}
	// Delete through v3, then v2 no longer sees it.
	wantBody(t, k.v3("DELETE", "/khipu/v3/payments/"+v2id, ""), 200, `{"message":"Pago eliminado"}`)
	wantStatus(t, k.v2("GET", "/khipu/api/2.0/payments/"+v2id, nil), 400)
}

// Every malformed request gets a Khipu-shaped 400/403/404/405, never a 500.
func TestMalformedRequestsAreKhipuShaped(t *testing.T) {
	k := newKEnv(t)
	sig := "Authorization: 123456:" + strings.Repeat("0", 64)
	tests := []*http.Request{
		req("POST", "/khipu/api/2.0/payments", "%%%%&&&===", "Content-Type: application/x-www-form-urlencoded", sig),
		req("POST", "/khipu/api/2.0/payments", "\xff\xfe", sig),
		req("POST", "/khipu/api/2.0/payments", "a=b", "Content-Type: ;;;", sig),
		req("GET", "/khipu/api/2.0/payments?%zz=1&;=2", "", sig),
		req("GET", "/khipu/v3/payments/%00", "", "x-api-key: "+DefaultAPIKey),
		req("POST", "/khipu/v3/payments/x/refunds", "{{{", "x-api-key: "+DefaultAPIKey),
		req("GET", "/khipu/payment/simplified/%ff", ""),
		req("POST", "/khipu/payment/simplified/x", "step=%%%"),
	}
	for _, r := range tests {
		rec := k.do(r)
		if rec.Code >= 500 || rec.Code < 400 {
			t.Errorf("%s %s: %d %s", r.Method, r.URL, rec.Code, rec.Body)
		}
	}
	// A signed create with garbage values is a validation error, not a crash.
	p := url.Values{"subject": {"\xff\xfe"}, "currency": {"\x00"}, "amount": {"\u0661\u0662"}, "expires_date": {"２０３０-01-01T00:00:00Z"}}
	wantStatus(t, k.v2("POST", "/khipu/api/2.0/payments", p), 400)
}

// Issue 11: a v3 request from a client generated from the OpenAPI document
// (openapi-generator, swagger-codegen) gets one journal note explaining the
// string amounts, once per sandbox instance; other clients and API 2.0 none.
func TestGeneratedClientNote(t *testing.T) {
	notes := func(k *kenv) []string {
		var out []string
		for _, e := range k.journalEntries(journal.KindNote) {
			if strings.Contains(e.Summary, "OpenAPI document") {
				out = append(out, e.Summary)
			}
		}
		return out
	}
	k := newKEnv(t)
	wantStatus(t, k.v3("GET", "/khipu/v3/banks", "", "User-Agent: khipu-api-php-client/2.9.1"), 200)
	wantStatus(t, k.v2("GET", "/khipu/api/2.0/banks", nil, "User-Agent: OpenAPI-Generator/1.0.0/go"), 200)
	if n := notes(k); len(n) != 0 {
		t.Fatalf("notes before any generated v3 client: %q", n)
	}
	wantStatus(t, k.v3("GET", "/khipu/v3/banks", "", "User-Agent: OpenAPI-Generator/1.0.0/go"), 200)
	wantStatus(t, k.v3("GET", "/khipu/v3/banks", "", "User-Agent: Swagger-Codegen/1.0.0/java"), 200)
	wantStatus(t, k.v3("GET", "/khipu/v3/banks", "", "User-Agent: OpenAPI-Generator/1.0.0/go"), 200)
	n := notes(k)
	if len(n) != 1 {
		t.Fatalf("notes = %q, want exactly one", n)
	}
	for _, want := range []string{`"OpenAPI-Generator/1.0.0/go"`, "amount, discount and min_amount as number", `"1570.0000"`, "json.Number", "once per run"} {
		if !strings.Contains(n[0], want) {
			t.Errorf("note %q lacks %s", n[0], want)
		}
	}
	// Another instance notes again (no global state), even for a refused
	// request; a huge User-Agent is quoted shortened.
	k2 := newKEnv(t)
	wantStatus(t, k2.do(req("GET", "/khipu/v3/banks", "", "User-Agent: swagger-codegen/2.4 "+strings.Repeat("x", 100000))), 401)
	n = notes(k2)
	if len(n) != 1 || len(n[0]) > 1500 || !strings.Contains(n[0], "swagger-codegen/2.4 xxx") {
		t.Errorf("second instance notes = %d, first %d bytes", len(n), len(n[0]))
	}
}
