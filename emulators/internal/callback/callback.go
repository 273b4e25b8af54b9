// Package callback owns every request the sandbox sends to a merchant:
// notifications, payment callbacks and confirmation pages.
//
// A Delivery is scheduled on the sandbox clock, signed per attempt by the
// provider's function, POSTed with a wall-clock timeout by a bounded pool of
// workers, retried on its schedule, and journaled attempt by attempt with the
// merchant's status and body. Deliveries can be re-sent by hand, are
// superseded by newer events of the same object when the provider says so,
// and are drained on shutdown: attempts already due run to completion,
// future ones are journaled as cancelled. Nothing here ever blocks the API
// request that caused the delivery.
package callback

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/paysandbox/sandbox/emulators/internal/clock"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
)

// Header is one request header, sent with its name exactly as given (Hambit
// wants lower-case access_key, timestamp, nonce and sign on the wire).
type Header struct{ Name, Value string }

// AttemptInfo tells a signer which attempt it is signing.
type AttemptInfo struct {
	Delivery string // delivery id
	Attempt  int    // 1-based attempt number
	Copy     int    // 0 for a regular attempt, 1..N for scenario duplicates
	Manual   bool   // a resend by hand
	Time     time.Time
}

// Signed is what a provider's signer returns for one attempt.
type Signed struct {
	Body         []byte // nil: the delivery's body (the usual case: same bytes every attempt)
	Headers      []Header
	StringToSign string
}

// Policy is a delivery's schedule.
type Policy struct {
	Delay     time.Duration   // wait before the first attempt (sandbox clock, scaled)
	Retry     []time.Duration // intervals between attempts after a failure (scaled); attempts = 1 + len(Retry)
	Timeout   time.Duration   // per-attempt HTTP timeout, wall-clock; default 10s
	Window    time.Duration   // no attempt starts later than this after the first (scaled); 0 = no limit
	Duplicate int             // extra copies of the first attempt sent, 1 s apart (a wait); never retried
	// FailFirst makes the first N regular attempts fail without being sent
	// (a simulated network failure, scenario fail_attempts).
	FailFirst int
}

// Delivery is one event to deliver to one URL.
type Delivery struct {
	Provider    string
	Objects     []string // ids of the objects concerned, main one first
	Event       string   // provider's event name, e.g. "payment done"
	URL         string
	Method      string // default POST
	ContentType string
	Body        []byte
	// Sign returns the headers (and optionally a per-attempt body) of an
	// attempt. Nil sends the body unsigned.
	Sign func(AttemptInfo, []byte) Signed
	// Ack decides whether a response status acknowledges the delivery.
	// Nil means any 2xx (every provider here passes ExactlyOK).
	Ack    func(status int) bool
	Policy Policy
	// SkipReason, when set, journals the delivery as skipped and sends nothing
	// ("scenario", "no_url").
	SkipReason string
	// SupersedeKey, when set, makes this delivery cancel the pending retries
	// of earlier deliveries with the same key (journaled as superseded).
	SupersedeKey string
	// OnResult, when set, is called after every attempt with its journal
	// record, before the record is added to the journal.
	OnResult func(journal.Attempt)
	// Rule is the scenario rule that shaped the delivery (scenarios.Plan.Label),
	// shown with its scheduled attempts; empty for the provider's defaults.
	Rule string
	// Resume, when set, is what the provider needs to build this delivery
	// again after a restart (its signer and result hook are closures): with
	// a Keeper, the delivery's pending attempts are kept and Resume is
	// handed back to the provider to rebuild it (issue #18).
	Resume json.RawMessage
}

// ExactlyOK acknowledges only HTTP 200, the rule of all three providers.
func ExactlyOK(status int) bool { return status == http.StatusOK }

// Options configure a Dispatcher.
type Options struct {
	Clock   *clock.Clock
	Journal *journal.Journal
	Log     *slog.Logger
	// Client sends the requests; nil builds one that never follows redirects.
	// Tests pass a client with an in-memory RoundTripper.
	Client *http.Client
	// Workers is each merchant host's budget of concurrent attempts
	// (default 64): a host that never answers holds at most that many, and
	// every other host keeps its own (issue #13).
	Workers int
	// MaxConcurrent bounds the attempts in flight across all hosts
	// (default 1024).
	MaxConcurrent int
	// Self, when set, reports whether an address is one of the sandbox's
	// own listeners: a callback whose URL names the sandbox's admin API or
	// dashboard is refused when its target resolves to one (issue #13).
	Self func(ip net.IP, port int) bool
	// Keep is how many finished deliveries stay resendable; default 4096.
	// Each holds its body and signing closure, so this bounds the memory a
	// long-running sandbox spends on them.
	Keep int
}

