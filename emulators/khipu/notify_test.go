package khipu

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/paysandbox/sandbox/emulators/internal/callback"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/sandboxtest"
)

// notifyPayment creates a payment notified at notify_url in the given API
// version and pays it (verification 2 s); the caller advances time.
func (k *kenv) notifyPayment(version string, extra url.Values) string {
	k.t.Helper()
	p := basicPayment()
	p.Set("notify_api_version", version)
	for key, v := range extra {
		p[key] = v
	}
	id := k.createV2(p)
	k.act(id, "pay", `{"email":"pagador@example.com"}`)
	return id
}

// K-NOT-01: API 1.3: the exact form body, then the merchant reads the
// payment by its token.
func TestNotification13(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newKEnv(t)
		id := k.notifyPayment("1.3", nil)
		k.env.Merchant.None(t)
		got := k.env.Merchant.Next(t, 3*time.Second)
		tok := k.stored(id).Token
		if string(got.Body) != "api_version=1.3&notification_token="+tok {
			t.Errorf("body = %s", got.Body)
		}
		if got.Method != "POST" || got.URL != "http://shop.test/notify" || got.Header.Get("Content-Type") != "application/x-www-form-urlencoded" ||
			got.Header.Get("User-Agent") != "paysandbox-khipu-notifier/1" || sigHeader(got.Header) != "" {
			t.Errorf("request = %s %s %v", got.Method, got.URL, got.Header)
		}
		if d := got.Time.Sub(time.Date(2000, 1, 1, 0, 0, 2, 0, time.UTC)); d != 0 {
			t.Errorf("first attempt %v after conciliation", d)
		}
		m := decodeMap(t, k.v2("GET", "/khipu/api/2.0/payments", url.Values{"notification_token": {tok}}).Body.Bytes())
		if m["status"] != "done" || m["receiver_id"].(interface{ String() string }).String() != "123456" || m["amount"] != "1570.0000" {
			t.Errorf("payment by token = %v", m)
		}
		synctest.Wait()
		k.env.Merchant.None(t)
	})
}

// K-NOT-02: API 3.0: JSON body, x-khipu-signature over the exact bytes.
func TestNotification30(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newKEnv(t)
		id := k.notifyPayment("3.0", url.Values{"custom": {"<c&d>"}})
		got := k.env.Merchant.Next(t, 3*time.Second)
		if got.Header.Get("Content-Type") != "application/json" {
			t.Errorf("Content-Type = %q", got.Header.Get("Content-Type"))
		}
		want := `{"payment_id":"` + id + `","receiver_id":123456,"subject":"Compra de prueba","amount":"1570.00","discount":"0.00","currency":"CLP","body":"",` +
			`"receipt_url":"http://127.0.0.1:8080/khipu/receipts/` + id + `","bank":"DemoBank","bank_id":"Bawdf","payer_name":"Cobrador de desarrollo #123.456",` +
			`"payer_email":"pagador@example.com","personal_identifier":"11.111.111-1","bank_account_number":"111111110001","out_of_date_conciliation":false,` +
			`"transaction_id":"ORD-1","custom":"<c&d>","responsible_user_email":"","payment_method":"simplified_transfer","conciliation_date":"2000-01-01T00:00:02.000Z"}`
		if string(got.Body) != want {
			t.Errorf("body =\n%s\nwant\n%s", got.Body, want)
		}
		h := sigHeader(got.Header)
		ts, mac, ok := parseSignatureHeader(h)
		if !ok {
			t.Fatalf("x-khipu-signature = %q", h)
		}
		if ts != strconv.FormatInt(got.Time.UnixMilli(), 10) {
			t.Errorf("t = %s, sent at %d", ts, got.Time.UnixMilli())
		}
		// Verify as a merchant does: HMAC over t + "." + the raw bytes received.
		if mac != notificationMAC(DefaultSecret, ts, got.Body) {
			t.Errorf("signature does not verify")
		}
		if _, err := base64.StdEncoding.DecodeString(mac); err != nil || len(mac) != 44 {
			t.Errorf("s = %q is not padded standard Base64 of 32 bytes", mac)
		}
	})
}

