package sandbox

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/admin"
	"github.com/paysandbox/sandbox/emulators/internal/clock"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
)

// dashboard serves the pages under /_sandbox/: objects, one object with its
// history and actions, the journal with signature diagnostics, scenarios,
// accounts, clock and reset. Pages are rendered on the server from the same
// data the admin API serves; a small script (static/sandbox/dashboard.js)
// follows GET /_sandbox/api/events and swaps the live regions of the page
// in place, and turns the forms into admin API calls. Every form also works
// without the script (it posts to a page endpoint that redirects back).
type dashboard struct {
	s      *Sandbox
	facets facetCache
	tmpl   *template.Template // parsed once, when the routes are built
	// hasAccounts names the providers that list their accounts as objects
	// (fixed by the configuration, learnt at start).
	hasAccounts map[string]bool
}

// page is what every template receives.
type page struct {
	Title string
	CSRF  string // the session's token, carried by every form (guard.go)
	Nav   string // the active navigation entry
	// Follow tells the page script which events refresh the live regions:
	// "all" (any journal entry), "ids" (entries naming one of Watch),
	// "notices" (clock, scenarios, reset only) or "" (nothing).
	Follow   string
	Watch    []string
	Now      time.Time // sandbox clock
	Offset   time.Duration
	Scale    float64
	Scenario string
	Version  string
	LastID   uint64 // the journal's last id when the page was rendered
	Flash    string
	FlashErr string
	Data     any
}

// render executes one template of the sandbox set.
func (d *dashboard) render(c echo.Context, status int, name string, p *page) error {
	s := d.s
	p.Now, p.Offset, p.Scale = s.clock.Now(), s.clock.Offset(), s.clock.TimeScale()
	p.CSRF = s.csrfToken(c)
	p.Scenario, p.Version, p.LastID = s.scen.Active(), s.opt.Version, s.journal.Stats().LastID
	if p.Flash == "" {
		p.Flash = c.QueryParam("ok")
	}
	if p.FlashErr == "" {
		p.FlashErr = c.QueryParam("err")
	}
	var b bytes.Buffer
	if err := d.tmpl.ExecuteTemplate(&b, name, p); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	return c.HTMLBlob(status, b.Bytes())
}

func (d *dashboard) notFound(c echo.Context) error {
	return d.render(c, http.StatusNotFound, "notfound.html", &page{Title: "Not found",
		Data: "There is no page at " + c.Request().URL.Path + "."})
}

// errorPage renders err as a page: the admin API's kinds map to statuses.
func (d *dashboard) errorPage(c echo.Context, err error) error {
	e := emulators.AsError(err)
	status, _ := adminKind(e.Kind)
	msg := e.Msg
	if e.Kind == emulators.Internal {
		d.s.log.Error("dashboard error", "path", c.Request().URL.Path, "err", err)
		msg = "internal error"
	}
	return d.render(c, status, "notfound.html", &page{Title: http.StatusText(status), Data: msg})
}

// objectFilter is the query of the objects page.
type objectFilter struct {
	Provider, Kind, Status, Account, Q string
	Offset, Limit                      int
}

func (f objectFilter) query(offset int) string {
	return filterURL("/_sandbox/", f.Limit, [][2]string{{"provider", f.Provider}, {"kind", f.Kind}, {"status", f.Status},
		{"account", f.Account}, {"q", f.Q}, {"offset", positive(uint64(offset))}})
}

