package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/callback"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/persist"
	"github.com/paysandbox/sandbox/scenarios"
)

// persistent is a provider whose objects the state store keeps.
type persistent interface {
	// Persisted returns the provider's tables.
	Persisted() []persist.Binding
	// Resume rebuilds indexes, counters and scheduled work from the
	// restored objects.
	Resume()
	// ResumeDelivery rebuilds a pending callback kept across a restart.
	ResumeDelivery(callback.Pending) (callback.Delivery, bool)
}

// Keys of the sandbox-wide values in the state store.
const (
	metaClockOffset = "clock_offset_ns"
	metaScenarios   = "scenarios"
	metaCallbackIDs = "callback_ids" // the highest callback delivery id reserved
)

// savedScenarios are the uploaded scenarios (their YAML) and the active one.
type savedScenarios struct {
	Active  string   `json:"active"`
	Uploads []string `json:"uploads"`
}

// openState opens the state store in the data directory, loads what it
// holds into the sandbox (clock offset, uploaded and active scenarios,
// every provider's objects), resumes the schedule derived from them, and
// from then on writes every change through. Called by New when persist is
// on, before the sandbox serves anything.
func (s *Sandbox) openState() error {
	if s.cfg.DataDir == "" {
		return errors.New("persist: needs a data directory (--data-dir, SANDBOX_DATA_DIR or data_dir)")
	}
	st, err := persist.Open(s.cfg.DataDir)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		st.Close()
		return err
	}
	var off int64
	if _, err := st.Meta(metaClockOffset, &off); err != nil {
		return fail(err)
	}
	if off > 0 {
		s.clock.Advance(time.Duration(off))
	}
	var sc savedScenarios
	if _, err := st.Meta(metaScenarios, &sc); err != nil {
		return fail(err)
	}
	for _, y := range sc.Uploads {
		if _, err := s.scen.Upload([]byte(y)); err != nil {
			s.log.Warn("state store: an uploaded scenario no longer loads; dropped", "error", err)
		}
	}
	if sc.Active != "" && sc.Active != s.scen.Active() {
		if err := s.scen.SetActive(sc.Active); err != nil {
			s.log.Warn("state store: the active scenario is gone; keeping the configured one", "scenario", sc.Active, "error", err)
		}
	}
	if err := s.restoreCounters(st); err != nil {
		return fail(err)
	}
	var bindings []persist.Binding
	counts := map[string]int{}
	for _, p := range s.providers {
		pp, ok := p.(persistent)
		if !ok {
			continue
		}
		for _, b := range pp.Persisted() {
			n, err := b.Restore(st)
			if err != nil {
				return fail(err)
			}
			counts[b.Bucket()] = n
			bindings = append(bindings, b)
		}
	}
	report := func(err error) {
		s.log.Error("state store write failed", "error", err)
		s.journal.Add(journal.Entry{Kind: journal.KindNote, Summary: err.Error()})
	}
	// Attached before the schedule resumes: a timer that fell due during
	// the downtime fires at once, and what it changes must be written.
	for _, b := range bindings {
		b.Attach(st, report)
	}
	for _, p := range s.providers {
		if pp, ok := p.(persistent); ok {
			pp.Resume()
		}
	}
	if err := s.resumeCallbacks(st, report); err != nil {
		return fail(err)
	}
	s.clock.SetOnAdvance(func(off time.Duration) {
		if err := st.SetMeta(metaClockOffset, int64(off)); err != nil {
			report(fmt.Errorf("state store: clock offset: %w", err))
		}
	})
	s.scen.SetCountHook(func(name string) { s.saveCounters(st, name, report) })
	s.state = st
	s.saveScenarios() // the configured active scenario may differ from the stored one
	s.log.Info("state loaded", "file", st.File(), "objects", counts, "clock_offset", time.Duration(off).String())
	return nil
}

