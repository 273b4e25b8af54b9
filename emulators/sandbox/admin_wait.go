package sandbox

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/admin"
	"github.com/paysandbox/sandbox/emulators/internal/clock"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
)

// Waiting requests (GET /callbacks?min=&wait=, GET /objects/{p}/{id}?status=&wait=)
// are bounded: a wait is at most MaxWait, and at most MaxWaiters requests
// wait at once (more are answered 503 at once). A waiting request sleeps
// until the journal records something, then checks its condition again: it
// never polls.
const (
	MaxWait    = 60 * time.Second
	MaxWaiters = 256
)

// waitParam reads ?wait= as a Go duration ("10s", "1m") or whole seconds
// ("10"); 0 when missing, at most MaxWait.
func waitParam(c echo.Context) (time.Duration, error) {
	v := strings.TrimSpace(c.QueryParam("wait"))
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.Atoi(v)
		if nerr != nil || len(v) > 12 {
			return 0, emulators.Errorf(emulators.Invalid, "wait: expected a duration such as 10s or 1m (at most %v), got %q", MaxWait, truncate(v, 40))
		}
		d = time.Duration(min(n, int(MaxWait/time.Second))) * time.Second // capped before it can overflow
	}
	if d < 0 {
		return 0, emulators.Errorf(emulators.Invalid, "wait: expected a duration ≥ 0, got %q", truncate(v, 40))
	}
	return min(d, MaxWait), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// WaitFor blocks until ok reports true, ctx ends or the sandbox shuts down,
// and reports whether ok held. It re-checks ok each time the journal
// records an entry or a notice (every state change, callback attempt and
// clock move is journaled), so it costs nothing while nothing happens.
func (s *Sandbox) WaitFor(ctx context.Context, ok func() bool) bool {
	if ok() {
		return true
	}
	sub := s.journal.Subscribe(64)
	defer sub.Close()
	for {
		// Checked after subscribing, so no change slips between the two.
		if ok() {
			return true
		}
		select {
		case <-sub.C:
		case <-ctx.Done():
			return ok()
		case <-s.stopping:
			return ok()
		}
	}
}

// waitHTTP is WaitFor for a request: bounded by d and by MaxWaiters.
func (s *Sandbox) waitHTTP(c echo.Context, d time.Duration, ok func() bool) (bool, error) {
	if d <= 0 || ok() {
		return ok(), nil
	}
	select {
	case s.waiters <- struct{}{}:
		defer func() { <-s.waiters }()
	default:
		return false, emulators.Errorf(emulators.Unavailable, "%d requests are already waiting (the most this sandbox holds): retry later or wait less", MaxWaiters)
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), d)
	defer cancel()
	return s.WaitFor(ctx, ok), nil
}

// callbacksAnswer is GET /callbacks: with min or wait, complete says whether
// at least min attempts matched before the wait ended.
type callbacksAnswer struct {
	Entries  []journal.Entry `json:"entries"`
	Stats    journal.Stats   `json:"stats"`
	Min      int             `json:"min,omitempty"`
	Complete *bool           `json:"complete,omitempty"`
}

// handleCallbacks serves GET /callbacks?provider=&object=&outcome=&delivery=&min=N&wait=10s.
func (s *Sandbox) handleCallbacks(c echo.Context) error {
	f, err := s.journalFilter(c, journal.KindCallback)
	if err != nil {
		return err
	}
	wait, err := waitParam(c)
	if err != nil {
		return err
	}
	minN, err := intParam(c, "min", 0, 1000)
	if err != nil {
		return err
	}
	if c.QueryParam("min") == "" && wait == 0 {
		return s.answerEntries(c, s.journal.List(f))
	}
	minN = max(minN, 1)
	f.Limit = max(f.Limit, minN)
	var entries []journal.Entry
	done, err := s.waitHTTP(c, wait, func() bool {
		entries = s.journal.List(f)
		return len(entries) >= minN
	})
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []journal.Entry{}
	}
	return c.JSON(http.StatusOK, callbacksAnswer{Entries: entries, Stats: s.journal.Stats(), Min: minN, Complete: &done})
}

// waitedObject is GET /objects/{provider}/{id}?status=S: the object and
// whether it had status S when the answer was sent.
type waitedObject struct {
	admin.Object
	Complete bool `json:"complete"`
}

