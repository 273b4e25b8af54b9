package khipu

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/paysandbox/sandbox/emulators/internal/clock"
)

// expiries holds every stored payment's expires_date (a deadline on the
// sandbox clock) behind a single clock timer set for the earliest one, instead
// of a timer per payment: a sandbox holding 100,000 payments keeps 100,000
// small entries rather than 100,000 timers and closures (docs/design.md, Budgets).
// When the timer fires, every entry that became due is handed to onExpiry in
// order, and the timer is set for the next one.
type expiries struct {
	grp  *clock.Group
	fire func(id string)
	// live, when set, tells whether a payment is still stored; entries of
	// forgotten payments (max_objects) are swept out a few at a time once
	// the queue holds more than sweepAbove, so the queue stays as bounded
	// as the store (about twice its size) without a pass over all of it.
	live       func(id string) bool
	sweepAbove int

	mu    sync.Mutex
	h     expiryHeap
	sweep int // the next entry the sweep looks at
	timer *clock.Timer
	armed int64 // UnixNano the timer is set for; 0 when none
}

type expiry struct {
	at int64 // UnixNano
	id paymentKey
}

// expiryBlock is the number of entries of one block of an expiryHeap.
const expiryBlock = 512

// expiryHeap is a binary min-heap by deadline kept in fixed-size blocks:
// growing it adds a block, never copies the entries (a queue of 200,000
// entries would copy megabytes under the lock at each doubling), and
// pushing boxes nothing (container/heap's Push takes an any).
type expiryHeap struct {
	blocks []*[expiryBlock]expiry
	n      int
}

func (h *expiryHeap) at(i int) *expiry { return &h.blocks[i/expiryBlock][i%expiryBlock] }

func (h *expiryHeap) less(i, j int) bool { return h.at(i).at < h.at(j).at }

func (h *expiryHeap) swap(i, j int) { *h.at(i), *h.at(j) = *h.at(j), *h.at(i) }

// needsBlock reports whether the next push needs a new block.
func (h *expiryHeap) needsBlock() bool { return h.n == len(h.blocks)*expiryBlock }

// push adds x; block is the new block when needsBlock (allocated by the
// caller before it took its lock).
func (h *expiryHeap) push(x expiry, block *[expiryBlock]expiry) {
	if h.needsBlock() {
		h.blocks = append(h.blocks, block)
	}
	*h.at(h.n) = x
	h.n++
	h.up(h.n - 1)
}

// remove takes out the entry at i and returns it.
func (h *expiryHeap) remove(i int) expiry {
	x := *h.at(i)
	last := h.n - 1
	if i != last {
		h.swap(i, last)
	}
	*h.at(last) = expiry{}
	h.n--
	if i < h.n {
		h.down(i)
		h.up(i)
	}
	// Give back the last block once two are free (not one: a queue at a
	// block boundary would allocate and free one per create).
	if k := len(h.blocks); k > 1 && h.n <= (k-2)*expiryBlock {
		h.blocks[k-1] = nil
		h.blocks = h.blocks[:k-1]
	}
	return x
}

func (h *expiryHeap) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			return
		}
		h.swap(i, parent)
		i = parent
	}
}

func (h *expiryHeap) down(i int) {
	for {
		child := 2*i + 1
		if child >= h.n {
			return
		}
		if r := child + 1; r < h.n && h.less(r, child) {
			child = r
		}
		if !h.less(child, i) {
			return
		}
		h.swap(i, child)
		i = child
	}
}

func newExpiries(grp *clock.Group, fire func(id string)) *expiries {
	return &expiries{grp: grp, fire: fire}
}

// add schedules id's expiry at t.
func (e *expiries) add(id string, t time.Time) {
	at := t.UnixNano()
	key, ok := keyOf(id)
	if !ok {
		return
	}
	var block *[expiryBlock]expiry
	for {
		e.mu.Lock()
		if block != nil || !e.h.needsBlock() {
			break
		}
		e.mu.Unlock()
		block = new([expiryBlock]expiry) // not under the lock
	}
	if e.live != nil && e.h.n > e.sweepAbove {
		e.sweepSome(2)
	}
	e.h.push(expiry{at: at, id: key}, block)
	rearm := e.armed == 0 || at < e.armed
	if rearm {
		e.arm(at)
	}
	e.mu.Unlock()
}

// sweepSome looks at the next n entries of the sweep and drops those of
// payments no longer stored; e.mu is held. Each create sweeps two entries
// and forgets at most one payment, so the entries of forgotten payments
// never reach the number of stored ones for long.
func (e *expiries) sweepSome(n int) {
	for range n {
		if e.sweep >= e.h.n {
			e.sweep = 0
		}
		if e.h.n == 0 {
			return
		}
		if x := e.h.at(e.sweep); e.live(string(x.id[:])) {
			e.sweep++
		} else {
			e.h.remove(e.sweep)
		}
	}
}

// arm sets the timer for at; e.mu is held.
func (e *expiries) arm(at int64) {
	if e.timer != nil {
		e.timer.Stop()
	}
	e.armed = at
	// The queue lists its entries itself (scheduled): the one timer is hidden.
	e.timer = e.grp.At(time.Unix(0, at), e.due).Describe(clock.Label{Provider: provider, Kind: "expiry",
		Detail: "Khipu payment expiries due by then", Hidden: true})
}

// scheduled lists the queued expiries of the payments keep accepts, in due
// order.
func (e *expiries) scheduled(keep func(id string) bool) []clock.Scheduled {
	e.mu.Lock()
	xs := make([]expiry, 0, e.h.n)
	for i := range e.h.n {
		if x := *e.h.at(i); keep(string(x.id[:])) {
			xs = append(xs, x)
		}
	}
	e.mu.Unlock()
	slices.SortFunc(xs, func(a, b expiry) int { return cmp.Compare(a.at, b.at) })
	out := make([]clock.Scheduled, len(xs))
	for i, x := range xs {
		out[i] = clock.Scheduled{Due: time.Unix(0, x.at).UTC(), Label: clock.Label{Provider: provider, Object: string(x.id[:]), Kind: "expiry",
			Detail: "the payment expires (expires_date)"}}
	}
	return out
}

// due runs on the clock: it fires every entry that became due, then sets the
// timer for the next one.
func (e *expiries) due() {
	now := e.grp.Clock().Now().UnixNano()
	var ids []string
	e.mu.Lock()
	for e.h.n > 0 && e.h.at(0).at <= now {
		k := e.h.remove(0).id
		ids = append(ids, string(k[:]))
	}
	e.timer, e.armed = nil, 0
	if e.h.n > 0 {
		e.arm(e.h.at(0).at)
	}
	e.mu.Unlock()
	for _, id := range ids {
		e.fire(id)
	}
}

// reset forgets every entry (the group's StopAll stops the timer).
func (e *expiries) reset() {
	e.mu.Lock()
	e.h, e.sweep, e.timer, e.armed = expiryHeap{}, 0, nil, 0
	e.mu.Unlock()
}

// len returns the number of scheduled expiries.
func (e *expiries) len() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.h.n
}
