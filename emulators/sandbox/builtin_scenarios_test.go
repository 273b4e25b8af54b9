package sandbox_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/paysandbox/sandbox/emulators/hambit"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/khipu"
)

// The built-in scenarios do what the README says they do, for every
// provider, selected per request with X-Sandbox-Scenario.

func (r *rig) khipuCreate(scenario, ref, notify string) (code int, id string, body string) {
	r.t.Helper()
	endpoint := "http://shop.test/khipu/api/2.0/payments"
	p := url.Values{"subject": {"Compra " + ref}, "amount": {"1570"}, "currency": {"CLP"}, "transaction_id": {ref}}
	if notify != "" {
		p.Set("notify_url", notify)
		p.Set("notify_api_version", "1.3")
	}
	res := r.do("POST", "/khipu/api/2.0/payments", p.Encode(), "Content-Type: application/x-www-form-urlencoded",
		"Authorization: "+khipu.SignRequest("sbx-khipu-secret-NOT-REAL", 123456, "POST", endpoint, p), "X-Sandbox-Scenario: "+scenario)
	var out struct {
		PaymentID string `json:"payment_id"`
	}
	json.Unmarshal([]byte(res.body), &out)
	return res.code, out.PaymentID, res.body
}

func (r *rig) hambit(scenario, path string, body string) map[string]any {
	r.t.Helper()
	h, err := hambit.NewHeaders("SBXFAKE1", "sandbox-fake-hambit-secret", []byte(body), time.Now(), uuidLike(path+body))
	if err != nil {
		r.t.Fatal(err)
	}
	headers := []string{"Content-Type: application/json", "X-Sandbox-Scenario: " + scenario}
	for k, v := range h {
		headers = append(headers, k+": "+v[0])
	}
	res := r.do("POST", "/hambit/api/v3/chl/"+path, body, headers...)
	var out map[string]any
	if err := json.Unmarshal([]byte(res.body), &out); err != nil {
		r.t.Fatalf("hambit %s: %d %s", path, res.code, res.body)
	}
	return out
}

// uuidLike derives a distinct nonce per request (Hambit refuses replays).
func uuidLike(seed string) string {
	nonceSeq++
	h := md5hex(fmt.Sprint(seed, nonceSeq))
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
}

var nonceSeq int // test goroutines only (the tests of this file do not run in parallel)

func (r *rig) objectData(provider, id string) map[string]any {
	r.t.Helper()
	res := r.do("GET", "/_sandbox/api/objects/"+provider+"/"+id, "")
	var o struct {
		Status string         `json:"status"`
		Data   map[string]any `json:"data"`
	}
	if err := json.Unmarshal([]byte(res.body), &o); err != nil || res.code != 200 {
		r.t.Fatalf("object %s/%s: %d %s", provider, id, res.code, res.body)
	}
	o.Data["_status"] = o.Status
	return o.Data
}

func (r *rig) payuCard(scenario, ref, holder string) map[string]any {
	r.t.Helper()
	sig := md5hex(payuKey + "~508029~" + ref + "~10000~CLP")
	body := fmt.Sprintf(`{"language":"es","command":"SUBMIT_TRANSACTION","merchant":{"apiKey":%q,"apiLogin":%q},
"transaction":{"order":{"accountId":"512325","referenceCode":%q,"description":"Compra","language":"es","signature":%q,
"notifyUrl":"http://merchant.test/payu/confirmation","additionalValues":{"TX_VALUE":{"value":10000,"currency":"CLP"}},
"buyer":{"fullName":"Comprador","emailAddress":"buyer@test.com"}},"payer":{"fullName":"Pagador","emailAddress":"payer@test.com"},
"creditCard":{"number":"4097440000000004","securityCode":"777","expirationDate":"2030/12","name":%q},
"type":"AUTHORIZATION_AND_CAPTURE","paymentMethod":"VISA","paymentCountry":"CL","ipAddress":"127.0.0.1"},"test":true}`,
		payuKey, payuLogin, ref, sig, holder)
	res := r.do("POST", "/payu/payments-api/4.0/service.cgi", body, "Content-Type: application/json", "Accept: application/json", "X-Sandbox-Scenario: "+scenario)
	var out map[string]any
	json.Unmarshal([]byte(res.body), &out)
	tr, _ := out["transactionResponse"].(map[string]any)
	if tr == nil {
		r.t.Fatalf("PayU answered %d %s", res.code, res.body)
	}
	return tr
}

