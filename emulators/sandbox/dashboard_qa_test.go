package sandbox_test

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/sandboxtest"
	"github.com/paysandbox/sandbox/emulators/khipu"
	"github.com/paysandbox/sandbox/emulators/sandbox"
)

// khipuPayment creates a Khipu payment through the signed API 2.0.
func khipuPayment(t *testing.T, sb *sandbox.Sandbox, ref string) string {
	t.Helper()
	params := url.Values{"subject": {"qa"}, "currency": {"CLP"}, "amount": {"1000"}, "transaction_id": {ref}}
	u := "http://example.com/khipu/api/2.0/payments"
	rec := httptest.NewRecorder()
	sb.Handler().ServeHTTP(rec, sandboxtest.Request("POST", u, params.Encode(), "Content-Type: application/x-www-form-urlencoded",
		"Authorization: "+khipu.SignRequest(khipu.DefaultSecret, khipu.DefaultReceiverID, "POST", u, params)))
	var out struct {
		PaymentID string `json:"payment_id"`
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &out) != nil {
		t.Fatalf("Khipu create: %d %s", rec.Code, rec.Body)
	}
	return out.PaymentID
}

func flashOf(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	u, err := url.Parse(rec.Header().Get("Location"))
	if rec.Code != 303 || err != nil {
		t.Fatalf("form answered %d %q", rec.Code, rec.Header().Get("Location"))
	}
	return u.Query().Get("ok") + u.Query().Get("err")
}

// TestFlashSaysWhatHappened: the no-script forms (and the page script,
// which writes the same text from the API's answer) say what an action, an
// advance and a reset did, not "done".
func TestFlashSaysWhatHappened(t *testing.T) {
	sb := dashSandbox(t, nil, sandbox.Options{})
	h := sb.Handler()
	id := khipuPayment(t, sb, "FLASH-1")
	rec := postForm(t, h, "/_sandbox/objects/khipu/"+id+"/actions/pay", url.Values{"outcome": {"approve"}})
	var o struct {
		Status string `json:"status"`
	}
	_, body, _ := get(t, h, "/_sandbox/api/objects/khipu/"+id)
	if err := json.Unmarshal([]byte(body), &o); err != nil {
		t.Fatal(err)
	}
	if got, want := flashOf(t, rec), "pay → "+o.Status; got != want || o.Status == "pending" {
		t.Errorf("pay flash = %q, want %q", got, want)
	}
	// Two timers due within 15 minutes of sandbox time, one later.
	for _, d := range []string{"1m", "10m", "2h"} {
		dur, _ := time.ParseDuration(d)
		sb.Clock().After(dur, func() {})
	}
	rec = postForm(t, h, "/_sandbox/clock/advance", url.Values{"by": {"15m"}})
	if got := flashOf(t, rec); !strings.HasPrefix(got, "advanced 15m: ") || !strings.Contains(got, "timers fired") {
		t.Errorf("advance flash = %q, want advanced 15m: N timers fired", got)
	}
	rec = postForm(t, h, "/_sandbox/clock/advance", url.Values{"by": {"1s"}})
	if got := flashOf(t, rec); got != "advanced 1s: no timer was due" {
		t.Errorf("advance flash = %q", got)
	}
	rec = postForm(t, h, "/_sandbox/reset", url.Values{"provider": {"khipu"}})
	if got := flashOf(t, rec); !strings.HasPrefix(got, "reset: khipu's objects") {
		t.Errorf("reset flash = %q", got)
	}
}

// TestLinkIntoAResetProvider: after a provider's reset, a link to one of
// its objects says the object was forgotten by the reset, not "not found".
func TestLinkIntoAResetProvider(t *testing.T) {
	sb := dashSandbox(t, nil, sandbox.Options{})
	h := sb.Handler()
	id := khipuPayment(t, sb, "RESET-1")
	if code, _, _ := get(t, h, "/_sandbox/objects/khipu/"+id); code != 200 {
		t.Fatalf("object page before the reset: %d", code)
	}
	if code, body, _ := get(t, h, "/_sandbox/objects/khipu/never-was"); code != 404 || strings.Contains(body, "Forgotten") {
		t.Errorf("an unknown object before any reset: %d", code)
	}
	postForm(t, h, "/_sandbox/reset", url.Values{"provider": {"khipu"}})
	code, body, _ := get(t, h, "/_sandbox/objects/khipu/"+id)
	if code != 404 || !strings.Contains(body, "Forgotten by a reset") || !strings.Contains(body, id) || !strings.Contains(body, "khipu was reset at") {
		t.Errorf("after the reset: %d\n%s", code, body)
	}
	checkPage(t, "forgotten", body)
	if code, body, _ := get(t, h, "/_sandbox/objects/hambit/never-was"); code != 404 || strings.Contains(body, "Forgotten") {
		t.Errorf("hambit was not reset: %d", code)
	}
}

