package sandbox

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/callback"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/random"
)

// demo is the demo shop (/_sandbox/demo): a small store that checks out
// through every emulated method by calling the sandbox's own provider APIs
// over HTTP with real signatures, sends the browser to the payer page,
// receives the provider's callback at its own endpoint, verifies it and
// only then marks the order paid — the way a correct integration behaves.
// Each step links to its request and callback in the dashboard.
type demo struct {
	s    *Sandbox
	d    *dashboard
	rand *random.Source

	mu     sync.Mutex
	orders map[string]*demoOrder
	seq    int
}

type demoProduct struct {
	ID, Name, Description string
	Price                 int64 // CLP
}

// demoProducts are the shop's wares; prices suit every method (DemoBank
// accepts 200 CLP and up, the built-in Khipu receiver up to 50,000).
var demoProducts = []demoProduct{
	{"coffee", "Coffee beans, 250 g", "Medium roast, ground or whole.", 4990},
	{"mug", "Clay mug", "Handmade in Pomaire, 300 ml.", 7500},
	{"notebook", "Hardcover notebook", "120 pages of recycled paper.", 2990},
}

type demoMethod struct {
	ID, Name, Provider, Description string
}

var demoMethods = []demoMethod{
	{"khipu", "Khipu", "khipu", "Bank transfer through Khipu API 2.0. The payer pays at DemoBank; Khipu notifies the shop (notification API 1.3) and the shop re-reads the payment by its notification token."},
	{"payu-khipu", "Khipu via PayU", "payu", "PayU SUBMIT_TRANSACTION with paymentMethod KHIPU. The payer pays at DemoBank on Khipu's page; PayU posts its confirmation page."},
	{"payu-webpay", "WebPay Plus via PayU", "payu", "PayU TRANSBANK_DEBIT. The payer pays on the WebPay page; PayU posts its confirmation page."},
	{"payu-card", "Card via PayU", "payu", "PayU card charge (AUTHORIZATION_AND_CAPTURE). PayU answers at once; the order is paid when the confirmation arrives."},
	{"hambit", "Hambit", "hambit", "Hambit collection order. The payer pays on Hambit's cashier page; Hambit sends a signed callback."},
}

func methodByID(id string) (demoMethod, bool) {
	for _, m := range demoMethods {
		if m.ID == id {
			return m, true
		}
	}
	return demoMethod{}, false
}

// Order states. Only a verified callback moves an order to paid or failed.
const (
	orderNew      = "new"
	orderAwaiting = "awaiting payment"
	orderPending  = "waiting for the callback"
	orderPaid     = "paid"
	orderFailed   = "failed"
	orderError    = "not created"
)

type demoOrder struct {
	ID       string
	Product  demoProduct
	Method   demoMethod
	Scenario string
	Created  time.Time
	State    string
	Note     string
	// ObjectID is the provider object the shop follows: the Khipu
	// payment_id, the Hambit orderId or the PayU transactionId.
	ObjectID string
	// Related are other ids worth a link: the PayU orderId, the Khipu
	// payment created for PayU.
	Related []demoRef
	PayURL  string
	Steps   []demoStep
	Version int
	seen    map[string]bool // dedupe keys of one-off steps
}

type demoRef struct{ Provider, ID, Label string }

type demoStep struct {
	At     time.Time
	Title  string
	Detail string
	Tone   string // ok, bad, wait or ""
	Entry  uint64 // journal entry of the request, 0 when none
	Links  []demoRef
	// Callback is the journal entry of the callback attempt this step
	// received, found when the page is rendered (the dispatcher journals an
	// attempt after the shop has answered it).
	Callback uint64
	received *receivedCallback
}

// receivedCallback is what the shop got, to find its journal entry by.
type receivedCallback struct {
	body    string
	headers http.Header
}

// matches reports whether a journaled attempt is this request: same body,
// same values for every header the sandbox set.
func (rc *receivedCallback) matches(a *journal.Attempt) bool {
	if a == nil || a.RequestBody != rc.body || a.Status == 0 {
		return false
	}
	for k, vs := range a.RequestHeaders {
		got := rc.headers.Values(k)
		if len(got) == 0 {
			got = rc.headers[k] // names sent as given (Hambit's access_key)
		}
		if !slices.Equal(got, vs) {
			return false
		}
	}
	return true
}

