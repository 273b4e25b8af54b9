//lint:file-ignore SA1008 Hambit sends and checks its headers lower-case on the wire (access_key, nonce, …), so the tests index http.Header by the exact wire spelling

package hambit

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/sandboxtest"
)

// callbackEntries returns the journal's callback attempts of an order,
// oldest first, once the bubble is idle (the dispatcher journals an attempt
// after the merchant has received it).
func callbackEntries(e *testEnv, id string) []journal.Attempt {
	synctest.Wait()
	es := e.Journal.List(journal.Filter{Kinds: []journal.Kind{journal.KindCallback}, Object: id})
	out := make([]journal.Attempt, 0, len(es))
	for i := len(es) - 1; i >= 0; i-- {
		out = append(out, *es[i].Callback)
	}
	return out
}

// TestCallbackAcknowledgement is conformance check 15 (ack rules, the
// default schedule of 10 attempts 3 minutes apart, journal per attempt).
func TestCallbackAcknowledgement(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
	}{{"201", 201}, {"302", 302}, {"500", 500}} {
		t.Run("H-15 HTTP "+tc.name+" retries", func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				e := newTestEnv(t, nil, sandboxtest.Options{})
				e.Merchant.Respond(tc.status, tc.status)
				c := e.createCollection(t, collectionBody("ACK-"+tc.name))
				if err := e.act(t, c.Vo.OrderID, "pay", `{}`); err != nil {
					t.Fatal(err)
				}
				first := e.Merchant.Next(t, time.Second)
				second := e.Merchant.Next(t, 4*time.Minute)
				if d := second.Time.Sub(first.Time); d != 3*time.Minute {
					t.Errorf("retry after %v, want 3m", d)
				}
				third := e.Merchant.Next(t, 4*time.Minute) // answered 200
				if string(third.Body) != string(first.Body) || third.Header["nonce"][0] == first.Header["nonce"][0] {
					t.Error("attempts must carry the same body with a fresh nonce")
				}
				if !verifyCallback(t, third.Header, third.Body, DefaultSecretKey, false) {
					t.Error("retry does not verify")
				}
				time.Sleep(time.Hour)
				e.Merchant.None(t)
				at := callbackEntries(e, c.Vo.OrderID)
				if len(at) != 3 || at[0].Outcome != "failed" || at[0].Status != tc.status || at[2].Outcome != "acknowledged" || at[2].Attempt != 3 {
					t.Errorf("journal %+v", at)
				}
			})
		})
	}
	t.Run("H-15 any 200 body acknowledges", func(t *testing.T) {
		bubble(t, func(t *testing.T) {
			e := newTestEnv(t, nil, sandboxtest.Options{})
			e.Merchant.Handle(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				w.Write([]byte("whatever, not JSON"))
			}))
			c := e.createCollection(t, collectionBody("ACK-200"))
			e.act(t, c.Vo.OrderID, "pay", `{}`)
			e.Merchant.Next(t, time.Second)
			time.Sleep(time.Hour)
			e.Merchant.None(t)
		})
	})
	t.Run("H-15 timeouts retry; 10 attempts every 3 minutes", func(t *testing.T) {
		bubble(t, func(t *testing.T) {
			hang := &hangingTransport{C: make(chan time.Time, 64)}
			e := newTestEnvWith(t, nil, sandboxtest.Options{}, hang)
			c := e.createCollection(t, collectionBody("ACK-TO"))
			e.act(t, c.Vo.OrderID, "pay", `{}`)
			var times []time.Time
			for range 10 {
				select {
				case at := <-hang.C:
					times = append(times, at)
				case <-time.After(5 * time.Minute):
					t.Fatalf("attempt %d did not come", len(times)+1)
				}
			}
			time.Sleep(2 * time.Hour)
			if len(hang.C) != 0 {
				t.Error("more than 10 attempts")
			}
			for i := 1; i < len(times); i++ {
				if d := times[i].Sub(times[i-1]); d != 3*time.Minute+10*time.Second {
					t.Errorf("attempt %d after %v, want 3m after the 10s timeout", i+1, d)
				}
			}
			at := callbackEntries(e, c.Vo.OrderID)
			if len(at) != 10 || at[9].Outcome != "gave_up" || !strings.Contains(at[0].Error, "no answer within 10s") || at[8].Outcome != "failed" {
				t.Errorf("%d attempts; first %+v last %+v", len(at), at[0], at[len(at)-1])
			}
		})
	})
	t.Run("H-15 scaled schedule", func(t *testing.T) {
		bubble(t, func(t *testing.T) {
			e := newTestEnv(t, nil, sandboxtest.Options{TimeScale: 0.01})
			e.Merchant.Respond(500, 500, 500, 500, 500, 500, 500, 500, 500, 500)
			c := e.createCollection(t, collectionBody("ACK-SCALE"))
			e.act(t, c.Vo.OrderID, "pay", `{}`)
			start := time.Now()
			for range 10 {
				e.Merchant.Next(t, time.Minute)
			}
			if d := time.Since(start); d != 9*1800*time.Millisecond {
				t.Errorf("10 attempts took %v, want 9 × 1.8s", d)
			}
		})
	})
}