// Dispatcher schedules and performs deliveries. It is safe for concurrent use.
type Dispatcher struct {
	clk    *clock.Clock
	jr     *journal.Journal
	log    *slog.Logger
	client *http.Client

	ctx    context.Context // cancelled when Close gives up waiting
	cancel context.CancelFunc

	mu         sync.Mutex
	seq        uint64
	deliveries map[string]*delivery
	finished   []string // finished delivery ids, oldest first (for eviction)
	keep       int
	bySupKey   map[string][]*delivery
	closing    bool

	qmu     sync.Mutex
	lanes   map[string]*lane // merchant host → its queue and running attempts
	perHost int
	slots   chan struct{}  // MaxConcurrent tokens
	active  sync.WaitGroup // queued or running jobs

	self    func(net.IP, int) bool
	guarded *http.Client // for URLs that name the sandbox's own tree: checks the address it dials

	keeper   Keeper // SetKeeper; nil keeps nothing (guarded by mu)
	reserved uint64 // delivery ids up to this one are reserved with the keeper (guarded by mu)
}

// lane is one merchant host's share of the dispatcher: at most perHost
// attempts run at once; the rest wait in its own queue.
type lane struct {
	key     string
	queue   []job
	running int
}

type delivery struct {
	id       string
	d        Delivery
	attempts int            // regular attempts made
	timers   []*clock.Timer // scheduled future attempts and copies
	first    time.Time      // sandbox time of the first attempt
	state    string         // "", superseded, cancelled (by Reset), done
	pending  int            // scheduled + queued + running jobs
	done     bool           // counted in finished (eviction order)
	lane     string         // merchant host: its concurrency lane (laneKey)
	// running are the attempts being made. Reset cancels them and waits
	// for them: an attempt of a cancelled delivery still running then is
	// neither journaled, nor given to the provider, nor kept.
	running []*inflight
}

// inflight is one attempt being made: cancel aborts its request, done is
// closed once the attempt has no effect left to have.
type inflight struct {
	cancel context.CancelFunc
	done   chan struct{}
}

type job struct {
	del    *delivery
	copy   int
	manual bool
	once   bool          // a manual or resend attempt: no retry
	late   time.Duration // resumed after a restart, this much after its due time
}

