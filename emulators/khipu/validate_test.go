package khipu

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/scenarios"
)

// errorsOf returns the errors[] of a 400 answer.
func errorsOf(t *testing.T, body []byte) []errorItem {
	t.Helper()
	var e struct {
		Status  int         `json:"status"`
		Message string      `json:"message"`
		Errors  []errorItem `json:"errors"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	if e.Status != 400 || e.Message != "Datos inválidos" {
		t.Fatalf("not a ValidationError: %s", body)
	}
	return e.Errors
}

func valid() url.Values {
	return url.Values{"subject": {"Compra"}, "currency": {"CLP"}, "amount": {"1000"}}
}

// K-VAL-01…: every rule of §7, on v2 (form) and v3 (JSON).
func TestValidationRules(t *testing.T) {
	rep := func(n int) string { return strings.Repeat("a", n) }
	urlOf := func(n int) string { return "http://x.cl/" + rep(n-len("http://x.cl/")) }
	tests := []struct {
		id     string
		set    map[string]string // "" value with del=true removes
		del    []string
		field  string
		msg    string // "" = accepted
		v3ok   bool   // accepted on v3 (CLF)
		config func(*Config)
	}{
		{id: "K-VAL-01 missing subject", del: []string{"subject"}, field: "subject", msg: msgRequired},
		{id: "K-VAL-01 missing currency", del: []string{"currency"}, field: "currency", msg: msgRequired},
		{id: "K-VAL-01 missing amount", del: []string{"amount"}, field: "amount", msg: msgRequired},
		{id: "K-VAL-02 subject 255", set: map[string]string{"subject": rep(255)}},
		{id: "K-VAL-02 subject 256", set: map[string]string{"subject": rep(256)}, field: "subject", msg: msgMaxLength(255)},
		{id: "K-VAL-02 subject counts code points", set: map[string]string{"subject": strings.Repeat("ñ", 255)}},
		{id: "K-VAL-02 transaction_id 256", set: map[string]string{"transaction_id": rep(256)}, field: "transaction_id", msg: msgMaxLength(255)},
		{id: "K-VAL-02 body 5120", set: map[string]string{"body": rep(5120)}},
		{id: "K-VAL-02 body 5121", set: map[string]string{"body": rep(5121)}, field: "body", msg: msgMaxLength(5120)},
		{id: "K-VAL-02 return_url 1024", set: map[string]string{"return_url": urlOf(1024)}},
		{id: "K-VAL-02 return_url 1025", set: map[string]string{"return_url": urlOf(1025)}, field: "return_url", msg: msgMaxLength(1024)},
		{id: "K-VAL-02 payer_name 256", set: map[string]string{"payer_name": rep(256)}, field: "payer_name", msg: msgMaxLength(255)},
		{id: "K-VAL-02 bank_id 6", set: map[string]string{"bank_id": "Bawdfx"}, field: "bank_id", msg: msgMaxLength(5)},
		{id: "K-VAL-02 collect_account_uuid 256", set: map[string]string{"collect_account_uuid": rep(256)}, field: "collect_account_uuid", msg: msgMaxLength(255)},
		{id: "K-VAL-03 currency USD", set: map[string]string{"currency": "USD", "amount": "10.5"}},
		{id: "K-VAL-03 currency lower case", set: map[string]string{"currency": "clp"}, field: "currency", msg: msgCurrency},
		{id: "K-VAL-03 currency CLF on v2", set: map[string]string{"currency": "CLF"}, field: "currency", msg: msgCurrency, v3ok: true},
		{id: "K-VAL-05 unknown bank", set: map[string]string{"bank_id": "Zzzzz"}, field: "bank_id", msg: msgBankUnknown},
		{id: "K-VAL-06 non-test bank on a developer receiver", set: map[string]string{"bank_id": "Real1"}, field: "bank_id", msg: msgBankDeveloper,
			config: func(c *Config) {
				c.Banks = append(c.Banks, Bank{BankID: "Real1", Name: "Banco Real", MinAmount: emulators.DecimalFromInt(1)})
			}},
		{id: "K-VAL-06 non-test bank on a production receiver", set: map[string]string{"bank_id": "Real1"},
			config: func(c *Config) {
				c.Banks = append(c.Banks, Bank{BankID: "Real1", Name: "Banco Real", MinAmount: emulators.DecimalFromInt(1)})
				c.Receivers = []Receiver{{ReceiverID: DefaultReceiverID, Secret: DefaultSecret, APIKey: DefaultAPIKey, Kind: "production"}}
			}},
		{id: "K-VAL-07 max_amount 50000", set: map[string]string{"amount": "50000"}},
		{id: "K-VAL-07 max_amount 50001", set: map[string]string{"amount": "50001"}, field: "amount", msg: "El monto excede el máximo por pago de esta cuenta de cobro (50000)"},
		{id: "K-VAL-07 max_amount 0 = no limit", set: map[string]string{"amount": "99999999"},
			config: func(c *Config) {
				zero := emulators.Decimal{}
				c.Receivers = []Receiver{{ReceiverID: DefaultReceiverID, Secret: DefaultSecret, APIKey: DefaultAPIKey, MaxAmount: &zero}}
			}},
		{id: "K-VAL-07 limits are CLP only", set: map[string]string{"currency": "USD", "amount": "60000"}},
		{id: "K-VAL-08 bank minimum 199", set: map[string]string{"bank_id": "Bawdf", "amount": "199"}, field: "amount", msg: "El monto es menor al mínimo aceptado por el banco (200)"},
		{id: "K-VAL-08 bank minimum 200", set: map[string]string{"bank_id": "Bawdf", "amount": "200"}},
		{id: "K-VAL-09 contract_url without identifier", set: map[string]string{"contract_url": "https://x.cl/c.pdf"}, field: "fixed_payer_personal_identifier", msg: msgContract},
		{id: "K-VAL-09 contract_url with identifier", set: map[string]string{"contract_url": "https://x.cl/c.pdf", "fixed_payer_personal_identifier": "11.111.111-1"}},
		{id: "K-VAL-10 notify_api_version 1.2", set: map[string]string{"notify_api_version": "1.2"}, field: "notify_api_version", msg: msgNotifyVersion},
		{id: "K-VAL-10 notify_api_version 3.0", set: map[string]string{"notify_api_version": "3.0"}},
		{id: "K-VAL-11 past expires_date", set: map[string]string{"expires_date": "2001-01-01T00:00:00Z"}, field: "expires_date", msg: msgDatePast},
		{id: "K-VAL-11 past confirm_timeout_date", set: map[string]string{"confirm_timeout_date": "2001-01-01T00:00:00Z"}, field: "confirm_timeout_date", msg: msgDatePast},
		{id: "K-VAL-12 relative return_url", set: map[string]string{"return_url": "/back"}, field: "return_url", msg: msgURL},
		{id: "K-VAL-12 ftp notify_url", set: map[string]string{"notify_url": "ftp://x.cl/n"}, field: "notify_url", msg: msgURL},
		{id: "K-VAL-13 bad payer_email", set: map[string]string{"payer_email": "ana@localhost"}, field: "payer_email", msg: msgEmail},
		{id: "K-VAL-13 bad responsible_user_email", set: map[string]string{"responsible_user_email": "nope"}, field: "responsible_user_email", msg: msgEmail},
		{id: "K-VAL-14 mandatory_payment_method", set: map[string]string{"mandatory_payment_method": "webpay"}, field: "mandatory_payment_method", msg: msgPaymentMethod},
		{id: "K-VAL-14 mandatory_payment_method ok", set: map[string]string{"mandatory_payment_method": "regular_transfer"}},
		{id: "K-VAL-15 integrator_fee", set: map[string]string{"integrator_fee": "1,5"}, field: "integrator_fee", msg: msgAmountFormat},
		{id: "K-VAL-15 integrator_fee ok", set: map[string]string{"integrator_fee": "0"}},
		{id: "K-VAL-15 unknown fields ignored", set: map[string]string{"webpay_url": "x", "whatever": "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			var opts []envOption
			if tt.config != nil {
				opts = append(opts, withConfig(tt.config))
			}
			k := newKEnv(t, opts...)
			p := valid()
			for key, v := range tt.set {
				p.Set(key, v)
			}
			for _, key := range tt.del {
				p.Del(key)
			}
			rec := k.v2("POST", "/khipu/api/2.0/payments", p)
			// The same request as v3 JSON (strings for every value).
			m := map[string]string{}
			for key := range p {
				m[key] = p.Get(key)
			}
			b, _ := json.Marshal(m)
			rec3 := k.v3("POST", "/khipu/v3/payments", string(b))
			for _, r := range []struct {
				api  string
				code int
				body []byte
			}{{"v2", rec.Code, rec.Body.Bytes()}, {"v3", rec3.Code, rec3.Body.Bytes()}} {
				if tt.msg == "" || (tt.v3ok && r.api == "v3") {
					if r.code != 200 {
						t.Errorf("%s: %d %s", r.api, r.code, r.body)
					}
					continue
				}
				if r.code != 400 {
					t.Fatalf("%s: %d %s", r.api, r.code, r.body)
				}
				errs := errorsOf(t, r.body)
				if len(errs) != 1 || errs[0].Field != tt.field || errs[0].Message != tt.msg {
					t.Errorf("%s errors = %+v, want %s: %s", r.api, errs, tt.field, tt.msg)
				}
			}
		})
	}
}

// K-VAL: send_email=true without payer fields → two errors; several
// errors come back together, in the order of §7.
func TestValidationMultipleErrors(t *testing.T) {
	k := newKEnv(t)
	rec := k.v2("POST", "/khipu/api/2.0/payments", url.Values{"currency": {"XXX"}, "amount": {"abc"}, "send_email": {"true"}})
	wantBody(t, rec, 400, `{"status":400,"message":"Datos inválidos","errors":[`+
		`{"field":"subject","message":"Campo obligatorio"},`+
		`{"field":"currency","message":"Moneda no soportada"},`+
		`{"field":"amount","message":"Monto inválido: use '.' como separador decimal y sin separador de miles"},`+
		`{"field":"payer_name","message":"Obligatorio cuando send_email es verdadero"},`+
		`{"field":"payer_email","message":"Obligatorio cuando send_email es verdadero"}]}`)
	if d := rec.Header().Get("X-Sandbox-Error-Detail"); !strings.Contains(d, "subject: Campo obligatorio") {
		t.Errorf("X-Sandbox-Error-Detail = %q", d)
	}
}

// K-VAL: unknown id → 400 F20 (v2) / 404 (v3); unknown token → 400 F21;
// missing token → F1.
func TestUnknownPayment(t *testing.T) {
	k := newKEnv(t)
	wantBody(t, k.v2("GET", "/khipu/api/2.0/payments/nope00000000", nil), 400,
		`{"status":400,"message":"Datos inválidos","errors":[{"field":"payment_id","message":"No existe un pago con ese identificador"}]}`)
	wantBody(t, k.v3("GET", "/khipu/v3/payments/nope00000000", ""), 404, `{"status":404,"message":"Pago no encontrado"}`)
	wantBody(t, k.v2("GET", "/khipu/api/2.0/payments", url.Values{"notification_token": {strings.Repeat("0", 64)}}), 400,
		`{"status":400,"message":"Datos inválidos","errors":[{"field":"notification_token","message":"No existe un pago con ese token de notificación"}]}`)
	wantBody(t, k.v2("GET", "/khipu/api/2.0/payments", nil), 400,
		`{"status":400,"message":"Datos inválidos","errors":[{"field":"notification_token","message":"Campo obligatorio"}]}`)
	for _, m := range []string{"DELETE"} {
		wantStatus(t, k.v2(m, "/khipu/api/2.0/payments/nope00000000", nil), 400)
	}
	wantStatus(t, k.v2("POST", "/khipu/api/2.0/payments/nope00000000/confirm", nil), 400)
	wantStatus(t, k.v2("POST", "/khipu/api/2.0/payments/nope00000000/refunds", nil), 400)
	wantStatus(t, k.v3("POST", "/khipu/v3/payments/nope00000000/refunds", ""), 404)
}

// Another receiver's payment is invisible.
func TestOtherReceiverInvisible(t *testing.T) {
	k := newKEnv(t, withConfig(func(c *Config) {
		c.BuiltinAccounts = true
		c.Receivers = []Receiver{{ReceiverID: 777, Secret: "s777", APIKey: "k777"}}
	}))
	id := k.createV2(valid())
	rec := k.do(signedV2("s777", 777, "GET", "/khipu/api/2.0/payments/"+id, nil))
	wantStatus(t, rec, 400)
	rec = k.do(req("GET", "/khipu/v3/payments/"+id, "", "x-api-key: k777"))
	wantStatus(t, rec, 404)
	// Merchant id of paymentMethods must be the authenticated receiver.
	wantBody(t, k.v2("GET", "/khipu/api/2.0/merchants/777/paymentMethods", nil), 403, `{"status":403,"message":"`+msgA5+`"}`)
}

func TestBodyTooLarge(t *testing.T) {
	k := newKEnv(t, withConfig(func(c *Config) { c.MaxBody = 1024 }))
	rec := k.do(req("POST", "/khipu/api/2.0/payments", "subject="+strings.Repeat("a", 2000), "Content-Type: application/x-www-form-urlencoded"))
	wantBody(t, rec, 400, `{"status":400,"message":"Datos inválidos","errors":[{"field":"body","message":"Solicitud demasiado grande"}]}`)
}

func TestRUT(t *testing.T) {
	for _, s := range []string{"11.111.111-1", "16.142.874-4", "12.345.678-5", "10.000.013-K", "10.000.013-k", "10.000.004-0", "111111111", "11111111-1", "1-9"} {
		r, err := parseRUT(s)
		if err != nil {
			t.Errorf("parseRUT(%q): %v", s, err)
			continue
		}
		if again, _ := parseRUT(r.String()); again != r {
			t.Errorf("round trip of %q via %q", s, r)
		}
	}
	for _, s := range []string{"11.111.111-2", "", "-", "11.11.111-1", "abc", "123456789-0", "0-0", "11.111.111--1", "1.1-1"} {
		if _, err := parseRUT(s); err == nil {
			t.Errorf("parseRUT(%q) accepted", s)
		}
	}
	if r, _ := parseRUT("11.111.111-1"); r.account(1) != "111111110001" || r.account(2) != "111111110002" {
		t.Errorf("accounts = %s %s", r.account(1), r.account(2))
	}
	if r, _ := parseRUT("1-9"); r.String() != "1-9" || r.account(1) != "000000010001" {
		t.Errorf("short RUT = %s %s", r, r.account(1))
	}
}

func TestDisplayAmount(t *testing.T) {
	tests := []struct {
		amount, currency, want string
	}{
		{"1570", "CLP", "$1.570"}, {"1570.0", "CLP", "$1.570"}, {"50000", "CLP", "$50.000"}, {"150", "CLP", "$150"},
		{"1234567", "CLP", "$1.234.567"}, {"10.5", "USD", "USD 10,50"}, {"1000.1234", "EUR", "EUR 1.000,1234"},
	}
	for _, tt := range tests {
		if got := displayAmount(emulators.MustDecimal(tt.amount), tt.currency); got != tt.want {
			t.Errorf("displayAmount(%s %s) = %s, want %s", tt.amount, tt.currency, got, tt.want)
		}
	}
	if got := developerPayerName(497684); got != "Cobrador de desarrollo #497.684" {
		t.Errorf("developerPayerName = %s", got)
	}
}

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	neg := emulators.DecimalFromInt(-1)
	c.Receivers = []Receiver{
		{ReceiverID: 1, Secret: "", APIKey: "k"},
		{ReceiverID: 1, Secret: "s", APIKey: "k", Kind: "test", MaxAmount: &neg, NotifyURL: "nope", NotifyAPIVersion: "1.2"},
		{ReceiverID: 0, Secret: "s", APIKey: ""},
	}
	c.Banks = append(c.Banks, Bank{BankID: "Bawdf", Name: ""})
	c.Callbacks.Timeout = 0
	c.MaxBody = 0
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"receivers[0].secret: required", "receivers[1].receiver_id: 1 is also used by receivers[0]", "receivers[1].api_key: also used by receivers[0]",
		"receivers[1].kind:", "receivers[1].max_amount:", "receivers[1].notify_url:", "receivers[1].notify_api_version:",
		"receivers[2].receiver_id: required", "receivers[2].api_key: required", `banks[2].bank_id: "Bawdf" is listed twice`, "banks[2].name: required",
		"callbacks.timeout:", "max_body:",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	// Duplicate of the built-in receiver.
	c = DefaultConfig()
	c.BuiltinAccounts = true
	c.Receivers = []Receiver{{ReceiverID: DefaultReceiverID, Secret: "s", APIKey: "other"}}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "built-in") {
		t.Errorf("duplicate built-in id: %v", err)
	}
	for _, tt := range []struct {
		in   string
		want ByteSize
	}{{"10MiB", 10 << 20}, {"512KiB", 512 << 10}, {"1MB", 1000000}, {"2048", 2048}, {"2048B", 2048}} {
		if got, err := parseByteSize(tt.in); err != nil || got != tt.want {
			t.Errorf("parseByteSize(%q) = %d, %v", tt.in, got, err)
		}
	}
	if _, err := parseByteSize("ten"); err == nil {
		t.Error("parseByteSize(ten) accepted")
	}
}

// GET /v3/predict (§10, issue 11): every key the 3.0 document marks
// required (cool_down_date null unless cooling down), and every documented
// result reachable: the amount rules with no scenario, a predict rule for
// the others.
func TestPredict(t *testing.T) {
	const q = "/khipu/v3/predict?payer_email=a@b.cl&bank_id=Bawdf&currency=CLP&amount="
	t.Run("amount rules", func(t *testing.T) {
		k := newKEnv(t)
		wantBody(t, k.v3("GET", q+"1000", ""), 200,
			`{"result":"ok","max_amount":50000,"new_destinatary_max_amount":50000,"cool_down_date":null}`)
		wantBody(t, k.v3("GET", q+"50000", ""), 200,
			`{"result":"ok","max_amount":50000,"new_destinatary_max_amount":50000,"cool_down_date":null}`)
		wantBody(t, k.v3("GET", q+"60000", ""), 200,
			`{"result":"max_amount_exceeded","max_amount":50000,"new_destinatary_max_amount":50000,"cool_down_date":null}`)
		// Other currencies are not limited.
		wantBody(t, k.v3("GET", "/khipu/v3/predict?payer_email=a@b.cl&bank_id=Bawdf&currency=USD&amount=60000", ""), 200,
			`{"result":"ok","max_amount":50000,"new_destinatary_max_amount":50000,"cool_down_date":null}`)
		rec := k.v3("GET", "/khipu/v3/predict?bank_id=Nope1&amount=x", "")
		errs := errorsOf(t, rec.Body.Bytes())
		if len(errs) != 4 {
			t.Errorf("errors = %+v", errs)
		}
	})
	t.Run("unlimited receiver", func(t *testing.T) {
		// max_amount 0 = no limit: 5,000,000, and the new-destinatary limit
		// of 100,000 below it (the document's example values).
		k := newKEnv(t, withConfig(func(c *Config) {
			zero := emulators.Decimal{}
			c.Receivers = []Receiver{{ReceiverID: DefaultReceiverID, Secret: DefaultSecret, APIKey: DefaultAPIKey, MaxAmount: &zero}}
		}))
		for _, tt := range []struct{ amount, result string }{
			{"100000", "ok"}, {"100001", "new_destinatary_amount_exceeded"}, {"5000000", "new_destinatary_amount_exceeded"},
			{"5000001", "max_amount_exceeded"},
		} {
			wantBody(t, k.v3("GET", q+tt.amount, ""), 200,
				`{"result":"`+tt.result+`","max_amount":5000000,"new_destinatary_max_amount":100000,"cool_down_date":null}`)
		}
	})
	t.Run("scenario", func(t *testing.T) {
		const yaml = `name: predict
rules:
  - {provider: khipu, on: predict, when: {payer_email: cool@b.cl}, then: {outcome: new_destinatary_cool_down}}
  - {provider: khipu, on: predict, when: {payer_email: cool2h@b.cl}, then: {outcome: new_destinatary_cool_down, cool_down: 2h}}
  - {provider: khipu, on: predict, when: {bank_id: Qwert}, then: {outcome: not_available_account}}
  - {provider: khipu, on: predict, when: {amount: {gt: 50000}, payer_email: vip@b.cl}, then: {outcome: ok}}
  - {provider: khipu, on: predict, when: {amount: 4321}, then: {cool_down: 1h}}
`
		synctest.Test(t, func(t *testing.T) {
			k := newKEnv(t, withScenario(yaml), withActive("predict"))
			// The synctest clock starts at 2000-01-01T00:00:00Z.
			wantBody(t, k.v3("GET", "/khipu/v3/predict?payer_email=cool@b.cl&bank_id=Bawdf&currency=CLP&amount=1000", ""), 200,
				`{"result":"new_destinatary_cool_down","max_amount":50000,"new_destinatary_max_amount":50000,"cool_down_date":"2000-01-02T00:00:00.000Z"}`)
			wantBody(t, k.v3("GET", "/khipu/v3/predict?payer_email=cool2h@b.cl&bank_id=Bawdf&currency=CLP&amount=1000", ""), 200,
				`{"result":"new_destinatary_cool_down","max_amount":50000,"new_destinatary_max_amount":50000,"cool_down_date":"2000-01-01T02:00:00.000Z"}`)
			wantBody(t, k.v3("GET", "/khipu/v3/predict?payer_email=a@b.cl&bank_id=Qwert&currency=CLP&amount=1000", ""), 200,
				`{"result":"not_available_account","max_amount":50000,"new_destinatary_max_amount":50000,"cool_down_date":null}`)
			wantBody(t, k.v3("GET", "/khipu/v3/predict?payer_email=vip@b.cl&bank_id=Bawdf&currency=CLP&amount=60000", ""), 200,
				`{"result":"ok","max_amount":50000,"new_destinatary_max_amount":50000,"cool_down_date":null}`)
			// A rule without outcome keeps the amount rules (cool_down alone changes nothing).
			wantBody(t, k.v3("GET", "/khipu/v3/predict?payer_email=a@b.cl&bank_id=Bawdf&currency=CLP&amount=4321", ""), 200,
				`{"result":"ok","max_amount":50000,"new_destinatary_max_amount":50000,"cool_down_date":null}`)
			// The scenario header selects another scenario for one request.
			rec := k.v3("GET", "/khipu/v3/predict?payer_email=cool@b.cl&bank_id=Bawdf&currency=CLP&amount=1000", "", "X-Sandbox-Scenario: default")
			wantBody(t, rec, 200, `{"result":"ok","max_amount":50000,"new_destinatary_max_amount":50000,"cool_down_date":null}`)
		})
	})
	t.Run("vocabulary", func(t *testing.T) {
		for _, tt := range []struct{ yaml, want string }{
			{"rules:\n  - {provider: khipu, on: predict, then: {outcome: maybe}}\n", `unknown outcome "maybe"`},
			{"rules:\n  - {provider: khipu, on: predict, then: {cool_down: soon}}\n", "then.cool_down"},
			{"rules:\n  - {provider: khipu, on: predict, when: {subject: x}, then: {outcome: ok}}\n", "subject"},
			{"rules:\n  - {provider: khipu, on: predict, then: {auto: true}}\n", "auto"},
			{"rules:\n  - {provider: khipu, on: predict, then: {cool_down: -1h}}\n", "out of range"},
			{"rules:\n  - {provider: khipu, on: predict, then: {cool_down: 8761h}}\n", "out of range"},
			{"rules:\n  - {provider: khipu, on: predict, then: {cool_down: [1h]}}\n", "then.cool_down"},
		} {
			_, err := scenarios.Load("p.yaml", []byte(tt.yaml), scenarios.Default)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%q: error %v, want it to mention %s", tt.yaml, err, tt.want)
			}
		}
		if _, err := scenarios.Load("p.yaml", []byte("rules:\n  - {provider: khipu, on: predict, when: {amount: {gt: 1}, bank_id: Bawdf, payer_email: a@b.cl, currency: CLP, receiver_id: 123456, api: v3}, then: {outcome: not_available_account, cool_down: 30m}}\n"), scenarios.Default); err != nil {
			t.Errorf("valid predict rule refused: %v", err)
		}
	})
}

// K-VAL-02: every string field's maximum length, at n (accepted) and n+1
// (F2), on v2.
func TestMaxLengths(t *testing.T) {
	k := newKEnv(t)
	rep := func(n int) string { return strings.Repeat("a", n) }
	email := func(n int) string { return rep(n-len("@x.cl")) + "@x.cl" }
	link := func(n int) string { return "https://x.cl/" + rep(n-len("https://x.cl/")) }
	fields := []struct {
		name string
		max  int
		val  func(int) string
	}{
		{"subject", 255, rep}, {"transaction_id", 255, rep}, {"body", 5120, rep},
		{"return_url", 1024, link}, {"cancel_url", 1024, link}, {"picture_url", 1024, link}, {"notify_url", 1024, link},
		{"payer_name", 255, rep}, {"payer_email", 255, email}, {"responsible_user_email", 255, email},
		{"fixed_payer_personal_identifier", 255, rep}, {"collect_account_uuid", 255, rep}, {"psp_client_merchant_name", 255, rep},
	}
	for _, f := range fields {
		p := valid()
		p.Set(f.name, f.val(f.max))
		if rec := k.v2("POST", "/khipu/api/2.0/payments", p); rec.Code != 200 {
			t.Errorf("%s at %d: %d %s", f.name, f.max, rec.Code, rec.Body)
		}
		p.Set(f.name, f.val(f.max+1))
		rec := k.v2("POST", "/khipu/api/2.0/payments", p)
		want := `{"status":400,"message":"Datos inválidos","errors":[{"field":"` + f.name + `","message":"Excede el largo máximo de ` + strconv.Itoa(f.max) + ` caracteres"}]}`
		if rec.Body.String() != want {
			t.Errorf("%s at %d: %d %s", f.name, f.max+1, rec.Code, rec.Body)
		}
	}
}
