package payu

import (
	"bytes"
	"strconv"
	"time"

	"github.com/beevik/etree"

	"github.com/paysandbox/sandbox/emulators"
)

// val is a response value in PayU's field order. One tree renders both
// ways (§3.3, §3.4): JSON prints every field (nulls included, dates as
// epoch milliseconds, decimals as literal numbers); XML omits nulls, writes
// maps as <entry> pairs with typed values and dates as Bogota local time.
type val struct {
	k     valKind
	s     string    // text, or a number literal
	b     bool      // boolean
	t     time.Time // date
	f     []field   // object fields or map entries
	items []val     // list items
	item  string    // XML element name of each list item
	// xml is the element name of an object used as a map value
	// ("additionalValue"); class is an XML class attribute (reports payloads).
	xml   string
	class string
}

type valKind uint8

const (
	vNull valKind = iota
	vString
	vNumber
	vBool
	vObject
	vMap
	vList
	vDate
)

type field struct {
	k  string
	v  val
	xk string // XML element name when it differs from k (cnpj → CNPJ)
}

var null = val{}

func vstr(s string) val { return val{k: vString, s: s} }

// vstrn is a string, or null when empty.
func vstrn(s string) val {
	if s == "" {
		return null
	}
	return vstr(s)
}

func vnum(lit string) val          { return val{k: vNumber, s: lit} }
func vint(n int64) val             { return vnum(strconv.FormatInt(n, 10)) }
func vdec(d emulators.Decimal) val { return vnum(d.String()) }
func vbool(b bool) val             { return val{k: vBool, b: b} }

// vdate is a date, or null when t is zero (a date is never 0 or 1, §3.3).
func vdate(t time.Time) val {
	if t.IsZero() {
		return null
	}
	return val{k: vDate, t: t}
}

func vobj(f ...field) val             { return val{k: vObject, f: f} }
func vmap(f ...field) val             { return val{k: vMap, f: f} }
func vlist(item string, v ...val) val { return val{k: vList, item: item, items: v} }
func fl(k string, v val) field        { return field{k: k, v: v} }
func flx(k, xk string, v val) field   { return field{k: k, v: v, xk: xk} }

// additionalValue is the {value, currency} pair of the additionalValues maps.
func additionalValue(value emulators.Decimal, currency string) val {
	v := vobj(fl("value", vnum(value.Round(2, emulators.HalfEven).String())), fl("currency", vstr(currency)))
	v.xml = "additionalValue"
	return v
}

// bogota is America/Bogota (UTC−5, no DST), the zone of PayU's XML dates.
var bogota = time.FixedZone("COT", -5*3600)

// encodeJSON renders v as compact JSON.
func encodeJSON(v val) []byte {
	var b bytes.Buffer
	writeJSON(&b, v)
	return b.Bytes()
}

func writeJSON(b *bytes.Buffer, v val) {
	switch v.k {
	case vNull:
		b.WriteString("null")
	case vString:
		writeJSONString(b, v.s)
	case vNumber:
		b.WriteString(v.s)
	case vBool:
		b.WriteString(strconv.FormatBool(v.b))
	case vDate:
		b.WriteString(strconv.FormatInt(v.t.UnixMilli(), 10))
	case vObject, vMap:
		b.WriteByte('{')
		for i, f := range v.f {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, f.k)
			b.WriteByte(':')
			writeJSON(b, f.v)
		}
		b.WriteByte('}')
	case vList:
		b.WriteByte('[')
		for i, it := range v.items {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, it)
		}
		b.WriteByte(']')
	}
}

const hexDigits = "0123456789abcdef"

// writeJSONString writes s as a JSON string without HTML escaping.
func writeJSONString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x2028 || r == 0x2029:
			b.WriteString(`\u`)
			for shift := 12; shift >= 0; shift -= 4 {
				b.WriteByte(hexDigits[(r>>shift)&0xf])
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

// xmlDates selects how XML renders dates.
type xmlDates bool

const (
	datesBogota      xmlDates = false
	datesEpochMillis xmlDates = true
)

// encodeXML renders v under root, with the JAXB-style declaration.
func encodeXML(root string, v val, dates xmlDates) []byte {
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8" standalone="yes"`)
	r := doc.CreateElement(root)
	xmlFill(r, v, dates)
	doc.WriteSettings.CanonicalText = true
	var b bytes.Buffer
	doc.WriteTo(&b)
	return b.Bytes()
}

func xmlDate(t time.Time, dates xmlDates) string {
	if dates == datesEpochMillis {
		return strconv.FormatInt(t.UnixMilli(), 10)
	}
	return t.In(bogota).Format("2006-01-02T15:04:05")
}

// xmlFill writes v's content into e (e is the element named by v's key).
func xmlFill(e *etree.Element, v val, dates xmlDates) {
	if v.class != "" {
		e.CreateAttr("class", v.class)
	}
	switch v.k {
	case vString, vNumber:
		e.AddChild(etree.NewText(v.s)) // an empty string stays <x></x>
	case vBool:
		e.SetText(strconv.FormatBool(v.b))
	case vDate:
		e.SetText(xmlDate(v.t, dates))
	case vObject:
		for _, f := range v.f {
			if f.v.k == vNull {
				continue
			}
			name := f.k
			if f.xk != "" {
				name = f.xk
			}
			xmlFill(e.CreateElement(name), f.v, dates)
		}
	case vMap:
		for _, f := range v.f {
			if f.v.k == vNull {
				continue
			}
			en := e.CreateElement("entry")
			en.CreateElement("string").SetText(f.k)
			xmlFill(en.CreateElement(xmlTypeOf(f.v)), f.v, dates)
		}
	case vList:
		for _, it := range v.items {
			if it.k == vNull {
				continue
			}
			xmlFill(e.CreateElement(v.item), it, dates)
		}
	}
}

// xmlTypeOf is the typed element of a map value (§3.4).
func xmlTypeOf(v val) string {
	switch v.k {
	case vDate:
		return "date"
	case vNumber:
		return "bigDecimal"
	case vBool:
		return "boolean"
	case vObject:
		if v.xml != "" {
			return v.xml
		}
		return "object"
	}
	return "string"
}