// handleObject serves GET /_sandbox/api/objects/{provider}/{id}: one object, with ?status=&wait= to await a state (docs/design.md, Admin API).
func (s *Sandbox) handleObject(c echo.Context) error {
	p, err := s.provider(c.Param("provider"))
	if err != nil {
		return err
	}
	id := c.Param("id")
	status := c.QueryParam("status")
	wait, err := waitParam(c)
	if err != nil {
		return err
	}
	if status == "" && wait > 0 {
		return emulators.Errorf(emulators.Invalid, "wait needs status: GET /objects/%s/%s?status=<status>&wait=10s", p.Name(), truncate(id, 64))
	}
	o, err := p.Object(id)
	if err != nil {
		return err
	}
	if status == "" {
		return c.JSON(http.StatusOK, o)
	}
	done, err := s.waitHTTP(c, wait, func() bool {
		if cur, err := p.Object(id); err == nil {
			o = cur
		}
		return statusIs(o.Status, status)
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, waitedObject{Object: o, Complete: done})
}

// statusIs reports whether an object's status (as GET /objects shows it)
// is want: the same text ignoring case, or its part before "/" (Khipu's
// "done/normal" is "done").
func statusIs(status, want string) bool {
	if strings.EqualFold(status, want) {
		return true
	}
	head, _, found := strings.Cut(status, "/")
	return found && strings.EqualFold(head, want)
}

// ScheduleAnswer is GET /schedule: everything due on the sandbox clock.
type ScheduleAnswer struct {
	Now       time.Time         `json:"now"`
	Scheduled []clock.Scheduled `json:"scheduled"`
	Total     int               `json:"total"`
}

// scheduledLister is implemented by providers that keep timers of their
// own (Khipu's expiry queue).
type scheduledLister interface {
	Scheduled() []clock.Scheduled
}

// Schedule lists what is scheduled on the sandbox clock, soonest first,
// that keep accepts (nil keeps all).
func (s *Sandbox) Schedule(keep func(clock.Label) bool) []clock.Scheduled {
	all := s.clock.Scheduled(keep)
	for _, p := range s.providers {
		if l, ok := p.(scheduledLister); ok {
			for _, x := range l.Scheduled() {
				if keep == nil || keep(x.Label) {
					all = append(all, x)
				}
			}
		}
	}
	slices.SortStableFunc(all, func(a, b clock.Scheduled) int { return a.Due.Compare(b.Due) })
	return all
}

// handleSchedule serves GET /schedule?provider=&object=&kind=&limit=.
func (s *Sandbox) handleSchedule(c echo.Context) error {
	prov := c.QueryParam("provider")
	if prov != "" {
		if _, err := s.provider(prov); err != nil {
			return err
		}
	}
	limit, err := intParam(c, "limit", 100, 1000)
	if err != nil {
		return err
	}
	object, kinds := c.QueryParam("object"), splitList(c.QueryParam("kind"))
	all := s.Schedule(func(l clock.Label) bool {
		return (prov == "" || l.Provider == prov) && (object == "" || l.Object == object) &&
			(len(kinds) == 0 || slices.Contains(kinds, l.Kind))
	})
	total := len(all)
	if len(all) > limit {
		all = all[:limit]
	}
	if all == nil {
		all = []clock.Scheduled{}
	}
	return c.JSON(http.StatusOK, ScheduleAnswer{Now: s.clock.Now(), Scheduled: all, Total: total})
}

func splitList(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// endpoint is one line of GET /_sandbox/api.
type endpoint struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Does   string `json:"does"`
}

// apiIndex lists the admin API (GET /_sandbox/api).
var apiIndex = []endpoint{
	{"GET", "/_sandbox/api", "this list"},
	{"GET", "/_sandbox/api/info", "version, sandbox time, active scenario, base URLs and credentials of every provider"},
	{"GET", "/_sandbox/api/objects?provider=&kind=&status=&account=&q=&offset=&limit=", "objects, newest first"},
	{"GET", "/_sandbox/api/objects/{provider}/{id}?status=&wait=", "one object; with status and wait, answers when it has that status (complete) or when the wait ends"},
	{"POST", "/_sandbox/api/objects/{provider}/{id}/actions/{action}", "an admin action (JSON body: its parameters)"},
	{"GET", "/_sandbox/api/callbacks?provider=&object=&outcome=&delivery=&min=&wait=", "callback attempts, newest first; with min and wait, answers once min attempts match (complete) or when the wait ends"},
	{"POST", "/_sandbox/api/callbacks/{delivery}/resend", "send a journaled delivery again"},
	{"GET", "/_sandbox/api/requests?provider=&object=&verdict=", "API exchanges with signature verdicts (ok, tolerated, rejected)"},
	{"GET", "/_sandbox/api/journal?kind=&provider=&object=", "every journal entry"},
	{"GET", "/_sandbox/api/schedule?provider=&object=&kind=&limit=", "everything scheduled on the sandbox clock, soonest first"},
	{"GET", "/_sandbox/api/scenarios", "scenarios and files that do not load"},
	{"PUT", "/_sandbox/api/scenarios/active", `activate a scenario: {"name":"…"}`},
	{"POST", "/_sandbox/api/scenarios", "upload a scenario (YAML body)"},
	{"GET", "/_sandbox/api/clock", "sandbox time"},
	{"POST", "/_sandbox/api/clock/advance", `move the clock: {"by":"3h"}; answers what fired`},
	{"POST", "/_sandbox/api/reset", `wipe state: {"provider":"khipu"} or no body for all`},
	{"GET", "/_sandbox/api/events?provider=&object=&kind=&since=", "server-sent events"},
}

// handleIndex serves GET /_sandbox/api: the index of the admin API (docs/design.md, Admin API).
func (s *Sandbox) handleIndex(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"version": s.opt.Version, "endpoints": apiIndex})
}

// CallbackAttempts returns the callback attempts journaled for object (""
// for all), oldest first, as long as the journal holds them.
func (s *Sandbox) CallbackAttempts(object string) []journal.Entry {
	es := s.journal.List(journal.Filter{Kinds: []journal.Kind{journal.KindCallback}, Object: object, Limit: 1 << 30})
	slices.Reverse(es)
	return es
}

// Requests returns the API requests journaled for provider ("" for all),
// oldest first, with their signature verdicts.
func (s *Sandbox) Requests(provider string) []journal.Entry {
	es := s.journal.List(journal.Filter{Kinds: []journal.Kind{journal.KindRequest}, Provider: provider, Limit: 1 << 30})
	slices.Reverse(es)
	return es
}
