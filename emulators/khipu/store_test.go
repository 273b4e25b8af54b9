package khipu

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/admin"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
)

// samplePayment is one of samplePayments.
type samplePayment struct {
	name string
	p    Payment
}

// samplePayments are payments that, between them, fill every group of the
// stored form (options, a transfer with refunds, a plan with a delay and
// one with a payer, raw fields and history, a packed history, every flag),
// for TestStoredPaymentRoundTrip and the record tests. Each call builds
// them afresh: the callers change them.
func samplePayments() []samplePayment {
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
		payerTransfer: payerTransfer{Bank: "DemoBank", BankID: "Bawdf", PayerName: "Juan Pérez", PayerEmail: "juan@test.cl",
			PersonalIdentifier: "11.111.111-1", BankAccountNumber: "00012345", PaymentMethod: methodSimplified, FundsSource: "debit",
			OperationCode: "K7Q2M9XW4D", ConciliatedAt: created, ConfirmedAt: created.Add(time.Minute),
			Refunded: emulators.MustDecimal("10"), Refunds: []Refund{{Amount: emulators.MustDecimal("10"), At: created, Cause: "admin"}}},
		Pay: payPlan{Matched: true, Scenario: "qa", Outcome: "approve", Delay: &d, Auto: true},
		History: []admin.Change{
			{Time: created, To: statusPending, Cause: journal.CauseRequest, Note: creationNote("v3")},
			{Time: created.Add(time.Second), From: statusPending, To: statusDone, Cause: journal.CauseAdmin},
		},
	}
	// A payment paid at DemoBank: its history is stored packed.
	utc := created.UTC()
	paid := Payment{paymentCore: paymentCore{ID: "gqzdy6chjnea", API: "v2", Status: statusDone, StatusDetail: detailNormal,
		CreatedAt: utc, UpdatedAt: utc.Add(2 * time.Second), ExpiresAt: utc.Add(time.Hour)},
		payerTransfer: payerTransfer{Bank: "DemoBank", ConciliatedAt: utc.Add(2 * time.Second)},
		History: []admin.Change{
			{Time: utc, To: statusPending, Cause: journal.CauseRequest, Note: creationNote("v2")},
			{Time: utc.Add(time.Second), From: statusPending, To: statusVerifying, Cause: journal.CausePage},
			{Time: utc.Add(2 * time.Second), From: statusVerifying, To: statusDone + "/" + detailNormal, Cause: journal.CauseTimer, Note: "verified"},
			{Time: utc.Add(3 * time.Second), From: statusDone + "/" + detailNormal, To: "deleted", Cause: journal.CauseAdmin},
		}}
	return []samplePayment{
		{"every field set", full},
		{"a fresh payment", Payment{paymentCore: paymentCore{ID: "gqzdy6chjneb", API: "v2", Status: statusPending, StatusDetail: detailPending,
			CreatedAt: created.UTC(), ExpiresAt: created.UTC()}, History: []admin.Change{{Time: created.UTC(), To: statusPending, Cause: journal.CauseHook, Note: creationNote("v2")}}}},
		{"an odd first history entry", Payment{paymentCore: paymentCore{ID: "gqzdy6chjnec", API: "v2", Status: statusPending}, History: []admin.Change{{To: "x", Cause: "other"}}}},
		{"values outside the code tables", Payment{paymentCore: paymentCore{ID: "gqzdy6chjned", API: "v9", Status: "weird", StatusDetail: "odd"}}},
		{"a paid payment", paid},
		{"a history without its creation entry", Payment{paymentCore: paymentCore{ID: "gqzdy6chjnee", API: "v2", Status: statusVerifying},
			History: []admin.Change{{Time: created.UTC(), From: statusPending, To: statusVerifying, Cause: journal.CausePage, Note: "n"}}}},
		{"raw fields and history, a plan with a payer", Payment{paymentCore: paymentCore{ID: "gqzdy6chjnef", API: "v9", Status: statusPending,
			Amount: emulators.MustDecimal("-0.0050"), CreatedAt: created, VerifySeq: -3},
			Pay: payPlan{Matched: true, Scenario: "qa", Rule: "manual payer", Outcome: "approve",
				Payer: ScenarioPayer{Method: "manual", BankID: "Bawdf", RUT: "11.111.111-1", Email: "pagador@example.com"}},
			History: []admin.Change{{Time: created, To: statusPending, Cause: journal.CauseRequest, Note: creationNote("v9")},
				{Time: created.Add(time.Second), From: statusPending, To: "elsewhere", Cause: journal.CauseScenario, Note: "moved"}}}},
	}
}

// sample returns the sample payment of that name.
func sample(t testing.TB, name string) Payment {
	t.Helper()
	for _, s := range samplePayments() {
		if s.name == name {
			return s.p
		}
	}
	t.Fatalf("no sample payment %q", name)
	return Payment{}
}

