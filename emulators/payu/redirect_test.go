package payu

import (
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paysandbox/sandbox/emulators/internal/journal"
)

var tokenRe = regexp.MustCompile(`^01ab[0-9a-f]{60}$`)

// webpay submits a TRANSBANK_DEBIT payment and returns its transactionResponse.
func (e *env) webpay(ref string, headers ...string) map[string]any {
	e.t.Helper()
	tr := txOf(e.t, e.submit(payReq{ref: ref, method: "TRANSBANK_DEBIT", extra: `"RESPONSE_URL":"http://shop.test/response?x=1"`}, headers...))
	if tr["state"] != "PENDING" {
		e.t.Fatalf("webpay: %v", tr)
	}
	return tr
}

// checkResponseSignature recomputes §11.2 independently of the package.
func checkResponseSignature(t *testing.T, q url.Values) {
	t.Helper()
	// TX_VALUE has 2 decimals; for integer CLP amounts one decimal is "N.0".
	v := q.Get("TX_VALUE")
	intPart, frac, _ := strings.Cut(v, ".")
	if frac != "00" {
		t.Fatalf("TX_VALUE %s is not an integral CLP amount with .00", v)
	}
	s := TestAPIKey + "~508029~" + q.Get("referenceCode") + "~" + intPart + ".0~" + q.Get("currency") + "~" + q.Get("transactionState")
	h := md5.Sum([]byte(s))
	if want := hex.EncodeToString(h[:]); q.Get("signature") != want {
		t.Errorf("response signature %s, recomputed %s from %s", q.Get("signature"), want, s)
	}
}

