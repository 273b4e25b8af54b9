package sandbox_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/paysandbox/sandbox/emulators/sandbox"
	"github.com/paysandbox/sandbox/sandboxtest"
)

// demoSandbox is a whole sandbox on a real listener, with waits shrunk
// (verification delays and retries run 100× faster) and real HTTP
// callbacks, so the demo shop's own endpoint receives them.
func demoSandbox(t *testing.T) (*sandbox.Sandbox, string) {
	kit := sandboxtest.New(t, sandboxtest.TimeScale(0.01))
	return kit.Core(), kit.URL
}

// buy fills the shop's form in the browser and pays.
func (p *page) buy(base, product, method string) {
	p.t.Helper()
	p.open(base + "/_sandbox/demo")
	p.run(chromedp.Click("#p-"+product), chromedp.Click("#m-"+method), chromedp.Click("#pay"))
}

// orderPaid waits until the order page says paid (it follows the order by
// itself), and returns the order id.
func (p *page) orderPaid(what string) string {
	p.t.Helper()
	p.waitFor(what+": the order page", `location.pathname.startsWith('/_sandbox/demo/orders/')`)
	p.waitFor(what+": paid after the callback", `(document.querySelector('#order-state')||{}).textContent.startsWith('Paid')`)
	// The step that received the callback links to its attempt in the journal.
	p.waitFor(what+": the callback's journal link", `[...document.querySelectorAll('#steps a')].some(a => a.textContent.startsWith('callback #'))`)
	var id string
	p.eval(`location.pathname.split('/').pop()`, &id)
	return id
}