// New starts a dispatcher with its workers.
func New(o Options) *Dispatcher {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Client == nil {
		o.Client = NewClient()
	}
	if o.Workers <= 0 {
		o.Workers = 64
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 1024
	}
	if o.Keep <= 0 {
		o.Keep = 4096
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Dispatcher{
		clk: o.Clock, jr: o.Journal, log: o.Log, client: o.Client,
		ctx: ctx, cancel: cancel,
		deliveries: map[string]*delivery{},
		bySupKey:   map[string][]*delivery{},
		keep:       o.Keep,
		lanes:      map[string]*lane{},
		perHost:    o.Workers,
		slots:      make(chan struct{}, o.MaxConcurrent),
		self:       o.Self,
	}
	if o.Self != nil {
		d.guarded = guardedClient(o.Self)
	}
	return d
}

// NewClient returns the HTTP client deliveries use by default: no redirects
// followed (a 3xx is a failed attempt), no proxy, generous keep-alive pools.
func NewClient() *http.Client {
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     60 * time.Second,
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Send schedules d and returns its delivery id.
func (d *Dispatcher) Send(del Delivery) string {
	if del.Method == "" {
		del.Method = http.MethodPost
	}
	d.mu.Lock()
	dl := d.newDelivery(del)
	if del.SkipReason != "" || d.closing {
		reason := del.SkipReason
		outcome := journal.OutcomeSkipped
		if reason == "" {
			reason, outcome = "shutdown", journal.OutcomeCancelled
		}
		dl.state = "done"
		d.finish(dl)
		d.mu.Unlock()
		d.record(dl, job{del: dl}, journal.Attempt{Outcome: outcome, Reason: reason}, nil)
		return dl.id
	}
	if del.SupersedeKey != "" {
		if superseded := d.supersede(del.SupersedeKey, dl); len(superseded) > 0 {
			// The journal says "superseded" before the newer delivery can
			// make its first attempt: its worker starts only after this.
			d.mu.Unlock()
			for _, old := range superseded {
				d.record(old, job{del: old}, journal.Attempt{Outcome: journal.OutcomeSuperseded, Reason: "superseded by " + dl.id}, nil)
			}
			d.mu.Lock()
			if d.closing {
				dl.state = "done"
				d.finish(dl)
				d.mu.Unlock()
				d.record(dl, job{del: dl}, journal.Attempt{Outcome: journal.OutcomeCancelled, Reason: "shutdown"}, nil)
				return dl.id
			}
		}
	}
	d.scheduleLocked(dl, del.Policy.Delay, job{del: dl})
	if del.Policy.FailFirst == 0 {
		d.scheduleCopies(dl, del.Policy.Delay)
	}
	keep := func() {}
	if d.keeper != nil && del.Resume != nil {
		keep = d.pendingLocked(dl, d.clk.Now().Add(d.clk.Scaled(del.Policy.Delay)))
	}
	d.mu.Unlock()
	keep()
	return dl.id
}

// SendNow performs one attempt of del at once, with no retries (the object
// action resend_callback: a body built from the object's current state).
func (d *Dispatcher) SendNow(del Delivery) string {
	if del.Method == "" {
		del.Method = http.MethodPost
	}
	d.mu.Lock()
	dl := d.newDelivery(del)
	if d.closing {
		dl.state = "done"
		d.finish(dl)
		d.mu.Unlock()
		d.record(dl, job{del: dl, manual: true}, journal.Attempt{Outcome: journal.OutcomeCancelled, Reason: "shutdown"}, nil)
		return dl.id
	}
	d.enqueueLocked(job{del: dl, manual: true, once: true})
	d.mu.Unlock()
	return dl.id
}

// ErrUnknownDelivery is returned by Resend for an id it does not hold.
var ErrUnknownDelivery = errors.New("unknown delivery")

// ErrClosed is returned once the dispatcher is shutting down.
var ErrClosed = errors.New("the callback dispatcher is shutting down")

// Resend sends the body of a journaled delivery once more, now, with fresh
// per-attempt signature data and no retries.
func (d *Dispatcher) Resend(id string) error {
	d.mu.Lock()
	dl, ok := d.deliveries[id]
	if !ok {
		d.mu.Unlock()
		return fmt.Errorf("%w %q (only the last %d finished deliveries are kept)", ErrUnknownDelivery, id, d.keep)
	}
	if d.closing {
		d.mu.Unlock()
		return ErrClosed
	}
	if dl.d.URL == "" {
		d.mu.Unlock()
		return fmt.Errorf("delivery %s has no URL to send to", id)
	}
	d.enqueueLocked(job{del: dl, manual: true, once: true})
	d.mu.Unlock()
	return nil
}

// Delivery returns the provider and objects of a held delivery.
func (d *Dispatcher) Delivery(id string) (Delivery, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dl, ok := d.deliveries[id]
	if !ok {
		return Delivery{}, false
	}
	return dl.d, true
}

// Pending returns the number of deliveries with attempts still to come.
func (d *Dispatcher) Pending() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, dl := range d.deliveries {
		if dl.pending > 0 {
			n++
		}
	}
	return n
}

// Reset cancels the scheduled attempts of one provider's deliveries (all
// providers when provider is "") and forgets them. Attempts being made are
// aborted, and Reset returns once they have ended: nothing of them reaches
// the journal, the provider or the keeper afterwards, so a reset followed
// by clearing the journal leaves no trace of what came before.
func (d *Dispatcher) Reset(provider string) {
	d.mu.Lock()
	var cancelled []*delivery
	var forget []func()
	var running []chan struct{}
	defer func() {
		for _, f := range forget {
			f()
		}
		for _, done := range running {
			<-done
		}
	}()
	for id, dl := range d.deliveries {
		if provider != "" && dl.d.Provider != provider {
			continue
		}
		if d.stopTimers(dl) > 0 {
			cancelled = append(cancelled, dl)
		}
		dl.state = "cancelled"
		for _, r := range dl.running {
			r.cancel()
			running = append(running, r.done)
		}
		delete(d.deliveries, id)
		forget = append(forget, d.forgetLocked(dl))
	}
	for k, list := range d.bySupKey {
		kept := list[:0]
		for _, dl := range list {
			if dl.state != "cancelled" {
				kept = append(kept, dl)
			}
		}
		if len(kept) == 0 {
			delete(d.bySupKey, k)
		} else {
			d.bySupKey[k] = kept
		}
	}
	d.mu.Unlock()
	for _, dl := range cancelled {
		d.record(dl, job{del: dl}, journal.Attempt{Outcome: journal.OutcomeCancelled, Reason: "reset"}, nil)
	}
}

// Close stops taking deliveries, runs the attempts already due, journals the
// future ones as cancelled and waits for the workers. If ctx ends first,
// in-flight requests are aborted and ctx's error is returned.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.mu.Lock()
	if d.closing {
		d.mu.Unlock()
		return nil
	}
	d.closing = true
	var cancelled []*delivery
	for _, dl := range d.deliveries {
		if d.stopTimers(dl) > 0 {
			cancelled = append(cancelled, dl)
		}
	}
	d.mu.Unlock()
	for _, dl := range cancelled {
		d.record(dl, job{del: dl}, journal.Attempt{Outcome: journal.OutcomeCancelled, Reason: "shutdown"}, nil)
	}
	done := make(chan struct{})
	go func() {
		d.active.Wait()
		close(done)
	}()
	select {
	case <-done:
		d.cancel()
		return nil
	case <-ctx.Done():
		d.cancel()
		<-done
		return ctx.Err()
	}
}

