package payu

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// PAYU check 6: bad credentials in en, es and pt on every command, HTTP 200.
func TestBadCredentials(t *testing.T) {
	e := newEnv(t, envOpt{})
	want := map[string]string{"en": "Invalid credentials", "es": "Credenciales inválidas", "pt": "Credenciais inválidas", "xx": "Invalid credentials"}
	cmds := []struct{ path, cmd, payload string }{
		{paymentsPath, "PING", "transactionResponse"}, {paymentsPath, "SUBMIT_TRANSACTION", "transactionResponse"},
		{paymentsPath, "GET_PAYMENT_METHODS", "paymentMethods"}, {paymentsPath, "GET_PAYMENT_METHOD_AVAILABILITY", "paymentMethod"},
		{paymentsPath, "GET_BANKS_LIST", "banks"}, {reportsPath, "PING", "result"}, {reportsPath, "ORDER_DETAIL", "result"},
		{reportsPath, "ORDER_DETAIL_BY_REFERENCE_CODE", "result"}, {reportsPath, "TRANSACTION_RESPONSE_DETAIL", "result"},
	}
	for lang, msg := range want {
		for _, c := range cmds {
			body := fmt.Sprintf(`{"language":%q,"command":%q,"merchant":{"apiLogin":"pRRXKOl8ikMmt9u","apiKey":"wrong"},"test":true}`, lang, c.cmd)
			rec := e.post(c.path, body)
			wantBody := fmt.Sprintf(`{"code":"ERROR","error":%q,"%s":null}`, msg, c.payload)
			if rec.Code != 200 || rec.Body.String() != wantBody {
				t.Errorf("%s %s: %d %s, want %s", lang, c.cmd, rec.Code, rec.Body, wantBody)
			}
		}
	}
	// A missing merchant object counts as bad credentials; XML uses the command's root.
	rec := e.post(paymentsPath, `<request><language>es</language><command>GET_BANKS_LIST</command></request>`)
	if !strings.Contains(rec.Body.String(), "<bankListResponse><code>ERROR</code><error>Credenciales inválidas</error></bankListResponse>") {
		t.Errorf("XML: %s", rec.Body)
	}
}

