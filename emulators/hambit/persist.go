package hambit

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators/internal/clock"
	"github.com/paysandbox/sandbox/emulators/internal/persist"
)

// Persisted returns the emulator's tables for the state store (issue #18):
// collections and transfers, as the JSON of order.
// The accounts' balances are kept too, one record per account.
func (s *Service) Persisted() []persist.Binding {
	return []persist.Binding{persist.Bind("hambit.orders", s.orders, persist.StringKeys[order]()), balanceBinding{s}, startedBinding{s}}
}

// startedBinding keeps when the emulator first started: the accounts'
// created_at, which a restart must not move.
type startedBinding struct{ s *Service }

const serviceBucket = "hambit.service"

func (b startedBinding) Bucket() string { return serviceBucket }

// Form is nil: the bucket holds JSON.
func (startedBinding) Form() persist.Form { return nil }

func (b startedBinding) Restore(st *persist.Store) (int, error) {
	rs, err := st.Records(serviceBucket)
	if err != nil {
		return 0, err
	}
	for _, r := range rs {
		if r.Key == "started" {
			if err := json.Unmarshal(r.Value, &b.s.started); err != nil {
				return 0, fmt.Errorf("state store: %s started: %w", serviceBucket, err)
			}
			return 1, nil
		}
	}
	return 0, nil
}

func (b startedBinding) Attach(st *persist.Store, fail func(error)) {
	raw, err := json.Marshal(b.s.started)
	if err == nil {
		err = st.Write(serviceBucket, []string{"started"}, func(string) ([]byte, bool, error) { return raw, true, nil })
	}
	if err != nil && fail != nil {
		fail(fmt.Errorf("state store: %s: %w", serviceBucket, err))
	}
}

// balanceBinding keeps each account's balances (currency → figures).
type balanceBinding struct{ s *Service }

const balanceBucket = "hambit.balances"

func (b balanceBinding) Bucket() string { return balanceBucket }

// Form is nil: the bucket holds JSON.
func (balanceBinding) Form() persist.Form { return nil }

func (b balanceBinding) Restore(st *persist.Store) (int, error) {
	rs, err := st.Records(balanceBucket)
	if err != nil {
		return 0, err
	}
	n := 0
	b.s.balMu.Lock()
	defer b.s.balMu.Unlock()
	for _, r := range rs {
		if b.s.accounts[r.Key] == nil {
			continue // an account no longer configured
		}
		var figures map[string]balance
		if err := json.Unmarshal(r.Value, &figures); err != nil {
			return 0, fmt.Errorf("state store: %s %s: %w", balanceBucket, r.Key, err)
		}
		m := map[string]*balance{}
		for cur, v := range figures {
			m[cur] = &v
		}
		b.s.balances[r.Key] = m
		n++
	}
	return n, nil
}

func (b balanceBinding) Attach(st *persist.Store, fail func(error)) {
	s := b.s
	s.balMu.Lock()
	defer s.balMu.Unlock()
	s.balanceSaved = func(key string) {
		st.WriteAsync(balanceBucket, []string{key}, func(key string) ([]byte, bool, error) {
			s.balMu.Lock()
			figures := map[string]balance{}
			for cur, v := range s.balances[key] {
				figures[cur] = *v
			}
			s.balMu.Unlock()
			raw, err := json.Marshal(figures)
			return raw, true, err
		}, func(err error) {
			if fail != nil {
				fail(fmt.Errorf("state store: %s: %w", balanceBucket, err))
			}
		})
	}
}

// Resume rebuilds, after the orders were restored, the cashier and
// external-id indexes, the id sequence (after the highest one kept) and
// the scheduled work re-derived from each order's state: a pending
// collection's cashier expiry and robot payer, a transfer's next review
// step. Work that fell due while the sandbox was down runs at once.
func (s *Service) Resume() {
	now := s.deps.Clock.Now()
	var last int64
	var orders []order
	s.mu.Lock()
	s.orders.Scan(false, func(id string, o order) bool {
		s.byExternal[externalKey(o.Kind, o.MerchantID, o.ExternalOrderID)] = id
		if o.CashierID != "" {
			s.byCashier[o.CashierID] = id
		}
		last = o.Seq // ids are taken in insertion order; the newest holds the sequence
		orders = append(orders, o)
		return true
	})
	s.mu.Unlock()
	if len(orders) > 0 {
		s.seq.mu.Lock()
		s.seq.next = last + 1
		if s.seq.next > maxSequence {
			s.seq.next = 1
		}
		s.seq.mu.Unlock()
	}
	wait := func(from time.Time, d time.Duration) time.Duration { return max(from.Add(d).Sub(now), 0) }
	for _, o := range orders {
		id := o.OrderID
		switch {
		case o.Kind == kindCollection && o.Status == statusPending && !o.Closed:
			s.grp.At(o.ExpiresAt, func() { s.expireOnTimer(id) }).Describe(clock.Label{Provider: provider, Object: id, Kind: "expiry",
				Detail: "the cashier expires (resumed after a restart)"})
			if o.PayPlan.Auto {
				s.grp.Wait(wait(o.Created, o.PayPlan.Delay), func() { s.robotPayer(id) }).Describe(clock.Label{Provider: provider, Object: id,
					Kind: "robot_payer", Rule: ruleLabel(o.Scenario, o.PayPlan.Rule), Detail: "robot payer: " + o.PayPlan.Outcome + " (resumed after a restart)"})
			}
		case o.Kind == kindTransfer && o.Status == statusPending:
			s.grp.Wait(wait(o.Created, o.PayoutPlan.ProcessingAfter), func() { s.transferStep(id, statusPending) }).Describe(clock.Label{
				Provider: provider, Object: id, Kind: "review", Rule: ruleLabel(o.Scenario, o.PayoutPlan.Rule),
				Detail: "the transfer moves to processing (resumed after a restart)"})
		case o.Kind == kindTransfer && o.Status == statusProcessing && o.PayoutPlan.Outcome != outcomeStuck:
			s.grp.Wait(wait(o.Updated, o.PayoutPlan.FinalAfter), func() { s.transferStep(id, statusProcessing) }).Describe(clock.Label{
				Provider: provider, Object: id, Kind: "review", Rule: ruleLabel(o.Scenario, o.PayoutPlan.Rule),
				Detail: "the transfer ends as " + o.PayoutPlan.Outcome + " (resumed after a restart)"})
		}
	}
}

// AnswerFailedWrite answers a request whose change did not reach the disk
// (the state store failed): Hambit's envelope with the system error code,
// HTTP 503, and the store's message (naming the data directory) as msgEn.
func (s *Service) AnswerFailedWrite(c echo.Context, err error) {
	s.errorStep().Middleware(func(echo.Context) error {
		return &scenarioError{ScenarioError: ScenarioError{Code: codeSystem, MsgEn: err.Error(), HTTPStatus: http.StatusServiceUnavailable}, rule: "state store", detail: err.Error()}
	})(c)
}
