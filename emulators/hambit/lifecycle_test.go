package hambit

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/sandboxtest"
	"github.com/paysandbox/sandbox/emulators/internal/then"
)

const transferPath = "/hambit/api/v3/chl/createTransferOrder"

// created is what a test needs of a create-collection answer.
type created struct {
	CashierURL string `json:"cashierUrl"`
	CashierID  string `json:"cashierId"`
	Vo         struct {
		OrderID string `json:"orderId"`
	} `json:"currencyOrderVo"`
}

func (e *testEnv) createCollection(t testing.TB, body string, headers ...string) created {
	t.Helper()
	r := wantCode(t, e.api("POST", createPath, body, headers...), 200, "200")
	var c created
	r.into(t, &c)
	return c
}

func (e *testEnv) createTransfer(t testing.TB, body string, headers ...string) string {
	t.Helper()
	r := wantCode(t, e.api("POST", transferPath, body, headers...), 200, "200")
	var d map[string]string
	r.into(t, &d)
	if d["orderStatus"] != "Accepted" || d["currencyType"] != "CLP" || !idRE.MatchString(d["orderId"]) || len(d) != 4 {
		t.Fatalf("create transfer data %s", r.Data)
	}
	return d["orderId"]
}

// query returns the single element of a query, or fails.
func (e *testEnv) query(t testing.TB, kind, body string) map[string]any {
	t.Helper()
	path := "/hambit/api/v3/chl/query/collectingOrder"
	if kind == kindTransfer {
		path = "/hambit/api/v3/chl/query/transferOrder"
	}
	r := wantCode(t, e.api("POST", path, body), 200, "200")
	var list []map[string]any
	r.into(t, &list)
	if len(list) != 1 {
		t.Fatalf("query %s: %d elements: %s", body, len(list), r.Data)
	}
	return list[0]
}

func (e *testEnv) balance(t testing.TB) map[string]any {
	t.Helper()
	r := wantCode(t, e.api("GET", balancePath, ""), 200, "200")
	var list []map[string]any
	r.into(t, &list)
	if len(list) != 1 {
		t.Fatalf("balance: %s", r.Data)
	}
	return list[0]
}

func (e *testEnv) act(t testing.TB, id, action, params string) error {
	t.Helper()
	_, err := e.svc.Act(context.Background(), id, action, json.RawMessage(params))
	return err
}

func decodeBody(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return m
}

func want(t testing.TB, what string, got, want any) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

const robotYAML = `name: robot
rules:
  - provider: hambit
    on: pay
    then: { auto: true }
`