// PAYU check 10: WebPay end to end: token format, URL_PAYMENT_REDIRECT?token_ws=,
// GET and POST, each page outcome, expiry, the response page redirect with
// an independently checked signature, the confirmation.
func TestWebPay(t *testing.T) {
	e := newEnv(t, envOpt{})
	tr := e.webpay("WP-1")
	ex := dig(tr, "extraParameters").(map[string]any)
	token := str(ex["TRANSBANK_DIRECT_TOKEN"])
	if !tokenRe.MatchString(token) || ex["URL_PAYMENT_REDIRECT"] != "http://example.com/payu/webpay/initTransaction" ||
		tr["trazabilityCode"] == tr["transactionId"] || tr["pendingReason"] != "AWAITING_PAYMENT_IN_ENTITY" || tr["responseCode"] != "PENDING_PAYMENT_IN_ENTITY" {
		t.Fatalf("answer: %v", tr)
	}
	if exp, op := mustInt(t, ex["EXPIRATION_DATE"]), mustInt(t, tr["operationDate"]); exp-op != (5*time.Hour + 15*time.Minute).Milliseconds() {
		t.Errorf("EXPIRATION_DATE - operationDate = %d ms", exp-op)
	}
	id := str(tr["transactionId"])
	// GET shows the page (Spanish, merchant, amount, reference).
	page := e.do(http.MethodGet, "/payu/webpay/initTransaction?token_ws="+token, "")
	for _, want := range []string{"Pagar", "Anular compra", "$10.000", "WP-1", "Sandbox Test Store", `lang="es"`} {
		if !strings.Contains(page.Body.String(), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// POST with token_ws (as Transbank's form does) shows it too.
	if p := e.do(http.MethodPost, "/payu/webpay/initTransaction", "token_ws="+token, "Content-Type: application/x-www-form-urlencoded"); !strings.Contains(p.Body.String(), "Pagar") {
		t.Errorf("POST page: %s", p.Body)
	}
	// A Luhn-invalid number keeps the transaction pending.
	bad := e.do(http.MethodPost, "/payu/webpay/initTransaction", "token_ws="+token+"&action=pay&card=4051884239937764", "Content-Type: application/x-www-form-urlencoded")
	if !strings.Contains(bad.Body.String(), "no es válido") {
		t.Errorf("invalid card page: %s", bad.Body)
	}
	// Pagar → 303 to the response hop → 302 to RESPONSE_URL with signed parameters.
	pay := e.do(http.MethodPost, "/payu/webpay/initTransaction", "token_ws="+token+"&action=pay&card=4051+8842+3993+7763", "Content-Type: application/x-www-form-urlencoded")
	if pay.Code != http.StatusSeeOther || pay.Header().Get("Location") != "http://example.com/payu/response/"+id {
		t.Fatalf("pay: %d %v", pay.Code, pay.Header())
	}
	hop := e.do(http.MethodGet, "/payu/response/"+id, "")
	loc, err := url.Parse(hop.Header().Get("Location"))
	if hop.Code != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), "http://shop.test/response?x=1&merchantId=508029&") {
		t.Fatalf("hop: %d %s", hop.Code, hop.Header().Get("Location"))
	}
	q := loc.Query()
	for k, want := range map[string]string{"transactionState": "4", "polTransactionState": "4", "lapTransactionState": "APPROVED",
		"polResponseCode": "1", "lapResponseCode": "APPROVED", "TX_VALUE": "10000.00", "TX_TAX": ".00", "currency": "CLP",
		"referenceCode": "WP-1", "reference_pol": str(tr["orderId"]), "cc_number": "************7763", "lapPaymentMethod": "TRANSBANK_DEBIT",
		"polPaymentMethodType": "6", "lapPaymentMethodType": "DEBIT_CARD", "message": "APPROVED", "lng": "es"} {
		if q.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, q.Get(k), want)
		}
	}
	if len(q.Get("authorizationCode")) != 6 || len(q.Get("processingDate")) != 10 {
		t.Errorf("authorizationCode %q processingDate %q", q.Get("authorizationCode"), q.Get("processingDate"))
	}
	checkResponseSignature(t, q)
	c := form(t, e.Merchant.Next(t, 5*time.Second).Body)
	if c.Get("state_pol") != "4" || c.Get("payment_method_name") != "TRANSBANK_DEBIT" || c.Get("payment_method_type") != "6" || c.Get("sign") != recomputeSign(TestAPIKey, c) {
		t.Errorf("confirmation: %v", c)
	}
	// A later visit shows the result with a link to the response page.
	done := e.do(http.MethodGet, "/payu/webpay/initTransaction?token_ws="+token, "")
	if !strings.Contains(done.Body.String(), "Pago aprobado") || !strings.Contains(done.Body.String(), "/payu/response/"+id) {
		t.Errorf("after payment: %s", done.Body)
	}
	if len(e.entries(journal.KindPage)) == 0 {
		t.Error("no page journal entries")
	}
	// Declined card, Anular compra, expiry, unknown token.
	for _, tc := range []struct{ body, state, code string }{
		{"action=pay&card=5186008541233829", "DECLINED", "ENTITY_DECLINED"},
		{"action=cancel", "DECLINED", "ABANDONED_TRANSACTION"},
		{"action=pay&card=4111111111111111", "APPROVED", "APPROVED"},
		{"action=pay&card=4511346660037060", "APPROVED", "APPROVED"}, // a TBK card that fails Luhn
		{"action=pay&card=5186174110629480", "DECLINED", "ENTITY_DECLINED"},
	} {
		tr := e.webpay("WP-X")
		tok := str(dig(tr, "extraParameters", "TRANSBANK_DIRECT_TOKEN"))
		e.do(http.MethodPost, "/payu/webpay/initTransaction", "token_ws="+tok+"&"+tc.body, "Content-Type: application/x-www-form-urlencoded")
		tx, _ := e.svc.txs.Get(str(tr["transactionId"]))
		if tx.State != tc.state || tx.ResponseCode != tc.code {
			t.Errorf("%s: %s/%s", tc.body, tx.State, tx.ResponseCode)
		}
	}
	exp := e.webpay("WP-EXP")
	e.advance(5*time.Hour + 15*time.Minute)
	if tx, _ := e.svc.txs.Get(str(exp["transactionId"])); tx.State != "EXPIRED" || tx.ResponseCode != "EXPIRED_TRANSACTION" {
		t.Errorf("expiry: %s/%s", tx.State, tx.ResponseCode)
	}
	if p := e.do(http.MethodGet, "/payu/webpay/initTransaction?token_ws="+str(dig(exp, "extraParameters", "TRANSBANK_DIRECT_TOKEN")), ""); !strings.Contains(p.Body.String(), "expiró") {
		t.Errorf("expired page: %s", p.Body)
	}
	if p := e.do(http.MethodGet, "/payu/webpay/initTransaction?token_ws=nope", ""); p.Code != 404 || !strings.Contains(p.Body.String(), "Sandbox: unknown token_ws") {
		t.Errorf("unknown token: %d", p.Code)
	}
	// No RESPONSE_URL anywhere: the sandbox renders the parameters itself.
	noURL := txOf(t, e.submit(payReq{method: "TRANSBANK_DEBIT", extra: `"EXTRA1":"x"`}))
	if p := e.do(http.MethodGet, "/payu/response/"+str(noURL["transactionId"]), ""); p.Code != 200 || !strings.Contains(p.Body.String(), "transactionState") || !strings.Contains(p.Body.String(), "PENDING") {
		t.Errorf("own response page: %d %s", p.Code, p.Body)
	}
}

