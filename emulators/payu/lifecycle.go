package payu

import (
	"context"
	"strconv"
	"time"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/admin"
	"github.com/paysandbox/sandbox/emulators/internal/clock"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
)

func change(at time.Time, from, to, cause, note string) admin.Change {
	return admin.Change{Time: at, From: from, To: to, Cause: cause, Note: note}
}

// work is one atomic change of an order and some of its transactions.
type work struct {
	s       *Service
	o       Order
	oBefore string
	txs     map[string]*Transaction
	before  map[string]string
	ids     []string
}

// tx returns the transaction id of the order (loaded once), or nil.
func (w *work) tx(id string) *Transaction {
	if t, ok := w.txs[id]; ok {
		return t
	}
	t, ok := w.s.txs.Get(id)
	if !ok || t.OrderID != w.o.ID {
		return nil
	}
	w.txs[id] = &t
	w.before[id] = t.State
	w.ids = append(w.ids, id)
	return &t
}

// add adds a new transaction to the order.
func (w *work) add(t Transaction) *Transaction {
	w.txs[t.ID] = &t
	w.before[t.ID] = ""
	w.ids = append(w.ids, t.ID)
	w.o.TxIDs = append(w.o.TxIDs, t.ID)
	return &t
}

// update runs f on the order under the service lock, stores what it
// changed, journals the transitions (cause, why) and, once unlocked, sends
// the confirmation of every transaction that became final.
func (s *Service) update(orderID int64, cause, why string, f func(w *work) error) (*work, error) {
	s.mu.Lock()
	o, ok := s.orders.Get(orderID)
	if !ok {
		s.mu.Unlock()
		return nil, emulators.Errorf(emulators.NotFound, "no PayU order %d", orderID)
	}
	w := &work{s: s, o: o, oBefore: o.Status, txs: map[string]*Transaction{}, before: map[string]string{}}
	if err := f(w); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	now := s.now()
	for _, id := range w.ids {
		t := w.txs[id]
		if t.State != w.before[id] {
			t.History = append(t.History, change(now, w.before[id], t.State, cause, why))
			t.UpdatedAt = now
		}
		s.txs.Put(id, *t)
		if t.Token != "" && w.before[id] == "" {
			s.tokens.Put(t.Token, id)
		}
	}
	if w.o.Status != w.oBefore {
		w.o.History = append(w.o.History, change(now, w.oBefore, w.o.Status, cause, why))
		w.o.UpdatedAt = now
	}
	s.orders.Put(w.o.ID, w.o)
	s.mu.Unlock()

	oid := strconv.FormatInt(w.o.ID, 10)
	for _, id := range w.ids {
		if t := w.txs[id]; t.State != w.before[id] {
			s.deps.Transition(provider, "transaction", id, w.before[id], t.State, cause, oid)
		}
	}
	if w.o.Status != w.oBefore {
		s.deps.Transition(provider, "order", oid, w.oBefore, w.o.Status, cause)
	}
	for _, id := range w.ids {
		if t := w.txs[id]; !isFinal(w.before[id]) && isFinal(t.State) {
			s.finalized(id)
		}
	}
	return w, nil
}

// updateTx is update for the order of transaction id, with that transaction.
func (s *Service) updateTx(id, cause, why string, f func(w *work, t *Transaction) error) (Transaction, error) {
	t, ok := s.txs.Get(id)
	if !ok {
		return Transaction{}, emulators.Errorf(emulators.NotFound, "no PayU transaction %q", id)
	}
	w, err := s.update(t.OrderID, cause, why, func(w *work) error {
		tx := w.tx(id)
		if tx == nil {
			return emulators.Errorf(emulators.NotFound, "no PayU transaction %q", id)
		}
		return f(w, tx)
	})
	if err != nil {
		return Transaction{}, err
	}
	return *w.txs[id], nil
}

// errNotPending is returned by decidePending for a transaction already decided.
var errNotPending = emulators.Errorf(emulators.Conflict, "the transaction is not pending")

