package sandboxtest_test

import (
	"runtime"
	"testing"

	"github.com/paysandbox/sandbox/sandboxtest"
)

// BenchmarkStart measures one in-process sandbox: the time to start it on a
// loopback port and stop it, and the live heap it holds once started
// (heap-B/sandbox: after a GC, with 10 sandboxes alive, per sandbox).
func BenchmarkStart(b *testing.B) {
	for b.Loop() {
		s, err := sandboxtest.Start()
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
	b.StopTimer()
	const n = 10
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	alive := make([]*sandboxtest.Sandbox, n)
	for i := range alive {
		s, err := sandboxtest.Start()
		if err != nil {
			b.Fatal(err)
		}
		alive[i] = s
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-B/sandbox")
	for _, s := range alive {
		s.Close()
	}
}
