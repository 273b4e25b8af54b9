package sandbox_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
	"github.com/paysandbox/sandbox/emulators/khipu"
	"github.com/paysandbox/sandbox/emulators/sandbox"
)

// Issue #13, class 1: answers and the journal do not grow with the
// attacker's input. A 10 MB Khipu create with a wrong signature is answered
// with debug headers within their cap, and its journal entry is capped too,
// so the entries made before it are still held.
func TestHugeBodyBoundedAnswerAndJournal(t *testing.T) {
	sb := newSandbox(t, nil, sandbox.Options{})
	h := sb.Handler()
	for i := range 20 {
		do(t, h, "GET", fmt.Sprintf("/khipu/api/2.0/payments/none%d", i), "")
	}
	big := url.Values{"subject": {strings.Repeat("ñ", 1_000_000) + strings.Repeat("a", 3_000_000)}, "amount": {"1000"}, "currency": {"CLP"}}
	const endpoint = "http://shop.test/khipu/api/2.0/payments"
	sig := khipu.SignRequest("wrong-secret", 123456, "POST", endpoint, url.Values{"amount": {"1"}})
	code, body, hdr := do(t, h, "POST", endpoint, big.Encode(), "Content-Type: application/x-www-form-urlencoded", "Authorization: "+sig)
	if code < 400 || code >= 500 {
		t.Fatalf("huge create with a wrong signature = %d %.200s", code, body)
	}
	total := 0
	for k, vs := range hdr {
		for _, v := range vs {
			total += len(k) + len(v)
			if strings.HasPrefix(k, "X-Sandbox-") && len(v) > wire.DebugHeaderCap {
				t.Errorf("%s is %d bytes, cap %d", k, len(v), wire.DebugHeaderCap)
			}
		}
	}
	if total > 64<<10 {
		t.Errorf("the answer's headers total %d bytes", total)
	}
	if hdr.Get("X-Sandbox-String-To-Sign") == "" || hdr.Get("X-Sandbox-String-To-Sign-Length") == "" {
		t.Errorf("the cut string to sign should still be sent, with its full length: %v", hdr)
	}
	st := sb.Journal().Stats()
	if st.Entries < 21 {
		t.Errorf("the huge request evicted the journal: %+v", st)
	}
	e := sb.Journal().List(journal.Filter{Limit: 1})[0]
	if e.Request == nil || !e.Request.RequestTruncated || e.Request.Signature == nil {
		t.Fatalf("the huge request's entry: %+v", e)
	}
	for _, c := range e.Request.Signature.Candidates {
		if len(c.StringToSign) > journal.StringToSignCap+100 || len(c.StringToSign) <= wire.DebugHeaderCap {
			t.Errorf("candidate %s keeps %d bytes of its string to sign (want more than the header's %d, at most %d)",
				c.Name, len(c.StringToSign), wire.DebugHeaderCap, journal.StringToSignCap)
		}
	}
	b, _ := json.Marshal(e)
	if len(b) > 1<<20 {
		t.Errorf("one entry is %d bytes as JSON", len(b))
	}
}

// Every provider route refuses a body beyond its limit in the provider's
// own error shape (never a bare 500 or a hang).
func TestOversizeBodiesEveryProvider(t *testing.T) {
	sb := newSandbox(t, nil, sandbox.Options{})
	h := sb.Handler()
	huge := strings.Repeat("a", 11<<20)
	cases := []struct {
		target, ct, want string
	}{
		{"/khipu/api/2.0/payments", "application/x-www-form-urlencoded", `"status"`},
		{"/khipu/v3/payments", "application/json", `"message"`},
		{"/hambit/api/v3/chl/collection/create", "application/json", `"code"`},
		{"/payu/payments-api/4.0/service.cgi", "application/json", `"code"`},
	}
	for _, c := range cases {
		code, body, _ := do(t, h, "POST", c.target, huge, "Content-Type: "+c.ct)
		if code >= 500 || code < 200 || len(body) > 4<<10 || !strings.Contains(body, c.want) {
			t.Errorf("%s with 11 MiB: %d %.300s", c.target, code, body)
		}
	}
}