// newDelivery registers a delivery; d.mu is held.
func (d *Dispatcher) newDelivery(del Delivery) *delivery {
	d.seq++
	d.reserveLocked()
	dl := &delivery{id: fmt.Sprintf("cb%07d", d.seq), d: del, lane: laneKey(del.URL)}
	d.deliveries[dl.id] = dl
	return dl
}

// finish marks dl as finished for eviction purposes; d.mu is held.
func (d *Dispatcher) finish(dl *delivery) {
	if dl.done {
		return
	}
	dl.done = true
	if dl.d.URL == "" {
		// Nothing to resend it to: do not hold its body and closures.
		delete(d.deliveries, dl.id)
		if k := dl.d.SupersedeKey; k != "" {
			d.dropSupKey(k, dl)
		}
		return
	}
	d.finished = append(d.finished, dl.id)
	for len(d.finished) > d.keep {
		old := d.finished[0]
		d.finished = d.finished[1:]
		if o, ok := d.deliveries[old]; ok && o.pending == 0 {
			delete(d.deliveries, old)
			if k := o.d.SupersedeKey; k != "" {
				d.dropSupKey(k, o)
			}
		}
	}
	if cap(d.finished) > 4*d.keep {
		d.finished = append([]string(nil), d.finished...)
	}
}

