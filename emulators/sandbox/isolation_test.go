package sandbox_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/paysandbox/sandbox/emulators/khipu"
)

// Per-request scenario selection is isolated: clients that send different
// X-Sandbox-Scenario headers at the same time each get their own
// scenario's outcome, through the whole server (run with -race).
func TestConcurrentClientsGetTheirOwnScenario(t *testing.T) {
	r := newRig(t)
	type want struct {
		scenario   string
		khipuCode  int    // Khipu create status
		payuHolder string // card holder name (the default scenario decides by it)
		payuState  string
	}
	cases := []want{
		{"default", 200, "REJECTED", "DECLINED"},
		{"ci-approve-all", 200, "REJECTED", "APPROVED"},
		{"ci-reject-all", 200, "APPROVED", "DECLINED"},
		{"provider-outage", 503, "", ""},
	}
	const perClient = 25
	var wg sync.WaitGroup
	for ci, c := range cases {
		wg.Go(func() {
			for i := range perClient {
				ref := fmt.Sprintf("ISO-%d-%d", ci, i)
				p := url.Values{"subject": {"Compra " + ref}, "amount": {"1570"}, "currency": {"CLP"}, "transaction_id": {ref}}
				res := r.do("POST", "/khipu/api/2.0/payments", p.Encode(), "Content-Type: application/x-www-form-urlencoded",
					"Authorization: "+khipu.SignRequest("sbx-khipu-secret-NOT-REAL", 123456, "POST", "http://shop.test/khipu/api/2.0/payments", p),
					"X-Sandbox-Scenario: "+c.scenario)
				if res.code != c.khipuCode {
					t.Errorf("%s: Khipu create %s answered %d, want %d: %s", c.scenario, ref, res.code, c.khipuCode, res.body)
				}
				if c.payuHolder == "" {
					continue
				}
				sig := md5hex(payuKey + "~508029~" + ref + "~10000~CLP")
				body := fmt.Sprintf(`{"language":"es","command":"SUBMIT_TRANSACTION","merchant":{"apiKey":%q,"apiLogin":%q},
"transaction":{"order":{"accountId":"512325","referenceCode":%q,"description":"Compra","language":"es","signature":%q,
"additionalValues":{"TX_VALUE":{"value":10000,"currency":"CLP"}},"buyer":{"fullName":"Comprador","emailAddress":"buyer@test.com"}},
"payer":{"fullName":"Pagador","emailAddress":"payer@test.com"},
"creditCard":{"number":"4097440000000004","securityCode":"777","expirationDate":"2030/12","name":%q},
"type":"AUTHORIZATION_AND_CAPTURE","paymentMethod":"VISA","paymentCountry":"CL","ipAddress":"127.0.0.1"},"test":true}`,
					payuKey, payuLogin, ref, sig, c.payuHolder)
				res = r.do("POST", "/payu/payments-api/4.0/service.cgi", body, "Content-Type: application/json", "Accept: application/json",
					"X-Sandbox-Scenario: "+c.scenario)
				var out struct {
					TransactionResponse struct {
						State string `json:"state"`
					} `json:"transactionResponse"`
				}
				if err := json.Unmarshal([]byte(res.body), &out); err != nil || out.TransactionResponse.State != c.payuState {
					t.Errorf("%s: PayU card %s: %d %s, want state %s", c.scenario, ref, res.code, res.body, c.payuState)
				}
			}
		})
	}
	wg.Wait()
}

// The scenario that decided a payment's creation stays with the payment:
// a refund sent later without a header is decided by that scenario, not by
// whatever the server's active scenario has become in the meantime.
func TestScenarioStaysWithTheObject(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		// Both payments are paid through the admin action, so the only
		// difference between them is the scenario they were created under.
		_, underDefault, _ := r.khipuCreate("default", "STICK-1", "")
		_, underApprove, _ := r.khipuCreate("ci-approve-all", "STICK-2", "")
		for _, id := range []string{underDefault, underApprove} {
			if res := r.do("POST", "/_sandbox/api/objects/khipu/"+id+"/actions/pay", `{"outcome":"approve"}`, "Content-Type: application/json"); res.code != 200 {
				t.Fatalf("pay %s: %d %s", id, res.code, res.body)
			}
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()

		// Now the whole server switches to the outage scenario.
		if res := r.do("PUT", "/_sandbox/api/scenarios/active", `{"name":"provider-outage"}`, "Content-Type: application/json"); res.code != 200 {
			t.Fatalf("activate: %d %s", res.code, res.body)
		}
		refund := func(id, scenario string) int {
			endpoint := "http://shop.test/khipu/api/2.0/payments/" + id + "/refunds"
			headers := []string{"Authorization: " + khipu.SignRequest("sbx-khipu-secret-NOT-REAL", 123456, "POST", endpoint, nil)}
			if scenario != "" {
				headers = append(headers, "X-Sandbox-Scenario: "+scenario)
			}
			res := r.do("POST", "/khipu/api/2.0/payments/"+id+"/refunds", "", headers...)
			return res.code
		}
		// A new payment is created under the active scenario and refused.
		if code, _, body := r.khipuCreate("", "STICK-3", ""); code != 503 {
			t.Errorf("create under the active provider-outage: %d %s, want 503", code, body)
		}
		// The old payments keep the scenarios they were created under.
		if code := refund(underDefault, ""); code != 200 {
			t.Errorf("refund of a payment created under default: %d, want 200 (decided by default, not the active provider-outage)", code)
		}
		if code := refund(underApprove, ""); code != 200 {
			t.Errorf("refund of a payment created under ci-approve-all: %d, want 200", code)
		}
		// An explicit header still overrides for that one request.
		_, third, _ := func() (int, string, string) {
			r.do("PUT", "/_sandbox/api/scenarios/active", `{"name":"default"}`, "Content-Type: application/json")
			return r.khipuCreate("default", "STICK-4", "")
		}()
		r.do("POST", "/_sandbox/api/objects/khipu/"+third+"/actions/pay", `{"outcome":"approve"}`, "Content-Type: application/json")
		synctest.Wait()
		if code := refund(third, "provider-outage"); code != 503 {
			t.Errorf("refund with X-Sandbox-Scenario: provider-outage: %d, want 503", code)
		}
	})
}
