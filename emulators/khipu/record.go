package khipu

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/admin"
)

// The payment record is the on-disk form of a Khipu payment: the value of
// a payment in state.db and in the write-ahead log. It serialises the
// storedPayment row directly, so that persisting a create or an update
// costs a few appends instead of unpacking the row into a Payment and
// encoding that as JSON; export turns a record back into the JSON of
// Payment, and an import's JSON goes the other way, so no user has to
// handle this layout. Layout 1, in order:
//
//	layout     1 byte, recordLayout
//	data       uvarint length, then storedPayment.data as is (see pack)
//	receiver   varint
//	amount     uvarint length, then the decimal's text ("1570", "10.50")
//	created    varint Unix nanoseconds (0: zero time), then updated, expires
//	verifySeq  varint, within int32
//	codes      5 bytes: api, status, detail, createdBy, flags
//	groups     1 byte: which of opt, xfer, pay, raw follow (groupOpt...)
//	opt        uvarint length, then the JSON of paymentOptions
//	xfer       varint conciliated, varint confirmed, the refunded decimal
//	           (as amount), uvarint length then the JSON of the refunds
//	           (length 0: none)
//	pay        1 byte of plan flags (planMatched...), the scenario, rule
//	           and outcome strings, varint delay nanoseconds when planDelay
//	           is set, the payer's method, bank id, RUT and e-mail strings
//	raw        uvarint length, then the JSON of rawRecord
//
// Strings are a uvarint length and the bytes. The groups most payments
// leave empty are JSON: they are rare, and JSON keeps the offsets of their
// times as the Payment JSON did. Changing any of this means a new
// recordLayout value, and keeping the reader of every older layout, since
// state.db and the log of a previous sandbox hold records of it. That
// includes the layout of storedPayment.data, which the record copies: a
// change to pack is a change of layout. So are the code tables (apiCodes,
// statusCodes, detailCodes, causeCodes, stateCodes) and the flag bits:
// codes may be added at the end of a table, never moved or removed.
// TestPaymentRecordGolden fails on most of these changes.

// recordLayout is the first byte of every payment record packRecord writes.
// A record with another first byte comes from a sandbox with another
// layout, and is refused rather than misread.
const recordLayout = 1

// The bits of a record's groups byte: which optional groups follow.
const (
	groupOpt = 1 << iota
	groupXfer
	groupPay
	groupRaw
	knownGroups = groupRaw<<1 - 1
)

// The bits of a pay plan's flags byte.
const (
	planMatched = 1 << iota
	planAuto
	planDelay
	knownPlanFlags = planDelay<<1 - 1
)

// knownFlags are the bits of storedPayment.flags.
const knownFlags = flagExpiryHandled<<1 - 1

// historyEntryMin is the fewest bytes a packed history entry takes: a
// one-byte time, three codes and an empty note.
const historyEntryMin = 5

// rawRecord is rawPayment with exported fields, for its JSON.
type rawRecord struct {
	Fields  *[3]string     `json:",omitempty"`
	History []admin.Change `json:",omitempty"`
}

// packRecord appends the record of sp to b and returns the extended slice.
// It fails only when a JSON group does not encode (a time outside the
// years 0-9999, which encoding/json refuses), as the Payment JSON did.
// It runs on every persisted create and update, so a payment without
// options, refunds or raw fields costs no allocation beyond growing b
// (none with a reused buffer): TestPackRecordAllocs holds it to that.
func packRecord(b []byte, sp storedPayment) ([]byte, error) {
	var err error
	b = slices.Grow(b, 64+len(sp.data))
	b = append(b, recordLayout)
	b = binary.AppendUvarint(b, uint64(len(sp.data)))
	b = append(b, sp.data...)
	b = binary.AppendVarint(b, sp.ReceiverID)
	b = appendDecimal(b, sp.Amount)
	b = binary.AppendVarint(b, sp.created)
	b = binary.AppendVarint(b, sp.updated)
	b = binary.AppendVarint(b, sp.expires)
	b = binary.AppendVarint(b, int64(sp.verifySeq))
	b = append(b, sp.api, sp.status, sp.detail, sp.createdBy, sp.flags)
	var groups uint8
	if sp.opt != nil {
		groups |= groupOpt
	}
	if sp.xfer != nil {
		groups |= groupXfer
	}
	if sp.pay != nil {
		groups |= groupPay
	}
	if sp.raw != nil {
		groups |= groupRaw
	}
	b = append(b, groups)
	if sp.opt != nil {
		b = appendJSON(b, sp.opt, &err)
	}
	if x := sp.xfer; x != nil {
		b = binary.AppendVarint(b, x.conciliated)
		b = binary.AppendVarint(b, x.confirmed)
		b = appendDecimal(b, x.refunded)
		if len(x.refunds) == 0 {
			b = append(b, 0)
		} else {
			b = appendJSON(b, x.refunds, &err)
		}
	}
	if pl := sp.pay; pl != nil {
		var f uint8
		if pl.Matched {
			f |= planMatched
		}
		if pl.Auto {
			f |= planAuto
		}
		if pl.Delay != nil {
			f |= planDelay
		}
		b = append(b, f)
		b = appendString(b, pl.Scenario)
		b = appendString(b, pl.Rule)
		b = appendString(b, pl.Outcome)
		if pl.Delay != nil {
			b = binary.AppendVarint(b, int64(*pl.Delay))
		}
		b = appendString(b, pl.Payer.Method)
		b = appendString(b, pl.Payer.BankID)
		b = appendString(b, pl.Payer.RUT)
		b = appendString(b, pl.Payer.Email)
	}
	if sp.raw != nil {
		b = appendJSON(b, rawRecord{Fields: sp.raw.fields, History: sp.raw.history}, &err)
	}
	return b, err
}

