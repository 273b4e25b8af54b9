package khipu

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sync"
	"time"
	"unsafe"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/admin"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/store"
)

// storedPayment is a Payment as it rests in the store, compacted: its
// strings, its payer transfer's strings and its history sit back to back
// in one pointer-free byte array (which the garbage collector marks without
// scanning), the option, transfer and plan groups stay nil while empty
// (what most payments are), times are Unix nanoseconds, the closed
// vocabularies (API, status, detail, history states and causes) are small
// codes, and the creation entry of the history is implied by CreatedAt.
// 100,000 stored payments then cost a few hundred bytes each and little
// garbage-collector work (docs/design.md, Budgets). stored and payment convert
// exactly, except that times come back in UTC without a monotonic reading
// (the same instants); TestStoredPaymentRoundTrip holds them to that.
type storedPayment struct {
	// data holds, in order: the strings of strFields, the history after
	// the implied creation entry, and the transfer's strings when xfer is
	// not nil; see pack. It is never modified once built, so copies of the
	// row share it and the strings payment() returns alias it.
	data       []byte
	ReceiverID int64
	Amount     emulators.Decimal
	created    int64
	updated    int64
	expires    int64
	verifySeq  int32
	api        uint8
	status     uint8
	detail     uint8
	createdBy  uint8
	flags      uint8
	// The groups most payments leave empty, nil while empty. What they
	// point to is never modified once stored: copies share it and
	// payment() copies out.
	opt  *paymentOptions
	xfer *storedTransfer
	pay  *payPlan // interned by the payment table: payments decided by one rule share it
	// raw keeps what falls outside the code tables (never, for the payments
	// the service makes).
	raw *rawPayment
}

// storedTransfer is the part of a payerTransfer that is not strings (those
// are in storedPayment.data).
type storedTransfer struct {
	conciliated int64
	confirmed   int64
	refunded    emulators.Decimal
	refunds     []Refund
}

// rawPayment holds what the codes of a storedPayment cannot say.
type rawPayment struct {
	fields  *[3]string     // API, status and detail, when one is not in its table
	history []admin.Change // the history after creation, when an entry is not in the tables
}

// The packed strings of a storedPayment, in order.
const (
	strID = iota
	strToken
	strReference
	strScenario
	strLinkBase
	strSubject
	strCurrency
	strTransactionID
	strNotifyAPI
	strNotifyURL
	strReturnURL
	strCancelURL
	nStr
)

func (p *Payment) strFields() [nStr]string {
	return [nStr]string{p.ID, p.Token, p.Reference, p.Scenario, p.LinkBase, p.Subject, p.Currency, p.TransactionID,
		p.NotifyAPIVersion, p.NotifyURL, p.ReturnURL, p.CancelURL}
}

// The packed strings of a payer transfer, in order.
const (
	xferBank = iota
	xferBankID
	xferPayerName
	xferPayerEmail
	xferPersonalIdentifier
	xferBankAccountNumber
	xferPaymentMethod
	xferFundsSource
	xferOperationCode
	nXferStr
)

func (x *payerTransfer) strFields() [nXferStr]string {
	return [nXferStr]string{x.Bank, x.BankID, x.PayerName, x.PayerEmail, x.PersonalIdentifier, x.BankAccountNumber,
		x.PaymentMethod, x.FundsSource, x.OperationCode}
}

const (
	flagInternal = 1 << iota
	flagSendEmail
	flagSendReminders
	flagDeleted
	flagUncertain
	flagExpiryHandled
)

var (
	apiCodes    = []string{"", "v2", "v3", "payu"}
	statusCodes = []string{"", statusPending, statusVerifying, statusDone}
	detailCodes = []string{"", detailPending, detailNormal, detailMarkedPaid, detailReversed}
	causeCodes  = []string{"", journal.CauseRequest, journal.CauseHook, journal.CauseAdmin, journal.CauseScenario, journal.CausePage, journal.CauseTimer}
	// stateCodes are the states a history entry goes between (Payment.state).
	stateCodes = []string{"", statusPending, statusVerifying, statusDone + "/" + detailNormal,
		statusDone + "/" + detailMarkedPaid, statusDone + "/" + detailReversed, statusDone + "/" + detailPending, "deleted"}
)