func newDemo(s *Sandbox, d *dashboard) *demo {
	return &demo{s: s, d: d, rand: random.New(s.cfg.Seed, "demo"), orders: map[string]*demoOrder{}}
}

func (m *demo) routes(e *echo.Echo, guard echo.MiddlewareFunc) {
	tok := m.s.requirePageToken
	e.GET("/_sandbox/demo", m.shopPage, guard, tok)
	e.GET("/_sandbox/demo/", func(c echo.Context) error { return c.Redirect(http.StatusFound, "/_sandbox/demo") })
	e.POST("/_sandbox/demo/checkout", m.checkout, guard, tok)
	e.GET("/_sandbox/demo/orders/:id", m.orderPage, guard, tok)
	e.GET("/_sandbox/demo/orders/:id/status", m.orderStatus, guard, tok)
	// Callback endpoints are a merchant's: no admin token, signatures instead.
	e.POST("/_sandbox/demo/callbacks/:provider", m.callback, guard)
	go m.followResets()
}

// followResets forgets the shop's orders when the sandbox is reset (all,
// or the provider an order went through).
func (m *demo) followResets() {
	sub := m.s.journal.SubscribeNotices(256) // not every entry of every request
	defer sub.Close()
	for {
		select {
		case ev := <-sub.C:
			if ev.Name != "reset" {
				continue
			}
			p, _ := ev.Data.(map[string]string)
			m.mu.Lock()
			for id, o := range m.orders {
				if p["provider"] == "" || p["provider"] == o.Method.Provider {
					delete(m.orders, id)
				}
			}
			m.mu.Unlock()
		case <-m.s.stopping:
			return
		}
	}
}

// step appends a step to an order (under m.mu).
func (o *demoOrder) step(at time.Time, tone, title, detail string, entry uint64, links ...demoRef) {
	o.Steps = append(o.Steps, demoStep{At: at, Title: title, Detail: detail, Tone: tone, Entry: entry, Links: links})
	o.Version++
}

// update runs f on the order under the lock; false when it is gone.
func (m *demo) update(id string, f func(o *demoOrder)) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.orders[id]
	if ok {
		f(o)
	}
	return ok
}

// snapshot copies an order for rendering.
func (m *demo) snapshot(id string) (demoOrder, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.orders[id]
	if !ok {
		return demoOrder{}, false
	}
	cp := *o
	cp.Steps = slices.Clone(o.Steps)
	cp.Related = slices.Clone(o.Related)
	cp.seen = nil
	return cp, true // steps' received callbacks are shared, read only
}

