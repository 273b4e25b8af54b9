// Package clock is the sandbox clock: real time plus an offset that the
// admin API can move forward, with timers that fire when either real time or
// an advance reaches them.
//
// Two kinds of duration are scheduled on it (docs/design.md, Time): waits
// (scenario delays, retry intervals, verification delays), which the time
// scale multiplies, and deadlines (expiry dates, capture and void windows),
// which it never touches. Wall-clock durations (HTTP timeouts, response
// delays) do not belong here at all.
//
// Timer functions run one at a time, in deadline order, on the clock's own
// goroutine (or on the goroutine calling Advance). They must be quick and must
// not call Advance; work that blocks (an HTTP request) is handed to a worker.
package clock

import (
	"cmp"
	"container/heap"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Clock is the sandbox clock. It is safe for concurrent use.
type Clock struct {
	base    func() time.Time
	scale   float64
	onPanic func(any, []byte)

	mu     sync.Mutex
	offset atomic.Int64 // a time.Duration; written with mu held, read without (Now is on every request)
	timers timerHeap
	seq    uint64
	closed bool

	onAdvance func(offset time.Duration) // SetOnAdvance; guarded by mu

	fireMu sync.Mutex // one firing pass at a time, so timers run in order
	wake   chan struct{}
	done   chan struct{}
	exited chan struct{}
	once   sync.Once
}

// Options configure a Clock.
type Options struct {
	// Scale multiplies waits (not deadlines). 0 means 1; use a tiny positive
	// value such as 0.001 for "almost instant".
	Scale float64
	// Now is the real-time source; nil means time.Now.
	Now func() time.Time
	// OnPanic receives a panic of a timer's function with its stack; the
	// clock carries on with the next timer (issue #13). Nil logs it
	// through slog's default logger.
	OnPanic func(v any, stack []byte)
}

// New starts a clock. Close stops its goroutine.
func New(o Options) *Clock {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Scale <= 0 {
		o.Scale = 1
	}
	if o.OnPanic == nil {
		o.OnPanic = func(v any, stack []byte) {
			slog.Error("panic in a sandbox clock timer", "panic", fmt.Sprint(v), "stack", string(stack))
		}
	}
	c := &Clock{
		base:    o.Now,
		scale:   o.Scale,
		onPanic: o.OnPanic,
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		exited:  make(chan struct{}),
	}
	go c.run()
	return c
}

// Now returns the sandbox time: real time plus the accumulated advances.
func (c *Clock) Now() time.Time {
	return c.base().Add(time.Duration(c.offset.Load()))
}

// Offset returns how far the clock has been advanced in total.
func (c *Clock) Offset() time.Duration {
	return time.Duration(c.offset.Load())
}

// TimeScale returns the factor applied to waits.
func (c *Clock) TimeScale() float64 { return c.scale }

// Scaled returns the real length of a wait of d (d × time scale).
func (c *Clock) Scaled(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	if c.scale == 1 {
		return d
	}
	return time.Duration(float64(d) * c.scale)
}

// Exclusive runs f while no timer fires: a firing in progress (the clock's
// own or an Advance) ends first, and none starts until f returns. A reset
// runs this way, so that no timer is halfway through its work while the
// state it works on is wiped. f must not advance the clock.
func (c *Clock) Exclusive(f func()) {
	c.fireMu.Lock()
	defer c.fireMu.Unlock()
	f()
}

// ErrNegative is returned by Advance for a negative duration.
var ErrNegative = errors.New("the sandbox clock only moves forward")

// Advance moves the clock forward by d and runs every timer that became due,
// in deadline order, before it returns.
func (c *Clock) Advance(d time.Duration) error {
	_, err := c.AdvanceFired(d)
	return err
}

// AdvanceFired is Advance that also returns the timers it fired, in the
// order they ran (a timer that real time made due just before may have been
// fired by the clock's goroutine instead and is not listed).
//
// The clock steps from timer to timer: each fires with the clock at its
// own due time, so a timer that schedules another within the advance (a
// robot payer starting a 1 s verification) sees that one fire too, as if
// the time had really passed.
func (c *Clock) AdvanceFired(d time.Duration) ([]Scheduled, error) {
	if d < 0 {
		return nil, fmt.Errorf("%w: %v", ErrNegative, d)
	}
	c.fireMu.Lock()
	defer c.fireMu.Unlock()
	c.mu.Lock()
	final := time.Duration(c.offset.Load()) + d
	c.mu.Unlock()
	var fired []Scheduled
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return fired, nil
		}
		base := c.base()
		if len(c.timers) == 0 || c.timers[0].when.After(base.Add(final)) {
			c.offset.Store(int64(max(time.Duration(c.offset.Load()), final)))
			c.mu.Unlock()
			break
		}
		t := c.timers[0]
		if step := t.when.Sub(base.Add(time.Duration(c.offset.Load()))); step > 0 {
			c.offset.Add(int64(step))
		}
		heap.Pop(&c.timers)
		fired = append(fired, t.scheduled())
		c.mu.Unlock()
		if t.group != nil {
			t.group.forget(t)
		}
		c.call(t.f)
	}
	c.poke()
	c.mu.Lock()
	f, off := c.onAdvance, time.Duration(c.offset.Load())
	c.mu.Unlock()
	if f != nil {
		f(off)
	}
	return fired, nil
}

