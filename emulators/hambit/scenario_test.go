package hambit

import (
	"context"
	"encoding/json"
	"io/fs"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/sandboxtest"
	"github.com/paysandbox/sandbox/scenarios"
)

const requestPointsYAML = `name: points
rules:
  - name: outage
    provider: hambit
    on: create_collection
    when: { externalOrderId: { prefix: "OUT-" } }
    then: { error: { code: "500" } }
  - name: custom envelope
    provider: hambit
    on: create_collection
    when: { externalOrderId: { prefix: "ERR-" } }
    then: { error: { code: "301", msg: "拒绝", msgEn: "Denied", http_status: 503 } }
  - provider: hambit
    on: create_collection
    when: { externalOrderId: { prefix: "MAL-" } }
    then: { fault: malformed }
  - provider: hambit
    on: create_collection
    when: { externalOrderId: { prefix: "HANG-" } }
    then: { fault: timeout }
  - provider: hambit
    on: create_collection
    when: { externalOrderId: { prefix: "SLOW-" } }
    then: { response_delay: 3s }
  - provider: hambit
    on: payout
    when: { externalOrderId: { prefix: "PERR-" } }
    then: { error: { code: "500" } }
  - provider: hambit
    on: payout
    when: { externalOrderId: { prefix: "REJ-" } }
    then: { outcome: bank_rejection, processing_after: 10s, final_after: 20s, error_msg: "cuenta cerrada" }
  - provider: hambit
    on: payout
    when: { externalOrderId: { prefix: "FAILED-" } }
    then: { outcome: failed }
  - provider: hambit
    on: payout
    when: { externalOrderId: { prefix: "STUCK-" } }
    then: { outcome: stuck }
  - provider: hambit
    on: pay
    when: { externalOrderId: { prefix: "HALF-" } }
    then: { auto: true, outcome: pay_amount, amount: "50%", delay: 5s }
  - provider: hambit
    on: pay
    when: { externalOrderId: { prefix: "FIXED-" } }
    then: { auto: true, outcome: pay_amount, amount: "999" }
  - provider: hambit
    on: pay
    when: { externalOrderId: { prefix: "RFAIL-" } }
    then: { auto: true, outcome: fail, error_msg: "tarjeta rechazada" }
  - provider: hambit
    on: pay
    when: { externalOrderId: { prefix: "REXP-" } }
    then: { auto: true, outcome: expire }
  - provider: hambit
    on: pay
    when: { externalOrderId: { prefix: "FORCE-" } }
    then: { outcome: fail }
  - provider: hambit
    on: pay
    when: { amount: { gt: 100000 } }
    then: { auto: true, outcome: fail }
`

// TestRequestPointScenarios covers create_collection and payout (spec §11).
func TestRequestPointScenarios(t *testing.T) {
	e := newTestEnv(t, nil, sandboxtest.Options{Scenarios: []string{requestPointsYAML}, Active: "points"})
	t.Run("scenario error", func(t *testing.T) {
		rec := e.api("POST", createPath, collectionBody("OUT-1"))
		wantCode(t, rec, 200, "500")
		if d := rec.Header().Get("X-Sandbox-Error-Detail"); !strings.Contains(d, "outage") {
			t.Errorf("detail %q", d)
		}
		if n := e.svc.orders.Len(); n != 0 {
			t.Errorf("%d orders after a scenario error", n)
		}
		es := e.Journal.List(journal.Filter{Kinds: []journal.Kind{journal.KindRequest}, Limit: 1})
		if es[0].Request.Scenario != "points" || !strings.Contains(es[0].Request.Rule, "outage") {
			t.Errorf("journal scenario/rule %q %q", es[0].Request.Scenario, es[0].Request.Rule)
		}
	})
	t.Run("scenario error with texts and status", func(t *testing.T) {
		rec := e.api("POST", createPath, collectionBody("ERR-1"))
		r := decodeReply(t, rec)
		if r.status != 503 || r.Code != "301" || r.Success || r.Msg != "拒绝" || r.MsgEn != "Denied" || string(r.Data) != "null" {
			t.Errorf("answer %d %s", r.status, r.raw)
		}
	})
	t.Run("scenario malformed", func(t *testing.T) {
		rec := e.api("POST", createPath, collectionBody("MAL-1"))
		if rec.Code != 200 || json.Valid(rec.Body.Bytes()) || !strings.HasPrefix(rec.Body.String(), `{"code":"200"`) {
			t.Errorf("malformed answer %d %q", rec.Code, rec.Body.String())
		}
	})
	t.Run("scenario timeout", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		body := collectionBody("HANG-1")
		req := sandboxtest.Request("POST", createPath, body)
		h, _ := NewHeaders(DefaultAccessKey, DefaultSecretKey, []byte(body), time.Now(), e.nonce())
		for k, v := range h {
			req.Header[k] = v
		}
		rec := sandboxtest.Do(e.h, req.WithContext(ctx))
		if rec.Body.Len() != 0 {
			t.Errorf("timeout fault answered %q", rec.Body.String())
		}
	})
	t.Run("scenario payout error", func(t *testing.T) {
		wantCode(t, e.api("POST", transferPath, transferBody("PERR-1")), 200, "500")
		want(t, "balance untouched", e.balance(t)["accountFreezeAmount"], "0")
	})
	t.Run("scenario unknown scenario header", func(t *testing.T) {
		wantCode(t, e.api("POST", createPath, collectionBody("X-1"), "X-Sandbox-Scenario: missing"), 400, "300")
	})
}

