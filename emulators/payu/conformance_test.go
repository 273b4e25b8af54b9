package payu

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/beevik/etree"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/sandboxtest"
)

// fixture stores an approved payment transaction with the given ids, as
// if it had been approved ago (the post-payment and Queries examples of the
// docs name orders that must exist first).
func (e *env) fixture(orderID int64, txID, typ, value string, ago time.Duration) {
	now := e.svc.now().Add(-ago)
	v := emulators.MustDecimal(value)
	o := Order{ID: orderID, MerchantID: TestMerchantID, AccountID: TestAccountID, Status: OrderAuthorized,
		ReferenceCode: "PRODUCT_TEST_2021-06-25T16:33:48.512Z", Description: "Fixture", Language: "es",
		Signature: "77d72fb91eb43f9b15fb300d5f173da3", Value: v, Currency: "CLP", TxIDs: []string{txID},
		ProcessedTxID: txID, CreatedAt: now, UpdatedAt: now, LinkBase: "http://example.com", Scenario: "default",
		Buyer: &Buyer{FullName: "Buyer", Email: "buyer_test@test.com"}}
	t := Transaction{ID: txID, OrderID: orderID, MerchantID: TestMerchantID, AccountID: TestAccountID, Type: typ,
		PaymentMethod: "VISA", PaymentCountry: "CL", State: StateApproved, ResponseCode: "APPROVED",
		Trazability: txID, AuthCode: "123456", NetCode: "123456", ResponseMessage: "Approved transaction",
		OperationDate: now, CreatedAt: now, UpdatedAt: now, ApprovedAt: now, Value: v, Currency: "CLP",
		Card: &Card{First6: "409744", Last4: "0004", Name: "APPROVED", Brand: "VISA"}, CardLength: 16,
		Installments: 1, Language: "es", Scenario: "default", ConfirmSent: true}
	if typ == TypeAuthorizationAndCapture {
		o.Status = OrderCaptured
		t.Captured, t.CapturedValue = true, v
	}
	e.svc.refs.add(&o)
	e.svc.orders.Put(orderID, o)
	e.svc.txs.Put(txID, t)
}

type seedCase struct {
	file    string
	state   string // expected transaction state, "" for non-transaction answers
	errText string // expected ERROR text under the default (checked) mode
	fixture func(e *env)
}

