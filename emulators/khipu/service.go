package khipu

import (
	"cmp"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/admin"
	"github.com/paysandbox/sandbox/emulators/internal/clock"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/platform"
	"github.com/paysandbox/sandbox/emulators/internal/random"
	"github.com/paysandbox/sandbox/emulators/internal/store"
	"github.com/paysandbox/sandbox/emulators/internal/then"
	"github.com/paysandbox/sandbox/scenarios"
	"github.com/paysandbox/sandbox/web"
)

const provider = "khipu"

// defaultExpiry is how long a payment stays payable when the merchant gives
// no expires_date (§6.2: observed 24 h).
const defaultExpiry = 24 * time.Hour

// defaultAutoDelay is the robot payer's default delay, the one all
// providers share (docs/design.md, Scenario vocabulary).
const defaultAutoDelay = then.DefaultRobotDelay

// Service is the Khipu emulator: API 2.0 and 3.0 over one payment store,
// the DemoBank payer pages, notifications 1.3 and 3.0, and the
// bank-transfer interface PayU pays through. It is safe for concurrent use.
type Service struct {
	cfg   Config
	deps  platform.Deps
	grp   *clock.Group
	pages *template.Template
	// static holds web/static/khipu.
	static fs.FS

	banks     []Bank
	receivers map[int64]*receiver // configured; read-only after New
	// receiverIDs are the keys of receivers, ascending.
	receiverIDs []int64
	byAPIKey    map[string]*receiver

	mu       sync.RWMutex
	internal map[int64]*receiver // created for PayU on first use
	listener emulators.TransferListener

	payments paymentTable
	// lastLinkBase is the link base of the latest create (see linkBase).
	lastLinkBase atomic.Pointer[string]
	tokens       *tokenIndex // notification_token → payment id
	attempts     *store.Table[string, attempt]
	expiries     *expiries
	// openAPINoted is set once the journal has explained the amounts trap
	// to a generated client (noteGeneratedClient): once per instance.
	openAPINoted atomic.Bool
}

// New builds the emulator from its configuration section.
func New(cfg Config, deps platform.Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Random == nil {
		deps.Random = random.New(nil, provider)
	}
	if deps.Web == nil {
		deps.Web = web.FS()
	}
	s := &Service{
		cfg: cfg, deps: deps, grp: deps.Clock.NewGroup(),
		banks:     append([]Bank(nil), cfg.Banks...),
		receivers: map[int64]*receiver{}, byAPIKey: map[string]*receiver{},
		internal: map[int64]*receiver{},
		payments: newPaymentTable(),
		tokens:   newTokenIndex(),
		attempts: store.New[string, attempt](nil),
	}
	s.expiries = newExpiries(s.grp, func(id string) { s.onExpiry(id, journal.CauseTimer) })
	if n := deps.MaxObjects; n > 0 {
		s.payments.SetLimit(n, s.tokens.Delete)
		s.expiries.live, s.expiries.sweepAbove = s.payments.Has, n
		s.attempts.SetLimit(n, nil)
	}
	for _, r := range cfg.effectiveReceivers() {
		rc := newReceiver(r)
		s.receivers[rc.id] = rc
		s.byAPIKey[rc.apiKey] = rc
		s.receiverIDs = append(s.receiverIDs, rc.id)
	}
	slices.Sort(s.receiverIDs)
	pages, err := web.Pages(deps.Web, provider, pageFuncs)
	if err != nil {
		return nil, fmt.Errorf("payer page templates: %w", err)
	}
	s.pages = pages
	if s.static, err = web.Static(deps.Web, provider); err != nil {
		return nil, fmt.Errorf("payer page assets: %w", err)
	}
	return s, nil
}

// Close stops the emulator's timers.
func (s *Service) Close() { s.grp.StopAll() }

// SetTransferListener registers the listener (PayU) told when payments made
// through CreateTransfer end (§13.4).
func (s *Service) SetTransferListener(l emulators.TransferListener) {
	s.mu.Lock()
	s.listener = l
	s.mu.Unlock()
}

func (s *Service) now() time.Time { return s.deps.Clock.Now() }

