package payu

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// authorize submits an approved AUTHORIZATION and returns order and transaction ids.
func (e *env) authorize(p payReq) (string, string) {
	e.t.Helper()
	p.typ = "AUTHORIZATION"
	tr := txOf(e.t, e.submit(p))
	if tr["state"] != "APPROVED" {
		e.t.Fatalf("authorization: %v", tr)
	}
	return str(tr["orderId"]), str(tr["transactionId"])
}

func (e *env) charge(p payReq) (string, string) {
	e.t.Helper()
	tr := txOf(e.t, e.submit(p))
	if tr["state"] != "APPROVED" {
		e.t.Fatalf("charge: %v", tr)
	}
	return str(tr["orderId"]), str(tr["transactionId"])
}

func (e *env) advance(d time.Duration) {
	e.t.Helper()
	if err := e.Clock.Advance(d); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) orderStatus(orderID string) string {
	m := jsonOf(e.t, e.post(reportsPath, report("ORDER_DETAIL", "orderId", orderID)))
	return str(dig(m, "result", "payload", "status"))
}

// errOf returns the error text of an answer ("" for SUCCESS).
func errOf(t testing.TB, m map[string]any) string {
	if m["code"] == "SUCCESS" {
		return ""
	}
	return str(m["error"])
}

// PAYU check 8: time rules on the sandbox clock (deadlines, never scaled).
func TestTimeRules(t *testing.T) {
	t.Run("void 2h59m passes, 3h01m fails", func(t *testing.T) {
		e := newEnv(t, envOpt{scale: 0.001})
		o, tx := e.authorize(payReq{})
		e.advance(2*time.Hour + 59*time.Minute)
		if m := jsonOf(t, e.api(postPay("VOID", o, tx, ""))); errOf(t, m) != "" || dig(m, "transactionResponse", "state") != "APPROVED" {
			t.Errorf("void at 2h59m: %v", m)
		}
		if s := e.orderStatus(o); s != "CANCELLED" {
			t.Errorf("order %s", s)
		}
		o, tx = e.authorize(payReq{})
		e.advance(3*time.Hour + time.Minute)
		if m := jsonOf(t, e.api(postPay("VOID", o, tx, ""))); errOf(t, m) != "Sandbox: the void window of 3 hours has elapsed" {
			t.Errorf("void at 3h01m: %v", m)
		}
	})
	t.Run("capture 6d23h passes, auto-void at 7d", func(t *testing.T) {
		e := newEnv(t, envOpt{scale: 0.001})
		o, tx := e.authorize(payReq{})
		o2, tx2 := e.authorize(payReq{})
		e.advance(6*24*time.Hour + 23*time.Hour)
		if m := jsonOf(t, e.api(postPay("CAPTURE", o, tx, ""))); errOf(t, m) != "" {
			t.Errorf("capture at 6d23h: %v", m)
		}
		e.advance(2 * time.Hour)
		if s := e.orderStatus(o2); s != "CANCELLED" {
			t.Errorf("auto-void: order %s", s)
		}
		m := jsonOf(t, e.post(reportsPath, report("ORDER_DETAIL", "orderId", o2)))
		txs, _ := dig(m, "result", "payload", "transactions").([]any)
		if len(txs) != 2 || dig(txs[0], "type") != "VOID" || dig(txs[0], "parentTransactionId") != tx2 {
			t.Errorf("auto-void transactions: %v", txs)
		}
		if m := jsonOf(t, e.api(postPay("CAPTURE", o2, tx2, ""))); errOf(t, m) != "Sandbox: transaction ["+tx2+"] cannot be captured" {
			t.Errorf("capture after auto-void: %v", m)
		}
		if len(e.entries("timer")) == 0 {
			t.Error("auto-void not journaled as a timer")
		}
		if s := e.orderStatus(o); s != "CAPTURED" {
			t.Errorf("captured order %s", s)
		}
	})
	t.Run("capture after 7 days", func(t *testing.T) {
		e := newEnv(t, envOpt{})
		e.svc.cfg.Callbacks.Retry = nil
		o, tx := e.authorize(payReq{})
		e.svc.txs.Update(tx, func(t *Transaction) error { t.ApprovedAt = t.ApprovedAt.Add(-7*24*time.Hour - time.Minute); return nil })
		if m := jsonOf(t, e.api(postPay("CAPTURE", o, tx, ""))); errOf(t, m) != "Sandbox: the capture window of 7 days has elapsed" {
			t.Errorf("%v", m)
		}
	})
	t.Run("refund 9m fails, 10m passes, 90d+1m fails", func(t *testing.T) {
		e := newEnv(t, envOpt{scale: 0.001})
		o, tx := e.charge(payReq{})
		e.advance(9 * time.Minute)
		if m := jsonOf(t, e.api(postPay("REFUND", o, tx, ""))); errOf(t, m) != "Sandbox: refunds are accepted from 10 minutes after approval" {
			t.Errorf("9m: %v", m)
		}
		e.advance(time.Minute)
		if m := jsonOf(t, e.api(postPay("REFUND", o, tx, ""))); errOf(t, m) != "" {
			t.Errorf("10m: %v", m)
		}
		o, tx = e.charge(payReq{})
		e.advance(90*24*time.Hour + time.Minute)
		if m := jsonOf(t, e.api(postPay("REFUND", o, tx, ""))); errOf(t, m) != "Sandbox: refunds are accepted up to 90 days after approval" {
			t.Errorf("90d+1m: %v", m)
		}
	})
	t.Run("prepaid refund after 1h declined at review", func(t *testing.T) {
		e := newEnv(t, envOpt{scale: 0.001})
		prepaid := payReq{method: "MASTERCARD_DEBIT", number: "5185540320000012", name: "BKN_DMC_001", cvv: "001"}
		o, tx := e.charge(prepaid)
		o2, tx2 := e.charge(prepaid)
		e.advance(30 * time.Minute)
		e.api(postPay("REFUND", o2, tx2, ""))
		e.advance(31 * time.Minute)
		e.api(postPay("REFUND", o, tx, ""))
		e.advance(2 * time.Minute)
		if s := e.orderStatus(o); s != "CAPTURED" {
			t.Errorf("prepaid after 1h: order %s", s)
		}
		m := jsonOf(t, e.post(reportsPath, report("ORDER_DETAIL", "orderId", o)))
		if r := dig(m, "result", "payload", "transactions").([]any)[0]; dig(r, "transactionResponse", "state") != "DECLINED" ||
			dig(r, "transactionResponse", "responseCode") != "PAYMENT_NETWORK_REJECTED" {
			t.Errorf("refund: %v", r)
		}
		if s := e.orderStatus(o2); s != "REFUNDED" {
			t.Errorf("prepaid within 1h: order %s", s)
		}
	})
}