// decidePending settles a PENDING payment transaction with out.
func (s *Service) decidePending(id string, out outcome, cause, why string) (Transaction, error) {
	return s.updateTx(id, cause, why, func(w *work, t *Transaction) error {
		if t.State != StatePending || !isPaymentType(t.Type) {
			return &emulators.Error{Kind: emulators.Conflict, Msg: "transaction " + id + " is " + t.State + ", not PENDING",
				Detail: "transaction " + id + " is " + t.State + ", not PENDING", Err: errNotPending}
		}
		if out.state != StateApproved {
			out.pendingReason = ""
		}
		s.applyOutcome(t, &w.o, out, s.now())
		t.OperationDate = s.now()
		if t.State == StateApproved && t.Type == TypeAuthorization {
			s.scheduleAutoVoid(*t)
		}
		return nil
	})
}

// scheduleAutoVoid voids an authorization left uncaptured for 7 days (a deadline).
func (s *Service) scheduleAutoVoid(t Transaction) {
	s.grp.At(t.ApprovedAt.Add(7*24*time.Hour), func() { s.autoVoid(t.ID) }).Describe(clock.Label{Provider: provider, Object: t.ID,
		Kind: "expiry", Detail: "the uncaptured authorization is voided (7 days)"})
}

func (s *Service) autoVoid(id string) {
	var voidID string
	_, err := s.updateTx(id, journal.CauseTimer, "auto-void after 7 days", func(w *work, p *Transaction) error {
		if p.State != StateApproved || p.Type != TypeAuthorization || p.Captured || p.Voided {
			return errNotPending
		}
		now := s.now()
		v := s.newChild(*p, TypeVoid, p.Value, now)
		v.State, v.ResponseCode = StateApproved, "APPROVED"
		s.stampApproval(&v, now)
		v.Source = "SYSTEM"
		w.add(v)
		voidID = v.ID
		p.Voided = true
		w.o.Status = OrderCancelled
		return nil
	})
	if err == nil {
		s.deps.Record(journal.KindTimer, provider, "auto-void of authorization "+id+" after 7 days", nil, id, voidID)
	}
}

// newChild starts a post-payment transaction of parent.
func (s *Service) newChild(p Transaction, typ string, value emulators.Decimal, now time.Time) Transaction {
	return Transaction{
		ID: s.deps.Random.UUID(), OrderID: p.OrderID, MerchantID: p.MerchantID, AccountID: p.AccountID, Type: typ,
		ParentID: p.ID, PaymentMethod: p.PaymentMethod, PaymentCountry: p.PaymentCountry, CreatedAt: now,
		UpdatedAt: now, OperationDate: now, Value: value, Currency: p.Currency, Card: p.Card, CardLength: p.CardLength,
		Payer: p.Payer, IPAddress: p.IPAddress, Installments: p.Installments, Prepaid: p.Prepaid, Test: p.Test,
		Language: p.Language, Scenario: p.Scenario,
	}
}

// expireWebPay is the EXPIRATION_DATE deadline of a WebPay transaction.
func (s *Service) expireWebPay(id string) {
	_, err := s.decidePending(id, settleOutcome("expire", ""), journal.CauseTimer, "WebPay token expired")
	if err == nil {
		s.deps.Record(journal.KindTimer, provider, "WebPay token of transaction "+id+" expired", nil, id)
	}
}

// robotPayer acts for a redirect_payment rule with auto: true (§14).
func (s *Service) robotPayer(id string) {
	t, ok := s.txs.Get(id)
	if !ok || t.State != StatePending {
		return
	}
	o, _ := s.orders.Get(t.OrderID)
	outcomeName := t.Redirect.Outcome
	if outcomeName == "" {
		outcomeName = "approve"
	}
	s.deps.Record(journal.KindPage, provider, "robot payer ("+t.Redirect.Rule+"): "+outcomeName+" for transaction "+id,
		map[string]string{"response_url": s.responseURL(o, t)}, id)
	if t.PaymentMethod == "KHIPU" {
		ctx := context.Background()
		switch outcomeName {
		case "approve":
			s.actOnTransfer(ctx, t, emulators.TransferPay)
		case "decline":
			s.declineKhipu(ctx, t, t.Redirect.ResponseCode, journal.CauseScenario, "robot payer")
		case "expire":
			s.actOnTransfer(ctx, t, emulators.TransferExpire)
		}
		return
	}
	s.decideWebPay(id, outcomeName, t.Redirect.ResponseCode, robotCard, journal.CauseScenario, "robot payer")
}

// robotCard is the card the WebPay robot payer "enters" (a TBK Redcompra test card).
const robotCard = "4051884239937763"
