package khipu

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/paysandbox/sandbox/emulators/internal/browsertest"
)

// createOverHTTP creates a payment through a real HTTP request signed as
// the official clients sign it, and returns the create response.
func createOverHTTP(t *testing.T, base string, p url.Values) createResponse {
	t.Helper()
	u := base + "/khipu/api/2.0/payments"
	r, _ := http.NewRequest("POST", u, strings.NewReader(p.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Authorization", SignRequest(DefaultSecret, DefaultReceiverID, "POST", u, p))
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("create: %d %s", res.StatusCode, b)
	}
	var out createResponse
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBrowserDemoBank walks the payer pages in headless Chromium: the
// DemoBank success path (redirect to return_url, notification) and the
// bank-error path (99 99 99, then a retry that succeeds).
func TestBrowserDemoBank(t *testing.T) {
	k := newKEnv(t, withOptions(func(o *sandboxOptions) { o.TimeScale = 0.001 }))
	srv := httptest.NewServer(k.h)
	defer srv.Close()
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><title>Tienda</title><h1 id="shop">Tienda: %s</h1>`, r.URL.Path)
	}))
	defer shop.Close()
	b := browsertest.New(t)
	// run bounds each step, so a broken page fails fast with a screenshot
	// instead of using up the browser's whole time budget.
	run := func(actions ...chromedp.Action) {
		t.Helper()
		ctx, cancel := context.WithTimeout(b.Ctx, 15*time.Second)
		defer cancel()
		if err := chromedp.Run(ctx, actions...); err != nil {
			t.Fatalf("browser: %v", err)
		}
	}

	// waitLocation polls the browser's URL until it equals want.
	waitLocation := func(want string, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		var loc string
		for time.Now().Before(deadline) {
			run(chromedp.Location(&loc))
			if loc == want {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("browser at %s, want %s", loc, want)
	}
	notification := func(id string) {
		t.Helper()
		n := k.env.Merchant.Next(t, 10*time.Second)
		if string(n.Body) != "api_version=1.3&notification_token="+k.stored(id).Token {
			t.Errorf("notification %s", n.Body)
		}
		if p := k.stored(id); p.Status != statusDone || p.Bank != "DemoBank" || p.PersonalIdentifier != "11.111.111-1" {
			t.Errorf("payment after the notification: %s %s %s", p.state(), p.Bank, p.PersonalIdentifier)
		}
	}
	params := func(tx string) url.Values {
		return url.Values{"subject": {"Compra en el navegador"}, "currency": {"CLP"}, "amount": {"2500"}, "transaction_id": {tx},
			"return_url": {shop.URL + "/return/" + tx + "?ok=1"}, "cancel_url": {shop.URL + "/cancel/" + tx},
			"notify_url": {"http://shop.test/notify"}}
	}
	// login runs from the e-mail step to the coordinates card; a retry
	// after a bank error starts at the RUT (login[enterRUT:]).
	const enterRUT = 3
	login := []chromedp.Action{
		chromedp.WaitVisible("#email", chromedp.ByQuery),
		chromedp.SetValue("#email", "pagador@example.com", chromedp.ByQuery),
		chromedp.Click("#continue", chromedp.ByQuery),
		chromedp.WaitVisible("#rut", chromedp.ByQuery), // login[enterRUT]
		chromedp.SetValue("#rut", "11.111.111-1", chromedp.ByQuery),
		chromedp.SendKeys("#password", "1234", chromedp.ByQuery),
		chromedp.Click("#continue", chromedp.ByQuery),
		chromedp.WaitVisible("#account-0", chromedp.ByQuery),
		chromedp.Click("#continue", chromedp.ByQuery),
		chromedp.WaitVisible("#c1", chromedp.ByQuery),
	}
	coords := func(c1, c2, c3 string) []chromedp.Action {
		return []chromedp.Action{
			chromedp.SendKeys("#c1", c1, chromedp.ByQuery),
			chromedp.SendKeys("#c2", c2, chromedp.ByQuery),
			chromedp.SendKeys("#c3", c3, chromedp.ByQuery),
			chromedp.Click("#continue", chromedp.ByQuery),
		}
	}

	// The success path.
	{
		out := createOverHTTP(t, srv.URL, params("B-OK"))
		if !strings.HasPrefix(out.PaymentURL, srv.URL+"/khipu/payment/info/") {
			t.Fatalf("payment_url %s", out.PaymentURL)
		}
		var amount, opcode string
		run(
			chromedp.Navigate(out.PaymentURL),
			chromedp.WaitVisible("#method-simplified", chromedp.ByQuery),
			chromedp.Text("#amount", &amount, chromedp.ByQuery),
			chromedp.Click("#method-simplified", chromedp.ByQuery),
			chromedp.WaitVisible("#bank-Bawdf", chromedp.ByQuery),
			chromedp.Click("#bank-Bawdf", chromedp.ByQuery),
		)
		if amount != "$2.500" {
			t.Errorf("amount shown %q", amount)
		}
		run(login...)
		run(coords("11", "22", "33")...)
		run(chromedp.WaitVisible("#operation-code", chromedp.ByQuery), chromedp.Text("#operation-code", &opcode, chromedp.ByQuery))
		if opcode != k.stored(out.PaymentID).OperationCode {
			t.Errorf("operation code %q", opcode)
		}
		// The page redirects by itself to return_url, unchanged, after 5 s.
		waitLocation(shop.URL+"/return/B-OK?ok=1", 10*time.Second)
		notification(out.PaymentID)
	}

	// The bank-error path, then a retry that succeeds.
	{
		out := createOverHTTP(t, srv.URL, params("B-ERR"))
		var msg string
		run(
			chromedp.Navigate(out.SimplifiedTransferURL),
			chromedp.WaitVisible("#bank-Bawdf", chromedp.ByQuery),
			chromedp.Click("#bank-Bawdf", chromedp.ByQuery),
		)
		run(login...)
		run(coords("99", "99", "99")...)
		run(chromedp.WaitVisible("#bank-message", chromedp.ByQuery), chromedp.Text("#bank-message", &msg, chromedp.ByQuery))
		if msg != "DemoBank informa: Error ejecutando transferencia" {
			t.Errorf("bank message %q", msg)
		}
		if p := k.stored(out.PaymentID); p.Status != statusPending {
			t.Fatalf("after the bank error: %s", p.state())
		}
		k.env.Merchant.None(t)
		run(chromedp.Click("#retry", chromedp.ByQuery))
		run(login[enterRUT:]...)
		run(coords("11", "22", "33")...)
		run(chromedp.WaitVisible("#return-link", chromedp.ByQuery), chromedp.Click("#return-link", chromedp.ByQuery))
		waitLocation(shop.URL+"/return/B-ERR?ok=1", 5*time.Second)
		notification(out.PaymentID)
	}
}

// TestBrowserShowAllBanks: with the two default banks nothing is hidden,
// so "Mostrar todos" is not offered; a search hides one, the button
// appears, and it shows every bank again.
func TestBrowserShowAllBanks(t *testing.T) {
	k := newKEnv(t)
	srv := httptest.NewServer(k.h)
	defer srv.Close()
	id := k.createV2(basicPayment())
	b := browsertest.New(t)
	ctx, cancel := context.WithTimeout(b.Ctx, 30*time.Second)
	defer cancel()
	var visible []string
	var buttonHidden bool
	state := func() {
		t.Helper()
		if err := chromedp.Run(ctx,
			chromedp.Evaluate(`[...document.querySelectorAll('#bank-list li')].filter(li => !li.hidden).map(li => li.querySelector('.bank-name').textContent)`, &visible),
			chromedp.Evaluate(`document.getElementById('show-all').hidden`, &buttonHidden)); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Run(ctx, chromedp.Navigate(srv.URL+"/khipu/payment/simplified/"+id), chromedp.WaitVisible("#bank-Bawdf", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	state()
	if len(visible) != 2 || !buttonHidden {
		t.Errorf("two banks: visible %v, Mostrar todos hidden=%v (want both banks, no button)", visible, buttonHidden)
	}
	if err := chromedp.Run(ctx, chromedp.SendKeys("#bank-search", "2", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	state()
	if len(visible) != 1 || buttonHidden {
		t.Errorf("after a search: visible %v, Mostrar todos hidden=%v (want one bank and the button)", visible, buttonHidden)
	}
	if err := chromedp.Run(ctx, chromedp.Click("#show-all", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	state()
	if len(visible) != 2 || !buttonHidden {
		t.Errorf("after Mostrar todos: visible %v, button hidden=%v", visible, buttonHidden)
	}
}
