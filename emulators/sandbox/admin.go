package sandbox

import (
	"bufio"
	"cmp"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/admin"
	"github.com/paysandbox/sandbox/emulators/internal/callback"
	"github.com/paysandbox/sandbox/emulators/internal/clock"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
	"github.com/paysandbox/sandbox/scenarios"
)

// requireToken enforces --admin-token when one is set: "Authorization:
// Bearer TOKEN", or the dashboard's cookie, or — on the event stream only,
// since EventSource cannot send headers — a token query parameter.
func (s *Sandbox) requireToken(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.cfg.AdminToken == "" || s.tokenOK(c) {
			return next(c)
		}
		return &emulators.Error{Kind: emulators.Unauthorized, Msg: "this sandbox has an admin token: send Authorization: Bearer <token>"}
	}
}

func (s *Sandbox) tokenOK(c echo.Context) bool {
	want := []byte(s.cfg.AdminToken)
	r := c.Request()
	var got string
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		got = strings.TrimPrefix(h, "Bearer ")
	} else if t := r.URL.Query().Get("token"); t != "" && eventStream(r.URL.Path) {
		got = t
	} else if ck, err := r.Cookie("sandbox_token"); err == nil {
		got = ck.Value
	}
	return subtle.ConstantTimeCompare([]byte(got), want) == 1
}

// requirePageToken protects the dashboard pages. Without a valid token
// (Authorization header or the sandbox_token cookie) a page answers 401
// with a login form that posts the token to /_sandbox/login, which sets the
// cookie and redirects back to the page's clean URL. A page URL carrying a
// right ?token= (an old bookmark) sets the cookie and redirects to the
// same URL without it; a wrong one is said to be wrong.
func (s *Sandbox) requirePageToken(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.cfg.AdminToken == "" {
			return next(c)
		}
		r := c.Request()
		if t := c.QueryParam("token"); t != "" && r.Method == http.MethodGet {
			if !s.tokenMatches(t) {
				return s.loginPage(c, cleanURL(r.URL), "That is not this sandbox's admin token.")
			}
			s.setTokenCookie(c)
			return c.Redirect(http.StatusSeeOther, cleanURL(r.URL))
		}
		if s.tokenOK(c) {
			return next(c)
		}
		msg := ""
		if _, err := r.Cookie("sandbox_token"); err == nil {
			msg = "The saved token is no longer this sandbox's admin token (was it restarted with another?)."
		}
		back := cleanURL(r.URL)
		if r.Method != http.MethodGet {
			back = "/_sandbox/"
		}
		return s.loginPage(c, back, msg)
	}
}

// eventStream reports whether path is an event stream, the one admin path
// that accepts the token as a query parameter.
func eventStream(path string) bool {
	return path == "/_sandbox/api/events"
}

func (s *Sandbox) tokenMatches(t string) bool {
	return subtle.ConstantTimeCompare([]byte(t), []byte(s.cfg.AdminToken)) == 1
}

func (s *Sandbox) setTokenCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{Name: "sandbox_token", Value: s.cfg.AdminToken, Path: "/_sandbox", HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// cleanURL is the page's path and query without the token parameter.
func cleanURL(u *url.URL) string {
	q := u.Query()
	q.Del("token")
	out := u.Path
	if len(q) > 0 {
		out += "?" + q.Encode()
	}
	return out
}

// safeNext accepts only a dashboard path as the page to return to after
// the login (no other host, no scheme).
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/_sandbox") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/_sandbox/"
	}
	return next
}