func (d *Dispatcher) dropSupKey(k string, dl *delivery) {
	list := d.bySupKey[k]
	for i, x := range list {
		if x == dl {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(d.bySupKey, k)
	} else {
		d.bySupKey[k] = list
	}
}

// supersede cancels pending retries of older deliveries with the key and
// returns the deliveries it cancelled (to journal once d.mu is released).
func (d *Dispatcher) supersede(key string, newer *delivery) []*delivery {
	var out []*delivery
	for _, old := range d.bySupKey[key] {
		if old.state != "" {
			continue
		}
		if n := d.stopTimers(old); n > 0 || old.pending > 0 {
			old.state = "superseded"
			if n > 0 {
				out = append(out, old)
			}
		}
	}
	d.bySupKey[key] = append(d.bySupKey[key], newer)
	return out
}

// stopTimers stops dl's scheduled attempts and returns how many it stopped; d.mu is held.
func (d *Dispatcher) stopTimers(dl *delivery) int {
	n := 0
	for _, t := range dl.timers {
		if t.Stop() {
			n++
			dl.pending--
		}
	}
	dl.timers = nil
	if n > 0 && dl.pending == 0 {
		d.finish(dl)
	}
	return n
}

// scheduleCopies schedules the scenario's duplicate copies, 1 s apart after
// the wait w; d.mu is held. Copies follow the first attempt that is really
// sent (with fail_attempts, the first attempt after the simulated failures).
func (d *Dispatcher) scheduleCopies(dl *delivery, w time.Duration) {
	for i := 1; i <= dl.d.Policy.Duplicate; i++ {
		d.scheduleLocked(dl, w+time.Duration(i)*time.Second, job{del: dl, copy: i})
	}
}

// scheduleLocked schedules j after the wait w; d.mu is held.
func (d *Dispatcher) scheduleLocked(dl *delivery, w time.Duration, j job) {
	dl.pending++
	var t *clock.Timer
	t = d.clk.Wait(w, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		for i, x := range dl.timers {
			if x == t {
				dl.timers = append(dl.timers[:i], dl.timers[i+1:]...)
				break
			}
		}
		if d.closing {
			// Close began after this timer fired but before it got here.
			dl.pending--
			d.record(dl, j, journal.Attempt{Outcome: journal.OutcomeCancelled, Reason: "shutdown"}, nil)
			return
		}
		d.enqueueLocked(j)
		dl.pending-- // enqueueLocked counted it again
	})
	l := clock.Label{Provider: dl.d.Provider, Kind: "callback_attempt", Rule: dl.d.Rule,
		Detail: fmt.Sprintf("%s %s to %s, attempt %d", dl.id, dl.d.Event, dl.d.URL, dl.attempts+1)}
	if j.copy > 0 {
		l.Kind, l.Detail = "callback_copy", fmt.Sprintf("%s %s to %s, duplicate copy %d", dl.id, dl.d.Event, dl.d.URL, j.copy)
	}
	if j.late > 0 {
		l.Detail += fmt.Sprintf(" (due while the sandbox was down: %v late)", j.late)
	}
	if len(dl.d.Objects) > 0 {
		l.Object = dl.d.Objects[0]
	}
	t.Describe(l)
	dl.timers = append(dl.timers, t)
}

// enqueueLocked queues an attempt in its merchant host's lane; d.mu is
// held, so Close (which sets closing under d.mu before waiting) never races
// with the Add below.
func (d *Dispatcher) enqueueLocked(j job) {
	j.del.pending++
	d.active.Add(1)
	key := j.del.lane
	d.qmu.Lock()
	l := d.lanes[key]
	if l == nil {
		l = &lane{key: key}
		d.lanes[key] = l
	}
	if l.running < d.perHost {
		l.running++
		d.qmu.Unlock()
		go d.drive(l, j)
		return
	}
	l.queue = append(l.queue, j)
	d.qmu.Unlock()
}