func (m *demo) recent(n int) []demoOrder {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []demoOrder
	for _, o := range m.orders {
		cp := *o
		cp.Steps, cp.seen = nil, nil
		out = append(out, cp)
	}
	slices.SortFunc(out, func(a, b demoOrder) int { return b.Created.Compare(a.Created) })
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// shopView is the data of the shop page.
type shopView struct {
	Products  []demoProduct
	Methods   []demoMethod
	Scenarios []string
	Active    string
	Orders    []demoOrder
	Card      demoCard
	Error     string
	Product   string
	Method    string
}

type demoCard struct{ Number, Name, CVV, Expiry string }

var defaultCard = demoCard{Number: "4097440000000004", Name: "APPROVED", CVV: "777", Expiry: "2030/12"}

func (m *demo) shopPage(c echo.Context) error {
	return m.renderShop(c, http.StatusOK, shopView{Card: defaultCard, Product: demoProducts[0].ID, Method: demoMethods[0].ID})
}

func (m *demo) renderShop(c echo.Context, status int, v shopView) error {
	v.Products, v.Methods, v.Active, v.Orders = demoProducts, demoMethods, m.s.scen.Active(), m.recent(10)
	v.Scenarios = m.s.scen.Names()
	return m.d.render(c, status, "demo_shop.html", &page{Title: "Demo shop", Nav: "demo", Data: &v})
}

// checkout creates an order and its charge at the chosen provider, then
// sends the browser to the payer page (or to the order page for a card).
func (m *demo) checkout(c echo.Context) error {
	var prod demoProduct
	for _, p := range demoProducts {
		if p.ID == c.FormValue("product") {
			prod = p
		}
	}
	method, ok := methodByID(c.FormValue("method"))
	card := demoCard{Number: strings.TrimSpace(c.FormValue("card_number")), Name: strings.TrimSpace(c.FormValue("card_name")),
		CVV: strings.TrimSpace(c.FormValue("card_cvv")), Expiry: strings.TrimSpace(c.FormValue("card_expiry"))}
	scenario := c.FormValue("scenario")
	v := shopView{Card: card, Product: prod.ID, Method: method.ID}
	switch {
	case prod.ID == "":
		v.Error = "Choose a product."
		return m.renderShop(c, http.StatusBadRequest, v)
	case !ok:
		v.Error = "Choose a payment method."
		return m.renderShop(c, http.StatusBadRequest, v)
	case scenario != "" && !slices.Contains(m.s.scen.Names(), scenario):
		v.Error = fmt.Sprintf("Unknown scenario %q.", scenario)
		return m.renderShop(c, http.StatusBadRequest, v)
	}
	now := m.s.clock.Now()
	m.mu.Lock()
	m.seq++
	o := &demoOrder{ID: fmt.Sprintf("DEMO-%04d-%s", m.seq, m.rand.String(4, "abcdefghijkmnpqrstuvwxyz23456789")),
		Product: prod, Method: method, Scenario: scenario, Created: now, State: orderNew, seen: map[string]bool{}}
	sc := "the active scenario (" + m.s.scen.Active() + ")"
	if scenario != "" {
		sc = "scenario " + scenario + " (X-Sandbox-Scenario header)"
	}
	o.step(now, "", "Order created in the shop", fmt.Sprintf("%s, %s, paid with %s under %s.", prod.Name, clp(prod.Price), method.Name, sc), 0)
	m.orders[o.ID] = o
	snap := *o
	m.mu.Unlock()

	dc := m.ctxFor(c.Request())
	started := m.s.clock.Now()
	var res demoCreated
	var err error
	switch method.ID {
	case "khipu":
		res, err = m.khipuCreate(dc, &snap)
	case "hambit":
		res, err = m.hambitCreate(dc, &snap)
	default:
		res, err = m.payuSubmit(dc, &snap, card)
	}
	// The step is dated when the call started: a callback can arrive before
	// the answer does (a card is decided at once), and must not be undone.
	m.update(o.ID, func(o *demoOrder) {
		if err != nil {
			o.State = orderError
			o.Note = err.Error()
			o.step(started, "bad", res.Title, err.Error(), res.Entry)
			return
		}
		o.ObjectID, o.PayURL = res.ObjectID, res.PayURL
		o.Related = append(o.Related, res.Related...)
		if !o.final() {
			o.State = orderAwaiting
			if res.Pending != "" {
				o.State, o.Note = orderPending, res.Pending
			}
		}
		o.step(started, res.Tone, res.Title, res.Detail, res.Entry, res.Links...)
		slices.SortStableFunc(o.Steps, func(a, b demoStep) int { return a.At.Compare(b.At) })
	})
	if err != nil || res.PayURL == "" {
		return c.Redirect(http.StatusSeeOther, demoOrderURL(o.ID))
	}
	return c.Redirect(http.StatusSeeOther, res.PayURL)
}

// demoCreated is what creating a charge at a provider gave.
type demoCreated struct {
	ObjectID, PayURL string
	Related, Links   []demoRef
	Title, Detail    string
	Tone             string
	Entry            uint64
	Pending          string // set when the provider already decided (a card): waiting for the callback
}

func demoOrderURL(id string) string { return "/_sandbox/demo/orders/" + url.PathEscape(id) }

// clp formats a CLP amount the Chilean way: $4.990.
func clp(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(r)
	}
	return "$" + b.String()
}

// money formats an amount as the provider wrote it ("4990.0000", "4990")
// as the shop shows money: $4.990 (decimals kept when not zero: $4.990,5).
func money(s string) string {
	d, err := emulators.ParseDecimal(strings.TrimSpace(s))
	if err != nil {
		return s
	}
	d = d.Normalize()
	out := clp(d.Int64())
	if d.Sign() < 0 && d.Int64() == 0 {
		out = "-" + out
	}
	if !d.IsInteger() {
		frac := d.Sub(emulators.DecimalFromInt(d.Int64())).String()
		out += "," + frac[strings.Index(frac, ".")+1:]
	}
	return out
}

