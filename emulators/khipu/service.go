package khipu

import (
	"cmp"
	"context"
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
	"github.com/paysandbox/sandbox/scenarios"
	"github.com/paysandbox/sandbox/web"
)

const provider = "khipu"

// defaultExpiry is how long a payment stays payable when the merchant gives
// no expires_date (§6.2: observed 24 h).
const defaultExpiry = 24 * time.Hour

// defaultAutoDelay is the robot payer's default delay (docs/design.md, Scenario vocabulary).
const defaultAutoDelay = 2 * time.Second

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
		s.payments.t.SetLimit(n, func(_ paymentKey, sp storedPayment) { s.tokens.Delete(sp.token()) })
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
}

// createPayment stores a new pending payment (§6.2), decides its pay plan
// and schedules its expiry and robot payer.
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
		plan := s.deps.Scenarios.DecideFunc(np.scenario, provider, PointPay, func() scenarios.Attrs { return attrs(&p, np.api) })
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
	id := p.ID
	s.expiries.add(id, p.ExpiresAt)
	if p.Pay.Auto {
		d := p.Pay.delayOr(defaultAutoDelay)
		s.deps.Record(journal.KindNote, provider, fmt.Sprintf("payment %s: robot payer (%s) acts in %v", id, p.Pay.outcomeOr("approve"), d),
			map[string]string{"scenario": p.Pay.Scenario, "rule": p.Pay.Rule}, id)
		s.grp.Wait(d, func() { s.robotPay(id) }).Describe(clock.Label{Provider: provider, Object: id, Kind: "robot_payer",
			Rule: p.Pay.Scenario + " " + p.Pay.Rule, Detail: "robot payer: " + p.Pay.outcomeOr("approve")})
	}
	return p
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

// errNoPayment is returned by mutate for an unknown id.
var errNoPayment = errors.New("no such payment")

