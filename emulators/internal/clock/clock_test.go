package clock_test

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/paysandbox/sandbox/emulators/internal/clock"
)

func TestAdvanceFiresDueTimersInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := clock.New(clock.Options{})
		defer c.Close()
		var fired []string
		c.After(3*time.Hour, func() { fired = append(fired, "3h") })
		c.After(time.Hour, func() { fired = append(fired, "1h") })
		c.After(2*time.Hour, func() { fired = append(fired, "2h-a") })
		c.After(2*time.Hour, func() { fired = append(fired, "2h-b") }) // same deadline: scheduling order
		c.After(10*time.Hour, func() { fired = append(fired, "10h") })
		start := c.Now()
		if err := c.Advance(150 * time.Minute); err != nil {
			t.Fatal(err)
		}
		// Advance returns after the due timers ran, on the caller's goroutine.
		want := []string{"1h", "2h-a", "2h-b"}
		if !slices.Equal(fired, want) {
			t.Fatalf("fired after advance = %v, want %v", fired, want)
		}
		if got := c.Now().Sub(start); got != 150*time.Minute {
			t.Errorf("Now moved by %v, want 2h30m", got)
		}
		if c.Pending() != 2 {
			t.Errorf("pending = %d, want 2", c.Pending())
		}
		// Real time reaches the 3h timer (30 more minutes) without an advance.
		time.Sleep(30 * time.Minute)
		synctest.Wait()
		if !slices.Equal(fired, []string{"1h", "2h-a", "2h-b", "3h"}) {
			t.Errorf("fired = %v, want the 3h timer after real time caught up", fired)
		}
	})
}

func TestWaitIsScaledDeadlineIsNot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := clock.New(clock.Options{Scale: 0.01})
		defer c.Close()
		start := time.Now()
		var waitAt, deadlineAt time.Duration
		c.Wait(100*time.Second, func() { waitAt = time.Since(start) })
		c.After(100*time.Second, func() { deadlineAt = time.Since(start) })
		time.Sleep(200 * time.Second)
		synctest.Wait()
		if waitAt != time.Second {
			t.Errorf("100s wait at scale 0.01 fired after %v, want 1s", waitAt)
		}
		if deadlineAt != 100*time.Second {
			t.Errorf("100s deadline fired after %v, want 100s (never scaled)", deadlineAt)
		}
		if got := c.Scaled(time.Hour); got != 36*time.Second {
			t.Errorf("Scaled(1h) = %v, want 36s", got)
		}
	})
}

func TestStopAndGroups(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := clock.New(clock.Options{})
		defer c.Close()
		fired := 0
		tm := c.After(time.Minute, func() { fired++ })
		if !tm.Stop() {
			t.Error("Stop of a pending timer = false")
		}
		if tm.Stop() {
			t.Error("second Stop = true")
		}
		g := c.NewGroup()
		for range 5 {
			g.After(time.Minute, func() { fired++ })
		}
		g.After(0, func() { fired++ }) // due at once: fires, leaves the group
		synctest.Wait()
		if g.Len() != 5 {
			t.Errorf("group holds %d timers, want 5", g.Len())
		}
		if n := g.StopAll(); n != 5 {
			t.Errorf("StopAll stopped %d, want 5", n)
		}
		c.Advance(time.Hour)
		if fired != 1 {
			t.Errorf("fired = %d, want 1 (only the immediate timer)", fired)
		}
	})
}

func TestNegativeAdvanceRefused(t *testing.T) {
	c := clock.New(clock.Options{})
	defer c.Close()
	if err := c.Advance(-time.Second); err == nil {
		t.Fatal("a negative advance was accepted")
	}
}

func TestTimerScheduledFromTimerRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := clock.New(clock.Options{})
		defer c.Close()
		done := make(chan time.Duration, 1)
		start := time.Now()
		c.After(time.Second, func() {
			c.After(time.Second, func() { done <- time.Since(start) })
		})
		if d := <-done; d != 2*time.Second {
			t.Errorf("chained timer after %v, want 2s", d)
		}
	})
}

func BenchmarkSchedule(b *testing.B) {
	c := clock.New(clock.Options{})
	defer c.Close()
	for b.Loop() {
		c.After(time.Hour, func() {}).Stop()
	}
}

// TestTimerOverdueByExactlyOneNanosecond: a timer whose deadline passed by
// any amount — one nanosecond included — fires (a sentinel once mistook a
// -1ns wait for "no timers" and the clock slept until the next schedule).
func TestTimerOverdueByExactlyOneNanosecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := clock.New(clock.Options{})
		defer c.Close()
		fired := make(chan struct{})
		c.At(c.Now().Add(-time.Nanosecond), func() { close(fired) })
		select {
		case <-fired:
		case <-time.After(time.Hour):
			t.Fatal("a timer 1ns overdue did not fire")
		}
	})
}

