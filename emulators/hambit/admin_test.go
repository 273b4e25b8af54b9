package hambit

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/admin"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/sandboxtest"
)

func actionNames(o admin.Object) string {
	var n []string
	for _, a := range o.Actions {
		n = append(n, a.Name)
	}
	return strings.Join(n, ",")
}

// TestAdmin covers spec §12: objects, actions allowed per state, refusals.
func TestAdmin(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newTestEnv(t, nil, sandboxtest.Options{})
		c := e.createCollection(t, collectionBody("ADM-1"))
		tr := e.createTransfer(t, transferBody("ADM-T"))

		items, total := e.svc.Objects(admin.Query{})
		if total != 4 || len(items) != 4 || items[0].ID != tr || items[1].ID != c.Vo.OrderID || items[2].Kind != "account" {
			t.Fatalf("objects %d: %+v", total, items)
		}
		if items, total = e.svc.Objects(admin.Query{Kind: "collection"}); total != 1 || items[0].Reference != "ADM-1" || items[0].Amount != "1500" {
			t.Errorf("collections: %+v", items)
		}
		if _, total = e.svc.Objects(admin.Query{Status: "1"}); total != 2 {
			t.Errorf("status 1: %d", total)
		}
		if _, total = e.svc.Objects(admin.Query{Search: "ADM-T"}); total != 1 {
			t.Errorf("search: %d", total)
		}
		if items, total = e.svc.Objects(admin.Query{Offset: 3, Limit: 5}); total != 4 || len(items) != 1 || items[0].ID != SampleAccessKey {
			t.Errorf("page: %d %+v", total, items)
		}

		obj, err := e.svc.Object(c.CashierID)
		if err != nil || obj.ID != c.Vo.OrderID || actionNames(obj) != "pay,fail,expire,resend_callback" {
			t.Fatalf("object by cashierId: %v %+v", err, obj)
		}
		if len(obj.Links) != 1 || obj.Links[0].URL != c.CashierURL || len(obj.History) != 1 || obj.Data == nil {
			t.Errorf("links %v history %v", obj.Links, obj.History)
		}
		if _, err := e.svc.Object("nope"); emulators.KindOf(err) != emulators.NotFound {
			t.Errorf("unknown object: %v", err)
		}
		acct, err := e.svc.Object(DefaultAccessKey)
		if err != nil || acct.Kind != "account" || actionNames(acct) != "set_balance" {
			t.Errorf("account object %+v %v", acct, err)
		}

		// Refusals and bad parameters.
		cases := []struct {
			id, action, params string
			kind               emulators.Kind
		}{
			{"nope", "pay", `{}`, emulators.NotFound},
			{c.Vo.OrderID, "advance", `{}`, emulators.Invalid},
			{c.Vo.OrderID, "pay", `{"amount":"12.5"}`, emulators.Invalid},
			{c.Vo.OrderID, "pay", `{"amount":"0"}`, emulators.Invalid},
			{c.Vo.OrderID, "pay", `{"amuont":"10"}`, emulators.Invalid},
			{tr, "pay", `{}`, emulators.Invalid},
			{tr, "decide", `{"outcome":"later"}`, emulators.Invalid},
			{DefaultAccessKey, "pay", `{}`, emulators.Invalid},
		}
		for _, cs := range cases {
			if _, err := e.svc.Act(context.Background(), cs.id, cs.action, json.RawMessage(cs.params)); emulators.KindOf(err) != cs.kind {
				t.Errorf("%s %s %s: %v, want %v", cs.id, cs.action, cs.params, err, cs.kind)
			}
		}
		got, err := e.svc.Act(context.Background(), c.Vo.OrderID, "expire", nil)
		if err != nil || actionNames(got) != "pay,fail,resend_callback" {
			t.Errorf("after expire: %v %s", err, actionNames(got))
		}
		got, err = e.svc.Act(context.Background(), c.Vo.OrderID, "pay", json.RawMessage(`{"amount":1600}`))
		if err != nil || got.Status != "Payment success" || actionNames(got) != "resend_callback" || len(got.History) != 3 {
			t.Fatalf("pay: %v %+v", err, got)
		}
		_, err = e.svc.Act(context.Background(), c.Vo.OrderID, "fail", nil)
		if emulators.KindOf(err) != emulators.Conflict || !strings.Contains(err.Error(), "status 2 Payment success") {
			t.Errorf("fail after pay: %v", err)
		}
		tx := e.journal(journal.KindTransition, c.Vo.OrderID)
		if len(tx) != 2 || tx[0].Transition.Cause != "request" || tx[1].Transition.Cause != "admin" {
			t.Errorf("transitions %+v", tx)
		}
	})
}

func (e *testEnv) journal(kind journal.Kind, id string) []journal.Entry {
	es := e.Journal.List(journal.Filter{Kinds: []journal.Kind{kind}, Object: id})
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
	return es
}

func TestResetAndDescribe(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newTestEnv(t, nil, sandboxtest.Options{})
		c := e.createCollection(t, collectionBody("RST-1"))
		e.act(t, DefaultAccessKey, "set_balance", `{"currency":"CLP","available":"5"}`)
		e.svc.Reset()
		if _, err := e.svc.Object(c.Vo.OrderID); err == nil {
			t.Error("order survived the reset")
		}
		want(t, "balance after reset", e.balance(t)["accountBalance"], "1000000")
		// The externalOrderId is free again; ids keep counting.
		c2 := e.createCollection(t, collectionBody("RST-1"))
		if c2.CashierID == c.CashierID {
			t.Error("ids repeat after a reset")
		}
		time.Sleep(time.Hour) // the expiry timer of the wiped order does not fire
		d := e.svc.Describe("http://127.0.0.1:8080")
		if d.BaseURLs[0].URL != "http://127.0.0.1:8080/hambit" || len(d.Credentials) != 2 ||
			d.Credentials[1].Fields[0].Value != SampleAccessKey || d.Credentials[1].Fields[1].Value != SampleSecretKey {
			t.Errorf("describe %+v", d)
		}
	})
}

