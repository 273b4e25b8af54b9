// Package journal keeps a bounded record of what the sandbox did: API
// exchanges with their signature diagnostics, state transitions, callback
// attempts, timers, payer-page steps, in-process hooks and notes
// (docs/design.md, Journal and events).
//
// The journal is a ring: it holds at most Capacity entries and about
// MaxBytes of bodies, dropping the oldest first, so a sandbox under load for
// hours stays at a flat memory footprint. Every entry is also published to
// subscribers (the admin API's server-sent events), which never block the
// writer: a subscriber that falls behind loses events and is told so.
package journal

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Kind is an entry kind; it is also the event name on the events stream.
type Kind string

const (
	KindRequest    Kind = "request"    // an API exchange
	KindTransition Kind = "transition" // an object changed state
	KindCallback   Kind = "callback"   // one delivery attempt
	KindTimer      Kind = "timer"      // a wait or deadline fired
	KindPage       Kind = "page"       // a payer page step or redirect
	KindHook       Kind = "hook"       // an in-process call between providers
	KindNote       Kind = "note"       // anything else
)

// Causes of a transition.
const (
	CauseRequest  = "request"
	CausePage     = "page"
	CauseScenario = "scenario"
	CauseAdmin    = "admin"
	CauseTimer    = "timer"
	CauseHook     = "hook"
)

// Signature verdicts.
const (
	VerdictOK        = "ok"
	VerdictRejected  = "rejected"
	VerdictTolerated = "tolerated"
)

// Callback attempt outcomes (docs/design.md, Callback delivery).
const (
	OutcomeAcknowledged = "acknowledged"
	OutcomeFailed       = "failed"
	OutcomeGaveUp       = "gave_up"
	OutcomeSkipped      = "skipped"
	OutcomeSuperseded   = "superseded"
	OutcomeCancelled    = "cancelled"
)

// Entry is one journal record. Exactly one of Request, Callback and
// Transition is set for those kinds; the other kinds use Summary and Data.
type Entry struct {
	ID       uint64    `json:"id"`
	Kind     Kind      `json:"kind"`
	Time     time.Time `json:"time"` // sandbox clock
	Provider string    `json:"provider,omitempty"`
	// Objects are the ids of the objects the entry concerns, the main one first.
	Objects    []string          `json:"objects,omitempty"`
	Summary    string            `json:"summary"`
	Request    *Exchange         `json:"request,omitempty"`
	Callback   *Attempt          `json:"callback,omitempty"`
	Transition *Transition       `json:"transition,omitempty"`
	Data       map[string]string `json:"data,omitempty"`
}

// Exchange is one API request and its answer.
type Exchange struct {
	Method            string              `json:"method"`
	Path              string              `json:"path"` // as received, with the query
	Host              string              `json:"host"`
	Remote            string              `json:"remote"`
	Status            int                 `json:"status"`
	DurationMS        float64             `json:"duration_ms"`
	RequestHeaders    map[string][]string `json:"request_headers"`
	RequestBody       string              `json:"request_body"`
	RequestTruncated  bool                `json:"request_truncated,omitempty"`
	ResponseHeaders   map[string][]string `json:"response_headers"`
	ResponseBody      string              `json:"response_body"`
	ResponseTruncated bool                `json:"response_truncated,omitempty"`
	Scenario          string              `json:"scenario,omitempty"`
	Rule              string              `json:"rule,omitempty"`
	Operation         string              `json:"operation,omitempty"` // e.g. "create payment", "SUBMIT_TRANSACTION"
	Error             string              `json:"error,omitempty"`     // the specific reason of an error answer
	Signature         *Signature          `json:"signature,omitempty"`
}

// Signature is what the sandbox knows about a request's signature: what was
// received, what it expected and how it got there. It is the screen that
// ends a signature hunt.
type Signature struct {
	Verdict    string      `json:"verdict"` // ok, rejected, tolerated
	Scheme     string      `json:"scheme"`  // e.g. "HMAC-SHA256 hex (Khipu API 2.0)"
	Received   string      `json:"received"`
	Expected   string      `json:"expected"` // the signature of the first candidate
	Candidates []Candidate `json:"candidates"`
	Detail     string      `json:"detail,omitempty"`
}

