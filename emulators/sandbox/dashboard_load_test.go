package sandbox_test

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/paysandbox/sandbox/emulators/hambit"
	"github.com/paysandbox/sandbox/emulators/khipu"

	"github.com/paysandbox/sandbox/emulators/sandbox"
	"github.com/paysandbox/sandbox/sandboxtest"
)

// payuCharge is a signed PayU card charge for the built-in test merchant.
func payuCharge(ref string, holder string) string {
	sig := md5hex("4Vj8eK4rloUd272L48hsrarnUA~508029~" + ref + "~1000~CLP")
	return `{"language":"es","command":"SUBMIT_TRANSACTION","test":true,"merchant":{"apiLogin":"pRRXKOl8ikMmt9u","apiKey":"4Vj8eK4rloUd272L48hsrarnUA"},` +
		`"transaction":{"order":{"accountId":512325,"referenceCode":"` + ref + `","description":"load","language":"es","signature":"` + sig + `",` +
		`"additionalValues":{"TX_VALUE":{"value":1000,"currency":"CLP"}}},"type":"AUTHORIZATION_AND_CAPTURE","paymentMethod":"VISA","paymentCountry":"CL",` +
		`"creditCard":{"number":"4097440000000004","securityCode":"777","expirationDate":"2030/12","name":"` + holder + `"}}}`
}

// fill creates n objects (n a multiple of 4) through the providers' public
// APIs, in process, signed like any client: per four objects, a PayU order
// with its transaction (P-…), a Khipu payment (K-…) and a Hambit collection
// order (H-…). One PayU charge in ten is declined. step, when not nil, runs
// after each four (the 10,000-object test moves the sandbox clock by 1 ms
// there, so that "newest first" does not depend on how many creates fall
// in one millisecond of a timestamp that a provider keeps to the ms).
func fill(t testing.TB, h http.Handler, n int, step func()) {
	t.Helper()
	do := func(what string, req *http.Request, ok string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), ok) {
			t.Fatalf("%s: %d %s", what, rec.Code, rec.Body.String())
		}
	}
	for j := 0; j < n/4; j++ {
		holder := "APPROVED"
		if j%10 == 0 {
			holder = "REJECTED"
		}
		do("PayU charge", sandboxtest.Request("POST", "/payu/payments-api/4.0/service.cgi", payuCharge(fmt.Sprintf("P-%05d", j), holder),
			"Content-Type: application/json", "Accept: application/json"), `"code":"SUCCESS"`)

		params := url.Values{"subject": {"load"}, "currency": {"CLP"}, "amount": {"1000"}, "transaction_id": {fmt.Sprintf("K-%05d", j)}}
		u := "http://example.com/khipu/api/2.0/payments"
		do("Khipu create", sandboxtest.Request("POST", u, params.Encode(), "Content-Type: application/x-www-form-urlencoded",
			"Authorization: "+khipu.SignRequest(khipu.DefaultSecret, khipu.DefaultReceiverID, "POST", u, params)), `"payment_id"`)

		body := []byte(fmt.Sprintf(`{"amount":"1000","channelType":"BANK","externalOrderId":"H-%05d","userInfoType":"CASH","customerType":"RUT","userInfoNo":"11111111"}`, j))
		req := sandboxtest.Request("POST", "/hambit/api/v3/chl/createCollectingOrder", string(body), "Content-Type: application/json")
		hs, err := hambit.NewHeaders(hambit.DefaultAccessKey, hambit.DefaultSecretKey, body, time.Now(), "")
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hs {
			req.Header[k] = v
		}
		do("Hambit collection", req, `"code":"200"`)
		if step != nil {
			step()
		}
	}
}

func timed(t testing.TB, h http.Handler, target string) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	code, body, _ := get(t, h, target)
	d := time.Since(start)
	if code != 200 {
		t.Fatalf("%s: %d", target, code)
	}
	return body, d
}

var rows = regexp.MustCompile(`<tr data-key="`)

