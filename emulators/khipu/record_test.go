package khipu

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/sandboxtest"
)

// storedJSON is the JSON of sp's payment, what export writes: two rows
// with the same JSON are the same payment (zone names and monotonic
// readings aside, which neither the JSON nor the record keeps).
func storedJSON(t testing.TB, sp storedPayment) []byte {
	t.Helper()
	j, err := json.Marshal(sp.payment())
	if err != nil {
		t.Fatalf("the payment of an accepted record does not encode: %v", err)
	}
	return j
}

// TestPaymentRecordRoundTrip: every sample payment's record reads back as
// the same payment and packs again to the same bytes; every cut or
// lengthened record, and a record of another layout, is refused.
func TestPaymentRecordRoundTrip(t *testing.T) {
	for _, s := range samplePayments() {
		t.Run(s.name, func(t *testing.T) {
			sp := s.p.stored()
			rec := mustPack(sp)
			got, err := unpackRecord(rec, ownPlan)
			if err != nil {
				t.Fatalf("unpackRecord: %v", err)
			}
			if g, w := storedJSON(t, got), storedJSON(t, sp); !bytes.Equal(g, w) {
				t.Errorf("round trip:\n got %s\nwant %s", g, w)
			}
			if again := mustPack(got); !bytes.Equal(again, rec) {
				t.Errorf("packed again:\n got %x\nwant %x", again, rec)
			}
			if got.id() != s.p.ID || got.token() != s.p.Token {
				t.Errorf("id %q token %q", got.id(), got.token())
			}
			if (got.opt == nil) != (sp.opt == nil) || (got.xfer == nil) != (sp.xfer == nil) ||
				(got.pay == nil) != (sp.pay == nil) || (got.raw == nil) != (sp.raw == nil) {
				t.Errorf("groups differ: got %+v, want %+v", got, sp)
			}
			// The row owns its data: the record's buffer can be reused.
			if len(got.data) != cap(got.data) {
				t.Errorf("data of %d bytes in an array of %d", len(got.data), cap(got.data))
			}
			want := storedJSON(t, got)
			for i := range rec {
				rec[i] = 0xff
			}
			if g := storedJSON(t, got); !bytes.Equal(g, want) {
				t.Errorf("the row changed with the record's buffer:\n got %s\nwant %s", g, want)
			}

			rec = mustPack(sp)
			for n := range len(rec) {
				if _, err := unpackRecord(rec[:n], ownPlan); err == nil {
					t.Errorf("the first %d of %d bytes were accepted", n, len(rec))
				}
			}
			if _, err := unpackRecord(append(rec[:len(rec):len(rec)], 0), ownPlan); err == nil || !strings.Contains(err.Error(), "1 bytes after the end") {
				t.Errorf("a trailing byte: %v", err)
			}
			other := append([]byte{2}, rec[1:]...)
			if _, err := unpackRecord(other, ownPlan); err == nil || !strings.Contains(err.Error(), "layout 2") {
				t.Errorf("layout 2: %v", err)
			}
		})
	}
}

// TestPackRecordAllocs: packing a payment whose groups are not JSON
// (pending, paid, with a plan) into a buffer with room allocates nothing.
func TestPackRecordAllocs(t *testing.T) {
	paid := storedSample(t, "a paid payment")
	paid.pay = storedSample(t, "raw fields and history, a plan with a payer").pay
	for _, sp := range []storedPayment{storedSample(t, "a fresh payment"), paid} {
		buf := make([]byte, 0, 1024)
		if n := testing.AllocsPerRun(100, func() { buf, _ = packRecord(buf[:0], sp) }); n != 0 {
			t.Errorf("packing %s: %v allocations", sp.id(), n)
		}
	}
}

// TestPaymentRecordGolden pins the layout: the records of the sample
// payments that fill every group, the packed history and the raw fields,
// byte for byte. A difference is a layout
// change, which needs a new recordLayout (and the old reader kept), not a
// new golden file. Regenerate with
// go test ./emulators/khipu -run TestPaymentRecordGolden -update.
func TestPaymentRecordGolden(t *testing.T) {
	var out bytes.Buffer
	for _, name := range []string{"every field set", "a paid payment", "raw fields and history, a plan with a payer"} {
		sp := storedSample(t, name)
		if sp.opt == nil && sp.xfer == nil && sp.pay == nil && sp.raw == nil {
			t.Fatalf("%s: no group is set", name)
		}
		out.WriteString("# " + name + "\n")
		out.WriteString(hex.Dump(mustPack(sp)))
	}
	sandboxtest.Golden(t, "payment_record.hex", out.Bytes())
}