// khipu submits a KHIPU payment and returns its transactionResponse.
func (e *env) khipu(bankID, value string, headers ...string) map[string]any {
	e.t.Helper()
	return txOf(e.t, e.submit(payReq{method: "KHIPU", value: value, extra: `"FINANCIAL_INSTITUTION_CODE":"` + bankID + `","FINANCIAL_INSTITUTION_NAME":"DemoBank","RESPONSE_URL":"http://shop.test/r"`}, headers...))
}

// PAYU check 11 (against the fake emulators.BankTransfers): BANK_URL and
// trazabilityCode, settle on done, bank minimums, expiry, admin decline
// deletes the payment, the robot payer. The end-to-end test with the real
// Khipu emulator lives in emulators/sandbox.
func TestKhipuViaPayU(t *testing.T) {
	e := newEnv(t, envOpt{})
	tr := e.khipu("Bawdf", "10000")
	id := str(tr["transactionId"])
	pid := str(tr["trazabilityCode"])
	if tr["state"] != "PENDING" || tr["pendingReason"] != "AWAITING_NOTIFICATION" || tr["responseCode"] != "PENDING_TRANSACTION_CONFIRMATION" ||
		dig(tr, "extraParameters", "BANK_URL") != "http://example.com/khipu/payment/simplified/"+pid || tr["authorizationCode"] != nil {
		t.Fatalf("answer: %v", tr)
	}
	req := e.fake.requests[0]
	if req.ReceiverID != 900000 || req.ReceiverName != "PayU Chile SA" || req.Amount.Value.String() != "10000" || req.Reference != id ||
		req.BankID != "Bawdf" || req.ReturnURL != "http://example.com/payu/response/"+id || req.LinkBase != "http://example.com" ||
		req.Subject != "Test order" || req.PayerEmail != "buyer_test@test.com" || req.Scenario != "default" {
		t.Errorf("TransferRequest: %+v", req)
	}
	// The payer returns early: transactionState 7.
	hop := e.do(http.MethodGet, "/payu/response/"+id, "")
	loc, _ := url.Parse(hop.Header().Get("Location"))
	if q := loc.Query(); q.Get("transactionState") != "7" || q.Get("polResponseCode") != "25" || q.Get("lapResponseCode") != "PENDING_TRANSACTION_CONFIRMATION" {
		t.Errorf("early return: %v", q)
	}
	// The payer pays at DemoBank: verifying, PayU stays PENDING, then done → APPROVED.
	if err := e.fake.payAtBank(pid); err != nil {
		t.Fatal(err)
	}
	if tx, _ := e.svc.txs.Get(id); tx.State != "PENDING" {
		t.Errorf("while verifying: %s", tx.State)
	}
	e.advance(2 * time.Second)
	tx, _ := e.svc.txs.Get(id)
	if tx.State != "APPROVED" || tx.AuthCode != "" || e.orderStatus(str(tr["orderId"])) != "CAPTURED" {
		t.Errorf("after done: %s %q", tx.State, tx.AuthCode)
	}
	c := form(t, e.Merchant.Next(t, 5*time.Second).Body)
	if c.Get("state_pol") != "4" || c.Get("payment_method_name") != "KHIPU" || c.Get("payment_method_type") != "14" ||
		c.Get("franchise") != "" || c.Get("cc_number") != "" || c.Get("sign") != recomputeSign(TestAPIKey, c) {
		t.Errorf("confirmation: %v", c)
	}
	hooks := 0
	for _, en := range e.entries(journal.KindHook) {
		if strings.Contains(en.Summary, "CreateTransfer") || strings.Contains(en.Summary, "TransferSettled") {
			hooks++
		}
	}
	if hooks < 2 {
		t.Errorf("hooks journaled: %d", hooks)
	}
	// Qwert behaves as DemoBank; minimums 200 and 100.
	if tr := e.khipu("Qwert", "150"); tr["state"] != "PENDING" {
		t.Errorf("Qwert 150: %v", tr)
	}
	if tr := e.khipu("Bawdf", "150"); tr["state"] != "DECLINED" || tr["responseCode"] != "INVALID_TRANSACTION" ||
		tr["paymentNetworkResponseErrorMessage"] != "[The given payment value [150] is inferior than minimum configured value [200]]" {
		t.Errorf("Bawdf 150: %v", tr)
	}
	if tr := e.khipu("Qwert", "99"); tr["state"] != "DECLINED" {
		t.Errorf("Qwert 99: %v", tr)
	}
	// Expiry while pending → EXPIRED.
	exp := e.khipu("Bawdf", "5000")
	e.advance(24 * time.Hour)
	if tx, _ := e.svc.txs.Get(str(exp["transactionId"])); tx.State != "EXPIRED" || tx.ResponseCode != "EXPIRED_TRANSACTION" {
		t.Errorf("expiry: %s", tx.State)
	}
	// Admin decline deletes the Khipu payment; refused while verifying.
	dec := e.khipu("Bawdf", "5000")
	if _, err := e.svc.Act(t.Context(), str(dec["transactionId"]), "decline", nil); err != nil {
		t.Fatal(err)
	}
	if e.fake.state(str(dec["trazabilityCode"])) != "deleted" {
		t.Errorf("khipu payment %s", e.fake.state(str(dec["trazabilityCode"])))
	}
	if tx, _ := e.svc.txs.Get(str(dec["transactionId"])); tx.State != "DECLINED" || tx.ResponseCode != "ENTITY_DECLINED" {
		t.Errorf("declined: %s", tx.State)
	}
	ver := e.khipu("Bawdf", "5000")
	e.fake.payAtBank(str(ver["trazabilityCode"]))
	if _, err := e.svc.Act(t.Context(), str(ver["transactionId"]), "decline", nil); err == nil || !strings.Contains(err.Error(), "conflict") {
		t.Errorf("decline while verifying: %v", err)
	}
	// Admin approve (pay_now) and expire go through ActOnTransfer.
	ap := e.khipu("Bawdf", "5000")
	if obj, err := e.svc.Act(t.Context(), str(ap["transactionId"]), "approve", nil); err != nil || obj.Status != "APPROVED" {
		t.Errorf("admin approve: %v %v", obj.Status, err)
	}
	ex := e.khipu("Bawdf", "5000")
	if obj, err := e.svc.Act(t.Context(), str(ex["transactionId"]), "expire", nil); err != nil || obj.Status != "EXPIRED" {
		t.Errorf("admin expire: %v %v", obj.Status, err)
	}
	// CreateTransfer failures are PayU-shaped; without the Khipu emulator KHIPU fails cleanly.
	e3 := newEnv(t, envOpt{noKhipu: true})
	if m := e3.submit(payReq{method: "KHIPU", extra: `"FINANCIAL_INSTITUTION_CODE":"Bawdf","RESPONSE_URL":"http://shop.test/r"`}); m["code"] != "ERROR" {
		t.Errorf("no khipu: %v", m)
	}
}