// laneKey is the merchant host of a callback URL (scheme and port
// included): the unit of the concurrency budget.
func laneKey(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// drive runs j, then the lane's queued jobs, one after another, until the
// lane's queue is empty. A lane has at most perHost drivers.
func (d *Dispatcher) drive(l *lane, j job) {
	for {
		d.slots <- struct{}{}
		d.runSafely(j)
		<-d.slots
		d.active.Done()
		d.qmu.Lock()
		if len(l.queue) == 0 {
			l.running--
			if l.running == 0 {
				delete(d.lanes, l.key)
			}
			d.qmu.Unlock()
			return
		}
		j = l.queue[0]
		l.queue[0] = job{}
		l.queue = l.queue[1:]
		if len(l.queue) == 0 && cap(l.queue) > 1024 {
			l.queue = nil
		}
		d.qmu.Unlock()
	}
}

// runSafely is run with a last-resort recovery: a panic (a provider's
// signer or result hook) is logged and journaled, and the driver carries
// on with the next job.
func (d *Dispatcher) runSafely(j job) {
	defer func() {
		if v := recover(); v != nil {
			d.panicked("callback worker", v, j.del.d.Provider)
		}
	}()
	d.run(j)
}

// panicked logs and journals a recovered panic.
func (d *Dispatcher) panicked(where string, v any, provider string) {
	buf := make([]byte, 8<<10)
	buf = buf[:runtime.Stack(buf, false)]
	d.log.Error("panic in "+where, "panic", fmt.Sprint(v), "stack", string(buf))
	if d.jr != nil {
		d.jr.Add(journal.Entry{Kind: journal.KindNote, Provider: provider, Summary: "panic in " + where + ": " + fmt.Sprint(v),
			Data: map[string]string{"stack": string(buf)}})
	}
}

// run performs one attempt.
func (d *Dispatcher) run(j job) {
	dl := j.del
	d.mu.Lock()
	if dl.state == "cancelled" || !j.once && dl.state == "superseded" {
		dl.pending--
		d.mu.Unlock()
		return
	}
	attempt := dl.attempts + 1
	if j.copy == 0 && !j.once {
		dl.attempts++
		attempt = dl.attempts
		if attempt == 1 {
			dl.first = d.clk.Now()
		}
	} else if j.copy > 0 {
		attempt = 1
	}
	del := dl.d
	ctx, cancel := context.WithCancel(d.ctx)
	run := &inflight{cancel: cancel, done: make(chan struct{})}
	dl.running = append(dl.running, run)
	d.mu.Unlock()
	defer func() { // after the journal and the provider's hook: Reset waits for this
		d.mu.Lock()
		if i := slices.Index(dl.running, run); i >= 0 {
			dl.running = slices.Delete(dl.running, i, i+1)
		}
		d.mu.Unlock()
		cancel()
		close(run.done)
	}()

	info := AttemptInfo{Delivery: dl.id, Attempt: attempt, Copy: j.copy, Manual: j.manual, Time: d.clk.Now()}
	var rec journal.Attempt
	var acked bool
	if j.copy == 0 && !j.once && attempt <= del.Policy.FailFirst {
		rec = journal.Attempt{Delivery: dl.id, Event: del.Event, Attempt: attempt, URL: del.URL, Method: del.Method,
			RequestBody: string(del.Body), Error: NotSent}
	} else {
		if k := d.keeperOf(); k != nil {
			k.Sync()
		}
		rec, acked = d.post(ctx, del, info)
	}

	d.mu.Lock()
	dl.pending--
	if dl.state == "cancelled" {
		d.mu.Unlock()
		return
	}
	if j.copy == 0 && !j.once && attempt == del.Policy.FailFirst+1 && del.Policy.FailFirst > 0 && !d.closing {
		d.scheduleCopies(dl, 0)
	}
	switch {
	case acked:
		rec.Outcome = journal.OutcomeAcknowledged
	case j.copy > 0 || j.once:
		rec.Outcome = journal.OutcomeFailed
		rec.Reason = "not retried (a duplicate copy or a manual send)"
	case d.closing:
		rec.Outcome = journal.OutcomeCancelled
		rec.Reason = "shutdown"
	case dl.state == "superseded":
		rec.Outcome = journal.OutcomeSuperseded
	default:
		rec.Outcome = journal.OutcomeGaveUp
		if i := attempt - 1; i < len(del.Policy.Retry) {
			wait := del.Policy.Retry[i]
			next := d.clk.Now().Add(d.clk.Scaled(wait))
			if w := del.Policy.Window; w <= 0 || !next.After(dl.first.Add(d.clk.Scaled(w))) {
				rec.Outcome = journal.OutcomeFailed
				rec.NextAttempt = &next
				d.scheduleLocked(dl, wait, job{del: dl})
			} else {
				rec.Reason = "retry window closed"
			}
		} else {
			rec.Reason = fmt.Sprintf("no attempts left after %d", attempt)
		}
	}
	if dl.pending == 0 {
		if dl.state == "" {
			dl.state = "done"
		}
		d.finish(dl)
	}
	keep := func() {}
	if j.copy == 0 && !j.once && !d.closing {
		if rec.NextAttempt != nil {
			keep = d.pendingLocked(dl, *rec.NextAttempt)
		} else {
			keep = d.forgetLocked(dl)
		}
	}
	d.mu.Unlock()
	if j.late > 0 {
		rec.LateBy = j.late.String()
	}
	keep()
	d.record(dl, j, rec, &info)
}

// post sends one attempt and returns its journal record and whether it was
// acknowledged. A panic in the provider's signer is a failed attempt.
func (d *Dispatcher) post(ctx context.Context, del Delivery, info AttemptInfo) (rec journal.Attempt, acked bool) {
	defer func() {
		if v := recover(); v != nil {
			d.panicked("callback signer", v, del.Provider)
			rec.Error, acked = fmt.Sprintf("internal error: the sandbox failed to build this attempt (panic: %v)", v), false
		}
	}()
	body := del.Body
	var signed Signed
	if del.Sign != nil {
		signed = del.Sign(info, body)
		if signed.Body != nil {
			body = signed.Body
		}
	}
	rec = journal.Attempt{
		Delivery: info.Delivery, Event: del.Event, Attempt: info.Attempt, Copy: info.Copy, Manual: info.Manual,
		URL: del.URL, Method: del.Method, RequestBody: string(body), StringToSign: signed.StringToSign,
	}
	timeout := del.Policy.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, del.Method, del.URL, bytes.NewReader(body))
	if err != nil {
		rec.Error = "bad callback URL: " + err.Error()
		return rec, false
	}
	req.Header = http.Header{}
	if del.ContentType != "" {
		req.Header.Set("Content-Type", del.ContentType)
	}
	req.Header.Set("User-Agent", "paysandbox/1")
	for _, h := range signed.Headers {
		req.Header[h.Name] = []string{h.Value}
	}
	rec.RequestHeaders = journal.HeaderMap(req.Header)
	client := d.client
	if d.guarded != nil && sandboxTree(req.URL) {
		client = d.guarded // dials only addresses that are not the sandbox's own
	}
	start := time.Now()
	resp, err := client.Do(req)
	rec.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		rec.Error = describe(err, timeout)
		return rec, false
	}
	limited, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // let the connection be reused
	resp.Body.Close()
	rec.Status = resp.StatusCode
	rec.ResponseBody = string(limited)
	ack := del.Ack
	if ack == nil {
		ack = func(s int) bool { return s >= 200 && s < 300 }
	}
	if !ack(resp.StatusCode) {
		rec.Error = fmt.Sprintf("HTTP %d does not acknowledge", resp.StatusCode)
		if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode/100 == 3 {
			rec.Error += " (redirect to " + loc + " not followed)"
		}
		return rec, false
	}
	return rec, true
}