// Candidate is one canonical string the sandbox tried.
type Candidate struct {
	Name         string `json:"name"`
	StringToSign string `json:"string_to_sign"`
	Signature    string `json:"signature"`
	Match        bool   `json:"match"`
}

// Attempt is one callback delivery attempt (or a skipped/cancelled delivery).
type Attempt struct {
	Delivery       string              `json:"delivery"` // id of the delivery; resend target
	Event          string              `json:"event"`
	Attempt        int                 `json:"attempt"`
	Copy           int                 `json:"copy,omitempty"` // 1..N for scenario duplicates
	Manual         bool                `json:"manual,omitempty"`
	URL            string              `json:"url"`
	Method         string              `json:"method"`
	RequestHeaders map[string][]string `json:"request_headers,omitempty"`
	RequestBody    string              `json:"request_body"`
	StringToSign   string              `json:"string_to_sign,omitempty"`
	Status         int                 `json:"status,omitempty"`
	ResponseBody   string              `json:"response_body,omitempty"`
	Error          string              `json:"error,omitempty"`
	DurationMS     float64             `json:"duration_ms"`
	Outcome        string              `json:"outcome"`
	Reason         string              `json:"reason,omitempty"`
	NextAttempt    *time.Time          `json:"next_attempt,omitempty"`
	// LateBy is set on an attempt that fell due while the sandbox was
	// down and was sent at once after the restart (persistence, issue #18):
	// how late it was sent, e.g. "2h0m0s".
	LateBy string `json:"late_by,omitempty"`
}

// Transition is a state change of an object.
type Transition struct {
	Kind  string `json:"kind"` // object kind: payment, collection, transfer, order, transaction, ...
	From  string `json:"from"`
	To    string `json:"to"`
	Cause string `json:"cause"`
}

// Options size a journal.
type Options struct {
	Capacity int              // most entries kept; default 5000
	MaxBytes int              // most bytes kept (estimated: bodies, headers, strings); default 8 MiB
	BodyCap  int              // bytes kept of each body; default 16 KiB
	Now      func() time.Time // sandbox clock; default time.Now
}

// Journal is the bounded ring. It is safe for concurrent use.
type Journal struct {
	opt Options

	mu      sync.RWMutex
	ring    []Entry // grows to Capacity as entries come (an idle sandbox holds no empty ring)
	sizes   []int
	start   int // index of the oldest entry
	n       int
	bytes   int
	nextID  uint64
	dropped uint64

	subMu      sync.RWMutex
	subs       map[*Subscription]struct{}
	subscribed atomic.Int32 // subscriptions that take entries (not SubscribeNotices)
}

