package khipu

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/paysandbox/sandbox/emulators/internal/sandboxtest"
)

// K-RT-01: every v2/v3 route with and without a trailing slash; the real
// hosts reach the tree without the prefix; wrong methods get 405 + Allow;
// unknown paths get Khipu's 404.
func TestRoutes(t *testing.T) {
	k := newKEnv(t)
	id := k.createV2(basicPayment())
	v2 := []struct{ method, path string }{
		{"GET", "/khipu/api/2.0/banks"},
		{"GET", "/khipu/api/2.0/payments/" + id},
		{"GET", "/khipu/api/2.0/merchants/123456/paymentMethods"},
	}
	for _, r := range v2 {
		for _, p := range []string{r.path, r.path + "/"} {
			if rec := k.v2(r.method, p, nil); rec.Code != http.StatusOK {
				t.Errorf("%s %s: %d %s", r.method, p, rec.Code, rec.Body)
			}
		}
	}
	if rec := k.v2("GET", "/khipu/api/2.0/payments/", url.Values{"notification_token": {k.stored(id).Token}}); rec.Code != 200 {
		t.Errorf("GET /payments/?notification_token: %d %s", rec.Code, rec.Body)
	}
	if rec := k.v2("POST", "/khipu/api/2.0/payments/", basicPayment()); rec.Code != 200 {
		t.Errorf("POST /payments/: %d %s", rec.Code, rec.Body)
	}
	for _, p := range []string{"/khipu/v3/banks", "/khipu/v3/banks/", "/khipu/v3/payments/" + id, "/khipu/v3/payments/" + id + "/",
		"/khipu/v3/merchants/123456/paymentMethods", "/khipu/v3/predict?payer_email=a@b.cl&bank_id=Bawdf&amount=1000&currency=CLP"} {
		if rec := k.v3("GET", p, ""); rec.Code != http.StatusOK {
			t.Errorf("GET %s: %d %s", p, rec.Code, rec.Body)
		}
	}
	if rec := k.v3("POST", "/khipu/v3/payments/", `{"subject":"x","currency":"CLP","amount":1000}`); rec.Code != 200 {
		t.Errorf("POST /v3/payments/: %d %s", rec.Code, rec.Body)
	}

	// Host routing: no prefix under the real hosts.
	r := signedV2(DefaultSecret, DefaultReceiverID, "GET", "/api/2.0/banks", nil)
	r.Header.Set("Authorization", SignRequest(DefaultSecret, DefaultReceiverID, "GET", "https://khipu.com/api/2.0/banks", nil))
	r.Host = "khipu.com"
	if rec := k.do(r); rec.Code != 200 {
		t.Errorf("Host khipu.com /api/2.0/banks: %d %s", rec.Code, rec.Body)
	}
	r = req("GET", "/v3/banks", "", "x-api-key: "+DefaultAPIKey)
	r.Host = "payment-api.khipu.com"
	if rec := k.do(r); rec.Code != 200 {
		t.Errorf("Host payment-api.khipu.com /v3/banks: %d %s", rec.Code, rec.Body)
	}

	// 405 with Allow, no authentication needed.
	rec := k.do(req("PUT", "/khipu/api/2.0/payments/"+id, ""))
	wantBody(t, rec, http.StatusMethodNotAllowed, `{"status":405,"message":"Método no permitido"}`)
	if a := rec.Header().Get("Allow"); a != "DELETE, GET" {
		t.Errorf("Allow = %q", a)
	}
	rec = k.do(req("DELETE", "/khipu/v3/banks/", ""))
	wantBody(t, rec, http.StatusMethodNotAllowed, `{"status":405,"message":"Método no permitido"}`)
	// The assets take GET (and HEAD) only, with the same 405 and Allow.
	rec = k.do(req("POST", "/khipu/static/any.css", ""))
	wantBody(t, rec, http.StatusMethodNotAllowed, `{"status":405,"message":"Método no permitido"}`)
	if a := rec.Header().Get("Allow"); a != "GET" {
		t.Errorf("static Allow = %q", a)
	}

	// 404 for unknown paths, no authentication needed.
	for _, p := range []string{"/khipu/api/2.0/nope", "/khipu/v3/payments/x/y/z", "/khipu/api/1.3/payments", "/khipu/static/nope.css"} {
		wantBody(t, k.do(req("GET", p, "")), http.StatusNotFound, `{"status":404,"message":"Recurso no encontrado"}`)
	}
	// The receivers operations are integrator-only (§17).
	wantBody(t, k.v2("POST", "/khipu/api/2.0/receivers", url.Values{"x": {"1"}}), 403, `{"status":403,"message":"`+msgA6+`"}`)
	wantBody(t, k.v3("GET", "/khipu/v3/receivers/children", ""), 403, `{"status":403,"message":"`+msgA6+`"}`)
	wantBody(t, k.v3("POST", "/khipu/v3/receivers", "{}"), 403, `{"status":403,"message":"`+msgA6+`"}`)
}