// orderView is the data of an order page.
type orderView struct {
	O         demoOrder
	Tone      string
	Final     bool
	Callbacks []journal.Entry // attempts that reached the shop
	NotSent   []journal.Entry // attempts that failed before leaving the sandbox (fail_attempts)
	Khipu13   bool
}

func (o *demoOrder) final() bool {
	return o.State == orderPaid || o.State == orderFailed || o.State == orderError
}

func (m *demo) orderPage(c echo.Context) error {
	id := c.Param("id")
	q := c.QueryParams()
	// A payer coming back: note it once, then show the clean URL.
	if len(q) > 0 && (q.Get("transactionState") != "" || q.Get("cancelled") != "" || q.Get("returned") != "") {
		m.payerReturned(id, q)
		return c.Redirect(http.StatusSeeOther, demoOrderURL(id))
	}
	o, ok := m.snapshot(id)
	if !ok {
		return m.d.render(c, http.StatusNotFound, "notfound.html", &page{Title: "Order not found", Nav: "demo",
			Data: "The shop has no order " + id + " (a sandbox reset forgets the shop's orders)."})
	}
	v := &orderView{O: o, Final: o.final()}
	switch o.State {
	case orderPaid:
		v.Tone = "ok"
	case orderFailed, orderError:
		v.Tone = "bad"
	default:
		v.Tone = "wait"
	}
	for _, e := range m.resolveCallbacks(&o) {
		if e.Callback != nil && e.Callback.Error == callback.NotSent {
			v.NotSent = append(v.NotSent, e)
		} else {
			v.Callbacks = append(v.Callbacks, e)
		}
	}
	v.O = o
	// The page follows the journal entries naming the order's objects: the
	// callback attempts (journaled once the shop has answered them), the
	// provider's transitions, the shop's own requests.
	watch := []string{}
	if o.ObjectID != "" {
		watch = append(watch, o.ObjectID)
	}
	for _, r := range o.Related {
		watch = append(watch, r.ID)
	}
	follow := "ids"
	if len(watch) == 0 {
		follow = ""
	}
	p := &page{Title: "Order " + o.ID, Nav: "demo", Follow: follow, Watch: watch, Data: v}
	return m.d.render(c, http.StatusOK, "demo_order.html", p)
}

// resolveCallbacks lists the callback attempts journaled for the order's
// objects, oldest first, and links each received-callback step to its attempt.
func (m *demo) resolveCallbacks(o *demoOrder) (callbacks []journal.Entry) {
	var ids []string
	if o.ObjectID != "" {
		ids = append(ids, o.ObjectID)
	}
	for _, r := range o.Related {
		if r.Provider == o.Method.Provider {
			ids = append(ids, r.ID)
		}
	}
	seen := map[uint64]bool{}
	for _, oid := range ids {
		for _, e := range m.s.journal.List(journal.Filter{Object: oid, Kinds: []journal.Kind{journal.KindCallback}, Limit: 50}) {
			if !seen[e.ID] {
				seen[e.ID] = true
				callbacks = append(callbacks, e)
			}
		}
	}
	slices.SortFunc(callbacks, func(a, b journal.Entry) int { return int(a.ID) - int(b.ID) })
	used := map[uint64]bool{}
	for i := range o.Steps {
		st := &o.Steps[i]
		if st.received == nil {
			continue
		}
		for _, e := range callbacks {
			if !used[e.ID] && st.received.matches(e.Callback) {
				used[e.ID], st.Callback = true, e.ID
				break
			}
		}
	}
	return callbacks
}

// orderStatus serves GET /_sandbox/demo/orders/{id}/status: the order's
// state as JSON, for scripts and tests.
func (m *demo) orderStatus(c echo.Context) error {
	o, ok := m.snapshot(c.Param("id"))
	if !ok {
		return c.JSON(http.StatusNotFound, map[string]any{"error": "no such order"})
	}
	cbs := m.resolveCallbacks(&o)
	var linked []uint64
	for _, st := range o.Steps {
		if st.Callback != 0 {
			linked = append(linked, st.Callback)
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"id": o.ID, "state": o.State, "final": o.final(),
		"object": o.ObjectID, "callbacks": len(cbs), "callbacks_received": linked})
}