func seedCases() []seedCase {
	fx := func(order int64, tx, typ string) func(e *env) {
		return func(e *env) { e.fixture(order, tx, typ, "10000", time.Hour) }
	}
	return []seedCase{
		{file: "seed/authorization.request.json", state: StateApproved},
		{file: "seed/authorization.request.xml", errText: "Sandbox: invalid order signature"},
		{file: "seed/charge.request.json", state: StateApproved},
		{file: "seed/charge.request.xml", state: StateApproved},
		{file: "seed/capture.request.json", state: StateApproved, fixture: fx(1400421560, "db9d9d7f-b62c-4ed2-a3b9-d146d33bdaf5", TypeAuthorization)},
		{file: "seed/capture.request.xml", state: StateApproved, fixture: fx(1400456250, "ead41073-a03a-45aa-9e83-23d4b03197f0", TypeAuthorization)},
		{file: "seed/partial_capture.request.json", state: StateApproved, fixture: fx(2152525133, "4b6adba7-e43b-45f8-88a6-d290755d6c04", TypeAuthorization)},
		{file: "seed/partial_capture.request.xml", state: StateApproved, fixture: fx(2152525133, "4b6adba7-e43b-45f8-88a6-d290755d6c04", TypeAuthorization)},
		{file: "seed/khipu.request.json", errText: "Sandbox: invalid order signature"},
		{file: "seed/khipu.request.xml", errText: "Sandbox: invalid order signature"},
		{file: "seed/webpay.request.json", state: StatePending},
		{file: "seed/webpay.request.xml", state: StatePending},
		{file: "seed/banks_list.request.json"},
		{file: "seed/banks_list.request.xml"},
		{file: "seed/payment_methods.request.json"},
		{file: "seed/payment_methods.request.xml"},
		{file: "seed/ping.request.json"},
		{file: "seed/ping.request.xml"},
		{file: "requests/void.request.json", state: StateApproved, fixture: fx(1400449660, "7b1a7d7a-8a9e-4fd3-8b3f-0c5a2b1e9f10", TypeAuthorization)},
		{file: "requests/void.request.xml", state: StateApproved, fixture: fx(1400449660, "7b1a7d7a-8a9e-4fd3-8b3f-0c5a2b1e9f10", TypeAuthorization)},
		{file: "requests/refund.request.json", state: StatePending, fixture: fx(1400449660, "7b1a7d7a-8a9e-4fd3-8b3f-0c5a2b1e9f10", TypeAuthorizationAndCapture)},
		{file: "requests/partial_refund.request.xml", state: StatePending, fixture: fx(1400449660, "7b1a7d7a-8a9e-4fd3-8b3f-0c5a2b1e9f10", TypeAuthorizationAndCapture)},
		{file: "requests/reports_ping.request.json"},
		{file: "requests/order_detail.request.json", fixture: fx(1400449660, "7b1a7d7a-8a9e-4fd3-8b3f-0c5a2b1e9f10", TypeAuthorizationAndCapture)},
		{file: "requests/order_detail.request.xml", fixture: fx(1400449660, "7b1a7d7a-8a9e-4fd3-8b3f-0c5a2b1e9f10", TypeAuthorizationAndCapture)},
		{file: "requests/order_detail_by_reference_code.request.json", fixture: fx(1400449660, "7b1a7d7a-8a9e-4fd3-8b3f-0c5a2b1e9f10", TypeAuthorizationAndCapture)},
		{file: "requests/order_detail_by_reference_code.request.xml", fixture: fx(1400449660, "7b1a7d7a-8a9e-4fd3-8b3f-0c5a2b1e9f10", TypeAuthorizationAndCapture)},
		{file: "requests/transaction_response_detail.request.json", fixture: fx(1400449660, "7b1a7d7a-8a9e-4fd3-8b3f-0c5a2b1e9f10", TypeAuthorizationAndCapture)},
		{file: "requests/transaction_response_detail.request.xml", fixture: fx(1400449660, "7b1a7d7a-8a9e-4fd3-8b3f-0c5a2b1e9f10", TypeAuthorizationAndCapture)},
	}
}

func pathFor(file string) string {
	if strings.Contains(file, "ping") && strings.HasPrefix(file, "requests/") || strings.Contains(file, "order_detail") || strings.Contains(file, "transaction_response_detail") {
		return reportsPath
	}
	return paymentsPath
}

// answer reads code, error and the state of the answer in either format.
func answer(t *testing.T, body string) (code, errText, state string) {
	t.Helper()
	if strings.HasPrefix(body, "<") {
		doc := etree.NewDocument()
		if err := doc.ReadFromString(body); err != nil {
			t.Fatalf("XML answer: %v\n%s", err, body)
		}
		r := doc.Root()
		if e := r.FindElement("code"); e != nil {
			code = e.Text()
		}
		if e := r.FindElement("error"); e != nil {
			errText = e.Text()
		}
		if e := r.FindElement("transactionResponse/state"); e != nil {
			state = e.Text()
		}
		return
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("JSON answer: %v\n%s", err, body)
	}
	code, errText, state = str(m["code"]), str(m["error"]), str(dig(m, "transactionResponse", "state"))
	return
}