// TestCollectionEndToEnd is the end-to-end test and conformance
// check 13: robot payer → status 2 → signed callback, verified by the test's
// own canonicaliser → query → balance credited orderActualAmount − orderFee.
func TestCollectionEndToEnd(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newTestEnv(t, nil, sandboxtest.Options{Scenarios: []string{robotYAML}})
		c := e.createCollection(t, collectionBody("E2E-1"), "X-Sandbox-Scenario: robot")
		id := c.Vo.OrderID
		before := e.query(t, kindCollection, `{"orderId":"`+id+`"}`)
		want(t, "pending orderStatus", before["orderStatus"], json.Number("1"))
		want(t, "pending orderStatusCode", before["orderStatusCode"], "Accepted")
		for _, k := range []string{"orderActualAmount", "orderEntryAmount", "orderFee", "orderPayTime", "orderCompleteTime", "errorMsg", "errorMsgEn"} {
			if v, ok := before[k]; !ok || v != nil {
				t.Errorf("pending %s = %v, want null", k, v)
			}
		}
		e.Merchant.None(t)

		start := time.Now()
		cb := e.Merchant.Next(t, time.Minute)
		if d := time.Since(start); d != then.DefaultRobotDelay {
			t.Errorf("robot paid after %v, want %v", d, then.DefaultRobotDelay)
		}
		// H-16: exactly the lower-case names on the wire.
		for _, name := range []string{"access_key", "timestamp", "nonce", "sign"} {
			if len(cb.Header[name]) != 1 {
				t.Errorf("callback header %q missing in %v", name, cb.Header)
			}
		}
		for k := range cb.Header {
			if k == "Access_key" || k == "Sign" || k == "Nonce" || k == "Timestamp" {
				t.Errorf("canonicalised header %q on the wire", k)
			}
		}
		if cb.URL != "https://merchant.example/notify" || cb.Method != http.MethodPost || cb.Header.Get("Content-Type") != contentTypeJSON {
			t.Errorf("callback %s %s %q", cb.Method, cb.URL, cb.Header.Get("Content-Type"))
		}
		if !verifyCallback(t, cb.Header, cb.Body, DefaultSecretKey, false) {
			t.Fatalf("independent verifier rejects the callback %s", cb.Body)
		}
		if verifyCallback(t, cb.Header, cb.Body, DefaultSecretKey+"x", false) {
			t.Fatal("the verifier accepts a wrong secret")
		}
		body := decodeBody(t, cb.Body)
		want(t, "callback orderStatus", body["orderStatus"], "Payment success")
		want(t, "callback orderStatusCode", body["orderStatusCode"], json.Number("2"))
		want(t, "callback orderActualAmount", body["orderActualAmount"], "1500")
		want(t, "callback orderAmount", body["orderAmount"], "1500")
		want(t, "callback orderFee", body["orderFee"], "15")
		want(t, "callback orderId", body["orderId"], id)
		want(t, "callback tradeNote", body["tradeNote"], "order E2E-1")
		want(t, "callback errorMsg", body["errorMsg"], "")
		if !strings.HasPrefix(string(cb.Body), `{"currencyType":"CLP","errorMsg":"","errorMsgEn":"","externalOrderId":"E2E-1","markStatus":0,"orderActualAmount":"1500"`) {
			t.Errorf("callback key order: %s", cb.Body)
		}

		after := e.query(t, kindCollection, `{"orderId":"`+id+`","externalOrderId":"E2E-1"}`)
		want(t, "orderStatus", after["orderStatus"], json.Number("2"))
		want(t, "orderStatusCode", after["orderStatusCode"], "Payment success")
		want(t, "orderActualAmount", after["orderActualAmount"], "1500")
		want(t, "orderEntryAmount", after["orderEntryAmount"], "1485")
		want(t, "orderFee", after["orderFee"], "15")
		want(t, "cashierId", after["cashierId"], c.CashierID)
		// H-12: the swap — query int/text against callback text/int.
		if after["orderStatus"] != body["orderStatusCode"] || after["orderStatusCode"] != body["orderStatus"] {
			t.Errorf("field swap: query %v/%v callback %v/%v", after["orderStatus"], after["orderStatusCode"], body["orderStatus"], body["orderStatusCode"])
		}
		want(t, "orderPayTime = callback orderPayTime", after["orderPayTime"], body["orderPayTime"])
		want(t, "balance", e.balance(t)["accountBalance"], "1001485")

		// Acknowledged, so no retry; the journal has the attempt.
		time.Sleep(time.Hour)
		e.Merchant.None(t)
		es := e.Journal.List(journal.Filter{Kinds: []journal.Kind{journal.KindCallback}, Object: id})
		if len(es) != 1 || es[0].Callback.Outcome != "acknowledged" || es[0].Callback.StringToSign == "" {
			t.Errorf("journal: %+v", es)
		}
	})
}