// sigHeader reads x-khipu-signature whatever the spelling of its name (the
// in-memory merchant sees the name exactly as sent, lower case).
func sigHeader(h http.Header) string {
	for k, v := range h {
		if strings.EqualFold(k, "x-khipu-signature") && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func parseSignatureHeader(h string) (ts, mac string, ok bool) {
	a, b, found := strings.Cut(h, ",")
	if !found || !strings.HasPrefix(a, "t=") || !strings.HasPrefix(b, "s=") {
		return "", "", false
	}
	return a[2:], b[2:], true
}

// K-NOT-03: 500 twice then 200: three attempts on the (time-scaled)
// schedule, all journaled; 204 counts as a failure.
func TestNotificationRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newKEnv(t, withOptions(func(o *sandboxOptions) { o.TimeScale = 0.01 }))
		k.env.Merchant.Respond(500, 204, 200)
		id := k.notifyPayment("1.3", nil)
		a1 := k.env.Merchant.Next(t, time.Second)
		a2 := k.env.Merchant.Next(t, time.Second)
		a3 := k.env.Merchant.Next(t, 2*time.Second)
		if d := a2.Time.Sub(a1.Time); d != 600*time.Millisecond { // 1m × 0.01
			t.Errorf("second attempt %v after the first, want 600ms", d)
		}
		if d := a3.Time.Sub(a2.Time); d != 1200*time.Millisecond { // 2m × 0.01
			t.Errorf("third attempt %v after the second, want 1.2s", d)
		}
		synctest.Wait()
		k.env.Merchant.None(t)
		var outcomes []string
		for _, e := range k.journalEntries(journal.KindCallback) {
			if e.Objects[0] == id {
				outcomes = append(outcomes, strconv.Itoa(e.Callback.Status)+" "+e.Callback.Outcome)
			}
		}
		if strings.Join(outcomes, ", ") != "500 failed, 204 failed, 200 acknowledged" {
			t.Errorf("journal = %v", outcomes)
		}
	})
}

// The retry schedule ends: 12 attempts in all, then gave_up.
func TestNotificationGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newKEnv(t, withOptions(func(o *sandboxOptions) { o.TimeScale = 0.0001 }))
		statuses := make([]int, 20)
		for i := range statuses {
			statuses[i] = 503
		}
		k.env.Merchant.Respond(statuses...)
		k.notifyPayment("1.3", nil)
		n := 0
		for {
			select {
			case <-k.env.Merchant.C:
				n++
				continue
			case <-time.After(time.Hour):
			}
			break
		}
		if n != 12 {
			t.Errorf("%d attempts, want 12 (1 + 11 retries)", n)
		}
		es := k.journalEntries(journal.KindCallback)
		if last := es[len(es)-1].Callback; last.Outcome != journal.OutcomeGaveUp {
			t.Errorf("last outcome %s", last.Outcome)
		}
	})
}

// swapDispatcher gives the service a dispatcher whose client is c.
func swapDispatcher(t *testing.T, env *sandboxtest.Env, c *http.Client) *callback.Dispatcher {
	d := callback.New(callback.Options{Clock: env.Clock, Journal: env.Journal, Client: c, Workers: 2})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.Close(ctx)
	})
	env.Deps.Dispatcher = d
	return d
}

type blockingTransport struct{ calls chan time.Time }

func (b blockingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	b.calls <- time.Now()
	<-r.Context().Done()
	return nil, r.Context().Err()
}

// K-NOT-04: a receiver that never answers times out after 30 s.
func TestNotificationTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := sandboxtest.New(t, provider, sandboxtest.Options{})
		bt := blockingTransport{calls: make(chan time.Time, 4)}
		swapDispatcher(t, env, &http.Client{Transport: bt})
		svc, err := New(DefaultConfig(), env.Deps)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(svc.Close)
		k := &kenv{t: t, env: env, svc: svc, h: env.Mount(provider, svc.Register)}
		k.notifyPayment("1.3", nil)
		start := <-bt.calls
		time.Sleep(31 * time.Second)
		synctest.Wait()
		es := k.journalEntries(journal.KindCallback)
		if len(es) != 1 || !strings.Contains(es[0].Callback.Error, "no answer within 30s") || es[0].Callback.Outcome != journal.OutcomeFailed {
			t.Fatalf("journal = %+v", es)
		}
		if next := es[0].Callback.NextAttempt; next == nil || next.Sub(start) < time.Minute+30*time.Second-time.Millisecond {
			t.Errorf("next attempt %v (first at %v)", next, start)
		}
	})
}