// SetOnAdvance makes every Advance call f with the new total offset once
// it has returned from its timers (the state store keeps the offset, issue
// #18). Nil (the default) calls nothing.
func (c *Clock) SetOnAdvance(f func(offset time.Duration)) {
	c.mu.Lock()
	c.onAdvance = f
	c.mu.Unlock()
}

// Label says what a timer is for, as GET /_sandbox/api/schedule shows it.
type Label struct {
	Provider string `json:"provider,omitempty"`
	Object   string `json:"object,omitempty"`
	// Kind is what happens when it fires: callback_attempt, robot_payer,
	// verification, expiry, review, …
	Kind string `json:"kind"`
	// Rule is the scenario rule that caused it (`scenario rules[2] "name"`),
	// empty for the provider's own behaviour.
	Rule   string `json:"rule,omitempty"`
	Detail string `json:"detail,omitempty"`
	// Hidden keeps the timer out of Scheduled: its owner lists what it
	// stands for itself (one timer for a queue of expiries).
	Hidden bool `json:"-"`
}

// Scheduled is one pending (or just fired) timer.
type Scheduled struct {
	Due time.Time `json:"due"`
	Label
}

// Describe attaches l to the timer and returns the timer.
func (t *Timer) Describe(l Label) *Timer {
	if t == nil {
		return t
	}
	t.c.mu.Lock()
	t.label = l
	t.c.mu.Unlock()
	return t
}

// Scheduled returns the pending timers in the order they will fire; keep
// returns those to list (nil keeps all). Timers without a label are listed
// with kind "timer".
func (c *Clock) Scheduled(keep func(Label) bool) []Scheduled {
	c.mu.Lock()
	ts := make([]*Timer, 0, len(c.timers))
	for _, t := range c.timers {
		if !t.label.Hidden && (keep == nil || keep(t.label)) {
			ts = append(ts, t)
		}
	}
	out := make([]Scheduled, len(ts))
	slices.SortFunc(ts, func(a, b *Timer) int {
		return cmp.Or(a.when.Compare(b.when), cmp.Compare(a.seq, b.seq))
	})
	for i, t := range ts {
		out[i] = t.scheduled()
	}
	c.mu.Unlock()
	return out
}

// scheduled describes t; c.mu is held.
func (t *Timer) scheduled() Scheduled {
	l := t.label
	if l.Kind == "" {
		l.Kind = "timer"
	}
	return Scheduled{Due: t.when, Label: l}
}

// Timer is one scheduled function.
type Timer struct {
	c     *Clock
	when  time.Time
	f     func()
	seq   uint64
	index int // in the heap; -1 when not scheduled
	group *Group
	gidx  int   // in group.timers; -1 when not there
	label Label // guarded by c.mu
}

// When returns the sandbox time at which the timer fires.
func (t *Timer) When() time.Time { return t.when }

// Stop cancels the timer; it reports whether the timer was still pending.
func (t *Timer) Stop() bool {
	if t == nil {
		return false
	}
	c := t.c
	c.mu.Lock()
	pending := t.index >= 0
	if pending {
		heap.Remove(&c.timers, t.index)
	}
	c.mu.Unlock()
	if t.group != nil {
		t.group.forget(t)
	}
	return pending
}

// At runs f when the sandbox clock reaches t (a deadline: never scaled).
// A time already past fires at once (on the clock goroutine).
func (c *Clock) At(t time.Time, f func()) *Timer {
	return c.schedule(t, f, nil)
}

// After runs f after the deadline d (not scaled) has passed on the sandbox clock.
func (c *Clock) After(d time.Duration, f func()) *Timer {
	return c.At(c.Now().Add(d), f)
}

// Wait runs f after a wait of d, which the time scale multiplies.
func (c *Clock) Wait(d time.Duration, f func()) *Timer {
	return c.At(c.Now().Add(c.Scaled(d)), f)
}

func (c *Clock) schedule(when time.Time, f func(), g *Group) *Timer {
	t := &Timer{c: c, when: when, f: f, index: -1, group: g, gidx: -1}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return t
	}
	c.seq++
	t.seq = c.seq
	heap.Push(&c.timers, t)
	first := t.index == 0
	c.mu.Unlock()
	if first {
		c.poke()
	}
	return t
}

