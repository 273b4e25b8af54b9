package payu

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/clock"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/persist"
	"github.com/paysandbox/sandbox/emulators/internal/then"
)

// Persisted returns the emulator's tables for the state store (issue #18):
// orders, transactions and WebPay tokens, as JSON.
func (s *Service) Persisted() []persist.Binding {
	return []persist.Binding{
		persist.Bind("payu.orders", s.orders, persist.IntKeys[Order]()),
		persist.Bind("payu.transactions", s.txs, persist.StringKeys[Transaction]()),
		persist.Bind("payu.tokens", s.tokens, persist.StringKeys[string]()),
	}
}

// Resume rebuilds, after the tables were restored, the order-id counter
// (after the highest id kept) and the scheduled work re-derived from each
// transaction's state: the 7-day auto-void of an uncaptured authorization,
// a WebPay session's expiry, a redirect payment's robot payer, and the
// decision of a pending payment (scenario settle, pending_review.auto_decide)
// or refund review planned for it. Work that fell due while the sandbox
// was down runs at once.
func (s *Service) Resume() {
	now := s.deps.Clock.Now()
	s.mu.Lock()
	s.orders.Scan(false, func(id int64, _ Order) bool {
		if id >= s.nextID {
			s.nextID = id + 1
		}
		return true
	})
	s.mu.Unlock()
	var txs []Transaction
	var orphans []Transaction
	s.txs.Scan(false, func(_ string, t Transaction) bool {
		if s.orders.Has(t.OrderID) {
			txs = append(txs, t)
		} else {
			orphans = append(orphans, t)
		}
		return true
	})
	// A smaller max_objects than when the store was written dropped the
	// oldest orders: their transactions and tokens go too, on disk too.
	for _, t := range orphans {
		if t.Token != "" {
			s.tokens.Delete(t.Token)
		}
		s.txs.Delete(t.ID)
	}
	for _, t := range txs {
		id := t.ID
		if r := t.Review; r != nil && t.State == StatePending {
			s.scheduleDecision(id, *r, " (resumed after a restart)")
			continue
		}
		switch {
		case t.State == StateApproved && t.Type == TypeAuthorization && !t.Captured && !t.Voided:
			s.scheduleAutoVoid(t)
		case t.State == StatePending && t.Redirect.Matched || t.State == StatePending && t.PaymentMethod == "TRANSBANK_DEBIT":
			if t.PaymentMethod == "TRANSBANK_DEBIT" && !t.ExpiresAt.IsZero() {
				s.grp.At(t.ExpiresAt, func() { s.expireWebPay(id) }).Describe(clock.Label{Provider: provider, Object: id, Kind: "expiry",
					Detail: "the WebPay session expires (resumed after a restart)"})
			}
			if t.Redirect.Auto {
				s.grp.Wait(max(t.CreatedAt.Add(t.Redirect.Delay).Sub(now), 0), func() { s.robotPayer(id) }).Describe(clock.Label{
					Provider: provider, Object: id, Kind: "robot_payer", Detail: "robot payer: " + t.Redirect.Outcome + " (resumed after a restart)"})
			}
		}
	}
}

// AnswerFailedWrite answers a request whose change did not reach the disk
// (the state store failed): PayU's error envelope (§4.2), HTTP 503, with
// the store's message, which names the data directory.
func (s *Service) AnswerFailedWrite(c echo.Context, err error) {
	s.errorStep().Middleware(func(echo.Context) error {
		return &statusError{status: http.StatusServiceUnavailable, err: &emulators.Error{Kind: emulators.Unavailable, Msg: err.Error(), Detail: err.Error()}}
	})(c)
}

// reviewPlan is the decision planned for a pending transaction: a payment
// settled by a scenario's settle or by pending_review.auto_decide, or a
// refund's review. It is kept on the transaction so that a restart
// resumes it at its time.
type reviewPlan struct {
	At           time.Time `json:"at"`
	Refund       bool      `json:"refund,omitempty"`
	State        string    `json:"state"`
	ResponseCode string    `json:"response_code"`
	Cause        string    `json:"cause"`
	Why          string    `json:"why"`
	Rule         string    `json:"rule,omitempty"`
	Detail       string    `json:"detail"`
}

// planDecision keeps r on the pending transaction id and schedules it.
func (s *Service) planDecision(id string, r reviewPlan) {
	if _, err := s.txs.Update(id, func(t *Transaction) error { t.Review = &r; return nil }); err != nil {
		return
	}
	s.scheduleDecision(id, r, "")
}

// scheduleDecision runs r at its time (at once when that has passed).
func (s *Service) scheduleDecision(id string, r reviewPlan, note string) {
	out := outcome{state: r.State, responseCode: r.ResponseCode}
	then.ScheduleAt(s.grp, r.At, clock.Label{Provider: provider, Object: id, Kind: "review", Rule: r.Rule, Detail: r.Detail + note}, func() {
		if !r.Refund {
			s.decidePending(id, out, r.Cause, r.Why)
			return
		}
		if _, err := s.decideRefund(id, out, r.Cause, r.Why); err == nil {
			s.deps.Record(journal.KindTimer, provider, "refund review of "+id+": "+out.state, nil, id)
		}
	})
}

// dueIn is when a plan's wait of d from now ends on the sandbox clock.
func (s *Service) dueIn(d time.Duration) time.Time { return then.Due(s.deps.Clock, d) }