func describe(err error, timeout time.Duration) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("no answer within %v", timeout)
	}
	if errors.Is(err, context.Canceled) {
		return "aborted: the sandbox is shutting down"
	}
	return err.Error()
}

// record journals one attempt (or a skipped/cancelled/superseded delivery).
// NotSent is the error of an attempt that failed without being sent (the
// scenario key fail_attempts): the merchant never received it.
const NotSent = "simulated network failure (scenario fail_attempts): not sent"

func (d *Dispatcher) record(dl *delivery, j job, rec journal.Attempt, info *AttemptInfo) {
	del := dl.d
	rec.Delivery = dl.id
	rec.Event = del.Event
	if rec.URL == "" {
		rec.URL = del.URL
	}
	if rec.Method == "" {
		rec.Method = del.Method
	}
	if rec.RequestBody == "" {
		rec.RequestBody = string(del.Body)
	}
	if info == nil {
		rec.Copy = j.copy
		rec.Manual = j.manual
	}
	summary := fmt.Sprintf("%s %s → %s", del.Event, rec.URL, rec.Outcome)
	if rec.Status != 0 {
		summary = fmt.Sprintf("%s attempt %d → HTTP %d, %s", del.Event, rec.Attempt, rec.Status, rec.Outcome)
	} else if rec.Error != "" {
		summary = fmt.Sprintf("%s attempt %d → %s, %s", del.Event, rec.Attempt, rec.Error, rec.Outcome)
	}
	if info != nil && del.OnResult != nil {
		// Before the journal: whoever sees the attempt there sees the
		// provider's object already updated by it.
		func() {
			defer func() {
				if v := recover(); v != nil {
					d.panicked("callback result hook", v, del.Provider)
				}
			}()
			del.OnResult(rec)
		}()
	}
	if d.jr != nil {
		d.jr.Add(journal.Entry{
			Kind: journal.KindCallback, Provider: del.Provider, Objects: del.Objects,
			Summary: summary, Callback: &rec,
		})
	}
	d.log.Debug("callback", "provider", del.Provider, "delivery", dl.id, "event", del.Event,
		"attempt", rec.Attempt, "status", rec.Status, "outcome", rec.Outcome, "err", rec.Error)
}