// K-RT-02: URLs handed out use the public base, else the request's scheme
// and Host (+/khipu in the prefix layout), and stay stable.
func TestLinkBase(t *testing.T) {
	created := func(k *kenv, r *http.Request) createResponse {
		t.Helper()
		rec := k.do(r)
		wantStatus(t, rec, 200)
		var out createResponse
		json.Unmarshal(rec.Body.Bytes(), &out)
		return out
	}
	body := url.Values{"subject": {"x"}, "currency": {"CLP"}, "amount": {"1000"}}
	t.Run("prefix layout", func(t *testing.T) {
		k := newKEnv(t)
		out := created(k, signedV2(DefaultSecret, DefaultReceiverID, "POST", "/khipu/api/2.0/payments", body))
		if out.PaymentURL != "http://"+testHost+"/khipu/payment/info/"+out.PaymentID ||
			out.SimplifiedTransferURL != "http://"+testHost+"/khipu/payment/simplified/"+out.PaymentID ||
			out.TransferURL != "http://"+testHost+"/khipu/payment/manual/"+out.PaymentID || out.AppURL != "khipu:///pos/"+out.PaymentID {
			t.Errorf("URLs = %+v", out)
		}
		// Stable: reading from another Host keeps the creation's link base.
		r := signedV2(DefaultSecret, DefaultReceiverID, "GET", "/khipu/api/2.0/payments/"+out.PaymentID, nil)
		r.Host = "other:9"
		r.Header.Set("Authorization", SignRequest(DefaultSecret, DefaultReceiverID, "GET", "http://other:9/khipu/api/2.0/payments/"+out.PaymentID, nil))
		rec := k.do(r)
		if m := decodeMap(t, rec.Body.Bytes()); m["payment_url"] != out.PaymentURL {
			t.Errorf("payment_url changed to %v", m["payment_url"])
		}
	})
	t.Run("host routing", func(t *testing.T) {
		k := newKEnv(t)
		r := signedV2(DefaultSecret, DefaultReceiverID, "POST", "/api/2.0/payments", body)
		r.Host = "khipu.com"
		r.Header.Set("Authorization", SignRequest(DefaultSecret, DefaultReceiverID, "POST", "http://khipu.com/api/2.0/payments", body))
		out := created(k, r)
		if out.PaymentURL != "http://khipu.com/payment/info/"+out.PaymentID {
			t.Errorf("payment_url = %s", out.PaymentURL)
		}
		// The production-shaped page URL works under that host.
		pr := req("GET", "/payment/info/"+out.PaymentID, "")
		pr.Host = "khipu.com"
		if rec := k.do(pr); rec.Code != 200 || !strings.Contains(rec.Body.String(), `href="/static/khipu.css"`) {
			t.Errorf("host-routed page: %d %.300s", rec.Code, rec.Body)
		}
	})
	t.Run("public URL", func(t *testing.T) {
		k := newKEnv(t, withOptions(func(o *sandboxOptions) { o.PublicURL = "https://pay.example/" }))
		out := created(k, signedV2(DefaultSecret, DefaultReceiverID, "POST", "/khipu/api/2.0/payments", body))
		if out.PaymentURL != "https://pay.example/khipu/payment/info/"+out.PaymentID {
			t.Errorf("payment_url = %s", out.PaymentURL)
		}
		rec := k.v2("GET", "/khipu/api/2.0/merchants/123456/paymentMethods", nil)
		if !strings.Contains(rec.Body.String(), `"logo_url":"https://pay.example/khipu/static/simplified_transfer.svg"`) {
			t.Errorf("paymentMethods = %s", rec.Body)
		}
	})
}

