package hambit

import (
	"fmt"
	"html/template"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/admin"
	"github.com/paysandbox/sandbox/emulators/internal/clock"
	"github.com/paysandbox/sandbox/emulators/internal/platform"
	"github.com/paysandbox/sandbox/emulators/internal/store"
	"github.com/paysandbox/sandbox/web"
)

// provider is the name of this emulator in paths, journal and admin API.
const provider = "hambit"

// Service is the Hambit emulator.
type Service struct {
	cfg  Config
	deps platform.Deps
	grp  *clock.Group

	accounts  map[string]*account // by access key
	keys      []string            // access keys in configuration order
	countries map[string]Country  // by segment
	banks     map[string][]Bank   // by currency
	node      string
	seq       sequence
	nonces    *nonceCache
	started   time.Time

	orders *store.Table[string, order]

	mu         sync.Mutex
	byCashier  map[string]string // cashierId → orderId
	byExternal map[string]string // kind|merchantId|externalOrderId → orderId

	balMu    sync.Mutex
	balances map[string]map[string]*balance // access key → currency → figures
	// balanceSaved, when set (persistence on), is told the access key of
	// every balance change, after balMu is released (persist.go).
	balanceSaved func(accessKey string)

	pages  *template.Template
	static fs.FS

	// wallNow is real time, for the signature timestamp window (spec §5.3):
	// never the sandbox clock.
	wallNow func() time.Time
}

// balance are an account's figures in one currency.
type balance struct {
	Available   emulators.Decimal
	Frozen      emulators.Decimal
	WaitSettled emulators.Decimal
}

// New builds the emulator from its configuration section.
func New(cfg Config, deps platform.Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Service{
		cfg: cfg, deps: deps, grp: deps.Clock.NewGroup(),
		accounts: map[string]*account{}, countries: map[string]Country{}, banks: map[string][]Bank{},
		node: nodeTag(cfg.NodeTag), nonces: newNonceCache(maxNonces),
		orders:    store.New[string, order](cloneOrder),
		byCashier: map[string]string{}, byExternal: map[string]string{},
		wallNow: time.Now, started: deps.Clock.Now(),
	}
	s.seq.next = cfg.SequenceStart
	if n := deps.MaxObjects; n > 0 {
		// Orders are only inserted with s.mu held, so the eviction callback
		// (run inside that insert) cleans the indexes without locking.
		s.orders.SetLimit(n, func(id string, o order) {
			if s.byCashier[o.CashierID] == id {
				delete(s.byCashier, o.CashierID)
			}
			key := externalKey(o.Kind, o.MerchantID, o.ExternalOrderID)
			if s.byExternal[key] == id {
				delete(s.byExternal, key)
			}
		})
	}
	for _, a := range cfg.effectiveAccounts() {
		s.accounts[a.AccessKey] = newAccount(a)
		s.keys = append(s.keys, a.AccessKey)
	}
	for _, c := range cfg.Countries {
		s.countries[c.Segment] = c
	}
	for cur, list := range cfg.Banks {
		s.banks[cur] = append([]Bank(nil), list...)
	}
	s.resetBalances()
	pages, err := web.Pages(deps.Web, provider, template.FuncMap{})
	if err != nil {
		return nil, fmt.Errorf("cashier templates: %w", err)
	}
	s.pages = pages
	if s.static, err = web.Static(deps.Web, provider); err != nil {
		return nil, fmt.Errorf("cashier assets: %w", err)
	}
	return s, nil
}

// resetBalances sets every account's balances to the configured ones.
func (s *Service) resetBalances() {
	s.balMu.Lock()
	s.balances = map[string]map[string]*balance{}
	for key, a := range s.accounts {
		m := map[string]*balance{}
		for cur, v := range a.Balances {
			m[cur] = &balance{Available: v}
		}
		s.balances[key] = m
	}
	saved := s.balanceSaved
	s.balMu.Unlock()
	if saved != nil {
		for _, key := range s.keys {
			saved(key)
		}
	}
}

// balanceOf returns a copy of an account's figures in a currency.
func (s *Service) balanceOf(key, currency string) balance {
	s.balMu.Lock()
	defer s.balMu.Unlock()
	if b := s.balances[key][currency]; b != nil {
		return *b
	}
	return balance{}
}

// changeBalance applies f to an account's figures in a currency, atomically;
// f returns false to leave them unchanged.
func (s *Service) changeBalance(key, currency string, f func(b *balance) bool) bool {
	changed, saved := s.changeBalanceLocked(key, currency, f)
	if changed && saved != nil {
		saved(key)
	}
	return changed
}

func (s *Service) changeBalanceLocked(key, currency string, f func(b *balance) bool) (bool, func(string)) {
	s.balMu.Lock()
	defer s.balMu.Unlock()
	m := s.balances[key]
	if m == nil {
		m = map[string]*balance{}
		s.balances[key] = m
	}
	b := m[currency]
	if b == nil {
		b = &balance{}
	}
	cp := *b
	if !f(&cp) {
		return false, nil
	}
	m[currency] = &cp
	return true, s.balanceSaved
}

// now is the sandbox clock.
func (s *Service) now() time.Time { return s.deps.Clock.Now() }

// Name implements admin.Provider.
func (s *Service) Name() string { return provider }

// Reset implements admin.Provider: orders, timers, nonces and balances go
// back to the start (the id sequence keeps counting, so ids stay unique).
func (s *Service) Reset() {
	s.grp.StopAll()
	s.orders.Clear()
	s.mu.Lock()
	s.byCashier = map[string]string{}
	s.byExternal = map[string]string{}
	s.mu.Unlock()
	s.nonces.clear()
	s.resetBalances()
}

// Close stops the emulator's timers.
func (s *Service) Close() { s.grp.StopAll() }

// Describe implements admin.Provider.
func (s *Service) Describe(linkBase string) admin.Description {
	d := admin.Description{Provider: provider, Title: "Hambit", BaseURLs: []admin.Link{
		{Name: "API (prefixed)", URL: linkBase + "/hambit"},
		{Name: "Chile collections", URL: linkBase + "/hambit/api/v3/chl/createCollectingOrder"},
	}}
	for _, h := range s.cfg.Hosts {
		d.BaseURLs = append(d.BaseURLs, admin.Link{Name: "host-routed (point " + h + " at the sandbox)", URL: "http://" + h})
	}
	for _, k := range s.keys {
		a := s.accounts[k]
		wl := "any IP"
		if !a.anyIP {
			wl = fmt.Sprint(a.IPWhitelist)
		}
		d.Credentials = append(d.Credentials, admin.Credential{Account: a.merchantName, Fields: []admin.Field{
			{Name: "access_key", Value: a.AccessKey},
			{Name: "secret_key", Value: a.SecretKey},
			{Name: "merchant_id", Value: itoa(a.merchantID)},
			{Name: "permissions", Value: a.permissionList()},
			{Name: "ip_whitelist", Value: wl},
		}})
	}
	segs := make([]string, len(s.cfg.Countries))
	for i, ct := range s.cfg.Countries {
		segs[i] = ct.Segment + " (" + ct.Currency + ")"
	}
	d.Notes = []string{
		"Requests carry the headers access_key, timestamp (13-digit ms), nonce (UUID) and sign (Base64 HMAC-SHA1); `sandbox sign hambit` shows the string to sign.",
		"Country segments: " + strings.Join(segs, ", ") + ".",
	}
	return d
}