// Issue #13, class 9: a timer whose function panics is reported, and the
// clock keeps firing the timers due after it.
func TestTimerPanicDoesNotStopTheClock(t *testing.T) {
	var got []any
	c := clock.New(clock.Options{OnPanic: func(v any, stack []byte) {
		if len(stack) == 0 {
			t.Error("no stack")
		}
		got = append(got, v)
	}})
	defer c.Close()
	fired := false
	c.Wait(time.Hour, func() { panic("boom") })
	c.Wait(2*time.Hour, func() { fired = true })
	if err := c.Advance(3 * time.Hour); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "boom" || !fired {
		t.Errorf("panics %v, later timer fired %v", got, fired)
	}
	done := make(chan bool, 1)
	c.Wait(0, func() { panic("in the clock goroutine") })
	c.Wait(time.Nanosecond, func() { done <- true })
	<-done // the clock's own goroutine survived its panic
}

func TestScheduledListsLabelsAndAdvanceReportsWhatFired(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := clock.New(clock.Options{})
		defer c.Close()
		start := c.Now()
		g := c.NewGroup()
		g.After(2*time.Hour, func() {}).Describe(clock.Label{Provider: "khipu", Object: "p2", Kind: "expiry"})
		c.After(time.Hour, func() {}).Describe(clock.Label{Provider: "hambit", Object: "o1", Kind: "robot_payer", Rule: "s/r"})
		c.After(3*time.Hour, func() {}).Describe(clock.Label{Kind: "expiry", Hidden: true})
		c.After(4*time.Hour, func() {})
		stopped := c.After(90*time.Minute, func() {}).Describe(clock.Label{Kind: "gone"})
		stopped.Stop()

		got := c.Scheduled(nil)
		var kinds []string
		for _, s := range got {
			kinds = append(kinds, s.Object+":"+s.Kind)
		}
		if want := []string{"o1:robot_payer", "p2:expiry", ":timer"}; !slices.Equal(kinds, want) {
			t.Fatalf("Scheduled = %v, want %v", kinds, want)
		}
		if !got[0].Due.Equal(start.Add(time.Hour)) || got[0].Rule != "s/r" {
			t.Errorf("first = %+v", got[0])
		}
		if only := c.Scheduled(func(l clock.Label) bool { return l.Provider == "khipu" }); len(only) != 1 || only[0].Object != "p2" {
			t.Errorf("filtered = %+v", only)
		}

		fired, err := c.AdvanceFired(150 * time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		kinds = kinds[:0]
		for _, s := range fired {
			kinds = append(kinds, s.Object+":"+s.Kind)
		}
		if want := []string{"o1:robot_payer", "p2:expiry"}; !slices.Equal(kinds, want) {
			t.Fatalf("fired = %v, want %v", kinds, want)
		}
		if n := len(c.Scheduled(nil)); n != 1 {
			t.Errorf("after the advance %d listed, want 1 (the hidden timer is not listed)", n)
		}
	})
}

func TestAdvanceStepsThroughTimersScheduledOnTheWay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := clock.New(clock.Options{})
		defer c.Close()
		start := c.Now()
		var seen []time.Duration
		c.After(time.Minute, func() {
			seen = append(seen, c.Now().Sub(start))
			c.Wait(time.Second, func() { // a robot payer starting a 1 s verification
				seen = append(seen, c.Now().Sub(start))
				c.After(2*time.Hour, func() { seen = append(seen, -1) }) // beyond the advance
			})
		})
		fired, err := c.AdvanceFired(time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if want := []time.Duration{time.Minute, time.Minute + time.Second}; !slices.Equal(seen, want) || len(fired) != 2 {
			t.Fatalf("fired at %v (%d reported), want %v", seen, len(fired), want)
		}
		if off := c.Offset(); off != time.Hour {
			t.Errorf("offset %v, want 1h", off)
		}
		if n := len(c.Scheduled(nil)); n != 1 {
			t.Errorf("%d pending, want the one beyond the advance", n)
		}
	})
}

// Exclusive never runs while a timer fires: timers due at once (fired by
// the clock's goroutine) and Exclusive calls race, and neither ever sees
// the other halfway through.
func TestExclusiveNeverOverlapsAFiringTimer(t *testing.T) {
	c := clock.New(clock.Options{})
	defer c.Close()
	var firing, exclusive, overlaps atomic.Int32
	const n = 2000
	var fired sync.WaitGroup
	fired.Add(n)
	go func() {
		for range n {
			c.After(0, func() {
				defer fired.Done()
				firing.Store(1)
				if exclusive.Load() != 0 {
					overlaps.Add(1)
				}
				runtime.Gosched()
				firing.Store(0)
			})
		}
	}()
	for range n {
		c.Exclusive(func() {
			exclusive.Store(1)
			if firing.Load() != 0 {
				overlaps.Add(1)
			}
			runtime.Gosched()
			exclusive.Store(0)
		})
	}
	fired.Wait()
	if o := overlaps.Load(); o != 0 {
		t.Fatalf("%d overlaps of Exclusive and a firing timer", o)
	}
}
