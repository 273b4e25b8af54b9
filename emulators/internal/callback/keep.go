package callback

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paysandbox/sandbox/emulators/internal/journal"
)

// Keeper keeps the pending deliveries across restarts (the state store,
// issue #18). Note is called with the dispatcher's lock held, in the order
// the changes happen, and must not block; Flush is called after the lock
// is released and returns once the latest noted state of the delivery is
// durable. So a Flush that runs late never writes an older state.
type Keeper interface {
	// Note records the latest state of delivery id: p, or nil when it has
	// no regular attempt left to make (forget it).
	Note(id string, p *Pending)
	// Flush makes the latest noted state of id durable.
	Flush(id string)
	// ReserveIDs makes durable that delivery ids up to cb<upTo> may be in
	// use, so that a restart continues after them (finished deliveries
	// are not kept). Called with the dispatcher's lock held, once per
	// idBlock deliveries.
	ReserveIDs(upTo uint64)
	// Sync returns once every state change made so far is durable; it is
	// called before each attempt is sent, so that a callback never
	// announces a change a crash could still lose.
	Sync()
}

// idBlock is how many delivery ids are reserved with the keeper at once.
const idBlock = 1024

// reserveLocked reserves the next block of ids when d.seq leaves the
// reserved one; d.mu is held.
func (d *Dispatcher) reserveLocked() {
	if d.keeper == nil || d.seq <= d.reserved {
		return
	}
	d.reserved = d.seq + idBlock - 1
	d.keeper.ReserveIDs(d.reserved)
}

// ContinueIDs makes the next delivery id follow last, the highest id
// reserved before a restart.
func (d *Dispatcher) ContinueIDs(last uint64) {
	d.mu.Lock()
	d.seq = max(d.seq, last)
	d.reserved = d.seq
	d.mu.Unlock()
}

// Pending is a delivery with a regular attempt still to come, as kept: the
// data of its Delivery (not the closures: Resume rebuilds those), its
// attempts made so far and when the next one is due.
type Pending struct {
	ID           string          `json:"id"`
	Provider     string          `json:"provider"`
	Objects      []string        `json:"objects"`
	Event        string          `json:"event"`
	URL          string          `json:"url"`
	Method       string          `json:"method"`
	ContentType  string          `json:"content_type"`
	Body         []byte          `json:"body"`
	Policy       Policy          `json:"policy"`
	SupersedeKey string          `json:"supersede_key,omitempty"`
	Rule         string          `json:"rule,omitempty"`
	Resume       json.RawMessage `json:"resume"`
	Attempts     int             `json:"attempts"` // regular attempts made
	First        time.Time       `json:"first"`    // sandbox time of the first attempt (zero before it)
	Due          time.Time       `json:"due"`      // sandbox time the next attempt is due
}

// SetKeeper makes the dispatcher keep every delivery that has a Resume
// with k (nil: keep nothing, the default).
func (d *Dispatcher) SetKeeper(k Keeper) {
	d.mu.Lock()
	d.keeper = k
	d.mu.Unlock()
}

// pendingLocked returns the Keep call of dl with its next attempt due at
// due, to run once d.mu is released; d.mu is held.
func (d *Dispatcher) pendingLocked(dl *delivery, due time.Time) func() {
	k := d.keeper
	if k == nil || dl.d.Resume == nil || dl.state != "" {
		return func() {}
	}
	p := Pending{ID: dl.id, Provider: dl.d.Provider, Objects: dl.d.Objects, Event: dl.d.Event, URL: dl.d.URL, Method: dl.d.Method,
		ContentType: dl.d.ContentType, Body: dl.d.Body, Policy: dl.d.Policy, SupersedeKey: dl.d.SupersedeKey, Rule: dl.d.Rule,
		Resume: dl.d.Resume, Attempts: dl.attempts, First: dl.first, Due: due}
	id := dl.id
	k.Note(id, &p)
	return func() { k.Flush(id) }
}

// forgetLocked returns the Forget call of dl; d.mu is held.
func (d *Dispatcher) forgetLocked(dl *delivery) func() {
	k := d.keeper
	if k == nil || dl.d.Resume == nil {
		return func() {}
	}
	id := dl.id
	k.Note(id, nil)
	return func() { k.Flush(id) }
}

// Resume schedules the kept deliveries again after a restart, in the order
// they fell due: rebuild turns each back into a Delivery (the provider's
// signer and result hook, from Pending.Resume; false when its object is
// gone). The next attempt of each keeps its number; one that fell due
// while the sandbox was down is sent at once and journaled with late_by.
// It returns how many were resumed and how many were late.
func (d *Dispatcher) Resume(kept []Pending, rebuild func(Pending) (Delivery, bool)) (resumed, late int) {
	kept = slices.Clone(kept)
	slices.SortStableFunc(kept, func(a, b Pending) int { return a.Due.Compare(b.Due) })
	now := d.clk.Now()
	for _, p := range kept {
		del, ok := rebuild(p)
		if !ok {
			if d.jr != nil {
				d.jr.Add(journal.Entry{Kind: journal.KindNote, Provider: p.Provider, Objects: p.Objects,
					Summary: fmt.Sprintf("callback %s (%s) not resumed after the restart: its object is gone", p.ID, p.Event)})
			}
			if k := d.keeperOf(); k != nil {
				k.Note(p.ID, nil)
				k.Flush(p.ID)
			}
			continue
		}
		del.Provider, del.Objects, del.Event, del.URL, del.Body = p.Provider, p.Objects, p.Event, p.URL, p.Body
		del.Method, del.ContentType, del.Policy, del.SupersedeKey, del.Rule, del.Resume = p.Method, p.ContentType, p.Policy, p.SupersedeKey, p.Rule, p.Resume
		d.mu.Lock()
		dl := &delivery{id: p.ID, d: del, lane: laneKey(del.URL), attempts: p.Attempts, first: p.First}
		d.deliveries[dl.id] = dl
		if n, err := strconv.ParseUint(strings.TrimPrefix(p.ID, "cb"), 10, 64); err == nil && n > d.seq {
			d.seq = n
		}
		if k := p.SupersedeKey; k != "" {
			d.bySupKey[k] = append(d.bySupKey[k], dl)
		}
		j := job{del: dl}
		var w time.Duration
		if wait := p.Due.Sub(now); wait > 0 {
			w = time.Duration(float64(wait) / d.clk.TimeScale())
		} else {
			j.late = max(-wait, time.Nanosecond)
			late++
		}
		d.scheduleLocked(dl, w, j)
		d.mu.Unlock()
		resumed++
	}
	return resumed, late
}

func (d *Dispatcher) keeperOf() Keeper {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.keeper
}
