package payu

import (
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paysandbox/sandbox/emulators/internal/journal"
)

// waitCallbacks waits until the journal holds n callback entries.
func (e *env) waitCallbacks(n int) []journal.Entry {
	e.t.Helper()
	var got []journal.Entry
	waitFor(e.t, func() bool { got = e.entries(journal.KindCallback); return len(got) >= n })
	return got
}

// recomputeSign is the merchant's own check of a confirmation (not the package's helper).
func recomputeSign(apiKey string, v url.Values) string {
	value := v.Get("value")
	value = strings.TrimSuffix(value, "0")
	s := apiKey + "~" + v.Get("merchant_id") + "~" + v.Get("reference_sale") + "~" + value + "~" + v.Get("currency") + "~" + v.Get("state_pol")
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

var confirmationOrder = []string{"merchant_id", "state_pol", "risk", "response_code_pol", "reference_sale", "reference_pol", "sign",
	"extra1", "extra2", "extra3", "payment_method", "payment_method_type", "payment_method_id", "payment_method_name", "franchise",
	"installments_number", "value", "tax", "additional_value", "administrative_fee", "administrative_fee_base",
	"administrative_fee_tax", "commision_pol", "commision_pol_currency", "currency", "transaction_date", "date", "cc_number",
	"cc_holder", "email_buyer", "description", "billing_address", "billing_city", "billing_country", "shipping_address",
	"shipping_city", "shipping_country", "phone", "office_phone", "nickname_buyer", "nickname_seller", "customer_number",
	"airline_code", "cus", "pse_bank", "pse_reference1", "pse_reference2", "pse_reference3", "bank_referenced_name",
	"transaction_bank_id", "account_number_ach", "account_type_ach", "antifraudMerchantId", "test", "transaction_id",
	"response_message_pol", "authorization_code", "bank_id", "error_code_bank", "error_message_bank", "payment_request_state",
	"exchange_rate", "ip", "attempts", "transaction_type"}

func keysInOrder(body string) []string {
	var ks []string
	for _, p := range strings.Split(body, "&") {
		k, _, _ := strings.Cut(p, "=")
		ks = append(ks, k)
	}
	return ks
}

// PAYU check 12: fields and order, sign, 12-hour date, test flag, and the
// end-to-end card flows approve / decline / pending with their confirmations.
func TestConfirmation(t *testing.T) {
	e := newEnv(t, envOpt{})
	tr := txOf(t, e.submit(payReq{ref: "CONF-1", test: true, extra: `"INSTALLMENTS_NUMBER":1,"EXTRA1":"e1"`}))
	got := e.Merchant.Next(t, 5*time.Second)
	if got.Method != http.MethodPost || got.URL != "http://merchant.test/notify" || !strings.HasPrefix(got.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		t.Errorf("request: %s %s %v", got.Method, got.URL, got.Header)
	}
	if ks := keysInOrder(string(got.Body)); strings.Join(ks, ",") != strings.Join(confirmationOrder, ",") {
		t.Errorf("field order:\n got %v\nwant %v", ks, confirmationOrder)
	}
	v := form(t, got.Body)
	checks := map[string]string{
		"merchant_id": "508029", "state_pol": "4", "response_code_pol": "1", "reference_sale": "CONF-1",
		"reference_pol": str(tr["orderId"]), "value": "10000.00", "currency": "CLP", "test": "1", "attempts": "1",
		"payment_method": "716", "payment_method_type": "2", "payment_method_id": "2", "payment_method_name": "VISA",
		"franchise": "VISA", "cc_number": "************0004", "cc_holder": "APPROVED", "transaction_id": str(tr["transactionId"]),
		"response_message_pol": "APPROVED", "authorization_code": str(tr["authorizationCode"]), "payment_request_state": "A",
		"exchange_rate": "1.00", "risk": "0.0", "tax": "0.00", "extra1": "e1", "transaction_type": "AUTHORIZATION_AND_CAPTURE",
		"email_buyer": "buyer_test@test.com", "installments_number": "1", "bank_id": "716", "ip": "127.0.0.1",
	}
	for k, want := range checks {
		if v.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, v.Get(k), want)
		}
	}
	if v.Get("sign") != recomputeSign(TestAPIKey, v) {
		t.Errorf("sign %s, recomputed %s", v.Get("sign"), recomputeSign(TestAPIKey, v))
	}
	td, err := time.ParseInLocation("2006-01-02 15:04:05", v.Get("transaction_date"), bogota)
	if err != nil {
		t.Fatal(err)
	}
	if want := td.Format("2006.01.02 03:04:05"); v.Get("date") != want {
		t.Errorf("date %s, want %s", v.Get("date"), want)
	}
	// Declined and pending: a decline is confirmed, a pending is not (until decided).
	txOf(t, e.submit(payReq{name: "REJECTED", lang: "en"}))
	d := form(t, e.Merchant.Next(t, 5*time.Second).Body)
	if d.Get("state_pol") != "6" || d.Get("response_code_pol") != "23" || d.Get("payment_request_state") != "R" || d.Get("test") != "0" || d.Get("sign") != recomputeSign(TestAPIKey, d) {
		t.Errorf("declined: %v", d)
	}
	p := txOf(t, e.submit(payReq{name: "PENDING", email: "manual-review-hub@email.com"}))
	e.waitCallbacks(2)
	e.Merchant.None(t)
	if _, err := e.svc.Act(t.Context(), str(p["transactionId"]), "approve", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	a := form(t, e.Merchant.Next(t, 5*time.Second).Body)
	if a.Get("state_pol") != "4" || a.Get("transaction_id") != str(p["transactionId"]) {
		t.Errorf("pending then approved: %v", a)
	}
	// The 12-hour date for times after noon and at midnight.
	for in, want := range map[string]string{"15:38:01": "03:38:01", "00:05:00": "12:05:00", "12:00:00": "12:00:00"} {
		tm, _ := time.ParseInLocation("15:04:05", in, bogota)
		if got := tm.Format("03:04:05"); got != want {
			t.Errorf("%s → %s, want %s", in, got, want)
		}
	}
}

