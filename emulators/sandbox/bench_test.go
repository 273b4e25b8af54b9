package sandbox_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paysandbox/sandbox/emulators/khipu"
	"github.com/paysandbox/sandbox/emulators/sandbox"
)

// BenchmarkKhipuCreate is the docs/design.md hot path through the whole sandbox
// (routing, journal, signature, validation, scenario decision, store,
// rendering), without the network:
//
//	go test -run=^$ -bench=KhipuCreate -benchmem ./emulators/sandbox/
func BenchmarkKhipuCreate(b *testing.B) {
	sb := newSandbox(b, nil, sandbox.Options{})
	h := sb.Handler()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		benchCreate(b, h, url.Values{"subject": {"Bench"}, "amount": {"1000"}, "currency": {"CLP"}, "transaction_id": {fmt.Sprint("B-", i)}}, "")
	}
}

// benchCreate sends one signed Khipu API 2.0 create of the form p, under
// scenario unless it is "".
func benchCreate(b *testing.B, h http.Handler, p url.Values, scenario string) {
	const endpoint = "http://127.0.0.1:8080/khipu/api/2.0/payments"
	req := httptest.NewRequest("POST", endpoint, strings.NewReader(p.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", khipu.SignRequest("sbx-khipu-secret-NOT-REAL", 123456, "POST", endpoint, p))
	if scenario != "" {
		req.Header.Set("X-Sandbox-Scenario", scenario)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("create: %d %s", rec.Code, rec.Body)
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

// BenchmarkPaymentMemory reports the live heap one stored Khipu payment
// costs as created (live-B/created) and after a robot payer paid it and its
// notification was delivered (live-B/paid): the figures behind the
// "100,000 stored payments" budget (README, Benchmarks). objects/created
// and scan-B/created are the heap objects and the scannable heap bytes a
// stored payment adds: what the garbage collector marks and scans on each
// cycle (issue #17: on one CPU each cycle's mark phase is the tail).
//
//	go test -run=^$ -bench=PaymentMemory ./emulators/sandbox/
func BenchmarkPaymentMemory(b *testing.B) {
	const n = 100_000 // the budget's count: fixed costs (journal, resendable deliveries) spread as in the budget
	for b.Loop() {
		created, paid := paymentMemory(b, n)
		b.ReportMetric(float64(created.live)/n, "live-B/created")
		b.ReportMetric(float64(paid.live)/n, "live-B/paid")
		b.ReportMetric(float64(created.objects)/n, "objects/created")
		b.ReportMetric(float64(created.scan)/n, "scan-B/created")
	}
}

// heapFigures are the live heap, its objects and its scannable bytes.
type heapFigures struct{ live, objects, scan uint64 }

func (a heapFigures) minus(b heapFigures) heapFigures {
	return heapFigures{a.live - b.live, a.objects - b.objects, a.scan - b.scan}
}

// readHeap collects and reads the heap's figures.
func readHeap() heapFigures {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	samples := []metrics.Sample{{Name: "/gc/scan/heap:bytes"}}
	metrics.Read(samples)
	return heapFigures{ms.HeapAlloc, ms.HeapObjects, samples[0].Value.Uint64()}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// paymentMemory creates n Khipu payments whose robot payer pays them an
// hour later and returns the live heap they hold as created and once paid
// and notified (to a receiver that answers 200 in process).
func paymentMemory(b *testing.B, n int) (created, paid heapFigures) {
	var delivered atomic.Int64
	receiver := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
		delivered.Add(1)
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
	})}
	sb := newSandbox(b, nil, sandbox.Options{CallbackClient: receiver})
	h := sb.Handler()
	scenario := "name: memory\ndescription: paid by a robot an hour after creation\nrules:\n" +
		"  - {provider: khipu, on: pay, then: {auto: true, outcome: approve, delay: 1h}}\n" +
		"  - {provider: khipu, on: verify, then: {simplified_delay: 0s}}\n"
	if code, body, _ := do(b, h, "POST", "/_sandbox/api/scenarios", scenario, "Content-Type: application/yaml"); code != http.StatusCreated {
		b.Fatalf("scenario upload: %d %s", code, body)
	}
	base := readHeap()
	for i := range n {
		benchCreate(b, h, url.Values{"subject": {"Compra de prueba"}, "amount": {"1000"}, "currency": {"CLP"}, "transaction_id": {fmt.Sprint("MEM-", i)},
			"notify_url": {"http://merchant.test/notify"}, "notify_api_version": {"3.0"}}, "memory")
	}
	created = readHeap().minus(base)
	if code, body, _ := do(b, h, "POST", "/_sandbox/api/clock/advance", `{"by":"1h1m"}`, "Content-Type: application/json"); code != http.StatusOK {
		b.Fatalf("advance: %d %s", code, body)
	}
	for deadline := time.Now().Add(time.Minute); delivered.Load() < int64(n); {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d notifications delivered after a minute", delivered.Load(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	paid = readHeap().minus(base)
	runtime.KeepAlive(sb)
	return created, paid
}

// BenchmarkIdleHeap reports the live heap one idle sandbox holds (built-in
// scenarios, templates, journal, stores, after one answered request), the
// figure behind "idle sandbox ≤ 4 MB" and "an in-process sandbox in a test
// binary ≤ 2 MB" (README, Benchmarks). The heap is read after a collection,
// so the figure does not depend on the machine's load:
//
//	go test -run=^$ -bench=IdleHeap ./emulators/sandbox/
func BenchmarkIdleHeap(b *testing.B) {
	for b.Loop() {
		before := liveHeap()
		sb := newSandbox(b, nil, sandbox.Options{})
		h := sb.Handler()
		do(b, h, "GET", "/healthz", "")
		after := liveHeap()
		runtime.KeepAlive(sb)
		b.ReportMetric(float64(after-before), "live-B/sandbox")
		b.StopTimer()
		sb.Close(context.Background())
		b.StartTimer()
	}
}

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkKhipuCreateParallel is BenchmarkKhipuCreate from many goroutines
// at once: with -cpu 1 it is the one-CPU container, and with -mutexprofile
// or -blockprofile it shows what the creates wait for:
//
//	go test -run=^$ -bench=KhipuCreateParallel -cpu 1 -benchmem -mutexprofile m.out ./emulators/sandbox/
func BenchmarkKhipuCreateParallel(b *testing.B) {
	sb := newSandbox(b, nil, sandbox.Options{})
	h := sb.Handler()
	b.ReportAllocs()
	b.SetParallelism(32)
	var seq atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			benchCreate(b, h, url.Values{"subject": {"Bench"}, "amount": {"1000"}, "currency": {"CLP"}, "transaction_id": {fmt.Sprint("P-", seq.Add(1))}}, "")
		}
	})
}

