package sandbox_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/paysandbox/sandbox/emulators/internal/browsertest"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/sandbox"
)

// serve starts a real listener for a sandbox; the cleanup ends the event
// streams first, so closing the server never waits on an open page.
func serve(t testing.TB, sb *sandbox.Sandbox) *httptest.Server {
	srv := httptest.NewServer(sb.Handler())
	sb.AddListener(srv.Listener.Addr())
	t.Cleanup(func() {
		sb.BeginShutdown()
		srv.Close()
	})
	return srv
}

// page wraps a browser for one test with the waits the dashboard needs.
type page struct {
	t *testing.T
	b *browsertest.Browser
}

func newPage(t *testing.T) *page { return &page{t: t, b: browsertest.New(t)} }

// open navigates and marks the window, so that a later check can tell the
// page was updated in place rather than reloaded.
func (p *page) open(url string) {
	p.t.Helper()
	p.run(chromedp.Navigate(url), chromedp.Evaluate(`window.__stay = 1`, nil))
}

// waitFor polls a JavaScript predicate, across navigations; on timeout it
// saves a screenshot named after what it waited for and fails with the
// page's text.
func (p *page) waitFor(what, js string) {
	p.t.Helper()
	expr := `(function(){ try { return !!(` + js + `) } catch (e) { return false } })()`
	deadline := time.Now().Add(20 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		var ok bool
		ctx, cancel := context.WithTimeout(p.b.Ctx, 2*time.Second)
		err = chromedp.Run(ctx, chromedp.Evaluate(expr, &ok))
		cancel()
		if err == nil && ok {
			return
		}
		time.Sleep(40 * time.Millisecond)
	}
	p.b.Screenshot(what)
	var text, url string
	chromedp.Run(p.b.Ctx, chromedp.Location(&url), chromedp.Evaluate(`(document.querySelector('main')||document.body).innerText.slice(0, 3000)`, &text))
	p.t.Fatalf("waiting for %s on %s (last error %v)\n--- page text ---\n%s", what, url, err, text)
}

// run runs browser actions, failing the page's test (a subtest's, when the
// browser is shared) on error.
func (p *page) run(actions ...chromedp.Action) {
	p.t.Helper()
	if err := chromedp.Run(p.b.Ctx, actions...); err != nil {
		p.b.Screenshot("run")
		p.t.Fatalf("browser: %v", err)
	}
}

// with returns the page for a subtest.
func (p *page) with(t *testing.T) *page { return &page{t: t, b: p.b} }

// stayed checks the page was not reloaded since open.
func (p *page) stayed(what string) {
	p.t.Helper()
	var v int
	p.run(chromedp.Evaluate(`window.__stay || 0`, &v))
	if v != 1 {
		p.b.Screenshot(what)
		p.t.Fatalf("%s: the page was reloaded; it should update in place", what)
	}
}