// TestCollectionOtherPaths is the rest of conformance check 13.
func TestCollectionOtherPaths(t *testing.T) {
	t.Run("H-13 pay another amount", func(t *testing.T) {
		bubble(t, func(t *testing.T) {
			e := newTestEnv(t, nil, sandboxtest.Options{})
			c := e.createCollection(t, collectionBody("AMT-1"))
			if err := e.act(t, c.Vo.OrderID, "pay", `{"amount":"1200"}`); err != nil {
				t.Fatal(err)
			}
			cb := e.Merchant.Next(t, time.Minute)
			body := decodeBody(t, cb.Body)
			want(t, "orderActualAmount", body["orderActualAmount"], "1200")
			want(t, "orderAmount", body["orderAmount"], "1500")
			want(t, "orderFee", body["orderFee"], "12")
			q := e.query(t, kindCollection, `{"externalOrderId":"AMT-1"}`)
			want(t, "query orderEntryAmount", q["orderEntryAmount"], "1188")
			want(t, "balance", e.balance(t)["accountBalance"], "1001188")
		})
	})
	t.Run("H-13 fail", func(t *testing.T) {
		bubble(t, func(t *testing.T) {
			e := newTestEnv(t, nil, sandboxtest.Options{})
			c := e.createCollection(t, collectionBody("FAIL-1"))
			if err := e.act(t, c.CashierID, "fail", `{}`); err != nil {
				t.Fatal(err)
			}
			cb := e.Merchant.Next(t, time.Minute)
			if !verifyCallback(t, cb.Header, cb.Body, DefaultSecretKey, false) {
				t.Error("failed-collection callback does not verify")
			}
			body := decodeBody(t, cb.Body)
			want(t, "orderStatus", body["orderStatus"], "Failed")
			want(t, "orderStatusCode", body["orderStatusCode"], json.Number("16"))
			want(t, "orderActualAmount", body["orderActualAmount"], "0")
			want(t, "orderFee", body["orderFee"], "0")
			want(t, "errorMsg", body["errorMsg"], `{"errorMsg":"payment failed."}`)
			if v, ok := body["orderPayTime"]; !ok || v != nil {
				t.Errorf("orderPayTime = %v, want null", v)
			}
			q := e.query(t, kindCollection, `{"orderId":"`+c.Vo.OrderID+`"}`)
			want(t, "query orderStatus", q["orderStatus"], json.Number("16"))
			want(t, "query errorMsgEn", q["errorMsgEn"], `{"errorMsg":"payment failed."}`)
			if q["orderActualAmount"] != nil || q["orderCompleteTime"] == nil {
				t.Errorf("failed query %v", q)
			}
			want(t, "balance", e.balance(t)["accountBalance"], "1000000")
			if err := e.act(t, c.Vo.OrderID, "pay", `{}`); err == nil || !strings.Contains(err.Error(), "status 16 Failed") {
				t.Errorf("pay after fail: %v", err)
			}
		})
	})
	t.Run("H-13 expire", func(t *testing.T) {
		bubble(t, func(t *testing.T) {
			e := newTestEnv(t, nil, sandboxtest.Options{})
			c := e.createCollection(t, collectionBody("EXP-1"))
			if err := e.Clock.Advance(cashierLifetime); err != nil {
				t.Fatal(err)
			}
			rec := e.do("POST", "/hambit/cashier/"+c.CashierID, "action=pay", "Content-Type: application/x-www-form-urlencoded")
			if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "expired") {
				t.Errorf("page after expiry = %d %s", rec.Code, rec.Body.String())
			}
			q := e.query(t, kindCollection, `{"orderId":"`+c.Vo.OrderID+`"}`)
			want(t, "status after expiry", q["orderStatus"], json.Number("1"))
			time.Sleep(time.Hour)
			e.Merchant.None(t)
			if err := e.act(t, c.Vo.OrderID, "expire", `{}`); err == nil {
				t.Error("expire of an expired cashier is allowed")
			}
			// A late bank transfer: the admin may still pay.
			if err := e.act(t, c.Vo.OrderID, "pay", `{}`); err != nil {
				t.Errorf("admin pay after expiry: %v", err)
			}
			e.Merchant.Next(t, time.Minute)
		})
	})
}

