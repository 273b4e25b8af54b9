package khipu

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/admin"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
)

// K-SCN-01: with no scenario nothing settles by itself.
func TestNothingSettlesByItself(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newKEnv(t)
		id := k.createV2(basicPayment())
		time.Sleep(25 * time.Hour)
		k.advance(0)
		if p := k.payment(id); p["status"] != "pending" {
			t.Errorf("status %v", p["status"])
		}
		k.env.Merchant.None(t)
	})
}

// K-SCN-02: pay.auto settles with no browser (the CI path): create → wait
// → GET shows done → notification received.
func TestRobotPayer(t *testing.T) {
	const yaml = `name: robot
rules:
  - {provider: khipu, on: pay, when: {transaction_id: MANUAL}, then: {auto: true, payer: {method: manual, bank_id: Qwert, rut: 16.142.874-4, email: robot@example.com}}}
  - {provider: khipu, on: pay, when: {transaction_id: FAIL}, then: {auto: true, outcome: bank_error}}
  - {provider: khipu, on: pay, when: {transaction_id: DOUBT}, then: {auto: true, outcome: uncertain, delay: 1s}}
  - {provider: khipu, on: pay, then: {auto: true, outcome: approve, delay: 1s}}
`
	synctest.Test(t, func(t *testing.T) {
		k := newKEnv(t, withScenario(yaml), withActive("robot"))
		id := k.createV2(basicPayment())
		time.Sleep(2900 * time.Millisecond) // 1 s robot + 2 s verification
		if p := k.payment(id); p["status"] != "verifying" {
			t.Fatalf("status %v before verification ends", p["status"])
		}
		n := k.env.Merchant.Next(t, time.Second)
		if !strings.HasSuffix(string(n.Body), k.stored(id).Token) {
			t.Errorf("notification %s", n.Body)
		}
		if p := k.payment(id); p["status"] != "done" || p["payment_method"] != "simplified_transfer" || p["payer_email"] != "pagador@example.com" {
			t.Errorf("payment %v", p)
		}

		// Robot payer details.
		p := basicPayment()
		p.Set("transaction_id", "MANUAL")
		id = k.createV2(p)
		time.Sleep(2*time.Second + 10*time.Second)
		k.advance(0)
		m := k.payment(id)
		if m["status"] != "done" || m["payment_method"] != "regular_transfer" || m["bank_id"] != "Qwert" ||
			m["personal_identifier"] != "16.142.874-4" || m["bank_account_number"] != "161428740001" || m["funds_source"] != "" {
			t.Errorf("manual robot: %v", m)
		}
		k.env.Merchant.Next(t, time.Second)

		p.Set("transaction_id", "FAIL")
		id = k.createV2(p)
		time.Sleep(time.Hour)
		if m := k.payment(id); m["status"] != "pending" || m["bank"] != "" {
			t.Errorf("bank_error robot: %v", m)
		}

		p.Set("transaction_id", "DOUBT")
		id = k.createV2(p)
		time.Sleep(time.Hour)
		if s := k.stored(id); s.Status != statusVerifying || !s.Uncertain {
			t.Errorf("uncertain robot: %s uncertain=%v", s.state(), s.Uncertain)
		}
		k.act(id, "pay", `{"outcome":"approve"}`)
		if s := k.stored(id); s.Status != statusDone {
			t.Errorf("admin approve of a held payment: %s", s.state())
		}
	})
}

