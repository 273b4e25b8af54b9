package khipu

import (
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// act runs an admin action and fails the test on error.
func (k *kenv) act(id, action, params string) {
	k.t.Helper()
	if _, err := k.svc.Act(k.t.Context(), id, action, []byte(params)); err != nil {
		k.t.Fatalf("%s %s: %v", action, params, err)
	}
}

// donePayment creates a payment and pays it at once (admin pay skip_verify).
func (k *kenv) donePayment(p url.Values) string {
	k.t.Helper()
	id := k.createV2(p)
	k.act(id, "pay", `{"skip_verify":true}`)
	if s := k.stored(id); s.Status != statusDone {
		k.t.Fatalf("payment %s is %s", id, s.state())
	}
	return id
}

// K-SM-01: delete only pending; afterwards the payment is gone for the API
// and its pages say "Cobro eliminado".
func TestDelete(t *testing.T) {
	k := newKEnv(t)
	id := k.createV2(basicPayment())
	wantBody(t, k.v2("DELETE", "/khipu/api/2.0/payments/"+id, nil), 200, `{"message":"Pago eliminado"}`)
	wantStatus(t, k.v2("GET", "/khipu/api/2.0/payments/"+id, nil), 400)
	wantStatus(t, k.v3("GET", "/khipu/v3/payments/"+id, ""), 404)
	wantStatus(t, k.v2("GET", "/khipu/api/2.0/payments", url.Values{"notification_token": {k.stored(id).Token}}), 400)
	for _, page := range []string{"/khipu/payment/info/", "/khipu/payment/simplified/", "/khipu/payment/manual/"} {
		rec := k.do(req("GET", page+id, ""))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "Cobro eliminado") || !strings.Contains(rec.Body.String(), "El cobro ha sido eliminado por el comercio") {
			t.Errorf("%s: %d %.200s", page, rec.Code, rec.Body)
		}
	}
	// A second delete: the payment no longer exists.
	wantStatus(t, k.v2("DELETE", "/khipu/api/2.0/payments/"+id, nil), 400)

	done := k.donePayment(basicPayment())
	wantBody(t, k.v2("DELETE", "/khipu/api/2.0/payments/"+done, nil), 503, `{"status":503,"message":"`+msgS1+`"}`)
	wantBody(t, k.v3("DELETE", "/khipu/v3/payments/"+done, ""), 400, `{"status":400,"message":"`+msgS1+`","errors":[]}`)

	// An expired pending payment can still be deleted (§11.3).
	exp := k.createV2(basicPayment())
	k.act(exp, "expire", "")
	wantStatus(t, k.v3("DELETE", "/khipu/v3/payments/"+exp, ""), 200)
}

// K-SM-02: confirm only done payments; idempotent; A4 without the contract.
func TestConfirm(t *testing.T) {
	k := newKEnv(t)
	pending := k.createV2(basicPayment())
	wantBody(t, k.v2("POST", "/khipu/api/2.0/payments/"+pending+"/confirm", nil), 503, `{"status":503,"message":"`+msgS2+`"}`)
	done := k.donePayment(basicPayment())
	const ok = `{"message":"Pago confirmado, será rendido al día siguiente"}`
	wantBody(t, k.v2("POST", "/khipu/api/2.0/payments/"+done+"/confirm", nil), 200, ok)
	first := k.stored(done).ConfirmedAt
	wantBody(t, k.v3("POST", "/khipu/v3/payments/"+done+"/confirm", ""), 200, ok)
	if !k.stored(done).ConfirmedAt.Equal(first) || first.IsZero() {
		t.Error("confirmed_at changed on the second confirm")
	}
	marked := k.createV2(basicPayment())
	k.act(marked, "mark_paid", "")
	wantStatus(t, k.v2("POST", "/khipu/api/2.0/payments/"+marked+"/confirm", nil), 200)
	rev := k.donePayment(basicPayment())
	k.act(rev, "reverse", "")
	wantBody(t, k.v3("POST", "/khipu/v3/payments/"+rev+"/confirm", ""), 400, `{"status":400,"message":"`+msgS2+`","errors":[]}`)

	off := false
	k2 := newKEnv(t, withConfig(func(c *Config) {
		c.Receivers = []Receiver{{ReceiverID: DefaultReceiverID, Secret: DefaultSecret, APIKey: DefaultAPIKey, ConfirmEnabled: &off}}
	}))
	id := k2.donePayment(basicPayment())
	wantBody(t, k2.v2("POST", "/khipu/api/2.0/payments/"+id+"/confirm", nil), 403, `{"status":403,"message":"`+msgA4+`"}`)
}

