package hambit

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/admin"
	"github.com/paysandbox/sandbox/emulators/internal/clock"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/then"
	"github.com/paysandbox/sandbox/scenarios"
)

// Callback events (the `event` attribute of the callback point).
const (
	eventCollectionPaid     = "collection_paid"
	eventCollectionFailed   = "collection_failed"
	eventTransferProcessing = "transfer_processing"
	eventTransferRejected   = "transfer_rejected"
	eventTransferSucceeded  = "transfer_succeeded"
	eventTransferFailed     = "transfer_failed"
)

// record appends a state change to the order's history.
func record(o *order, now time.Time, from, to, cause, note string) {
	o.History = append(o.History, admin.Change{Time: now, From: from, To: to, Cause: cause, Note: note})
	o.Updated = now
}

// conflict is the admin/page refusal naming the current state.
func conflict(o *order, action, need string) error {
	return &emulators.Error{Kind: emulators.Conflict,
		Msg: fmt.Sprintf("%s %s is in status %s; %s needs %s", o.Kind, o.OrderID, o.statusLabel(), action, need)}
}

// insertOrder stores a new order unless its externalOrderId is already
// used by the merchant for that kind of order (spec §6.2, §6.3: 300). With
// s.mu held, assign gives the order its ids (and takes any other step that
// must not happen for a duplicate) at the creation instant and returns the
// note of the creation in the order's history.
func (s *Service) insertOrder(o *order, assign func(o *order, now time.Time) string) error {
	key := externalKey(o.Kind, o.MerchantID, o.ExternalOrderID)
	s.mu.Lock()
	defer s.mu.Unlock()
	if existing, dup := s.byExternal[key]; dup {
		return duplicateError(o.Kind, o.ExternalOrderID, existing)
	}
	now := s.now().Truncate(time.Millisecond)
	o.Created, o.Updated = now, now
	note := assign(o, now)
	record(o, now, "", o.statusLabel(), journal.CauseRequest, note)
	s.byExternal[key] = o.OrderID
	if o.CashierID != "" {
		s.byCashier[o.CashierID] = o.OrderID
	}
	s.orders.Put(o.OrderID, *o)
	return nil
}

// debit takes total from the available balance when it covers it, moving
// it to frozen when freeze is set (a payout's reservation, spec §7.4).
func debit(total emulators.Decimal, freeze bool) func(b *balance) bool {
	return func(b *balance) bool {
		if b.Available.Cmp(total) < 0 {
			return false
		}
		b.Available = b.Available.Sub(total).Normalize()
		if freeze {
			b.Frozen = b.Frozen.Add(total).Normalize()
		}
		return true
	}
}

// createCollection stores a new collection order (spec §6.2, §8) with its
// pay plan; handleCreateCollection schedules its robot payer.
func (s *Service) createCollection(r *apiRequest, req collectionRequest, attrs func() scenarios.Attrs) (order, error) {
	acct := r.account
	payType, payName := payTypeFor(r.country.Currency, req.channelType)
	o := order{
		Kind: kindCollection, AccessKey: acct.AccessKey, MerchantID: acct.merchantID, Merchant: acct.merchantName,
		Country: r.country.Segment, Currency: r.country.Currency, Scenario: r.scenario, LinkBase: r.linkBase,
		ExternalOrderID: req.externalOrderID, Amount: req.amount, Status: statusPending,
		PayType: payType, PayTypeName: payName, ChannelType: req.channelType,
		Remark: req.remark, NotifyURL: req.notifyURL, ReturnURL: req.returnURL,
		UserInfoType: req.userInfoType, CustomerType: req.customerType, UserInfoNo: req.userInfoNo,
	}
	plan := s.deps.Scenarios.DecideFunc(r.scenario, provider, PointPay, attrs)
	if plan.Matched {
		o.PayPlan = payPlan{Matched: true, Rule: plan.Rule, Auto: plan.Auto, Outcome: plan.Outcome,
			Delay: then.RobotDelay(plan)}
		if plan.Auto && o.PayPlan.Outcome == "" {
			o.PayPlan.Outcome = payPay
		}
		if a, ok := scenarios.Param[ScenarioPayAmount](plan, "amount"); ok {
			o.PayPlan.Amount = string(a)
		}
		if m, ok := scenarios.Param[string](plan, "error_msg"); ok {
			o.PayPlan.ErrorMsg = m
		}
	}
	err := s.insertOrder(&o, func(o *order, now time.Time) string {
		seq := s.seq.take(2)
		o.CashierID = orderID("PAID", now, s.node, idKindCashier, seq[0])
		o.OrderID = orderID("PAID", now, s.node, idKindOrder, seq[1])
		o.Seq = seq[1]
		o.ChannelOrderID = channelOrderID(now, seq[1])
		o.ExpiresAt = now.Add(cashierLifetime)
		return ""
	})
	if err != nil {
		return order{}, err
	}
	s.deps.Transition(provider, kindCollection, o.OrderID, "new", o.statusLabel(), journal.CauseRequest, o.CashierID)
	id := o.OrderID
	s.grp.At(o.ExpiresAt, func() { s.expireOnTimer(id) }).Describe(clock.Label{Provider: provider, Object: id, Kind: "expiry",
		Detail: "the cashier expires"})
	return o, nil
}