// TestObjectFiltersAreChoices: Kind, Status and Account are lists of what
// the stored objects have, a bookmarked value stays selected, and a
// provider's page offers only its own.
func TestObjectFiltersAreChoices(t *testing.T) {
	sb := dashSandbox(t, nil, sandbox.Options{})
	h := sb.Handler()
	fill(t, h, 4, nil)
	_, body, _ := get(t, h, "/_sandbox/")
	for _, want := range []string{`<select name="kind">`, `<option>payment</option>`, `<option>collection</option>`, `<option>transaction</option>`,
		`<select name="status">`, `<option>pending</option>`, `<option>Accepted</option>`, `<option>DECLINED</option>`,
		`<select name="account">`, `<option>123456</option>`} {
		if !strings.Contains(body, want) {
			t.Errorf("objects page lacks %s", want)
		}
	}
	if strings.Contains(body, "<option>REFUNDED</option>") || strings.Contains(body, `<input name="kind"`) {
		t.Errorf("the filters offer values no object has, or are free text")
	}
	_, body, _ = get(t, h, "/_sandbox/?provider=khipu&status=gone")
	if !strings.Contains(body, `<option selected>gone</option>`) || strings.Contains(body, "<option>collection</option>") {
		t.Errorf("khipu's filters: a bookmarked status is not kept, or another provider's kinds are offered")
	}
}

// TestDashboardTextInBrowser: scenario names do not wrap mid-word, the
// journal's object column does not push the table wider than its box, and
// a callback row does not say its outcome twice.
func TestDashboardTextInBrowser(t *testing.T) {
	sb := dashSandbox(t, nil, sandbox.Options{})
	srv := serve(t, sb)
	long := strings.Repeat("verylongobjectid", 6)
	sb.Journal().Add(journal.Entry{Kind: journal.KindCallback, Provider: "khipu", Objects: []string{long, long + "2"},
		Summary: "payment attempt 1 → HTTP 200, acknowledged", Callback: &journal.Attempt{Delivery: "cb1", Event: "payment", Attempt: 1,
			URL: "http://merchant.example/hook", Status: 200, Outcome: journal.OutcomeAcknowledged}})
	p := newPage(t)
	p.run(chromedp.EmulateViewport(1024, 768))
	p.open(srv.URL + "/_sandbox/journal")
	p.waitFor("the journal", `document.querySelectorAll('table.journal tbody tr').length > 0`)
	var text string
	var overflow bool
	p.eval(`document.querySelector('table.journal tbody tr').innerText`, &text)
	if strings.Count(text, "acknowledged") != 1 {
		t.Errorf("the callback row says acknowledged %d times: %q", strings.Count(text, "acknowledged"), text)
	}
	p.eval(`(function(){var w=document.querySelector('.table-wrap'); return w.scrollWidth > w.clientWidth + 1})()`, &overflow)
	if overflow {
		t.Errorf("the journal table is wider than its box with a long object id")
	}
	p.open(srv.URL + "/_sandbox/scenarios")
	var wrapped []string
	p.eval(`[...document.querySelectorAll('table.scenarios th code')].filter(c => c.getClientRects().length > 1 || c.offsetHeight > 1.6*parseFloat(getComputedStyle(c).lineHeight || 16)).map(c => c.textContent)`, &wrapped)
	if len(wrapped) > 0 {
		t.Errorf("scenario names wrap: %v", wrapped)
	}
}

// TestExpireNowInBrowser: "Expire now" on a Khipu payment shows the
// expired state (badge, history), offers only what still makes sense, the
// payer page says the payment expired, and a second expire is refused.
func TestExpireNowInBrowser(t *testing.T) {
	sb := dashSandbox(t, nil, sandbox.Options{})
	srv := serve(t, sb)
	id := khipuPayment(t, sb, "EXPIRE-1")
	p := newPage(t)
	p.open(srv.URL + "/_sandbox/objects/khipu/" + id)
	p.waitFor("the Expire now button", `!!document.querySelector('button[data-action=expire]')`)
	p.run(chromedp.Click(`button[data-action=expire]`))
	p.waitFor("the expired badge", `document.querySelector('#obj-status').textContent === 'pending/expired' && document.querySelector('#obj-status').classList.contains('bad')`)
	p.waitFor("the flash", `document.querySelector('#flash').textContent.includes('expire → pending/expired')`)
	var actions []string
	p.eval(`[...document.querySelectorAll('#actions button[data-action]')].map(b => b.dataset.action)`, &actions)
	if strings.Join(actions, ",") != "pay,mark_paid" {
		t.Errorf("actions after the expiry: %v, want pay (forced) and mark_paid", actions)
	}
	var history string
	p.eval(`document.querySelector('#history tbody tr:last-child').innerText`, &history)
	if !strings.Contains(history, "pending/expired") {
		t.Errorf("history's last change = %q", history)
	}
	code, body, _ := get(t, sb.Handler(), "/_sandbox/api/objects/khipu/"+id)
	if !strings.Contains(body, `"status":"pending/expired"`) || code != 200 {
		t.Errorf("admin API: %d %s", code, body)
	}
	rec := httptest.NewRecorder()
	sb.Handler().ServeHTTP(rec, sandboxtest.Request("POST", "/_sandbox/api/objects/khipu/"+id+"/actions/expire", "{}"))
	if rec.Code != 409 || !strings.Contains(rec.Body.String(), "already expired") {
		t.Errorf("a second expire: %d %s", rec.Code, rec.Body)
	}
	p.open(srv.URL + "/khipu/payment/info/" + id)
	p.waitFor("the payer page", `document.body.innerText.length > 0`)
	var payer string
	p.eval(`document.body.innerText`, &payer)
	if !strings.Contains(strings.ToLower(payer), "expir") && !strings.Contains(strings.ToLower(payer), "venci") {
		t.Errorf("the payer page does not say the payment expired:\n%.600s", payer)
	}
}