// PAYU check 6: the observed validation texts, amount 0, the CLP fraction.
func TestValidationMessages(t *testing.T) {
	e := newEnv(t, envOpt{})
	body := func(lang string) string {
		return fmt.Sprintf(`{"language":%q,"command":"SUBMIT_TRANSACTION","merchant":{"apiKey":%q,"apiLogin":%q},
"transaction":{"order":{"id":""},"type":"VOID","parentTransactionId":"","reason":"x"},"test":false}`, lang, TestAPIKey, TestAPILogin)
	}
	m := jsonOf(t, e.api(body("en")))
	if m["error"] != "property: order.id, message: must not be null property: parentTransactionId, message: must not be null" {
		t.Errorf("en: %v", m["error"])
	}
	m = jsonOf(t, e.api(strings.Replace(body("es"), `"order":{"id":""}`, `"order":{"id":"1"}`, 1)))
	if m["error"] != "property: parentTransactionId, message: No puede ser vacio" {
		t.Errorf("es: %v", m["error"])
	}
	m = jsonOf(t, e.api(strings.Replace(body("pt"), `"order":{"id":""}`, `"order":{"id":"1"}`, 1)))
	if m["error"] != "property: parentTransactionId, message: Não pode ser vazio" {
		t.Errorf("pt: %v", m["error"])
	}
	// Amount 0: an order is created and DECLINED / INVALID_TRANSACTION with the observed texts.
	tr := txOf(t, e.submit(payReq{value: "0", lang: "en"}))
	if tr["state"] != "DECLINED" || tr["responseCode"] != "INVALID_TRANSACTION" ||
		tr["paymentNetworkResponseErrorMessage"] != "[The given payment value [0] is inferior than minimum configured value [0.01]]" || str(tr["orderId"]) == "" {
		t.Errorf("amount 0: %v", tr)
	}
	tr = txOf(t, e.submit(payReq{value: "0", lang: "es"}))
	if tr["paymentNetworkResponseErrorMessage"] != "[El valor recibido [0] es inferior al valor mínimo configurado [0,01]]" {
		t.Errorf("amount 0 es: %v", tr)
	}
	// The CLP fraction text; 10000.0 and 10000.00 are valid.
	m = e.submit(payReq{value: "100.5"})
	if m["error"] != "TX_VALUE: the additional value exceeds the maximum number of decimal digits (0)" {
		t.Errorf("fraction: %v", m)
	}
	for _, v := range []string{"10000.0", "10000.00", `"10000"`} {
		if tr := txOf(t, e.submit(payReq{value: v})); tr["state"] != "APPROVED" {
			t.Errorf("%s: %v", v, tr)
		}
	}
	// Sizes (max enforced in lenient), formats, missing required fields.
	long := strings.Repeat("x", 256)
	m = e.submit(payReq{ref: long, lang: "en"})
	if m["error"] != "property: order.referenceCode, message: size must be between 1 and 255" {
		t.Errorf("size: %v", m["error"])
	}
	m = e.submit(payReq{expiry: "2030-12"})
	if m["error"] != "Sandbox: invalid value [2030-12] for creditCard.expirationDate" {
		t.Errorf("expiry format: %v", m["error"])
	}
	m = e.submit(payReq{typ: "CREDIT"})
	if m["error"] != "Sandbox: invalid value [CREDIT] for type" {
		t.Errorf("type: %v", m["error"])
	}
	m = jsonOf(t, e.api(`{"language":"en","command":"SUBMIT_TRANSACTION","merchant":{"apiKey":"4Vj8eK4rloUd272L48hsrarnUA","apiLogin":"pRRXKOl8ikMmt9u"},"transaction":{"type":"AUTHORIZATION_AND_CAPTURE","paymentMethod":"VISA","paymentCountry":"CL"}}`))
	if m["error"] != "property: creditCard, message: must not be null property: order, message: must not be null" {
		t.Errorf("missing: %v", m["error"])
	}
	// §4.4 business texts.
	for _, tc := range []struct {
		p    payReq
		want string
	}{
		{payReq{accountID: "512321"}, "Sandbox: account [512321] is not enabled for this merchant"},
		{payReq{currency: "USD"}, "Sandbox: currency [USD] is not accepted by account [512325]"},
		{payReq{method: "PSE"}, "Sandbox: payment method [PSE] is not available"},
		{payReq{method: "TRANSBANK_DEBIT", typ: "AUTHORIZATION"}, "Sandbox: transaction type [AUTHORIZATION] is not available for payment method [TRANSBANK_DEBIT]"},
		{payReq{method: "KHIPU", extra: `"FINANCIAL_INSTITUTION_CODE":"Nope","RESPONSE_URL":"http://x"`}, "Sandbox: unknown financial institution [Nope] for KHIPU"},
		{payReq{sig: "deadbeef"}, "Sandbox: invalid order signature"},
		{payReq{extra: `"INSTALLMENTS_NUMBER":99`}, "Sandbox: invalid value [99] for extraParameters.INSTALLMENTS_NUMBER"},
	} {
		if m := e.submit(tc.p); m["error"] != tc.want {
			t.Errorf("%+v: %v, want %s", tc.p, m["error"], tc.want)
		}
	}
	// The two-step flow off; strict validation.
	e2 := newEnv(t, envOpt{cfg: func(c *Config) {
		f := false
		c.Merchants = []Merchant{BuiltinMerchant()}
		c.Merchants[0].Accounts[0].TwoStepFlow = &f
		c.Validation = "strict"
	}})
	if m := e2.submit(payReq{typ: "AUTHORIZATION"}); m["error"] != "Sandbox: the two-step flow is not enabled for account [512325]" {
		t.Errorf("two-step: %v", m["error"])
	}
	m = jsonOf(t, e2.api(strings.Replace(payReq{lang: "en"}.json(), `"description":"Test order",`, "", 1)))
	if m["error"] != "property: order.description, message: must not be null" {
		t.Errorf("strict: %v", m["error"])
	}
	if m := jsonOf(t, e.api(strings.Replace(payReq{}.json(), `"description":"Test order",`, "", 1))); m["code"] != "SUCCESS" {
		t.Errorf("lenient without description: %v", m)
	}
	// Unsupported command, unparseable body.
	if m := jsonOf(t, e.api(`{"command":"CREATE_TOKEN"}`)); m["error"] != "Sandbox: unsupported command [CREATE_TOKEN]" {
		t.Errorf("command: %v", m)
	}
	rec := e.do(http.MethodPost, paymentsPath, `{"command":`, "Content-Type: application/json")
	if rec.Code != 200 || jsonOf(t, rec)["error"] != "Sandbox: the request body could not be parsed as JSON or XML" {
		t.Errorf("parse: %s", rec.Body)
	}
	rec = e.do(http.MethodPost, paymentsPath, `hello`)
	if rec.Code != 200 || jsonOf(t, rec)["error"] != "Sandbox: the request body could not be parsed as JSON or XML" {
		t.Errorf("garbage: %s", rec.Body)
	}
}