func TestResponseDelay(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newTestEnv(t, nil, sandboxtest.Options{Scenarios: []string{requestPointsYAML}, Active: "points"})
		start := time.Now()
		wantCode(t, e.api("POST", createPath, collectionBody("SLOW-1")), 200, "200")
		if d := time.Since(start); d != 3*time.Second {
			t.Errorf("response_delay %v, want 3s", d)
		}
	})
}

// TestPayoutScenarios covers the payout outcomes and step delays.
func TestPayoutScenarios(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newTestEnv(t, nil, sandboxtest.Options{Scenarios: []string{requestPointsYAML}, Active: "points"})
		start := time.Now()
		rej := e.createTransfer(t, transferBody("REJ-1"))
		cb := e.Merchant.Next(t, time.Minute)
		if d := time.Since(start); d != 30*time.Second {
			t.Errorf("rejection after %v, want 10s + 20s", d)
		}
		body := decodeBody(t, cb.Body)
		want(t, "rejected", body["orderStatusCode"], json.Number("4"))
		want(t, "scenario error_msg", body["errorMsg"], `{"errorMsg":"cuenta cerrada"}`)
		want(t, "refunded", e.balance(t)["accountBalance"], "1000000")
		want(t, "query", e.query(t, kindTransfer, `{"orderId":"`+rej+`"}`)["orderStatusCode"], "Bank rejection")

		e.createTransfer(t, transferBody("FAILED-1"))
		body = decodeBody(t, e.Merchant.Next(t, time.Minute).Body)
		want(t, "failed", body["orderStatusCode"], json.Number("16"))
		want(t, "default message", body["errorMsg"], `{"errorMsg":"bank transfer failed."}`)

		stuck := e.createTransfer(t, transferBody("STUCK-1"))
		time.Sleep(time.Hour)
		e.Merchant.None(t)
		want(t, "stuck in 2", e.query(t, kindTransfer, `{"orderId":"`+stuck+`"}`)["orderStatus"], json.Number("2"))
		want(t, "frozen while stuck", e.balance(t)["accountFreezeAmount"], "1010")
		if err := e.act(t, stuck, "advance", `{}`); err != nil {
			t.Fatal(err)
		}
		body = decodeBody(t, e.Merchant.Next(t, time.Second).Body)
		want(t, "advance of a stuck transfer", body["orderStatusCode"], json.Number("8"))
	})
}

// TestPayPointScenarios covers the pay point's outcomes (spec §11).
func TestPayPointScenarios(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newTestEnv(t, nil, sandboxtest.Options{Scenarios: []string{requestPointsYAML}, Active: "points"})
		start := time.Now()
		e.createCollection(t, collectionBody("HALF-1", "amount", `"1501"`))
		body := decodeBody(t, e.Merchant.Next(t, time.Minute).Body)
		if d := time.Since(start); d != 5*time.Second {
			t.Errorf("robot after %v, want the rule's 5s", d)
		}
		want(t, "50% half-up", body["orderActualAmount"], "751")
		want(t, "orderAmount", body["orderAmount"], "1501")

		e.createCollection(t, collectionBody("FIXED-1"))
		body = decodeBody(t, e.Merchant.Next(t, time.Minute).Body)
		want(t, "fixed amount", body["orderActualAmount"], "999")

		e.createCollection(t, collectionBody("RFAIL-1"))
		body = decodeBody(t, e.Merchant.Next(t, time.Minute).Body)
		want(t, "robot fail", body["orderStatusCode"], json.Number("16"))
		want(t, "robot error_msg", body["errorMsg"], `{"errorMsg":"tarjeta rechazada"}`)

		c := e.createCollection(t, collectionBody("REXP-1"))
		time.Sleep(time.Minute)
		e.Merchant.None(t)
		o := mustOrder(t, e, c.Vo.OrderID)
		if !o.Closed || o.Status != statusPending {
			t.Errorf("robot expire: closed %v status %d", o.Closed, o.Status)
		}

		e.createCollection(t, collectionBody("BIG-1", "amount", `"150000"`))
		body = decodeBody(t, e.Merchant.Next(t, time.Minute).Body)
		want(t, "amount condition", body["orderStatusCode"], json.Number("16"))

		// Without auto, the plan replaces the payer's action on the page.
		c = e.createCollection(t, collectionBody("FORCE-1"))
		rec := e.do("POST", "/hambit/cashier/"+c.CashierID, "action=pay", "Content-Type: application/x-www-form-urlencoded")
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "Payment failed") {
			t.Errorf("forced fail page %d", rec.Code)
		}
		body = decodeBody(t, e.Merchant.Next(t, time.Second).Body)
		want(t, "forced outcome", body["orderStatusCode"], json.Number("16"))
	})
}

// TestBuiltinScenariosLoad checks that the Hambit rules of every built-in
// scenario load against this package's vocabulary (the other providers'
// rules are left out: their packages are not linked into this test).
func TestBuiltinScenariosLoad(t *testing.T) {
	builtin := scenarios.Builtins()
	names, err := fs.Glob(builtin, "*.yaml")
	if err != nil || len(names) == 0 {
		t.Fatalf("no built-ins: %v", err)
	}
	total := 0
	for _, n := range names {
		data, _ := fs.ReadFile(builtin, n)
		var doc map[string]any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		rules, _ := doc["rules"].([]any)
		var mine []any
		for _, r := range rules {
			if m, ok := r.(map[string]any); ok && m["provider"] == "hambit" {
				mine = append(mine, r)
			}
		}
		total += len(mine)
		doc["rules"] = mine
		out, _ := yaml.Marshal(doc)
		if _, err := scenarios.Load(n, out, scenarios.Default); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	if total == 0 {
		t.Error("no Hambit rule in the built-ins")
	}
}