// code returns the index of v in codes, or -1.
func code(codes []string, v string) int {
	for i, c := range codes {
		if c == v {
			return i
		}
	}
	return -1
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// appendString appends s as its length (uvarint) and its bytes.
func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// codedHistory reports whether every entry of h fits the code tables.
func codedHistory(h []admin.Change) bool {
	for _, c := range h {
		if code(stateCodes, c.From) < 0 || code(stateCodes, c.To) < 0 || code(causeCodes, c.Cause) < 0 {
			return false
		}
	}
	return true
}

// pack builds storedPayment.data: nStr strings, then the number of history
// entries and each entry (time as a varint of Unix nanoseconds, the codes
// of from, to and cause, the note), then nXferStr strings when xfer is set.
func pack(p *Payment, history []admin.Change, xfer bool) []byte {
	fields := p.strFields()
	var xf [nXferStr]string
	nx := 0
	if xfer {
		xf, nx = p.payerTransfer.strFields(), nXferStr
	}
	// The exact size: the row keeps this array for the payment's lifetime.
	n := uvarintLen(uint64(len(history)))
	for _, f := range fields {
		n += uvarintLen(uint64(len(f))) + len(f)
	}
	for _, f := range xf[:nx] {
		n += uvarintLen(uint64(len(f))) + len(f)
	}
	for _, c := range history {
		n += varintLen(unixNano(c.Time)) + 3 + uvarintLen(uint64(len(c.Note))) + len(c.Note)
	}
	b := make([]byte, 0, n)
	for _, f := range fields {
		b = appendString(b, f)
	}
	b = binary.AppendUvarint(b, uint64(len(history)))
	for _, c := range history {
		b = binary.AppendVarint(b, unixNano(c.Time))
		b = append(b, uint8(code(stateCodes, c.From)), uint8(code(stateCodes, c.To)), uint8(code(causeCodes, c.Cause)))
		b = appendString(b, c.Note)
	}
	for _, f := range xf[:nx] {
		b = appendString(b, f)
	}
	return b
}

// uvarintLen and varintLen are the sizes binary.AppendUvarint and
// binary.AppendVarint give x.
func uvarintLen(x uint64) int {
	n := 1
	for ; x >= 0x80; x >>= 7 {
		n++
	}
	return n
}

func varintLen(x int64) int {
	ux := uint64(x) << 1
	if x < 0 {
		ux = ^ux
	}
	return uvarintLen(ux)
}

// unpacker reads storedPayment.data. Its strings alias the data.
type unpacker struct {
	b   []byte
	off int
}

func (u *unpacker) uvarint() uint64 {
	v, n := binary.Uvarint(u.b[u.off:])
	u.off += n
	return v
}

func (u *unpacker) string() string {
	n := int(u.uvarint())
	if n == 0 {
		return ""
	}
	s := unsafe.String(&u.b[u.off], n)
	u.off += n
	return s
}

func (u *unpacker) strings(out []string) {
	for i := range out {
		out[i] = u.string()
	}
}

// history appends n packed history entries to h.
func (u *unpacker) history(h []admin.Change, n int) []admin.Change {
	for range n {
		at, k := binary.Varint(u.b[u.off:])
		u.off += k
		from, to, cause := u.b[u.off], u.b[u.off+1], u.b[u.off+2]
		u.off += 3
		h = append(h, admin.Change{Time: fromUnixNano(at), From: stateCodes[from], To: stateCodes[to], Cause: causeCodes[cause], Note: u.string()})
	}
	return h
}

// id and token are the packed ID and token (aliases of sp.data).
func (sp *storedPayment) id() string {
	u := unpacker{b: sp.data}
	return u.string()
}

func (sp *storedPayment) token() string {
	u := unpacker{b: sp.data}
	u.string()
	return u.string()
}

func (p *Payment) stored() storedPayment { return p.storedWith(ownPlan) }

// ownPlan is a fresh copy of pl for one stored payment.
func ownPlan(pl payPlan) *payPlan {
	if pl.Delay != nil {
		d := *pl.Delay
		pl.Delay = &d
	}
	return &pl
}

// storedWith packs p, its plan (when matched) given by plan.
func (p *Payment) storedWith(plan func(payPlan) *payPlan) storedPayment {
	sp := storedPayment{
		ReceiverID: p.ReceiverID, Amount: p.Amount,
		created: unixNano(p.CreatedAt), updated: unixNano(p.UpdatedAt), expires: unixNano(p.ExpiresAt),
		verifySeq: int32(p.VerifySeq),
	}
	a, st, d := code(apiCodes, p.API), code(statusCodes, p.Status), code(detailCodes, p.StatusDetail)
	if a < 0 || st < 0 || d < 0 {
		sp.raw = &rawPayment{fields: &[3]string{p.API, p.Status, p.StatusDetail}}
	} else {
		sp.api, sp.status, sp.detail = uint8(a), uint8(st), uint8(d)
	}
	for _, f := range [...]struct {
		bit uint8
		on  bool
	}{{flagInternal, p.Internal}, {flagSendEmail, p.SendEmail}, {flagSendReminders, p.SendReminders},
		{flagDeleted, p.Deleted}, {flagUncertain, p.Uncertain}, {flagExpiryHandled, p.ExpiryHandled}} {
		if f.on {
			sp.flags |= f.bit
		}
	}
	history := p.History
	if len(history) > 0 {
		h := history[0]
		if c := code(causeCodes, h.Cause); c > 0 && h.From == "" && h.To == statusPending && h.Note == creationNote(p.API) && h.Time.Equal(p.CreatedAt) {
			sp.createdBy = uint8(c)
			history = history[1:]
		}
	}
	if !codedHistory(history) {
		if sp.raw == nil {
			sp.raw = &rawPayment{}
		}
		sp.raw.history = append([]admin.Change(nil), history...)
		history = nil
	}
	xfer := !p.payerTransfer.isZero()
	sp.data = pack(p, history, xfer)
	if p.paymentOptions != (paymentOptions{}) {
		o := p.paymentOptions
		sp.opt = &o
	}
	if xfer {
		x := &p.payerTransfer
		sp.xfer = &storedTransfer{conciliated: unixNano(x.ConciliatedAt), confirmed: unixNano(x.ConfirmedAt),
			refunded: x.Refunded, refunds: append([]Refund(nil), x.Refunds...)}
	}
	if p.Pay.Matched {
		sp.pay = plan(p.Pay)
	}
	return sp
}

func (sp *storedPayment) payment() Payment {
	u := unpacker{b: sp.data}
	var f [nStr]string
	u.strings(f[:])
	p := Payment{paymentCore: paymentCore{
		ID: f[strID], Token: f[strToken], Reference: f[strReference], Scenario: f[strScenario], LinkBase: f[strLinkBase],
		Subject: f[strSubject], Currency: f[strCurrency], TransactionID: f[strTransactionID], NotifyAPIVersion: f[strNotifyAPI],
		NotifyURL: f[strNotifyURL], ReturnURL: f[strReturnURL], CancelURL: f[strCancelURL],
		ReceiverID: sp.ReceiverID, Amount: sp.Amount,
		CreatedAt: fromUnixNano(sp.created), UpdatedAt: fromUnixNano(sp.updated), ExpiresAt: fromUnixNano(sp.expires),
		VerifySeq: int(sp.verifySeq),
		API:       apiCodes[sp.api], Status: statusCodes[sp.status], StatusDetail: detailCodes[sp.detail],
		Internal: sp.flags&flagInternal != 0, SendEmail: sp.flags&flagSendEmail != 0, SendReminders: sp.flags&flagSendReminders != 0,
		Deleted: sp.flags&flagDeleted != 0, Uncertain: sp.flags&flagUncertain != 0, ExpiryHandled: sp.flags&flagExpiryHandled != 0,
	}}
	var rawHistory []admin.Change
	if sp.raw != nil {
		if sp.raw.fields != nil {
			p.API, p.Status, p.StatusDetail = sp.raw.fields[0], sp.raw.fields[1], sp.raw.fields[2]
		}
		rawHistory = sp.raw.history
	}
	// A fresh history every time: callers append to it.
	if n := int(u.uvarint()); sp.createdBy != 0 || n+len(rawHistory) > 0 {
		p.History = make([]admin.Change, 0, 1+n+len(rawHistory))
		if sp.createdBy != 0 {
			p.History = append(p.History, admin.Change{Time: p.CreatedAt, To: statusPending, Cause: causeCodes[sp.createdBy], Note: creationNote(p.API)})
		}
		p.History = u.history(p.History, n)
		p.History = append(p.History, rawHistory...)
	}
	if sp.opt != nil {
		p.paymentOptions = *sp.opt
	}
	if sp.xfer != nil {
		var x [nXferStr]string
		u.strings(x[:])
		p.payerTransfer = payerTransfer{Bank: x[xferBank], BankID: x[xferBankID], PayerName: x[xferPayerName], PayerEmail: x[xferPayerEmail],
			PersonalIdentifier: x[xferPersonalIdentifier], BankAccountNumber: x[xferBankAccountNumber],
			PaymentMethod: x[xferPaymentMethod], FundsSource: x[xferFundsSource], OperationCode: x[xferOperationCode],
			ConciliatedAt: fromUnixNano(sp.xfer.conciliated), ConfirmedAt: fromUnixNano(sp.xfer.confirmed),
			Refunded: sp.xfer.refunded, Refunds: append([]Refund(nil), sp.xfer.refunds...)}
	}
	if sp.pay != nil {
		p.Pay = *sp.pay
		if p.Pay.Delay != nil {
			d := *p.Pay.Delay
			p.Pay.Delay = &d
		}
	}
	return p
}

// paymentKey is a payment id as the store's key: fixed-size and free of
// pointers, so that the store's map and order hold nothing for the garbage
// collector to scan.
type paymentKey [idLength]byte

// idLength is the length of every payment id (§4.1).
const idLength = 12

func keyOf(id string) (paymentKey, bool) {
	var k paymentKey
	if len(id) != idLength {
		return k, false
	}
	copy(k[:], id)
	return k, true
}

// paymentStore is all the service asks of the payment storage: payments
// go in and come out as Payment, whatever the storage keeps. paymentTable
// is the one implementation (the packed rows above); persistence binds its
// rows directly (persist.go).
type paymentStore interface {
	Get(id string) (Payment, bool)
	Has(id string) bool
	Insert(p Payment) error
	Update(id string, f func(p *Payment) error) (Payment, error)
	Page(keep func(Payment) bool, offset, limit int) ([]Payment, int)
	Clear()
	Len() int
	// SetLimit keeps at most n payments, evicting the oldest; evicted is
	// told each evicted payment's notification token.
	SetLimit(n int, evicted func(token string))
}

var _ paymentStore = paymentTable{}

// paymentTable is the store of payments, in and out as Payment.
type paymentTable struct {
	t     *store.Table[paymentKey, storedPayment]
	plans *sync.Map // planKey → *payPlan, never modified
}

func newPaymentTable() paymentTable {
	// A storedPayment is copied by assignment: nothing it points to is
	// modified once stored (payment() copies out).
	return paymentTable{t: store.New[paymentKey, storedPayment](nil), plans: &sync.Map{}}
}

// planKey is a payPlan as a comparable value.
type planKey struct {
	matched, auto, hasDelay bool
	delay                   time.Duration
	scenario, rule, outcome string
	payer                   ScenarioPayer
}

// intern returns the table's shared copy of the plan pl: payments decided
// by the same rule keep one plan between them (copied once, on first use).
func (pt paymentTable) intern(pl payPlan) *payPlan {
	k := planKey{matched: pl.Matched, auto: pl.Auto, scenario: pl.Scenario, rule: pl.Rule, outcome: pl.Outcome, payer: pl.Payer}
	if pl.Delay != nil {
		k.hasDelay, k.delay = true, *pl.Delay
	}
	if v, ok := pt.plans.Load(k); ok {
		return v.(*payPlan)
	}
	v, _ := pt.plans.LoadOrStore(k, ownPlan(pl))
	return v.(*payPlan)
}

func (pt paymentTable) Get(id string) (Payment, bool) {
	k, ok := keyOf(id)
	if !ok {
		return Payment{}, false
	}
	sp, ok := pt.t.Get(k)
	if !ok {
		return Payment{}, false
	}
	return sp.payment(), true
}

// Has reports whether the payment is stored.
func (pt paymentTable) Has(id string) bool {
	k, ok := keyOf(id)
	return ok && pt.t.Has(k)
}

// Insert stores p under its ID (idLength characters).
func (pt paymentTable) Insert(p Payment) error {
	k, ok := keyOf(p.ID)
	if !ok {
		return fmt.Errorf("payment id %q is not %d characters", p.ID, idLength)
	}
	sp := p.storedWith(pt.intern)
	return pt.t.Insert(k, sp)
}

func (pt paymentTable) Update(id string, f func(p *Payment) error) (Payment, error) {
	k, ok := keyOf(id)
	if !ok {
		return Payment{}, store.ErrNotFound
	}
	sp, err := pt.t.Update(k, func(sp *storedPayment) error {
		p := sp.payment()
		if err := f(&p); err != nil {
			return err
		}
		*sp = p.storedWith(pt.intern)
		return nil
	})
	return sp.payment(), err
}

func (pt paymentTable) Page(keep func(Payment) bool, offset, limit int) ([]Payment, int) {
	var k func(storedPayment) bool
	if keep != nil {
		k = func(sp storedPayment) bool { return keep(sp.payment()) }
	}
	rows, total := pt.t.Page(k, offset, limit)
	out := make([]Payment, len(rows))
	for i := range rows {
		out[i] = rows[i].payment()
	}
	return out, total
}

func (pt paymentTable) Clear() { pt.t.Clear() }

func (pt paymentTable) SetLimit(n int, evicted func(token string)) {
	pt.t.SetLimit(n, func(_ paymentKey, sp storedPayment) { evicted(sp.token()) })
}

func (pt paymentTable) Len() int { return pt.t.Len() }

// tokenIndex maps notification tokens to payment ids with pointer-free keys
// and values (a 64-hex token is 32 bytes, an id 12): 100,000 entries give the
// garbage collector nothing to scan.
type tokenIndex struct {
	mu sync.RWMutex
	m  map[[32]byte]paymentKey
}

func newTokenIndex() *tokenIndex { return &tokenIndex{m: map[[32]byte]paymentKey{}} }

func tokenKey(token string) ([32]byte, bool) {
	var k [32]byte
	if len(token) != 64 {
		return k, false
	}
	if _, err := hex.Decode(k[:], []byte(token)); err != nil {
		return k, false
	}
	return k, true
}

func (ti *tokenIndex) Put(token, id string) {
	t, ok1 := tokenKey(token)
	k, ok2 := keyOf(id)
	if !ok1 || !ok2 {
		return
	}
	ti.mu.Lock()
	ti.m[t] = k
	ti.mu.Unlock()
}

func (ti *tokenIndex) Get(token string) (string, bool) {
	t, ok := tokenKey(token)
	if !ok {
		return "", false
	}
	ti.mu.RLock()
	k, ok := ti.m[t]
	ti.mu.RUnlock()
	if !ok {
		return "", false
	}
	return string(k[:]), true
}

func (ti *tokenIndex) Has(token string) bool {
	_, ok := ti.Get(token)
	return ok
}

func (ti *tokenIndex) Delete(token string) {
	if t, ok := tokenKey(token); ok {
		ti.mu.Lock()
		delete(ti.m, t)
		ti.mu.Unlock()
	}
}

func (ti *tokenIndex) Clear() {
	ti.mu.Lock()
	ti.m = map[[32]byte]paymentKey{}
	ti.mu.Unlock()
}
