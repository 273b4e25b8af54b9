package callback_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/paysandbox/sandbox/emulators/internal/callback"
	"github.com/paysandbox/sandbox/emulators/internal/clock"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
)

// BenchmarkDeliveriesBurst schedules b.N deliveries for the same instant to
// a receiver on loopback and reports the delivery rate (docs/design.md budget:
// more than 5,000 deliveries/s) and how late the first attempts started
// behind the burst (a queue: the last one waits for all before it).
//
//	go test -run=^$ -bench=Deliveries -benchtime=100000x ./emulators/internal/callback/
func BenchmarkDeliveriesBurst(b *testing.B) {
	benchDeliveries(b, 0)
}

// BenchmarkDeliveriesSpread schedules b.N deliveries at once, due evenly over
// b.N/5000 seconds (5,000 per second), and reports how late each first
// attempt starts after its scheduled time: the budget is p99 ≤ 50 ms with
// 100,000 scheduled at once.
func BenchmarkDeliveriesSpread(b *testing.B) {
	benchDeliveries(b, 5000)
}

func benchDeliveries(b *testing.B, perSecond int) {
	var mu sync.Mutex
	late := make([]time.Duration, 0, b.N)
	var wg sync.WaitGroup
	wg.Add(b.N)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at, _ := strconv.ParseInt(r.Header.Get("X-Due"), 10, 64)
		d := time.Since(time.Unix(0, at))
		mu.Lock()
		late = append(late, d)
		mu.Unlock()
		wg.Done()
	}))
	defer srv.Close()
	clk := clock.New(clock.Options{})
	defer clk.Close()
	jr := journal.New(journal.Options{Now: clk.Now})
	d := callback.New(callback.Options{Clock: clk, Journal: jr})
	defer d.Close(context.Background())
	body := []byte(`{"payment_id":"gqzdy6chjne9","amount":"1570.00"}`)
	start := time.Now().Add(500 * time.Millisecond)
	b.ResetTimer()
	for i := range b.N {
		due := start
		if perSecond > 0 {
			due = start.Add(time.Duration(i) * time.Second / time.Duration(perSecond))
		}
		header := []callback.Header{{Name: "X-Due", Value: strconv.FormatInt(due.UnixNano(), 10)}}
		d.Send(callback.Delivery{Provider: "bench", Objects: []string{strconv.Itoa(i)}, Event: "done", URL: srv.URL,
			ContentType: "application/json", Body: body, Ack: callback.ExactlyOK,
			Sign:   func(callback.AttemptInfo, []byte) callback.Signed { return callback.Signed{Headers: header} },
			Policy: callback.Policy{Delay: time.Until(due)}})
	}
	if time.Now().After(start) {
		b.Logf("scheduling %d deliveries took longer than the 500 ms head start", b.N)
	}
	wg.Wait()
	total := time.Since(start)
	b.StopTimer()
	slices.Sort(late)
	b.ReportMetric(float64(b.N)/total.Seconds(), "deliveries/s")
	b.ReportMetric(float64(late[len(late)/2].Microseconds())/1000, "p50-late-ms")
	b.ReportMetric(float64(late[len(late)*99/100].Microseconds())/1000, "p99-late-ms")
}