// storedSample is the stored row of the sample payment of that name.
func storedSample(t testing.TB, name string) storedPayment {
	t.Helper()
	p := sample(t, name)
	return p.stored()
}

// recordOf packs sp after f changed it: what a faulty or hostile writer
// could have put on disk.
func recordOf(t *testing.T, name string, f func(sp *storedPayment)) []byte {
	t.Helper()
	sp := storedSample(t, name)
	f(&sp)
	return mustPack(sp)
}

// testData builds storedPayment.data: the id, nStr-1 empty strings, then
// the history count and the entries as given, then extra.
func testData(id string, count uint64, entries ...[]byte) []byte {
	b := appendString(nil, id)
	for range nStr - 1 {
		b = appendString(b, "")
	}
	b = binary.AppendUvarint(b, count)
	for _, e := range entries {
		b = append(b, e...)
	}
	return b
}

// entry is a packed history entry.
func entry(at int64, from, to, cause uint8, note string) []byte {
	b := binary.AppendVarint(nil, at)
	b = append(b, from, to, cause)
	return appendString(b, note)
}

// withGroups is rec (a record without groups) with its groups byte set to
// groups and tail appended.
func withGroups(rec []byte, groups uint8, tail ...[]byte) []byte {
	b := append([]byte(nil), rec...)
	b[len(b)-1] = groups
	for _, x := range tail {
		b = append(b, x...)
	}
	return b
}

func lengthPrefixed(s string) []byte { return appendString(nil, s) }

