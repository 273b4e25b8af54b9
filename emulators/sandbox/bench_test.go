package sandbox_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/paysandbox/sandbox/emulators/khipu"
	"github.com/paysandbox/sandbox/emulators/sandbox"
)

// BenchmarkKhipuCreate is the DESIGN.md hot path through the whole sandbox
// (routing, journal, signature, validation, scenario decision, store,
// rendering), without the network:
//
//	go test -run=^$ -bench=KhipuCreate -benchmem ./emulators/sandbox/
func BenchmarkKhipuCreate(b *testing.B) {
	sb := newSandbox(b, nil, sandbox.Options{})
	h := sb.Handler()
	endpoint := "http://127.0.0.1:8080/khipu/api/2.0/payments"
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		p := url.Values{"subject": {"Bench"}, "amount": {"1000"}, "currency": {"CLP"}, "transaction_id": {fmt.Sprint("B-", i)}}
		req := httptest.NewRequest("POST", endpoint, strings.NewReader(p.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", khipu.SignRequest("sbx-khipu-secret-NOT-REAL", 123456, "POST", endpoint, p))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkHealthz is the sandbox's cheapest answer: routing and logging only.
func BenchmarkHealthz(b *testing.B) {
	sb := newSandbox(b, nil, sandbox.Options{})
	h := sb.Handler()
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	}
}