// Payments created under X-Sandbox-Scenario keep it; an unknown name is
// a 400 before authentication (§2.1).
func TestScenarioHeader(t *testing.T) {
	const yaml = `name: auto
rules:
  - {provider: khipu, on: pay, then: {auto: true}}
`
	synctest.Test(t, func(t *testing.T) {
		k := newKEnv(t, withScenario(yaml))
		id := k.createV2(basicPayment(), "X-Sandbox-Scenario: auto")
		other := k.createV2(basicPayment())
		time.Sleep(5 * time.Second)
		k.advance(0)
		if k.stored(id).Status != statusDone || k.stored(other).Status != statusPending {
			t.Errorf("with header %s, without %s", k.stored(id).state(), k.stored(other).state())
		}
		if k.stored(id).Scenario != "auto" || k.stored(other).Scenario != "default" {
			t.Errorf("stored scenarios %q %q", k.stored(id).Scenario, k.stored(other).Scenario)
		}
		rec := k.do(req("GET", "/khipu/api/2.0/banks", "", "X-Sandbox-Scenario: nope"))
		wantBody(t, rec, 400, `{"status":400,"message":"unknown scenario \"nope\"; known: auto, default","errors":[]}`)
		if rec.Header().Get("X-Sandbox-Error-Detail") != `unknown scenario "nope"; known: auto, default` {
			t.Errorf("detail %q", rec.Header().Get("X-Sandbox-Error-Detail"))
		}
		wantStatus(t, k.do(req("GET", "/khipu/v3/banks", "", "X-Sandbox-Scenario: nope")), 400)
	})
}