// robotPayer applies a collection's auto pay plan (spec §11).
func (s *Service) robotPayer(id string) {
	o, found := s.orders.Get(id)
	if !found || o.Status != statusPending {
		return
	}
	s.deps.Record(journal.KindTimer, provider, "robot payer: "+o.PayPlan.Outcome+" ("+o.PayPlan.Rule+")", nil, id)
	var err error
	switch o.PayPlan.Outcome {
	case payWait:
		return
	case payFail:
		_, err = s.failCollection(id, o.PayPlan.ErrorMsg, journal.CauseScenario, false)
	case payExpire:
		_, err = s.closeCashier(id, journal.CauseScenario)
	case payAmount:
		amt := s.planAmount(o)
		_, err = s.payCollection(id, &amt, journal.CauseScenario, false)
	default:
		_, err = s.payCollection(id, nil, journal.CauseScenario, false)
	}
	if err != nil {
		s.deps.Log.Debug("robot payer did nothing", "order", id, "err", err)
	}
}

// planAmount resolves the pay_amount of a plan: a decimal, or "<n>%" of the
// order amount rounded half-up to the currency (at least one unit).
func (s *Service) planAmount(o order) emulators.Decimal {
	spec := o.PayPlan.Amount
	places := currencyPlaces(o.Currency)
	if spec == "" {
		return o.Amount
	}
	if p, isPct := strings.CutSuffix(spec, "%"); isPct {
		pct, err := emulators.ParseDecimal(p)
		if err != nil {
			return o.Amount
		}
		v := o.Amount.Mul(pct).Mul(emulators.NewDecimal(1, 2)).Round(places, emulators.HalfUp).Normalize()
		if v.Sign() <= 0 {
			v = emulators.NewDecimal(1, places)
		}
		return v
	}
	d, err := emulators.ParseDecimal(spec)
	if err != nil || d.Sign() <= 0 {
		return o.Amount
	}
	return d.Round(places, emulators.HalfUp).Normalize()
}

// expireOnTimer closes the cashier when cashierExpireTime passes (spec §8).
func (s *Service) expireOnTimer(id string) {
	o, err := s.orders.Update(id, func(o *order) error {
		if o.Status != statusPending || o.Closed {
			return errors.New("nothing to expire")
		}
		o.Closed = true
		record(o, s.now(), o.statusLabel(), o.statusLabel(), journal.CauseTimer, "cashier expired")
		return nil
	})
	if err == nil {
		s.deps.Record(journal.KindTimer, provider, "cashier expired: collection "+id+" stays in status 1", nil, id, o.CashierID)
	}
}

// payable refuses action on a collection that is not in status 1 or, when
// open is set (the payer's page), whose cashier no longer takes payment.
func payable(o *order, action string, open bool, now time.Time) error {
	if o.Status != statusPending {
		return conflict(o, action, "status 1")
	}
	if open && !o.cashierOpen(now) {
		return &emulators.Error{Kind: emulators.Conflict, Msg: "the cashier of collection " + o.OrderID + " is closed (expired)"}
	}
	return nil
}