// mutate changes one payment atomically and journals its state change.
// f sees the stored payment; an error from f leaves it unchanged.
func (s *Service) mutate(id, cause string, f func(p *Payment, now time.Time) error) (Payment, error) {
	now := s.now()
	var from, to, note string
	p, err := s.payments.Update(id, func(p *Payment) error {
		before := p.state()
		if err := f(p, now); err != nil {
			return err
		}
		p.UpdatedAt = now
		if after := p.state(); after != before {
			from, to = before, after
			p.History = append(p.History, admin.Change{Time: now, From: before, To: after, Cause: cause})
			note = p.ID
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return p, errNoPayment
	}
	if err == nil && note != "" {
		s.deps.Transition(provider, "payment", id, from, to, cause)
	}
	return p, err
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

// stateConflict is an operation refused in the payment's state (admin,
// pages and PayU); the message names the state.
func stateConflict(p *Payment, what string) *emulators.Error {
	msg := fmt.Sprintf("payment %s is %s: %s", p.ID, p.state(), what)
	return &emulators.Error{Kind: emulators.Conflict, Msg: msg, Detail: msg}
}

// startTransfer records a transfer on a pending payment: pending →
// verifying, then done after the verification delay (or held when
// uncertain, §11.2). allowExpired lets an admin pay an expired payment.
func (s *Service) startTransfer(id string, tr transfer, cause string, allowExpired bool) (Payment, error) {
	opCode := s.deps.Random.String(10, random.UpperAlnum)
	p, err := s.mutate(id, cause, func(p *Payment, now time.Time) error {
		switch {
		case p.Deleted || p.Status != statusPending:
			return stateConflict(p, "only a pending payment can be paid")
		case p.expired(now) && !allowExpired:
			return stateConflict(p, "its expires_date "+formatTime(p.ExpiresAt)+" has passed (admin: pass allow_expired)")
		}
		p.Status, p.StatusDetail = statusVerifying, detailPending
		p.Bank, p.BankID = tr.bank.Name, tr.bank.BankID
		p.PersonalIdentifier = tr.rut.String()
		p.PayerName = p.GivenPayerName
		if tr.bank.Test {
			p.PayerName = developerPayerName(p.ReceiverID)
		}
		if tr.email != "" {
			p.PayerEmail = tr.email
		}
		acct := tr.account
		if acct == "" {
			acct = tr.rut.account(1)
		}
		p.BankAccountNumber = acct
		if tr.manual {
			p.PaymentMethod, p.FundsSource = methodRegular, ""
		} else {
			p.PaymentMethod, p.FundsSource = methodSimplified, fundsNotAvailable
			p.OperationCode = opCode
		}
		p.Uncertain = tr.uncertain
		p.VerifySeq++
		return nil
	})
	if err != nil {
		return p, err
	}
	s.scheduleVerification(p, tr, 0)
	return p, nil
}

// scheduleVerification consults the verify point (§14) and schedules the
// end of Khipu's verification of p, elapsed of which already went by (a
// verification resumed after a restart; 0 otherwise).
func (s *Service) scheduleVerification(p Payment, tr transfer, elapsed time.Duration) {
	plan := s.deps.Scenarios.DecideFunc(p.Scenario, provider, PointVerify, func() scenarios.Attrs { return attrs(&p, p.API) })
	id, seq := p.ID, p.VerifySeq
	data := map[string]string{"scenario": plan.Scenario, "rule": plan.Rule}
	if tr.uncertain {
		u, ok := scenarios.Param[ScenarioUncertain](plan, "uncertain")
		if !ok || u.Hold {
			s.deps.Record(journal.KindNote, provider, "payment "+id+": uncertain bank answer, held in verifying until an admin pay action", data, id)
			return
		}
		s.grp.Wait(max(u.Delay-elapsed, 0), func() {
			if u.Outcome == "done" {
				s.settle(id, seq, journal.CauseScenario)
			} else {
				s.revertTransfer(id, seq, journal.CauseScenario, "uncertain transfer resolved as failed")
			}
		}).Describe(clock.Label{Provider: provider, Object: id, Kind: "verification", Rule: plan.Label(),
			Detail: "uncertain bank answer resolved as " + u.Outcome})
		return
	}
	key, d := "simplified_delay", s.cfg.Verify.SimplifiedDelay
	if tr.manual {
		key, d = "manual_delay", s.cfg.Verify.ManualDelay
	}
	if v, ok := scenarios.Param[time.Duration](plan, key); ok {
		d = v
	}
	s.grp.Wait(max(d-elapsed, 0), func() { s.settle(id, seq, journal.CauseTimer) }).Describe(clock.Label{Provider: provider, Object: id, Kind: "verification",
		Rule: plan.Label(), Detail: "Khipu's verification ends (" + key + ")"})
}

// endVerification ends the verification of a verifying payment with end
// and reports whether it did. seq is the verification a timer was set for:
// once that one is no longer current (settled, reverted, deleted), the
// timer finds nothing to do (false, no error). seq 0 ends whatever
// verification is current (admin actions); refused, it is a conflict.
func (s *Service) endVerification(id string, seq int, cause, refusal string, end func(p *Payment, now time.Time)) (Payment, bool, error) {
	p, err := s.mutate(id, cause, func(p *Payment, now time.Time) error {
		if p.Deleted || p.Status != statusVerifying || (seq != 0 && p.VerifySeq != seq) {
			return stateConflict(p, refusal)
		}
		end(p, now)
		p.VerifySeq++
		return nil
	})
	if err != nil && seq != 0 && !errors.Is(err, errNoPayment) {
		return p, false, nil // a stale verification timer
	}
	return p, err == nil, err
}

// settle ends a verification: verifying → done/normal (§11.2). seq as for
// endVerification.
func (s *Service) settle(id string, seq int, cause string) (Payment, error) {
	p, ended, err := s.endVerification(id, seq, cause, "only a verifying payment can be settled", func(p *Payment, now time.Time) {
		p.Status, p.StatusDetail = statusDone, detailNormal
		p.ConciliatedAt = now
		p.Uncertain = false
	})
	if ended {
		s.announceDone(p)
	}
	return p, err
}

// revertTransfer returns a verifying payment to pending and forgets the
// transfer (an uncertain transfer resolved as failed, admin pay bank_error).
func (s *Service) revertTransfer(id string, seq int, cause, why string) (Payment, error) {
	p, ended, err := s.endVerification(id, seq, cause, "only a verifying payment can return to pending", func(p *Payment, _ time.Time) {
		p.Status, p.StatusDetail = statusPending, detailPending
		p.clearPayer()
	})
	if !ended {
		return p, err
	}
	s.deps.Record(journal.KindNote, provider, "payment "+id+": "+why+"; pending again", nil, id)
	if p.expired(s.now()) {
		s.onExpiry(id, cause)
	}
	return p, nil
}

// markPaid is the admin action mark_paid (§15).
func (s *Service) markPaid(id string) (Payment, error) {
	p, err := s.mutate(id, journal.CauseAdmin, func(p *Payment, now time.Time) error {
		if p.Deleted || (p.Status != statusPending && p.Status != statusVerifying) {
			return stateConflict(p, "mark_paid needs a pending or verifying payment")
		}
		p.Status, p.StatusDetail = statusDone, detailMarkedPaid
		p.PaymentMethod, p.FundsSource = methodNotAvailable, fundsNotAvailable
		p.ConciliatedAt = now
		p.Uncertain = false
		p.VerifySeq++
		return nil
	})
	if err != nil {
		return p, err
	}
	s.announceDone(p)
	return p, nil
}

// announceDone tells the merchant a payment is done: a notification, or
// PayU's listener for an internal payment (§13, §13.4).
func (s *Service) announceDone(p Payment) {
	if p.Internal {
		s.tellListener(p, "done")
		return
	}
	s.notify(p)
}

// onExpiry handles a payment reaching its expires_date (a deadline): a
// pending payment's expiry is journaled once and reported to PayU for an
// internal payment; a verifying one still settles later (§11.1).
func (s *Service) onExpiry(id, cause string) {
	var fire bool
	p, err := s.payments.Update(id, func(p *Payment) error {
		fire = !p.Deleted && !p.ExpiryHandled && p.expired(s.now())
		if fire {
			p.ExpiryHandled = true
			p.History = append(p.History, admin.Change{Time: s.now(), From: statusPending, To: p.state(), Cause: cause,
				Note: "expires_date reached: the payer meets an expired payment; the API still says pending"})
		}
		return nil
	})
	if err != nil || !fire {
		return
	}
	s.deps.Record(journal.KindTimer, provider, "payment "+id+" expired (expires_date "+formatTime(p.ExpiresAt)+"); it stays pending and can no longer be paid",
		map[string]string{"expires_date": formatTime(p.ExpiresAt), "cause": cause}, id)
	if p.Internal {
		s.tellListener(p, "expired")
	}
}

// tellListener reports an internal payment's end to PayU, with no lock held.
func (s *Service) tellListener(p Payment, outcome string) {
	s.mu.RLock()
	l := s.listener
	s.mu.RUnlock()
	data := map[string]string{"payment_id": p.ID, "reference": p.Reference, "outcome": outcome}
	if l == nil {
		s.deps.Record(journal.KindHook, provider, "TransferSettled("+outcome+") for payment "+p.ID+" not delivered: no listener registered", data, p.ID)
		return
	}
	s.deps.Record(journal.KindHook, provider, "TransferSettled("+outcome+") for payment "+p.ID, data, p.ID)
	l.TransferSettled(context.Background(), emulators.TransferEvent{PaymentID: p.ID, Reference: p.Reference, Outcome: outcome, At: s.now()})
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

// expire is the admin action expire (§15): expires_date := now.
func (s *Service) expire(id, cause string) (Payment, error) {
	p, err := s.mutate(id, cause, func(p *Payment, now time.Time) error {
		if p.Deleted || (p.Status != statusPending && p.Status != statusVerifying) {
			return stateConflict(p, "expire needs a pending or verifying payment")
		}
		if p.ExpiryHandled || (p.Status == statusPending && !now.Before(p.ExpiresAt)) {
			return stateConflict(p, "it already expired at "+formatTime(p.ExpiresAt))
		}
		p.ExpiresAt = now
		return nil
	})
	if err != nil {
		return p, err
	}
	s.onExpiry(id, cause)
	p, _ = s.payments.Get(id)
	return p, nil
}

// deletePayment is DELETE /payments/{id} (§6.4): only pending payments.
func (s *Service) deletePayment(id, cause string) (Payment, error) {
	return s.mutate(id, cause, func(p *Payment, now time.Time) error {
		if p.Deleted || p.Status != statusPending {
			return stateError("S1", msgS1, fmt.Sprintf("payment %s is %s; only pending payments can be deleted (§6.4)", p.ID, p.state()))
		}
		p.Deleted = true
		p.VerifySeq++
		return nil
	})
}