// K-SCN-03: create error injection and faults create nothing;
// response_delay creates and holds the answer.
func TestCreateScenarios(t *testing.T) {
	const yaml = `name: create-qa
rules:
  - {provider: khipu, on: create, when: {transaction_id: ERR}, then: {error: {http_status: 503}}}
  - {provider: khipu, on: create, when: {transaction_id: CUSTOM}, then: {error: {http_status: 400, message: "Datos inválidos", errors: [{field: subject, message: "Asunto rechazado"}]}}}
  - {provider: khipu, on: create, when: {transaction_id: BROKEN}, then: {fault: malformed}}
  - {provider: khipu, on: create, when: {transaction_id: RESET}, then: {fault: reset}}
  - {provider: khipu, on: create, when: {transaction_id: HANG}, then: {fault: timeout}}
  - {provider: khipu, on: create, when: {transaction_id: SLOW}, then: {response_delay: 3s}}
  - {provider: khipu, on: create, when: {transaction_id: OUTAGE}, then: {error: {}}}
  - {provider: khipu, on: create, when: {bank_id: Bawdf}, then: {error: {http_status: 422}}}
`
	synctest.Test(t, func(t *testing.T) {
		k := newKEnv(t, withScenario(yaml), withActive("create-qa"))
		create := func(tx string) (int, string) {
			p := valid()
			p.Set("transaction_id", tx)
			rec := k.v2("POST", "/khipu/api/2.0/payments", p)
			return rec.Code, rec.Body.String()
		}
		count := func() int { return k.svc.payments.Len() }
		if code, body := create("ERR"); code != 503 || body != `{"status":503,"message":"`+msgS9+`"}` {
			t.Errorf("ERR: %d %s", code, body)
		}
		rec := k.v3("POST", "/khipu/v3/payments", `{"subject":"x","currency":"CLP","amount":1000,"transaction_id":"OUTAGE"}`)
		wantBody(t, rec, 500, `{"status":500,"message":"Error interno"}`)
		if code, body := create("CUSTOM"); code != 400 || body != `{"status":400,"message":"Datos inválidos","errors":[{"field":"subject","message":"Asunto rechazado"}]}` {
			t.Errorf("CUSTOM: %d %s", code, body)
		}
		if code, body := create("BROKEN"); code != 200 || json.Valid([]byte(body)) || !strings.HasPrefix(body, `{"payment_id"`) {
			t.Errorf("BROKEN: %d %q", code, body)
		}
		if code, _ := create("RESET"); code != 200 && code != 0 {
			t.Errorf("RESET: %d", code)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p := valid()
		p.Set("transaction_id", "HANG")
		r := signedV2(DefaultSecret, DefaultReceiverID, "POST", "/khipu/api/2.0/payments", p).WithContext(ctx)
		start := time.Now()
		rec = k.do(r)
		if time.Since(start) != 5*time.Second || rec.Body.Len() != 0 {
			t.Errorf("HANG answered after %v: %q", time.Since(start), rec.Body)
		}
		if count() != 0 {
			t.Fatalf("%d payments created by failing creates", count())
		}
		start = time.Now()
		code, body := create("SLOW")
		if code != 200 || time.Since(start) != 3*time.Second || count() != 1 {
			t.Errorf("SLOW: %d after %v, %d payments: %s", code, time.Since(start), count(), body)
		}
		// The journal names the rule.
		es := k.journalEntries(journal.KindRequest)
		if last := es[len(es)-1].Request; last.Scenario != "create-qa" || !strings.Contains(last.Rule, "rules[5]") {
			t.Errorf("journal scenario %q rule %q", last.Scenario, last.Rule)
		}
		// The create point sees the payer fields given at creation, as the
		// pay point does (the vocabulary lists bank_id for both).
		p = valid()
		p.Set("transaction_id", "BANK")
		p.Set("bank_id", "Bawdf")
		if rec := k.v2("POST", "/khipu/api/2.0/payments", p); rec.Code != 422 || count() != 1 {
			t.Errorf("create rule on bank_id: %d, %d payments: %s", rec.Code, count(), rec.Body)
		}
	})
}

// K-SCN-04: refund outcome reject.
func TestRefundScenario(t *testing.T) {
	const yaml = `name: refund-qa
rules:
  - {provider: khipu, on: refund, when: {transaction_id: CUSTOM}, then: {outcome: reject, error: {http_status: 502, message: "Error de operación: banco caído"}}}
  - {provider: khipu, on: refund, then: {outcome: reject}}
`
	k := newKEnv(t, withScenario(yaml))
	id := k.donePayment(basicPayment())
	wantStatus(t, k.v2("POST", "/khipu/api/2.0/payments/"+id+"/refunds", nil, "X-Sandbox-Scenario: refund-qa"), 503)
	rec := k.v2("POST", "/khipu/api/2.0/payments/"+id+"/refunds", nil, "X-Sandbox-Scenario: refund-qa")
	wantBody(t, rec, 503, `{"status":503,"message":"`+msgS8+`"}`)
	p := basicPayment()
	p.Set("transaction_id", "CUSTOM")
	id2 := k.createV2(p, "X-Sandbox-Scenario: refund-qa")
	k.act(id2, "pay", `{"skip_verify":true}`)
	// The payment keeps the scenario it was created under.
	wantBody(t, k.v3("POST", "/khipu/v3/payments/"+id2+"/refunds", ""), 502, `{"status":502,"message":"Error de operación: banco caído"}`)
	if k.stored(id).Refunded.Sign() != 0 || k.stored(id2).Refunded.Sign() != 0 {
		t.Error("a rejected refund was recorded")
	}
	// State rules come before the scenario.
	wantBody(t, k.v2("POST", "/khipu/api/2.0/payments/"+k.createV2(valid())+"/refunds", nil, "X-Sandbox-Scenario: refund-qa"), 503, `{"status":503,"message":"`+msgS3+`"}`)
}

// The verify point: delays and the uncertain resolution.
func TestVerifyScenario(t *testing.T) {
	const yaml = `name: verify-qa
rules:
  - {provider: khipu, on: verify, when: {transaction_id: FAILS}, then: {uncertain: {delay: 5s, outcome: failed}}}
  - {provider: khipu, on: verify, then: {simplified_delay: 1m, manual_delay: 2m, uncertain: {delay: 5s, outcome: done}}}
`
	synctest.Test(t, func(t *testing.T) {
		k := newKEnv(t, withScenario(yaml), withActive("verify-qa"))
		id := k.createV2(basicPayment())
		k.act(id, "pay", "")
		time.Sleep(59 * time.Second)
		if k.stored(id).Status != statusVerifying {
			t.Fatalf("settled before simplified_delay: %s", k.stored(id).state())
		}
		time.Sleep(time.Second)
		k.advance(0)
		if k.stored(id).Status != statusDone {
			t.Fatalf("not settled after simplified_delay: %s", k.stored(id).state())
		}
		id = k.createV2(basicPayment())
		k.act(id, "pay", `{"outcome":"uncertain"}`)
		time.Sleep(5 * time.Second)
		k.advance(0)
		if k.stored(id).Status != statusDone {
			t.Errorf("uncertain → done: %s", k.stored(id).state())
		}
		p := basicPayment()
		p.Set("transaction_id", "FAILS")
		id = k.createV2(p)
		k.act(id, "pay", `{"outcome":"uncertain"}`)
		if m := k.payment(id); m["status"] != "verifying" || m["personal_identifier"] != "11.111.111-1" {
			t.Errorf("uncertain recorded: %v", m)
		}
		time.Sleep(5 * time.Second)
		k.advance(0)
		if m := k.payment(id); m["status"] != "pending" || m["bank"] != "" || m["personal_identifier"] != "" || m["payment_method"] != "not_available" {
			t.Errorf("uncertain → failed: %v", m)
		}
	})
}

// K-SCN-05: every admin action of §15 and its refusals.
func TestAdminActions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newKEnv(t)
		ctx := t.Context()
		refused := func(id, action, params string, kind emulators.Kind, want string) {
			t.Helper()
			_, err := k.svc.Act(ctx, id, action, []byte(params))
			if emulators.KindOf(err) != kind || !strings.Contains(err.Error(), want) {
				t.Errorf("%s %s: %v, want %v containing %q", action, params, err, kind, want)
			}
		}
		refused("nope", "pay", "", emulators.NotFound, "nope")
		id := k.createV2(basicPayment())
		refused(id, "explode", "", emulators.Invalid, "unknown khipu action")
		refused(id, "pay", `{"outcome":"maybe"}`, emulators.Invalid, "outcome")
		refused(id, "pay", `{"speed":1}`, emulators.Invalid, "unknown field")
		refused(id, "pay", `{"bank_id":"Nope1"}`, emulators.Invalid, "Nope1")
		refused(id, "pay", `{"rut":"11.111.111-2"}`, emulators.Invalid, "RUT")
		refused(id, "reverse", "", emulators.Conflict, "pending")
		refused(id, "resend_callback", "", emulators.Conflict, "pending")

		o, err := k.svc.Object(id)
		if err != nil || names(o.Actions) != "pay expire mark_paid" || len(o.History) != 1 || o.Links[0].URL != "http://127.0.0.1:8080/khipu/payment/info/"+id {
			t.Errorf("pending object: %+v %v", o, err)
		}

		k.act(id, "pay", `{"outcome":"bank_error"}`)
		k.act(id, "pay", `{"outcome":"abandon"}`)
		if k.stored(id).Status != statusPending {
			t.Errorf("bank_error/abandon changed the state: %s", k.stored(id).state())
		}
		k.act(id, "pay", `{"outcome":"uncertain"}`)
		refused(id, "pay", `{"outcome":"abandon"}`, emulators.Conflict, "verifying")
		k.act(id, "pay", `{"outcome":"bank_error"}`)
		if s := k.stored(id); s.Status != statusPending || s.Bank != "" {
			t.Errorf("bank_error on verifying: %s", s.state())
		}
		k.act(id, "mark_paid", "")
		m := k.payment(id)
		if m["status"] != "done" || m["status_detail"] != "marked-paid-by-receiver" || m["payment_method"] != "not_available" ||
			m["funds_source"] != "not-available" || m["conciliation_date"] == nil || m["receipt_url"] == "" {
			t.Errorf("marked paid: %v", m)
		}
		k.env.Merchant.Next(t, time.Second) // mark_paid notifies
		refused(id, "mark_paid", "", emulators.Conflict, "done/marked-paid-by-receiver")
		refused(id, "reverse", "", emulators.Conflict, "done/marked-paid-by-receiver")
		refused(id, "expire", "", emulators.Conflict, "done")
		refused(id, "pay", "", emulators.Conflict, "done")

		id = k.createV2(basicPayment())
		k.act(id, "pay", `{"method":"manual","bank_id":"Qwert","email":"x@y.cl","skip_verify":true}`)
		m = k.payment(id)
		if m["payment_method"] != "regular_transfer" || m["bank"] != "DemoBank2" || m["payer_email"] != "x@y.cl" {
			t.Errorf("manual admin pay: %v", m)
		}
		k.env.Merchant.Next(t, time.Second)
		k.act(id, "reverse", "")
		if m := k.payment(id); m["status_detail"] != "reversed" {
			t.Errorf("reverse: %v", m["status_detail"])
		}
		if s := k.stored(id); !s.Refunded.Equal(s.Amount) {
			t.Errorf("reverse recorded %s", s.Refunded)
		}
		k.act(id, "resend_callback", "")
		k.env.Merchant.Next(t, time.Second)
		refused(id, "resend_callback", `{"version":"1.2"}`, emulators.Invalid, "version")
		synctest.Wait()
		k.env.Merchant.None(t) // reverse sent nothing

		o, _ = k.svc.Object(id)
		if names(o.Actions) != "resend_callback" || len(o.History) != 4 || o.History[3].Cause != "admin" || o.Status != "done/reversed" {
			t.Errorf("reversed object: actions %s history %+v", names(o.Actions), o.History)
		}
		data := o.Data.(adminData)
		if data.Sandbox.Refunded != "1570.0000" || data.PaymentID != id {
			t.Errorf("admin data: %+v", data)
		}
		if b, _ := json.Marshal(o); !strings.Contains(string(b), `"data":{"payment_id":"`+id+`"`) {
			t.Errorf("admin JSON: %s", b)
		}

		// Deleted payments accept nothing.
		del := k.createV2(basicPayment())
		wantStatus(t, k.v2("DELETE", "/khipu/api/2.0/payments/"+del, nil), 200)
		refused(del, "pay", "", emulators.Conflict, "deleted")
		refused(del, "expire", "", emulators.Conflict, "deleted")
	})
}