// TestCallbackScenarioKeys is conformance check 15's scenario part.
func TestCallbackScenarioKeys(t *testing.T) {
	const yaml = `name: cb
rules:
  - provider: hambit
    on: callback
    when: { externalOrderId: { prefix: SKIP- } }
    then: { skip: true }
  - provider: hambit
    on: callback
    when: { externalOrderId: { prefix: DUP- } }
    then: { duplicate: 2 }
  - provider: hambit
    on: callback
    when: { externalOrderId: { prefix: WRONG- } }
    then: { bad_signature: wrong }
  - provider: hambit
    on: callback
    when: { externalOrderId: { prefix: MISS- } }
    then: { bad_signature: missing }
  - provider: hambit
    on: callback
    when: { externalOrderId: { prefix: LATE- } }
    then: { delay: 90s }
  - provider: hambit
    on: callback
    when: { externalOrderId: { prefix: RETRY- } }
    then: { retry: [10s, 20s] }
  - provider: hambit
    on: callback
    when: { externalOrderId: { prefix: NUM- } }
    then: { amount_format: numeric }
  - provider: hambit
    on: callback
    when: { externalOrderId: { prefix: FLAKY- } }
    then: { fail_attempts: 2 }
`
	run := func(t *testing.T, ext string, check func(t *testing.T, e *testEnv, id string)) {
		t.Run("H-15 "+ext, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				e := newTestEnv(t, nil, sandboxtest.Options{Scenarios: []string{yaml}, Active: "cb"})
				if strings.HasPrefix(ext, "RETRY-") {
					e.Merchant.Respond(500, 500, 500)
				}
				c := e.createCollection(t, collectionBody(ext))
				if err := e.act(t, c.Vo.OrderID, "pay", `{}`); err != nil {
					t.Fatal(err)
				}
				check(t, e, c.Vo.OrderID)
			})
		})
	}
	run(t, "SKIP-1", func(t *testing.T, e *testEnv, id string) {
		time.Sleep(time.Hour)
		e.Merchant.None(t)
		at := callbackEntries(e, id)
		if len(at) != 1 || at[0].Outcome != "skipped" || at[0].Reason != "scenario" {
			t.Errorf("journal %+v", at)
		}
	})
	run(t, "DUP-1", func(t *testing.T, e *testEnv, id string) {
		a := e.Merchant.Next(t, time.Second)
		b := e.Merchant.Next(t, 2*time.Second)
		c := e.Merchant.Next(t, 2*time.Second)
		if string(a.Body) != string(b.Body) || string(b.Body) != string(c.Body) || c.Time.Sub(a.Time) != 2*time.Second {
			t.Error("duplicates must carry the same body, 1 s apart")
		}
		for _, r := range []sandboxtest.Received{a, b, c} {
			if !verifyCallback(t, r.Header, r.Body, DefaultSecretKey, false) {
				t.Error("a duplicate does not verify")
			}
		}
	})
	run(t, "WRONG-1", func(t *testing.T, e *testEnv, id string) {
		r := e.Merchant.Next(t, time.Second)
		if verifyCallback(t, r.Header, r.Body, DefaultSecretKey, false) {
			t.Error("bad_signature wrong verifies")
		}
		if !verifyCallback(t, r.Header, r.Body, DefaultSecretKey+"-wrong", false) {
			t.Error("bad_signature wrong is not keyed with the secret plus -wrong")
		}
	})
	run(t, "MISS-1", func(t *testing.T, e *testEnv, id string) {
		r := e.Merchant.Next(t, time.Second)
		if _, ok := r.Header["sign"]; ok || len(r.Header["nonce"]) != 1 {
			t.Errorf("bad_signature missing: headers %v", r.Header)
		}
	})
	run(t, "LATE-1", func(t *testing.T, e *testEnv, id string) {
		start := time.Now()
		e.Merchant.Next(t, 2*time.Minute)
		if d := time.Since(start); d != 90*time.Second {
			t.Errorf("delayed callback after %v", d)
		}
	})
	run(t, "RETRY-1", func(t *testing.T, e *testEnv, id string) {
		a := e.Merchant.Next(t, time.Second)
		b := e.Merchant.Next(t, time.Minute)
		c := e.Merchant.Next(t, time.Minute)
		if b.Time.Sub(a.Time) != 10*time.Second || c.Time.Sub(b.Time) != 20*time.Second {
			t.Errorf("custom retry: %v, %v", b.Time.Sub(a.Time), c.Time.Sub(b.Time))
		}
		time.Sleep(time.Hour)
		e.Merchant.None(t)
	})
	run(t, "FLAKY-1", func(t *testing.T, e *testEnv, id string) {
		start := time.Now()
		e.Merchant.Next(t, 10*time.Minute)
		if d := time.Since(start); d != 6*time.Minute {
			t.Errorf("first delivered attempt after %v, want 6m (two simulated failures)", d)
		}
		at := callbackEntries(e, id)
		if len(at) != 3 || !strings.Contains(at[0].Error, "simulated network failure") || at[2].Outcome != "acknowledged" {
			t.Errorf("journal %+v", at)
		}
	})
	run(t, "NUM-1", func(t *testing.T, e *testEnv, id string) {
		r := e.Merchant.Next(t, time.Second)
		if !strings.Contains(string(r.Body), `"orderActualAmount":1500.000000,"orderAmount":1500.000000,"orderFee":15.000000`) {
			t.Errorf("amount_format numeric: %s", r.Body)
		}
		if !verifyCallback(t, r.Header, r.Body, DefaultSecretKey, false) {
			t.Error("numeric callback does not verify as raw text")
		}
	})
}