// K-SM-03: refunds (§6.6).
func TestRefunds(t *testing.T) {
	k := newKEnv(t)
	refund := func(id, amount string) (int, string) {
		var p url.Values
		if amount != "" {
			p = url.Values{"amount": {amount}}
		}
		rec := k.v2("POST", "/khipu/api/2.0/payments/"+id+"/refunds", p)
		return rec.Code, rec.Body.String()
	}
	t.Run("full", func(t *testing.T) {
		id := k.donePayment(basicPayment())
		if code, body := refund(id, ""); code != 200 || body != `{"message":"Reembolso realizado"}` {
			t.Fatalf("%d %s", code, body)
		}
		if p := k.payment(id); p["status"] != "done" || p["status_detail"] != "reversed" {
			t.Errorf("after a full refund: %v/%v", p["status"], p["status_detail"])
		}
		if code, body := refund(id, ""); code != 503 || body != `{"status":503,"message":"`+msgS4+`"}` {
			t.Errorf("refund of a reversed payment: %d %s", code, body)
		}
	})
	t.Run("two partials", func(t *testing.T) {
		id := k.donePayment(basicPayment())
		if code, body := refund(id, "570"); code != 200 || body != `{"message":"Reembolso parcial realizado"}` {
			t.Fatalf("%d %s", code, body)
		}
		if p := k.payment(id); p["status_detail"] != "normal" {
			t.Errorf("after a partial refund: %v", p["status_detail"])
		}
		if code, body := refund(id, "1001"); code != 400 || !strings.Contains(body, `"message":"El monto excede el saldo reembolsable (1000)"`) {
			t.Errorf("over-refund: %d %s", code, body)
		}
		if code, body := refund(id, "100.5"); code != 400 || !strings.Contains(body, "0 decimales para CLP") {
			t.Errorf("decimal refund of CLP: %d %s", code, body)
		}
		if code, body := refund(id, "0"); code != 400 || !strings.Contains(body, msgAmountZero) {
			t.Errorf("zero refund: %d %s", code, body)
		}
		if code, body := refund(id, "1000"); code != 200 || body != `{"message":"Reembolso realizado"}` {
			t.Fatalf("second partial: %d %s", code, body)
		}
		if p := k.payment(id); p["status_detail"] != "reversed" {
			t.Errorf("after two partials: %v", p["status_detail"])
		}
		if s := k.stored(id); s.Refunded.String() != "1570" || len(s.Refunds) != 2 {
			t.Errorf("refunded = %s (%d refunds)", s.Refunded, len(s.Refunds))
		}
	})
	t.Run("v3 JSON amount", func(t *testing.T) {
		id := k.donePayment(basicPayment())
		wantBody(t, k.v3("POST", "/khipu/v3/payments/"+id+"/refunds", `{"amount": 100}`), 200, `{"message":"Reembolso parcial realizado"}`)
		wantBody(t, k.v3("POST", "/khipu/v3/payments/"+id+"/refunds", `{"amount": "x"}`), 400,
			`{"status":400,"message":"Datos inválidos","errors":[{"field":"amount","message":"`+msgAmountFormat+`"}]}`)
		wantBody(t, k.v3("POST", "/khipu/v3/payments/"+id+"/refunds", `{"amount":`), 400, `{"status":400,"message":"Solicitud mal formada","errors":[]}`)
		wantBody(t, k.v3("POST", "/khipu/v3/payments/"+id+"/refunds", ``), 200, `{"message":"Reembolso realizado"}`)
	})
	t.Run("states", func(t *testing.T) {
		pending := k.createV2(basicPayment())
		if code, body := refund(pending, ""); code != 503 || body != `{"status":503,"message":"`+msgS3+`"}` {
			t.Errorf("pending: %d %s", code, body)
		}
		confirmed := k.donePayment(basicPayment())
		wantStatus(t, k.v2("POST", "/khipu/api/2.0/payments/"+confirmed+"/confirm", nil), 200)
		if code, body := refund(confirmed, ""); code != 503 || body != `{"status":503,"message":"`+msgS6+`"}` {
			t.Errorf("confirmed: %d %s", code, body)
		}
		marked := k.createV2(basicPayment())
		k.act(marked, "mark_paid", "")
		if code, body := refund(marked, ""); code != 503 || body != `{"status":503,"message":"`+msgS5+`"}` {
			t.Errorf("marked paid: %d %s", code, body)
		}
		wantBody(t, k.v3("POST", "/khipu/v3/payments/"+marked+"/refunds", ""), 400, `{"status":400,"message":"`+msgS5+`","errors":[]}`)
	})
	t.Run("refunds disabled", func(t *testing.T) {
		off := false
		k2 := newKEnv(t, withConfig(func(c *Config) {
			c.Receivers = []Receiver{{ReceiverID: DefaultReceiverID, Secret: DefaultSecret, APIKey: DefaultAPIKey, RefundsEnabled: &off}}
		}))
		id := k2.donePayment(basicPayment())
		wantBody(t, k2.v2("POST", "/khipu/api/2.0/payments/"+id+"/refunds", nil), 503, `{"status":503,"message":"`+msgS7+`"}`)
	})
}

