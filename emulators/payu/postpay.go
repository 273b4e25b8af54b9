package payu

import (
	"strconv"
	"strings"
	"time"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/then"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
	"github.com/paysandbox/sandbox/scenarios"
)

// Windows of §8 (deadlines: measured on the sandbox clock, never scaled).
const (
	captureWindow   = 7 * 24 * time.Hour
	voidWindow      = 3 * time.Hour
	refundFrom      = 10 * time.Minute
	refundUntil     = 90 * 24 * time.Hour
	prepaidRefund   = time.Hour
	minCapture      = 50
	minRefund       = 10
	manualRefundMsg = "partial refund of an installment payment: processed manually"
)

// postPayment serves CAPTURE, VOID, REFUND and PARTIAL_REFUND (§8).
func (s *Service) postPayment(cl *call, t *node, typ string) error {
	v := &validator{lang: cl.lang, strict: s.cfg.Validation == "strict"}
	v.apply(t, "", postPaymentRules)
	if err := v.err(); err != nil {
		return err
	}
	orderText := strings.TrimSpace(t.s("order", "id"))
	orderID, _ := strconv.ParseInt(orderText, 10, 64)
	parentID := strings.TrimSpace(t.s("parentTransactionId"))
	note := wire.Annotate(cl.c)
	note.AddObject(parentID)
	note.AddObject(orderText)
	notFound := apiErr("Sandbox: transaction [" + parentID + "] not found in order [" + orderText + "]")
	o, ok := s.orders.Get(orderID)
	if !ok {
		return notFound
	}
	if o.MerchantID != cl.merchant.MerchantID {
		return apiErr("Sandbox: order [" + orderText + "] does not belong to this merchant")
	}
	parent, ok := s.txs.Get(parentID)
	if !ok || parent.OrderID != orderID {
		return notFound
	}
	// The amount: transaction.additionalValues.TX_VALUE, else the order's (§8).
	var amount *emulators.Decimal
	literal := ""
	for _, base := range [][]string{{"additionalValues", "TX_VALUE"}, {"order", "additionalValues", "TX_VALUE"}} {
		if lit, ok := t.str(append(base, "value")...); ok && strings.TrimSpace(lit) != "" {
			d, _ := emulators.ParseDecimal(strings.TrimSpace(lit))
			amount, literal = &d, strings.TrimSpace(lit)
			break
		}
	}
	if amount != nil {
		if err := checkDecimals(*amount, parent.Currency); err != nil {
			return err
		}
	}
	attrs := s.attrsOf(o, parent)
	attrs["type"] = typ
	if literal != "" {
		attrs["amount"] = literal
	}
	plan := s.deps.Scenarios.Decide(o.Scenario, provider, PointSubmit, attrs)
	if plan.Matched {
		note.Rule = plan.Rule
	}
	if err := s.scenarioGate(cl, plan); err != nil {
		return err
	}
	var resp val
	var err error
	switch typ {
	case TypeCapture:
		resp, err = s.capture(cl, parent, amount, plan)
	case TypeVoid:
		resp, err = s.void(cl, parent, plan)
	default:
		resp, err = s.refund(cl, t, typ, parent, amount, plan)
	}
	if err != nil {
		return err
	}
	then.Respond(cl.c, plan.ResponseDelay)
	return s.ok(cl, resp)
}

func cannot(id, verb string) error {
	return apiErr("Sandbox: transaction [" + id + "] cannot be " + verb)
}

// overrideOutcome applies a submit plan's outcome to a post-payment answer.
func overrideOutcome(plan scenarios.Plan, child *Transaction) bool {
	if !plan.Matched || plan.Outcome == "" || plan.Outcome == "approve" {
		return false
	}
	out := scenarioOutcome(plan)
	child.State, child.ResponseCode, child.PendingReason = out.state, out.responseCode, out.pendingReason
	child.NetCode, child.NetMsg, child.ResponseMessage = out.netCode, out.netMsg, out.responseMessage
	return true
}