// floatVerifier is the naive merchant of conformance check 2: it decodes
// into float64 and formats with fmt.
func floatVerifier(hdr http.Header, body []byte, secret string) bool {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return false
	}
	pairs := map[string]string{}
	for k, v := range m {
		s := fmt.Sprint(v)
		if v == nil || s == "" {
			continue
		}
		pairs[k] = s
	}
	for _, h := range []string{"access_key", "timestamp", "nonce"} {
		if len(hdr[h]) > 0 {
			pairs[h] = hdr[h][0]
		}
	}
	return len(hdr["sign"]) > 0 && hmacSign(secret, canonicalOf(pairs)) == hdr["sign"][0]
}

func canonicalOf(pairs map[string]string) string {
	keys := make([]string, 0, len(pairs))
	for k := range pairs {
		keys = append(keys, k)
	}
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if keys[j] < keys[i] {
				keys[i], keys[j] = keys[j], keys[i]
			}
		}
	}
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+"="+pairs[k])
	}
	return strings.Join(parts, "&")
}

// TestCallbackFloatTrap is conformance check 2 on live callbacks.
func TestCallbackFloatTrap(t *testing.T) {
	for _, amounts := range []string{"string", "numeric"} {
		t.Run("H-02 "+amounts, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				cfg := DefaultConfig()
				cfg.Accounts = []Account{{AccessKey: "FLOAT001", SecretKey: "fs", NotifyURL: "https://merchant.example/acct-notify",
					CallbackAmounts: amounts, Balances: nil}}
				e := newTestEnv(t, &cfg, sandboxtest.Options{})
				r := wantCode(t, e.signed("POST", createPath, "FLOAT001", "fs", collectionBody("FT-1", "notifyUrl", "-", "amount", `"100"`)), 200, "200")
				var c created
				r.into(t, &c)
				e.act(t, c.Vo.OrderID, "pay", `{}`)
				cb := e.Merchant.Next(t, time.Second)
				want(t, "account notify_url", cb.URL, "https://merchant.example/acct-notify")
				if amounts == "numeric" && !strings.Contains(string(cb.Body), `"orderActualAmount":100.000000,"orderAmount":100.000000,"orderFee":1.000000`) {
					t.Errorf("numeric body %s", cb.Body)
				}
				if amounts == "string" && !strings.Contains(string(cb.Body), `"orderActualAmount":"100","orderAmount":"100","orderFee":"1"`) {
					t.Errorf("string body %s", cb.Body)
				}
				if !verifyCallback(t, cb.Header, cb.Body, "fs", false) {
					t.Error("raw-text verifier rejects the callback")
				}
				// Millisecond times become 1.7…e+12 under fmt: every callback fails.
				if floatVerifier(cb.Header, cb.Body, "fs") {
					t.Error("a float64 verifier accepted the callback")
				}
			})
		})
	}
}