// PAYU check 3: every DOC-CL request example (and the DOC-REF and DOC-Q
// requests) accepted verbatim; the two whose signatures match nothing are
// rejected under checked with the diagnostic and accepted under lenient.
// Post-payment examples reach the "not found" error without their fixture.
// PAYU check 4: the answers, JSON and XML twins, are golden files.
func TestSeedExamples(t *testing.T) {
	for _, tc := range seedCases() {
		t.Run(tc.file, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, envOpt{})
				body := readFile(t, filepath.Join("testdata", tc.file))
				if tc.fixture != nil {
					// Without the fixture: the §8/§12 not-found answer, never a parse or validation error.
					rec := e.post(pathFor(tc.file), body)
					code, errText, _ := answer(t, rec.Body.String())
					if strings.Contains(tc.file, "detail") {
						if code != "SUCCESS" || strings.Contains(rec.Body.String(), "payload") {
							t.Errorf("not found query: %s", rec.Body)
						}
					} else if code != "ERROR" || !strings.Contains(errText, "not found in order") {
						t.Errorf("without fixture: %s", rec.Body)
					}
					tc.fixture(e)
				}
				rec := e.post(pathFor(tc.file), body)
				if rec.Code != http.StatusOK {
					t.Fatalf("HTTP %d", rec.Code)
				}
				code, errText, state := answer(t, rec.Body.String())
				if tc.errText != "" {
					if code != "ERROR" || errText != tc.errText {
						t.Fatalf("got %s %q, want ERROR %q", code, errText, tc.errText)
					}
					if rec.Header().Get("X-Sandbox-String-To-Sign") == "" || strings.Contains(rec.Body.String(), "~508029~") {
						t.Errorf("diagnostic header missing or string in the body: %v", rec.Header())
					}
					// Under lenient the same bytes are accepted and flagged.
					e2 := newEnv(t, envOpt{cfg: func(c *Config) { c.SignatureMode = ModeLenient }})
					rec2 := e2.post(pathFor(tc.file), body)
					code2, _, state2 := answer(t, rec2.Body.String())
					if code2 != "SUCCESS" || state2 == "" || rec2.Header().Get("X-Sandbox-Signature") != "mismatch" {
						t.Errorf("lenient: %v %s", rec2.Header(), rec2.Body)
					}
					sandboxtest.Golden(t, "seed/"+filepath.Base(tc.file)+".lenient", rec2.Body.Bytes())
				} else if code != "SUCCESS" || state != tc.state {
					t.Fatalf("got %s %q state %q, want SUCCESS state %q:\n%s", code, errText, state, tc.state, rec.Body)
				}
				sandboxtest.Golden(t, "seed/"+filepath.Base(tc.file), rec.Body.Bytes())
			})
		})
	}
}

// PAYU check 4: XML/JSON twins carry the same data; roots; dates.
func TestTwins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, envOpt{})
		rec := e.api(readFile(t, "testdata/seed/webpay.request.json"), "Accept: application/xml")
		body := rec.Body.String()
		for _, want := range []string{`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><paymentResponse>`,
			"<entry><string>EXPIRATION_DATE</string><date>2000-01-01T00:15:00</date></entry>",
			"<operationDate>1999-12-31T19:00:00</operationDate>"} {
			if !strings.Contains(body, want) {
				t.Errorf("XML lacks %s:\n%s", want, body)
			}
		}
		if strings.Contains(body, "null") || strings.Contains(body, "<error") {
			t.Errorf("XML prints nulls: %s", body)
		}
		j := e.api(readFile(t, "testdata/seed/webpay.request.json"))
		m := jsonOf(t, j)
		if str(dig(m, "transactionResponse", "operationDate")) != "946684800000" || !strings.Contains(j.Body.String(), `"errorCode":null`) {
			t.Errorf("JSON: %s", j.Body)
		}
	})
	// Bogota dates of DOC-Q and DOC-CL.
	for ms, want := range map[int64]string{1620064792953: "2021-05-03T12:59:52", 1623834912248: "2021-06-16T04:15:12"} {
		if got := xmlDate(time.UnixMilli(ms), datesBogota); got != want {
			t.Errorf("xmlDate(%d) = %s, want %s", ms, got, want)
		}
		if got := xmlDate(time.UnixMilli(ms), datesEpochMillis); got != jsonNum(ms) {
			t.Errorf("epoch millis: %s", got)
		}
	}
	// The epoch_millis switch and literal decimals.
	e := newEnv(t, envOpt{cfg: func(c *Config) { c.XMLDates = "epoch_millis" }})
	rec := e.api(readFile(t, "testdata/seed/charge.request.xml"))
	if !strings.Contains(rec.Body.String(), "<operationDate>1") || strings.Contains(rec.Body.String(), "<operationDate>20") {
		t.Errorf("epoch_millis XML: %s", rec.Body)
	}
	rec = e.api(readFile(t, "testdata/seed/banks_list.request.json"))
	if !strings.Contains(rec.Body.String(), `"minAmount":200.0000`) {
		t.Errorf("minAmount literal: %s", rec.Body)
	}
	e.fixture(1400449660, "7b1a7d7a-8a9e-4fd3-8b3f-0c5a2b1e9f10", TypeAuthorizationAndCapture, "50000", time.Hour)
	rec = e.post(reportsPath, report("ORDER_DETAIL", "orderId", "1400449660"))
	if !strings.Contains(rec.Body.String(), `"TX_VALUE":{"value":50000.00,"currency":"CLP"}`) {
		t.Errorf("Queries value literal: %s", rec.Body)
	}
	x := e.post(reportsPath, readFile(t, "testdata/requests/order_detail.request.xml"))
	for _, want := range []string{`<reportingResponse><code>SUCCESS</code><result><payload class="order">`, "<transactions><transaction>",
		"<entry><string>TX_VALUE</string><additionalValue><value>50000.00</value><currency>CLP</currency></additionalValue></entry>"} {
		if !strings.Contains(x.Body.String(), want) {
			t.Errorf("order XML lacks %s:\n%s", want, x.Body)
		}
	}
}