// TestPayoutLifecycle is conformance check 14 and the payout tests.
func TestPayoutLifecycle(t *testing.T) {
	t.Run("H-14 success", func(t *testing.T) {
		bubble(t, func(t *testing.T) {
			e := newTestEnv(t, nil, sandboxtest.Options{})
			start := time.Now()
			id := e.createTransfer(t, transferBody("PO-1"))
			b := e.balance(t)
			want(t, "available while in flight", b["accountBalance"], "998990")
			want(t, "frozen while in flight", b["accountFreezeAmount"], "1010")
			q := e.query(t, kindTransfer, `{"orderId":"`+id+`"}`)
			want(t, "orderStatus", q["orderStatus"], json.Number("1"))
			want(t, "orderStatusCode", q["orderStatusCode"], "Accepted")
			want(t, "orderActualAmount", q["orderActualAmount"], "1010")
			want(t, "orderFee", q["orderFee"], "10")
			want(t, "channelOrderId", q["channelOrderId"], "")
			want(t, "accountType", q["accountType"], "RUT")
			want(t, "accountName", q["accountName"], "Banco de Chile")

			time.Sleep(1500 * time.Millisecond)
			q = e.query(t, kindTransfer, `{"externalOrderId":"PO-1"}`)
			want(t, "status after 1 s", q["orderStatus"], json.Number("2"))
			want(t, "text after 1 s", q["orderStatusCode"], "In bank processing")
			if ch, _ := q["channelOrderId"].(string); len(ch) != 23 || ch[0] != '0' {
				t.Errorf("channelOrderId %q", ch)
			}
			e.Merchant.None(t) // no callback on 2 by default

			cb := e.Merchant.Next(t, time.Minute)
			if d := time.Since(start); d != 3*time.Second {
				t.Errorf("final callback after %v, want 3s", d)
			}
			if !verifyCallback(t, cb.Header, cb.Body, DefaultSecretKey, false) {
				t.Error("transfer callback does not verify")
			}
			body := decodeBody(t, cb.Body)
			want(t, "callback orderStatus", body["orderStatus"], "Success")
			want(t, "callback orderStatusCode", body["orderStatusCode"], json.Number("8"))
			want(t, "callback accountCode", body["accountCode"], "0001")
			want(t, "callback accountType", body["accountType"], "3")
			want(t, "callback orderFee", body["orderFee"], "10")
			if _, ok := body["errorMsg"]; ok {
				t.Error("errorMsg on a success callback")
			}
			if !strings.HasPrefix(string(cb.Body), `{"currencyType":"CLP","accountCode":"0001","accountName":"Banco de Chile","orderId":"`) ||
				!strings.HasSuffix(string(cb.Body), `"orderStatusCode":8,"markStatus":0}`) {
				t.Errorf("transfer callback key order: %s", cb.Body)
			}
			b = e.balance(t)
			want(t, "available after success", b["accountBalance"], "998990")
			want(t, "frozen after success", b["accountFreezeAmount"], "0")
			q = e.query(t, kindTransfer, `{"orderId":"`+id+`"}`)
			want(t, "final status", q["orderStatus"], json.Number("8"))
			if q["orderPayTime"] == nil || q["errorMsg"] != nil {
				t.Errorf("success query %v", q)
			}
		})
	})
	t.Run("H-14 insufficient balance", func(t *testing.T) {
		bubble(t, func(t *testing.T) {
			e := newTestEnv(t, nil, sandboxtest.Options{})
			if err := e.act(t, DefaultAccessKey, "set_balance", `{"currency":"CLP","available":"500"}`); err != nil {
				t.Fatal(err)
			}
			id := e.createTransfer(t, transferBody("PO-POOR"))
			want(t, "available unchanged", e.balance(t)["accountBalance"], "500")
			want(t, "status at creation", e.query(t, kindTransfer, `{"orderId":"`+id+`"}`)["orderStatus"], json.Number("1"))
			cb := e.Merchant.Next(t, time.Minute)
			body := decodeBody(t, cb.Body)
			const msg = `{"errorMsg":"merchant account balance is insufficient."}`
			want(t, "callback orderStatusCode", body["orderStatusCode"], json.Number("4"))
			want(t, "callback orderStatus", body["orderStatus"], "Bank rejection")
			want(t, "callback errorMsg", body["errorMsg"], msg)
			if !strings.Contains(string(cb.Body), `"markStatus":0,"errorMsg":"{\"errorMsg\":\"merchant account balance is insufficient.\"}","errorMsgEn":`) {
				t.Errorf("errorMsg placement or escaping: %s", cb.Body)
			}
			q := e.query(t, kindTransfer, `{"orderId":"`+id+`"}`)
			want(t, "orderStatus", q["orderStatus"], json.Number("4"))
			want(t, "orderStatusCode", q["orderStatusCode"], "Bank rejection")
			want(t, "errorMsg", q["errorMsg"], msg)
			want(t, "errorMsgEn", q["errorMsgEn"], msg)
			want(t, "orderActualAmount", q["orderActualAmount"], "1010")
			want(t, "channelOrderId", q["channelOrderId"], "")
			if q["orderPayTime"] != nil {
				t.Error("orderPayTime on a rejection")
			}
			b := e.balance(t)
			want(t, "available", b["accountBalance"], "500")
			want(t, "frozen", b["accountFreezeAmount"], "0")
		})
	})
	t.Run("H-14 decide and advance", func(t *testing.T) {
		bubble(t, func(t *testing.T) {
			e := newTestEnv(t, nil, sandboxtest.Options{})
			id := e.createTransfer(t, transferBody("PO-ADM"))
			if err := e.act(t, id, "advance", `{}`); err != nil {
				t.Fatal(err)
			}
			want(t, "after advance", e.query(t, kindTransfer, `{"orderId":"`+id+`"}`)["orderStatus"], json.Number("2"))
			if err := e.act(t, id, "decide", `{"outcome":"bank_rejection","error_msg":"account closed"}`); err != nil {
				t.Fatal(err)
			}
			cb := e.Merchant.Next(t, time.Second)
			body := decodeBody(t, cb.Body)
			want(t, "decided status", body["orderStatusCode"], json.Number("4"))
			want(t, "decided errorMsg", body["errorMsg"], `{"errorMsg":"account closed"}`)
			b := e.balance(t)
			want(t, "refunded", b["accountBalance"], "1000000")
			want(t, "unfrozen", b["accountFreezeAmount"], "0")
			time.Sleep(time.Minute) // the pending final timer finds a final order
			e.Merchant.None(t)
			if err := e.act(t, id, "decide", `{"outcome":"success"}`); err == nil || !strings.Contains(err.Error(), "status 4 Bank rejection") {
				t.Errorf("decide on a final transfer: %v", err)
			}
			id2 := e.createTransfer(t, transferBody("PO-ADM2"))
			if err := e.act(t, id2, "decide", `{"outcome":"failed"}`); err != nil {
				t.Fatal(err)
			}
			body = decodeBody(t, e.Merchant.Next(t, time.Second).Body)
			want(t, "failed status", body["orderStatusCode"], json.Number("16"))
			want(t, "failed text", body["orderStatus"], "Failed")
			want(t, "failed errorMsg", body["errorMsg"], `{"errorMsg":"bank transfer failed."}`)
			if err := e.act(t, id2, "decide", `{"outcome":"maybe"}`); err == nil {
				t.Error("unknown outcome accepted")
			}
		})
	})
}