func names(as []admin.Action) string {
	var out []string
	for _, a := range as {
		out = append(out, a.Name)
	}
	return strings.Join(out, " ")
}

func TestAdminListing(t *testing.T) {
	k := newKEnv(t, withConfig(func(c *Config) {
		c.BuiltinAccounts = true
		c.Receivers = []Receiver{{ReceiverID: 42, Secret: "s", APIKey: "k", Name: "Tienda 42"}}
	}))
	a := k.createV2(basicPayment())
	p := valid()
	p.Set("transaction_id", "FIND-ME")
	b := k.createV2(p)
	k.act(a, "pay", `{"skip_verify":true}`)
	rec := k.do(req("POST", "/khipu/v3/payments", `{"subject":"x","currency":"CLP","amount":1000}`, "x-api-key: k"))
	c := decodeMap(t, rec.Body.Bytes())["payment_id"].(string)
	items, total := k.svc.Objects(admin.Query{})
	if total != 3 || items[0].ID != c || items[2].ID != a {
		t.Errorf("listing %d: %v", total, items)
	}
	if _, n := k.svc.Objects(admin.Query{Status: "done"}); n != 1 {
		t.Errorf("status done: %d", n)
	}
	if _, n := k.svc.Objects(admin.Query{Account: "42"}); n != 1 {
		t.Errorf("account 42: %d", n)
	}
	if got, n := k.svc.Objects(admin.Query{Search: "find-me"}); n != 1 || got[0].ID != b {
		t.Errorf("search: %v", got)
	}
	if _, n := k.svc.Objects(admin.Query{Kind: "order"}); n != 0 {
		t.Errorf("kind order: %d", n)
	}
	if got, n := k.svc.Objects(admin.Query{Limit: 1, Offset: 1}); n != 3 || len(got) != 1 || got[0].ID != b {
		t.Errorf("page: %v", got)
	}
	d := k.svc.Describe("http://127.0.0.1:8080/")
	if d.BaseURLs[0].URL != "http://127.0.0.1:8080/khipu/api/2.0" || len(d.Credentials) != 2 || d.Credentials[0].Fields[0].Value != "42" {
		t.Errorf("describe: %+v", d)
	}
	k.svc.Reset()
	if _, n := k.svc.Objects(admin.Query{}); n != 0 {
		t.Errorf("after reset: %d", n)
	}
	wantStatus(t, k.v2("GET", "/khipu/api/2.0/payments/"+a, nil), 400)
}