// PAYU check 11 and §14: redirect_payment auto settles with no browser.
func TestRobotPayer(t *testing.T) {
	yaml := `name: robots
rules:
  - provider: payu
    on: redirect_payment
    when: { referenceCode: { prefix: DECLINE- } }
    then: { auto: true, outcome: decline }
  - provider: payu
    on: redirect_payment
    when: { referenceCode: { prefix: PAGE- } }
    then: { outcome: decline, responseCode: INSUFFICIENT_FUNDS }
  - provider: payu
    on: redirect_payment
    then: { auto: true, outcome: approve, delay: 5s }
`
	e := newEnv(t, envOpt{scenarios: []string{yaml}})
	kh := txOf(t, e.submit(payReq{method: "KHIPU", extra: `"FINANCIAL_INSTITUTION_CODE":"Bawdf"`}, "X-Sandbox-Scenario: robots"))
	wp := e.webpay("WP-ROBOT", "X-Sandbox-Scenario: robots")
	dwp := e.webpay("DECLINE-1", "X-Sandbox-Scenario: robots")
	pg := e.webpay("PAGE-1", "X-Sandbox-Scenario: robots")
	plain := e.webpay("PLAIN-1") // the default scenario: nothing happens by itself
	e.advance(5 * time.Second)
	if s := e.fake.state(str(kh["trazabilityCode"])); s != "verifying" {
		t.Errorf("khipu robot: payment %s", s)
	}
	e.advance(2 * time.Second) // the fake's verification delay
	for _, c := range []struct {
		tr    map[string]any
		state string
	}{{kh, "APPROVED"}, {wp, "APPROVED"}, {dwp, "DECLINED"}, {pg, "PENDING"}, {plain, "PENDING"}} {
		if tx, _ := e.svc.txs.Get(str(c.tr["transactionId"])); tx.State != c.state {
			t.Errorf("%s: %s, want %s", tx.PaymentMethod, tx.State, c.state)
		}
	}
	// Without auto, the outcome overrides the WebPay page.
	tok := str(dig(pg, "extraParameters", "TRANSBANK_DIRECT_TOKEN"))
	e.do(http.MethodPost, "/payu/webpay/initTransaction", "token_ws="+tok+"&action=pay&card=4051884239937763", "Content-Type: application/x-www-form-urlencoded")
	if tx, _ := e.svc.txs.Get(str(pg["transactionId"])); tx.State != "DECLINED" || tx.ResponseCode != "INSUFFICIENT_FUNDS" {
		t.Errorf("page override: %s/%s", tx.State, tx.ResponseCode)
	}
	found := false
	for _, en := range e.entries(journal.KindPage) {
		if strings.Contains(en.Summary, "robot payer") && strings.HasPrefix(en.Data["response_url"], "http://shop.test/response") {
			found = true
		}
	}
	if !found {
		t.Error("the robot's would-be response URL is not journaled")
	}
}

