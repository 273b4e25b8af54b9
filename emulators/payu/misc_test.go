package payu

import (
	"bytes"
	"context"
	"io/fs"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/admin"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/scenarios"
	"gopkg.in/yaml.v3"
)

// §14: the submit point's outcome, settle, error, signature and fault keys.
func TestSubmitScenario(t *testing.T) {
	yaml := `name: submit
rules:
  - provider: payu
    on: submit
    when: { referenceCode: { prefix: ERR- } }
    then: { error: { message: "Internal payment provider error. ", http_status: 503 } }
  - provider: payu
    on: submit
    when: { referenceCode: { prefix: DECL- } }
    then: { outcome: decline, responseCode: INSUFFICIENT_FUNDS, paymentNetworkResponseErrorMessage: "fondos" }
  - provider: payu
    on: submit
    when: { referenceCode: { prefix: SETTLE- } }
    then: { outcome: pending, settle: { delay: 30s, outcome: approve } }
  - provider: payu
    on: submit
    when: { referenceCode: { prefix: LOOSE- } }
    then: { signature: lenient }
  - provider: payu
    on: submit
    when: { referenceCode: { prefix: STRICT- } }
    then: { signature: strict }
  - provider: payu
    on: submit
    when: { referenceCode: { prefix: MALFORMED- } }
    then: { fault: malformed }
  - provider: payu
    on: submit
    when: { type: CAPTURE }
    then: { outcome: decline }
  - provider: payu
    on: refund_review
    then: { outcome: decline, delay: 10s, responseCode: ENTITY_DECLINED }
`
	e := newEnv(t, envOpt{scenarios: []string{yaml}, active: "submit"})
	rec := e.api(payReq{ref: "ERR-1"}.json())
	if rec.Code != 503 || rec.Body.String() != `{"code":"ERROR","error":"Internal payment provider error. ","transactionResponse":null}` {
		t.Errorf("error: %d %s", rec.Code, rec.Body)
	}
	if n := e.svc.orders.Len(); n != 0 {
		t.Errorf("error created %d orders", n)
	}
	tr := txOf(t, e.submit(payReq{ref: "DECL-1"}))
	if tr["state"] != "DECLINED" || tr["responseCode"] != "INSUFFICIENT_FUNDS" || tr["paymentNetworkResponseErrorMessage"] != "fondos" {
		t.Errorf("decline: %v", tr)
	}
	tr = txOf(t, e.submit(payReq{ref: "SETTLE-1"}))
	if tr["state"] != "PENDING" {
		t.Errorf("settle: %v", tr)
	}
	e.advance(30 * time.Second)
	if tx, _ := e.svc.txs.Get(str(tr["transactionId"])); tx.State != "APPROVED" {
		t.Errorf("settled: %s", tx.State)
	}
	if m := e.submit(payReq{ref: "LOOSE-1", sig: "bad"}); m["code"] != "SUCCESS" {
		t.Errorf("lenient by scenario: %v", m)
	}
	sha := hexHash("sha1", orderString(TestAPIKey, TestMerchantID, "STRICT-1", "10000", "CLP"))
	if m := e.submit(payReq{ref: "STRICT-1", sig: sha}); m["error"] != "Sandbox: invalid order signature" {
		t.Errorf("strict by scenario: %v", m)
	}
	if m := e.submit(payReq{ref: "OK-1", sig: hexHash("sha1", orderString(TestAPIKey, TestMerchantID, "OK-1", "10000", "CLP"))}); m["code"] != "SUCCESS" {
		t.Errorf("checked accepts sha1: %v", m)
	}
	rec = e.api(payReq{ref: "MALFORMED-1"}.json())
	if rec.Code != 200 || rec.Body.Len() == 0 || strings.HasSuffix(rec.Body.String(), "}") {
		t.Errorf("malformed: %s", rec.Body)
	}
	o, tx := e.authorize(payReq{})
	if tr := txOf(t, jsonOf(t, e.api(postPay("CAPTURE", o, tx, "")))); tr["state"] != "DECLINED" {
		t.Errorf("capture override: %v", tr)
	}
	o2, tx2 := e.charge(payReq{})
	e.advance(11 * time.Minute)
	e.api(postPay("REFUND", o2, tx2, ""))
	e.advance(10 * time.Second)
	if s := e.orderStatus(o2); s != "CAPTURED" {
		t.Errorf("refund_review decline: %s", s)
	}
}

// §14: response_delay is wall-clock; tested on the synctest fake clock.
func TestResponseDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		yaml := "name: slow\nrules:\n  - provider: payu\n    on: submit\n    then: { response_delay: 2s }\n"
		e := newEnv(t, envOpt{scenarios: []string{yaml}, active: "slow"})
		start := time.Now()
		if m := e.submit(payReq{}); m["code"] != "SUCCESS" {
			t.Fatalf("%v", m)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("answered after %v, want 2s", d)
		}
	})
}