// TestCallbackIncludeEmpty: callback_empty_values include signs "key=".
func TestCallbackIncludeEmpty(t *testing.T) {
	bubble(t, func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.Accounts = []Account{{AccessKey: "INCL0001", SecretKey: "is", CallbackEmptyValues: "include"}}
		e := newTestEnv(t, &cfg, sandboxtest.Options{})
		r := wantCode(t, e.signed("POST", createPath, "INCL0001", "is", collectionBody("INC-1", "remark", "-")), 200, "200")
		var c created
		r.into(t, &c)
		e.act(t, c.Vo.OrderID, "pay", `{}`)
		cb := e.Merchant.Next(t, time.Second)
		if verifyCallback(t, cb.Header, cb.Body, "is", false) || !verifyCallback(t, cb.Header, cb.Body, "is", true) {
			t.Error("include convention not used")
		}
		at := callbackEntries(e, c.Vo.OrderID)
		if len(at) != 1 || !strings.Contains(at[0].StringToSign, "&errorMsg=&errorMsgEn=&") {
			t.Errorf("journaled string to sign: %+v", at)
		}
	})
}

// TestCallbackNoURLAndSupersession covers no_url and the superseding rule.
func TestCallbackNoURLAndSupersession(t *testing.T) {
	t.Run("H-15 no URL", func(t *testing.T) {
		bubble(t, func(t *testing.T) {
			e := newTestEnv(t, nil, sandboxtest.Options{})
			c := e.createCollection(t, collectionBody("NOURL-1", "notifyUrl", "-"))
			e.act(t, c.Vo.OrderID, "pay", `{}`)
			time.Sleep(time.Minute)
			e.Merchant.None(t)
			at := callbackEntries(e, c.Vo.OrderID)
			if len(at) != 1 || at[0].Outcome != "skipped" || at[0].Reason != "no_url" {
				t.Errorf("journal %+v", at)
			}
		})
	})
	t.Run("H-15 supersession", func(t *testing.T) {
		bubble(t, func(t *testing.T) {
			const yaml = `name: notify2
rules:
  - provider: hambit
    on: payout
    then: { notify_processing: true }
`
			e := newTestEnv(t, nil, sandboxtest.Options{Scenarios: []string{yaml}, Active: "notify2"})
			e.Merchant.Respond(500, 500) // the processing callback fails …
			id := e.createTransfer(t, transferBody("SUP-1"))
			p := decodeBody(t, e.Merchant.Next(t, 2*time.Second).Body)
			want(t, "processing callback", p["orderStatusCode"], json.Number("2"))
			want(t, "processing text", p["orderStatus"], "In bank processing")
			f := decodeBody(t, e.Merchant.Next(t, 3*time.Second).Body) // … the final one at +2 s (fails once too)
			want(t, "final callback", f["orderStatusCode"], json.Number("8"))
			again := decodeBody(t, e.Merchant.Next(t, 4*time.Minute).Body)
			want(t, "retry is of the final status", again["orderStatusCode"], json.Number("8"))
			time.Sleep(time.Hour)
			e.Merchant.None(t)
			outcomes := []string{}
			for _, a := range callbackEntries(e, id) {
				outcomes = append(outcomes, a.Outcome)
			}
			if strings.Join(outcomes, ",") != "failed,superseded,failed,acknowledged" {
				t.Errorf("outcomes %v", outcomes)
			}
		})
	})
}

