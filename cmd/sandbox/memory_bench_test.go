package main

import (
	"context"
	"net"
	"net/http"
	"runtime"
	"testing"
	"time"
)

// BenchmarkServeIdleHeap reports the live heap of an idle `sandbox serve`
// (zero configuration, built-in scenarios, one answered request): the whole
// process's heap after a collection (live-B/process, which includes what
// package initialisation holds) and the part the server adds
// (live-B/serve). Both are read after a full collection, so they do not
// depend on how busy the machine is. The budget is 4 MB for the process.
//
//	go test -run=^$ -bench=ServeIdleHeap ./cmd/sandbox/
func BenchmarkServeIdleHeap(b *testing.B) {
	for b.Loop() {
		before := liveHeap()
		ctx, cancel := context.WithCancel(context.Background())
		ready := make(chan net.Addr, 1)
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--log-level", "warn"}, env(), &syncBuffer{}, &syncBuffer{}, func(a net.Addr) { ready <- a })
		}()
		var addr net.Addr
		select {
		case addr = <-ready:
		case err := <-done:
			b.Fatalf("serve: %v", err)
		case <-time.After(20 * time.Second):
			b.Fatal("serve not ready within 20s")
		}
		tr := &http.Transport{}
		resp, err := (&http.Client{Transport: tr}).Get("http://" + addr.String() + "/healthz")
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		tr.CloseIdleConnections()
		after := liveHeap()
		b.ReportMetric(float64(after), "live-B/process")
		b.ReportMetric(float64(after-before), "live-B/serve")
		b.StopTimer()
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
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