var loginTmpl = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Admin token needed · paysandbox</title><link rel="stylesheet" href="/_sandbox/static/sandbox.css"></head>
<body><main id="main" class="login">
<h1>Admin token needed</h1>
<p>This sandbox was started with <code>--admin-token</code> (or <code>SANDBOX_ADMIN_TOKEN</code>).</p>
{{if .Msg}}<p class="flash bad" role="alert" id="login-error">{{.Msg}}</p>{{end}}
<form method="post" action="/_sandbox/login">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<input type="hidden" name="next" value="{{.Next}}">
<label>Token <input name="token" type="password" autocomplete="current-password" required autofocus></label>
<button>Open the dashboard</button>
</form>
<p class="muted">The token is kept in a cookie for the dashboard's pages and their live updates.</p>
</main></body></html>`))

func (s *Sandbox) loginPage(c echo.Context, next, msg string) error {
	var b strings.Builder
	if err := loginTmpl.Execute(&b, map[string]string{"Next": safeNext(next), "Msg": msg, "CSRF": s.csrfToken(c)}); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTML(http.StatusUnauthorized, b.String())
}

// loginForm checks the posted token: right, it sets the cookie and
// redirects to the page asked for; wrong, the form comes back saying so.
func (s *Sandbox) loginForm(c echo.Context) error {
	next := safeNext(c.FormValue("next"))
	if s.cfg.AdminToken == "" {
		return c.Redirect(http.StatusSeeOther, next)
	}
	if t := c.FormValue("token"); t == "" || !s.tokenMatches(t) {
		msg := "That is not this sandbox's admin token."
		if t == "" {
			msg = "Enter the admin token."
		}
		return s.loginPage(c, next, msg)
	}
	s.setTokenCookie(c)
	return c.Redirect(http.StatusSeeOther, next)
}

func (s *Sandbox) provider(name string) (provider, error) {
	for _, p := range s.providers {
		if p.Name() == name {
			return p, nil
		}
	}
	return nil, emulators.Errorf(emulators.NotFound, "unknown provider %q; providers: khipu, hambit, payu", name)
}

// intParam reads a whole-number query parameter: def when it is missing or
// 0, at most max when max > 0.
func intParam(c echo.Context, name string, def, max int) (int, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, emulators.Errorf(emulators.Invalid, "%s: expected a whole number ≥ 0, got %q", name, v)
	}
	if n == 0 {
		return def, nil
	}
	if max > 0 && n > max {
		n = max
	}
	return n, nil
}

// Info is the answer of GET /_sandbox/api/info.
type Info struct {
	Version   string              `json:"version"`
	Now       time.Time           `json:"now"`
	Offset    string              `json:"clock_offset"`
	TimeScale float64             `json:"time_scale"`
	Scenario  string              `json:"scenario"`
	Providers []admin.Description `json:"providers"`
	Journal   journal.Stats       `json:"journal"`
	Pending   int                 `json:"pending_callbacks"`
}

// handleInfo serves GET /_sandbox/api/info: version, clock, active scenario, providers, journal and pending callbacks (docs/design.md, Admin API).
func (s *Sandbox) handleInfo(c echo.Context) error {
	base := wire.LinkBase(c.Request(), s.cfg.PublicURL)
	return c.JSON(http.StatusOK, Info{
		Version: s.opt.Version, Now: s.clock.Now(), Offset: s.clock.Offset().String(), TimeScale: s.clock.TimeScale(),
		Scenario: s.scen.Active(), Providers: s.Describe(base), Journal: s.journal.Stats(), Pending: s.disp.Pending(),
	})
}

type objectsPage struct {
	Objects []admin.Object `json:"objects"`
	Total   int            `json:"total"`
	Offset  int            `json:"offset"`
	Limit   int            `json:"limit"`
}

// handleObjects serves GET /objects?provider=&kind=&status=&account=&q=&offset=&limit=,
// newest first across providers.
func (s *Sandbox) handleObjects(c echo.Context) error {
	offset, err := intParam(c, "offset", 0, 0)
	if err != nil {
		return err
	}
	limit, err := intParam(c, "limit", 50, 1000)
	if err != nil {
		return err
	}
	f := objectFilter{Provider: c.QueryParam("provider"), Kind: c.QueryParam("kind"), Status: c.QueryParam("status"),
		Account: c.QueryParam("account"), Q: c.QueryParam("q"), Offset: offset, Limit: limit}
	res, err := s.listObjects(f, nil)
	if err != nil {
		return err
	}
	page := res.Items
	if page == nil {
		page = []admin.Object{}
	}
	total := res.Total
	offset = min(offset, total)
	return c.JSON(http.StatusOK, objectsPage{Objects: page, Total: total, Offset: offset, Limit: limit})
}

// handleAction serves POST /_sandbox/api/objects/{provider}/{id}/actions/{action}: an admin action on an object (docs/design.md, Admin actions).
func (s *Sandbox) handleAction(c echo.Context) error {
	p, err := s.provider(c.Param("provider"))
	if err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, 1<<20))
	if err != nil {
		return emulators.Errorf(emulators.Invalid, "reading the body: %v", err)
	}
	params := json.RawMessage(strings.TrimSpace(string(body)))
	if len(params) == 0 {
		params = json.RawMessage("{}")
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(params, &probe); err != nil {
		return emulators.Errorf(emulators.Invalid, "the action's parameters must be a JSON object: %v", err)
	}
	o, err := p.Act(c.Request().Context(), c.Param("id"), c.Param("action"), params)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, o)
}

func (s *Sandbox) listJournal(c echo.Context, kinds ...journal.Kind) error {
	f, err := s.journalFilter(c, kinds...)
	if err != nil {
		return err
	}
	return s.answerEntries(c, s.journal.List(f))
}

// answerEntries answers a journal list ({"entries":[…],"stats":…}).
func (s *Sandbox) answerEntries(c echo.Context, entries []journal.Entry) error {
	return streamEntries(c, entries, s.journal.Stats())
}

// streamEntries writes {"entries":[…],"stats":…} one entry at a time, so
// that the answer is never built whole in memory: a client that asks for a
// thousand entries and reads nothing holds the entries (shared with the
// journal) and one encoded entry, not the whole answer (issue #13). The
// bytes are those c.JSON would write for {entries, stats}.
func streamEntries(c echo.Context, entries []journal.Entry, stats journal.Stats) error {
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	w.WriteHeader(http.StatusOK)
	if c.Request().Method == http.MethodHead {
		return nil
	}
	bw := bufio.NewWriterSize(w, 32<<10)
	bw.WriteString(`{"entries":[`)
	enc := json.NewEncoder(bw)
	for i := range entries {
		if i > 0 {
			bw.WriteByte(',')
		}
		if err := enc.Encode(&entries[i]); err != nil {
			return nil // the client went away, or an entry cannot be encoded: the answer is cut
		}
	}
	bw.WriteString(`],"stats":`)
	enc.Encode(stats)
	bw.WriteString("}\n")
	return bw.Flush()
}

// noticeNames are the events that are not journal entries.
var noticeNames = []string{"clock", "scenarios", "reset"}

// Values of the journal filters: a value outside these lists is refused
// rather than matching nothing.
var (
	verdicts = []string{journal.VerdictOK, journal.VerdictTolerated, journal.VerdictRejected}
	outcomes = []string{journal.OutcomeAcknowledged, journal.OutcomeFailed, journal.OutcomeGaveUp, journal.OutcomeSkipped,
		journal.OutcomeSuperseded, journal.OutcomeCancelled}
	entryKinds = []string{string(journal.KindRequest), string(journal.KindTransition), string(journal.KindCallback), string(journal.KindTimer),
		string(journal.KindPage), string(journal.KindHook), string(journal.KindNote)}
)

// journalFilter reads the journal filters of a list: provider (which must
// exist), object, kind (when kinds is empty), verdict, outcome, delivery,
// before, after and limit.
func (s *Sandbox) journalFilter(c echo.Context, kinds ...journal.Kind) (journal.Filter, error) {
	var f journal.Filter
	limit, err := intParam(c, "limit", 100, 1000)
	if err != nil {
		return f, err
	}
	before, err := intParam(c, "before", 0, 0)
	if err != nil {
		return f, err
	}
	after, err := intParam(c, "after", 0, 0)
	if err != nil {
		return f, err
	}
	if p := c.QueryParam("provider"); p != "" {
		if _, err := s.provider(p); err != nil {
			return f, err
		}
	}
	f = journal.Filter{Kinds: kinds, Provider: c.QueryParam("provider"), Object: c.QueryParam("object"),
		Before: uint64(before), After: uint64(after), Limit: limit}
	if len(kinds) == 0 {
		for _, one := range splitList(c.QueryParam("kind")) {
			if !slices.Contains(entryKinds, one) {
				return f, emulators.Errorf(emulators.Invalid, "kind: %q is not one of %s", truncate(one, 40), strings.Join(entryKinds, ", "))
			}
			f.Kinds = append(f.Kinds, journal.Kind(one))
		}
	}
	verdict, outcome := c.QueryParam("verdict"), c.QueryParam("outcome")
	if verdict != "" && !slices.Contains(verdicts, verdict) {
		return f, emulators.Errorf(emulators.Invalid, "verdict: %q is not one of %s", truncate(verdict, 40), strings.Join(verdicts, ", "))
	}
	if outcome != "" && !slices.Contains(outcomes, outcome) {
		return f, emulators.Errorf(emulators.Invalid, "outcome: %q is not one of %s", truncate(outcome, 40), strings.Join(outcomes, ", "))
	}
	f.Match = entryMatch(verdict, outcome, c.QueryParam("delivery"))
	return f, nil
}

// entryMatch selects journal entries by a request's signature verdict, a
// callback attempt's outcome and its delivery id (nil when all are empty);
// every filter given must hold.
func entryMatch(verdict, outcome, delivery string) func(*journal.Entry) bool {
	if verdict == "" && outcome == "" && delivery == "" {
		return nil
	}
	return func(e *journal.Entry) bool {
		if verdict != "" && (e.Request == nil || e.Request.Signature == nil || e.Request.Signature.Verdict != verdict) {
			return false
		}
		if outcome != "" && (e.Callback == nil || e.Callback.Outcome != outcome) {
			return false
		}
		return delivery == "" || (e.Callback != nil && e.Callback.Delivery == delivery)
	}
}

// handleRequests serves GET /_sandbox/api/requests: the journaled API exchanges (docs/design.md, Journal and events).
func (s *Sandbox) handleRequests(c echo.Context) error {
	return s.listJournal(c, journal.KindRequest)
}

// handleJournal serves GET /_sandbox/api/journal: the journal, filtered and paged (docs/design.md, Journal and events).
func (s *Sandbox) handleJournal(c echo.Context) error { return s.listJournal(c) }

// handleResend serves POST /_sandbox/api/callbacks/{id}/resend: one more attempt of a callback (docs/design.md, Callback delivery).
func (s *Sandbox) handleResend(c echo.Context) error {
	id := c.Param("id")
	if err := s.disp.Resend(id); err != nil {
		kind := emulators.Conflict
		if errors.Is(err, callback.ErrUnknownDelivery) {
			kind = emulators.NotFound
		}
		return &emulators.Error{Kind: kind, Msg: err.Error()}
	}
	return c.JSON(http.StatusAccepted, map[string]string{"delivery": id, "status": "queued"})
}

type scenariosAnswer struct {
	Active    string                  `json:"active"`
	Scenarios []scenarios.Info        `json:"scenarios"`
	Problems  []scenarios.FileProblem `json:"problems"`
}

// handleScenarios serves GET /_sandbox/api/scenarios: the known scenarios and the active one (docs/design.md, Scenarios).
func (s *Sandbox) handleScenarios(c echo.Context) error {
	probs := s.scen.Problems()
	if probs == nil {
		probs = []scenarios.FileProblem{}
	}
	return c.JSON(http.StatusOK, scenariosAnswer{Active: s.scen.Active(), Scenarios: s.scen.List(), Problems: probs})
}

// handleSetActive serves PUT /_sandbox/api/scenarios/active: makes a scenario the active one (docs/design.md, Scenarios).
func (s *Sandbox) handleSetActive(c echo.Context) error {
	var body struct {
		Name string `json:"name"`
	}
	if err := json.NewDecoder(io.LimitReader(c.Request().Body, 1<<16)).Decode(&body); err != nil || body.Name == "" {
		return emulators.Errorf(emulators.Invalid, `expected {"name":"<scenario>"}`)
	}
	if err := s.scen.SetActive(body.Name); err != nil {
		return err
	}
	return s.handleScenarios(c)
}

// handleUpload serves POST /_sandbox/api/scenarios: uploads a scenario (docs/design.md, Scenarios).
func (s *Sandbox) handleUpload(c echo.Context) error {
	data, err := io.ReadAll(io.LimitReader(c.Request().Body, scenarios.MaxFileSize+1))
	if err != nil {
		return emulators.Errorf(emulators.Invalid, "reading the body: %v", err)
	}
	sc, err := s.scen.Upload(data)
	if err != nil {
		if e := scenarioError(err); e != nil {
			return e
		}
		probs := uploadProblems(err)
		lines := make([]string, len(probs))
		for i, p := range probs {
			lines[i] = p.Text
		}
		return &problemsError{err: &emulators.Error{Kind: emulators.Invalid, Msg: strings.Join(lines, "\n")}, problems: probs}
	}
	for _, in := range s.scen.List() {
		if in.Name == sc.Name {
			return c.JSON(http.StatusCreated, in)
		}
	}
	return c.NoContent(http.StatusCreated)
}

// scenarioError maps the engine's conflict, limit and not-found errors to
// the admin API's kinds (nil for problems of the text).
func scenarioError(err error) error {
	switch {
	case errors.Is(err, scenarios.ErrConflict), errors.Is(err, scenarios.ErrLimit):
		return &emulators.Error{Kind: emulators.Conflict, Msg: err.Error()}
	case errors.Is(err, scenarios.ErrNotFound):
		return &emulators.Error{Kind: emulators.NotFound, Msg: err.Error()}
	}
	return nil
}

// handleDeleteScenario serves DELETE /scenarios/{name}: an uploaded
// scenario is forgotten (built-ins and files cannot be deleted).
func (s *Sandbox) handleDeleteScenario(c echo.Context) error {
	if err := s.scen.Delete(c.Param("name")); err != nil {
		if e := scenarioError(err); e != nil {
			return e
		}
		return err
	}
	return s.handleScenarios(c)
}

type clockAnswer struct {
	Now       time.Time `json:"now"`
	Offset    string    `json:"offset"`
	TimeScale float64   `json:"time_scale"`
	// Fired is what an advance fired, in order (POST /clock/advance only).
	Fired *[]clock.Scheduled `json:"fired,omitempty"`
}

func (s *Sandbox) clockAnswer() clockAnswer {
	return clockAnswer{Now: s.clock.Now(), Offset: s.clock.Offset().String(), TimeScale: s.clock.TimeScale()}
}

// handleClock serves GET /_sandbox/api/clock: the sandbox clock (docs/design.md, Time).
func (s *Sandbox) handleClock(c echo.Context) error { return c.JSON(http.StatusOK, s.clockAnswer()) }

// handleAdvance serves POST /clock/advance {"by":"3h"}: the clock moves and
// every timer that became due fires, in order, before the answer.
func (s *Sandbox) handleAdvance(c echo.Context) error {
	var body struct {
		By string `json:"by"`
	}
	if err := json.NewDecoder(io.LimitReader(c.Request().Body, 1<<16)).Decode(&body); err != nil {
		return emulators.Errorf(emulators.Invalid, `expected {"by":"<duration>"}, e.g. {"by":"3h"}`)
	}
	d, err := parseAdvance(body.By)
	if err != nil {
		return err
	}
	a, err := s.advance(d)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

// advance moves the sandbox clock by d and tells the event streams (the
// admin API's and the dashboard form's POST /clock/advance).
func (s *Sandbox) advance(d time.Duration) (clockAnswer, error) {
	fired, err := s.clock.AdvanceFired(d)
	if err != nil {
		return clockAnswer{}, emulators.Errorf(emulators.Invalid, "%v", err)
	}
	a := s.clockAnswer()
	s.journal.Notify("clock", a)
	if fired == nil {
		fired = []clock.Scheduled{}
	}
	a.Fired = &fired
	return a, nil
}

// parseAdvance accepts Go durations plus days ("7d", "7d3h").
func parseAdvance(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	var total time.Duration
	if i := strings.Index(v, "d"); i > 0 {
		days, err := strconv.Atoi(v[:i])
		if err == nil {
			total = time.Duration(days) * 24 * time.Hour
			v = v[i+1:]
		}
	}
	if v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return 0, emulators.Errorf(emulators.Invalid, "by: %q is not a duration (e.g. 90s, 3h, 7d)", v)
		}
		total += d
	}
	if total < 0 {
		return 0, emulators.Errorf(emulators.Invalid, "by: the sandbox clock only moves forward")
	}
	return total, nil
}

// handleReset serves POST /reset, body optional {"provider":"khipu"}.
func (s *Sandbox) handleReset(c echo.Context) error {
	var body struct {
		Provider string `json:"provider"`
	}
	data, _ := io.ReadAll(io.LimitReader(c.Request().Body, 1<<16))
	if len(strings.TrimSpace(string(data))) > 0 {
		if err := json.Unmarshal(data, &body); err != nil {
			return emulators.Errorf(emulators.Invalid, `expected {"provider":"khipu|hambit|payu"} or no body: %v`, err)
		}
	}
	if err := s.reset(body.Provider); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"reset": cmp.Or(body.Provider, "all")})
}

// reset wipes one provider (its objects, pending callbacks and journal
// entries), or everything when name is "" (scenario counters and the whole
// journal too), and tells the event streams.
func (s *Sandbox) reset(name string) error {
	var p provider
	if name != "" {
		var err error
		if p, err = s.provider(name); err != nil {
			return err
		}
	}
	// No timer (a robot payer, an expiry) is halfway through its work while
	// the state it changes is wiped, and the callback attempts being made
	// are aborted (callback.Dispatcher.Reset): nothing from before the reset
	// acts after it.
	s.clock.Exclusive(func() {
		if p != nil {
			s.resetProvider(p)
			return
		}
		for _, p := range s.providers {
			s.resetProvider(p)
		}
		s.scen.ResetCounters()
		s.journal.Clear("")
	})
	s.journal.Notify("reset", map[string]string{"provider": name})
	return nil
}

func (s *Sandbox) resetProvider(p provider) {
	s.resetMu.Lock()
	if s.resetAt == nil {
		s.resetAt = map[string]time.Time{}
	}
	s.resetAt[p.Name()] = s.clock.Now()
	s.resetMu.Unlock()
	p.Reset()
	s.disp.Reset(p.Name())
	s.journal.Clear(p.Name())
}

// handleEvents serves GET /events as server-sent events: journal entries
// (event name = entry kind, id = journal id) and notices (clock, scenarios,
// reset). With Last-Event-ID or ?since=N the stored entries after N are
// sent first, so a test that connects late misses nothing still held.
//
// ?provider=, ?object= and ?kind= (entry kinds and notice names, comma
// separated) select what is sent; provider and object apply to entries, a
// notice is sent unless kind leaves it out.
func (s *Sandbox) handleEvents(c echo.Context) error {
	var kinds, notices []string
	for _, k := range splitList(c.QueryParam("kind")) {
		switch {
		case slices.Contains(entryKinds, k):
			kinds = append(kinds, k)
		case slices.Contains(noticeNames, k):
			notices = append(notices, k)
		default:
			return emulators.Errorf(emulators.Invalid, "kind: %q is not one of %s, %s", truncate(k, 40),
				strings.Join(entryKinds, ", "), strings.Join(noticeNames, ", "))
		}
	}
	// Any fixed kind stops journalFilter from reading ?kind, read above with the notices.
	f, err := s.journalFilter(c, journal.KindRequest)
	if err != nil {
		return err
	}
	f.Kinds = nil
	for _, k := range kinds {
		f.Kinds = append(f.Kinds, journal.Kind(k))
	}
	filtered := c.QueryParam("kind") != ""
	send := func(ev journal.Event) bool {
		if e, ok := ev.Data.(journal.Entry); ok && ev.ID != 0 {
			if filtered && len(kinds) == 0 {
				return false
			}
			return f.Matches(&e)
		}
		return !filtered || slices.Contains(notices, ev.Name)
	}
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	sub := s.journal.Subscribe(1024)
	defer sub.Close()
	http.NewResponseController(w.Writer).SetWriteDeadline(time.Now().Add(StreamWriteTimeout))
	w.WriteHeader(http.StatusOK)
	// A reconnecting EventSource sends Last-Event-ID: it wins over the
	// ?since= of the original URL, so a reconnect does not replay twice.
	since := c.QueryParam("since")
	if id := c.Request().Header.Get("Last-Event-ID"); id != "" {
		since = id
	}
	var last uint64
	if n, err := strconv.ParseUint(since, 10, 64); err == nil && n > 0 {
		past := s.journal.List(journal.Filter{After: n, Limit: 1 << 30})
		for i := len(past) - 1; i >= 0; i-- {
			last = past[i].ID
			if !send(journal.Event{Name: string(past[i].Kind), ID: past[i].ID, Data: past[i]}) {
				continue
			}
			if err := writeEvent(w, journal.Event{Name: string(past[i].Kind), ID: past[i].ID, Data: past[i]}); err != nil {
				return nil
			}
		}
	}
	fmt.Fprint(w, ": paysandbox events\n\n")
	w.Flush()
	keep := time.NewTicker(15 * time.Second)
	defer keep.Stop()
	ctx := c.Request().Context()
	for {
		select {
		case ev := <-sub.C:
			if ev.ID != 0 && ev.ID <= last || !send(ev) {
				continue
			}
			if n := sub.Lost(); n > 0 {
				fmt.Fprintf(w, "event: lost\ndata: {\"events\":%d}\n\n", n)
			}
			if err := writeEvent(w, ev); err != nil {
				return nil
			}
		case <-keep.C:
			http.NewResponseController(w.Writer).SetWriteDeadline(time.Now().Add(StreamWriteTimeout))
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return nil
			}
			w.Flush()
		case <-ctx.Done():
			return nil
		case <-s.stopping:
			return nil
		}
	}
}

func writeEvent(w *echo.Response, ev journal.Event) error {
	data, err := wire.MarshalJSON(ev.Data)
	if err != nil {
		return err
	}
	// A reader that stops reading is cut after StreamWriteTimeout: it
	// cannot pin the stream's buffers for ever.
	http.NewResponseController(w.Writer).SetWriteDeadline(time.Now().Add(StreamWriteTimeout))
	if ev.ID != 0 {
		fmt.Fprintf(w, "id: %d\n", ev.ID)
	}
	if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Name, data); err != nil {
		return err
	}
	w.Flush()
	return nil
}