// payerReturned records the browser's return from a payer page. It changes
// nothing: only the callback can.
func (m *demo) payerReturned(id string, q url.Values) {
	at := m.s.clock.Now()
	a := m.accounts()
	m.update(id, func(o *demoOrder) {
		if q.Get("cancelled") != "" {
			if !o.seen["cancel"] {
				o.seen["cancel"] = true
				o.step(at, "", "The payer left the payment page", "The payment stays payable until it expires; nothing changes in the shop.", 0)
			}
			return
		}
		switch q.Get("returned") {
		case "khipu", "hambit":
			name := map[string]string{"khipu": "Khipu", "hambit": "Hambit's cashier"}[q.Get("returned")]
			if !o.seen["returned"] {
				o.seen["returned"] = true
				o.step(at, "", "The payer came back from "+name,
					"The return URL only brings the payer back: it says nothing trustworthy about the payment, so the shop waits for the provider's signed callback before it ships.", 0)
			}
			return
		}
		key := "response:" + q.Get("transactionId") + ":" + q.Get("transactionState")
		if o.seen[key] {
			return
		}
		o.seen[key] = true
		state, lap := q.Get("transactionState"), q.Get("lapTransactionState")
		verdict := "its signature does not verify: a correct shop ignores it"
		if v, err := payuResponseValue(q.Get("TX_VALUE")); err == nil &&
			q.Get("merchantId") == strconv.FormatInt(a.payuMerchant, 10) &&
			payuVerify(q.Get("signature"), a.payuKey, q.Get("merchantId"), q.Get("referenceCode"), v, q.Get("currency"), state) {
			verdict = "its signature verifies"
		}
		o.step(at, "", "The payer came back from PayU's response page",
			fmt.Sprintf("transactionState %s (%s), %s. The response page only informs the payer; the shop waits for the confirmation page (the callback) before it ships.", state, lap, verdict), 0)
	})
}

// callback is the shop's callback endpoint for each provider.
func (m *demo) callback(c echo.Context) error {
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, 1<<20))
	if err != nil {
		return c.String(http.StatusBadRequest, "could not read the body")
	}
	var status int
	var answer string
	switch c.Param("provider") {
	case "khipu":
		status, answer = m.khipuCallback(c.Request(), body)
	case "hambit":
		status, answer = m.hambitCallback(c.Request(), body)
	case "payu":
		status, answer = m.payuCallback(c.Request(), body)
	default:
		return c.String(http.StatusNotFound, "no callback endpoint for "+c.Param("provider"))
	}
	if strings.HasPrefix(answer, "{") {
		return c.Blob(status, echo.MIMEApplicationJSON, []byte(answer))
	}
	return c.String(status, answer)
}

// settle records a verified callback's verdict on the order.
func (m *demo) settle(orderID string, paid bool, title, detail string) error {
	at := m.s.clock.Now()
	found := m.update(orderID, func(o *demoOrder) {
		if o.State == orderPaid {
			o.step(at, "", title+" (again)", "The order is already paid: a repeated callback changes nothing.", 0)
			return
		}
		if paid {
			o.State, o.Note = orderPaid, ""
			o.step(at, "ok", title, detail, 0)
			return
		}
		o.State, o.Note = orderFailed, detail
		o.step(at, "bad", title, detail, 0)
	})
	if !found {
		return errors.New("unknown order " + orderID)
	}
	return nil
}

// arrived records the receipt of a callback.
func (m *demo) arrived(orderID string, r *http.Request, body []byte, title, detail string, entry uint64, links ...demoRef) {
	at := m.s.clock.Now()
	rc := &receivedCallback{body: string(body), headers: r.Header.Clone()}
	m.update(orderID, func(o *demoOrder) {
		o.step(at, "", title, detail, entry, links...)
		o.Steps[len(o.Steps)-1].received = rc
	})
}

// note records a callback step that does not settle the order.
func (m *demo) note(orderID, tone, title, detail string, entry uint64, links ...demoRef) {
	at := m.s.clock.Now()
	m.update(orderID, func(o *demoOrder) { o.step(at, tone, title, detail, entry, links...) })
}
