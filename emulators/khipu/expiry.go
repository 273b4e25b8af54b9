package khipu

import (
	"cmp"
	"container/heap"
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
	// forgotten payments (max_objects) are pruned once they outnumber the
	// live ones, so the queue stays as bounded as the store.
	live      func(id string) bool
	pruneSize int

	mu    sync.Mutex
	h     expiryHeap
	timer *clock.Timer
	armed int64 // UnixNano the timer is set for; 0 when none
}

type expiry struct {
	at int64 // UnixNano
	id paymentKey
}

type expiryHeap []expiry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
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
	e.mu.Lock()
	if e.live != nil && len(e.h) >= e.pruneSize {
		e.prune()
	}
	heap.Push(&e.h, expiry{at: at, id: key})
	rearm := e.armed == 0 || at < e.armed
	if rearm {
		e.arm(at)
	}
	e.mu.Unlock()
}

// prune drops the entries of payments no longer stored; e.mu is held.
func (e *expiries) prune() {
	kept := e.h[:0]
	for _, x := range e.h {
		if e.live(string(x.id[:])) {
			kept = append(kept, x)
		}
	}
	clear(e.h[len(kept):])
	e.h = kept
	heap.Init(&e.h)
	e.pruneSize = max(2*len(e.h), 1024)
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
	xs := make([]expiry, 0, len(e.h))
	for _, x := range e.h {
		if keep(string(x.id[:])) {
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
	for len(e.h) > 0 && e.h[0].at <= now {
		k := heap.Pop(&e.h).(expiry).id
		ids = append(ids, string(k[:]))
	}
	e.timer, e.armed = nil, 0
	if len(e.h) > 0 {
		e.arm(e.h[0].at)
	}
	e.mu.Unlock()
	for _, id := range ids {
		e.fire(id)
	}
}

// reset forgets every entry (the group's StopAll stops the timer).
func (e *expiries) reset() {
	e.mu.Lock()
	e.h, e.timer, e.armed = nil, nil, 0
	e.mu.Unlock()
}

// len returns the number of scheduled expiries.
func (e *expiries) len() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.h)
}