// TestUnpackRecordRefuses: what is wrong with a record is refused, with a
// message that says what, never quoting more than a few bytes of it.
func TestUnpackRecordRefuses(t *testing.T) {
	const id = "gqzdy6chjneb"
	fresh := recordOf(t, "a fresh payment", func(*storedPayment) {})
	// The fresh payment's amount, "0", is one byte after the data and the
	// one-byte receiver id.
	data := storedSample(t, "a fresh payment").data
	amount := 1 + uvarintLen(uint64(len(data))) + len(data) + 1
	if fresh[amount] != 1 || fresh[amount+1] != '0' {
		t.Fatalf("the fresh payment's amount is not at %d: %x", amount, fresh)
	}
	badAmount := append([]byte(nil), fresh...)
	badAmount[amount+1] = 'x'
	good := entry(1, 0, 1, 1, "n")
	long := strings.Repeat("y", 5000)
	tests := []struct {
		name string
		rec  []byte
		want string
	}{
		{"empty", nil, "empty"},
		{"layout 0", append([]byte{0}, fresh[1:]...), "layout 0"},
		{"layout 2", append([]byte{2}, fresh[1:]...), "layout 2"},
		{"a data length beyond the record", []byte{recordLayout, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, "data: length 9223372036854775807 is more than the 0 bytes left"},
		{"a length that is no uvarint", []byte{recordLayout, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, "data: not a uvarint"},
		{"an id of 1 character", recordOf(t, "a fresh payment", func(sp *storedPayment) { sp.data = testData("a", 0) }), "payment id of 1 characters, not 12"},
		{"no id at all", recordOf(t, "a fresh payment", func(sp *storedPayment) { sp.data = nil }), "payment string: not a uvarint"},
		{"a string beyond the data", recordOf(t, "a fresh payment", func(sp *storedPayment) { sp.data = appendString(nil, id)[:5] }), "payment string: length 12 is more than the 4 bytes left"},
		{"an unknown api", recordOf(t, "a fresh payment", func(sp *storedPayment) { sp.api = uint8(len(apiCodes)) }), "api code 4 is not known"},
		{"an unknown status", recordOf(t, "a fresh payment", func(sp *storedPayment) { sp.status = 200 }), "status code 200 is not known"},
		{"an unknown detail", recordOf(t, "a fresh payment", func(sp *storedPayment) { sp.detail = uint8(len(detailCodes)) }), "detail code 5 is not known"},
		{"an unknown creation cause", recordOf(t, "a fresh payment", func(sp *storedPayment) { sp.createdBy = uint8(len(causeCodes)) }), "creation cause code 7 is not known"},
		{"an unknown flag", recordOf(t, "a fresh payment", func(sp *storedPayment) { sp.flags = flagDeleted | 0x40 }), "flags 0x48: unknown bits 0x40"},
		{"an unknown group", withGroups(fresh, 0x10), "groups 0x10: unknown bits 0x10"},
		{"an amount that is no decimal", badAmount, "amount: 1 bytes that are not a decimal number"},
		{"a verification sequence beyond int32", append(append(append([]byte(nil), fresh[:len(fresh)-7]...), binary.AppendVarint(nil, 1<<40)...), fresh[len(fresh)-6:]...),
			"verification sequence 1099511627776 is out of range"},
		{"a history entry with an unknown state", recordOf(t, "a fresh payment", func(sp *storedPayment) {
			sp.data = testData(id, 3, good, good, entry(1, 9, 1, 1, ""))
		}), "history entry 3: state code 9 is not known"},
		{"a history entry with an unknown target state", recordOf(t, "a fresh payment", func(sp *storedPayment) {
			sp.data = testData(id, 1, entry(1, 1, uint8(len(stateCodes)), 1, ""))
		}), "history entry 1: state code 8 is not known"},
		{"a history entry with an unknown cause", recordOf(t, "a fresh payment", func(sp *storedPayment) {
			sp.data = testData(id, 2, good, entry(1, 1, 2, uint8(len(causeCodes)), ""))
		}), "history entry 2: cause code 7 is not known"},
		{"a history entry cut short", recordOf(t, "a fresh payment", func(sp *storedPayment) {
			sp.data = testData(id, 1, good[:3])
		}), "history count 1 is more than the data holds"},
		{"a history entry's note cut short", recordOf(t, "a fresh payment", func(sp *storedPayment) {
			sp.data = testData(id, 2, good, entry(1, 1, 1, 1, "")[:4], []byte{5})
		}), "history entry 2: note: length 5 is more than the 0 bytes left"},
		{"a history count beyond the data", recordOf(t, "a fresh payment", func(sp *storedPayment) {
			sp.data = testData(id, 1<<62, good)
		}), "history count 4611686018427387904 is more than the data holds"},
		{"bytes after the data", recordOf(t, "a fresh payment", func(sp *storedPayment) {
			sp.data = testData(id, 1, good, []byte{0})
		}), "data: 1 bytes after the end"},
		{"a transfer without its strings", recordOf(t, "a fresh payment", func(sp *storedPayment) {
			sp.xfer = &storedTransfer{}
		}), "transfer string: not a uvarint"},
		{"data with transfer strings but no transfer", recordOf(t, "a paid payment", func(sp *storedPayment) {
			sp.xfer = nil
		}), "data: 17 bytes after the end"},
		{"empty options", recordOf(t, "a fresh payment", func(sp *storedPayment) { sp.opt = &paymentOptions{} }), "options: present but empty"},
		{"an options field that is not known", withGroups(fresh, groupOpt, lengthPrefixed(`{"Body":"b","Color":"red"}`)), `unknown field "Color"`},
		{"options and more JSON", withGroups(fresh, groupOpt, lengthPrefixed(`{"Body":"b"} {}`)), "options: more after the JSON value"},
		{"options that are not JSON", withGroups(fresh, groupOpt, lengthPrefixed(`{"Body":"`+long)), "options: not the JSON written"},
		{"an options time that is not one", withGroups(fresh, groupOpt, lengthPrefixed(`{"ConfirmTimeout":"`+long+`"}`)), "options: not the JSON written"},
		{"empty refunds", withGroups(fresh, groupXfer, []byte{0, 0}, lengthPrefixed("0"), lengthPrefixed("[]")), "refunds: present but empty"},
		{"refunds too many for their bytes", withGroups(fresh, groupXfer, []byte{0, 0}, lengthPrefixed("0"), lengthPrefixed("["+strings.Repeat("0,", 100)+"0]")),
			"refunds: 101 array elements in 203 bytes of JSON"},
		{"a raw history too long for its bytes", withGroups(fresh, groupRaw, lengthPrefixed(`{"History":[`+strings.Repeat("{},", 20)+`{}]}`)),
			"raw fields: 21 array elements in 76 bytes of JSON"},
		{"a refund amount that is no decimal", withGroups(fresh, groupXfer, []byte{0, 0}, lengthPrefixed("0"), lengthPrefixed(`[{"Amount":"`+long+`"}]`)), "refunds: not the JSON written"},
		{"a refunded amount that is no decimal", withGroups(fresh, groupXfer, []byte{0, 0}, lengthPrefixed(long)), "refunded amount: 5000 bytes that are not a decimal number"},
		{"a plan that did not match", recordOf(t, "a fresh payment", func(sp *storedPayment) { sp.pay = &payPlan{Scenario: "qa"} }), "pay plan: not matched"},
		{"unknown plan flags", withGroups(fresh, groupPay, []byte{planMatched | 0x20}), "pay plan flags 0x21: unknown bits 0x20"},
		{"a plan cut short", withGroups(fresh, groupPay, []byte{planMatched | planDelay, 0, 0, 0}), "pay plan delay: not a varint"},
		{"empty raw fields", recordOf(t, "a fresh payment", func(sp *storedPayment) { sp.raw = &rawPayment{} }), "raw fields: present but empty"},
		{"raw fields that are coded as well", recordOf(t, "a fresh payment", func(sp *storedPayment) {
			sp.raw = &rawPayment{fields: &[3]string{"v9", "x", "y"}}
		}), "raw fields: api, status and detail are coded as well"},
		{"a raw history field that is not known", withGroups(fresh, groupRaw, lengthPrefixed(`{"History":[{"to":"x","when":1}]}`)), `unknown field "when"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp, err := unpackRecord(tt.rec, ownPlan)
			if err == nil {
				t.Fatalf("accepted: %+v", sp)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "khipu payment record: ") || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q, want one with %q", msg, tt.want)
			}
			if len(msg) > 250 || strings.Contains(msg, long[:100]) {
				t.Errorf("the error quotes the record: %q", msg)
			}
		})
	}
}

// TestUnpackRecordMemory: however a record is made, reading it allocates
// at most a small multiple of its size (here 8), accepted or not.
func TestUnpackRecordMemory(t *testing.T) {
	fresh := recordOf(t, "a fresh payment", func(*storedPayment) {})
	const n = 50000
	array := func(elem string) string { return "[" + strings.Repeat(elem+",", n) + elem + "]" }
	refunds := func(j string) []byte {
		return withGroups(fresh, groupXfer, []byte{0, 0}, lengthPrefixed("0"), lengthPrefixed(j))
	}
	history := func(elem string) []byte {
		return withGroups(fresh, groupRaw, lengthPrefixed(`{"History":`+array(elem)+`}`))
	}
	minimal := `{"time":"0001-01-01T00:00:00Z","from":"","to":"","cause":""}`
	tests := []struct {
		name string
		rec  []byte
	}{
		{"empty refunds", refunds(array("{}"))},
		{"null refunds", refunds(array("null"))},
		{"numbers for refunds", refunds(array("0"))},
		{"refunds of 32 bytes", refunds(array(`{"Cause":"` + strings.Repeat("x", 20) + `"}`))},
		{"empty history entries", history("{}")},
		{"numbers for history entries", history("0")},
		{"minimal history entries", history(minimal)},
		{"history entries of 32 bytes", history(`{"to":"` + strings.Repeat("x", 23) + `"}`)},
		{"a long option", withGroups(fresh, groupOpt, lengthPrefixed(`{"Body":"`+strings.Repeat("x", 10*n)+`"}`))},
		{"escapes in an option", withGroups(fresh, groupOpt, lengthPrefixed(`{"Body":"`+strings.Repeat(`\u00e9`, n)+`"}`))},
		{"minimal packed history entries", recordOf(t, "a fresh payment", func(sp *storedPayment) {
			sp.data = testData("gqzdy6chjneb", n, bytes.Repeat(entry(0, 0, 0, 0, ""), n))
		})},
	}
	for _, tt := range tests {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := unpackRecord(tt.rec, ownPlan)
		runtime.ReadMemStats(&after)
		if got := after.TotalAlloc - before.TotalAlloc; got > 8*uint64(len(tt.rec)) {
			t.Errorf("%s: %d bytes allocated for a record of %d (%v)", tt.name, got, len(tt.rec), err)
		}
	}
}

// TestUnpackRecordInterns: restored payments decided by one rule share
// the payment table's plan, as live ones do.
func TestUnpackRecordInterns(t *testing.T) {
	pt := newPaymentTable()
	name := "raw fields and history, a plan with a payer"
	a, err := unpackRecord(mustPack(storedSample(t, name)), pt.intern)
	if err != nil {
		t.Fatal(err)
	}
	b, err := unpackRecord(mustPack(storedSample(t, name)), pt.intern)
	if err != nil {
		t.Fatal(err)
	}
	if a.pay == nil || a.pay != b.pay {
		t.Errorf("two restored payments keep two copies of one plan: %p %p", a.pay, b.pay)
	}
	c, err := unpackRecord(mustPack(storedSample(t, name)), nil)
	if err != nil || c.pay == nil || c.pay == a.pay || *c.pay != *a.pay {
		t.Errorf("without intern: %+v, %v", c.pay, err)
	}
}

// TestAppendDecimal: the record's decimal text is the decimal's String.
func TestAppendDecimal(t *testing.T) {
	for _, d := range []emulators.Decimal{{}, emulators.MustDecimal("0.00"), emulators.MustDecimal("1570"),
		emulators.MustDecimal("1570.5000"), emulators.MustDecimal("-3.2"), emulators.MustDecimal("-0.0050"),
		emulators.MustDecimal("0.000000000000000001"), emulators.MustDecimal("999999999999999999"),
		emulators.MustDecimal("-99999999.9999999999"), emulators.MustDecimal("0.123456789012345678"),
		emulators.NewDecimal(-9223372036854775808, 0), emulators.NewDecimal(9223372036854775807, 18), emulators.NewDecimal(5, 25)} {
		want := appendString(nil, d.String())
		if got := appendDecimal(nil, d); !bytes.Equal(got, want) {
			t.Errorf("appendDecimal(%s) = %q, want %q", d, got, want)
		}
	}
}

// FuzzUnpackRecord: no input makes unpackRecord panic; what it accepts
// can be read without panicking and packs to a record that reads back as
// the same payment.
func FuzzUnpackRecord(f *testing.F) {
	for _, s := range samplePayments() {
		f.Add(mustPack(s.p.stored()))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sp, err := unpackRecord(b, ownPlan)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "khipu payment record: ") || len(msg) > 250 {
				t.Fatalf("error %q", msg)
			}
			return
		}
		want := storedJSON(t, sp)
		if id := sp.id(); len(id) != idLength {
			t.Fatalf("accepted the id %q", id)
		}
		sp.token()
		rec := mustPack(sp)
		again, err := unpackRecord(rec, ownPlan)
		if err != nil {
			t.Fatalf("the record of an accepted record is refused: %v\n%x", err, rec)
		}
		if got := storedJSON(t, again); !bytes.Equal(got, want) {
			t.Fatalf("packed again:\n got %s\nwant %s", got, want)
		}
		if twice := mustPack(again); !bytes.Equal(twice, rec) {
			t.Fatalf("packing is not stable:\n got %x\nwant %x", twice, rec)
		}
	})
}

// BenchmarkPackRecord measures the record of a pending payment made by
// the service, against the JSON the state store wrote before it, and the
// reverse: reading it back into a row.
func BenchmarkPackRecord(b *testing.B) {
	k := newKEnv(b)
	id := k.createV2(basicPayment())
	key, _ := keyOf(id)
	sp, ok := k.svc.payments.t.Get(key)
	if !ok || sp.xfer != nil {
		b.Fatalf("no pending payment %s: %+v", id, sp)
	}
	rec := mustPack(sp)
	js, _ := json.Marshal(sp.payment())
	b.Run("record", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 1024)
		for b.Loop() {
			buf, _ = packRecord(buf[:0], sp)
		}
		b.ReportMetric(float64(len(rec)), "bytes/record")
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(sp.payment()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(js)), "bytes/record")
	})
	b.Run("unpack record", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := unpackRecord(rec, k.svc.payments.intern); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unpack json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var p Payment
			if err := json.Unmarshal(js, &p); err != nil {
				b.Fatal(err)
			}
			p.storedWith(k.svc.payments.intern)
		}
	})
}

// mustPack is packRecord of a payment that encodes.
func mustPack(sp storedPayment) []byte {
	b, err := packRecord(nil, sp)
	if err != nil {
		panic(err)
	}
	return b
}