// Golden responses of the API (§6, §8): deterministic ids (seed 1) and
// times (the synctest clock starts at 2000-01-01T00:00:00Z). They pin the
// exact bytes (key order included); TestProductionShapes holds the same
// states to the recorded production shapes, which -update never rewrites.
func TestGoldenResponses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newKEnv(t)
		sandboxtest.Golden(t, "v2_banks.json", k.v2("GET", "/khipu/api/2.0/banks", nil).Body.Bytes())
		sandboxtest.Golden(t, "v3_banks.json", k.v3("GET", "/khipu/v3/banks", "").Body.Bytes())
		sandboxtest.Golden(t, "payment_methods.json", k.v2("GET", "/khipu/api/2.0/merchants/123456/paymentMethods", nil).Body.Bytes())

		vec := loadSignatureVectors(t)[1].Params // §5.5 (b): the PHP create
		params := url.Values{}
		for key, v := range vec {
			params.Set(key, v)
		}
		rec := k.v2("POST", "/khipu/api/2.0/payments", params)
		sandboxtest.Golden(t, "v2_create.json", rec.Body.Bytes())
		id := decodeMap(t, rec.Body.Bytes())["payment_id"].(string)
		sandboxtest.Golden(t, "v2_payment_pending.json", k.v2("GET", "/khipu/api/2.0/payments/"+id, nil).Body.Bytes())
		sandboxtest.Golden(t, "v3_payment_pending.json", k.v3("GET", "/khipu/v3/payments/"+id, "").Body.Bytes())

		if _, err := k.svc.Act(t.Context(), id, "pay", []byte(`{"email":"pagador@example.com"}`)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second) // verify.simplified_delay
		k.advance(0)
		sandboxtest.Golden(t, "v2_payment_done.json", k.v2("GET", "/khipu/api/2.0/payments/"+id, nil).Body.Bytes())
		sandboxtest.Golden(t, "v3_payment_done.json", k.v3("GET", "/khipu/v3/payments/"+id, "").Body.Bytes())
		rec = k.v2("GET", "/khipu/api/2.0/payments", url.Values{"notification_token": {k.stored(id).Token}})
		sandboxtest.Golden(t, "v2_payment_by_token.json", rec.Body.Bytes())

		wantBody(t, k.v2("POST", "/khipu/api/2.0/payments/"+id+"/refunds", nil), 200, `{"message":"Reembolso realizado"}`)
		sandboxtest.Golden(t, "v2_payment_refunded.json", k.v2("GET", "/khipu/api/2.0/payments/"+id, nil).Body.Bytes())
		sandboxtest.Golden(t, "v3_payment_refunded.json", k.v3("GET", "/khipu/v3/payments/"+id, "").Body.Bytes())
	})
}

