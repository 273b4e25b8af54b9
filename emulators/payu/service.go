package payu

import (
	"fmt"
	"html/template"
	"io/fs"
	"sync"
	"time"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/admin"
	"github.com/paysandbox/sandbox/emulators/internal/clock"
	"github.com/paysandbox/sandbox/emulators/internal/platform"
	"github.com/paysandbox/sandbox/emulators/internal/store"
	"github.com/paysandbox/sandbox/web"
)

const provider = "payu"

// Service is the PayU Latam emulator. It implements admin.Provider and
// emulators.TransferListener.
type Service struct {
	cfg       Config
	deps      platform.Deps
	transfers emulators.BankTransfers
	merchants []Merchant
	grp       *clock.Group
	pages     *template.Template
	static    fs.FS

	// mu serialises state changes that touch an order and its
	// transactions together. It is never held while calling the Khipu
	// emulator or the dispatcher.
	mu     sync.Mutex
	nextID int64
	orders *store.Table[int64, Order]
	txs    *store.Table[string, Transaction]
	tokens *store.Table[string, string] // token_ws → transactionId
	refs   refIndex                     // (merchant, referenceCode) → order ids
}

var (
	_ admin.Provider             = (*Service)(nil)
	_ emulators.TransferListener = (*Service)(nil)
)

// New builds the emulator from its configuration section. transfers is the
// Khipu emulator (paymentMethod KHIPU pays through it); nil makes KHIPU
// payments fail with a code ERROR answer.
func New(cfg Config, deps platform.Deps, transfers emulators.BankTransfers) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Service{
		cfg: cfg, deps: deps, transfers: transfers, merchants: cfg.merchants(),
		grp:    deps.Clock.NewGroup(),
		nextID: cfg.IDs.OrderIDStart,
		orders: store.New[int64, Order](cloneOrder),
		txs:    store.New[string, Transaction](cloneTx),
		tokens: store.New[string, string](nil),
	}
	if n := deps.MaxObjects; n > 0 {
		// Forgetting an order forgets its transactions and WebPay tokens.
		s.orders.SetLimit(n, func(_ int64, o Order) {
			s.refs.remove(&o)
			for _, id := range o.TxIDs {
				if t, ok := s.txs.Get(id); ok && t.Token != "" {
					s.tokens.Delete(t.Token)
				}
				s.txs.Delete(id)
			}
		})
	}
	pages, err := web.Pages(deps.Web, provider, pageFuncs)
	if err != nil {
		return nil, fmt.Errorf("pages: %w", err)
	}
	s.pages = pages
	if s.static, err = web.Static(deps.Web, provider); err != nil {
		return nil, fmt.Errorf("static files: %w", err)
	}
	return s, nil
}

// Close stops the emulator's timers.
func (s *Service) Close() { s.grp.StopAll() }

// now is the sandbox clock.
func (s *Service) now() time.Time { return s.deps.Clock.Now() }

// merchantByCredentials finds the merchant of an apiLogin/apiKey pair.
func (s *Service) merchantByCredentials(login, key string) (Merchant, bool) {
	for _, m := range s.merchants {
		if m.APILogin == login && m.APIKey == key {
			return m, true
		}
	}
	return Merchant{}, false
}

func (s *Service) merchantByID(id int64) (Merchant, bool) {
	for _, m := range s.merchants {
		if m.MerchantID == id {
			return m, true
		}
	}
	return Merchant{}, false
}

func (s *Service) account(merchantID, accountID int64) (Account, bool) {
	m, ok := s.merchantByID(merchantID)
	if !ok {
		return Account{}, false
	}
	for _, a := range m.Accounts {
		if a.AccountID == accountID {
			return a, true
		}
	}
	return Account{}, false
}

func (s *Service) signatureMode(m Merchant) string {
	if m.SignatureMode != "" {
		return m.SignatureMode
	}
	return s.cfg.SignatureMode
}

// newOrderID returns the next order id (strictly increasing, never reused).
func (s *Service) newOrderID() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextID
	s.nextID++
	return id
}

// authCode is 6 random digits.
func (s *Service) authCode() string { return s.deps.Random.String(6, "0123456789") }

// directToken is a TRANSBANK_DIRECT_TOKEN: 01ab + 60 lower-case hex.
func (s *Service) directToken() string { return "01ab" + s.deps.Random.Hex(60) }