// PAYU check 12: retries on 500, 201 and 302, at most 9 attempts on the §10
// schedule, the attempts counter, journal entries, resend.
func TestConfirmationRetries(t *testing.T) {
	e := newEnv(t, envOpt{})
	e.Merchant.Respond(500, 201, 302, 500, 500, 500, 500, 500, 500)
	tr := txOf(t, e.submit(payReq{}))
	schedule := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 32 * time.Minute, 60 * time.Minute, 60 * time.Minute}
	for i := 0; i < 9; i++ {
		got := e.Merchant.Next(t, 5*time.Second)
		if a := form(t, got.Body).Get("attempts"); a != itoa(i+1) {
			t.Errorf("attempt %d carries attempts=%s", i+1, a)
		}
		entries := e.waitCallbacks(i + 1)
		if i < 8 {
			if entries[0].Callback.Outcome != journal.OutcomeFailed {
				t.Fatalf("attempt %d outcome %s", i+1, entries[0].Callback.Outcome)
			}
			e.advance(schedule[i] - time.Second)
			e.Merchant.None(t)
			e.advance(time.Second)
		} else if entries[0].Callback.Outcome != journal.OutcomeGaveUp {
			t.Errorf("last attempt outcome %s", entries[0].Callback.Outcome)
		}
	}
	e.advance(24 * time.Hour)
	e.Merchant.None(t)
	if tx, _ := e.svc.txs.Get(str(tr["transactionId"])); tx.ConfirmAttempts != 9 {
		t.Errorf("attempts counter %d", tx.ConfirmAttempts)
	}
	// resend_callback: one attempt now, attempts = last + 1.
	if _, err := e.svc.Act(t.Context(), str(tr["transactionId"]), "resend_callback", nil); err != nil {
		t.Fatal(err)
	}
	if a := form(t, e.Merchant.Next(t, 5*time.Second).Body).Get("attempts"); a != "10" {
		t.Errorf("resend attempts=%s", a)
	}
	// No URL: skipped with reason no_url.
	e2 := newEnv(t, envOpt{})
	e2.api(strings.Replace(payReq{}.json(), `"notifyUrl":"http://merchant.test/notify",`, "", 1))
	cb := e2.waitCallbacks(1)
	if cb[0].Callback.Outcome != journal.OutcomeSkipped || cb[0].Callback.Reason != "no_url" {
		t.Errorf("no url: %+v", cb[0].Callback)
	}
}

func itoa(i int) string { return strings.TrimSpace(string(encodeJSON(vint(int64(i))))) }

// PAYU check 12: every confirmation scenario action.
func TestConfirmationScenario(t *testing.T) {
	yaml := `name: conf
rules:
  - provider: payu
    on: confirmation
    when: { referenceCode: { prefix: SKIP- } }
    then: { skip: true }
  - provider: payu
    on: confirmation
    when: { referenceCode: { prefix: WRONG- } }
    then: { bad_signature: wrong }
  - provider: payu
    on: confirmation
    when: { referenceCode: { prefix: MISSING- } }
    then: { bad_signature: missing }
  - provider: payu
    on: confirmation
    when: { referenceCode: { prefix: DUP- } }
    then: { duplicate: 2, delay: 10s }
  - provider: payu
    on: confirmation
    when: { referenceCode: { prefix: RETRY- } }
    then: { retry: [5s], fail_attempts: 1, timeout: 2s }
`
	e := newEnv(t, envOpt{scenarios: []string{yaml}, active: "conf"})
	e.submit(payReq{ref: "SKIP-1"})
	if cb := e.waitCallbacks(1); cb[0].Callback.Outcome != journal.OutcomeSkipped || cb[0].Callback.Reason != "scenario" {
		t.Errorf("skip: %+v", cb[0].Callback)
	}
	e.submit(payReq{ref: "WRONG-1"})
	v := form(t, e.Merchant.Next(t, 5*time.Second).Body)
	if v.Get("sign") == recomputeSign(TestAPIKey, v) || v.Get("sign") != ConfirmationSignature(TestAPIKey, TestMerchantID, "WRONG-1", "10000.00", "CLP", "0") {
		t.Errorf("wrong sign: %v", v.Get("sign"))
	}
	e.submit(payReq{ref: "MISSING-1"})
	if v := form(t, e.Merchant.Next(t, 5*time.Second).Body); v.Has("sign") {
		t.Errorf("missing sign: %v", v)
	}
	e.submit(payReq{ref: "DUP-1"})
	e.advance(9 * time.Second)
	e.Merchant.None(t)
	e.advance(3 * time.Second)
	for range 3 {
		if a := form(t, e.Merchant.Next(t, 5*time.Second).Body).Get("attempts"); a != "1" {
			t.Errorf("duplicate attempts=%s", a)
		}
	}
	e.submit(payReq{ref: "RETRY-1"})
	waitFor(t, func() bool {
		for _, en := range e.entries(journal.KindCallback) {
			if strings.Contains(en.Callback.Error, "simulated network failure") {
				return true
			}
		}
		return false
	})
	e.Merchant.None(t)
	e.advance(5 * time.Second)
	if a := form(t, e.Merchant.Next(t, 5*time.Second).Body).Get("attempts"); a != "2" {
		t.Errorf("retry attempts=%s", a)
	}
}