// K-FMT-01: wire formats.
func TestWireFormats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newKEnv(t)
		id := k.createV2(url.Values{"subject": {"x"}, "currency": {"CLP"}, "amount": {"1570"}, "expires_date": {"2030-01-02T03:04:05Z"}})
		rec := k.v2("GET", "/khipu/api/2.0/payments/"+id, nil)
		body := rec.Body.String()
		for _, want := range []string{`"amount":"1570.0000"`, `"discount":"0.0000"`, `"receiver_id":123456,`,
			`"expires_date":"2030-01-02T03:04:05.000Z"`, `"attachment_urls":[]`, `"status":"pending"`, `"status_detail":"pending"`} {
			if !strings.Contains(body, want) {
				t.Errorf("payment lacks %s: %s", want, body)
			}
		}
		if strings.Contains(body, "conciliation_date") || strings.Contains(body, "null") || strings.Contains(body, "third_party") {
			t.Errorf("pending v2 payment shows conciliation_date, a null or the v3 field: %s", body)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		if len(id) != 12 || strings.Trim(id, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
			t.Errorf("payment_id %q is not 12 [a-z0-9]", id)
		}
		if tok := k.stored(id).Token; len(tok) != 64 || strings.Trim(tok, "0123456789abcdef") != "" {
			t.Errorf("notification_token %q is not 64 lower hex", tok)
		}
		if b := k.v2("GET", "/khipu/api/2.0/banks", nil).Body.String(); !strings.Contains(b, `"min_amount":"200.0000"`) {
			t.Errorf("banks = %s", b)
		}
		// No HTML escaping of <>&.
		id = k.createV2(url.Values{"subject": {"<a&b>"}, "currency": {"CLP"}, "amount": {"1000"}})
		if b := k.v2("GET", "/khipu/api/2.0/payments/"+id, nil).Body.String(); !strings.Contains(b, `"subject":"<a&b>"`) {
			t.Errorf("subject escaped: %s", b)
		}
		// Default expiry: creation + 24 h.
		if p := k.payment(id); p["expires_date"] != "2000-01-02T00:00:00.000Z" {
			t.Errorf("default expires_date = %v", p["expires_date"])
		}
	})
}

// K-FMT-02: booleans as each client sends them.
func TestBooleanQuirks(t *testing.T) {
	k := newKEnv(t)
	tests := []struct {
		name          string
		sendEmail     []string // nil = absent (PHP drops false)
		sendReminders []string
		email, rem    bool
	}{
		{"PHP drops false, sends true as 1", nil, []string{"1"}, false, true},
		{"Ruby true/false", []string{"false"}, []string{"true"}, false, true},
		{".NET True/False", []string{"False"}, []string{"True"}, false, true},
		{"empty is false", []string{""}, []string{"0"}, false, false},
		{"send_email true with payer fields", []string{"TRUE"}, nil, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := url.Values{"subject": {"x"}, "currency": {"CLP"}, "amount": {"1000"}, "payer_name": {"Ana"}, "payer_email": {"ana@example.com"}}
			if tt.sendEmail != nil {
				p["send_email"] = tt.sendEmail
			}
			if tt.sendReminders != nil {
				p["send_reminders"] = tt.sendReminders
			}
			m := k.payment(k.createV2(p))
			if m["send_email"] != tt.email || m["send_reminders"] != tt.rem {
				t.Errorf("send_email %v send_reminders %v, want %v %v", m["send_email"], m["send_reminders"], tt.email, tt.rem)
			}
		})
	}
	rec := k.v2("POST", "/khipu/api/2.0/payments", url.Values{"subject": {"x"}, "currency": {"CLP"}, "amount": {"1000"}, "send_reminders": {"yes"}})
	wantBody(t, rec, 400, `{"status":400,"message":"Datos inválidos","errors":[{"field":"send_reminders","message":"Valor booleano inválido"}]}`)
}