// PAYU check 16: explicit nulls are absent, <isTest></isTest> is false,
// no date is 0 or 1.
func TestNullHandling(t *testing.T) {
	e := newEnv(t, envOpt{})
	body := strings.Replace(payReq{}.json(), `"deviceSessionId":"d1"`, `"deviceSessionId":null,"partnerId":null`, 1)
	body = strings.Replace(body, `"notifyUrl":"http://merchant.test/notify"`, `"notifyUrl":null`, 1)
	tr := txOf(t, jsonOf(t, e.api(body)))
	if tr["state"] != "APPROVED" {
		t.Fatalf("%v", tr)
	}
	o, _ := e.svc.orders.Get(mustInt(t, tr["orderId"]))
	if o.NotifyURL != "" {
		t.Errorf("null notifyUrl stored as %q", o.NotifyURL)
	}
	// A null required field is "must not be null".
	m := jsonOf(t, e.api(strings.Replace(payReq{}.json(), `"type":"AUTHORIZATION_AND_CAPTURE"`, `"type":null`, 1)))
	if m["error"] != "property: type, message: No puede ser vacio" {
		t.Errorf("null type: %v", m)
	}
	x := strings.Replace(readFile(t, "testdata/seed/charge.request.xml"), "<isTest>false</isTest>", "<isTest></isTest>", 1)
	rec := e.api(x)
	if !strings.Contains(rec.Body.String(), "<state>APPROVED</state>") {
		t.Fatalf("%s", rec.Body)
	}
	x = strings.Replace(readFile(t, "testdata/seed/charge.request.xml"), "<isTest>false</isTest>", "<isTest>true</isTest>", 1)
	e.api(x)
	rows, _ := e.svc.orders.Page(nil, 0, 0)
	if !rows[0].Test || rows[1].Test {
		t.Errorf("isTest: newest %v, before %v", rows[0].Test, rows[1].Test)
	}
	for _, r := range []string{e.api(payReq{}.json()).Body.String(), e.post(reportsPath, report("ORDER_DETAIL", "orderId", fmt.Sprint(rows[0].ID))).Body.String()} {
		if strings.Contains(r, `Date":0,`) || strings.Contains(r, `Date":1,`) || strings.Contains(r, `Date":0}`) {
			t.Errorf("a date is 0 or 1: %s", r)
		}
	}
}

func mustInt(t testing.TB, v any) int64 {
	t.Helper()
	var n int64
	if _, err := fmt.Sscan(str(v), &n); err != nil {
		t.Fatalf("not a number: %v", v)
	}
	return n
}

