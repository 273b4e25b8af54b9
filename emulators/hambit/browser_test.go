package hambit

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/paysandbox/sandbox/emulators/internal/browsertest"
	"github.com/paysandbox/sandbox/emulators/internal/sandboxtest"
)

// TestCashierBrowser walks the cashier page in headless Chromium
// (conformance check 19): pay with the redirect to returnUrl, pay another
// amount, fail, let expire, the countdown running out, refusal after the
// expiry, and the 404 page.
func TestCashierBrowser(t *testing.T) {
	e := newTestEnv(t, nil, sandboxtest.Options{})
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><title>shop</title><h1 id="returned">Back at the shop</h1>`))
	}))
	defer shop.Close()
	returnURL := shop.URL + "/order/return?id=42"

	create := func(ext string) created {
		t.Helper()
		body := collectionBody(ext, "returnUrl", `"`+returnURL+`"`)
		var c created
		wantCode(t, e.api("POST", srv.URL+createPath, body), 200, "200").into(t, &c)
		return c
	}
	status := func(id string) json.Number {
		t.Helper()
		return e.query(t, kindCollection, `{"orderId":"`+id+`"}`)["orderStatus"].(json.Number)
	}
	b := browsertest.New(t)

	// H-19 pay redirects to returnUrl
	{
		c := create("BR-PAY")
		if !strings.HasPrefix(c.CashierURL, srv.URL+"/hambit/cashier/") {
			t.Fatalf("cashierUrl %s is not on the test server", c.CashierURL)
		}
		var merchant, amount, remaining, loc, methods string
		b.Run(
			chromedp.Navigate(c.CashierURL),
			chromedp.WaitVisible("#pay", chromedp.ByQuery),
			chromedp.Text("#merchant", &merchant, chromedp.ByQuery),
			chromedp.Text("#amount", &amount, chromedp.ByQuery),
			chromedp.Text("#methods", &methods, chromedp.ByQuery),
			chromedp.Text("#remaining", &remaining, chromedp.ByQuery),
		)
		if merchant != "paysandbox_fake_merchant" || amount != "1500" || !strings.Contains(methods, "BANK (102)") {
			t.Errorf("page shows %q %q %q", merchant, amount, methods)
		}
		if !regexp.MustCompile(`^(29|30):[0-5][0-9]$`).MatchString(remaining) {
			t.Errorf("countdown %q", remaining)
		}
		b.Run(
			chromedp.Click("#pay", chromedp.ByQuery),
			chromedp.WaitVisible("#returned", chromedp.ByQuery),
			chromedp.Location(&loc),
		)
		if loc != returnURL {
			t.Errorf("redirected to %s, want %s", loc, returnURL)
		}
		cb := e.Merchant.Next(t, 5*time.Second)
		if !verifyCallback(t, cb.Header, cb.Body, DefaultSecretKey, false) {
			t.Error("callback after the page payment does not verify")
		}
		if s := status(c.Vo.OrderID); s != "2" {
			t.Errorf("status %s", s)
		}
	}

	// H-19 pay another amount
	{
		c := create("BR-AMT")
		var loc string
		b.Run(
			chromedp.Navigate(c.CashierURL),
			chromedp.WaitVisible("#amount-input", chromedp.ByQuery),
			chromedp.Evaluate(`document.getElementById("amount-input").value = ""`, nil),
			chromedp.SendKeys("#amount-input", "1234", chromedp.ByQuery),
			chromedp.Click("#pay-amount", chromedp.ByQuery),
			chromedp.WaitVisible("#returned", chromedp.ByQuery),
			chromedp.Location(&loc),
		)
		body := decodeBody(t, e.Merchant.Next(t, 5*time.Second).Body)
		want(t, "orderActualAmount", body["orderActualAmount"], "1234")
		want(t, "redirect", loc, returnURL)
	}

	// H-19 fail
	{
		c := create("BR-FAIL")
		var heading, payType, loc string
		var apart bool
		b.Run(
			chromedp.Navigate(c.CashierURL),
			chromedp.WaitVisible("#fail", chromedp.ByQuery),
			chromedp.Text("#pay-type", &payType, chromedp.ByQuery),
			// The test controls sit in their own section, apart from the
			// payer's Pay button.
			chromedp.Evaluate(`!!document.querySelector('.test-controls #fail') && !document.querySelector('.test-controls #pay')`, &apart),
			chromedp.Click("#fail", chromedp.ByQuery),
			chromedp.WaitVisible("#result", chromedp.ByQuery),
			chromedp.Text("#heading", &heading, chromedp.ByQuery),
		)
		want(t, "heading", heading, "Payment failed")
		if !apart {
			t.Error("the fail button is not set apart in the test controls")
		}
		if !strings.Contains(payType, "(102)") || !strings.Contains(payType, "bank transfer") {
			t.Errorf("pay type %q is not explained", payType)
		}
		// After the failure, the way back to the shop's returnUrl.
		b.Run(
			chromedp.Click("#back-to-shop", chromedp.ByQuery),
			chromedp.WaitVisible("#returned", chromedp.ByQuery),
			chromedp.Location(&loc),
		)
		want(t, "back to the shop", loc, returnURL)
		body := decodeBody(t, e.Merchant.Next(t, 5*time.Second).Body)
		want(t, "callback status", body["orderStatusCode"], json.Number("16"))
	}

	// H-19 let expire
	{
		c := create("BR-EXP")
		var heading, st string
		b.Run(
			chromedp.Navigate(c.CashierURL),
			chromedp.WaitVisible("#expire", chromedp.ByQuery),
			chromedp.Click("#expire", chromedp.ByQuery),
			chromedp.WaitVisible("#result", chromedp.ByQuery),
			chromedp.Text("#heading", &heading, chromedp.ByQuery),
			chromedp.Navigate(c.CashierURL),
			chromedp.WaitVisible("#status", chromedp.ByQuery),
			chromedp.Text("#status", &st, chromedp.ByQuery),
		)
		want(t, "heading", heading, "Cashier closed")
		want(t, "page after expiry", st, "This cashier has expired.")
		want(t, "status stays 1", status(c.Vo.OrderID), json.Number("1"))
		e.Merchant.None(t)
	}

	// H-19 refusal after the deadline
	{
		c := create("BR-LATE")
		var heading string
		b.Run(
			chromedp.Navigate(c.CashierURL),
			chromedp.WaitVisible("#pay", chromedp.ByQuery),
		)
		// The sandbox clock passes cashierExpireTime while the page is open.
		if err := e.Clock.Advance(cashierLifetime); err != nil {
			t.Fatal(err)
		}
		b.Run(
			chromedp.Click("#pay", chromedp.ByQuery),
			chromedp.WaitVisible("#result", chromedp.ByQuery),
			chromedp.Text("#heading", &heading, chromedp.ByQuery),
		)
		want(t, "refusal", heading, "This payment can no longer be made")
		want(t, "status", status(c.Vo.OrderID), json.Number("1"))
		e.Merchant.None(t)
	}

	// H-19 countdown runs out
	{
		c := create("BR-TICK")
		if err := e.Clock.Advance(cashierLifetime - 2*time.Second); err != nil {
			t.Fatal(err)
		}
		var text string
		var disabled bool
		b.Run(
			chromedp.Navigate(c.CashierURL),
			chromedp.WaitVisible("#countdown.expired", chromedp.ByQuery),
			chromedp.Text("#countdown", &text, chromedp.ByQuery),
			chromedp.Evaluate(`document.getElementById("pay").disabled`, &disabled),
		)
		want(t, "countdown", text, "This cashier has expired.")
		want(t, "buttons disabled", disabled, true)
	}

	// H-19 unknown cashier
	{
		var heading string
		b.Run(
			chromedp.Navigate(srv.URL+"/hambit/cashier/OCURRPAIDNOSUCHCASHIER"),
			chromedp.WaitVisible("#notfound", chromedp.ByQuery),
			chromedp.Text("#heading", &heading, chromedp.ByQuery),
		)
		want(t, "404 page", heading, "Cashier not found")
	}
}

// TestPayTypeExplained: the cashier says what a pay type code means.
func TestPayTypeExplained(t *testing.T) {
	for code, want := range map[int]string{payTypeGen: "generic checkout (GEN)", payTypeBank: "bank transfer", 999: "payment method Hambit assigned"} {
		if got := payTypeHelp(code); !strings.Contains(got, want) {
			t.Errorf("payTypeHelp(%d) = %q, want it to say %q", code, got, want)
		}
	}
}