// TestResendCallback: the manual callback is built from the current state,
// one attempt, no retries (spec §10.4).
func TestResendCallback(t *testing.T) {
	bubble(t, func(t *testing.T) {
		e := newTestEnv(t, nil, sandboxtest.Options{})
		c := e.createCollection(t, collectionBody("RES-1"))
		e.Merchant.Respond(500)
		if err := e.act(t, c.Vo.OrderID, "resend_callback", `{}`); err != nil {
			t.Fatal(err)
		}
		r := e.Merchant.Next(t, time.Second)
		body := decodeBody(t, r.Body)
		want(t, "manual callback of a pending order", body["orderStatusCode"], json.Number("1"))
		want(t, "pending text", body["orderStatus"], "Awaiting Payment")
		if !verifyCallback(t, r.Header, r.Body, DefaultSecretKey, false) {
			t.Error("manual callback does not verify")
		}
		time.Sleep(time.Hour)
		e.Merchant.None(t) // no retry of a manual send
		e.act(t, c.Vo.OrderID, "pay", `{}`)
		e.Merchant.Next(t, time.Second)
		if err := e.act(t, c.CashierID, "resend_callback", ``); err != nil {
			t.Fatal(err)
		}
		body = decodeBody(t, e.Merchant.Next(t, time.Second).Body)
		want(t, "manual callback of a paid order", body["orderStatusCode"], json.Number("2"))
		// The journaled delivery can be re-sent with fresh headers.
		at := callbackEntries(e, c.Vo.OrderID)
		if err := e.Dispatcher.Resend(at[len(at)-1].Delivery); err != nil {
			t.Fatal(err)
		}
		again := e.Merchant.Next(t, time.Second)
		if string(again.Body) != string(e.svc.callbackBody(mustOrder(t, e, c.Vo.OrderID), false)) {
			t.Errorf("resent body %s", again.Body)
		}
		if !verifyCallback(t, again.Header, again.Body, DefaultSecretKey, false) {
			t.Error("resent callback does not verify")
		}
		ts, _ := strconv.ParseInt(again.Header["timestamp"][0], 10, 64)
		if ts != time.Now().UnixMilli() {
			t.Errorf("resend timestamp %d is not fresh", ts)
		}
	})
}

func mustOrder(t testing.TB, e *testEnv, id string) order {
	t.Helper()
	o, ok := e.svc.lookup(id)
	if !ok {
		t.Fatalf("no order %s", id)
	}
	return o
}

// TestCallbackURLFragment: the order's notifyUrl beats the account's, and
// its fragment is dropped (spec §10.1).
func TestCallbackURLFragment(t *testing.T) {
	bubble(t, func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.Accounts = []Account{{AccessKey: "FRAG0001", SecretKey: "fr", NotifyURL: "https://merchant.example/default"}}
		e := newTestEnv(t, &cfg, sandboxtest.Options{})
		r := wantCode(t, e.signed("POST", createPath, "FRAG0001", "fr",
			collectionBody("FRAG-1", "notifyUrl", `"https://merchant.example/hook?x=1#section"`)), 200, "200")
		var c created
		r.into(t, &c)
		e.act(t, c.Vo.OrderID, "pay", `{}`)
		want(t, "callback URL", e.Merchant.Next(t, time.Second).URL, "https://merchant.example/hook?x=1")
	})
}