// §15: admin objects, actions and their refusals; Reset; Describe.
func TestAdmin(t *testing.T) {
	e := newEnv(t, envOpt{})
	o, tx := e.charge(payReq{ref: "ADM-1"})
	p := txOf(t, e.submit(payReq{name: "PENDING", email: "manual-review-hub@email.com"}))
	items, total := e.svc.Objects(admin.Query{})
	if total != 4 || items[0].Kind != "order" || items[1].Kind != "transaction" {
		t.Errorf("objects: %d %+v", total, items)
	}
	if _, n := e.svc.Objects(admin.Query{Kind: "transaction", Status: "PENDING"}); n != 1 {
		t.Errorf("filter: %d", n)
	}
	if _, n := e.svc.Objects(admin.Query{Search: "ADM-"}); n != 2 {
		t.Errorf("search: %d", n)
	}
	obj, err := e.svc.Object(tx)
	if err != nil || len(obj.History) != 1 || obj.Data == nil || len(obj.Actions) != 1 || obj.Actions[0].Name != "resend_callback" {
		t.Errorf("object: %+v %v", obj, err)
	}
	if obj, err := e.svc.Object(o); err != nil || obj.Kind != "order" || obj.Status != "CAPTURED" {
		t.Errorf("order object: %+v %v", obj, err)
	}
	check := func(err error, kind emulators.Kind) {
		t.Helper()
		if emulators.KindOf(err) != kind {
			t.Errorf("error %v, want kind %v", err, kind)
		}
	}
	_, err = e.svc.Object("nope")
	check(err, emulators.NotFound)
	_, err = e.svc.Act(context.Background(), "nope", "approve", nil)
	check(err, emulators.NotFound)
	_, err = e.svc.Act(context.Background(), tx, "fly", nil)
	check(err, emulators.Invalid)
	_, err = e.svc.Act(context.Background(), tx, "approve", nil)
	check(err, emulators.Conflict)
	if err != nil && !strings.Contains(err.Error(), "APPROVED") {
		t.Errorf("conflict does not name the state: %v", err)
	}
	_, err = e.svc.Act(context.Background(), str(p["transactionId"]), "decline", []byte(`{"bogus":1}`))
	check(err, emulators.Invalid)
	obj, err = e.svc.Act(context.Background(), str(p["transactionId"]), "decline", []byte(`{"responseCode":"RESTRICTED_CARD"}`))
	if err != nil || obj.Status != "DECLINED" {
		t.Errorf("decline: %+v %v", obj, err)
	}
	if tx, _ := e.svc.txs.Get(str(p["transactionId"])); tx.ResponseCode != "RESTRICTED_CARD" || tx.History[1].Cause != journal.CauseAdmin {
		t.Errorf("decline code %s, history %+v", tx.ResponseCode, tx.History)
	}
	d := e.svc.Describe("http://127.0.0.1:8080")
	if len(d.Credentials) != 1 || !strings.Contains(d.BaseURLs[0].URL, "/payu/payments-api/4.0/service.cgi") {
		t.Errorf("describe: %+v", d)
	}
	e.svc.Reset()
	if _, n := e.svc.Objects(admin.Query{}); n != 0 {
		t.Errorf("after reset: %d", n)
	}
	tr := txOf(t, e.submit(payReq{}))
	if mustInt(t, tr["orderId"]) <= mustInt(t, o) {
		t.Errorf("order id reused after reset: %v", tr["orderId"])
	}
}

// Configuration: defaults are valid; problems name their keys.
func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	c.SignatureMode = "loose"
	c.Merchants = []Merchant{{MerchantID: 1, APILogin: "a"}, {MerchantID: 1, APILogin: "a", APIKey: "k", Accounts: []Account{{AccountID: 0}}}}
	c.Callbacks.Retry = []time.Duration{0}
	err := c.Validate()
	for _, want := range []string{"signature_mode: \"loose\"", "merchants[0].api_key: required", "merchants[0].accounts: required",
		"merchants[1].merchant_id: 1 is also used by merchants[0]", "merchants[1].accounts[0].account_id: required", "callbacks.retry[0]:"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("validate lacks %q: %v", want, err)
		}
	}
	if d := DefaultConfig(); len(d.merchants()) != 1 {
		t.Error("built-in merchant missing")
	}
}

