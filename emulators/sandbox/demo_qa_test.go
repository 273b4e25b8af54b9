package sandbox_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paysandbox/sandbox/emulators/sandbox"
	"github.com/paysandbox/sandbox/sandboxtest"
)

func pageText(t *testing.T, target string) string {
	t.Helper()
	resp, err := http.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", target, resp.StatusCode)
	}
	return string(b)
}

// TestDemoShopRecordsThePayersReturn: Khipu's return_url and Hambit's
// returnUrl bring the payer back to the order, and the order records it
// (as it does for PayU's response page), once, without trusting it.
func TestDemoShopRecordsThePayersReturn(t *testing.T) {
	sb := dashSandbox(t, nil, sandbox.Options{})
	base := serve(t, sb).URL
	for _, tt := range []struct{ method, field, says string }{
		{"khipu", `"return_url":"`, "The payer came back from Khipu"},
		{"hambit", `\"returnUrl\":\"`, "The payer came back from Hambit"},
	} {
		t.Run(tt.method, func(t *testing.T) {
			order, object := newOrder(t, base, tt.method)
			// Khipu's admin data holds return_url; Hambit's is read from
			// the create request as the provider received it.
			src := base + "/_sandbox/api/objects/khipu/" + object
			if tt.method == "hambit" {
				src = base + "/_sandbox/api/journal?object=" + url.QueryEscape(object) + "&kind=request"
			}
			obj := pageText(t, src)
			i := strings.Index(obj, tt.field)
			if i < 0 {
				t.Fatalf("no %s in %s", tt.field, obj)
			}
			ret := obj[i+len(tt.field):]
			ret = strings.TrimSuffix(ret[:strings.Index(ret, `"`)], `\`)
			if !strings.HasSuffix(ret, "/_sandbox/demo/orders/"+order+"?returned="+tt.method) {
				t.Fatalf("the shop's return URL is %q", ret)
			}
			for range 2 { // a reload does not record it twice
				body := pageText(t, strings.Replace(ret, "\\u0026", "&", -1))
				if n := strings.Count(body, tt.says); n != 1 {
					t.Errorf("the order page says %q %d times", tt.says, n)
				}
			}
		})
	}
}

// TestDemoShopMoneyAndAttemptsNotSent: amounts read as money, and under
// flaky-callbacks the attempts that failed inside the sandbox are not
// listed as received by the shop.
func TestDemoShopMoneyAndAttemptsNotSent(t *testing.T) {
	// Over a real listener: the notifications must reach the shop itself,
	// not the kit's in-memory merchant.
	kit := sandboxtest.New(t)
	sb, base := kit.Core(), kit.URL
	checkout(t, base, url.Values{"product": {"coffee"}, "method": {"khipu"}, "scenario": {"flaky-callbacks"}})
	var page struct {
		Objects []struct{ Kind, ID, Reference string }
	}
	apiJSON(t, "GET", base+"/_sandbox/api/objects?q=DEMO-", "", &page)
	if len(page.Objects) == 0 {
		t.Fatal("no order")
	}
	order, payment := page.Objects[0].Reference, page.Objects[0].ID
	var body string
	// Each advance fires the next attempt; the admin API's wait returns as
	// soon as the shop acknowledged one (it settles the order before it
	// answers), so nothing here sleeps.
	for i := 0; i < 40; i++ {
		sb.Clock().Advance(time.Minute)
		var acked struct{ Complete bool }
		apiJSON(t, "GET", base+"/_sandbox/api/callbacks?object="+payment+"&outcome=acknowledged&min=1&wait=2s", "", &acked)
		if acked.Complete {
			break
		}
	}
	body = pageText(t, base+"/_sandbox/demo/orders/"+order)
	if orderState(t, base, order) != "paid" {
		t.Fatalf("the order was never paid:\n%s", body)
	}
	if !strings.Contains(body, "Attempts that never reached the shop") || strings.Count(body, ">not sent</span>") != 2 {
		t.Errorf("the two fail_attempts attempts are not set apart")
	}
	received := body[strings.Index(body, "<h2>Callbacks received</h2>"):strings.Index(body, "Attempts that never reached the shop")]
	if strings.Contains(received, "not sent") || strings.Contains(received, "simulated network failure") {
		t.Errorf("attempts never sent are listed as received:\n%s", received)
	}
	if strings.Contains(body, "4990.0000") || strings.Contains(body, "4990 CLP") || !strings.Contains(body, "$4.990") {
		t.Errorf("amounts are not written as money")
	}
}