// listener records TransferSettled events on a channel.
type listener struct {
	c chan emulators.TransferEvent
}

func (l *listener) TransferSettled(_ context.Context, e emulators.TransferEvent) { l.c <- e }

// K-SCN-06: a payment created through the bank-transfer interface reports
// done and expired to the listener and sends no HTTP notification (§13.4).
func TestBankTransfers(t *testing.T) {
	const yaml = `name: robot
rules:
  - {provider: khipu, on: pay, then: {auto: true}}
  - {provider: khipu, on: notify, then: {duplicate: 3}}
  - {provider: khipu, on: create, then: {error: {}}}
`
	synctest.Test(t, func(t *testing.T) {
		k := newKEnv(t, withScenario(yaml), withActive("robot"))
		l := &listener{c: make(chan emulators.TransferEvent, 8)}
		k.svc.SetTransferListener(l)
		ctx := t.Context()
		tr := emulators.TransferRequest{
			ReceiverID: 900000, ReceiverName: "PayU Chile SA", Amount: emulators.Amount{Value: emulators.DecimalFromInt(15000), Currency: "CLP"},
			Subject: "Orden 1", Reference: "tx-1", BankID: "Bawdf", PayerEmail: "buyer@example.com",
			ReturnURL: "http://127.0.0.1:8080/payu/response/tx-1", CancelURL: "http://127.0.0.1:8080/payu/response/tx-1",
			ExpiresAt: time.Now().Add(time.Hour), LinkBase: "http://127.0.0.1:8080", Scenario: "robot",
		}
		out, err := k.svc.CreateTransfer(ctx, tr)
		if err != nil {
			t.Fatal(err) // the create point (error) is not consulted
		}
		if out.SimplifiedTransferURL != "http://127.0.0.1:8080/khipu/payment/simplified/"+out.PaymentID || !out.ExpiresAt.Equal(tr.ExpiresAt) {
			t.Errorf("transfer = %+v", out)
		}
		time.Sleep(time.Minute)
		if k.stored(out.PaymentID).Status != statusPending {
			t.Fatal("the pay point's robot payer acted on a PayU payment")
		}
		p := k.stored(out.PaymentID)
		if p.ReceiverID != 900000 || p.TransactionID != "tx-1" || p.ReturnURL != tr.ReturnURL || p.NotifyURL != "" || p.GivenBankID != "Bawdf" {
			t.Errorf("stored %+v", p)
		}
		// The page shows PayU's name.
		if b := k.do(req("GET", "/khipu/payment/simplified/"+out.PaymentID, "")).Body.String(); !strings.Contains(b, "PayU Chile SA") || !strings.Contains(b, "$15.000") {
			t.Errorf("page: %.500s", b)
		}
		if err := k.svc.ActOnTransfer(ctx, out.PaymentID, emulators.TransferPay); err != nil {
			t.Fatal(err)
		}
		select {
		case e := <-l.c:
			t.Fatalf("settled before verification: %+v", e)
		default:
		}
		time.Sleep(2 * time.Second)
		k.advance(0)
		e := <-l.c
		if e.Outcome != "done" || e.PaymentID != out.PaymentID || e.Reference != "tx-1" {
			t.Errorf("event %+v", e)
		}
		if err := k.svc.ActOnTransfer(ctx, out.PaymentID, emulators.TransferDelete); emulators.KindOf(err) != emulators.Conflict {
			t.Errorf("delete of a done transfer: %v", err)
		}

		// pay_now, expire, delete.
		out2, _ := k.svc.CreateTransfer(ctx, tr)
		if err := k.svc.ActOnTransfer(ctx, out2.PaymentID, emulators.TransferPayNow); err != nil {
			t.Fatal(err)
		}
		if e := <-l.c; e.Outcome != "done" || e.PaymentID != out2.PaymentID {
			t.Errorf("pay_now event %+v", e)
		}
		out3, _ := k.svc.CreateTransfer(ctx, tr)
		if err := k.svc.ActOnTransfer(ctx, out3.PaymentID, emulators.TransferExpire); err != nil {
			t.Fatal(err)
		}
		if e := <-l.c; e.Outcome != "expired" || e.PaymentID != out3.PaymentID {
			t.Errorf("expire event %+v", e)
		}
		out4, _ := k.svc.CreateTransfer(ctx, tr)
		if err := k.svc.ActOnTransfer(ctx, out4.PaymentID, emulators.TransferDelete); err != nil {
			t.Fatal(err)
		}
		if b := k.do(req("GET", "/khipu/payment/simplified/"+out4.PaymentID, "")).Body.String(); !strings.Contains(b, "Cobro eliminado") {
			t.Errorf("deleted transfer page: %.300s", b)
		}
		// Expiry by the deadline, once.
		out5, _ := k.svc.CreateTransfer(ctx, tr)
		time.Sleep(2 * time.Hour)
		k.advance(0)
		if e := <-l.c; e.Outcome != "expired" || e.PaymentID != out5.PaymentID {
			t.Errorf("deadline event %+v", e)
		}
		synctest.Wait()
		select {
		case e := <-l.c:
			t.Errorf("extra event %+v", e)
		default:
		}
		// No HTTP notification, and the journal has the hooks.
		k.env.Merchant.None(t)
		hooks := 0
		for _, e := range k.journalEntries(journal.KindHook) {
			if strings.Contains(e.Summary, "TransferSettled") || strings.Contains(e.Summary, "CreateTransfer") || strings.Contains(e.Summary, "ActOnTransfer") {
				hooks++
			}
		}
		if hooks < 10 {
			t.Errorf("%d hook entries", hooks)
		}
		// The Khipu API cannot reach internal payments.
		wantStatus(t, k.v2("GET", "/khipu/api/2.0/payments/"+out.PaymentID, nil), 400)
		o, _ := k.svc.Object(out.PaymentID)
		if len(o.Related) != 1 || o.Related[0].ID != "tx-1" || names(o.Actions) != "reverse" {
			t.Errorf("admin view of a transfer: %+v", o)
		}
	})
}