const collection = `{"amount":"1000","channelType":"BANK","externalOrderId":"%s","userInfoType":"CASH","customerType":"RUT","userInfoNo":"12345678","notifyUrl":"http://merchant.test/hambit"}`
const transfer = `{"currencyAmount":"1000","channelType":"BANK","externalOrderId":"%s","accountNo":"3193525521","userInfoName":"Juan","accountType":"0","userInfoNo":"11111111-1","userInfoType":"1","bankName":"Banco de Chile","notifyUrl":"http://merchant.test/hambit"}`

func TestBuiltinCIApproveAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		code, pid, body := r.khipuCreate("ci-approve-all", "CI-1", "http://merchant.test/khipu")
		if code != 200 {
			t.Fatalf("khipu create: %d %s", code, body)
		}
		col := r.hambit("ci-approve-all", "createCollectingOrder", fmt.Sprintf(collection, "CI-COL-1"))
		colID := col["data"].(map[string]any)["currencyOrderVo"].(map[string]any)["orderId"].(string)
		pay := r.hambit("ci-approve-all", "createTransferOrder", fmt.Sprintf(transfer, "CI-PAY-1"))
		payID := pay["data"].(map[string]any)["orderId"].(string)
		card := r.payuCard("ci-approve-all", "CI-CARD-1", "REJECTED") // the holder name would decline it
		if card["state"] != "APPROVED" {
			t.Errorf("PayU card under ci-approve-all: %v", card)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if st := r.objectData("khipu", pid)["status"]; st != "done" {
			t.Errorf("Khipu payment %v, want done with no browser", st)
		}
		if st := r.objectData("hambit", colID)["_status"]; st != "Payment success" {
			t.Errorf("Hambit collection %v, want Payment success (2)", st)
		}
		if st := r.objectData("hambit", payID)["_status"]; st != "Success" {
			t.Errorf("Hambit payout %v, want Success (8)", st)
		}
		urls := map[string]int{}
		for range 4 { // khipu notification, hambit collection + payout, payu confirmation
			urls[r.m.Next(t, time.Second).URL]++
		}
		if urls["http://merchant.test/khipu"] != 1 || urls["http://merchant.test/hambit"] != 2 || urls["http://merchant.test/payu/confirmation"] != 1 {
			t.Errorf("callbacks: %v", urls)
		}
	})
}

func TestBuiltinCIRejectAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		_, pid, _ := r.khipuCreate("ci-reject-all", "REJ-1", "http://merchant.test/khipu")
		col := r.hambit("ci-reject-all", "createCollectingOrder", fmt.Sprintf(collection, "REJ-COL-1"))
		colID := col["data"].(map[string]any)["currencyOrderVo"].(map[string]any)["orderId"].(string)
		pay := r.hambit("ci-reject-all", "createTransferOrder", fmt.Sprintf(transfer, "REJ-PAY-1"))
		payID := pay["data"].(map[string]any)["orderId"].(string)
		if card := r.payuCard("ci-reject-all", "REJ-CARD-1", "APPROVED"); card["state"] != "DECLINED" {
			t.Errorf("PayU card under ci-reject-all: %v", card)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if st := r.objectData("khipu", pid)["status"]; st != "pending" {
			t.Errorf("Khipu payment %v after a bank error, want pending (still payable)", st)
		}
		if st := r.objectData("hambit", colID)["_status"]; st != "Failed" {
			t.Errorf("Hambit collection %v, want Failed (16)", st)
		}
		if st := r.objectData("hambit", payID)["_status"]; st != "Bank rejection" {
			t.Errorf("Hambit payout %v, want Bank rejection (4)", st)
		}
	})
}