// payCollection moves a collection from 1 to 2 (spec §8). amount nil pays
// the full orderAmount. open requires the cashier to accept payment (the
// page); the admin may pay an expired cashier (a late bank transfer).
func (s *Service) payCollection(id string, amount *emulators.Decimal, cause string, open bool) (order, error) {
	o, err := s.orders.Update(id, func(o *order) error {
		now := s.now()
		if err := payable(o, "pay", open, now); err != nil {
			return err
		}
		acct := s.accounts[o.AccessKey]
		actual := o.Amount
		if amount != nil {
			actual = *amount
		}
		from := o.statusLabel()
		o.ActualAmount = actual.Normalize()
		o.Fee = acct.collectFee.fee(actual, currencyPlaces(o.Currency))
		o.Status = statusPaid
		o.PaidAt, o.DoneAt = now, now
		note := ""
		if !actual.Equal(o.Amount) {
			note = "paid " + money(actual) + " of " + money(o.Amount)
		}
		record(o, now, from, o.statusLabel(), cause, note)
		return nil
	})
	if err != nil {
		return o, err
	}
	entry := o.ActualAmount.Sub(o.Fee)
	s.changeBalance(o.AccessKey, o.Currency, func(b *balance) bool {
		b.Available = b.Available.Add(entry).Normalize()
		return true
	})
	s.deps.Transition(provider, kindCollection, o.OrderID, "1 Accepted", o.statusLabel(), cause, o.CashierID)
	s.notify(o, eventCollectionPaid)
	return o, nil
}

// failCollection moves a collection from 1 to 16 (spec §8).
func (s *Service) failCollection(id, msg, cause string, open bool) (order, error) {
	o, err := s.orders.Update(id, func(o *order) error {
		now := s.now()
		if err := payable(o, "fail", open, now); err != nil {
			return err
		}
		from := o.statusLabel()
		o.Status = statusFailed
		o.DoneAt = now
		o.ErrorMsg = errorMsgJSON(msg, msgPayFailed)
		record(o, now, from, o.statusLabel(), cause, o.ErrorMsg)
		return nil
	})
	if err != nil {
		return o, err
	}
	s.deps.Transition(provider, kindCollection, o.OrderID, "1 Accepted", o.statusLabel(), cause, o.CashierID)
	s.notify(o, eventCollectionFailed)
	return o, nil
}

// closeCashier lets a collection's cashier expire now; the status stays 1
// and no callback is sent (spec §8).
func (s *Service) closeCashier(id, cause string) (order, error) {
	o, err := s.orders.Update(id, func(o *order) error {
		now := s.now()
		if o.Status != statusPending {
			return conflict(o, "expire", "status 1")
		}
		if !o.cashierOpen(now) {
			return &emulators.Error{Kind: emulators.Conflict, Msg: "the cashier of collection " + o.OrderID + " is already closed (status 1, expired)"}
		}
		o.Closed = true
		record(o, now, o.statusLabel(), o.statusLabel(), cause, "cashier closed (let expire)")
		return nil
	})
	if err != nil {
		return o, err
	}
	s.deps.Record(journal.KindNote, provider, "cashier of collection "+id+" closed ("+cause+"); status stays 1, no callback", nil, id, o.CashierID)
	return o, nil
}