// New returns an empty journal.
func New(o Options) *Journal {
	if o.Capacity <= 0 {
		o.Capacity = 5000
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 8 << 20
	}
	if o.BodyCap <= 0 {
		o.BodyCap = 16 << 10
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Journal{
		opt:  o,
		subs: map[*Subscription]struct{}{},
	}
}

// BodyCap returns the per-body byte cap.
func (j *Journal) BodyCap() int { return j.opt.BodyCap }

// Add stores e (assigning its id, and its time when zero), evicting the
// oldest entries beyond the bounds, publishes it and returns the stored copy.
func (j *Journal) Add(e Entry) Entry {
	if e.Time.IsZero() {
		e.Time = j.opt.Now()
	}
	j.capBodies(&e)
	size := sizeOf(&e)
	j.mu.Lock()
	j.nextID++
	e.ID = j.nextID
	for j.n > 0 && (j.n >= j.opt.Capacity || j.bytes+size > j.opt.MaxBytes) {
		j.bytes -= j.sizes[j.start]
		j.ring[j.start] = Entry{}
		j.start = (j.start + 1) % j.opt.Capacity
		j.n--
		j.dropped++
	}
	i := (j.start + j.n) % j.opt.Capacity
	if i == len(j.ring) {
		j.grow()
	}
	j.ring[i] = e
	j.sizes[i] = size
	j.n++
	j.bytes += size
	j.mu.Unlock()
	if j.subscribed.Load() > 0 { // boxing the entry costs an allocation: only when someone listens
		j.publish(Event{Name: string(e.Kind), ID: e.ID, Data: e}, true)
	}
	return e
}

// grow makes room for one more slot at the end of the ring, which is full
// from 0 to len(ring) while it has never wrapped: the ring doubles up to
// Capacity, so a journal costs what it holds, not its bound. j.mu is held.
func (j *Journal) grow() {
	if len(j.ring) < cap(j.ring) {
		j.ring, j.sizes = j.ring[:len(j.ring)+1], j.sizes[:len(j.sizes)+1]
		return
	}
	n := min(max(2*len(j.ring), 64), j.opt.Capacity)
	ring, sizes := make([]Entry, len(j.ring)+1, n), make([]int, len(j.sizes)+1, n)
	copy(ring, j.ring)
	copy(sizes, j.sizes)
	j.ring, j.sizes = ring, sizes
}

// Per-field caps of an entry (issue #13): with BodyCap on each body, an
// entry holds a bounded number of bytes whatever the request carried, so
// that MaxBytes counts what the journal really holds and one hostile
// request cannot evict the whole journal.
const (
	// FieldCap bounds every header value, path, summary, error and
	// signature detail kept in an entry.
	FieldCap = 8 << 10
	// StringToSignCap bounds each candidate string to sign kept (the
	// debug header carries at most FieldCap of it; the journal has more).
	StringToSignCap = 64 << 10
	// MaxHeaders bounds the header fields kept per header map.
	MaxHeaders = 100
	// MaxCandidates bounds the signature candidates kept.
	MaxCandidates = 16
)

// capBodies applies the per-entry caps. Cut strings are copied, so that the
// entry does not keep the whole original alive behind a short prefix.
func (j *Journal) capBodies(e *Entry) {
	e.Summary = capField(e.Summary, FieldCap)
	for _, v := range e.Data {
		if len(v) > FieldCap {
			d := make(map[string]string, len(e.Data))
			for k2, v2 := range e.Data {
				d[k2] = capField(v2, FieldCap)
			}
			e.Data = d
			break
		}
	}
	if x := e.Request; x != nil {
		x.RequestBody, x.RequestTruncated = Truncate(x.RequestBody, j.opt.BodyCap, x.RequestTruncated)
		x.ResponseBody, x.ResponseTruncated = Truncate(x.ResponseBody, j.opt.BodyCap, x.ResponseTruncated)
		x.RequestHeaders = capHeaders(Redact(x.RequestHeaders))
		x.ResponseHeaders = capHeaders(x.ResponseHeaders)
		x.Path = capField(x.Path, FieldCap)
		x.Host = capField(x.Host, 256)
		x.Error = capField(x.Error, FieldCap)
		if sig := x.Signature; sig != nil {
			x.Signature = capSignature(sig)
		}
	}
	if a := e.Callback; a != nil {
		a.RequestBody, _ = Truncate(a.RequestBody, j.opt.BodyCap, false)
		a.ResponseBody, _ = Truncate(a.ResponseBody, 4<<10, false)
		a.StringToSign = capField(a.StringToSign, StringToSignCap)
		a.URL = capField(a.URL, FieldCap)
		a.Error = capField(a.Error, FieldCap)
		a.RequestHeaders = capHeaders(a.RequestHeaders)
	}
}

// capSignature returns sig with its strings capped (a copy when any is cut).
func capSignature(sig *Signature) *Signature {
	over := len(sig.Received) > FieldCap || len(sig.Expected) > FieldCap || len(sig.Detail) > FieldCap || len(sig.Candidates) > MaxCandidates
	for _, c := range sig.Candidates {
		over = over || len(c.StringToSign) > StringToSignCap || len(c.Signature) > FieldCap || len(c.Name) > FieldCap
	}
	if !over {
		return sig
	}
	cp := *sig
	cp.Received = capField(sig.Received, FieldCap)
	cp.Expected = capField(sig.Expected, FieldCap)
	cp.Detail = capField(sig.Detail, FieldCap)
	cands := sig.Candidates[:min(len(sig.Candidates), MaxCandidates)]
	cp.Candidates = make([]Candidate, len(cands))
	for i, c := range cands {
		cp.Candidates[i] = Candidate{Name: capField(c.Name, FieldCap), StringToSign: capField(c.StringToSign, StringToSignCap),
			Signature: capField(c.Signature, FieldCap), Match: c.Match}
	}
	return &cp
}

// capHeaders returns h with at most MaxHeaders fields of at most 8 values,
// each value at most FieldCap bytes (h itself when nothing is over).
func capHeaders(h map[string][]string) map[string][]string {
	over := len(h) > MaxHeaders
	for k, vs := range h {
		over = over || len(k) > FieldCap || len(vs) > 8
		for _, v := range vs {
			over = over || len(v) > FieldCap
		}
	}
	if !over {
		return h
	}
	out := make(map[string][]string, min(len(h), MaxHeaders))
	for k, vs := range h {
		if len(out) == MaxHeaders {
			break
		}
		vs = vs[:min(len(vs), 8)]
		cp := make([]string, len(vs))
		for i, v := range vs {
			cp[i] = capField(v, FieldCap)
		}
		out[capField(k, 256)] = cp
	}
	return out
}

// capField cuts s to n bytes (a copy) with a marker saying how long it was.
func capField(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut, _ := Truncate(s, n, false)
	return cut + "…[cut: " + strconv.Itoa(len(s)) + " bytes in all]"
}

// Truncate returns s cut to at most n bytes on a UTF-8 boundary, and whether
// it was (or already had been) cut. A cut string is a copy: it does not
// keep the original's memory alive.
func Truncate(s string, n int, already bool) (string, bool) {
	if len(s) <= n {
		return s, already
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.Clone(s[:cut]), true
}

// sizeOf estimates the memory an entry holds: its strings plus the
// overhead of the maps and slices that carry them.
func sizeOf(e *Entry) int {
	n := 512 + len(e.Summary)
	for _, o := range e.Objects {
		n += 16 + len(o)
	}
	headers := func(h map[string][]string) int {
		m := 48
		for k, vs := range h {
			m += 64 + len(k)
			for _, v := range vs {
				m += 16 + len(v)
			}
		}
		return m
	}
	if x := e.Request; x != nil {
		n += len(x.RequestBody) + len(x.ResponseBody) + len(x.Path) + len(x.Host) + len(x.Remote) + len(x.Error) +
			headers(x.RequestHeaders) + headers(x.ResponseHeaders)
		if s := x.Signature; s != nil {
			n += len(s.Received) + len(s.Expected) + len(s.Detail)
			for _, c := range s.Candidates {
				n += 48 + len(c.StringToSign) + len(c.Signature) + len(c.Name)
			}
		}
	}
	if a := e.Callback; a != nil {
		n += len(a.RequestBody) + len(a.ResponseBody) + len(a.StringToSign) + len(a.URL) + len(a.Error) + headers(a.RequestHeaders)
	}
	for k, v := range e.Data {
		n += 64 + len(k) + len(v)
	}
	return n
}

// Redact returns h with secrets masked (a copy when it holds any: bearer
// and basic credentials, API keys and cookies; h itself otherwise).
// Signatures are kept: they are what a developer needs to compare.
func Redact(h map[string][]string) map[string][]string {
	if h == nil {
		return nil
	}
	secret := false
	for k, vs := range h {
		for _, v := range vs {
			if redactValue(k, v) != v {
				secret = true
			}
		}
	}
	if !secret {
		return h // nothing to hide: no copy
	}
	out := make(map[string][]string, len(h))
	for k, vs := range h {
		cp := make([]string, len(vs))
		for i, v := range vs {
			cp[i] = redactValue(k, v)
		}
		out[k] = cp
	}
	return out
}

func redactValue(name, v string) string {
	switch strings.ToLower(name) {
	case "cookie", "set-cookie":
		return "[redacted]"
	case "x-api-key", "secret_key", "secret-key":
		if len(v) > 4 {
			return v[:4] + "…[redacted]"
		}
		return "[redacted]"
	case "authorization", "proxy-authorization":
		for _, scheme := range []string{"Bearer ", "Basic ", "bearer ", "basic "} {
			if strings.HasPrefix(v, scheme) {
				return scheme + "[redacted]"
			}
		}
	}
	return v
}

// HeaderMap converts an http.Header into the journal's map (a copy).
func HeaderMap(h http.Header) map[string][]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string][]string, len(h))
	for k, v := range h {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// Filter selects entries for List.
type Filter struct {
	Kinds    []Kind
	Provider string
	Object   string // entries that name this object id
	Before   uint64 // ids strictly below (0 = no bound): paging backwards
	After    uint64 // ids strictly above
	Limit    int    // default 100; at most Capacity
	// Match, when set, keeps only the entries it accepts.
	Match func(*Entry) bool
}

// List returns the matching entries, newest first.
func (j *Journal) List(f Filter) []Entry {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	j.mu.RLock()
	defer j.mu.RUnlock()
	var out []Entry
	for i := j.n - 1; i >= 0 && len(out) < f.Limit; i-- {
		e := &j.ring[(j.start+i)%j.opt.Capacity]
		if f.Before != 0 && e.ID >= f.Before {
			continue
		}
		if f.After != 0 && e.ID <= f.After {
			break
		}
		if !f.matches(e) {
			continue
		}
		out = append(out, *e)
	}
	return out
}

// Matches reports whether e passes the filter's kinds, provider, object and
// Match (not Before, After or Limit).
func (f *Filter) Matches(e *Entry) bool { return f.matches(e) }

func (f *Filter) matches(e *Entry) bool {
	if len(f.Kinds) > 0 {
		ok := false
		for _, k := range f.Kinds {
			if e.Kind == k {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if f.Provider != "" && e.Provider != f.Provider {
		return false
	}
	if f.Object != "" {
		ok := false
		for _, o := range e.Objects {
			if o == f.Object {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return f.Match == nil || f.Match(e)
}

// Get returns the entry with the given id, if it is still held.
func (j *Journal) Get(id uint64) (Entry, bool) {
	j.mu.RLock()
	defer j.mu.RUnlock()
	if i := j.search(id); i < j.n {
		if e := j.at(i); e.ID == id {
			return *e, true
		}
	}
	return Entry{}, false
}

// Adjacent returns the ids of the held entries just before and just after
// id (0 when there is none), whether or not id itself is held.
func (j *Journal) Adjacent(id uint64) (prev, next uint64) {
	j.mu.RLock()
	defer j.mu.RUnlock()
	i := j.search(id)
	if i > 0 {
		prev = j.at(i - 1).ID
	}
	if i < j.n && j.at(i).ID == id {
		i++
	}
	if i < j.n {
		next = j.at(i).ID
	}
	return prev, next
}

// search returns the position (0 = oldest) of the first held entry whose
// id is at least id, j.n when there is none; j.mu is held. Ids increase
// along the ring (Clear may leave gaps), so it is a binary search.
func (j *Journal) search(id uint64) int {
	lo, hi := 0, j.n
	for lo < hi {
		mid := (lo + hi) / 2
		if j.at(mid).ID < id {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// at returns the entry at position i (0 = oldest); j.mu is held.
func (j *Journal) at(i int) *Entry { return &j.ring[(j.start+i)%j.opt.Capacity] }

// Stats describe the ring's occupancy.
type Stats struct {
	Entries  int    `json:"entries"`
	Bytes    int    `json:"bytes"`
	Capacity int    `json:"capacity"`
	MaxBytes int    `json:"max_bytes"`
	Dropped  uint64 `json:"dropped"`
	LastID   uint64 `json:"last_id"`
}

// Stats returns the current occupancy.
func (j *Journal) Stats() Stats {
	j.mu.RLock()
	defer j.mu.RUnlock()
	return Stats{Entries: j.n, Bytes: j.bytes, Capacity: j.opt.Capacity, MaxBytes: j.opt.MaxBytes, Dropped: j.dropped, LastID: j.nextID}
}

// Clear removes the entries of one provider, or all entries when provider is "".
func (j *Journal) Clear(provider string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if provider == "" {
		j.ring, j.sizes = nil, nil // the memory goes back with the entries
		j.start, j.n, j.bytes = 0, 0, 0
		return
	}
	keep := make([]Entry, 0, j.n)
	sizes := make([]int, 0, j.n)
	for i := 0; i < j.n; i++ {
		k := (j.start + i) % j.opt.Capacity
		if j.ring[k].Provider != provider {
			keep = append(keep, j.ring[k])
			sizes = append(sizes, j.sizes[k])
		}
	}
	for i := range j.ring {
		j.ring[i] = Entry{}
		j.sizes[i] = 0
	}
	j.start, j.n, j.bytes = 0, len(keep), 0
	for i := range keep {
		j.ring[i] = keep[i]
		j.sizes[i] = sizes[i]
		j.bytes += sizes[i]
	}
}

// Event is one item of the events stream: a journal entry (Name = its kind)
// or a notice that is not stored (clock, scenarios, reset).
type Event struct {
	Name string
	ID   uint64 // journal id, 0 for notices
	Data any
}

// Subscription receives events until Close.
type Subscription struct {
	C chan Event
	j *Journal
	// noticesOnly: the subscription takes notices, not entries.
	noticesOnly bool
	// lost counts events dropped because C was full.
	mu   sync.Mutex
	lost uint64
}

// Subscribe returns a subscription with a buffer of n events (default 256).
func (j *Journal) Subscribe(n int) *Subscription {
	if n <= 0 {
		n = 256
	}
	return j.subscribe(&Subscription{C: make(chan Event, n), j: j})
}

// SubscribeNotices is Subscribe for the notices only (clock, scenarios,
// reset: Notify), not the entries. A subscriber that waits for a reset
// and lives as long as the sandbox (the demo shop) must not be sent, and
// woken for, the two or more entries of every request: on one CPU each
// wake-up is a trip through the scheduler for the request (issue #17),
// and each entry sent is a copy of it on the heap.
func (j *Journal) SubscribeNotices(n int) *Subscription {
	if n <= 0 {
		n = 256
	}
	return j.subscribe(&Subscription{C: make(chan Event, n), j: j, noticesOnly: true})
}

func (j *Journal) subscribe(s *Subscription) *Subscription {
	j.subMu.Lock()
	j.subs[s] = struct{}{}
	j.countSubscribers()
	j.subMu.Unlock()
	return s
}

// countSubscribers sets subscribed; j.subMu is held.
func (j *Journal) countSubscribers() {
	n := 0
	for s := range j.subs {
		if !s.noticesOnly {
			n++
		}
	}
	j.subscribed.Store(int32(n))
}

// Close stops the subscription.
func (s *Subscription) Close() {
	s.j.subMu.Lock()
	delete(s.j.subs, s)
	s.j.countSubscribers()
	s.j.subMu.Unlock()
}

// Lost returns and resets the number of events dropped for this subscriber.
func (s *Subscription) Lost() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.lost
	s.lost = 0
	return n
}

// Notify publishes an event that is not stored (clock, scenarios, reset).
func (j *Journal) Notify(name string, data any) {
	j.publish(Event{Name: name, Data: data}, false)
}

// publish sends ev to the subscriptions that take it (an entry: those not
// for notices only).
func (j *Journal) publish(ev Event, entry bool) {
	j.subMu.RLock()
	defer j.subMu.RUnlock()
	for s := range j.subs {
		if entry && s.noticesOnly {
			continue
		}
		select {
		case s.C <- ev:
		default:
			s.mu.Lock()
			s.lost++
			s.mu.Unlock()
		}
	}
}
