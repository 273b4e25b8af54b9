//lint:file-ignore SA1008 Hambit sends and checks its headers lower-case on the wire (access_key, nonce, …), so the tests index http.Header by the exact wire spelling

package sandbox_test

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paysandbox/sandbox/emulators/hambit"
	"github.com/paysandbox/sandbox/emulators/khipu"
	"github.com/paysandbox/sandbox/emulators/sandbox"
)

// orderState reads the shop's order status endpoint.
func orderState(t *testing.T, base, id string) string {
	t.Helper()
	var st struct{ State string }
	if code := apiJSON(t, "GET", base+"/_sandbox/demo/orders/"+id+"/status", "", &st); code != 200 {
		t.Fatalf("order %s status: %d", id, code)
	}
	return st.State
}

// post sends a callback to the shop as a provider would.
func post(t *testing.T, target, contentType, body string, headers map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", target, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	for k, v := range headers {
		req.Header[k] = []string{v}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// newOrder buys through the shop from Go and returns the order id and the
// provider object it follows.
func newOrder(t *testing.T, base, method string) (order, object string) {
	t.Helper()
	checkout(t, base, url.Values{"product": {"coffee"}, "method": {method}})
	var page struct {
		Objects []struct{ Provider, Kind, ID, Reference string }
	}
	apiJSON(t, "GET", base+"/_sandbox/api/objects?q=DEMO-", "", &page)
	for _, o := range page.Objects {
		if o.Kind != "account" && o.Kind != "order" {
			return o.Reference, o.ID
		}
	}
	t.Fatalf("no object for the %s order: %+v", method, page.Objects)
	return "", ""
}

// The shop's callback endpoints check what they receive as a correct
// integration does: forged or altered callbacks are refused (the provider
// sees a 400 and retries) and leave the order unpaid.
func TestDemoShopRefusesForgedCallbacks(t *testing.T) {
	sb := dashSandbox(t, nil, sandbox.Options{})
	base := serve(t, sb).URL

	t.Run("khipu", func(t *testing.T) {
		order, payment := newOrder(t, base, "khipu")
		body := `{"payment_id":"` + payment + `","receiver_id":123456,"subject":"x","amount":"4990.00","currency":"CLP","transaction_id":"` + order + `"}`
		hook := base + "/_sandbox/demo/callbacks/khipu"
		wrong := khipu.NotificationSignature("not-the-secret", time.Now(), []byte(body))
		if code, msg := post(t, hook, "application/json", body, map[string]string{"x-khipu-signature": wrong}); code != 400 || !strings.Contains(msg, "invalid x-khipu-signature") {
			t.Errorf("wrong 3.0 signature: %d %s", code, msg)
		}
		if code, _ := post(t, hook, "application/x-www-form-urlencoded", "api_version=1.3&notification_token="+strings.Repeat("ab", 32), nil); code != 400 {
			t.Errorf("unknown 1.3 token: %d", code)
		}
		// The 1.3 token of the real payment, but the payment is not done: no.
		var obj struct {
			Data struct {
				NotificationToken string `json:"notification_token"`
			}
		}
		apiJSON(t, "GET", base+"/_sandbox/api/objects/khipu/"+payment, "", &obj)
		if code, msg := post(t, hook, "application/x-www-form-urlencoded", "api_version=1.3&notification_token="+obj.Data.NotificationToken, nil); code != 200 || msg != "noted" {
			t.Errorf("1.3 notification of a pending payment: %d %s", code, msg)
		}
		altered := strings.Replace(body, "4990.00", "1.00", 1)
		good := khipu.NotificationSignature(khipu.DefaultSecret, time.Now(), []byte(altered))
		if code, msg := post(t, hook, "application/json", altered, map[string]string{"x-khipu-signature": good}); code != 400 || !strings.Contains(msg, "amount") {
			t.Errorf("signed notification with another amount: %d %s", code, msg)
		}
		if st := orderState(t, base, order); st == "paid" {
			t.Fatalf("order %s paid by forged notifications", order)
		}
		good = khipu.NotificationSignature(khipu.DefaultSecret, time.Now(), []byte(body))
		if code, msg := post(t, hook, "application/json", body, map[string]string{"x-khipu-signature": good}); code != 200 {
			t.Errorf("a correctly signed 3.0 notification: %d %s", code, msg)
		}
		if st := orderState(t, base, order); st != "paid" {
			t.Errorf("after a verified notification the order is %q", st)
		}
	})

	t.Run("hambit", func(t *testing.T) {
		order, orderID := newOrder(t, base, "hambit")
		body := []byte(`{"currencyType":"CLP","errorMsg":"","errorMsgEn":"","externalOrderId":"` + order + `","markStatus":0,"orderActualAmount":"4990","orderAmount":"4990","orderFee":"50","orderId":"` + orderID + `","orderPayTime":1713319900000,"orderStatus":"Payment success","orderStatusCode":2,"orderTime":1713319809000,"payType":102,"payTypeName":"BANK","tradeNote":""}`)
		hook := base + "/_sandbox/demo/callbacks/hambit"
		h, _ := hambit.NewHeaders(hambit.DefaultAccessKey, "wrong-secret", body, time.Now(), "")
		hs := map[string]string{"access_key": h["access_key"][0], "timestamp": h["timestamp"][0], "nonce": h["nonce"][0], "sign": h["sign"][0]}
		if code, msg := post(t, hook, "application/json", string(body), hs); code != 400 || !strings.Contains(msg, "invalid sign") {
			t.Errorf("wrong sign: %d %s", code, msg)
		}
		h, _ = hambit.NewHeaders(hambit.DefaultAccessKey, hambit.DefaultSecretKey, body, time.Now(), "")
		hs = map[string]string{"access_key": h["access_key"][0], "timestamp": h["timestamp"][0], "nonce": h["nonce"][0], "sign": h["sign"][0]}
		if code, _ := post(t, hook, "application/json", strings.Replace(string(body), `"orderActualAmount":"4990"`, `"orderActualAmount":"4991"`, 1), hs); code != 400 {
			t.Errorf("altered body: %d", code)
		}
		if st := orderState(t, base, order); st == "paid" {
			t.Fatalf("order %s paid by forged callbacks", order)
		}
		if code, msg := post(t, hook, "application/json", string(body), hs); code != 200 || msg != `{"code":200,"success":true}` {
			t.Errorf("a correctly signed callback: %d %s", code, msg)
		}
		if st := orderState(t, base, order); st != "paid" {
			t.Errorf("after a verified callback the order is %q", st)
		}
	})

	t.Run("payu", func(t *testing.T) {
		order, tx := newOrder(t, base, "payu-webpay")
		hook := base + "/_sandbox/demo/callbacks/payu"
		sign := func(value, state string) string {
			sum := md5.Sum([]byte("4Vj8eK4rloUd272L48hsrarnUA~508029~" + order + "~" + value + "~CLP~" + state))
			return hex.EncodeToString(sum[:])
		}
		form := func(value, state, sig string) string {
			return url.Values{"merchant_id": {"508029"}, "state_pol": {state}, "reference_sale": {order}, "value": {value}, "currency": {"CLP"},
				"sign": {sig}, "transaction_id": {tx}, "response_message_pol": {"APPROVED"}}.Encode()
		}
		if code, msg := post(t, hook, "application/x-www-form-urlencoded", form("4990.00", "4", sign("4990.0", "6")), nil); code != 400 || !strings.Contains(msg, "does not verify") {
			t.Errorf("sign of another state: %d %s", code, msg)
		}
		if code, msg := post(t, hook, "application/x-www-form-urlencoded", form("1.00", "4", sign("1.0", "4")), nil); code != 400 || !strings.Contains(msg, "differs") {
			t.Errorf("signed confirmation of another amount: %d %s", code, msg)
		}
		if st := orderState(t, base, order); st == "paid" {
			t.Fatalf("order %s paid by forged confirmations", order)
		}
		if code, msg := post(t, hook, "application/x-www-form-urlencoded", form("4990.00", "4", sign("4990.0", "4")), nil); code != 200 || msg != "OK" {
			t.Errorf("a correctly signed confirmation: %d %s", code, msg)
		}
		if st := orderState(t, base, order); st != "paid" {
			t.Errorf("after a verified confirmation the order is %q", st)
		}
	})
}

func TestDemoShopShowsProviderErrors(t *testing.T) {
	sb := dashSandbox(t, nil, sandbox.Options{})
	base := serve(t, sb).URL
	loc := checkout(t, base, url.Values{"product": {"coffee"}, "method": {"khipu"}, "scenario": {"provider-outage"}})
	if !strings.HasPrefix(loc, "/_sandbox/demo/orders/DEMO-") {
		t.Fatalf("a refused create sent the payer to %q", loc)
	}
	resp, err := http.Get(base + loc)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(b)
	for _, want := range []string{"The payment could not be created", "Khipu refused the payment", "HTTP 503", "request #"} {
		if !strings.Contains(body, want) {
			t.Errorf("order page lacks %q", want)
		}
	}
	for _, form := range []url.Values{
		{"product": {"yacht"}, "method": {"khipu"}},
		{"product": {"coffee"}, "method": {"paypal"}},
		{"product": {"coffee"}, "method": {"khipu"}, "scenario": {"nope"}},
	} {
		rec := postForm(t, sb.Handler(), "/_sandbox/demo/checkout", form)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), `id="shop-error"`) {
			t.Errorf("checkout %v: %d", form, rec.Code)
		}
	}
	// A reset forgets the shop's orders.
	id := strings.TrimPrefix(loc, "/_sandbox/demo/orders/")
	apiJSON(t, "POST", base+"/_sandbox/api/reset", "", nil)
	deadline := time.Now().Add(5 * time.Second)
	for {
		var st json.RawMessage
		if apiJSON(t, "GET", base+"/_sandbox/demo/orders/"+id+"/status", "", &st) == 404 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the order survived a reset")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The object pages' action forms work without the page script too: the
// form values become the action's typed JSON parameters.
func TestActionFormsWithoutScript(t *testing.T) {
	sb := dashSandbox(t, nil, sandbox.Options{})
	base := serve(t, sb).URL
	h := sb.Handler()
	status := func(provider, id string) string {
		var o struct{ Status string }
		apiJSON(t, "GET", base+"/_sandbox/api/objects/"+provider+"/"+id, "", &o)
		return o.Status
	}
	_, payment := newOrder(t, base, "khipu")
	back := "/_sandbox/objects/khipu/" + payment
	rec := postForm(t, h, back+"/actions/pay", url.Values{"outcome": {"approve"}, "method": {""}, "bank_id": {""}, "skip_verify": {"on"}, "return": {back}})
	if loc := rec.Header().Get("Location"); rec.Code != 303 || !strings.HasPrefix(loc, back+"?ok=pay") {
		t.Errorf("pay: %d %s", rec.Code, loc)
	}
	if st := status("khipu", payment); !strings.HasPrefix(st, "done") {
		t.Errorf("after pay with skip_verify the payment is %q", st)
	}
	rec = postForm(t, h, back+"/actions/pay", url.Values{"return": {back}})
	if loc := rec.Header().Get("Location"); !strings.Contains(loc, "err=pay") || !strings.Contains(loc, "done") {
		t.Errorf("paying a done payment: %s", loc)
	}
	rec = postForm(t, h, back+"/actions/teleport", url.Values{"return": {back}})
	if loc := rec.Header().Get("Location"); !strings.Contains(loc, "err=teleport") {
		t.Errorf("unknown action: %s", loc)
	}

	_, collection := newOrder(t, base, "hambit")
	rec = postForm(t, h, "/_sandbox/objects/hambit/"+collection+"/actions/pay", url.Values{"amount": {"5000"}})
	if rec.Code != 303 || status("hambit", collection) != "Payment success" {
		t.Errorf("hambit pay 5000: %d, status %q", rec.Code, status("hambit", collection))
	}
	var o struct{ Data map[string]any }
	apiJSON(t, "GET", base+"/_sandbox/api/objects/hambit/"+collection, "", &o)
	if b, _ := json.Marshal(o.Data); !strings.Contains(string(b), `"5000"`) {
		t.Errorf("the collection does not show the amount paid: %s", b)
	}
	rec = postForm(t, h, "/_sandbox/objects/hambit/SBXFAKE1/actions/set_balance", url.Values{"currency": {"CLP"}, "available": {"123"}, "frozen": {""}})
	if loc := rec.Header().Get("Location"); rec.Code != 303 || !strings.Contains(loc, "ok=set_balance") {
		t.Errorf("set_balance: %d %s", rec.Code, loc)
	}
}