// createTransfer stores a new transfer, reserves its funds and schedules
// its lifecycle (spec §6.3, §9).
func (s *Service) createTransfer(r *apiRequest, req transferRequest, plan scenarios.Plan) (order, error) {
	acct := r.account
	o := order{
		Kind: kindTransfer, AccessKey: acct.AccessKey, MerchantID: acct.merchantID, Merchant: acct.merchantName,
		Country: r.country.Segment, Currency: r.country.Currency, Scenario: r.scenario, LinkBase: r.linkBase,
		ExternalOrderID: req.externalOrderID, Amount: req.amount.Normalize(), Status: statusPending,
		PayType: payTypeTransferBank, PayTypeName: "BANK", ChannelType: req.channelType,
		Remark: req.remark, NotifyURL: req.notifyURL,
		AccountNo: req.accountNo, UserInfoName: req.userInfoName, AccountType: req.accountType,
		UserInfoNo: req.userInfoNo, UserInfoKind: req.userInfoType, BankName: req.bankName, BankCode: req.bankCode,
	}
	o.Fee = acct.payoutFee.fee(o.Amount, currencyPlaces(o.Currency))
	o.ActualAmount = o.Amount.Add(o.Fee).Normalize()
	o.PayoutPlan = payoutPlan{Rule: plan.Rule, Outcome: plan.OutcomeOr(outcomeSuccess),
		ProcessingAfter: s.cfg.Payout.ProcessingAfter, FinalAfter: s.cfg.Payout.FinalAfter}
	if d, ok := scenarios.Param[time.Duration](plan, "processing_after"); ok {
		o.PayoutPlan.ProcessingAfter = d
	}
	if d, ok := scenarios.Param[time.Duration](plan, "final_after"); ok {
		o.PayoutPlan.FinalAfter = d
	}
	if b, ok := scenarios.Param[bool](plan, "notify_processing"); ok {
		o.PayoutPlan.NotifyProcessing = b
	}
	if m, ok := scenarios.Param[string](plan, "error_msg"); ok {
		o.PayoutPlan.ErrorMsg = m
	}
	err := s.insertOrder(&o, func(o *order, now time.Time) string {
		total := o.ActualAmount
		o.Reserved = s.changeBalance(acct.AccessKey, o.Currency, debit(total, true))
		o.Underfunded = !o.Reserved
		seq := s.seq.take(1)[0]
		o.OrderID = orderID("DRAW", now, s.node, idKindCashier, seq)
		o.Seq = seq
		if o.Underfunded {
			return "balance insufficient for " + money(total) + ": will end in status 4"
		}
		return "funds reserved: " + money(total)
	})
	if err != nil {
		return order{}, err
	}
	s.deps.Transition(provider, kindTransfer, o.OrderID, "new", o.statusLabel(), journal.CauseRequest)
	id := o.OrderID
	then.Schedule(s.grp, o.PayoutPlan.ProcessingAfter, clock.Label{Provider: provider, Object: id, Kind: "review",
		Rule: ruleLabel(o.Scenario, o.PayoutPlan.Rule), Detail: "the transfer moves to processing"}, func() { s.transferStep(id, statusPending) })
	return o, nil
}

// transferStep is the timer of the transfer lifecycle: it acts only when
// the order is still in the status it was scheduled for.
func (s *Service) transferStep(id string, from int) {
	o, found := s.orders.Get(id)
	if !found || o.Status != from {
		return
	}
	if from == statusProcessing && o.PayoutPlan.Outcome == outcomeStuck {
		return
	}
	s.deps.Record(journal.KindTimer, provider, fmt.Sprintf("transfer %s: step from status %d", id, from), nil, id)
	if _, err := s.advanceTransfer(id, journal.CauseTimer); err != nil {
		s.deps.Log.Debug("transfer step did nothing", "order", id, "err", err)
	}
}

// advanceTransfer takes the next step now: 1 → 2 (or 4 when underfunded),
// 2 → the planned outcome (success for a stuck plan).
func (s *Service) advanceTransfer(id, cause string) (order, error) {
	o, found := s.orders.Get(id)
	if !found {
		return o, emulators.Errorf(emulators.NotFound, "no hambit order %q", id)
	}
	switch o.Status {
	case statusPending:
		if o.Underfunded {
			return s.decideTransfer(id, outcomeBankRejection, msgInsufficient, cause)
		}
		return s.processTransfer(id, cause)
	case statusProcessing:
		outcome := o.PayoutPlan.Outcome
		if outcome == outcomeStuck || outcome == "" {
			outcome = outcomeSuccess
		}
		return s.decideTransfer(id, outcome, o.PayoutPlan.ErrorMsg, cause)
	}
	return o, conflict(&o, "advance", "status 1 or 2")
}