// TestQueries is conformance check 12 (H-12).
func TestQueries(t *testing.T) {
	e := newTestEnv(t, nil, sandboxtest.Options{})
	c := e.createCollection(t, collectionBody("Q-1"))
	const path = "/hambit/api/v3/chl/query/collectingOrder"
	empty := func(body string) {
		t.Helper()
		r := wantCode(t, e.api("POST", path, body), 200, "200")
		if string(r.Data) != "[]" {
			t.Errorf("query %s = %s, want []", body, r.Data)
		}
	}
	empty(`{"orderId":"OCURRPAID000"}`)
	empty(`{"externalOrderId":"nope"}`)
	empty(`{"externalOrderId":"Q-1","orderId":"OCURRPAID000"}`) // both must match
	empty(`{"externalOrderId":"Q-2","orderId":"` + c.Vo.OrderID + `"}`)
	e.query(t, kindCollection, `{"externalOrderId":"Q-1","orderId":"`+c.Vo.OrderID+`"}`)
	e.query(t, kindCollection, `{"externalOrderId":"Q-1","orderId":""}`)
	// A collection is not a transfer, and another currency's segment does not see it.
	r := wantCode(t, e.api("POST", "/hambit/api/v3/chl/query/transferOrder", `{"orderId":"`+c.Vo.OrderID+`"}`), 200, "200")
	want(t, "transfer query of a collection", string(r.Data), "[]")
	r = wantCode(t, e.api("POST", "/hambit/api/v3/mex/query/collectingOrder", `{"orderId":"`+c.Vo.OrderID+`"}`), 200, "200")
	want(t, "mex query of a CLP order", string(r.Data), "[]")
	// Another merchant does not see it.
	r = wantCode(t, e.signed("POST", path, SampleAccessKey, SampleSecretKey, `{"orderId":"`+c.Vo.OrderID+`"}`), 200, "200")
	want(t, "other merchant", string(r.Data), "[]")
	for _, body := range []string{`{}`, `{"orderId":""}`, `{"externalOrderId":null}`, `{"orderId":5}`,
		`{"externalOrderId":"` + strings.Repeat("x", 65) + `"}`} {
		wantCode(t, e.api("POST", path, body), 200, "300")
	}
	// Golden element (times vary: compare the key order only).
	q := wantCode(t, e.api("POST", path, `{"orderId":"`+c.Vo.OrderID+`"}`), 200, "200")
	keys := []string{"orderId", "cashierId", "orderType", "orderResourceType", "userId", "orderStatus", "orderTime", "channelOrderId",
		"externalOrderId", "orderAmount", "orderActualAmount", "orderEntryAmount", "orderFee", "orderPayTime", "orderCompleteTime",
		"currencyType", "payType", "tradeNote", "notifyUrl", "markStatus", "errorMsg", "errorMsgEn", "accountType", "accountName",
		"accountNo", "orderTypeCode", "orderResourceTypeCode", "orderStatusCode", "payTypeCode"}
	last := -1
	for _, k := range keys {
		i := strings.Index(string(q.Data)[last+1:], `"`+k+`":`)
		if i < 0 {
			t.Fatalf("key %s missing or out of order: %s", k, q.Data)
		}
		last += 1 + i
	}
	el := e.query(t, kindCollection, `{"orderId":"`+c.Vo.OrderID+`"}`)
	want(t, "userId", el["userId"], "1000000000000000001")
	want(t, "orderType", el["orderType"], json.Number("1"))
	want(t, "orderTypeCode", el["orderTypeCode"], "Pay")
	want(t, "notifyUrl", el["notifyUrl"], "https://merchant.example/notify")
	want(t, "payTypeCode", el["payTypeCode"], "BANK")
	if ot, _ := el["orderTime"].(json.Number); !strings.HasSuffix(string(ot), "000") {
		t.Errorf("query orderTime %v is not truncated to seconds", ot)
	}
}