// PAYU check 9: amount rules; the refund first answer; Queries statuses.
// Also the end-to-end flows authorize → partial capture and refund pending →
// approved after review.
func TestAmountRules(t *testing.T) {
	e := newEnv(t, envOpt{scale: 0.001})
	o, tx := e.authorize(payReq{value: "10000"})
	if m := jsonOf(t, e.api(postPay("CAPTURE", o, tx, "49"))); errOf(t, m) != "Sandbox: partial capture minimum is 50 CLP" {
		t.Errorf("49: %v", m)
	}
	if m := jsonOf(t, e.api(postPay("CAPTURE", o, tx, "10001"))); errOf(t, m) != "Sandbox: capture amount exceeds the authorized amount" {
		t.Errorf("above: %v", m)
	}
	if m := jsonOf(t, e.api(postPay("CAPTURE", o, tx, "50.5"))); !strings.Contains(errOf(t, m), "maximum number of decimal digits (0)") {
		t.Errorf("decimals: %v", m)
	}
	m := jsonOf(t, e.api(postPay("CAPTURE", o, tx, "50")))
	tr := txOf(t, m)
	if tr["state"] != "APPROVED" || tr["paymentNetworkResponseCode"] != "0" || str(tr["orderId"]) != o || tr["trazabilityCode"] != tr["transactionId"] {
		t.Errorf("partial capture 50: %v", tr)
	}
	q := jsonOf(t, e.post(reportsPath, report("ORDER_DETAIL", "orderId", o)))
	txs := dig(q, "result", "payload", "transactions").([]any)
	if dig(q, "result", "payload", "status") != "CAPTURED" || dig(txs[0], "type") != "CAPTURE" ||
		str(dig(txs[0], "additionalValues", "CURRENT_TX_VALUE", "value")) != "50.00" {
		t.Errorf("after capture: %v", q)
	}
	if m := jsonOf(t, e.api(postPay("CAPTURE", o, tx, ""))); errOf(t, m) != "Sandbox: transaction ["+tx+"] cannot be captured" {
		t.Errorf("second capture: %v", m)
	}
	// TX_VALUE at order level also works; capture without TX_VALUE (PHP SDK) takes the full amount.
	o2, tx2 := e.authorize(payReq{})
	body := strings.Replace(postPay("CAPTURE", o2, tx2, ""), `"order":{"id":`+o2+`}`, `"order":{"id":"`+o2+`","additionalValues":{"TX_VALUE":{"value":"60","currency":"CLP"}}}`, 1)
	if tr := txOf(t, jsonOf(t, e.api(body))); tr["state"] != "APPROVED" {
		t.Errorf("order-level TX_VALUE: %v", tr)
	}
	if tx, _ := e.svc.txs.Get(tx2); tx.CapturedValue.String() != "60" {
		t.Errorf("captured %s", tx.CapturedValue)
	}
	// Refunds: minimum 10, balance, the exact first answer, review.
	o3, tx3 := e.charge(payReq{value: "1000"})
	e.advance(11 * time.Minute)
	if m := jsonOf(t, e.api(postPay("REFUND", o3, tx3, "9"))); errOf(t, m) != "Sandbox: refund minimum is 10 CLP" {
		t.Errorf("9: %v", m)
	}
	if m := jsonOf(t, e.api(postPay("REFUND", o3, tx3, "1001"))); errOf(t, m) != "Sandbox: refund amount exceeds the refundable balance" {
		t.Errorf("1001: %v", m)
	}
	rec := e.api(postPay("REFUND", o3, tx3, "400"))
	want := fmt.Sprintf(`{"code":"SUCCESS","error":null,"transactionResponse":{"orderId":%s,"transactionId":null,"state":"PENDING","paymentNetworkResponseCode":null,"paymentNetworkResponseErrorMessage":null,"trazabilityCode":null,"authorizationCode":null,"pendingReason":"PENDING_REVIEW","responseCode":null,"errorCode":null,"responseMessage":"%s","transactionDate":null,"transactionTime":null,"operationDate":null,"referenceQuestionnaire":null,"extraParameters":null,"additionalInfo":null}}`, o3, o3)
	if rec.Body.String() != want {
		t.Errorf("refund first answer:\n got %s\nwant %s", rec.Body, want)
	}
	if m := jsonOf(t, e.api(postPay("PARTIAL_REFUND", o3, tx3, "700"))); errOf(t, m) != "Sandbox: refund amount exceeds the refundable balance" {
		t.Errorf("pending counts against the balance: %v", m)
	}
	if s := e.orderStatus(o3); s != "CAPTURED" {
		t.Errorf("while pending: %s", s)
	}
	e.advance(time.Second) // the 60 s review, scaled by 0.001
	waitFor(t, func() bool { return e.orderStatus(o3) == "REFUNDED" })
	q = jsonOf(t, e.post(reportsPath, report("ORDER_DETAIL", "orderId", o3)))
	r := dig(q, "result", "payload", "transactions").([]any)[0]
	if dig(r, "type") != "REFUND" || dig(r, "transactionResponse", "state") != "APPROVED" {
		t.Errorf("refund in Queries: %v", r)
	}
	// Not for WebPay or Khipu.
	wp := txOf(t, e.submit(payReq{method: "TRANSBANK_DEBIT"}))
	e.svc.decideWebPay(str(wp["transactionId"]), "approve", "", "4051884239937763", "admin", "test")
	e.advance(11 * time.Minute)
	if m := jsonOf(t, e.api(postPay("REFUND", str(wp["orderId"]), str(wp["transactionId"]), ""))); errOf(t, m) != "Sandbox: refunds are not supported for payment method [TRANSBANK_DEBIT]" {
		t.Errorf("webpay refund: %v", m)
	}
	kh := txOf(t, e.submit(payReq{method: "KHIPU", extra: `"FINANCIAL_INSTITUTION_CODE":"Bawdf","RESPONSE_URL":"http://shop.test/r"`}))
	if m := jsonOf(t, e.api(postPay("REFUND", str(kh["orderId"]), str(kh["transactionId"]), ""))); errOf(t, m) != "Sandbox: refunds are not supported for payment method [KHIPU]" {
		t.Errorf("khipu refund: %v", m)
	}
	// A declined refund leaves the order CAPTURED (admin decline).
	o4, tx4 := e.charge(payReq{})
	e.advance(11 * time.Minute)
	e.api(postPay("REFUND", o4, tx4, ""))
	obj, _ := e.svc.Object(o4)
	refundID := obj.Related[0].ID
	if _, err := e.svc.Act(t.Context(), refundID, "decline", nil); err != nil {
		t.Fatal(err)
	}
	if s := e.orderStatus(o4); s != "CAPTURED" {
		t.Errorf("after declined refund: %s", s)
	}
}