// K-SM-04: admin expire, then the pages refuse payment; the API still
// shows it pending with expires_date in the past.
func TestExpireRefusesPayment(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newKEnv(t)
		id := k.createV2(basicPayment())
		time.Sleep(time.Minute)
		k.act(id, "expire", "")
		p := k.payment(id)
		if p["status"] != "pending" || p["expires_date"] != "2000-01-01T00:01:00.000Z" {
			t.Errorf("after expire: %v %v", p["status"], p["expires_date"])
		}
		for _, page := range []string{"/khipu/payment/info/", "/khipu/payment/simplified/", "/khipu/payment/manual/"} {
			rec := k.do(req("GET", page+id, ""))
			if !strings.Contains(rec.Body.String(), "Cobro expirado") || !strings.Contains(rec.Body.String(), "El plazo para pagar este cobro ha vencido") {
				t.Errorf("%s: %.300s", page, rec.Body)
			}
		}
		// A step submitted after the expiry shows the expired page.
		rec := k.do(req("POST", "/khipu/payment/simplified/"+id, "step=bank&bank_id=Bawdf", "Content-Type: application/x-www-form-urlencoded"))
		loc := rec.Header().Get("Location")
		if rec.Code != 303 || !strings.Contains(k.do(req("GET", loc, "")).Body.String(), "Cobro expirado") {
			t.Errorf("POST after expiry: %d → %s", rec.Code, loc)
		}
		// The admin can refuse to pay it, or pay it anyway.
		if _, err := k.svc.Act(t.Context(), id, "pay", []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "expires_date") {
			t.Errorf("pay of an expired payment: %v", err)
		}
		time.Sleep(time.Second)
		k.act(id, "pay", `{"allow_expired":true,"skip_verify":true}`)
		if p := k.payment(id); p["status"] != "done" || p["out_of_date_conciliation"] != true {
			t.Errorf("paid after expiry: %v %v", p["status"], p["out_of_date_conciliation"])
		}
		// The expiry was journaled once.
		n := 0
		for _, e := range k.journalEntries("timer") {
			if strings.Contains(e.Summary, id+" expired") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d expiry entries", n)
		}
	})
}

// K-SM-05: a verifying payment that expires still settles, out of date.
func TestVerifyingPaymentExpiresThenSettles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newKEnv(t)
		p := basicPayment()
		p.Set("expires_date", "2000-01-01T00:00:01Z")
		id := k.createV2(p)
		k.act(id, "pay", `{"method":"manual"}`) // verifying for 10 s
		time.Sleep(11 * time.Second)
		k.advance(0)
		m := k.payment(id)
		if m["status"] != "done" || m["out_of_date_conciliation"] != true || m["payment_method"] != "regular_transfer" {
			t.Errorf("payment = %v %v %v", m["status"], m["out_of_date_conciliation"], m["payment_method"])
		}
		if m["conciliation_date"] != "2000-01-01T00:00:10.000Z" {
			t.Errorf("conciliation_date = %v", m["conciliation_date"])
		}
	})
}

// K-SM-06: scheduled expiry of an untouched payment is a deadline (not scaled).
func TestScheduledExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newKEnv(t, withOptions(func(o *sandboxOptions) { o.TimeScale = 0.001 }))
		id := k.createV2(basicPayment())
		time.Sleep(23 * time.Hour)
		if k.stored(id).ExpiryHandled {
			t.Fatal("expired early (the time scale shortened a deadline)")
		}
		time.Sleep(time.Hour)
		k.advance(0)
		if !k.stored(id).ExpiryHandled {
			t.Fatal("not expired after 24 h")
		}
	})
}