// durableAnswers holds every answer until the state changes made before
// it are on disk (persistence on): a client that saw a payment created
// finds it after kill -9. Writes are queued as they happen and committed
// together, so waiting here costs one shared fsync, not one per change.
// When the store failed to write a change made during the request, the
// answer the handler wrote is dropped unsent and a 503 in the route's own
// error shape says so, naming the data directory; a request that changed
// nothing (a read) is answered as usual.
//
// It runs before routing for the sandbox's own routes (admin API errors),
// and inside each provider's group (durableProvider), where the journal
// sees the answer actually sent.
func (s *Sandbox) durableAnswers(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.state == nil || s.providerOf(c.Request().URL.Path) != nil {
			return next(c)
		}
		return s.durable(c, next, func(c echo.Context, err error) error {
			return &emulators.Error{Kind: emulators.Unavailable, Msg: err.Error()}
		})
	}
}

// durableProvider is durableAnswers inside a provider's group: a failed
// write is answered in the provider's shape.
func (s *Sandbox) durableProvider(p provider) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		fw, ok := p.(failedWriteAnswerer)
		return func(c echo.Context) error {
			if s.state == nil || !ok {
				return next(c)
			}
			return s.durable(c, next, func(c echo.Context, err error) error {
				fw.AnswerFailedWrite(c, err)
				return nil
			})
		}
	}
}

// providerOf returns the provider whose tree path is in, or nil.
func (s *Sandbox) providerOf(path string) provider {
	for _, p := range s.providers {
		if path == "/"+p.Name() || strings.HasPrefix(path, "/"+p.Name()+"/") {
			return p
		}
	}
	return nil
}

// durable runs next with the answer held until the store synced; on a
// failed write it answers with failed instead.
func (s *Sandbox) durable(c echo.Context, next echo.HandlerFunc, failed func(echo.Context, error) error) error {
	st := s.state
	res := c.Response()
	orig := res.Writer
	var hdr http.Header // what the middleware before set (rarely anything)
	if h := res.Header(); len(h) > 0 {
		hdr = h.Clone()
	}
	w := &syncWriter{ResponseWriter: orig, st: st, mark: st.Mark()}
	res.Writer = w
	err := next(c)
	if !w.synced && !res.Committed {
		w.sync() // an error still to be rendered, or no answer at all
	}
	res.Writer = orig // an error still to be rendered was synced above
	if w.failed == nil {
		return err
	}
	res.Committed, res.Status, res.Size = false, 0, 0
	h := res.Header()
	clear(h)
	for k, v := range hdr {
		h[k] = v
	}
	return failed(c, w.failed)
}

// failedWriteAnswerer is a provider that answers a failed state write in
// its own error shape.
type failedWriteAnswerer interface {
	AnswerFailedWrite(c echo.Context, err error)
}

// syncWriter waits for the state store when the answer's header is
// written, and swallows the answer when the store failed.
type syncWriter struct {
	http.ResponseWriter
	st     *persist.Store
	mark   uint64 // the store's last write when the request began
	synced bool
	failed error
}

func (w *syncWriter) sync() {
	w.synced = true
	w.failed = w.st.SyncSince(w.mark)
}