// BenchmarkKhipuCreatePersist is BenchmarkKhipuCreate with persistence
// on (issue #18): every create waits for the fsync of the transaction that
// holds it. "serial" is one client (a commit per create); "parallel" has
// 32 clients per CPU sharing commits (group commit).
//
//	go test -run=^$ -bench=KhipuCreatePersist -benchmem ./emulators/sandbox/
func BenchmarkKhipuCreatePersist(b *testing.B) {
	for _, mode := range []string{"off", "serial", "parallel"} {
		b.Run(mode, func(b *testing.B) {
			h := newSandbox(b, func(c *sandbox.Config) { c.DataDir, c.Persist = b.TempDir(), mode != "off" }, sandbox.Options{}).Handler()
			var n atomic.Int64
			b.ReportAllocs()
			if mode == "serial" {
				for b.Loop() {
					benchCreate(b, h, url.Values{"subject": {"Bench"}, "amount": {"1000"}, "currency": {"CLP"}, "transaction_id": {fmt.Sprint("B-", n.Add(1))}}, "")
				}
				return
			}
			b.SetParallelism(32)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					benchCreate(b, h, url.Values{"subject": {"Bench"}, "amount": {"1000"}, "currency": {"CLP"}, "transaction_id": {fmt.Sprint("B-", n.Add(1))}}, "")
				}
			})
		})
	}
}