// Pending returns the number of scheduled timers.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Close stops the clock; pending timers never fire.
func (c *Clock) Close() {
	c.once.Do(func() {
		c.mu.Lock()
		c.closed = true
		for _, t := range c.timers {
			t.index = -1
		}
		c.timers = nil
		c.mu.Unlock()
		close(c.done)
		<-c.exited
	})
}

func (c *Clock) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// fireDue runs every due timer in order (the clock's goroutine).
func (c *Clock) fireDue() {
	c.fireMu.Lock()
	defer c.fireMu.Unlock()
	for {
		c.mu.Lock()
		if len(c.timers) == 0 || c.closed {
			c.mu.Unlock()
			return
		}
		t := c.timers[0]
		if t.when.After(c.base().Add(time.Duration(c.offset.Load()))) {
			c.mu.Unlock()
			return
		}
		heap.Pop(&c.timers)
		c.mu.Unlock()
		if t.group != nil {
			t.group.forget(t)
		}
		c.call(t.f)
	}
}

// call runs a timer's function; a panic is reported and does not stop the
// clock's goroutine nor the timers due after it.
func (c *Clock) call(f func()) {
	defer func() {
		if v := recover(); v != nil {
			buf := make([]byte, 8<<10)
			c.onPanic(v, buf[:runtime.Stack(buf, false)])
		}
	}()
	f()
}

func (c *Clock) run() {
	defer close(c.exited)
	rt := time.NewTimer(time.Hour)
	rt.Stop()
	for {
		c.mu.Lock()
		var next time.Duration
		any := len(c.timers) > 0
		if any {
			next = c.timers[0].when.Sub(c.base().Add(time.Duration(c.offset.Load())))
		}
		c.mu.Unlock()
		if !any {
			select {
			case <-c.wake:
				continue
			case <-c.done:
				return
			}
		}
		if next <= 0 {
			c.fireDue()
			continue
		}
		rt.Reset(next)
		select {
		case <-rt.C:
			c.fireDue()
		case <-c.wake:
			rt.Stop()
		case <-c.done:
			rt.Stop()
			return
		}
	}
}

// Group tracks timers so that they can all be stopped at once (a provider's
// reset). It is safe for concurrent use. Timers know their slot in the
// group, so adding and forgetting one costs no map work (a provider keeps
// one expiry timer per stored object).
type Group struct {
	c      *Clock
	mu     sync.Mutex
	timers []*Timer
}

// NewGroup returns an empty group on c.
func (c *Clock) NewGroup() *Group { return &Group{c: c} }

// Clock returns the clock the group schedules on.
func (g *Group) Clock() *Clock { return g.c }

// At is Clock.At, tracked by the group.
func (g *Group) At(t time.Time, f func()) *Timer {
	// Holding g.mu while scheduling means a timer that fires at once waits in
	// forget until it has been recorded here, or is seen as fired below.
	g.mu.Lock()
	defer g.mu.Unlock()
	tm := g.c.schedule(t, f, g)
	if g.c.isPending(tm) {
		tm.gidx = len(g.timers)
		g.timers = append(g.timers, tm)
	}
	return tm
}

func (c *Clock) isPending(t *Timer) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return t.index >= 0
}

// After is Clock.After, tracked by the group.
func (g *Group) After(d time.Duration, f func()) *Timer { return g.At(g.c.Now().Add(d), f) }

// Wait is Clock.Wait, tracked by the group.
func (g *Group) Wait(d time.Duration, f func()) *Timer {
	return g.At(g.c.Now().Add(g.c.Scaled(d)), f)
}

// StopAll cancels every pending timer of the group and returns how many it stopped.
func (g *Group) StopAll() int {
	g.mu.Lock()
	ts := g.timers
	g.timers = nil
	for _, t := range ts {
		t.gidx = -1
	}
	g.mu.Unlock()
	n := 0
	for _, t := range ts {
		if t.Stop() {
			n++
		}
	}
	return n
}

func (g *Group) forget(t *Timer) {
	g.mu.Lock()
	if i := t.gidx; i >= 0 && i < len(g.timers) && g.timers[i] == t {
		last := len(g.timers) - 1
		g.timers[i] = g.timers[last]
		g.timers[i].gidx = i
		g.timers[last] = nil
		g.timers = g.timers[:last]
		t.gidx = -1
		if cap(g.timers) > 1024 && len(g.timers) < cap(g.timers)/4 {
			g.timers = append([]*Timer(nil), g.timers...)
		}
	}
	g.mu.Unlock()
}

// Len returns the number of pending timers in the group.
func (g *Group) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.timers)
}

type timerHeap []*Timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].when.Equal(h[j].when) {
		return h[i].seq < h[j].seq
	}
	return h[i].when.Before(h[j].when)
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*Timer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	n := len(old)
	t := old[n-1]
	old[n-1] = nil
	t.index = -1
	*h = old[:n-1]
	return t
}