func (s *Service) capture(cl *call, p Transaction, amount *emulators.Decimal, plan scenarios.Plan) (val, error) {
	var child Transaction
	_, err := s.update(p.OrderID, journal.CauseRequest, "CAPTURE", func(w *work) error {
		p := w.tx(p.ID)
		if p.Type != TypeAuthorization || p.State != StateApproved || p.Captured || p.Voided {
			return cannot(p.ID, "captured")
		}
		now := s.now()
		if now.Sub(p.ApprovedAt) > captureWindow {
			return apiErr("Sandbox: the capture window of 7 days has elapsed")
		}
		if p.Installments > 1 {
			return apiErr("Sandbox: capture requires a single installment")
		}
		value := p.Value
		if amount != nil {
			if amount.Cmp(p.Value) > 0 {
				return apiErr("Sandbox: capture amount exceeds the authorized amount")
			}
			if amount.Cmp(p.Value) < 0 && amount.Cmp(emulators.DecimalFromInt(minCapture)) < 0 {
				return apiErr("Sandbox: partial capture minimum is 50 CLP")
			}
			value = *amount
		}
		c := s.newChild(*p, TypeCapture, value, now)
		c.Source = cl.req.s("transaction", "source")
		if !overrideOutcome(plan, &c) {
			c.State, c.ResponseCode = StateApproved, "APPROVED"
			s.stampApproval(&c, now)
			c.setRespExtra("TRANSBANK_DIRECT_TOKEN", s.directToken(), time.Time{})
			p.Captured, p.CapturedValue = true, value
			w.o.Status = OrderCaptured
		}
		child = *w.add(c)
		return nil
	})
	if err != nil {
		return null, err
	}
	wire.Annotate(cl.c).AddObject(child.ID)
	return txResponse(child), nil
}

func (s *Service) void(cl *call, p Transaction, plan scenarios.Plan) (val, error) {
	var child Transaction
	_, err := s.update(p.OrderID, journal.CauseRequest, "VOID", func(w *work) error {
		p := w.tx(p.ID)
		if p.Type != TypeAuthorization || p.State != StateApproved || p.Captured || p.Voided {
			return cannot(p.ID, "voided")
		}
		now := s.now()
		if now.Sub(p.ApprovedAt) > voidWindow {
			return apiErr("Sandbox: the void window of 3 hours has elapsed")
		}
		c := s.newChild(*p, TypeVoid, p.Value, now)
		c.Source = cl.req.s("transaction", "source")
		if !overrideOutcome(plan, &c) {
			c.State, c.ResponseCode = StateApproved, "APPROVED"
			s.stampApproval(&c, now)
			p.Voided = true
			w.o.Status = OrderCancelled
		}
		child = *w.add(c)
		return nil
	})
	if err != nil {
		return null, err
	}
	wire.Annotate(cl.c).AddObject(child.ID)
	return txResponse(child), nil
}

// refundable returns the amount a payment parent can still refund.
func refundable(p *Transaction, o Order) (emulators.Decimal, bool) {
	switch {
	case p.State != StateApproved:
		return emulators.Decimal{}, false
	case p.Type == TypeAuthorizationAndCapture, p.Type == TypeCapture:
		return p.Value.Sub(p.RefundPending).Sub(p.RefundApproved), true
	case p.Type == TypeAuthorization && p.Captured:
		return p.CapturedValue.Sub(p.RefundPending).Sub(p.RefundApproved), true
	}
	return emulators.Decimal{}, false
}