// `sandbox sign payu`.
func TestSignCommand(t *testing.T) {
	var b bytes.Buffer
	if err := SignCommand([]string{"-reference", "PRODUCT_TEST_2021-06-25T16:33:48.512Z", "-value", "10000"}, &b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"77d72fb91eb43f9b15fb300d5f173da3", "b8cbca4bbf17ee01cd2efc643053ef24", "934a75dd86f5711d34a431c6c9ce905b", "~10000.0~CLP~4"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %s:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := SignCommand([]string{"-h"}, &b); err != nil || !strings.Contains(b.String(), "usage") {
		t.Errorf("-h: %v %s", err, b.String())
	}
	if err := SignCommand(nil, &b); err == nil {
		t.Error("missing flags accepted")
	}
}

// The PayU rules of the built-in scenario files (scenarios/builtin) load
// with this vocabulary (the other providers' rules are checked by theirs).
func TestBuiltinScenariosLoad(t *testing.T) {
	names, _ := fs.Glob(scenarios.Builtins(), "*.yaml")
	if len(names) == 0 {
		t.Fatal("no built-in scenarios")
	}
	for _, n := range names {
		data, _ := fs.ReadFile(scenarios.Builtins(), n)
		var doc map[string]any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		rules, _ := doc["rules"].([]any)
		var keep []any
		for _, r := range rules {
			if m, _ := r.(map[string]any); m["provider"] == provider {
				keep = append(keep, r)
			}
		}
		doc["rules"] = keep
		out, _ := yaml.Marshal(doc)
		if _, err := scenarios.Load(n, out, scenarios.Default); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
}

// PAYU check 14: the PHP SDK's wire format, replayed as recorded requests
// written from the SDK's behaviour: GET_PAYMENT_METHOD_AVAILABILITY before
// each payment, values as strings, source PAYU_SDK, nulls stripped, the
// 0-decimal signature, CAPTURE/VOID without TX_VALUE, reports orderId as a number.
func TestPHPSDKWireFormat(t *testing.T) {
	e := newEnv(t, envOpt{})
	for m, want := range map[string]string{"VISA": "CREDIT_CARD", "TRANSBANK_DEBIT": "DEBIT_CARD", "KHIPU": "BANK_TRANSFER"} {
		body := strings.Replace(readFile(t, "testdata/php/availability.request.json"), "VISA", m, 1)
		rec := e.api(body)
		if rec.Body.String() != `{"code":"SUCCESS","error":null,"paymentMethod":{"name":"`+m+`","type":"`+want+`"}}` {
			t.Errorf("%s: %s", m, rec.Body)
		}
	}
	x := e.api(`<request><language>es</language><command>GET_PAYMENT_METHOD_AVAILABILITY</command><merchant><apiLogin>pRRXKOl8ikMmt9u</apiLogin><apiKey>4Vj8eK4rloUd272L48hsrarnUA</apiKey></merchant><paymentMethod>VISA</paymentMethod><isTest>true</isTest></request>`)
	if !strings.HasSuffix(x.Body.String(), "<paymentMethodAvailable><code>SUCCESS</code><paymentMethod><name>VISA</name><type>CREDIT_CARD</type></paymentMethod></paymentMethodAvailable>") {
		t.Errorf("XML availability: %s", x.Body)
	}
	if m := jsonOf(t, e.api(strings.Replace(readFile(t, "testdata/php/availability.request.json"), "VISA", "PSE", 1))); m["error"] != "Sandbox: payment method [PSE] is not available" || !strings.Contains(e.api(strings.Replace(readFile(t, "testdata/php/availability.request.json"), "VISA", "PSE", 1)).Body.String(), `"paymentMethod":null`) {
		t.Errorf("unknown method: %v", m)
	}
	// The charge as the SDK sends it: strings, source, 0-decimal signature of 10000.00.
	tr := txOf(t, jsonOf(t, e.api(readFile(t, "testdata/php/charge.request.json"))))
	if tr["state"] != "APPROVED" {
		t.Fatalf("charge: %v", tr)
	}
	tx, _ := e.svc.txs.Get(str(tr["transactionId"]))
	if tx.Source != "PAYU_SDK" || tx.Installments != 1 {
		t.Errorf("source %q installments %d", tx.Source, tx.Installments)
	}
	// Authorization, then CAPTURE and VOID without TX_VALUE.
	auth := txOf(t, jsonOf(t, e.api(strings.Replace(readFile(t, "testdata/php/charge.request.json"), "AUTHORIZATION_AND_CAPTURE", "AUTHORIZATION", 1))))
	capture := strings.NewReplacer("ORDER_ID", str(auth["orderId"]), "PARENT_ID", str(auth["transactionId"])).Replace(readFile(t, "testdata/php/capture.request.json"))
	if tr := txOf(t, jsonOf(t, e.api(capture))); tr["state"] != "APPROVED" {
		t.Errorf("capture: %v", tr)
	}
	auth = txOf(t, jsonOf(t, e.api(strings.Replace(readFile(t, "testdata/php/charge.request.json"), "AUTHORIZATION_AND_CAPTURE", "AUTHORIZATION", 1))))
	void := strings.NewReplacer("ORDER_ID", str(auth["orderId"]), "PARENT_ID", str(auth["transactionId"]), "CAPTURE", "VOID").Replace(readFile(t, "testdata/php/capture.request.json"))
	if tr := txOf(t, jsonOf(t, e.api(void))); tr["state"] != "APPROVED" {
		t.Errorf("void: %v", tr)
	}
	q := strings.Replace(readFile(t, "testdata/php/order_detail.request.json"), "ORDER_ID", str(auth["orderId"]), 1)
	if m := jsonOf(t, e.post(reportsPath, q)); str(dig(m, "result", "payload", "id")) != str(auth["orderId"]) {
		t.Errorf("order detail: %v", m)
	}
}