func TestBuiltinFlakyCallbacks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		_, pid, _ := r.khipuCreate("flaky-callbacks", "FLAKY-1", "http://merchant.test/khipu")
		start := time.Now()
		var at []time.Duration
		for range 3 {
			at = append(at, r.m.Next(t, time.Minute).Time.Sub(start))
		}
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		r.m.None(t)
		// Paid at 1s, verified at 2s; attempts 1 and 2 fail unsent (retry 5s, 10s):
		// attempt 3 at 17s, its two copies 1s and 2s later.
		want := []time.Duration{17 * time.Second, 18 * time.Second, 19 * time.Second}
		for i := range want {
			if at[i] != want[i] {
				t.Errorf("delivery %d at %v, want %v", i+1, at[i], want[i])
			}
		}
		var outcomes []string
		for _, e := range r.sb.Journal().List(journal.Filter{Kinds: []journal.Kind{journal.KindCallback}, Object: pid}) {
			outcomes = append([]string{e.Callback.Outcome}, outcomes...)
		}
		if got := strings.Join(outcomes, ","); got != "failed,failed,acknowledged,acknowledged,acknowledged" {
			t.Errorf("journal outcomes %s", got)
		}
	})
}

func TestBuiltinProviderOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		code, _, body := r.khipuCreate("provider-outage", "OUT-1", "")
		if code != http.StatusServiceUnavailable || !strings.Contains(body, `"status":503`) {
			t.Errorf("Khipu create under provider-outage: %d %s", code, body)
		}
		if col := r.hambit("provider-outage", "createCollectingOrder", fmt.Sprintf(collection, "OUT-COL-1")); col["code"] != "500" || col["msgEn"] != "System Error" {
			t.Errorf("Hambit collection under provider-outage: %v", col)
		}
		start := time.Now()
		res := r.do("POST", "/payu/payments-api/4.0/service.cgi", `{"language":"en","command":"PING","merchant":{"apiKey":"x","apiLogin":"y"}}`,
			"Content-Type: application/json", "X-Sandbox-Scenario: provider-outage")
		if res.code != 200 {
			t.Errorf("PayU PING (not a submit) under provider-outage: %d", res.code)
		}
		card := r.do("POST", "/payu/payments-api/4.0/service.cgi", fmt.Sprintf(`{"language":"es","command":"SUBMIT_TRANSACTION","merchant":{"apiKey":%q,"apiLogin":%q},
"transaction":{"order":{"accountId":"512325","referenceCode":"OUT-CARD","description":"x","signature":%q,"additionalValues":{"TX_VALUE":{"value":10000,"currency":"CLP"}}},
"creditCard":{"number":"4097440000000004","securityCode":"777","expirationDate":"2030/12","name":"APPROVED"},"type":"AUTHORIZATION_AND_CAPTURE","paymentMethod":"VISA","paymentCountry":"CL"}}`,
			payuKey, payuLogin, md5hex(payuKey+"~508029~OUT-CARD~10000~CLP")), "Content-Type: application/json", "X-Sandbox-Scenario: provider-outage")
		if card.code != http.StatusServiceUnavailable || !strings.Contains(card.body, `"code":"ERROR"`) || time.Since(start) != 2*time.Second {
			t.Errorf("PayU submit under provider-outage: %d after %v: %s", card.code, time.Since(start), card.body)
		}
	})
}

func TestBuiltinSlowBank(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		start := time.Now()
		code, pid, _ := r.khipuCreate("slow-bank", "SLOW-1", "")
		if code != 200 || time.Since(start) != 2*time.Second {
			t.Errorf("Khipu create under slow-bank answered %d after %v, want 200 after 2s", code, time.Since(start))
		}
		if res := r.do("POST", "/_sandbox/api/objects/khipu/"+pid+"/actions/pay", `{"outcome":"approve"}`); res.code != 200 {
			t.Fatalf("pay: %d %s", res.code, res.body)
		}
		time.Sleep(59 * time.Second)
		synctest.Wait()
		if st := r.objectData("khipu", pid)["status"]; st != "verifying" {
			t.Errorf("after 59s: %v, want verifying (slow-bank verifies in 1m)", st)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if st := r.objectData("khipu", pid)["status"]; st != "done" {
			t.Errorf("after 1m: %v, want done", st)
		}
	})
}