// §7.7 and §14: a robot payer's decline of a KHIPU payment deletes the Khipu
// payment first and declines only once it is gone; while the payer is
// verifying at the bank the decline is refused, as an admin decline is, and
// the payment settles normally.
func TestRobotPayerKhipuDecline(t *testing.T) {
	yaml := `name: robots
rules:
  - provider: payu
    on: redirect_payment
    then: { auto: true, outcome: decline, delay: 5s }
`
	e := newEnv(t, envOpt{scenarios: []string{yaml}})
	khipu := func() map[string]any {
		return txOf(t, e.submit(payReq{method: "KHIPU", extra: `"FINANCIAL_INSTITUTION_CODE":"Bawdf"`}, "X-Sandbox-Scenario: robots"))
	}
	idle, busy := khipu(), khipu()
	e.advance(4 * time.Second)
	if err := e.fake.payAtBank(str(busy["trazabilityCode"])); err != nil { // done 2 s later, after the robot
		t.Fatal(err)
	}
	e.advance(time.Second) // the robot acts
	if s := e.fake.state(str(idle["trazabilityCode"])); s != "deleted" {
		t.Errorf("idle payment: %s, want deleted", s)
	}
	if tx, _ := e.svc.txs.Get(str(idle["transactionId"])); tx.State != StateDeclined || tx.ResponseCode != "ENTITY_DECLINED" {
		t.Errorf("idle transaction: %s/%s, want DECLINED/ENTITY_DECLINED", tx.State, tx.ResponseCode)
	}
	if tx, _ := e.svc.txs.Get(str(busy["transactionId"])); tx.State != StatePending {
		t.Errorf("verifying transaction: %s, want PENDING (the decline is refused)", tx.State)
	}
	e.advance(time.Second) // the bank confirms
	if tx, _ := e.svc.txs.Get(str(busy["transactionId"])); tx.State != StateApproved {
		t.Errorf("verifying transaction after done: %s, want APPROVED", tx.State)
	}
}