// PAYU check 7: the card decision table, one case per row, and the precedence cases.
func TestCardDecisionTable(t *testing.T) {
	e := newEnv(t, envOpt{})
	cases := []struct {
		name string
		p    payReq
		want string // state/responseCode
	}{
		{"1 luhn", payReq{number: "4097440000000005"}, "DECLINED/INVALID_CARD"},
		{"1 brand", payReq{number: "5457210001000019"}, "DECLINED/INVALID_CARD"},
		{"1 wins over APPROVED", payReq{number: "4097440000000005", name: "APPROVED"}, "DECLINED/INVALID_CARD"},
		{"2 APPROVED", payReq{name: "approved", cvv: "666", expiry: "2030/12"}, "APPROVED/APPROVED"},
		{"3 REJECTED", payReq{name: "REJECTED", cvv: "777"}, "DECLINED/ANTIFRAUD_REJECTED"},
		{"4 PENDING review", payReq{name: "PENDING", email: "manual-review-hub@email.com"}, "PENDING/PENDING_TRANSACTION_REVIEW"},
		{"5 PENDING no review", payReq{name: "PENDING", cvv: "777"}, "DECLINED/ANTIFRAUD_REJECTED"},
		{"6 VISA_GLOBAL_3", payReq{name: "VISA_GLOBAL_3", number: "4761340000000035", cvv: "846", expiry: "2027/12"}, "APPROVED/APPROVED"},
		{"6 BKN_DMC_001 beats CVV 666", payReq{method: "MASTERCARD", name: "BKN_DMC_001", number: "5457210001000019", cvv: "666", expiry: "2025/12"}, "APPROVED/APPROVED"},
		{"7 CVV 777", payReq{name: "Juan", cvv: "777", expiry: "2030/12"}, "APPROVED/APPROVED"},
		{"7 AMEX 7777", payReq{method: "AMEX", name: "Juan", number: "377825000000005", cvv: "7777", expiry: "2030/12"}, "APPROVED/APPROVED"},
		{"8 CVV 666", payReq{name: "Juan", cvv: "666", expiry: "2030/01"}, "DECLINED/ENTITY_DECLINED"},
		{"8 AMEX 6666", payReq{method: "AMEX", name: "Juan", number: "377825000000005", cvv: "6666"}, "DECLINED/ENTITY_DECLINED"},
		{"9 month < 06", payReq{name: "Juan", cvv: "123", expiry: "2030/05"}, "APPROVED/APPROVED"},
		{"10 month > 06", payReq{name: "Juan", cvv: "123", expiry: "2030/07"}, "DECLINED/ENTITY_DECLINED"},
		{"11 month 06", payReq{name: "Juan", cvv: "123", expiry: "2030/06"}, "APPROVED/APPROVED"},
		{"AM: APPROVED 444 month 9", payReq{name: "APPROVED", cvv: "444", expiry: "2030/09"}, "APPROVED/APPROVED"},
		{"old number VISA", payReq{name: "Juan", number: "4938590000000010", cvv: "777"}, "APPROVED/APPROVED"},
		{"old number MASTERCARD", payReq{method: "MASTERCARD", name: "Juan", number: "5435630000000000", cvv: "777"}, "APPROVED/APPROVED"},
		{"DINERS", payReq{method: "DINERS", number: "36525200000002"}, "APPROVED/APPROVED"},
		{"VISA_DEBIT in creditCard", payReq{method: "VISA_DEBIT", number: "4761340000000050", name: "VISA_GLOBAL_5"}, "APPROVED/APPROVED"},
		{"past expiry approved", payReq{name: "APPROVED", expiry: "2022/12"}, "APPROVED/APPROVED"},
	}
	for _, tc := range cases {
		tr := txOf(t, e.submit(tc.p))
		if got := str(tr["state"]) + "/" + str(tr["responseCode"]); got != tc.want {
			t.Errorf("%s: %s (%v), want %s", tc.name, got, tr["paymentNetworkResponseErrorMessage"], tc.want)
		}
	}
	tr := txOf(t, e.submit(payReq{number: "4097440000000005"}))
	if tr["paymentNetworkResponseErrorMessage"] != "Sandbox: card number fails the Luhn check" {
		t.Errorf("luhn message: %v", tr)
	}
	tr = txOf(t, e.submit(payReq{method: "VISA", number: "5457210001000019"}))
	if tr["paymentNetworkResponseErrorMessage"] != "Sandbox: card number does not match payment method [VISA]" {
		t.Errorf("brand message: %v", tr)
	}
	tr = txOf(t, e.submit(payReq{}))
	if tr["authorizationCode"] != tr["paymentNetworkResponseCode"] || len(str(tr["authorizationCode"])) != 6 ||
		tr["trazabilityCode"] != tr["transactionId"] || tr["responseMessage"] != "Approved transaction" ||
		!strings.HasPrefix(str(dig(tr, "extraParameters", "TRANSBANK_DIRECT_TOKEN")), "01ab") || len(str(dig(tr, "extraParameters", "TRANSBANK_DIRECT_TOKEN"))) != 64 {
		t.Errorf("approved shape: %v", tr)
	}
	tr = txOf(t, e.submit(payReq{method: "VISA_DEBIT", number: "4761340000000050"}))
	if dig(tr, "extraParameters", "BANK_REFERENCED_CODE") != "DEBIT" {
		t.Errorf("debit: %v", tr)
	}
	tr = txOf(t, e.submit(payReq{name: "PENDING", email: "manual-review-hub@email.com"}))
	if tr["pendingReason"] != "PENDING_REVIEW" {
		t.Errorf("pending: %v", tr)
	}
	// The default outcome is configurable.
	e2 := newEnv(t, envOpt{cfg: func(c *Config) { c.Cards.DefaultOutcome = "decline" }})
	if tr := txOf(t, e2.submit(payReq{name: "Juan", cvv: "123", expiry: "2030/06"})); tr["state"] != "DECLINED" {
		t.Errorf("default decline: %v", tr)
	}
	// Two-step with installments: declined.
	tr = txOf(t, e.submit(payReq{typ: "AUTHORIZATION", extra: `"INSTALLMENTS_NUMBER":"3"`}))
	if tr["state"] != "DECLINED" || tr["responseCode"] != "INVALID_TRANSACTION" {
		t.Errorf("installments: %v", tr)
	}
}