// checkout buys from Go (no browser) and returns where the shop sends the payer.
func checkout(t *testing.T, base string, form url.Values) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	page, err := c.Get(base + "/_sandbox/demo")
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	form = cloneValues(form)
	if m := csrfField.FindSubmatch(html); m != nil {
		form.Set("csrf", string(m[1]))
	}
	resp, err := c.PostForm(base+"/_sandbox/demo/checkout", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("checkout: %d", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

// apiJSON calls the admin API from Go.
func apiJSON(t *testing.T, method, target, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// objectsByRef lists the objects whose reference is ref.
func objectsByRef(t *testing.T, base, ref string) map[string]string {
	var page struct {
		Objects []struct{ Provider, Kind, ID, Status string }
	}
	apiJSON(t, "GET", base+"/_sandbox/api/objects?q="+url.QueryEscape(ref), "", &page)
	out := map[string]string{}
	for _, o := range page.Objects {
		out[o.Provider+" "+o.Kind] = o.ID
	}
	return out
}

// TestDemoShopEveryMethod buys one item through each of the five methods,
// in a browser, end to end: the shop creates the charge over HTTP, the
// payer pays on the provider's page, the provider's callback reaches the
// shop's endpoint, and only then is the order paid.
func TestDemoShopEveryMethod(t *testing.T) {
	_, base := demoSandbox(t)
	shared := newPage(t)
	t.Run("khipu", func(t *testing.T) {
		p := shared.with(t)
		p.buy(base, "coffee", "khipu")
		p.waitFor("Khipu's payment page", `location.pathname.startsWith('/khipu/payment/info/')`)
		p.run(chromedp.Click("#method-simplified"))
		p.demoBank(true)
		id := p.orderPaid("Khipu")
		var steps string
		p.eval(`document.querySelector('#steps').innerText`, &steps)
		for _, want := range []string{"Khipu payment created", "Khipu's notification arrived", "notification API 1.3", "GET /payments?notification_token="} {
			if !strings.Contains(steps, want) {
				t.Errorf("order %s steps lack %q:\n%s", id, want, steps)
			}
		}
		var links int
		p.eval(`document.querySelectorAll('#steps a[href^="/_sandbox/journal/"]').length`, &links)
		if links != 3 {
			t.Errorf("%d journal links in the steps, want the create, the notification and the token lookup", links)
		}
	})
	t.Run("khipu via payu", func(t *testing.T) {
		p := shared.with(t)
		p.buy(base, "mug", "payu-khipu")
		p.waitFor("Khipu's simplified transfer (bank preselected)", `location.pathname.startsWith('/khipu/payment/simplified/')`)
		p.demoBank(false)
		p.orderPaid("Khipu via PayU")
		var steps string
		p.eval(`document.querySelector('#steps').innerText`, &steps)
		for _, want := range []string{"Khipu payment", "PayU's confirmation arrived", "The payer came back from PayU's response page"} {
			if !strings.Contains(steps, want) {
				t.Errorf("steps lack %q:\n%s", want, steps)
			}
		}
	})
	t.Run("webpay via payu", func(t *testing.T) {
		p := shared.with(t)
		p.buy(base, "mug", "payu-webpay")
		p.waitFor("the WebPay page", `location.pathname === '/payu/webpay/initTransaction'`)
		p.run(chromedp.Click("#pay"))
		p.orderPaid("WebPay via PayU")
		var steps string
		p.eval(`document.querySelector('#steps').innerText`, &steps)
		if !strings.Contains(steps, "The payer came back from PayU's response page") || !strings.Contains(steps, "its signature verifies") {
			t.Errorf("the response page step is missing or unverified:\n%s", steps)
		}
	})
	t.Run("card via payu", func(t *testing.T) {
		p := shared.with(t)
		p.buy(base, "coffee", "payu-card")
		id := p.orderPaid("card via PayU")
		var steps string
		p.eval(`document.querySelector('#steps').innerText`, &steps)
		for _, want := range []string{"PayU transaction submitted", "request #", "PayU's confirmation arrived", "sign verified; state_pol 4"} {
			if !strings.Contains(steps, want) {
				t.Errorf("order %s steps lack %q:\n%s", id, want, steps)
			}
		}
		// Each step links to the dashboard: the request's journal entry shows it.
		p.run(chromedp.Click(`#steps a[href^="/_sandbox/journal/"]`))
		p.waitFor("the request's journal entry", `document.querySelector('h1').textContent.includes('SUBMIT_TRANSACTION')`)
	})
	t.Run("hambit", func(t *testing.T) {
		p := shared.with(t)
		p.buy(base, "notebook", "hambit")
		p.waitFor("Hambit's cashier", `location.pathname.startsWith('/hambit/cashier/')`)
		p.run(chromedp.Click("#pay"))
		p.orderPaid("Hambit")
		var steps string
		p.eval(`document.querySelector('#steps').innerText`, &steps)
		if !strings.Contains(steps, "Hambit's callback arrived") || !strings.Contains(steps, "orderStatusCode 2") {
			t.Errorf("steps:\n%s", steps)
		}
	})
}

// The dashboard follows the sandbox live: an object appears and changes
// status without a reload, an action button acts, and the callback it
// causes shows up in the object's page.
func TestDashboardFollowsLiveAndActs(t *testing.T) {
	_, base := demoSandbox(t)
	p := newPage(t)
	p.open(base + "/_sandbox/")
	p.waitFor("the live indicator", `document.querySelector('#sbx-live').classList.contains('on')`)

	// A shop order made elsewhere appears in the open list.
	loc := checkout(t, base, url.Values{"product": {"notebook"}, "method": {"payu-webpay"}})
	if !strings.Contains(loc, "/payu/webpay/initTransaction?token_ws=") {
		t.Fatalf("checkout sent the payer to %q", loc)
	}
	p.waitFor("the new transaction row", `[...document.querySelectorAll('tr[data-key^="payu/"]')].some(tr => tr.textContent.includes('PENDING'))`)
	p.stayed("objects list, new object")
	var ref string
	p.eval(`document.querySelector('tr[data-key^="payu/"] td.ref').textContent`, &ref)
	ids := objectsByRef(t, base, ref)
	tx := ids["payu transaction"]
	if tx == "" {
		t.Fatalf("no transaction for %s: %v", ref, ids)
	}

	// A status change made elsewhere shows in the same list.
	if code := apiJSON(t, "POST", base+"/_sandbox/api/objects/payu/"+tx+"/actions/expire", "{}", nil); code != 200 {
		t.Fatalf("expire: %d", code)
	}
	p.waitFor("the status change", `(document.querySelector('tr[data-key="payu/`+tx+`"]')||{textContent:''}).textContent.includes('EXPIRED')`)
	p.stayed("objects list, status change")

	// An action button on an object's page, and the callback it causes.
	checkout(t, base, url.Values{"product": {"coffee"}, "method": {"payu-webpay"}})
	var list struct {
		Objects []struct{ ID, Kind, Status, Reference string }
	}
	apiJSON(t, "GET", base+"/_sandbox/api/objects?provider=payu&kind=transaction&status=PENDING", "", &list)
	if len(list.Objects) != 1 {
		t.Fatalf("pending transactions: %+v", list.Objects)
	}
	tx = list.Objects[0].ID
	p.open(base + "/_sandbox/objects/payu/" + tx)
	p.waitFor("the live indicator", `document.querySelector('#sbx-live').classList.contains('on')`)
	p.run(chromedp.Click(`button[data-action="approve"]`))
	p.waitFor("the approved status", `document.querySelector('#obj-status').textContent === 'APPROVED'`)
	p.waitFor("the callback journaled on the page", `(document.querySelector('#callbacks')||{}).textContent.includes('acknowledged')`)
	p.stayed("object page")
	var cb string
	p.eval(`document.querySelector('#callbacks').innerText`, &cb)
	if !strings.Contains(cb, "/_sandbox/demo/callbacks/payu") || !strings.Contains(cb, "200") {
		t.Errorf("callbacks section: %s", cb)
	}
	// Resend it by hand from the same page.
	p.run(chromedp.Click(`#callbacks button[data-resend]`))
	p.waitFor("the manual attempt", `document.querySelector('#callbacks').textContent.includes('(manual)')`)
	// The shop got it: its order is paid.
	p.open(base + "/_sandbox/demo/orders/" + list.Objects[0].Reference)
	p.waitFor("the shop's order paid", `document.querySelector('#order-state').textContent.startsWith('Paid')`)

	// An action with parameters: Khipu's pay, with an outcome and a flag.
	order, payment := newOrder(t, base, "khipu")
	p.open(base + "/_sandbox/objects/khipu/" + payment)
	p.waitFor("the live indicator", `document.querySelector('#sbx-live').classList.contains('on')`)
	p.run(chromedp.SetValue(`#p-pay-outcome`, "approve"), chromedp.Click(`form.action input[name=skip_verify]`),
		chromedp.Click(`button[data-action="pay"]`))
	p.waitFor("the payment done", `document.querySelector('#obj-status').textContent.startsWith('done')`)
	p.waitFor("Khipu's notification journaled", `(document.querySelector('#callbacks')||{}).textContent.includes('acknowledged')`)
	p.stayed("Khipu payment page")
	if st := orderState(t, base, order); st != "paid" {
		t.Errorf("after the notification the shop's order is %q", st)
	}
}

// demoBank pays on Khipu's simplified-transfer pages the way a payer does:
// (bank), e-mail, RUT and password, account, coordinates 11 22 33.
func (p *page) demoBank(chooseBank bool) {
	p.t.Helper()
	if chooseBank {
		p.waitFor("Khipu's bank list", `!!document.querySelector('#bank-Bawdf')`)
		p.run(chromedp.Click("#bank-Bawdf"))
	}
	p.waitFor("Khipu's e-mail step", `!!document.querySelector('#email')`)
	p.run(chromedp.SetValue("#email", "pagador@example.com"), chromedp.Click("#continue"))
	p.waitFor("DemoBank's login", `!!document.querySelector('#password')`)
	p.run(chromedp.SetValue("#rut", "11.111.111-1"), chromedp.SetValue("#password", "1234"), chromedp.Click("#continue"))
	p.waitFor("the account step", `!!document.querySelector('#account-0')`)
	p.run(chromedp.Click("#continue"))
	p.waitFor("the coordinates card", `!!document.querySelector('#c3')`)
	p.run(chromedp.SetValue("#c1", "11"), chromedp.SetValue("#c2", "22"), chromedp.SetValue("#c3", "33"), chromedp.Click("#continue"))
	p.waitFor("the transfer done", `document.querySelector('h1').textContent.includes('Listo, transferiste')`)
	p.run(chromedp.Click("#return-link"))
}

// A correct integration ships only after the callback: with Khipu's
// notification held back by a scenario, the payment is done at Khipu but
// the order waits, until the sandbox clock reaches the notification.
func TestDemoShopWaitsForTheCallback(t *testing.T) {
	sb, base := demoSandbox(t)
	if code := apiJSON(t, "POST", base+"/_sandbox/api/scenarios", "name: late-notice\nrules:\n  - {provider: khipu, on: notify, then: {delay: 1h}}\n", nil); code != 201 {
		t.Fatalf("upload: %d", code)
	}
	p := newPage(t)
	p.open(base + "/_sandbox/demo")
	p.run(chromedp.Click("#p-coffee"), chromedp.Click("#m-khipu"), chromedp.SetValue("#scenario", "late-notice"), chromedp.Click("#pay"))
	p.waitFor("Khipu's payment page", `location.pathname.startsWith('/khipu/payment/info/')`)
	var paymentID string
	p.eval(`location.pathname.split('/').pop()`, &paymentID)
	p.run(chromedp.Click("#method-simplified"))
	p.demoBank(true)
	p.waitFor("the order page", `location.pathname.startsWith('/_sandbox/demo/orders/')`)
	// Khipu has settled the payment; the shop has heard nothing.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var o struct{ Status, Scenario string }
		apiJSON(t, "GET", base+"/_sandbox/api/objects/khipu/"+paymentID, "", &o)
		if strings.HasPrefix(o.Status, "done") {
			if o.Scenario != "late-notice" {
				t.Errorf("the payment's scenario is %q", o.Scenario)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Khipu payment is %q, not done", o.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.run(chromedp.Reload())
	var state string
	p.eval(`document.querySelector('#order-state').textContent`, &state)
	if strings.HasPrefix(state, "Paid") || !strings.Contains(state, "Nothing is paid until the provider's callback says so") {
		t.Fatalf("before the notification the order says %q", state)
	}
	// The notification's time comes: the open page turns paid by itself.
	if code := apiJSON(t, "POST", base+"/_sandbox/api/clock/advance", `{"by":"1h"}`, nil); code != 200 {
		t.Fatalf("advance: %d", code)
	}
	p.orderPaid("Khipu after the late notification")
	_ = sb
}
