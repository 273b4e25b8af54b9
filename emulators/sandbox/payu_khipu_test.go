package sandbox_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/paysandbox/sandbox/emulators/sandbox"
	"github.com/paysandbox/sandbox/sandboxtest"
)

// Khipu via PayU through the real Khipu emulator (payu.md §7.7,
// conformance check 11;
// docs/design.md, "PayU and Khipu: the bank-transfer interface"): a PayU
// KHIPU charge is paid by a payer at DemoBank on the Khipu pages, PayU approves it when Khipu reports done, and the
// confirmation POST carries a sign this test recomputes itself.

const (
	payuKey   = "4Vj8eK4rloUd272L48hsrarnUA"
	payuLogin = "pRRXKOl8ikMmt9u"
)

type rig struct {
	t  *testing.T
	sb *sandbox.Sandbox
	m  *sandboxtest.Merchant
}

func newRig(t *testing.T) *rig {
	if time.Now().Year() < 2020 {
		// A synctest bubble starts at 2000-01-01; Hambit wants 13-digit
		// millisecond timestamps, so move to a realistic date first.
		time.Sleep(time.Until(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	}
	sb, m := newKit(t, nil)
	return &rig{t: t, sb: sb, m: m}
}

func (r *rig) do(method, target, body string, headers ...string) *httpResult {
	rec := sandboxtest.Do(r.sb.Handler(), sandboxtest.Request(method, "http://shop.test"+target, body, headers...))
	return &httpResult{code: rec.Code, body: rec.Body.String(), header: rec.Header()}
}

type httpResult struct {
	code   int
	body   string
	header http.Header
}

// payuKhipu submits a KHIPU charge and returns the transactionResponse.
func (r *rig) payuKhipu(ref, bank, value string, headers ...string) map[string]any {
	r.t.Helper()
	sig := md5hex(payuKey + "~508029~" + ref + "~" + value + "~CLP")
	body := fmt.Sprintf(`{"language":"es","command":"SUBMIT_TRANSACTION","merchant":{"apiKey":%q,"apiLogin":%q},
"transaction":{"order":{"accountId":"512325","referenceCode":%q,"description":"Compra de prueba","language":"es","signature":%q,
"notifyUrl":"http://merchant.test/payu/confirmation","additionalValues":{"TX_VALUE":{"value":%s,"currency":"CLP"}},
"buyer":{"fullName":"Comprador","emailAddress":"buyer_test@test.com"}},"payer":{"fullName":"Pagador","emailAddress":"payer_test@test.com"},
"extraParameters":{"FINANCIAL_INSTITUTION_CODE":%q,"RESPONSE_URL":"http://merchant.test/payu/response"},
"type":"AUTHORIZATION_AND_CAPTURE","paymentMethod":"KHIPU","paymentCountry":"CL","ipAddress":"127.0.0.1"},"test":true}`,
		payuKey, payuLogin, ref, sig, value, bank)
	res := r.do("POST", "/payu/payments-api/4.0/service.cgi", body, append([]string{"Content-Type: application/json", "Accept: application/json"}, headers...)...)
	var out struct {
		Code                string         `json:"code"`
		Error               string         `json:"error"`
		TransactionResponse map[string]any `json:"transactionResponse"`
	}
	if err := json.Unmarshal([]byte(res.body), &out); err != nil || out.Code != "SUCCESS" {
		r.t.Fatalf("PayU answered %d %s", res.code, res.body)
	}
	return out.TransactionResponse
}

func (r *rig) payuState(txID string) string {
	r.t.Helper()
	body := fmt.Sprintf(`{"language":"en","command":"TRANSACTION_RESPONSE_DETAIL","merchant":{"apiKey":%q,"apiLogin":%q},"details":{"transactionId":%q},"test":true}`, payuKey, payuLogin, txID)
	res := r.do("POST", "/payu/reports-api/4.0/service.cgi", body, "Content-Type: application/json", "Accept: application/json")
	var out struct {
		Result struct {
			Payload struct {
				State string `json:"state"`
			} `json:"payload"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(res.body), &out); err != nil {
		r.t.Fatalf("query: %s", res.body)
	}
	return out.Result.Payload.State
}

func (r *rig) khipuStatus(id string) string {
	r.t.Helper()
	res := r.do("GET", "/_sandbox/api/objects/khipu/"+id, "")
	var o struct{ Status string }
	json.Unmarshal([]byte(res.body), &o)
	return o.Status
}

var attemptRE = regexp.MustCompile(`name="attempt" value="([^"]*)"`)
var accountRE = regexp.MustCompile(`name="account" value="(\d+)"`)

// payAtDemoBank walks the Khipu simplified-transfer page as a payer with the
// given coordinates and returns the last page.
func (r *rig) payAtDemoBank(bankURL, coords string) string {
	r.t.Helper()
	u, _ := url.Parse(bankURL)
	page := r.do("GET", u.Path, "")
	if page.code != 200 || !strings.Contains(page.body, "PayU Chile SA") {
		r.t.Fatalf("simplified page: %d %.400s", page.code, page.body)
	}
	c := strings.Fields(coords)
	steps := []url.Values{
		{"step": {"email"}, "email": {"pagador@example.com"}},
		{"step": {"login"}, "rut": {"11.111.111-1"}, "password": {"1234"}},
		{"step": {"account"}},
		{"step": {"coordinates"}, "c1": {c[0]}, "c2": {c[1]}, "c3": {c[2]}},
	}
	for _, form := range steps {
		if m := attemptRE.FindStringSubmatch(page.body); m != nil {
			form.Set("attempt", m[1])
		}
		if form.Get("step") == "account" {
			form.Set("account", accountRE.FindStringSubmatch(page.body)[1])
		}
		post := r.do("POST", u.Path, form.Encode(), "Content-Type: application/x-www-form-urlencoded")
		if post.code != http.StatusSeeOther {
			r.t.Fatalf("step %s: %d %.300s", form.Get("step"), post.code, post.body)
		}
		loc, _ := url.Parse(post.header.Get("Location"))
		page = r.do("GET", loc.RequestURI(), "")
	}
	return page.body
}

// confirmationSign recomputes the confirmation's sign from the posted
// fields (payu.md §10): value with two decimals, then one trailing
// zero dropped when the second decimal is 0.
func confirmationSign(f url.Values) string {
	v := f.Get("value")
	if strings.HasSuffix(v, "0") && strings.Contains(v, ".") && len(v)-strings.Index(v, ".") == 3 {
		v = v[:len(v)-1]
	}
	return md5hex(payuKey + "~" + f.Get("merchant_id") + "~" + f.Get("reference_sale") + "~" + v + "~" + f.Get("currency") + "~" + f.Get("state_pol"))
}

func TestKhipuViaPayUPaidAtDemoBank(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		tr := r.payuKhipu("ORD-KHIPU-1", "Bawdf", "10000")
		txID, _ := tr["transactionId"].(string)
		pid, _ := tr["trazabilityCode"].(string)
		bankURL, _ := tr["extraParameters"].(map[string]any)["BANK_URL"].(string)
		if tr["state"] != "PENDING" || !regexp.MustCompile(`^[a-z0-9]{12}$`).MatchString(pid) ||
			bankURL != "http://shop.test/khipu/payment/simplified/"+pid {
			t.Fatalf("PayU answer: %v", tr)
		}
		if st := r.khipuStatus(pid); st != "pending" {
			t.Fatalf("the Khipu payment is %q, want pending", st)
		}
		last := r.payAtDemoBank(bankURL, "11 22 33")
		if !strings.Contains(last, "¡Listo, transferiste!") || !strings.Contains(last, `href="http://shop.test/payu/response/`+txID+`"`) {
			t.Fatalf("last page:\n%.2000s", last)
		}
		if st := r.khipuStatus(pid); st != "verifying" {
			t.Errorf("Khipu status after DemoBank = %q, want verifying", st)
		}
		if st := r.payuState(txID); st != "PENDING" {
			t.Errorf("PayU state while Khipu verifies = %q, want PENDING", st)
		}
		time.Sleep(2 * time.Second) // Khipu's verification delay (a wait on the sandbox clock)
		synctest.Wait()
		if st := r.khipuStatus(pid); !strings.HasPrefix(st, "done") {
			t.Errorf("Khipu status = %q, want done", st)
		}
		if st := r.payuState(txID); st != "APPROVED" {
			t.Errorf("PayU state = %q, want APPROVED", st)
		}
		got := r.m.Next(t, 5*time.Second)
		if got.URL != "http://merchant.test/payu/confirmation" {
			t.Fatalf("callback to %s (Khipu must not notify for PayU's payments)", got.URL)
		}
		f, _ := url.ParseQuery(string(got.Body))
		if f.Get("state_pol") != "4" || f.Get("payment_method_name") != "KHIPU" || f.Get("reference_sale") != "ORD-KHIPU-1" ||
			f.Get("transaction_id") != txID || f.Get("sign") != confirmationSign(f) {
			t.Errorf("confirmation: %v (recomputed sign %s)", f, confirmationSign(f))
		}
		synctest.Wait()
		r.m.None(t)
		// The payer's return link passes through PayU's response page.
		hop := r.do("GET", "/payu/response/"+txID, "")
		loc, _ := url.Parse(hop.header.Get("Location"))
		if hop.code != http.StatusFound || loc.Host != "merchant.test" || loc.Query().Get("transactionState") != "4" || loc.Query().Get("trazabilityCode") != pid {
			t.Errorf("response page: %d %s", hop.code, loc)
		}
	})
}

func TestKhipuViaPayUBankErrorExpiryAndDecline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		// A bank error leaves both sides pending and payable.
		tr := r.payuKhipu("ORD-KHIPU-ERR", "Qwert", "150")
		txID, pid := tr["transactionId"].(string), tr["trazabilityCode"].(string)
		bankURL := tr["extraParameters"].(map[string]any)["BANK_URL"].(string)
		if last := r.payAtDemoBank(bankURL, "99 99 99"); !strings.Contains(last, "retry") {
			t.Errorf("bank-error page offers no retry:\n%.1500s", last)
		}
		if r.khipuStatus(pid) != "pending" || r.payuState(txID) != "PENDING" {
			t.Errorf("after a bank error: khipu %s, payu %s", r.khipuStatus(pid), r.payuState(txID))
		}
		// Expiry while pending → EXPIRED at PayU (deadline: clock advance).
		do := r.do("POST", "/_sandbox/api/clock/advance", `{"by":"25h"}`)
		if do.code != 200 {
			t.Fatalf("advance: %d %s", do.code, do.body)
		}
		if st := r.payuState(txID); st != "EXPIRED" {
			t.Errorf("PayU state after the Khipu payment expired = %q", st)
		}
		// An admin decline deletes the Khipu payment.
		tr = r.payuKhipu("ORD-KHIPU-DECLINE", "Bawdf", "5000")
		txID, pid = tr["transactionId"].(string), tr["trazabilityCode"].(string)
		if res := r.do("POST", "/_sandbox/api/objects/payu/"+txID+"/actions/decline", "{}"); res.code != 200 {
			t.Fatalf("decline: %d %s", res.code, res.body)
		}
		if st := r.payuState(txID); st != "DECLINED" {
			t.Errorf("PayU state after decline = %q", st)
		}
		page := r.do("GET", "/khipu/payment/simplified/"+pid, "")
		if !strings.Contains(page.body, "Cobro eliminado") {
			t.Errorf("the declined payment's Khipu page:\n%.800s", page.body)
		}
	})
}

func TestKhipuViaPayURobotPayer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		tr := r.payuKhipu("ORD-KHIPU-ROBOT", "Bawdf", "10000", "X-Sandbox-Scenario: ci-approve-all")
		txID := tr["transactionId"].(string)
		time.Sleep(10 * time.Second) // robot payer after 1s, Khipu verification after 1s more (ci-approve-all)
		synctest.Wait()
		if st := r.payuState(txID); st != "APPROVED" {
			t.Errorf("PayU state = %q, want APPROVED with no browser", st)
		}
		f, _ := url.ParseQuery(string(r.m.Next(t, time.Second).Body))
		if f.Get("state_pol") != "4" || f.Get("sign") != confirmationSign(f) {
			t.Errorf("confirmation %v", f)
		}
	})
}