// K-FMT-03: amounts as each client sends them.
func TestAmountQuirks(t *testing.T) {
	k := newKEnv(t)
	create := func(amount, currency string) (int, string) {
		rec := k.v2("POST", "/khipu/api/2.0/payments", url.Values{"subject": {"x"}, "currency": {currency}, "amount": {amount}})
		return rec.Code, rec.Body.String()
	}
	if code, body := create("1570.0", "CLP"); code != 200 {
		t.Fatalf("Java 1570.0: %d %s", code, body)
	} else if id := decodeMap(t, []byte(body))["payment_id"].(string); k.payment(id)["amount"] != "1570.0000" {
		t.Errorf("1570.0 echoed as %v", k.payment(id)["amount"])
	}
	tests := []struct{ amount, currency, msg string }{
		{"1570.5", "CLP", "El monto admite a lo más 0 decimales para CLP"},
		{"100,5", "CLP", msgAmountFormat},
		{"1.2E7", "CLP", msgAmountFormat},
		{"1.000", "USD", ""},
		{"1,000", "USD", msgAmountFormat},
		{"0", "CLP", msgAmountZero},
		{"-1", "CLP", msgAmountZero},
		{"10.1234", "USD", ""},
		{"10.12345", "USD", "El monto admite a lo más 4 decimales para USD"},
		{"12345678901234567", "USD", "Excede el largo máximo de 16 caracteres"},
		{" 1000 ", "CLP", ""},
	}
	for _, tt := range tests {
		code, body := create(tt.amount, tt.currency)
		if tt.msg == "" {
			if code != 200 {
				t.Errorf("amount %q %s: %d %s", tt.amount, tt.currency, code, body)
			}
			continue
		}
		want := `{"status":400,"message":"Datos inválidos","errors":[{"field":"amount","message":"` + tt.msg + `"}]}`
		if code != 400 || body != want {
			t.Errorf("amount %q %s: %d %s\nwant %s", tt.amount, tt.currency, code, body, want)
		}
	}
}

// K-FMT-04: date formats of every client parse to the same instant.
func TestDateQuirks(t *testing.T) {
	want := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2030-01-02T03:04:05+0000", want},
		{"2030-01-02T03:04:05+00:00", want},
		{"2030-01-02T03:04:05.000Z", want},
		{"2030-01-02T03:04:05.000-03:00", want.Add(3 * time.Hour)},
		{"2030-01-02T03:04:05.000", want},
		{"2030-01-02 03:04:05+00:00", want},
		{"2030-01-02T03:04:05+00", want},
		{"2030-01-02t03:04:05z", want},
		{"2030-01-02T03:04:05.123456789Z", want.Add(123456789)},
		// Ruby's Time#to_s (the official Ruby client): a space before the zone.
		{"2030-01-02 03:04:05 +0000", want},
		{"2030-01-02 03:04:05 -0300", want.Add(3 * time.Hour)},
		{"2030-01-02 03:04:05 UTC", want},
		{"2030-01-02 03:04:05 GMT", want},
		{"2030-01-02T03:04:05.5 +05:30", want.Add(500*time.Millisecond - 5*time.Hour - 30*time.Minute)},
		{"2030-01-02 03:04:05 +00", want},
	}
	for _, tt := range tests {
		got, err := parseDate(tt.in)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("parseDate(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"02/01/2030", "2030-01-02", "2030-13-02T03:04:05Z", "2030-02-30T03:04:05Z", "2030-01-02T03:04:05.Z",
		"2030-01-02T03:04:05+3", "2030-01-02T03:04:05.0123456789Z", "2030-01-02T24:00:00Z", "", "2030-01-02T03:04:05 Z",
		"2030-01-02 03:04:05  +0000", "2030-01-02 03:04:05 +", "2030-01-02 03:04:05 utc", "2030-01-02 03:04:05UTC",
		"2030-01-02 03:04:05 CET", "2030-01-02 03:04:05 UTC+1", "2030-01-02  03:04:05", "2030-01-02 03:04", "mañana"} {
		if _, err := parseDate(bad); err == nil {
			t.Errorf("parseDate(%q) accepted", bad)
		}
	}
	synctest.Test(t, func(t *testing.T) {
		k := newKEnv(t)
		for _, tt := range tests[:6] {
			m := k.payment(k.createV2(url.Values{"subject": {"x"}, "currency": {"CLP"}, "amount": {"1000"}, "expires_date": {tt.in}}))
			if m["expires_date"] != formatTime(tt.want) {
				t.Errorf("expires_date %q echoed as %v", tt.in, m["expires_date"])
			}
		}
		rec := k.v2("POST", "/khipu/api/2.0/payments", url.Values{"subject": {"x"}, "currency": {"CLP"}, "amount": {"1000"}, "expires_date": {"02/01/2030"}})
		wantBody(t, rec, 400, `{"status":400,"message":"Datos inválidos","errors":[{"field":"expires_date","message":"Fecha inválida: use formato ISO-8601"}]}`)
	})
}