func TestDashboardWith10000Objects(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: creates 10,000 objects, then drives Chromium")
	}
	sb := dashSandbox(t, nil, sandbox.Options{})
	h := sb.Handler()
	start := time.Now()
	fill(t, h, 10000, func() { sb.Clock().Advance(time.Millisecond) })
	t.Logf("created 10000 objects through the Khipu, Hambit and PayU APIs in %v", time.Since(start))

	body, d := timed(t, h, "/_sandbox/")
	t.Logf("GET /_sandbox/ (first page): %v, %d bytes", d, len(body))
	if n := len(rows.FindAllString(body, -1)); n != 50 || !strings.Contains(body, `<strong id="total">10000</strong>`) || !strings.Contains(body, "Page 1 of 200") {
		t.Errorf("first page: %d rows", n)
	}
	checkPage(t, "objects, first page", body)
	for _, p := range []string{"khipu 2500", "hambit 2500", "payu 5000", ">2 provider accounts</a>"} {
		if !strings.Contains(body, p) {
			t.Errorf("first page lacks %q", p)
		}
	}
	if !strings.Contains(body, ">H-02499<") || strings.Contains(body, ">K-02486<") {
		t.Errorf("first page is not the newest 50")
	}

	body, d = timed(t, h, "/_sandbox/?offset=9950")
	t.Logf("GET /_sandbox/?offset=9950 (last page): %v, %d bytes", d, len(body))
	if n := len(rows.FindAllString(body, -1)); n != 50 || !strings.Contains(body, ">P-00000<") || !strings.Contains(body, ">H-00000<") || !strings.Contains(body, "Page 200 of 200") {
		t.Errorf("last page: %d rows", n)
	}

	body, d = timed(t, h, "/_sandbox/?provider=payu&kind=transaction&status=DECLINED&limit=100")
	t.Logf("GET /_sandbox/ filtered (declined PayU transactions, 100 a page): %v, %d bytes", d, len(body))
	if n := len(rows.FindAllString(body, -1)); n != 100 || !strings.Contains(body, `<strong id="total">250</strong>`) || strings.Contains(body, ">APPROVED</span>") {
		t.Errorf("filtered page: %d rows", n)
	}
	checkPage(t, "objects, filtered", body)

	body, d = timed(t, h, "/_sandbox/?provider=hambit&offset=2480")
	t.Logf("GET /_sandbox/?provider=hambit&offset=2480: %v", d)
	if n := len(rows.FindAllString(body, -1)); n != 20 || strings.Contains(body, `data-key="hambit/SBXFAKE1"`) {
		t.Errorf("last Hambit page: %d rows (accounts must not be listed)", n)
	}
	body, _ = timed(t, h, "/_sandbox/?kind=account")
	if n := len(rows.FindAllString(body, -1)); n != 2 {
		t.Errorf("accounts: %d rows", n)
	}

	body, d = timed(t, h, "/_sandbox/?q=K-01234")
	t.Logf("GET /_sandbox/?q= (search): %v", d)
	if n := len(rows.FindAllString(body, -1)); n != 1 {
		t.Errorf("search: %d rows", n)
	}

	_, d = timed(t, h, "/_sandbox/api/objects?limit=50")
	t.Logf("GET /_sandbox/api/objects (first page): %v", d)
	_, d = timed(t, h, "/_sandbox/api/objects?offset=9950&limit=50")
	t.Logf("GET /_sandbox/api/objects?offset=9950: %v", d)
	body, d = timed(t, h, "/_sandbox/journal")
	t.Logf("GET /_sandbox/journal: %v, %d bytes", d, len(body))
	checkPage(t, "journal", body)
	body, d = timed(t, h, "/_sandbox/journal?limit=100")
	t.Logf("GET /_sandbox/journal?limit=100: %v, %d bytes", d, len(body))
	checkPage(t, "journal, 100 a page", body)

	// The same in a browser: load, page to the end, filter.
	srv := serve(t, sb)
	p := newPage(t)
	p.open(srv.URL + "/_sandbox/")
	p.waitFor("the first page", `document.querySelectorAll('tr[data-key]').length === 50`)
	var ms float64
	p.eval(`performance.getEntriesByType('navigation')[0].duration`, &ms)
	t.Logf("browser: first page loaded in %.0f ms", ms)
	p.run(chromedp.Click(`a[rel=next] + a`)) // Last »
	p.waitFor("the last page", `document.querySelector('.pager').textContent.includes('Page 200 of 200')`)
	p.eval(`performance.getEntriesByType('navigation')[0].duration`, &ms)
	t.Logf("browser: last page loaded in %.0f ms", ms)
	p.run(chromedp.SetValue(`select[name=provider]`, "hambit"), chromedp.Click(`form.filters button[type=submit]`))
	p.waitFor("the Hambit filter", `document.querySelector('.pager').textContent.includes('Page 1 of 50') && [...document.querySelectorAll('tr[data-key]')].every(tr => tr.dataset.key.startsWith('hambit/'))`)
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