// TestCashierPageHTTP covers the cashier without a browser (spec §8).
func TestCashierPageHTTP(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newTestEnv(t, nil, sandboxtest.Options{})
		c := e.createCollection(t, collectionBody("PG-1", "remark", `"<b>bold</b>"`))
		u, _ := url.Parse(c.CashierURL)
		rec := e.do("GET", u.RequestURI(), "")
		page := rec.Body.String()
		if rec.Code != 200 || !strings.Contains(page, "paysandbox_fake_merchant") || !strings.Contains(page, `id="amount">1500<`) ||
			!strings.Contains(page, "PG-1") || !strings.Contains(page, `data-expire="`) || !strings.Contains(page, "BANK (102)") ||
			!strings.Contains(page, "currencyOrderVo.orderId") {
			t.Errorf("cashier page %d:\n%s", rec.Code, page)
		}
		if len(page) > 100<<10 || strings.Contains(page, "http://") && strings.Contains(page, "<script src=\"http") {
			t.Error("page too large or loads remote scripts")
		}
		if rec := e.do("GET", "/hambit/cashier/OCURRPAIDNOPE", ""); rec.Code != 404 || !strings.Contains(rec.Body.String(), "Cashier not found") {
			t.Errorf("unknown cashier = %d", rec.Code)
		}
		for _, f := range []string{"hambit.css", "cashier.js"} {
			if rec := e.do("GET", "/hambit/static/"+f, ""); rec.Code != 200 || rec.Body.Len() == 0 {
				t.Errorf("static %s = %d", f, rec.Code)
			}
		}
		form := "Content-Type: application/x-www-form-urlencoded"
		if rec := e.do("POST", "/hambit/cashier/"+c.CashierID, "action=pay_amount&amount=12.5", form); rec.Code != 400 ||
			!strings.Contains(rec.Body.String(), "Amount CLP has no decimals") {
			t.Errorf("bad amount = %d %s", rec.Code, rec.Body.String())
		}
		if rec := e.do("POST", "/hambit/cashier/"+c.CashierID, "action=dance", form); rec.Code != 400 {
			t.Errorf("unknown action = %d", rec.Code)
		}
		rec = e.do("POST", "/hambit/cashier/"+c.CashierID, "action=pay_amount&amount=1400", form)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "https://merchant.example/return" {
			t.Errorf("pay = %d Location %q", rec.Code, rec.Header().Get("Location"))
		}
		body := decodeBody(t, e.Merchant.Next(t, time.Second).Body)
		want(t, "paid on the page", body["orderActualAmount"], "1400")
		want(t, "remark as tradeNote", body["tradeNote"], "<b>bold</b>")
		if rec := e.do("POST", "/hambit/cashier/"+c.CashierID, "action=pay", form); rec.Code != 409 || !strings.Contains(rec.Body.String(), "already been paid") {
			t.Errorf("second pay = %d", rec.Code)
		}
		rec = e.do("GET", "/hambit/cashier/"+c.CashierID, "")
		if !strings.Contains(rec.Body.String(), "This order has been paid.") || strings.Contains(rec.Body.String(), `id="pay"`) {
			t.Error("a paid cashier still offers payment")
		}
		// No returnUrl: a result page.
		c2 := e.createCollection(t, collectionBody("PG-2", "returnUrl", "-"))
		rec = e.do("POST", "/hambit/cashier/"+c2.CashierID, "action=pay", form)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "Payment successful") {
			t.Errorf("pay without returnUrl = %d", rec.Code)
		}
		if rec := e.do("DELETE", "/hambit/cashier/"+c2.CashierID, ""); rec.Code != 405 {
			t.Errorf("DELETE cashier = %d", rec.Code)
		}
		pages := e.journal(journal.KindPage, c2.Vo.OrderID)
		if len(pages) == 0 || !strings.Contains(pages[0].Summary, "pay") {
			t.Errorf("page journal %+v", pages)
		}
	})
}

func TestDecodeCashierParam(t *testing.T) {
	raw := `{"a":1,"b":"x y+z"}`
	b64 := "eyJhIjoxLCJiIjoieCB5K3oifQ=="
	enc2025 := "JTdCJTIyYSUyMiUzQTElMkMlMjJiJTIyJTNBJTIyeCUyMHklMkJ6JTIyJTdE"
	for _, in := range []string{b64, strings.ReplaceAll(b64, "+", " "), enc2025[:20] + "\n" + enc2025[20:], strings.TrimRight(b64, "=")} {
		v, err := decodeCashierParam(in)
		got, _ := json.Marshal(v)
		if err != nil || !bytes.Equal(got, []byte(raw)) {
			t.Errorf("decode %q = %s, %v", in, got, err)
		}
	}
	for _, bad := range []string{"%%%", "bm90IGpzb24="} {
		if _, err := decodeCashierParam(bad); err == nil {
			t.Errorf("decode %q accepted", bad)
		}
	}
}