// appendJSON appends the JSON of v with its uvarint length; the first
// failure is kept in *errp.
func appendJSON(b []byte, v any, errp *error) []byte {
	j, err := json.Marshal(v)
	if err != nil {
		if *errp == nil {
			*errp = fmt.Errorf("khipu payment record: %w", err)
		}
		return b
	}
	b = binary.AppendUvarint(b, uint64(len(j)))
	return append(b, j...)
}

// appendDecimal appends the text of d (what d.String gives) with its
// uvarint length. Text rather than the coefficient and scale keeps the
// record independent of how package emulators represents a Decimal.
func appendDecimal(b []byte, d emulators.Decimal) []byte {
	var buf [32]byte
	t, _ := d.AppendText(buf[:0])
	b = binary.AppendUvarint(b, uint64(len(t)))
	return append(b, t...)
}

// unpackRecord reads a record packRecord wrote. The record comes from the
// disk or from a user's import, so nothing in it is trusted: every length
// is checked against what remains before anything is allocated (memory
// stays within a small multiple of len(b), time linear in it), every code
// against its table, every flag against the known bits, and the packed
// data against the layout pack writes (checkData), so that payment, id
// and token cannot panic on a row it returns. Nothing returned aliases b,
// which the caller may reuse. A matched pay plan goes through intern (the
// payment table's, so that restored payments share plans as live ones do;
// nil gives each its own).
func unpackRecord(b []byte, intern func(payPlan) *payPlan) (storedPayment, error) {
	sp, err := readRecord(b, intern)
	if err != nil {
		return storedPayment{}, fmt.Errorf("khipu payment record: %w", err)
	}
	return sp, nil
}