func jsonNum(ms int64) string { return strings.TrimSpace(string(encodeJSON(vint(ms)))) }

// PAYU check 5: the negotiation matrix, sniffing, response_format: xml,
// Host routing without /payu, 404 and 405 bodies.
func TestNegotiation(t *testing.T) {
	ping := readFile(t, "testdata/seed/ping.request.json")
	pingXML := readFile(t, "testdata/seed/ping.request.xml")
	cases := []struct {
		name, body, ct, accept, cfg, want string
	}{
		{"json→json", ping, "application/json", "application/json", "", "json"},
		{"json→xml", ping, "application/json", "application/xml", "", "xml"},
		{"xml→json", pingXML, "application/xml", "application/json", "", "json"},
		{"xml→xml", pingXML, "application/xml", "application/xml", "", "xml"},
		{"no accept json", ping, "application/json", "", "", "json"},
		{"no accept xml", pingXML, "text/xml; charset=UTF-8", "", "", "xml"},
		{"star json", ping, "application/json", "*/*", "", "json"},
		{"sniff json", ping, "", "", "", "json"},
		{"sniff xml", pingXML, "", "", "", "xml"},
		{"q-values", ping, "application/json", "application/json;q=0.5, application/xml", "", "xml"},
		{"order", ping, "application/json", "text/xml, application/json", "", "xml"},
		{"config xml", ping, "application/json", "*/*", "xml", "xml"},
		{"config xml, accept json", ping, "application/json", "application/json", "xml", "json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpt{cfg: func(c *Config) {
				if tc.cfg != "" {
					c.ResponseFormat = tc.cfg
				}
			}})
			var hs []string
			if tc.ct != "" {
				hs = append(hs, "Content-Type: "+tc.ct)
			}
			if tc.accept != "" {
				hs = append(hs, "Accept: "+tc.accept)
			}
			rec := e.do(http.MethodPost, paymentsPath, tc.body, hs...)
			got := "json"
			if strings.HasPrefix(rec.Body.String(), "<") {
				got = "xml"
			}
			if got != tc.want || !strings.Contains(rec.Body.String(), "SUCCESS") || !strings.Contains(rec.Header().Get("Content-Type"), got) {
				t.Errorf("got %s (%s): %s", got, rec.Header().Get("Content-Type"), rec.Body)
			}
		})
	}
	e := newEnv(t, envOpt{})
	rec := e.do(http.MethodGet, paymentsPath, "")
	if rec.Code != 405 || rec.Header().Get("Allow") != "POST" || rec.Body.String() != `{"code":"ERROR","error":"Sandbox: method [GET] not allowed","transactionResponse":null}` {
		t.Errorf("405: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	// Every path lists its own methods in Allow.
	for path, allow := range map[string]string{"/payu/webpay/initTransaction": "GET, POST", "/payu/response/1": "GET", "/payu/static/x.css": "GET"} {
		if rec := e.do(http.MethodPut, path, ""); rec.Code != 405 || rec.Header().Get("Allow") != allow {
			t.Errorf("PUT %s: %d Allow %q", path, rec.Code, rec.Header().Get("Allow"))
		}
	}
	rec = e.do(http.MethodGet, reportsPath, "", "Accept: application/xml")
	if rec.Code != 405 || !strings.Contains(rec.Body.String(), "<reportingResponse><code>ERROR</code><error>Sandbox: method [GET] not allowed</error></reportingResponse>") {
		t.Errorf("reports 405: %d %s", rec.Code, rec.Body)
	}
	rec = e.do(http.MethodPost, "/payu/nope", "")
	if rec.Code != 404 || rec.Body.String() != `{"code":"ERROR","error":"Sandbox: unknown path [/payu/nope]","transactionResponse":null}` {
		t.Errorf("404: %d %s", rec.Code, rec.Body)
	}
	if rec.Header().Get("X-Sandbox-Error-Detail") == "" {
		t.Error("404 without X-Sandbox-Error-Detail")
	}
	rec = e.do(http.MethodPost, paymentsPath, ping, "X-Sandbox-Scenario: nope")
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `Sandbox: unknown scenario \"nope\"; known: default`) {
		t.Errorf("unknown scenario: %d %s", rec.Code, rec.Body)
	}
	rec = e.do(http.MethodPost, paymentsPath, `{"command":"PING","x":"`+strings.Repeat("a", maxBody)+`"}`)
	if rec.Code != 413 || !strings.Contains(rec.Body.String(), "Sandbox: request body exceeds 1 MiB") {
		t.Errorf("413: %d %.200s", rec.Code, rec.Body)
	}
	// payu.response_format: xml decides the 404 and 405 bodies too when Accept does not (§2, §3.2).
	ex := newEnv(t, envOpt{cfg: func(c *Config) { c.ResponseFormat = "xml" }})
	rec = ex.do(http.MethodGet, paymentsPath, "")
	if rec.Code != 405 || !strings.Contains(rec.Body.String(), "<paymentResponse><code>ERROR</code><error>Sandbox: method [GET] not allowed</error></paymentResponse>") {
		t.Errorf("405 under response_format xml: %d %s", rec.Code, rec.Body)
	}
	rec = ex.do(http.MethodPost, "/payu/nope", "")
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), "<error>Sandbox: unknown path [/payu/nope]</error>") {
		t.Errorf("404 under response_format xml: %d %s", rec.Code, rec.Body)
	}
}

