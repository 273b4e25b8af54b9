package sandbox_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paysandbox/sandbox/emulators/hambit"
	"github.com/paysandbox/sandbox/emulators/khipu"
	"github.com/paysandbox/sandbox/emulators/sandbox"
	"github.com/paysandbox/sandbox/sandboxtest"
)

// TestFailedStateWriteIsNotAnsweredAsSuccess: once the state store cannot
// write (a full or broken disk, injected), a create is not answered as
// created: every route that changes state answers 503 in its own error
// shape with a message naming the data directory; reads still answer, the
// journal shows the 503 sent, and what was answered before stays on disk.
func TestFailedStateWriteIsNotAnsweredAsSuccess(t *testing.T) {
	dir := t.TempDir()
	sb, err := sandbox.New(persistCfg(dir), nil, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := sb.Handler()
	kept := khipuCreate(t, h, "F-1", "")
	sandbox.StateOf(sb).FailWrites(errors.New("no space left on device"))

	const khipuURL = "http://127.0.0.1:8080/khipu/api/2.0/payments"
	form := url.Values{"subject": {"x"}, "amount": {"1000"}, "currency": {"CLP"}, "transaction_id": {"F-2"}}
	hambitBody := `{"amount":"1000","channelType":"BANK","externalOrderId":"F-2","userInfoType":"CASH","customerType":"RUT","userInfoNo":"12345678"}`
	hh, err := hambit.NewHeaders(hambit.DefaultAccessKey, hambit.DefaultSecretKey, []byte(hambitBody), time.Now(), "6f1c2a9e-3b7d-4e21-9a0c-5d8e7f6a1b2d")
	if err != nil {
		t.Fatal(err)
	}
	hambitReq := sandboxtest.Request("POST", "http://127.0.0.1:8080/hambit/api/v3/chl/createCollectingOrder", hambitBody, "Content-Type: application/json")
	for k, v := range hh {
		hambitReq.Header[k] = v
	}
	cases := []struct {
		name       string
		req        *http.Request
		status     int
		shape      string // a fragment of the route's own error body
		namesInMsg bool
	}{
		{"khipu create", sandboxtest.Request("POST", khipuURL, form.Encode(), "Content-Type: application/x-www-form-urlencoded",
			"Authorization: "+khipu.SignRequest("sbx-khipu-secret-NOT-REAL", 123456, "POST", khipuURL, form)), http.StatusServiceUnavailable, `"status":503`, true},
		{"payu", payuCardRequest("F-2", "APPROVED", "payer@example.com"), http.StatusServiceUnavailable, `"code":"ERROR"`, true},
		{"hambit", hambitReq, http.StatusServiceUnavailable, `"success":false`, true},
		{"admin", sandboxtest.Request("POST", "http://127.0.0.1:8080/_sandbox/api/clock/advance", `{"by":"1m"}`, "Content-Type: application/json"),
			http.StatusServiceUnavailable, `"kind":"unavailable"`, true},
	}
	for _, c := range cases {
		rec := sandboxtest.Do(h, c.req)
		got := rec.Body.String()
		if rec.Code != c.status || !strings.Contains(got, c.shape) || (c.namesInMsg && !strings.Contains(got, dir)) {
			t.Errorf("%s: %d %s; want %d, %s and the data directory %s", c.name, rec.Code, got, c.status, c.shape, dir)
		}
		if d := rec.Header().Get("X-Sandbox-Error-Detail"); c.name != "admin" && !strings.Contains(d, dir) {
			t.Errorf("%s: X-Sandbox-Error-Detail %q does not name the data directory %s", c.name, d, dir)
		}
		if strings.Contains(got, "payment_id") {
			t.Errorf("%s: the handler's success answer leaked: %s", c.name, got)
		}
	}
	// Reads still answer (they changed nothing), and the journal shows
	// the 503 that was sent, not the answer the handler had written.
	var journal struct {
		Entries []struct {
			Kind    string
			Request struct {
				Method string
				Path   string
				Status int
			}
		}
	}
	adminJSON(t, h, "GET", "/journal?provider=khipu&limit=10", "", &journal)
	var statuses []int
	for _, e := range journal.Entries {
		if e.Request.Method == "POST" {
			statuses = append(statuses, e.Request.Status)
		}
	}
	if len(statuses) < 2 || statuses[0] != http.StatusServiceUnavailable {
		t.Errorf("journaled Khipu POST statuses (newest first) = %v, want 503 for the failed create", statuses)
	}
	sb.Close(context.Background())

	sb, err = sandbox.New(persistCfg(dir), nil, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close(context.Background())
	adminJSON(t, sb.Handler(), "GET", "/objects/khipu/"+kept, "", nil)
}
