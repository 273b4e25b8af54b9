package sandbox_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paysandbox/sandbox/emulators/internal/callback"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/khipu"
	"github.com/paysandbox/sandbox/emulators/sandbox"
)

// Issue #13, class 6: a callback never reaches the sandbox's own admin API
// or dashboard, whatever name, address or spelling of the path reaches
// them; the demo shop's callback endpoints and the providers' endpoints on
// the same server stay reachable.
func TestCallbacksNeverReachTheSandboxItself(t *testing.T) {
	sb := newSandbox(t, nil, sandbox.Options{})
	srv := serve(t, sb)
	u, _ := url.Parse(srv.URL)
	port := u.Port()
	h := sb.Handler()
	const endpoint = "http://127.0.0.1/khipu/api/2.0/payments"
	p := url.Values{"subject": {"kept"}, "amount": {"1000"}, "currency": {"CLP"}, "transaction_id": {"KEEP-1"}}
	code, body, _ := do(t, h, "POST", endpoint, p.Encode(), "Content-Type: application/x-www-form-urlencoded",
		"Authorization: "+khipu.SignRequest("sbx-khipu-secret-NOT-REAL", 123456, "POST", endpoint, p))
	if code != 200 {
		t.Fatalf("create: %d %s", code, body)
	}
	objects := func() string { _, b, _ := do(t, h, "GET", "/_sandbox/api/objects?provider=khipu", ""); return b }
	before := objects()

	hostile := []string{
		srv.URL + "/_sandbox/api/reset",
		"http://localhost:" + port + "/_sandbox/api/reset",
		"http://127.0.0.1:" + port + "//_sandbox/api/reset",
		"http://127.0.0.1:" + port + "/khipu/../_sandbox/api/reset",
		"http://127.0.0.1:" + port + "/%5Fsandbox/api/reset",
		"http://127.0.0.1:" + port + "/_SANDBOX/api/reset",
		"http://127.0.0.1:" + port + "/_sandbox/api/clock/advance",
		"http://127.0.0.1:" + port + "/_sandbox/reset",
		"http://127.0.0.1:" + port + "/_sandbox/api/callbacks/cb0000001/resend",
	}
	ids := map[string]string{}
	for _, target := range hostile {
		ids[sb.Dispatcher().SendNow(callback.Delivery{Provider: "hambit", Event: "paid", URL: target,
			ContentType: "application/json", Body: []byte(`{"provider":""}`), Ack: callback.ExactlyOK})] = target
	}
	legit := sb.Dispatcher().SendNow(callback.Delivery{Provider: "khipu", Event: "paid", URL: srv.URL + "/_sandbox/demo/callbacks/khipu",
		ContentType: "application/json", Body: []byte(`{}`), Ack: callback.ExactlyOK})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	waitAttempts(ctx, t, sb, len(hostile)+1)

	for _, e := range sb.Journal().List(journal.Filter{Kinds: []journal.Kind{journal.KindCallback}, Limit: 100}) {
		a := e.Callback
		if target, ok := ids[a.Delivery]; ok {
			if a.Status != 0 || !strings.Contains(a.Error, "refused: the callback URL is the sandbox's own") {
				t.Errorf("callback to %s: status %d, error %q", target, a.Status, a.Error)
			}
		}
		if a.Delivery == legit && a.Status == 0 {
			t.Errorf("the demo shop's callback endpoint was not reached: %s", a.Error)
		}
	}
	if after := objects(); after != before {
		t.Errorf("objects changed:\nbefore %s\nafter  %s", before, after)
	}
	if sb.Clock().Offset() != 0 {
		t.Errorf("a callback moved the clock")
	}
}

// waitAttempts waits (on events, not a sleep) until the journal holds n
// callback attempts.
func waitAttempts(ctx context.Context, t *testing.T, sb *sandbox.Sandbox, n int) {
	t.Helper()
	sub := sb.Journal().Subscribe(1024)
	defer sub.Close()
	for {
		if len(sb.Journal().List(journal.Filter{Kinds: []journal.Kind{journal.KindCallback}, Limit: 1000})) >= n {
			return
		}
		select {
		case <-sub.C:
		case <-ctx.Done():
			t.Fatalf("only %d callback attempts journaled", len(sb.Journal().List(journal.Filter{Kinds: []journal.Kind{journal.KindCallback}, Limit: 1000})))
		}
	}
}