// PAYU check 5: Host routing reaches the same handlers without /payu, and
// handed-out URLs keep the prefixed form.
func TestHostRouting(t *testing.T) {
	e := newEnv(t, envOpt{})
	ec := e.Mount(provider, e.svc.Register, "sandbox.api.payulatam.com") // host routing as the sandbox does it
	do := func(method, path, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Host = "sandbox.api.payulatam.com"
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		ec.ServeHTTP(rec, req)
		return rec
	}
	if rec := do(http.MethodPost, "/payments-api/4.0/service.cgi", readFile(t, "testdata/seed/ping.request.json")); !strings.Contains(rec.Body.String(), "SUCCESS") {
		t.Errorf("payments: %s", rec.Body)
	}
	if rec := do(http.MethodPost, "/reports-api/4.0/service.cgi", readFile(t, "testdata/requests/reports_ping.request.json")); !strings.Contains(rec.Body.String(), `"payload":"ping"`) {
		t.Errorf("reports: %s", rec.Body)
	}
	rec := do(http.MethodPost, "/payments-api/4.0/service.cgi", readFile(t, "testdata/seed/webpay.request.json"))
	if !strings.Contains(rec.Body.String(), `"URL_PAYMENT_REDIRECT":"http://sandbox.api.payulatam.com/payu/webpay/initTransaction"`) {
		t.Errorf("link base: %s", rec.Body)
	}
	if rec := do(http.MethodPost, "/nope", "{}"); rec.Code != 404 || !strings.Contains(rec.Body.String(), "Sandbox: unknown path [/nope]") {
		t.Errorf("404: %d %s", rec.Code, rec.Body)
	}
	if rec := do(http.MethodPut, "/reports-api/4.0/service.cgi", ""); rec.Code != 405 || !strings.Contains(rec.Body.String(), `"result":null`) {
		t.Errorf("405: %d %s", rec.Code, rec.Body)
	}
}