// readRecord is unpackRecord without the prefix of its errors.
func readRecord(b []byte, intern func(payPlan) *payPlan) (storedPayment, error) {
	if len(b) == 0 {
		return storedPayment{}, errors.New("empty")
	}
	if b[0] != recordLayout {
		return storedPayment{}, fmt.Errorf("layout %d is not one this sandbox reads (layout %d): a newer sandbox wrote it, or it is no payment record", b[0], recordLayout)
	}
	r := recordReader{b: b, off: 1}
	var sp storedPayment
	if t := r.bytes(r.length("data")); r.err == nil {
		// A fresh array of its own: b may be a buffer the caller reuses.
		sp.data = make([]byte, len(t))
		copy(sp.data, t)
	}
	sp.ReceiverID = r.varint("receiver id")
	sp.Amount = r.decimal("amount")
	sp.created = r.varint("creation time")
	sp.updated = r.varint("update time")
	sp.expires = r.varint("expiry time")
	if seq := r.varint("verification sequence"); int64(int32(seq)) != seq {
		r.fail("verification sequence %d is out of range", seq)
	} else {
		sp.verifySeq = int32(seq)
	}
	sp.api = r.code("api", apiCodes)
	sp.status = r.code("status", statusCodes)
	sp.detail = r.code("detail", detailCodes)
	sp.createdBy = r.code("creation cause", causeCodes)
	sp.flags = r.bits("flags", knownFlags)
	groups := r.bits("groups", knownGroups)
	if groups&groupOpt != 0 {
		var o paymentOptions
		r.json("options", &o)
		if r.err == nil && o == (paymentOptions{}) {
			r.fail("options: present but empty")
		}
		sp.opt = &o
	}
	if groups&groupXfer != 0 {
		x := &storedTransfer{}
		x.conciliated = r.varint("conciliation time")
		x.confirmed = r.varint("confirmation time")
		x.refunded = r.decimal("refunded amount")
		// No bytes: no refunds (what most transfers have).
		if t := r.bytes(r.length("refunds")); len(t) > 0 {
			x.refunds = make([]Refund, 0, r.jsonElements("refunds", t, 1))
			r.decodeJSON("refunds", t, &x.refunds)
			if r.err == nil && len(x.refunds) == 0 {
				r.fail("refunds: present but empty")
			}
		}
		sp.xfer = x
	}
	if groups&groupPay != 0 {
		var pl payPlan
		f := r.bits("pay plan flags", knownPlanFlags)
		if r.err == nil && f&planMatched == 0 {
			r.fail("pay plan: not matched (only matched plans are kept)")
		}
		pl.Matched, pl.Auto = f&planMatched != 0, f&planAuto != 0
		pl.Scenario = r.string("pay plan scenario")
		pl.Rule = r.string("pay plan rule")
		pl.Outcome = r.string("pay plan outcome")
		if f&planDelay != 0 {
			d := time.Duration(r.varint("pay plan delay"))
			pl.Delay = &d
		}
		pl.Payer.Method = r.string("payer method")
		pl.Payer.BankID = r.string("payer bank id")
		pl.Payer.RUT = r.string("payer RUT")
		pl.Payer.Email = r.string("payer e-mail")
		if r.err == nil {
			if intern == nil {
				intern = ownPlan
			}
			sp.pay = intern(pl)
		}
	}
	if groups&groupRaw != 0 {
		t := r.bytes(r.length("raw fields"))
		// Room for the history: the elements of the arrays one level in
		// (Fields' three included).
		raw := rawRecord{History: make([]admin.Change, 0, r.jsonElements("raw fields", t, 2))}
		r.decodeJSON("raw fields", t, &raw)
		if len(raw.History) == 0 {
			raw.History = nil
		}
		switch {
		case r.err != nil:
		case raw.Fields == nil && len(raw.History) == 0:
			r.fail("raw fields: present but empty")
		case raw.Fields != nil && (sp.api != 0 || sp.status != 0 || sp.detail != 0):
			// storedWith codes them, or keeps them raw, never both.
			r.fail("raw fields: api, status and detail are coded as well")
		}
		sp.raw = &rawPayment{fields: raw.Fields, history: raw.History}
	}
	if r.err != nil {
		return storedPayment{}, r.err
	}
	if left := len(b) - r.off; left > 0 {
		return storedPayment{}, fmt.Errorf("%d bytes after the end", left)
	}
	if err := checkData(sp.data, sp.xfer != nil); err != nil {
		return storedPayment{}, err
	}
	if id := sp.id(); len(id) != idLength {
		// As keyOf: the id is the payment's key in the table.
		return storedPayment{}, fmt.Errorf("payment id of %d characters, not %d", len(id), idLength)
	}
	return sp, nil
}

// checkData checks that data is what pack writes (nStr strings, a history
// count and its entries with codes within stateCodes and causeCodes, then
// nXferStr strings when xfer is set, and nothing more), walking it as
// unpacker will: unpacker trusts the data it reads, so what passes here
// can be read by payment, id and token without panicking.
func checkData(data []byte, xfer bool) error {
	r := recordReader{b: data}
	for range nStr {
		r.skip("payment string")
	}
	n := r.uvarint("history count")
	if r.err != nil {
		return r.err
	}
	// payment() makes room for n entries: n must be what the data holds.
	if n > uint64(len(data)-r.off)/historyEntryMin {
		return fmt.Errorf("history count %d is more than the data holds", n)
	}
	for i := range int(n) {
		r.varint("time")
		if r.err != nil {
			return fmt.Errorf("history entry %d: %w", i+1, r.err)
		}
		if len(data)-r.off < 3 {
			return fmt.Errorf("history entry %d: cut short", i+1)
		}
		from, to, cause := data[r.off], data[r.off+1], data[r.off+2]
		r.off += 3
		for _, c := range [...]uint8{from, to} {
			if int(c) >= len(stateCodes) {
				return fmt.Errorf("history entry %d: state code %d is not known", i+1, c)
			}
		}
		if int(cause) >= len(causeCodes) {
			return fmt.Errorf("history entry %d: cause code %d is not known", i+1, cause)
		}
		if r.skip("note"); r.err != nil {
			return fmt.Errorf("history entry %d: %w", i+1, r.err)
		}
	}
	if xfer {
		for range nXferStr {
			r.skip("transfer string")
		}
	}
	if r.err != nil {
		return r.err
	}
	if left := len(data) - r.off; left > 0 {
		return fmt.Errorf("data: %d bytes after the end", left)
	}
	return nil
}