// TestBanks is conformance check 17 (H-17).
func TestBanks(t *testing.T) {
	e := newTestEnv(t, nil, sandboxtest.Options{})
	const path = "/hambit/api/v3/chl/query/bank"
	var all []bankView
	wantCode(t, e.api("POST", path, `{"bankName":""}`), 200, "200").into(t, &all)
	if len(all) != 44 || all[0] != (bankView{"Banco de Chile", "0001", "CLP"}) || all[43].BankCode != "0044" ||
		all[43].BankName != "Banco Estado (Banco del Estado de Chile)" {
		t.Errorf("%d banks: first %v last %v", len(all), all[0], all[len(all)-1])
	}
	var missing []bankView
	wantCode(t, e.api("POST", path, `{}`), 200, "200").into(t, &missing)
	want(t, "missing key = all", len(missing), 44)
	r := wantCode(t, e.api("POST", path, `{"bankName":"Banco de Chile"}`), 200, "200")
	want(t, "Banco de Chile", string(r.Data), `[{"bankName":"Banco de Chile","bankCode":"0001","currencyType":"CLP"}]`)
	want(t, "unknown", string(wantCode(t, e.api("POST", path, `{"bankName":"Nope"}`), 200, "200").Data), "[]")
	want(t, "case-sensitive", string(wantCode(t, e.api("POST", path, `{"bankName":"banco de chile"}`), 200, "200").Data), "[]")
	want(t, "mex has none", string(wantCode(t, e.api("POST", "/hambit/api/v3/mex/query/bank", `{"bankName":""}`), 200, "200").Data), "[]")
	wantCode(t, e.api("POST", path, `{"bankName":1}`), 200, "300")
}

// TestBalance is conformance check 18 (H-18).
func TestBalance(t *testing.T) {
	e := newTestEnv(t, nil, sandboxtest.Options{})
	b := e.balance(t)
	want(t, "accountStatusId", b["accountStatusId"], json.Number("4"))
	want(t, "accountStatus", b["accountStatus"], "InAndOut")
	want(t, "currencyType", b["currencyType"], "CLP")
	if err := e.act(t, DefaultAccessKey, "set_balance", `{"currency":"CLP","available":"2500","frozen":7,"wait_settled":"3"}`); err != nil {
		t.Fatal(err)
	}
	b = e.balance(t)
	want(t, "set available", b["accountBalance"], "2500")
	want(t, "set frozen", b["accountFreezeAmount"], "7")
	want(t, "set wait", b["accountWaitSettledAmount"], "3")
	r := wantCode(t, e.api("GET", "/hambit/api/v3/mex/query/balance", ""), 200, "200")
	if !strings.Contains(string(r.Data), `"accountBalance":"1000000"`) || !strings.Contains(string(r.Data), `"currencyType":"MXN"`) {
		t.Errorf("mex balance %s", r.Data)
	}
	for _, p := range []string{`{"currency":"CLP"}`, `{"currency":"clp","available":1}`, `{"currency":"CLP","available":-1}`, `{"currency":"CLP","available":1,"x":1}`} {
		if err := e.act(t, DefaultAccessKey, "set_balance", p); err == nil {
			t.Errorf("set_balance %s accepted", p)
		}
	}
	cfg := DefaultConfig()
	cfg.Accounts = []Account{{AccessKey: "NEWKEY01", SecretKey: "s"}}
	e2 := newTestEnv(t, &cfg, sandboxtest.Options{})
	r = wantCode(t, e2.signed("GET", balancePath, "NEWKEY01", "s", ""), 200, "200")
	if !strings.Contains(string(r.Data), `"accountBalance":"0"`) {
		t.Errorf("a currency never held reads 0: %s", r.Data)
	}
}
