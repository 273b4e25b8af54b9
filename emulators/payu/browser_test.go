package payu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/paysandbox/sandbox/emulators/internal/browsertest"
)

// PAYU check 10: the WebPay page in a real browser: the payer sees the
// amount in Spanish, types a TBK test card, presses Pagar and lands on the
// shop's response page with the signed parameters.
func TestWebPayBrowser(t *testing.T) {
	e := newEnv(t, envOpt{})
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><title>shop</title><p id="state">%s</p>`, r.URL.Query().Get("lapTransactionState"))
	}))
	defer shop.Close()

	body := payReq{ref: "BROWSER-1", method: "TRANSBANK_DEBIT", extra: `"RESPONSE_URL":"` + shop.URL + `/done"`}.json()
	resp, err := http.Post(srv.URL+paymentsPath, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	resp.Body.Close()
	tr := txOf(t, m)
	ex := dig(tr, "extraParameters").(map[string]any)
	pageURL := str(ex["URL_PAYMENT_REDIRECT"]) + "?token_ws=" + str(ex["TRANSBANK_DIRECT_TOKEN"])

	b := browsertest.New(t)
	var amount, reference, state, location string
	b.Run(
		chromedp.Navigate(pageURL),
		chromedp.WaitVisible("#pay", chromedp.ByID),
		chromedp.Text("#amount", &amount, chromedp.ByID),
		chromedp.Text("#reference", &reference, chromedp.ByID),
		chromedp.SetValue("#card", "4051 8842 3993 7764", chromedp.ByID),
		chromedp.Click("#pay", chromedp.ByID),
		chromedp.WaitVisible("#error", chromedp.ByID),
		chromedp.SetValue("#card", "4051 8842 3993 7763", chromedp.ByID),
		chromedp.Click("#pay", chromedp.ByID),
		chromedp.WaitVisible("#state", chromedp.ByID),
		chromedp.Text("#state", &state, chromedp.ByID),
		chromedp.Location(&location),
	)
	if amount != "$10.000" || reference != "BROWSER-1" {
		t.Errorf("page shows %q %q", amount, reference)
	}
	if state != "APPROVED" {
		t.Errorf("shop page state %q", state)
	}
	u, _ := url.Parse(location)
	if !strings.HasPrefix(location, shop.URL+"/done?") {
		t.Fatalf("landed on %s", location)
	}
	checkResponseSignature(t, u.Query())
	if u.Query().Get("cc_number") != "************7763" {
		t.Errorf("cc_number %q", u.Query().Get("cc_number"))
	}
	// Anular compra on a second payment.
	resp, err = http.Post(srv.URL+paymentsPath, "application/json", strings.NewReader(payReq{ref: "BROWSER-2", method: "TRANSBANK_DEBIT", extra: `"RESPONSE_URL":"` + shop.URL + `/done"`}.json()))
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&m)
	resp.Body.Close()
	ex = dig(txOf(t, m), "extraParameters").(map[string]any)
	b.Run(
		chromedp.Navigate(str(ex["URL_PAYMENT_REDIRECT"])+"?token_ws="+str(ex["TRANSBANK_DIRECT_TOKEN"])),
		chromedp.WaitVisible("#cancel", chromedp.ByID),
		chromedp.Click("#cancel", chromedp.ByID),
		chromedp.WaitVisible("#state", chromedp.ByID),
		chromedp.Text("#state", &state, chromedp.ByID),
	)
	if state != "DECLINED" {
		t.Errorf("after Anular compra: %q", state)
	}
}