// recordReader reads a record or its data. The first failure sticks in
// err, and every later read returns a zero value, so that a run of reads
// needs one check at its end.
type recordReader struct {
	b   []byte
	off int
	err error
}

func (r *recordReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

func (r *recordReader) uvarint(what string) uint64 { return r.number(what, "uvarint") }

// varint reads a signed varint: the zigzag form binary.AppendVarint
// writes over a uvarint.
func (r *recordReader) varint(what string) int64 {
	ux := r.number(what, "varint")
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x
}

// number reads a uvarint (of a value written as kind).
func (r *recordReader) number(what, kind string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail("%s: not a %s", what, kind)
		return 0
	}
	r.off += n
	return v
}

// length reads a length prefix, refused when more than what remains.
func (r *recordReader) length(what string) int {
	n := r.uvarint(what)
	if r.err != nil {
		return 0
	}
	if left := len(r.b) - r.off; n > uint64(left) {
		r.fail("%s: length %d is more than the %d bytes left", what, n, left)
		return 0
	}
	return int(n)
}

// bytes returns the next n bytes (an alias of the record).
func (r *recordReader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

// string reads a length-prefixed string, copied out of the record.
func (r *recordReader) string(what string) string {
	return string(r.bytes(r.length(what)))
}

// skip steps over a length-prefixed string.
func (r *recordReader) skip(what string) {
	r.bytes(r.length(what))
}

func (r *recordReader) byte(what string) uint8 {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.b) {
		r.fail("%s: cut short", what)
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

// code reads a one-byte index into codes.
func (r *recordReader) code(what string, codes []string) uint8 {
	c := r.byte(what)
	if r.err == nil && int(c) >= len(codes) {
		r.fail("%s code %d is not known", what, c)
		return 0
	}
	return c
}

// bits reads a byte of flags, refused when a bit outside known is set.
func (r *recordReader) bits(what string, known uint8) uint8 {
	f := r.byte(what)
	if r.err == nil && f&^known != 0 {
		r.fail("%s %#02x: unknown bits %#02x", what, f, f&^known)
		return 0
	}
	return f
}

// decimal reads a length-prefixed decimal text.
func (r *recordReader) decimal(what string) emulators.Decimal {
	t := r.bytes(r.length(what))
	if r.err != nil {
		return emulators.Decimal{}
	}
	var d emulators.Decimal
	if err := d.UnmarshalText(t); err != nil {
		// Not the parser's message: it quotes the whole text.
		r.fail("%s: %d bytes that are not a decimal number", what, len(t))
	}
	return d
}

// json decodes a length-prefixed JSON value into v.
func (r *recordReader) json(what string, v any) {
	r.decodeJSON(what, r.bytes(r.length(what)), v)
}

// jsonElementMin is fewer bytes than any element of a JSON array
// packRecord writes takes: a refund is at least 52
// ({"Amount":"0","At":"0001-01-01T00:00:00Z","Cause":""}), a history
// entry at least 60.
const jsonElementMin = 32

// jsonElements counts the elements of the arrays at depth in the JSON t
// (1: t is the array), and refuses more than t could hold were it written
// by packRecord: the decoder allocates each element (a history entry is 88
// bytes) before it can tell that the element is empty or of the wrong
// type, so that 300 kB of "[0,0,0,…]" would cost tens of megabytes.
// Counted first, the elements are at most len(t)/jsonElementMin (plus the
// raw fields' three), and the slice they go into is allocated once at that
// size instead of growing. A t that is not JSON miscounts, harmlessly:
// the decoder refuses it before it decodes anything.
func (r *recordReader) jsonElements(what string, t []byte, depth int) int {
	n, level := 0, 0
	inString, escaped, inArray, first := false, false, false, false
	for _, c := range t {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			continue
		}
		if first && level == depth {
			first = false
			if c != ']' {
				n++
			}
		}
		switch c {
		case '"':
			inString = true
		case '[', '{':
			level++
			if level == depth {
				inArray = c == '['
				first = inArray
			}
		case ']', '}':
			level--
		case ',':
			if level == depth && inArray {
				n++
			}
		}
	}
	if n > 3+len(t)/jsonElementMin {
		r.fail("%s: %d array elements in %d bytes of JSON, more than were written", what, n, len(t))
		return 0
	}
	return n
}

// decodeJSON decodes t into v: exactly one JSON value, with no field v
// does not have.
func (r *recordReader) decodeJSON(what string, t []byte, v any) {
	if r.err != nil {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// Truncated: the decoder's messages may quote the input.
		r.fail("%s: not the JSON written (%.80s)", what, err.Error())
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		r.fail("%s: more after the JSON value", what)
	}
}