func TestBankTransferValidation(t *testing.T) {
	k := newKEnv(t)
	ctx := t.Context()
	base := emulators.TransferRequest{ReceiverID: 900000, Amount: emulators.Amount{Value: emulators.DecimalFromInt(1000), Currency: "CLP"},
		Subject: "x", Reference: "tx", LinkBase: "http://h"}
	for _, tt := range []struct {
		name   string
		mod    func(*emulators.TransferRequest)
		substr string
	}{
		{"unknown bank", func(r *emulators.TransferRequest) { r.BankID = "Nope1" }, "Banco no encontrado"},
		{"below the bank minimum", func(r *emulators.TransferRequest) { r.BankID = "Bawdf"; r.Amount.Value = emulators.DecimalFromInt(150) }, "mínimo"},
		{"decimals", func(r *emulators.TransferRequest) { r.Amount.Value = emulators.MustDecimal("10.5") }, "decimales"},
		{"configured receiver id", func(r *emulators.TransferRequest) { r.ReceiverID = DefaultReceiverID }, "configured Khipu receiver"},
	} {
		r := base
		tt.mod(&r)
		_, err := k.svc.CreateTransfer(ctx, r)
		if emulators.KindOf(err) != emulators.Invalid || !strings.Contains(emulators.AsError(err).Msg, tt.substr) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	// No cap for the internal receiver; Qwert accepts 150.
	r := base
	r.Amount.Value, r.BankID = emulators.DecimalFromInt(10_000_000), "Qwert"
	if _, err := k.svc.CreateTransfer(ctx, r); err != nil {
		t.Errorf("large amount: %v", err)
	}
	if !k.svc.IsConfiguredReceiver(DefaultReceiverID) || k.svc.IsConfiguredReceiver(900000) {
		t.Error("IsConfiguredReceiver")
	}
	if err := k.svc.ActOnTransfer(ctx, "nope", emulators.TransferPay); emulators.KindOf(err) != emulators.NotFound {
		t.Errorf("unknown transfer: %v", err)
	}
	id := k.createV2(valid())
	if err := k.svc.ActOnTransfer(ctx, id, emulators.TransferPay); emulators.KindOf(err) != emulators.NotFound {
		t.Errorf("a merchant's own payment is not a transfer: %v", err)
	}
}