func (s *Service) refund(cl *call, t *node, typ string, p Transaction, amount *emulators.Decimal, plan scenarios.Plan) (val, error) {
	if p.PaymentMethod == "TRANSBANK_DEBIT" || p.PaymentMethod == "KHIPU" {
		return null, apiErr("Sandbox: refunds are not supported for payment method [" + p.PaymentMethod + "]")
	}
	var child Transaction
	var out outcome
	manual := false
	w, err := s.update(p.OrderID, journal.CauseRequest, typ, func(w *work) error {
		p := w.tx(p.ID)
		balance, ok := refundable(p, w.o)
		if !ok {
			return cannot(p.ID, "refunded")
		}
		now := s.now()
		age := now.Sub(p.ApprovedAt)
		if age < refundFrom {
			return apiErr("Sandbox: refunds are accepted from 10 minutes after approval")
		}
		if age > refundUntil {
			return apiErr("Sandbox: refunds are accepted up to 90 days after approval")
		}
		value := balance
		if amount != nil {
			value = *amount
		}
		if value.Cmp(emulators.DecimalFromInt(minRefund)) < 0 {
			return apiErr("Sandbox: refund minimum is 10 CLP")
		}
		if value.Cmp(balance) > 0 {
			return apiErr("Sandbox: refund amount exceeds the refundable balance")
		}
		partial := value.Cmp(balance) < 0 || typ == TypePartialRefund
		c := s.newChild(*p, typ, value, now)
		c.Source = t.s("source")
		if overrideOutcome(plan, &c) && isFinal(c.State) {
			child = *w.add(c)
			return nil
		}
		c.State, c.PendingReason, c.ResponseCode = StatePending, "PENDING_REVIEW", ""
		p.RefundPending = p.RefundPending.Add(value)
		out = outcome{state: StateApproved, responseCode: "APPROVED"}
		switch {
		case p.Prepaid && age > prepaidRefund:
			out = outcome{state: StateDeclined, responseCode: "PAYMENT_NETWORK_REJECTED"}
		case partial && p.Installments > 1:
			manual = true
		}
		child = *w.add(c)
		return nil
	})
	if err != nil {
		return null, err
	}
	wire.Annotate(cl.c).AddObject(child.ID)
	if child.State == StatePending {
		s.scheduleReview(w.o, child, out, manual)
	}
	return refundFirstAnswer(p.OrderID), nil
}

// scheduleReview decides a pending refund at its refund_review point.
func (s *Service) scheduleReview(o Order, r Transaction, def outcome, manual bool) {
	attrs := s.attrsOf(o, r)
	plan := s.deps.Scenarios.Decide(o.Scenario, provider, PointRefundReview, attrs)
	out := def
	if plan.Matched && plan.Outcome != "" {
		out = settleOutcome(plan.Outcome, "")
		if plan.Outcome == "decline" {
			out.responseCode = "PAYMENT_NETWORK_REJECTED"
		}
	} else if manual {
		s.deps.Record(journal.KindNote, provider, "refund "+r.ID+" waits for an admin decision ("+manualRefundMsg+")", nil, r.ID)
		return
	}
	if code, ok := scenarios.Param[string](plan, "responseCode"); ok && plan.Matched {
		out.responseCode = code
	}
	delay := plan.DelayOr(s.cfg.Refund.ReviewDelay)
	cause := journal.CauseTimer
	if plan.Matched {
		cause = journal.CauseScenario
	}
	s.planDecision(r.ID, reviewPlan{At: s.dueIn(delay), Refund: true, State: out.state, ResponseCode: out.responseCode, Cause: cause,
		Why: "refund review", Rule: plan.Label(), Detail: "refund review ends as " + out.state})
}

// stampApproval gives an approved post-payment transaction (capture, void,
// refund) what §8 shows: paymentNetworkResponseCode "0", a 6-digit
// authorizationCode, "Approved transaction" and its own id as trazabilityCode.
func (s *Service) stampApproval(c *Transaction, now time.Time) {
	c.NetCode, c.AuthCode, c.ResponseMessage, c.Trazability, c.ApprovedAt = "0", s.authCode(), "Approved transaction", c.ID, now
}

// decideRefund approves or declines a pending refund.
func (s *Service) decideRefund(id string, out outcome, cause, why string) (Transaction, error) {
	return s.updateTx(id, cause, why, func(w *work, r *Transaction) error {
		if !isRefundType(r.Type) || r.State != StatePending {
			msg := "refund " + id + " is " + r.State + ", not a PENDING refund"
			return &emulators.Error{Kind: emulators.Conflict, Msg: msg, Detail: msg}
		}
		p := w.tx(r.ParentID)
		now := s.now()
		r.State, r.ResponseCode, r.PendingReason, r.OperationDate = out.state, out.responseCode, "", now
		if p != nil {
			p.RefundPending = p.RefundPending.Sub(r.Value)
		}
		if out.state == StateApproved {
			s.stampApproval(r, now)
			if p != nil {
				p.RefundApproved = p.RefundApproved.Add(r.Value)
			}
			w.o.Status = OrderRefunded
		}
		return nil
	})
}
