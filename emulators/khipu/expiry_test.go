package khipu

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/paysandbox/sandbox/emulators/internal/clock"
)

// TestExpiriesFireInOrderBehindOneTimer: many deadlines share one clock
// timer, fire in deadline order as the clock reaches them, and an earlier
// deadline added later re-arms the timer.
func TestExpiriesFireInOrderBehindOneTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := clock.New(clock.Options{})
		defer c.Close()
		g := c.NewGroup()
		fired := make(chan string, 100)
		e := newExpiries(g, func(id string) { fired <- strings.TrimRight(id, "_") })
		pad := func(s string) string { return s + strings.Repeat("_", idLength-len(s)) } // ids are 12 characters
		now := c.Now()
		for i := 5; i >= 1; i-- {
			e.add(pad(fmt.Sprint("h", i)), now.Add(time.Duration(i)*time.Hour))
		}
		e.add(pad("early"), now.Add(30*time.Minute))
		if g.Len() != 1 {
			t.Errorf("%d timers for %d deadlines, want 1", g.Len(), e.len())
		}
		c.Advance(2*time.Hour + time.Minute)
		var got []string
		for len(fired) > 0 {
			got = append(got, <-fired)
		}
		if fmt.Sprint(got) != "[early h1 h2]" {
			t.Errorf("fired %v, want [early h1 h2]", got)
		}
		time.Sleep(3 * time.Hour) // real time reaches the others
		synctest.Wait()
		for len(fired) > 0 {
			got = append(got, <-fired)
		}
		if fmt.Sprint(got) != "[early h1 h2 h3 h4 h5]" || e.len() != 0 || g.Len() != 0 {
			t.Errorf("fired %v; %d left, %d timers", got, e.len(), g.Len())
		}
		e.add(pad("x"), c.Now().Add(time.Hour))
		g.StopAll()
		e.reset()
		c.Advance(2 * time.Hour)
		if len(fired) != 0 {
			t.Error("an expiry fired after reset")
		}
	})
}

// TestExpiriesPruneForgottenPayments: entries of payments the store has
// forgotten do not pile up.
func TestExpiriesPruneForgottenPayments(t *testing.T) {
	c := clock.New(clock.Options{})
	defer c.Close()
	live := map[string]bool{}
	e := newExpiries(c.NewGroup(), func(string) {})
	e.live, e.sweepAbove = func(id string) bool { return live[id] }, 100
	for i := range 10000 {
		id := fmt.Sprintf("%012d", i)
		live[id] = true
		if i >= 50 {
			delete(live, fmt.Sprintf("%012d", i-50)) // the store keeps the newest 50
		}
		e.add(id, c.Now().Add(time.Hour))
	}
	if n := e.len(); n > 200 {
		t.Errorf("%d entries for 50 live payments", n)
	}
}

// TestExpiryHeapOrder: across many blocks, with entries taken out of the
// middle as the sweep does, the queue gives its deadlines back in order.
func TestExpiryHeapOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 17))
	var h expiryHeap
	want := map[int64]int{}
	for i := range 5 * expiryBlock {
		var block *[expiryBlock]expiry
		if h.needsBlock() {
			block = new([expiryBlock]expiry)
		}
		at := rng.Int64N(1000)
		h.push(expiry{at: at}, block)
		want[at]++
		if i%3 == 0 {
			x := h.remove(rng.IntN(h.n))
			want[x.at]--
		}
	}
	if got := len(h.blocks); got*expiryBlock < h.n || (got-2)*expiryBlock > h.n {
		t.Errorf("%d blocks for %d entries", got, h.n)
	}
	last := int64(-1)
	for h.n > 0 {
		x := h.remove(0)
		if x.at < last {
			t.Fatalf("deadline %d after %d", x.at, last)
		}
		last = x.at
		want[x.at]--
	}
	for at, n := range want {
		if n != 0 {
			t.Errorf("deadline %d: %d left over", at, n)
		}
	}
	if len(h.blocks) > 1 {
		t.Errorf("%d blocks kept for an empty queue", len(h.blocks))
	}
}

// BenchmarkExpiriesAdd is the expiry queue's part of a create in a store
// at its limit (the entries of forgotten payments swept as it goes);
// slowest-µs is the longest single add, the wait it imposes on every
// create queued behind its lock (-benchtime 400000x to cross the limit).
func BenchmarkExpiriesAdd(b *testing.B) {
	c := clock.New(clock.Options{})
	defer c.Close()
	const limit = 100_000
	e := newExpiries(c.NewGroup(), func(string) {})
	var first int
	live := func(id string) bool {
		n, _ := strconv.Atoi(id)
		return n >= first
	}
	e.live, e.sweepAbove = live, limit
	at := c.Now().Add(time.Hour)
	b.ReportAllocs()
	i := 0
	var slowest time.Duration
	for b.Loop() {
		id := fmt.Sprintf("%012d", i)
		start := time.Now()
		e.add(id, at.Add(time.Duration(i)))
		slowest = max(slowest, time.Since(start))
		if i++; i > limit {
			first = i - limit
		}
	}
	b.ReportMetric(float64(e.len()), "entries")
	b.ReportMetric(float64(slowest.Microseconds()), "slowest-µs")
}