func (w *syncWriter) WriteHeader(code int) {
	if !w.synced {
		w.sync()
	}
	if w.failed == nil {
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *syncWriter) Write(b []byte) (int, error) {
	if !w.synced {
		w.WriteHeader(http.StatusOK)
	}
	if w.failed != nil {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// Flush sends what is written so far (a stream), once the store synced.
func (w *syncWriter) Flush() {
	if !w.synced {
		w.WriteHeader(http.StatusOK)
	}
	if w.failed == nil {
		http.NewResponseController(w.ResponseWriter).Flush()
	}
}

// Unwrap gives http.ResponseController the connection underneath.
func (w *syncWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// saveScenarios writes the uploaded scenarios and the active one (the
// scenario engine's OnChange).
func (s *Sandbox) saveScenarios() {
	if s.state == nil {
		return
	}
	sc := savedScenarios{Active: s.scen.Active(), Uploads: []string{}}
	for _, in := range s.scen.List() {
		if in.Source == "upload" {
			sc.Uploads = append(sc.Uploads, in.YAML)
		}
	}
	if err := s.state.SetMeta(metaScenarios, sc); err != nil {
		s.log.Error("state store write failed", "error", err)
	}
}

// counterBucket holds the rule counters of scenarios (`times`, nth
// match), one record per scenario name.
const counterBucket = "scenarios.counters"

// restoreCounters gives the scenarios their kept rule counters; counters
// of a scenario that is gone or whose text changed are dropped.
func (s *Sandbox) restoreCounters(st *persist.Store) error {
	rs, err := st.Records(counterBucket)
	if err != nil {
		return err
	}
	var stale []string
	for _, r := range rs {
		var c scenarios.Counters
		if err := json.Unmarshal(r.Value, &c); err != nil {
			return fmt.Errorf("state store %s: %s %s: %w", st.File(), counterBucket, r.Key, err)
		}
		if !s.scen.RestoreCounters(r.Key, c) {
			stale = append(stale, r.Key)
		}
	}
	if len(stale) == 0 {
		return nil
	}
	return st.Write(counterBucket, stale, func(string) ([]byte, bool, error) { return nil, false, nil })
}

// saveCounters queues the write of a scenario's rule counters (the engine's
// count hook); the answer that follows the decision waits for it.
func (s *Sandbox) saveCounters(st *persist.Store, name string, report func(error)) {
	st.WriteAsync(counterBucket, []string{name}, func(name string) ([]byte, bool, error) {
		c, ok := s.scen.Counters(name)
		if !ok {
			return nil, false, nil
		}
		raw, err := json.Marshal(c)
		return raw, true, err
	}, func(err error) { report(fmt.Errorf("state store: %s: %w", counterBucket, err)) })
}

// callbackBucket holds the pending callback deliveries.
const callbackBucket = "callbacks"

// callbackKeeper keeps the dispatcher's pending deliveries in the state
// store: noted states wait in latest until a flush writes them.
type callbackKeeper struct {
	st     *persist.Store
	report func(error)

	mu     sync.Mutex
	latest map[string]*noted
}

type noted struct{ p *callback.Pending }

func (k *callbackKeeper) Note(id string, p *callback.Pending) {
	k.mu.Lock()
	k.latest[id] = &noted{p}
	k.mu.Unlock()
}

// ReserveIDs writes the highest delivery id that may be in use (once per
// block of ids). Queued: the answer or attempt that shows an id of the
// block waits for it (Sync), so an id seen is never handed out again after
// a restart.
func (k *callbackKeeper) ReserveIDs(upTo uint64) {
	k.st.SetMetaAsync(metaCallbackIDs, upTo, func(err error) { k.report(fmt.Errorf("state store: callback ids: %w", err)) })
}

// Sync waits for every state change made so far: the dispatcher calls it
// before an attempt leaves, so that a callback never announces a change
// (a robot payer's, an expiry's, a review's) a kill could still lose.
func (k *callbackKeeper) Sync() {
	if err := k.st.Sync(); err != nil {
		k.report(fmt.Errorf("state store: a callback is sent for a change that is not on disk: %w", err))
	}
}

func (k *callbackKeeper) Flush(id string) {
	var wrote *noted
	err := k.st.Write(callbackBucket, []string{id}, func(id string) ([]byte, bool, error) {
		k.mu.Lock()
		n := k.latest[id]
		k.mu.Unlock()
		wrote = n
		if n == nil || n.p == nil {
			return nil, false, nil
		}
		raw, err := json.Marshal(n.p)
		return raw, true, err
	})
	if err != nil {
		k.report(fmt.Errorf("state store: callbacks: %w", err))
		return
	}
	k.mu.Lock()
	if k.latest[id] == wrote { // nothing newer noted meanwhile
		delete(k.latest, id)
	}
	k.mu.Unlock()
}

// resumeCallbacks hands the kept deliveries back to the dispatcher, each
// rebuilt by its provider, and keeps the later ones.
func (s *Sandbox) resumeCallbacks(st *persist.Store, report func(error)) error {
	rs, err := st.Records(callbackBucket)
	if err != nil {
		return err
	}
	var kept []callback.Pending
	for _, r := range rs {
		var p callback.Pending
		if err := json.Unmarshal(r.Value, &p); err != nil {
			return fmt.Errorf("state store %s: %s %s: %w", st.File(), callbackBucket, r.Key, err)
		}
		kept = append(kept, p)
	}
	var ids uint64
	if _, err := st.Meta(metaCallbackIDs, &ids); err != nil {
		return err
	}
	s.disp.ContinueIDs(ids)
	s.disp.SetKeeper(&callbackKeeper{st: st, report: report, latest: map[string]*noted{}})
	byName := map[string]persistent{}
	for _, p := range s.providers {
		if pp, ok := p.(persistent); ok {
			byName[p.Name()] = pp
		}
	}
	resumed, late := s.disp.Resume(kept, func(p callback.Pending) (callback.Delivery, bool) {
		if pp := byName[p.Provider]; pp != nil {
			return pp.ResumeDelivery(p)
		}
		return callback.Delivery{}, false
	})
	if resumed > 0 {
		s.journal.Add(journal.Entry{Kind: journal.KindNote, Summary: fmt.Sprintf("restart: %d pending callbacks resumed, %d of them fell due while the sandbox was down and are sent at once", resumed, late)})
	}
	return nil
}

// stateForms are the providers' forms of the buckets they pack, for the
// export document.
func (s *Sandbox) stateForms() map[string]persist.Form {
	forms := map[string]persist.Form{}
	for _, p := range s.providers {
		if pp, ok := p.(persistent); ok {
			for _, b := range pp.Persisted() {
				if f := b.Form(); f != nil {
					forms[b.Bucket()] = f
				}
			}
		}
	}
	return forms
}

// ExportState writes the state store of dataDir as one JSON document (the
// command sandbox export). The sandbox must not be running on it: the
// store is held by one process at a time.
func ExportState(dataDir string, w io.Writer) error {
	if _, err := os.Stat(persist.Path(dataDir)); err != nil {
		return fmt.Errorf("no state store to export: %w (start the sandbox with --persist first)", err)
	}
	st, err := persist.Open(dataDir)
	if err != nil {
		return err
	}
	defer st.Close()
	// The providers' codecs turn the records they pack into JSON; a
	// sandbox that serves nothing and stores nothing lends them.
	s, err := New(DefaultConfig(), nil, Options{})
	if err != nil {
		return err
	}
	defer s.Close(context.Background())
	doc, err := st.Export(s.stateForms())
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(doc)
}

// ErrStateNotEmpty is returned by ImportState for a store that holds state
// when replace is false.
var ErrStateNotEmpty = errors.New("the state store already holds state")

// ImportState replaces the state store of dataDir (created when absent)
// with the document r (the command sandbox import). A store that already
// holds state is only replaced with replace; the document is checked in
// full before anything is written.
func ImportState(dataDir string, r io.Reader, replace bool) (objects int, err error) {
	doc, err := persist.DecodeDocument(r)
	if err != nil {
		return 0, err
	}
	st, err := persist.Open(dataDir)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	if !replace {
		empty, err := st.Empty()
		if err != nil {
			return 0, err
		}
		if !empty {
			return 0, fmt.Errorf("%w (%s): add --replace to overwrite it", ErrStateNotEmpty, st.File())
		}
	}
	for _, rs := range doc.Buckets {
		objects += len(rs)
	}
	return objects, st.Import(doc)
}

// handleState serves GET /state: the running sandbox's whole state as the
// document sandbox import reads (persistence on only).
func (s *Sandbox) handleState(c echo.Context) error {
	if s.state == nil {
		return &emulators.Error{Kind: emulators.Conflict, Msg: "persistence is off: start the sandbox with --persist to export its state"}
	}
	doc, err := s.state.Export(s.stateForms())
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", `attachment; filename="paysandbox-state.json"`)
	return c.JSON(http.StatusOK, doc)
}