// K-NOT-05: scenario skip, duplicate, bad_signature, corrupt_token; no URL.
func TestNotificationScenarios(t *testing.T) {
	const yaml = `name: notify-qa
rules:
  - {provider: khipu, on: notify, when: {transaction_id: SKIP}, then: {skip: true}}
  - {provider: khipu, on: notify, when: {transaction_id: DUP}, then: {duplicate: 2}}
  - {provider: khipu, on: notify, when: {transaction_id: WRONG}, then: {bad_signature: wrong}}
  - {provider: khipu, on: notify, when: {transaction_id: MISSING}, then: {bad_signature: missing}}
  - {provider: khipu, on: notify, when: {transaction_id: CORRUPT}, then: {corrupt_token: true}}
  - {provider: khipu, on: notify, when: {transaction_id: LATE}, then: {delay: 10s}}
`
	synctest.Test(t, func(t *testing.T) {
		k := newKEnv(t, withScenario(yaml), withActive("notify-qa"))
		m := k.env.Merchant

		k.notifyPayment("1.3", url.Values{"transaction_id": {"SKIP"}})
		time.Sleep(time.Minute)
		m.None(t)
		if es := k.journalEntries(journal.KindCallback); len(es) != 1 || es[0].Callback.Outcome != "skipped" || es[0].Callback.Reason != "scenario" {
			t.Errorf("skip journal = %+v", es)
		}

		id := k.notifyPayment("1.3", url.Values{"transaction_id": {"DUP"}})
		var times []time.Time
		for range 3 {
			r := m.Next(t, 5*time.Second)
			if !strings.HasSuffix(string(r.Body), k.stored(id).Token) {
				t.Errorf("copy body %s", r.Body)
			}
			times = append(times, r.Time)
		}
		if times[1].Sub(times[0]) != time.Second || times[2].Sub(times[1]) != time.Second {
			t.Errorf("copies at %v", times)
		}

		k.notifyPayment("3.0", url.Values{"transaction_id": {"WRONG"}})
		r := m.Next(t, 5*time.Second)
		ts, mac, ok := parseSignatureHeader(sigHeader(r.Header))
		if !ok || mac == notificationMAC(DefaultSecret, ts, r.Body) || mac != notificationMAC(DefaultSecret+"-wrong", ts, r.Body) {
			t.Errorf("bad_signature wrong: %q", sigHeader(r.Header))
		}

		k.notifyPayment("3.0", url.Values{"transaction_id": {"MISSING"}})
		r = m.Next(t, 5*time.Second)
		if sigHeader(r.Header) != "" {
			t.Errorf("bad_signature missing sent %v", r.Header)
		}

		id = k.notifyPayment("1.3", url.Values{"transaction_id": {"CORRUPT"}})
		r = m.Next(t, 5*time.Second)
		tok := strings.TrimPrefix(string(r.Body), "api_version=1.3&notification_token=")
		if tok == k.stored(id).Token || len(tok) != 64 {
			t.Errorf("corrupt token %q", tok)
		}
		wantStatus(t, k.v2("GET", "/khipu/api/2.0/payments", url.Values{"notification_token": {tok}}), 400)

		k.notifyPayment("1.3", url.Values{"transaction_id": {"LATE"}})
		start := time.Now()
		r = m.Next(t, time.Minute)
		if d := r.Time.Sub(start); d != 12*time.Second { // 2 s verification + 10 s delay
			t.Errorf("delayed notification after %v", d)
		}
	})
}

// No notify_url anywhere: skipped (no_url); the receiver's defaults apply
// when the payment has none.
func TestNotificationTargets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newKEnv(t, withConfig(func(c *Config) {
			c.BuiltinAccounts = true
			c.Receivers = []Receiver{{ReceiverID: 42, Secret: "s42", APIKey: "k42", NotifyURL: "http://default.test/n", NotifyAPIVersion: "3.0"}}
		}))
		id := k.createV2(valid())
		k.act(id, "pay", `{"skip_verify":true}`)
		synctest.Wait()
		k.env.Merchant.None(t)
		es := k.journalEntries(journal.KindCallback)
		if len(es) != 1 || es[0].Callback.Outcome != "skipped" || es[0].Callback.Reason != "no_url" {
			t.Errorf("journal = %+v", es)
		}
		rec := k.do(req("POST", "/khipu/v3/payments", `{"subject":"x","currency":"CLP","amount":1000}`, "x-api-key: k42"))
		id = decodeMap(t, rec.Body.Bytes())["payment_id"].(string)
		k.act(id, "pay", `{"skip_verify":true}`)
		r := k.env.Merchant.Next(t, time.Second)
		ts, mac, _ := parseSignatureHeader(sigHeader(r.Header))
		if r.URL != "http://default.test/n" || mac != notificationMAC("s42", ts, r.Body) {
			t.Errorf("receiver default: %s %v", r.URL, r.Header)
		}
	})
}

// K-NOT-06: resend_callback sends one attempt now, from the current state,
// with an optional version override; refunds send nothing.
func TestResendAndNoRefundNotification(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newKEnv(t)
		id := k.notifyPayment("1.3", nil)
		k.env.Merchant.Next(t, 3*time.Second)
		wantStatus(t, k.v2("POST", "/khipu/api/2.0/payments/"+id+"/refunds", url.Values{"amount": {"100"}}), 200)
		synctest.Wait()
		k.env.Merchant.None(t)

		k.act(id, "resend_callback", `{"version":"3.0"}`)
		r := k.env.Merchant.Next(t, time.Second)
		if !strings.HasPrefix(string(r.Body), `{"payment_id":"`+id+`"`) || sigHeader(r.Header) == "" {
			t.Errorf("resend 3.0: %s %v", r.Body, r.Header)
		}
		k.env.Merchant.Respond(500)
		k.act(id, "resend_callback", `{}`)
		r = k.env.Merchant.Next(t, time.Second)
		if !strings.HasPrefix(string(r.Body), "api_version=1.3&") {
			t.Errorf("resend 1.3: %s", r.Body)
		}
		time.Sleep(time.Hour)
		k.env.Merchant.None(t) // a manual send is never retried
	})
}
