package khipu

import (
	"reflect"
	"testing"
	"time"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/admin"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
)

// TestStoredPaymentRoundTrip: the compact form the store keeps gives back
// exactly the payment that went in (times as the same instants in UTC).
func TestStoredPaymentRoundTrip(t *testing.T) {
	local := time.FixedZone("CLT", -3*3600)
	created := time.Date(2030, 1, 2, 3, 4, 5, 6000000, local)
	d := 5 * time.Second
	full := Payment{
		paymentCore: paymentCore{ID: "gqzdy6chjne9", Token: "e2378adb", ReceiverID: 123456, Internal: true, Reference: "ref",
			API: "v3", Scenario: "qa", LinkBase: "http://x/khipu", CreatedAt: created, UpdatedAt: created.Add(time.Minute),
			Subject: "s", ReturnURL: "r", NotifyURL: "n", CancelURL: "c", Amount: emulators.MustDecimal("1570.5"), Currency: "USD", TransactionID: "T-1", NotifyAPIVersion: "3.0",
			ExpiresAt: created.Add(24 * time.Hour), SendEmail: true, SendReminders: true, Status: statusDone, StatusDetail: detailReversed,
			Deleted: true, Uncertain: true, VerifySeq: 7, ExpiryHandled: true},
		paymentOptions: paymentOptions{Body: "b", Custom: "c", ConfirmTimeout: created},
		payerTransfer: payerTransfer{Bank: "DemoBank", BankID: "Bawdf", OperationCode: "K7Q2M9XW4D", ConciliatedAt: created,
			Refunded: emulators.MustDecimal("10"), Refunds: []Refund{{Amount: emulators.MustDecimal("10"), At: created, Cause: "admin"}}},
		Pay: payPlan{Matched: true, Scenario: "qa", Outcome: "approve", Delay: &d, Auto: true},
		History: []admin.Change{
			{Time: created, To: statusPending, Cause: journal.CauseRequest, Note: creationNote("v3")},
			{Time: created.Add(time.Second), From: statusPending, To: statusDone, Cause: journal.CauseAdmin},
		},
	}
	tests := []struct {
		name string
		p    Payment
	}{
		{"every field set", full},
		{"a fresh payment", Payment{paymentCore: paymentCore{ID: "a", API: "v2", Status: statusPending, StatusDetail: detailPending,
			CreatedAt: created.UTC(), ExpiresAt: created.UTC()}, History: []admin.Change{{Time: created.UTC(), To: statusPending, Cause: journal.CauseHook, Note: creationNote("v2")}}}},
		{"an odd first history entry", Payment{paymentCore: paymentCore{ID: "b", API: "v2", Status: statusPending}, History: []admin.Change{{To: "x", Cause: "other"}}}},
		{"values outside the code tables", Payment{paymentCore: paymentCore{ID: "c", API: "v9", Status: "weird", StatusDetail: "odd"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := tt.p.stored()
			got := sp.payment()
			want := tt.p
			// Core times come back as the same instants in UTC.
			for _, tm := range []*time.Time{&want.CreatedAt, &want.UpdatedAt, &want.ExpiresAt} {
				if !tm.IsZero() {
					*tm = tm.UTC()
				}
			}
			if len(want.History) > 0 && sp.createdBy != 0 {
				want.History[0].Time = want.History[0].Time.UTC()
				if !want.History[0].Time.Equal(got.History[0].Time) {
					t.Fatal("creation time changed")
				}
				got.History[0].Time = want.History[0].Time
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
			}
		})
	}
	if sp := tests[1].p.stored(); sp.opt != nil || sp.xfer != nil || sp.pay != nil || sp.history != nil || sp.createdBy == 0 {
		t.Errorf("a fresh payment is not stored compactly: %+v", sp)
	}
}
