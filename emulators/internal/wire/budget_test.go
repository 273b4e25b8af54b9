package wire

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// The body budget grants in order, makes a large body wait while others
// hold the budget, gives up when the wait ends, and hands back what a
// cancelled waiter was granted.
func TestBodyBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBudget(10)
		ctx := context.Background()
		if n, err := b.acquire(ctx, 6); err != nil || n != 6 {
			t.Fatalf("acquire 6 = %d, %v", n, err)
		}
		got := make(chan int64, 1)
		go func() {
			n, _ := b.acquire(ctx, 100) // more than the budget: the whole budget
			got <- n
		}()
		synctest.Wait()
		select {
		case <-got:
			t.Fatal("granted while 6 of 10 are held")
		default:
		}
		short, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if _, err := b.acquire(short, 1); err == nil {
			t.Fatal("a small request jumped the queue") // FIFO: it waits behind the large one
		}
		b.release(6)
		if n := <-got; n != 10 {
			t.Fatalf("the large request got %d, want the whole budget 10", n)
		}
		b.release(10)
		if b.avail != 10 || len(b.waiters) != 0 {
			t.Fatalf("budget after releases: avail %d, %d waiters", b.avail, len(b.waiters))
		}
	})
}

func TestDebugValueCap(t *testing.T) {
	long := strings.Repeat("a", 3*DebugHeaderCap)
	v := DebugValue(long)
	if len(v) != DebugHeaderCap || !strings.Contains(v, "24576 bytes in all") {
		t.Errorf("DebugValue = %d bytes, ends %q", len(v), v[len(v)-60:])
	}
	if DebugValue("short") != "short" {
		t.Error("a short value was changed")
	}
}