// TestStoredPaymentRoundTrip: the compact form the store keeps gives back
// exactly the payment that went in (times as the same instants in UTC).
func TestStoredPaymentRoundTrip(t *testing.T) {
	paid := sample(t, "a paid payment")
	if sp := paid.stored(); sp.raw != nil || sp.xfer == nil || len(sp.payment().History) != 4 {
		t.Errorf("a paid payment's history is not packed: %+v", sp)
	} else {
		// Every Payment gets its own history: changing one leaves the store's alone.
		first := sp.payment()
		first.History[1].Note = "changed"
		first.History = append(first.History, admin.Change{To: "x"})
		if again := sp.payment(); again.History[1].Note != "" || len(again.History) != 4 {
			t.Errorf("the stored history changed with a copy: %+v", again.History)
		}
	}
	tests := samplePayments()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := tt.p.stored()
			got := sp.payment()
			want := tt.p
			// Core and transfer times come back as the same instants in UTC.
			for _, tm := range []*time.Time{&want.CreatedAt, &want.UpdatedAt, &want.ExpiresAt, &want.ConciliatedAt, &want.ConfirmedAt} {
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
			// What a caller does to its copy leaves the stored payment alone.
			if len(got.Refunds) > 0 {
				got.Refunds[0].Cause = "changed"
			}
			if got.Pay.Delay != nil {
				*got.Pay.Delay = time.Hour
			}
			if again := sp.payment(); !reflect.DeepEqual(again.Refunds, tt.p.Refunds) || !reflect.DeepEqual(again.Pay.Delay, tt.p.Pay.Delay) {
				t.Errorf("the stored payment changed with a copy: %+v", again)
			}
		})
	}
	odd, fresh := sample(t, "an odd first history entry"), sample(t, "a fresh payment")
	if sp := odd.stored(); sp.raw == nil || len(sp.raw.history) != 1 {
		t.Errorf("a history outside the code tables is not kept as it came: %+v", sp)
	}
	if sp := fresh.stored(); sp.opt != nil || sp.xfer != nil || sp.pay != nil || sp.raw != nil || sp.createdBy == 0 {
		t.Errorf("a fresh payment is not stored compactly: %+v", sp)
	}
}

// Payments decided by the same rule share one stored plan; a different
// delay is a different plan.
func TestPaymentTableInternsPlans(t *testing.T) {
	pt := newPaymentTable()
	d1, d2, d3 := time.Second, time.Second, 2*time.Second
	for i, d := range []*time.Duration{&d1, &d2, &d3} {
		p := Payment{paymentCore: paymentCore{ID: fmt.Sprintf("plan%08d", i), API: "v2", Status: statusPending},
			Pay: payPlan{Matched: true, Scenario: "qa", Rule: "robot", Outcome: "approve", Delay: d, Auto: true}}
		if err := pt.Insert(p); err != nil {
			t.Fatal(err)
		}
	}
	plan := func(id string) *payPlan {
		k, _ := keyOf(id)
		sp, _ := pt.t.Get(k)
		return sp.pay
	}
	if plan("plan00000000") != plan("plan00000001") {
		t.Error("two payments with the same plan keep two copies")
	}
	if plan("plan00000000") == plan("plan00000002") || *plan("plan00000002").Delay != 2*time.Second {
		t.Error("plans with different delays were merged")
	}
	got, _ := pt.Get("plan00000001")
	if got.Pay.Delay == plan("plan00000001").Delay {
		t.Error("Get hands out the shared plan's delay pointer")
	}
}

// FuzzStoredPaymentRoundTrip: any strings, times and history entries come
// back from the packed form as they went in.
func FuzzStoredPaymentRoundTrip(f *testing.F) {
	f.Add("Compra", "https://shop.test/notify", "Juan Pérez", "verified", int64(1_900_000_000_000_000_000), uint8(1), uint8(2), true)
	f.Add("", "", "", "", int64(0), uint8(0), uint8(9), false)
	f.Add(strings.Repeat("x", 300), "\x00\xff", "ñ", strings.Repeat("n", 200), int64(-5), uint8(7), uint8(3), true)
	f.Fuzz(func(t *testing.T, subject, notifyURL, payer, note string, at int64, from, to uint8, paid bool) {
		states := append(stateCodes, "elsewhere")
		created := time.Unix(0, 1_800_000_000_000_000_000).UTC()
		p := Payment{paymentCore: paymentCore{ID: "abcdefghijkl", Token: strings.Repeat("ab", 32), API: "v3", Subject: subject,
			NotifyURL: notifyURL, Status: statusPending, StatusDetail: detailPending, CreatedAt: created},
			History: []admin.Change{{Time: created, To: statusPending, Cause: journal.CauseRequest, Note: creationNote("v3")},
				{Time: fromUnixNano(at), From: states[int(from)%len(states)], To: states[int(to)%len(states)], Cause: journal.CausePage, Note: note}}}
		if paid {
			p.payerTransfer = payerTransfer{Bank: "DemoBank", PayerName: payer, OperationCode: note, ConciliatedAt: fromUnixNano(at)}
		}
		sp := p.stored()
		got := sp.payment()
		if !reflect.DeepEqual(got, p) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, p)
		}
		if len(sp.data) != cap(sp.data) {
			t.Fatalf("packed %d bytes into an array of %d", len(sp.data), cap(sp.data))
		}
		if sp.id() != p.ID || sp.token() != p.Token {
			t.Fatalf("id %q token %q", sp.id(), sp.token())
		}
	})
}

func TestVarintLen(t *testing.T) {
	for _, x := range []int64{0, 1, -1, 63, -64, 64, -65, 1 << 20, -(1 << 40), 1_900_000_000_000_000_000, -1 << 63, 1<<63 - 1} {
		if got, want := varintLen(x), len(binary.AppendVarint(nil, x)); got != want {
			t.Errorf("varintLen(%d) = %d, want %d", x, got, want)
		}
		if got, want := uvarintLen(uint64(x)), len(binary.AppendUvarint(nil, uint64(x))); got != want {
			t.Errorf("uvarintLen(%d) = %d, want %d", uint64(x), got, want)
		}
	}
}
