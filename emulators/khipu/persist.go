package khipu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators/internal/clock"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/persist"
)

// Persisted returns the emulator's tables for the state store (issue #18):
// payments, as their packed record (record.go; the JSON of Payment in an
// export, and in a store written before layout 1, which still loads), and
// the payer pages' attempts.
func (s *Service) Persisted() []persist.Binding {
	return []persist.Binding{
		persist.Bind("khipu.payments", s.payments.t, persist.Codec[paymentKey, storedPayment]{
			Key: func(k paymentKey) string { return string(k[:]) },
			Parse: func(id string) (paymentKey, error) {
				k, ok := keyOf(id)
				if !ok {
					return k, fmt.Errorf("payment id %q is not %d characters", id, idLength)
				}
				return k, nil
			},
			Encode: func(sp storedPayment) ([]byte, error) { return json.Marshal(sp.payment()) },
			Decode: func(b []byte) (storedPayment, error) {
				var p Payment
				if err := json.Unmarshal(b, &p); err != nil {
					return storedPayment{}, err
				}
				if _, ok := keyOf(p.ID); !ok {
					return storedPayment{}, fmt.Errorf("payment id %q is not %d characters", p.ID, idLength)
				}
				return p.storedWith(s.payments.intern), nil
			},
			Pack:   packRecord,
			Unpack: func(b []byte) (storedPayment, error) { return unpackRecord(b, s.payments.intern) },
		}),
		persist.Bind("khipu.attempts", s.attempts, persist.StringKeys[attempt]()),
	}
}

// Resume rebuilds, after the payments were restored, what is derived from
// them: the notification-token index, PayU's internal receivers, and the
// scheduled work re-derived from each payment's state (never serialised
// closures): its expiry until it is handled, a pending payment's robot payer when
// its plan has one, and the end of a verification in progress. A robot
// payer or expiry that fell due while the sandbox was down runs at once.
func (s *Service) Resume() {
	now := s.now()
	type robot struct {
		id  string
		at  time.Time
		out string
	}
	var robots []robot
	var verifying []Payment
	s.payments.t.Scan(false, func(_ paymentKey, sp storedPayment) bool {
		p := sp.payment()
		s.tokens.Put(p.Token, p.ID)
		if p.Internal {
			s.internalReceiver(p.ReceiverID, "")
		}
		if p.Deleted {
			return true
		}
		if !p.ExpiryHandled {
			// As at creation: every payment's expiry stays queued until it
			// is due (onExpiry decides then whether it applies).
			s.expiries.add(p.ID, p.ExpiresAt)
		}
		switch p.Status {
		case statusPending:
			if p.Pay.Auto {
				robots = append(robots, robot{p.ID, p.CreatedAt.Add(p.Pay.delayOr(defaultAutoDelay)), p.Pay.outcomeOr("approve")})
			}
		case statusVerifying:
			verifying = append(verifying, p)
		}
		return true
	})
	for _, r := range robots {
		id, d := r.id, max(r.at.Sub(now), 0)
		s.grp.Wait(d, func() { s.robotPay(id) }).Describe(clock.Label{Provider: provider, Object: id, Kind: "robot_payer",
			Detail: "robot payer: " + r.out + " (resumed after a restart)"})
	}
	for _, p := range verifying {
		// The verification began with the payment's last move to
		// verifying; its length is decided again by the verify point
		// (the same rule, unless the rule draws a probability).
		began := p.UpdatedAt
		for _, h := range slices.Backward(p.History) {
			if h.To == statusVerifying {
				began = h.Time
				break
			}
		}
		s.deps.Record(journal.KindNote, provider, "payment "+p.ID+": verification resumed after a restart", nil, p.ID)
		s.scheduleVerification(p, transfer{manual: p.PaymentMethod == methodRegular, uncertain: p.Uncertain}, max(now.Sub(began), 0))
	}
}

// AnswerFailedWrite answers a request whose change did not reach the disk
// (the state store failed): Khipu's error shape, 503, with the store's
// message, which names the data directory.
func (s *Service) AnswerFailedWrite(c echo.Context, err error) {
	s.errorStep().Middleware(func(echo.Context) error {
		return &scenarioFailure{status: http.StatusServiceUnavailable, message: err.Error(), detail: err.Error()}
	})(c)
}
