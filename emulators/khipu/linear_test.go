package khipu

import (
	"strings"
	"testing"
	"time"
)

// The Khipu API 2.0 request decoder and string to sign must be linear in
// the body (issue #13): decoding n and 2n bytes of hostile form text (many
// short pairs, escapes, one long value) takes about twice as long, never
// four times. The benchmark fails above 3×.
//
//	go test -run=^$ -bench=Linear ./emulators/khipu/
func BenchmarkLinearFormAndStringToSign(b *testing.B) {
	build := func(n int) string {
		var sb strings.Builder
		for i := 0; sb.Len() < n; i++ {
			sb.WriteString("k")
			sb.WriteString(strings.Repeat("x", i%7))
			sb.WriteString("=%C3%B1%zz+a&")
		}
		return sb.String()
	}
	small, big := build(256<<10), build(512<<10)
	work := func(body string) {
		p := decodeForm(body)
		stringToSign("POST", "https://khipu.com/api/2.0/payments", p)
	}
	// The fastest of each size is compared: a stall of the machine
	// (another tenant, a collection) lengthens single runs, not the best.
	var minS, minB time.Duration
	for b.Loop() {
		t0 := time.Now()
		work(small)
		t1 := time.Now()
		work(big)
		ds, db := t1.Sub(t0), time.Since(t1)
		if minS == 0 || ds < minS {
			minS = ds
		}
		if minB == 0 || db < minB {
			minB = db
		}
	}
	ratio := float64(minB) / float64(minS)
	b.ReportMetric(ratio, "2n/n-time")
	if ratio > 3 {
		b.Errorf("decoding and signing %d bytes took %.1f× as long as %d bytes: not linear", len(big), ratio, len(small))
	}
}