// waitFor polls cond for up to 5 s of real time (dispatcher workers and
// clock timers run on their own goroutines).
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// PAYU check 13: all four Queries commands in both formats, not found,
// orderSignature echo, transactions newest first, reference search.
func TestQueries(t *testing.T) {
	e := newEnv(t, envOpt{})
	o, tx := e.authorize(payReq{ref: "Q-REF"})
	e.api(postPay("CAPTURE", o, tx, ""))
	e.charge(payReq{ref: "Q-REF"})
	q := jsonOf(t, e.post(reportsPath, report("ORDER_DETAIL", "orderId", `"`+o+`"`)))
	p := dig(q, "result", "payload")
	txs := dig(p, "transactions").([]any)
	if len(txs) != 2 || dig(txs[0], "type") != "CAPTURE" || dig(txs[1], "id") != tx {
		t.Errorf("newest first: %v", txs)
	}
	if dig(p, "orderSignature") != OrderSignature(TestAPIKey, TestMerchantID, "Q-REF", "10000", "CLP") || dig(p, "processedTransactionId") != tx {
		t.Errorf("order: %v", p)
	}
	if str(dig(txs[1], "creditCard", "maskedNumber")) != "409744******0004" {
		t.Errorf("mask: %v", dig(txs[1], "creditCard"))
	}
	q = jsonOf(t, e.post(reportsPath, report("ORDER_DETAIL_BY_REFERENCE_CODE", "referenceCode", `"Q-REF"`)))
	list := dig(q, "result", "payload").([]any)
	if len(list) != 2 || str(dig(list[1], "id")) != o {
		t.Errorf("by reference: %v", list)
	}
	q = jsonOf(t, e.post(reportsPath, report("TRANSACTION_RESPONSE_DETAIL", "transactionId", `"`+tx+`"`)))
	if dig(q, "result", "payload", "state") != "APPROVED" || dig(q, "result", "payload", "orderId") != nil {
		t.Errorf("tx detail: %v", q)
	}
	for _, c := range [][3]string{{"ORDER_DETAIL", "orderId", "1"}, {"ORDER_DETAIL_BY_REFERENCE_CODE", "referenceCode", `"none"`}, {"TRANSACTION_RESPONSE_DETAIL", "transactionId", `"none"`}} {
		rec := e.post(reportsPath, report(c[0], c[1], c[2]))
		if rec.Body.String() != `{"code":"SUCCESS","error":null,"result":null}` {
			t.Errorf("%s not found: %s", c[0], rec.Body)
		}
		x := e.post(reportsPath, fmt.Sprintf(`<request><language>en</language><command>%s</command><merchant><apiLogin>%s</apiLogin><apiKey>%s</apiKey></merchant><details><entry><string>%s</string><string>%s</string></entry></details></request>`,
			c[0], TestAPILogin, TestAPIKey, c[1], strings.Trim(c[2], `"`)))
		if !strings.HasSuffix(x.Body.String(), "<reportingResponse><code>SUCCESS</code></reportingResponse>") {
			t.Errorf("%s XML not found: %s", c[0], x.Body)
		}
	}
	if m := jsonOf(t, e.post(reportsPath, report("ORDER_DETAIL", "", ""))); m["error"] != "property: details, message: must not be null" {
		t.Errorf("missing details: %v", m)
	}
	if m := jsonOf(t, e.post(reportsPath, report("ORDER_DETAIL", "referenceCode", `"x"`))); m["error"] != "property: details.orderId, message: must not be null" {
		t.Errorf("missing orderId: %v", m)
	}
	x := e.post(reportsPath, readFile(t, "testdata/requests/reports_ping.request.json"), "Accept: application/xml")
	if !strings.HasSuffix(x.Body.String(), `<reportingResponse><code>SUCCESS</code><result><payload class="string">ping</payload></result></reportingResponse>`) {
		t.Errorf("reports PING XML: %s", x.Body)
	}
	x = e.post(reportsPath, strings.Replace(readFile(t, "testdata/requests/order_detail_by_reference_code.request.xml"), "PRODUCT_TEST_2021-06-25T16:33:48.512Z", "Q-REF", 1))
	if !strings.Contains(x.Body.String(), `<payload class="list"><order><id>`) {
		t.Errorf("list XML: %.300s", x.Body)
	}
	x = e.post(reportsPath, strings.Replace(readFile(t, "testdata/requests/transaction_response_detail.request.xml"), "7b1a7d7a-8a9e-4fd3-8b3f-0c5a2b1e9f10", tx, 1))
	if !strings.Contains(x.Body.String(), `<payload class="transactionResponse"><state>APPROVED</state>`) {
		t.Errorf("tx XML: %s", x.Body)
	}
	// Another configured merchant cannot read the order.
	e2 := newEnv(t, envOpt{cfg: func(c *Config) {
		c.BuiltinAccounts = true
		c.Merchants = []Merchant{{MerchantID: 500238, APILogin: "11959c415b33d0c", APIKey: "6u39nqhq8ftd0hlvnjfs66eh8c", Accounts: []Account{{AccountID: 500537}}}}
	}})
	o5, _ := e2.charge(payReq{})
	other := strings.NewReplacer(TestAPILogin, "11959c415b33d0c", TestAPIKey, "6u39nqhq8ftd0hlvnjfs66eh8c").Replace(report("ORDER_DETAIL", "orderId", o5))
	if m := jsonOf(t, e2.post(reportsPath, other)); m["error"] != "Sandbox: order ["+o5+"] does not belong to this merchant" {
		t.Errorf("other merchant: %v", m)
	}
}