// processTransfer moves a funded transfer from 1 to 2 and schedules its end.
func (s *Service) processTransfer(id, cause string) (order, error) {
	o, err := s.orders.Update(id, func(o *order) error {
		if o.Status != statusPending || o.Underfunded {
			return conflict(o, "processing", "a funded transfer in status 1")
		}
		now := s.now()
		from := o.statusLabel()
		o.Status = statusProcessing
		o.ChannelOrderID = channelOrderID(now, o.Seq)
		record(o, now, from, o.statusLabel(), cause, "")
		return nil
	})
	if err != nil {
		return o, err
	}
	s.deps.Transition(provider, kindTransfer, id, "1 Accepted", o.statusLabel(), cause)
	if o.PayoutPlan.NotifyProcessing {
		s.notify(o, eventTransferProcessing)
	}
	if o.PayoutPlan.Outcome != outcomeStuck {
		then.Schedule(s.grp, o.PayoutPlan.FinalAfter, clock.Label{Provider: provider, Object: id, Kind: "review",
			Rule: ruleLabel(o.Scenario, o.PayoutPlan.Rule), Detail: "the transfer ends as " + o.PayoutPlan.Outcome}, func() { s.transferStep(id, statusProcessing) })
	}
	return o, nil
}

// decideTransfer puts a transfer in status 1 or 2 into its final status now,
// with its balance effects and callback (spec §9, admin decide).
func (s *Service) decideTransfer(id, outcome, msg, cause string) (order, error) {
	var final int
	var def string
	switch outcome {
	case outcomeSuccess:
		final = statusSuccess
	case outcomeBankRejection:
		final, def = statusRejected, msgRejected
	case outcomeFailed:
		final, def = statusFailed, msgTransferFail
	default:
		return order{}, emulators.Errorf(emulators.Invalid, "outcome %q: expected success, bank_rejection or failed", outcome)
	}
	var reservedBefore bool
	var total emulators.Decimal
	o, err := s.orders.Update(id, func(o *order) error {
		if o.Status != statusPending && o.Status != statusProcessing {
			return conflict(o, "decide", "status 1 or 2")
		}
		reservedBefore, total = o.Reserved, o.ActualAmount
		if final == statusSuccess && !o.Reserved {
			// An underfunded transfer can only succeed if the funds are there now.
			if !s.changeBalance(o.AccessKey, o.Currency, debit(total, false)) {
				return &emulators.Error{Kind: emulators.Conflict, Msg: fmt.Sprintf("transfer %s is in status %s and the balance cannot cover %s %s",
					o.OrderID, o.statusLabel(), money(total), o.Currency)}
			}
			o.Underfunded = false
		}
		now := s.now()
		from := o.statusLabel()
		o.Status = final
		o.DoneAt = now
		if final == statusSuccess {
			o.PaidAt = now
			o.ErrorMsg = ""
		} else if o.Underfunded {
			o.ErrorMsg = msgInsufficient
		} else {
			o.ErrorMsg = errorMsgJSON(msg, def)
		}
		if o.ChannelOrderID == "" && final == statusSuccess {
			o.ChannelOrderID = channelOrderID(now, o.Seq)
		}
		o.Reserved = false
		record(o, now, from, o.statusLabel(), cause, o.ErrorMsg)
		return nil
	})
	if err != nil {
		return o, err
	}
	if reservedBefore {
		s.changeBalance(o.AccessKey, o.Currency, func(b *balance) bool {
			b.Frozen = b.Frozen.Sub(total).Normalize()
			if final != statusSuccess {
				b.Available = b.Available.Add(total).Normalize()
			}
			return true
		})
	}
	from := "1 Accepted"
	if len(o.History) >= 2 {
		from = o.History[len(o.History)-1].From
	}
	s.deps.Transition(provider, kindTransfer, id, from, o.statusLabel(), cause)
	event := eventTransferSucceeded
	switch final {
	case statusRejected:
		event = eventTransferRejected
	case statusFailed:
		event = eventTransferFailed
	}
	s.notify(o, event)
	return o, nil
}

// ruleLabel names a stored plan's rule as the schedule shows it.
func ruleLabel(scenario, rule string) string {
	if rule == "" {
		return ""
	}
	return scenario + " " + rule
}