// Issue 11: the expires_date values of the official and popular clients are
// accepted through API 2.0 and 3.0 and echoed in the documented format
// (UTC with milliseconds, §4.3); a date without a time, an impossible date
// and garbage get the 400 shape with F11.
func TestExpiresDateClients(t *testing.T) {
	good := []struct{ in, echo string }{
		{"2026-12-08 01:40:00 +0000", "2026-12-08T01:40:00.000Z"}, // Ruby Time#to_s
		{"2026-12-08 01:40:00 UTC", "2026-12-08T01:40:00.000Z"},   // Ruby Time#to_s of a UTC time
		{"2026-12-08T01:40:00.123456+00:00", "2026-12-08T01:40:00.123Z"},
		{"2026-12-08T01:40:00.000Z", "2026-12-08T01:40:00.000Z"},
		{"2026-12-08T01:40:00-0300", "2026-12-08T04:40:00.000Z"},
	}
	bad := []string{"2026-12-08", "2026-02-30 10:00:00", "mañana"}
	synctest.Test(t, func(t *testing.T) {
		k := newKEnv(t)
		for _, tt := range good {
			m := k.payment(k.createV2(url.Values{"subject": {"x"}, "currency": {"CLP"}, "amount": {"1000"}, "expires_date": {tt.in}}))
			if m["expires_date"] != tt.echo {
				t.Errorf("v2 expires_date %q echoed as %v, want %s", tt.in, m["expires_date"], tt.echo)
			}
			body, _ := json.Marshal(map[string]any{"subject": "x", "currency": "CLP", "amount": 1000, "expires_date": tt.in})
			rec := k.v3("POST", "/khipu/v3/payments", string(body))
			wantStatus(t, rec, 200)
			id := decodeMap(t, rec.Body.Bytes())["payment_id"].(string)
			if m := decodeMap(t, k.v3("GET", "/khipu/v3/payments/"+id, "").Body.Bytes()); m["expires_date"] != tt.echo {
				t.Errorf("v3 expires_date %q echoed as %v, want %s", tt.in, m["expires_date"], tt.echo)
			}
		}
		for _, in := range bad {
			rec := k.v2("POST", "/khipu/api/2.0/payments", url.Values{"subject": {"x"}, "currency": {"CLP"}, "amount": {"1000"}, "expires_date": {in}})
			wantBody(t, rec, 400, `{"status":400,"message":"Datos inválidos","errors":[{"field":"expires_date","message":"Fecha inválida: use formato ISO-8601"}]}`)
			body, _ := json.Marshal(map[string]any{"subject": "x", "currency": "CLP", "amount": 1000, "expires_date": in})
			rec = k.v3("POST", "/khipu/v3/payments", string(body))
			wantBody(t, rec, 400, `{"status":400,"message":"Datos inválidos","errors":[{"field":"expires_date","message":"Fecha inválida: use formato ISO-8601"}]}`)
		}
	})
}

// K-FMT-05: pykhipu signs GET /payments/{id}/ with the trailing slash.
func TestTrailingSlashSignature(t *testing.T) {
	k := newKEnv(t)
	id := k.createV2(basicPayment())
	rec := k.do(signedV2(DefaultSecret, DefaultReceiverID, "GET", "/khipu/api/2.0/payments/"+id+"/", nil))
	wantStatus(t, rec, 200)
	// Signing without the slash what is sent with one is rejected.
	r := req("GET", "/khipu/api/2.0/payments/"+id+"/", "", "Authorization: "+SignRequest(DefaultSecret, DefaultReceiverID, "GET", "http://"+testHost+"/khipu/api/2.0/payments/"+id, nil))
	wantStatus(t, k.do(r), 403)
}