// receiver returns a configured or internal receiver.
func (s *Service) receiver(id int64) *receiver {
	if r, ok := s.receivers[id]; ok {
		return r
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.internal[id]
}

// visibleBanks lists the banks a receiver may use, in configuration order.
func (s *Service) visibleBanks(r *receiver) []Bank {
	var out []Bank
	for _, b := range s.banks {
		if r.seesBank(b) {
			out = append(out, b)
		}
	}
	return out
}

func (s *Service) bank(id string) (Bank, bool) { return findBank(s.banks, id) }

// attrs are the scenario attributes of a payment (§14).
func attrs(p *Payment, api string) scenarios.Attrs {
	return scenarios.Attrs{
		"api": api, "receiver_id": strconv.FormatInt(p.ReceiverID, 10), "payment_id": p.ID,
		"amount": p.Amount.String(), "currency": p.Currency, "subject": p.Subject,
		"transaction_id": p.TransactionID, "bank_id": p.GivenBankID, "payer_email": p.GivenPayerEmail,
		"custom": p.Custom, "notify_api_version": p.NotifyAPIVersion,
	}
}

// newPayment describes a payment to create.
type newPayment struct {
	req       createRequest
	receiver  *receiver
	api       string // v2, v3, payu
	scenario  string
	linkBase  string
	cause     string
	internal  bool
	reference string
	// pay is the pay point's plan when the request decided it (payDecided),
	// with its create point; otherwise createPayment decides it.
	pay        scenarios.Plan
	payDecided bool
}

// createPayment stores a new pending payment (§6.2), decides its pay plan
// and schedules its expiry; handleCreate schedules its robot payer
// (scheduleRobot).
func (s *Service) createPayment(np newPayment) Payment {
	now := s.now()
	req := np.req
	p := Payment{
		paymentCore: paymentCore{
			ReceiverID: np.receiver.id, Internal: np.internal, Reference: np.reference, API: np.api,
			Scenario: np.scenario, LinkBase: np.linkBase, CreatedAt: now, UpdatedAt: now,
			Subject: req.Subject, Amount: req.Amount, Currency: req.Currency, TransactionID: req.TransactionID,
			NotifyURL: req.NotifyURL, ReturnURL: req.ReturnURL, CancelURL: req.CancelURL, NotifyAPIVersion: req.NotifyAPIVersion, ExpiresAt: req.ExpiresAt, SendEmail: req.SendEmail,
			SendReminders: req.SendReminders, Status: statusPending, StatusDetail: detailPending,
		},
		paymentOptions: req.paymentOptions,
		payerTransfer:  payerTransfer{BankID: req.GivenBankID, PayerName: req.GivenPayerName, PayerEmail: req.GivenPayerEmail},
	}
	if p.ExpiresAt.IsZero() {
		p.ExpiresAt = now.Add(defaultExpiry)
	}
	p.History = []admin.Change{{Time: now, From: "", To: statusPending, Cause: np.cause, Note: creationNote(np.api)}}
	if !np.internal {
		// Payer points are decided when the object is created (docs/design.md, Scenario vocabulary);
		// payments for PayU never consult pay (§13.4).
		plan := np.pay
		if !np.payDecided {
			plan = s.deps.Scenarios.DecideFunc(np.scenario, provider, PointPay, func() scenarios.Attrs { return attrs(&p, np.api) })
		}
		if plan.Matched {
			payer, _ := scenarios.Param[ScenarioPayer](plan, "payer")
			p.Pay = payPlan{Matched: true, Scenario: plan.Scenario, Rule: plan.Rule, Outcome: plan.Outcome,
				Delay: plan.Delay, Auto: plan.Auto, Payer: payer}
		}
	}
	for {
		p.ID = s.deps.Random.String(12, random.LowerAlnum)
		p.Token = s.deps.Random.Hex(64)
		if s.tokens.Has(p.Token) {
			continue
		}
		if err := s.payments.Insert(p); err == nil {
			s.tokens.Put(p.Token, p.ID)
			break
		}
	}
	s.deps.Transition(provider, "payment", p.ID, "", statusPending, np.cause)
	if p.SendEmail || p.SendReminders {
		s.deps.Record(journal.KindNote, provider, "payment "+p.ID+": email not sent (not emulated)",
			map[string]string{"send_email": strconv.FormatBool(p.SendEmail), "send_reminders": strconv.FormatBool(p.SendReminders)}, p.ID)
	}
	s.expiries.add(p.ID, p.ExpiresAt)
	return p
}

// robotWait journals the robot payer a payment's pay plan asks for (auto:
// true) and returns its wait; ok is false when the plan has none.
func (s *Service) robotWait(p Payment) (d time.Duration, ok bool) {
	if !p.Pay.Auto {
		return 0, false
	}
	d = p.Pay.delayOr(defaultAutoDelay)
	s.deps.Record(journal.KindNote, provider, fmt.Sprintf("payment %s: robot payer (%s) acts in %v", p.ID, p.Pay.outcomeOr("approve"), d),
		map[string]string{"scenario": p.Pay.Scenario, "rule": p.Pay.Rule}, p.ID)
	return d, true
}

func (pp payPlan) delayOr(d time.Duration) time.Duration {
	if pp.Delay != nil {
		return *pp.Delay
	}
	return d
}

func (pp payPlan) outcomeOr(o string) string {
	if pp.Outcome != "" {
		return pp.Outcome
	}
	return o
}

// lookup returns a payment visible to receiver r (deleted payments and
// other receivers' payments are invisible, §6.3).
func (s *Service) lookup(id string, r *receiver) (Payment, bool) {
	p, ok := s.payments.Get(id)
	if !ok || p.Deleted || p.ReceiverID != r.id {
		return Payment{}, false
	}
	return p, true
}

// transfer is a payer's transfer being recorded (§12.2, §12.3, admin pay).
type transfer struct {
	manual    bool
	bank      Bank
	rut       rut
	email     string // typed on the page ("" keeps the given payer_email)
	account   string // source account; default rut.account(1)
	uncertain bool
}

// robotPay is the robot payer of the pay point (auto: true, §14).
func (s *Service) robotPay(id string) {
	p, ok := s.payments.Get(id)
	if !ok {
		return
	}
	outcome := p.Pay.outcomeOr("approve")
	data := map[string]string{"scenario": p.Pay.Scenario, "rule": p.Pay.Rule, "outcome": outcome}
	if p.Deleted || p.Status != statusPending || p.expired(s.now()) {
		s.deps.Record(journal.KindNote, provider, "robot payer: nothing to do, payment "+id+" is "+p.state(), data, id)
		return
	}
	tr, err := s.robotTransfer(p, p.Pay.Payer)
	if err != nil {
		data["error"] = err.Error()
		s.deps.Record(journal.KindNote, provider, "robot payer cannot pay payment "+id+": "+err.Error(), data, id)
		return
	}
	s.payerOutcome(p, tr, outcome, journal.CauseScenario, "robot payer", false)
}

// payerOutcome applies what a payer's bank answered (§12.2 outcome table):
// approve and uncertain record the transfer; bank_error and abandon leave
// the payment pending (journal only).
func (s *Service) payerOutcome(p Payment, tr transfer, outcome, cause, who string, allowExpired bool) (Payment, error) {
	data := map[string]string{"outcome": outcome, "bank_id": tr.bank.BankID, "rut": tr.rut.String()}
	switch outcome {
	case "approve", "uncertain":
		tr.uncertain = outcome == "uncertain"
		np, err := s.startTransfer(p.ID, tr, cause, allowExpired)
		if err != nil {
			data["error"] = err.Error()
			s.deps.Record(journal.KindNote, provider, who+": transfer for payment "+p.ID+" refused: "+emulators.DetailOf(err), data, p.ID)
			return np, err
		}
		s.deps.Record(journal.KindNote, provider, who+": "+outcome+" transfer at "+tr.bank.Name+" for payment "+p.ID, data, p.ID)
		return np, nil
	case "bank_error":
		s.deps.Record(journal.KindNote, provider, who+": "+tr.bank.Name+" reported a bank error for payment "+p.ID+"; it stays pending", data, p.ID)
	default: // abandon
		s.deps.Record(journal.KindNote, provider, who+": abandoned payment "+p.ID+"; it stays pending", data, p.ID)
	}
	return p, nil
}

// defaultRUT is the robot payer's and the manual page's default RUT.
const defaultRUT = "11.111.111-1"

// robotTransfer builds the robot payer's transfer from the scenario's payer
// details and the payment (§14 pay: payer).
func (s *Service) robotTransfer(p Payment, payer ScenarioPayer) (transfer, error) {
	r := s.receiver(p.ReceiverID)
	if r == nil {
		return transfer{}, fmt.Errorf("unknown receiver %d", p.ReceiverID)
	}
	bankID := cmp.Or(payer.BankID, p.GivenBankID)
	var bank Bank
	if bankID != "" {
		b, ok := s.bank(bankID)
		if !ok || !r.seesBank(b) {
			return transfer{}, fmt.Errorf("bank %q is unknown or not visible to receiver %d", bankID, r.id)
		}
		bank = b
	} else {
		found := false
		for _, b := range s.visibleBanks(r) {
			if !b.belowMinimum(p.Amount, p.Currency) {
				bank, found = b, true
				break
			}
		}
		if !found {
			return transfer{}, errors.New("no visible bank accepts the amount")
		}
	}
	rutText := payer.RUT
	if rutText == "" {
		rutText = defaultRUT
		if p.FixedPayerPersonalIdentifier != "" {
			rutText = p.FixedPayerPersonalIdentifier
		}
	}
	rt, err := parseRUT(rutText)
	if err != nil {
		return transfer{}, fmt.Errorf("RUT %q is not valid", rutText)
	}
	email := cmp.Or(payer.Email, p.GivenPayerEmail)
	if email == "" {
		email = "pagador@example.com"
	}
	return transfer{manual: payer.Method == "manual", bank: bank, rut: rt, email: email}, nil
}