// eval evaluates js, retrying while the page is between two documents
// (the order pages reload themselves when the order changes).
func (p *page) eval(js string, res any) {
	p.t.Helper()
	var err error
	for try := 0; try < 50; try++ {
		ctx, cancel := context.WithTimeout(p.b.Ctx, 2*time.Second)
		err = chromedp.Run(ctx, chromedp.Evaluate(js, res))
		cancel()
		if err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.b.Screenshot("eval")
	p.t.Fatalf("evaluating %.60q: %v", js, err)
}

func jsString(s string) string { return strconv.Quote(s) }

func TestDashboardInBrowser(t *testing.T) {
	sb := dashSandbox(t, nil, sandbox.Options{})
	srv := serve(t, sb)
	p := newPage(t)

	// Scenarios: a broken upload lists its problems inline, a good one
	// appears in the list, activating it updates the header, all in place.
	p.open(srv.URL + "/_sandbox/scenarios")
	p.waitFor("the live indicator", `document.querySelector('#sbx-live').classList.contains('on')`)
	p.run(chromedp.SetValue("#yaml", "name: broken\nrules:\n  - provider: khipu\n    on: pay\n    then: {outcome: aprove}\n"),
		chromedp.Click(`#upload button[type=submit]`))
	p.waitFor("inline upload problems", `(document.querySelector('#upload-problems')||{}).textContent.includes('did you mean "approve"')`)
	p.run(chromedp.Click(`#upload-problems button[data-line="5"]`))
	var sel string
	p.eval(`(function(){var t=document.activeElement; return t.id + ':' + t.value.slice(t.selectionStart, t.selectionEnd)})()`, &sel)
	if sel != "yaml:    then: {outcome: aprove}" {
		t.Errorf("the line button selected %q", sel)
	}
	p.run(chromedp.SetValue("#yaml", "name: browser-made\ndescription: made in a browser test\nrules:\n  - {provider: khipu, on: pay, then: {outcome: abandon}}\n"),
		chromedp.Click(`#upload button[type=submit]`))
	p.waitFor("the uploaded scenario in the list", `!!document.querySelector('[data-scenario="browser-made"] button')`)
	p.run(chromedp.Click(`[data-scenario="browser-made"] button`))
	p.waitFor("the header to show the active scenario", `document.querySelector('#sbx-scenario').textContent === 'browser-made'`)
	p.stayed("scenarios")
	if sb.Scenarios().Active() != "browser-made" {
		t.Errorf("active scenario %q", sb.Scenarios().Active())
	}

	// Clock: a quick-advance button moves the sandbox clock; the page follows.
	p.open(srv.URL + "/_sandbox/clock")
	p.run(chromedp.Click(`.quick form:nth-of-type(3) button`)) // +1h
	p.waitFor("the clock page to show the offset", `document.querySelector('#clock-offset').textContent.trim() === '1h0m0s'`)
	p.waitFor("the advance message", `document.querySelector('#flash').textContent.includes('advanced 1h: ')`)
	p.stayed("clock")
	// One clock in the header: the sandbox's, no local "updated" time.
	var header string
	p.eval(`document.querySelector('header.top').innerText`, &header)
	if strings.Contains(header, "updated") || strings.Count(header, ":") > 3 {
		t.Errorf("the header shows more than the sandbox clock: %q", header)
	}
	if off := sb.Clock().Offset(); off != time.Hour {
		t.Errorf("offset %v after +1h", off)
	}
	// Reset from the page (the confirmation dialog is accepted).
	sb.Journal().Add(journal.Entry{Kind: journal.KindNote, Provider: "khipu", Summary: "before the reset"})
	p.eval(`window.confirm = function(){ return true }`, nil)
	p.run(chromedp.Click(`#reset button[type=submit]`))
	p.waitFor("the reset message", `document.querySelector('#flash').textContent.includes("reset: every provider's objects")`)
	if n := sb.Journal().Stats().Entries; n != 0 {
		t.Errorf("%d journal entries after the reset", n)
	}

	// Journal: an entry journaled after the page loaded appears in place.
	p.open(srv.URL + "/_sandbox/journal")
	p.waitFor("the live indicator", `document.querySelector('#sbx-live').classList.contains('on')`)
	e := signatureEntry(sb)
	id := strconv.FormatUint(e.ID, 10)
	p.waitFor("the new entry row", `!!document.querySelector('tr[data-id="`+id+`"]')`)
	p.stayed("journal")

	// The signature screen: paste a string, see where it differs.
	p.open(srv.URL + "/_sandbox/journal/" + id)
	mine := strings.Replace(e.Request.Signature.Candidates[0].StringToSign, "amount=1570", "amount=1571", 1)
	p.eval(`(function(){var m=document.getElementById('mine'); m.value=`+jsString(mine)+`; m.dispatchEvent(new Event('input'))})()`, nil)
	p.waitFor("the comparison", `document.querySelector('#mine-result').textContent.includes('differs at character')`)
	var out string
	p.eval(`document.querySelector('#mine-result').textContent`, &out)
	at := strings.Index(mine, "amount=1571") + len("amount=157") + 1
	if !strings.Contains(out, "request URL: differs at character "+strconv.Itoa(at)+" ") || !strings.Contains(out, "[1&currency") {
		t.Errorf("comparison says %q", out)
	}
	p.eval(`(function(){var m=document.getElementById('mine'); m.value='deadbe11ff'; m.dispatchEvent(new Event('input'))})()`, nil)
	p.waitFor("the signature recognised", `document.querySelector('#mine-result').textContent.includes("that is this candidate's signature")`)
}

func TestDashboardInBrowserWithAdminToken(t *testing.T) {
	sb := dashSandbox(t, func(c *sandbox.Config) { c.AdminToken = "tok-123" }, sandbox.Options{})
	srv := serve(t, sb)
	p := newPage(t)
	p.open(srv.URL + "/_sandbox/clock")
	p.waitFor("the token form", `document.body.textContent.includes('Admin token needed')`)
	p.run(chromedp.SetValue(`input[name=token]`, "tok-12"), chromedp.Submit(`input[name=token]`))
	p.waitFor("a wrong token said to be wrong", `document.querySelector('#login-error') && document.querySelector('#login-error').textContent.includes("not this sandbox's admin token")`)
	p.run(chromedp.SetValue(`input[name=token]`, "tok-123"), chromedp.Submit(`input[name=token]`))
	p.waitFor("the clock page", `!!document.querySelector('#clock-offset')`)
	var loc string
	p.run(chromedp.Location(&loc))
	if loc != srv.URL+"/_sandbox/clock" {
		t.Errorf("after the login the address is %q, want the clean page URL", loc)
	}
	// The script's API calls and the event stream use the cookie.
	p.waitFor("the event stream", `document.querySelector('#sbx-live').classList.contains('on')`)
	p.eval(`window.__stay = 1`, nil)
	p.run(chromedp.Click(`.quick form:nth-of-type(1) button`)) // +1m
	p.waitFor("the advance", `document.querySelector('#clock-offset').textContent.trim() === '1m0s'`)
	p.stayed("clock with a token")
}

// a11yProblems lists what a keyboard or screen-reader user would trip on:
// form controls without a label, images without alt text, buttons and
// links without text, not exactly one h1, no language; and, on a phone,
// content wider than the screen (tables scroll in their own box).
const a11yProblems = `(function(){
  var out = [];
  document.querySelectorAll('input,select,textarea').forEach(function(el){
    if (el.type === 'hidden' || el.closest('[hidden]')) return;
    if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby')) out.push('unlabelled ' + el.outerHTML.slice(0, 80));
  });
  document.querySelectorAll('img').forEach(function(el){ if (!el.hasAttribute('alt')) out.push('img without alt ' + el.src); });
  document.querySelectorAll('button,a[href]').forEach(function(el){
    if (!el.textContent.trim() && !el.getAttribute('aria-label')) out.push('empty ' + el.outerHTML.slice(0, 80));
  });
  if (document.querySelectorAll('h1').length !== 1) out.push(document.querySelectorAll('h1').length + ' h1 elements');
  if (!document.documentElement.lang) out.push('no lang');
  if (document.documentElement.scrollWidth > window.innerWidth + 1) out.push('wider than the window: ' + document.documentElement.scrollWidth + ' > ' + window.innerWidth);
  return out;
})()`

func TestDashboardPagesAccessibleOnDesktopAndPhone(t *testing.T) {
	sb, base := demoSandbox(t)
	order, payment := newOrder(t, base, "khipu")
	newOrder(t, base, "hambit")
	checkout(t, base, url.Values{"product": {"mug"}, "method": {"payu-card"}, "card_number": {"4097440000000004"}, "card_name": {"APPROVED"}, "card_cvv": {"777"}, "card_expiry": {"2030/12"}})
	e := signatureEntry(sb)
	var list struct{ Objects []struct{ ID, Kind string } }
	apiJSON(t, "GET", base+"/_sandbox/api/objects?provider=payu&kind=transaction", "", &list)
	pages := []string{"/_sandbox/", "/_sandbox/journal", "/_sandbox/journal/" + strconv.FormatUint(e.ID, 10), "/_sandbox/scenarios",
		"/_sandbox/accounts", "/_sandbox/clock", "/_sandbox/demo", "/_sandbox/demo/orders/" + order,
		"/_sandbox/objects/khipu/" + payment, "/_sandbox/objects/payu/" + list.Objects[0].ID, "/_sandbox/objects/hambit/SBXFAKE1"}
	p := newPage(t)
	for _, size := range []struct {
		name string
		w, h int64
	}{{"desktop", 1280, 900}, {"phone", 390, 844}} {
		p.run(chromedp.EmulateViewport(size.w, size.h))
		for _, path := range pages {
			p.open(base + path)
			var probs []string
			p.eval(a11yProblems, &probs)
			if len(probs) > 0 {
				p.b.Screenshot(size.name + path)
				t.Errorf("%s %s:\n  %s", size.name, path, strings.Join(probs, "\n  "))
			}
		}
	}
	// Keyboard: the skip link is the first stop and leads to the content.
	p.open(base + "/_sandbox/")
	var first string
	p.run(chromedp.KeyEvent("\t"), chromedp.Evaluate(`document.activeElement.textContent`, &first))
	if first != "Skip to content" {
		t.Errorf("first tab stop is %q", first)
	}
}