// filterURL is a page's URL with a filter: path, then the params with a
// value, and the limit unless it is the default page size.
func filterURL(path string, limit int, params [][2]string) string {
	v := url.Values{}
	for _, kv := range params {
		if kv[1] != "" {
			v.Set(kv[0], kv[1])
		}
	}
	if limit != defaultPageSize {
		v.Set("limit", strconv.Itoa(limit))
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// positive renders n for a query parameter, "" (left out) for 0.
func positive(n uint64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatUint(n, 10)
}

const (
	defaultPageSize = 50
	maxPageSize     = 100
)

// objectsView is the data of the objects page.
type objectsView struct {
	Filter                  objectFilter
	Items                   []admin.Object
	Total, From, To         int
	First, Prev, Next, Last string
	Providers               []string
	Kinds, Statuses, Limits []string
	AccountList             []string // the Account filter's choices
	Elapsed                 time.Duration
	Filtered                bool
	ProviderTotals          []providerTotal
	PageNumber, Pages       int
	Accounts                int // provider accounts left out of the list
}

type providerTotal struct {
	Name  string
	Total int
}

// listObjects lists objects across providers (or of one), newest first:
// the admin API's GET /objects and the dashboard's objects page. Accounts
// (Hambit's API keys, with their balances) of the providers named in
// hideAccounts are left out unless the kind filter asks for them: on the
// dashboard they are configuration, not payments, and would hide an empty
// sandbox. The admin API passes nil and lists them.
func (s *Sandbox) listObjects(f objectFilter, hideAccounts map[string]bool) (objectsResult, error) {
	ps := s.providers
	if f.Provider != "" {
		p, err := s.provider(f.Provider)
		if err != nil {
			return objectsResult{}, err
		}
		ps = []provider{p}
	}
	var r objectsResult
	q := admin.Query{Kind: f.Kind, Status: f.Status, Account: f.Account, Search: f.Q}
	accounts := func(p provider) int {
		if f.Kind != "" || !hideAccounts[p.Name()] {
			return 0
		}
		aq := q
		aq.Kind, aq.Limit = accountKind, 1
		_, n := p.Objects(aq)
		return n
	}
	if len(ps) == 1 {
		if acc := accounts(ps[0]); acc == 0 {
			q.Offset, q.Limit = f.Offset, f.Limit
			items, total := ps[0].Objects(q)
			r.Items, r.Total = items, total
			r.Totals = []providerTotal{{ps[0].Name(), total}}
			return r, nil
		}
	}
	var all []admin.Object
	for _, p := range ps {
		acc := accounts(p)
		pq := q
		pq.Limit = f.Offset + f.Limit + acc
		items, n := p.Objects(pq)
		if acc > 0 {
			items = slices.DeleteFunc(items, func(o admin.Object) bool { return o.Kind == accountKind })
		}
		all = append(all, items...)
		r.Total += n - acc
		r.Accounts += acc
		r.Totals = append(r.Totals, providerTotal{p.Name(), n - acc})
	}
	sortObjects(all)
	off := min(f.Offset, len(all))
	end := min(off+f.Limit, len(all))
	r.Items = all[off:end]
	return r, nil
}

// accountKind is the object kind of provider accounts.
const accountKind = "account"

type objectsResult struct {
	Items    []admin.Object
	Total    int
	Totals   []providerTotal
	Accounts int // accounts left out
}

func (d *dashboard) objectsPage(c echo.Context) error {
	start := time.Now()
	f := objectFilter{Provider: c.QueryParam("provider"), Kind: strings.TrimSpace(c.QueryParam("kind")),
		Status: strings.TrimSpace(c.QueryParam("status")), Account: strings.TrimSpace(c.QueryParam("account")),
		Q: strings.TrimSpace(c.QueryParam("q"))}
	var err error
	if f.Offset, err = intParam(c, "offset", 0, 0); err != nil {
		return d.errorPage(c, err)
	}
	// At most 100 rows a page keeps every page under 100 KB.
	if f.Limit, err = intParam(c, "limit", defaultPageSize, maxPageSize); err != nil {
		return d.errorPage(c, err)
	}
	res, err := d.s.listObjects(f, d.hasAccounts)
	if err != nil {
		return d.errorPage(c, err)
	}
	items, total := res.Items, res.Total
	fc := d.facets.get(d.s, f.Provider)
	v := &objectsView{Filter: f, Items: items, Total: total, ProviderTotals: res.Totals, Accounts: res.Accounts,
		Kinds:       withCurrent(fc.Kinds, f.Kind),
		Statuses:    withCurrent(fc.Statuses, f.Status),
		AccountList: withCurrent(fc.Accounts, f.Account),
		Limits:      []string{"25", "50", "100"},
		Filtered:    f.Kind != "" || f.Status != "" || f.Account != "" || f.Q != "" || f.Provider != ""}
	for _, p := range d.s.providers {
		v.Providers = append(v.Providers, p.Name())
	}
	if len(items) > 0 {
		v.From, v.To = f.Offset+1, f.Offset+len(items)
	}
	v.Pages = (total + f.Limit - 1) / f.Limit
	v.PageNumber = f.Offset/f.Limit + 1
	if f.Offset > 0 {
		v.First = f.query(0)
		v.Prev = f.query(max(0, f.Offset-f.Limit))
	}
	if f.Offset+f.Limit < total {
		v.Next = f.query(f.Offset + f.Limit)
		v.Last = f.query((v.Pages - 1) * f.Limit)
	}
	v.Elapsed = time.Since(start)
	return d.render(c, http.StatusOK, "objects.html", &page{Title: "Objects", Nav: "objects", Follow: "all", Data: v})
}

// objectView is the data of one object's page.
type objectView struct {
	Obj            admin.Object
	DataJSON       string
	DataCut        bool
	Deliveries     []deliveryView
	MoreDeliveries int               // older deliveries not shown
	CallbacksURL   string            // the journal's callbacks of the object
	Entries        []journal.Entry   // oldest first
	MoreURL        string            // the journal filtered on the object, when Entries is cut
	Scheduled      []clock.Scheduled // what is due on the clock for the object and its related ones
	MoreScheduled  int
}

// maxScheduled bounds the scheduled items a page lists.
const maxScheduled = 50

// deliveryView is one callback delivery with its attempts, oldest first.
type deliveryView struct {
	ID, Event, URL, Outcome string
	Attempts                []journal.Entry
	Hidden                  int // attempts between the first two and the latest ones, not shown
	Resendable              bool
}

const (
	objectJournalLimit = 100
	maxDeliveries      = 5
	maxAttempts        = 10
	maxDataJSON        = 24 << 10
)

func (d *dashboard) objectPage(c echo.Context) error {
	name, id := c.Param("provider"), c.Param("id")
	o, err := d.s.findObject(name, id)
	if err != nil {
		if at, ok := d.s.lastReset(name); ok && emulators.AsError(err).Kind == emulators.NotFound {
			return d.render(c, http.StatusNotFound, "forgotten.html", &page{Title: "Forgotten by a reset", Nav: "objects",
				Data: forgottenView{Provider: name, ID: id, At: at}})
		}
		return d.errorPage(c, err)
	}
	if o.Provider != name {
		return c.Redirect(http.StatusFound, objectURL(o.Provider, o.ID))
	}
	v := &objectView{Obj: o, DataJSON: prettyJSON(o.Data)}
	entries := d.s.journal.List(journal.Filter{Object: o.ID, Limit: objectJournalLimit + 1})
	if len(entries) > objectJournalLimit {
		entries = entries[:objectJournalLimit]
		v.MoreURL = "/_sandbox/journal?object=" + url.QueryEscape(o.ID)
	}
	slices.Reverse(entries)
	v.Entries = entries
	callbacks := d.s.journal.List(journal.Filter{Object: o.ID, Kinds: []journal.Kind{journal.KindCallback}, Limit: 1000})
	v.Deliveries = groupDeliveries(callbacks, d.s)
	// Bounded, so that a page stays under 100 KB whatever the retries:
	// the newest deliveries, each with its first and latest attempts.
	if n := len(v.Deliveries); n > maxDeliveries {
		v.MoreDeliveries, v.Deliveries = n-maxDeliveries, v.Deliveries[:maxDeliveries]
	}
	for i := range v.Deliveries {
		dv := &v.Deliveries[i]
		if n := len(dv.Attempts); n > maxAttempts {
			dv.Hidden = n - maxAttempts
			dv.Attempts = append(dv.Attempts[:2:2], dv.Attempts[n-maxAttempts+2:]...)
		}
	}
	if len(v.DataJSON) > maxDataJSON {
		v.DataJSON, v.DataCut = trunc(maxDataJSON, v.DataJSON), true
	}
	if len(callbacks) > 0 {
		v.CallbacksURL = "/_sandbox/journal?kind=callback&object=" + url.QueryEscape(o.ID)
	}
	watch := []string{o.ID}
	for _, r := range o.Related {
		watch = append(watch, r.ID)
	}
	v.Scheduled = d.s.Schedule(func(l clock.Label) bool { return slices.Contains(watch, l.Object) })
	if n := len(v.Scheduled); n > maxScheduled {
		v.MoreScheduled, v.Scheduled = n-maxScheduled, v.Scheduled[:maxScheduled]
	}
	return d.render(c, http.StatusOK, "object.html", &page{Title: o.Provider + " " + o.Kind + " " + o.ID,
		Nav: "objects", Follow: "ids", Watch: watch, Data: v})
}

// forgottenView is the page of a link into a provider that was reset.
type forgottenView struct {
	Provider, ID string
	At           time.Time
}

// lastReset returns when provider name was last reset, if it was.
func (s *Sandbox) lastReset(name string) (time.Time, bool) {
	s.resetMu.Lock()
	defer s.resetMu.Unlock()
	at, ok := s.resetAt[name]
	return at, ok
}

// findObject returns the object id of provider name, or of the provider
// that has it when name is wrong (journal entries of one provider can name
// another's object, e.g. PayU hooks naming a Khipu payment).
func (s *Sandbox) findObject(name, id string) (admin.Object, error) {
	p, err := s.provider(name)
	if err != nil {
		return admin.Object{}, err
	}
	o, err := p.Object(id)
	if err == nil {
		return o, nil
	}
	if emulators.AsError(err).Kind != emulators.NotFound {
		return admin.Object{}, err
	}
	for _, other := range s.providers {
		if other.Name() == name {
			continue
		}
		if o2, err2 := other.Object(id); err2 == nil {
			return o2, nil
		}
	}
	return admin.Object{}, err
}

// groupDeliveries groups callback attempts (newest first) by delivery,
// newest delivery first, attempts oldest first.
func groupDeliveries(entries []journal.Entry, s *Sandbox) []deliveryView {
	var out []deliveryView
	index := map[string]int{}
	for _, e := range entries {
		a := e.Callback
		if a == nil {
			continue
		}
		i, ok := index[a.Delivery]
		if !ok {
			i = len(out)
			index[a.Delivery] = i
			del, known := s.disp.Delivery(a.Delivery)
			out = append(out, deliveryView{ID: a.Delivery, Event: a.Event, URL: a.URL, Outcome: a.Outcome, Resendable: known && del.URL != ""})
		}
		out[i].Attempts = append([]journal.Entry{e}, out[i].Attempts...)
	}
	return out
}

// journalFilter is the query of the journal page.
type journalFilter struct {
	Kind, Provider, Object, Verdict, Outcome string
	Before                                   uint64
	Limit                                    int
}

func (f journalFilter) query(before uint64) string {
	return filterURL("/_sandbox/journal", f.Limit, [][2]string{{"kind", f.Kind}, {"provider", f.Provider}, {"object", f.Object},
		{"verdict", f.Verdict}, {"outcome", f.Outcome}, {"before", positive(before)}})
}

type journalView struct {
	Filter          journalFilter
	Entries         []journal.Entry
	Newest, Older   string
	Stats           journal.Stats
	Kinds, Verdicts []string
	Outcomes        []string
	Providers       []string
}

func (d *dashboard) journalPage(c echo.Context) error {
	f := journalFilter{Kind: c.QueryParam("kind"), Provider: c.QueryParam("provider"), Object: strings.TrimSpace(c.QueryParam("object")),
		Verdict: c.QueryParam("verdict"), Outcome: c.QueryParam("outcome")}
	before, err := intParam(c, "before", 0, 0)
	if err != nil {
		return d.errorPage(c, err)
	}
	f.Before = uint64(before)
	if f.Limit, err = intParam(c, "limit", defaultPageSize, maxPageSize); err != nil {
		return d.errorPage(c, err)
	}
	jf := journal.Filter{Provider: f.Provider, Object: f.Object, Before: f.Before, Limit: f.Limit + 1}
	if f.Kind != "" {
		jf.Kinds = []journal.Kind{journal.Kind(f.Kind)}
	}
	jf.Match = entryMatch(f.Verdict, f.Outcome, "")
	entries := d.s.journal.List(jf)
	v := &journalView{Filter: f, Stats: d.s.journal.Stats(),
		Kinds:    []string{"request", "transition", "callback", "timer", "page", "hook", "note"},
		Verdicts: []string{journal.VerdictOK, journal.VerdictRejected, journal.VerdictTolerated},
		Outcomes: []string{journal.OutcomeAcknowledged, journal.OutcomeFailed, journal.OutcomeGaveUp, journal.OutcomeSkipped, journal.OutcomeSuperseded, journal.OutcomeCancelled}}
	for _, p := range d.s.providers {
		v.Providers = append(v.Providers, p.Name())
	}
	if len(entries) > f.Limit {
		entries = entries[:f.Limit]
		v.Older = f.query(entries[len(entries)-1].ID)
	}
	v.Entries = entries
	if f.Before > 0 {
		v.Newest = f.query(0)
	}
	follow := "all"
	if f.Before > 0 {
		follow = "notices"
	}
	return d.render(c, http.StatusOK, "journal.html", &page{Title: "Journal", Nav: "journal", Follow: follow, Data: v})
}

type entryView struct {
	E          journal.Entry
	Resendable bool
	Prev, Next uint64
	NextID     uint64 // E.ID + 1: GET /_sandbox/api/journal?before=NextID&limit=1 is the entry
}

func (d *dashboard) entryPage(c echo.Context) error {
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil {
		return d.errorPage(c, emulators.Errorf(emulators.NotFound, "no journal entry %q", c.Param("id")))
	}
	e, ok := d.s.journal.Get(id)
	if !ok {
		return d.errorPage(c, emulators.Errorf(emulators.NotFound,
			"journal entry #%d is not held (the journal keeps the latest %d entries; it may have been evicted or reset)", id, d.s.journal.Stats().Capacity))
	}
	v := &entryView{E: e, NextID: e.ID + 1}
	if e.Callback != nil {
		del, known := d.s.disp.Delivery(e.Callback.Delivery)
		v.Resendable = known && del.URL != ""
	}
	v.Prev, v.Next = d.s.journal.Adjacent(id)
	return d.render(c, http.StatusOK, "entry.html", &page{Title: "Journal #" + strconv.FormatUint(id, 10), Nav: "journal", Data: v})
}

type scenariosView struct {
	Active   string
	List     any
	Problems any
	Upload   string // text of a failed upload (no-script form)
	Errors   []uploadProblem
}

type uploadProblem struct {
	Line    int    `json:"line"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
	Text    string `json:"text"`
}

func (d *dashboard) scenariosPage(c echo.Context) error {
	return d.renderScenarios(c, http.StatusOK, "", nil)
}

func (d *dashboard) renderScenarios(c echo.Context, status int, upload string, probs []uploadProblem) error {
	v := &scenariosView{Active: d.s.scen.Active(), List: d.s.scen.List(), Problems: d.s.scen.Problems(), Upload: upload, Errors: probs}
	return d.render(c, status, "scenarios.html", &page{Title: "Scenarios", Nav: "scenarios", Follow: "notices", Data: v})
}

type accountsView struct {
	LinkBase  string
	Providers []admin.Description
}

func (d *dashboard) accountsPage(c echo.Context) error {
	base := wire.LinkBase(c.Request(), d.s.cfg.PublicURL)
	v := &accountsView{LinkBase: base, Providers: d.s.Describe(base)}
	return d.render(c, http.StatusOK, "accounts.html", &page{Title: "Accounts and base URLs", Nav: "accounts", Data: v})
}

type clockView struct {
	Scheduled     []clock.Scheduled
	MoreScheduled int
	Pending       int
	Stats         journal.Stats
	Providers     []string
	Quick         []string
}

func (d *dashboard) clockPage(c echo.Context) error {
	v := &clockView{Pending: d.s.disp.Pending(), Stats: d.s.journal.Stats(), Quick: []string{"1m", "10m", "1h", "3h", "1d", "7d"}}
	for _, p := range d.s.providers {
		v.Providers = append(v.Providers, p.Name())
	}
	v.Scheduled = d.s.Schedule(nil)
	if n := len(v.Scheduled); n > 2*maxScheduled {
		v.MoreScheduled, v.Scheduled = n-2*maxScheduled, v.Scheduled[:2*maxScheduled]
	}
	return d.render(c, http.StatusOK, "clock.html", &page{Title: "Clock and reset", Nav: "clock", Follow: "notices", Data: v})
}

// objectURL is the dashboard page of one object.
func objectURL(provider, id string) string {
	return "/_sandbox/objects/" + url.PathEscape(provider) + "/" + url.PathEscape(id)
}

// entryURL is the dashboard page of one journal entry.
func entryURL(id uint64) string { return "/_sandbox/journal/" + strconv.FormatUint(id, 10) }
