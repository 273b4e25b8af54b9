package khipu

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/admin"
	"github.com/paysandbox/sandbox/emulators/internal/clock"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/random"
	"github.com/paysandbox/sandbox/emulators/internal/store"
	"github.com/paysandbox/sandbox/emulators/internal/then"
	"github.com/paysandbox/sandbox/scenarios"
)

// state renders status/detail for the journal and the admin API: a
// pending payment whose expires_date passed is "pending/expired" (the API
// still says pending, §11.1; the payer meets an expired payment).
func (p Payment) state() string {
	switch {
	case p.Deleted:
		return "deleted"
	case p.Status == statusDone:
		return statusDone + "/" + p.StatusDetail
	case p.Status == statusPending && p.ExpiryHandled:
		return statusPending + "/expired"
	}
	return p.Status
}

// expired reports whether a pending payment is past its expires_date.
func (p *Payment) expired(now time.Time) bool {
	return p.Status == statusPending && !now.Before(p.ExpiresAt)
}

// clearPayer forgets a transfer that turned out failed (§8, last line).
func (p *Payment) clearPayer() {
	p.Bank, p.BankID, p.PersonalIdentifier, p.BankAccountNumber = "", p.GivenBankID, "", ""
	p.PayerName, p.PayerEmail = p.GivenPayerName, p.GivenPayerEmail
	p.PaymentMethod, p.FundsSource, p.OperationCode = "", "", ""
	p.Uncertain = false
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
		then.Schedule(s.grp, u.Delay-elapsed, clock.Label{Provider: provider, Object: id, Kind: "verification", Rule: plan.Label(),
			Detail: "uncertain bank answer resolved as " + u.Outcome}, func() {
			if u.Outcome == "done" {
				s.settle(id, seq, journal.CauseScenario)
			} else {
				s.revertTransfer(id, seq, journal.CauseScenario, "uncertain transfer resolved as failed")
			}
		})
		return
	}
	key, d := "simplified_delay", s.cfg.Verify.SimplifiedDelay
	if tr.manual {
		key, d = "manual_delay", s.cfg.Verify.ManualDelay
	}
	if v, ok := scenarios.Param[time.Duration](plan, key); ok {
		d = v
	}
	then.Schedule(s.grp, d-elapsed, clock.Label{Provider: provider, Object: id, Kind: "verification",
		Rule: plan.Label(), Detail: "Khipu's verification ends (" + key + ")"}, func() { s.settle(id, seq, journal.CauseTimer) })
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

// reverse is the admin action reverse (§15): a full refund of the rest, no notification.
func (s *Service) reverse(id string) (Payment, error) {
	return s.mutate(id, journal.CauseAdmin, func(p *Payment, now time.Time) error {
		if p.Deleted || p.Status != statusDone || p.StatusDetail != detailNormal {
			return stateConflict(p, "reverse needs a done/normal payment")
		}
		rest := p.Amount.Sub(p.Refunded)
		p.Refunds = append(p.Refunds, Refund{Amount: rest, At: now, Cause: journal.CauseAdmin})
		p.Refunded = p.Amount
		p.StatusDetail = detailReversed
		return nil
	})
}

// checkRefund applies the rules of §6.6 to p and returns the amount to refund.
func checkRefund(p *Payment, r *receiver, amount *value) (emulators.Decimal, error) {
	state := func(code, msg, why string) error {
		return stateError(code, msg, fmt.Sprintf("payment %s (%s): %s (§6.6)", p.ID, p.state(), why))
	}
	switch {
	case !r.refundsEnabled:
		return emulators.Decimal{}, state("S7", msgS7, fmt.Sprintf("receiver %d has refunds_enabled: false", r.id))
	case p.Status != statusDone:
		return emulators.Decimal{}, state("S3", msgS3, "only done payments can be refunded")
	case p.StatusDetail == detailReversed:
		return emulators.Decimal{}, state("S4", msgS4, "already fully refunded")
	case p.StatusDetail == detailMarkedPaid:
		return emulators.Decimal{}, state("S5", msgS5, "marked paid by the receiver, not collected by Khipu")
	case !p.ConfirmedAt.IsZero():
		return emulators.Decimal{}, state("S6", msgS6, "confirmed payments are settled and cannot be refunded")
	}
	remaining := p.Amount.Sub(p.Refunded)
	if amount == nil {
		return remaining, nil
	}
	d, msg := amountMessage(*amount, p.Currency)
	if msg == "" && d.Cmp(remaining) > 0 {
		msg = msgAboveRefundable(remaining)
	}
	if msg != "" {
		return d, fieldError("amount", msg, fmt.Sprintf("refund amount %q of payment %s: %s", amount.text, p.ID, msg))
	}
	return d, nil
}

// refund records an accepted refund request on payment id (§6.6), checked
// again under the store's lock: a refund of the whole remaining amount
// makes it done/reversed (full).
func (s *Service) refund(id string, r *receiver, amount *value) (p Payment, refunded emulators.Decimal, full bool, err error) {
	p, err = s.mutate(id, journal.CauseRequest, func(p *Payment, now time.Time) error {
		amt, err := checkRefund(p, r, amount)
		if err != nil {
			return err
		}
		refunded = amt
		p.Refunded = p.Refunded.Add(amt)
		p.Refunds = append(p.Refunds, Refund{Amount: amt, At: now, Cause: journal.CauseRequest})
		if p.Refunded.Cmp(p.Amount) >= 0 {
			p.StatusDetail = detailReversed
			full = true
		}
		return nil
	})
	return p, refunded, full, err
}
