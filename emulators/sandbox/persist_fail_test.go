package sandbox_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/paysandbox/sandbox/emulators/khipu"
	"github.com/paysandbox/sandbox/emulators/sandbox"
	"github.com/paysandbox/sandbox/sandboxtest"
)

// TestFailedStateWriteIsNotAnsweredAsSuccess: once the state store cannot
// write (a full or broken disk, injected), a create is not answered as
// created: every route answers 503 in its own error shape with a message
// naming the data directory, and what was answered before stays on disk.
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
	cases := []struct {
		name       string
		req        *http.Request
		status     int
		shape      string // a fragment of the route's own error body
		namesInMsg bool
	}{
		{"khipu create", sandboxtest.Request("POST", khipuURL, form.Encode(), "Content-Type: application/x-www-form-urlencoded",
			"Authorization: "+khipu.SignRequest("sbx-khipu-secret-NOT-REAL", 123456, "POST", khipuURL, form)), http.StatusServiceUnavailable, `"status":503`, true},
		{"payu", sandboxtest.Request("POST", "http://127.0.0.1:8080/payu/payments-api/4.0/service.cgi",
			`{"command":"PING","language":"es","test":true,"merchant":{"apiLogin":"x","apiKey":"y"}}`, "Content-Type: application/json", "Accept: application/json"),
			http.StatusServiceUnavailable, `"code":"ERROR"`, true},
		{"hambit", sandboxtest.Request("POST", "http://127.0.0.1:8080/hambit/api/v3/chl/collection/create", `{}`, "Content-Type: application/json"),
			http.StatusServiceUnavailable, `"success":false`, true},
		{"admin", sandboxtest.Request("POST", "http://127.0.0.1:8080/_sandbox/api/clock/advance", `{"by":"1m"}`, "Content-Type: application/json"),
			http.StatusServiceUnavailable, `"kind":"unavailable"`, true},
	}
	for _, c := range cases {
		rec := sandboxtest.Do(h, c.req)
		got := rec.Body.String()
		if rec.Code != c.status || !strings.Contains(got, c.shape) || (c.namesInMsg && !strings.Contains(got, dir)) {
			t.Errorf("%s: %d %s; want %d, %s and the data directory %s", c.name, rec.Code, got, c.status, c.shape, dir)
		}
		if strings.Contains(got, "payment_id") {
			t.Errorf("%s: the handler's success answer leaked: %s", c.name, got)
		}
	}
	sb.Close(context.Background())

	sb, err = sandbox.New(persistCfg(dir), nil, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close(context.Background())
	adminJSON(t, sb.Handler(), "GET", "/objects/khipu/"+kept, "", nil)
}
