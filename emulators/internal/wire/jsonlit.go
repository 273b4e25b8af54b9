package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// The one decoder of "JSON with literal values" every provider uses (the
// Khipu v3 body, the Hambit body and its signature, the PayU request
// tree): strings are decoded, numbers keep the digits as sent (never a
// float64), and the caller decides what a value becomes through a
// LitBuilder. One pass over the bytes, no tokens: the work is linear in the
// input, and nesting is bounded by the caller's depth.

// LitKind is the JSON type a value arrived as.
type LitKind uint8

const (
	LitString LitKind = iota + 1
	LitNumber
	LitBool
	LitNull
	LitObject
	LitArray
)

// Nested says whether k is an object or a list.
func (k LitKind) Nested() bool { return k == LitObject || k == LitArray }

// LitBuilder turns the values of a document into the caller's own type N
// as the decoder reads them.
type LitBuilder[N any] interface {
	// Scalar is a string (decoded text), a number (its literal), a bool
	// ("true" or "false") or null ("").
	Scalar(kind LitKind, text string) N
	// Open starts an object or a list at depth (the document is depth 0).
	Open(kind LitKind, depth int) N
	// Add adds v to an open object under key (index -1) or to an open list
	// at index (key "").
	Add(parent N, key string, index int, v N)
	// Close ends an object or list; raw is its source text.
	Close(n N, raw []byte) N
}

// DecodeLiteral reads one JSON value from b with b, refusing nesting deeper
// than maxDepth. Strings are decoded as encoding/json decodes them, invalid
// UTF-8 included (each bad byte becomes U+FFFD). Errors say where, in
// English, for the provider to wrap in its own message.
func DecodeLiteral[N any, B LitBuilder[N]](body []byte, maxDepth int, b B) (N, error) {
	p := litParser{b: body, maxDepth: maxDepth}
	p.space()
	n, err := value[N](&p, b, 0)
	if err != nil {
		return n, err
	}
	p.space()
	if p.i != len(p.b) {
		var zero N
		return zero, errors.New("data after the JSON value")
	}
	return n, nil
}

// LitMember is one member of a flat JSON object: its key, the type it
// arrived as and its text (an object's or a list's compact source).
type LitMember struct {
	Key  string
	Kind LitKind
	Text string
}

// errLitNotObject is DecodeObject's answer to a document that is not an object.
var errLitNotObject = errors.New("the body is not a JSON object")

// IsNotObject says whether err is DecodeObject's "not a JSON object".
func IsNotObject(err error) bool { return errors.Is(err, errLitNotObject) }

// DecodeObject reads a document that must be one JSON object and returns
// its members in the order sent (a repeated key appears twice; the caller
// keeps the last). Nested objects and lists are kept as their compact
// source text.
func DecodeObject(body []byte, maxDepth int) ([]LitMember, error) {
	var ob objectBuilder
	if _, err := DecodeLiteral(body, maxDepth, &ob); err != nil {
		return nil, err
	}
	if !ob.isObject {
		return nil, errLitNotObject
	}
	return ob.members, nil
}

// objectBuilder collects the top-level members of an object; N is the
// index of a member's value in pending (the nested ones are not kept).
type objectBuilder struct {
	members  []LitMember
	isObject bool
	pending  LitMember
}

func (o *objectBuilder) Scalar(kind LitKind, text string) int {
	o.pending = LitMember{Kind: kind, Text: text}
	return 0
}

func (o *objectBuilder) Open(kind LitKind, depth int) int {
	if depth == 0 && kind == LitObject {
		o.isObject = true
	}
	return depth
}

func (o *objectBuilder) Add(parent int, key string, _ int, _ int) {
	if parent == 0 && o.isObject {
		o.pending.Key = key
		o.members = append(o.members, o.pending)
	}
}

func (o *objectBuilder) Close(depth int, raw []byte) int {
	if depth == 1 {
		var buf bytes.Buffer
		buf.Grow(len(raw))
		_ = json.Compact(&buf, raw) // raw was just parsed: valid JSON
		o.pending = LitMember{Kind: kindOfOpen(raw[0]), Text: buf.String()}
	}
	return depth
}

func kindOfOpen(c byte) LitKind {
	if c == '[' {
		return LitArray
	}
	return LitObject
}

type litParser struct {
	b        []byte
	i        int
	maxDepth int
}

func (p *litParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *litParser) errorf(format string, args ...any) error {
	return fmt.Errorf("at byte %d: "+format, append([]any{p.i}, args...)...)
}

// value parses one value at depth (the document is depth 0) into b.
func value[N any, B LitBuilder[N]](p *litParser, b B, depth int) (N, error) {
	var zero N
	if depth > p.maxDepth {
		return zero, fmt.Errorf("nesting deeper than %d", p.maxDepth)
	}
	if p.i >= len(p.b) {
		return zero, p.errorf("unexpected end of JSON input")
	}
	start := p.i
	switch c := p.b[p.i]; {
	case c == '{':
		p.i++
		obj := b.Open(LitObject, depth)
		p.space()
		if p.i < len(p.b) && p.b[p.i] == '}' {
			p.i++
			return b.Close(obj, p.b[start:p.i]), nil
		}
		for {
			p.space()
			if p.i >= len(p.b) || p.b[p.i] != '"' {
				return zero, p.errorf("object key is not a string")
			}
			k, err := p.str()
			if err != nil {
				return zero, err
			}
			p.space()
			if p.i >= len(p.b) || p.b[p.i] != ':' {
				return zero, p.errorf("expected ':' after an object key")
			}
			p.i++
			p.space()
			v, err := value[N](p, b, depth+1)
			if err != nil {
				return zero, err
			}
			b.Add(obj, k, -1, v)
			more, err := p.more('}', "an object")
			if err != nil {
				return zero, err
			}
			if !more {
				return b.Close(obj, p.b[start:p.i]), nil
			}
		}
	case c == '[':
		p.i++
		list := b.Open(LitArray, depth)
		p.space()
		if p.i < len(p.b) && p.b[p.i] == ']' {
			p.i++
			return b.Close(list, p.b[start:p.i]), nil
		}
		for i := 0; ; i++ {
			p.space()
			v, err := value[N](p, b, depth+1)
			if err != nil {
				return zero, err
			}
			b.Add(list, "", i, v)
			more, err := p.more(']', "a list")
			if err != nil {
				return zero, err
			}
			if !more {
				return b.Close(list, p.b[start:p.i]), nil
			}
		}
	case c == '"':
		s, err := p.str()
		if err != nil {
			return zero, err
		}
		return b.Scalar(LitString, s), nil
	case c == '-' || (c >= '0' && c <= '9'):
		lit, err := p.number()
		if err != nil {
			return zero, err
		}
		return b.Scalar(LitNumber, lit), nil
	case p.lit("true"):
		return b.Scalar(LitBool, "true"), nil
	case p.lit("false"):
		return b.Scalar(LitBool, "false"), nil
	case p.lit("null"):
		return b.Scalar(LitNull, ""), nil
	}
	return zero, p.errorf("invalid character %q looking for a value", p.b[p.i])
}

// more consumes what follows a member of an object or a list: true after a
// ',', false after the closing byte end, false and an error otherwise.
func (p *litParser) more(end byte, in string) (bool, error) {
	p.space()
	if p.i >= len(p.b) {
		return false, p.errorf("unexpected end of JSON input")
	}
	switch p.b[p.i] {
	case ',':
		p.i++
		return true, nil
	case end:
		p.i++
		return false, nil
	}
	return false, p.errorf("expected ',' or '%c' in %s", end, in)
}

// lit consumes word when it comes next.
func (p *litParser) lit(word string) bool {
	if bytes.HasPrefix(p.b[p.i:], []byte(word)) {
		p.i += len(word)
		return true
	}
	return false
}

// number consumes -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? and returns
// its text exactly as written.
func (p *litParser) number() (string, error) {
	start := p.i
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.b[p.i] == '-' {
		p.i++
	}
	if p.i < len(p.b) && p.b[p.i] == '0' {
		p.i++
	} else if digits() == 0 {
		return "", p.errorf("invalid number")
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return "", p.errorf("invalid number")
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return "", p.errorf("invalid number")
		}
	}
	return string(p.b[start:p.i]), nil
}

// str consumes a string literal and returns its decoded text.
func (p *litParser) str() (string, error) {
	p.i++ // the opening quote
	start := p.i
	// The common case: no escapes, valid UTF-8, no control characters.
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '"' {
			raw := p.b[start:p.i]
			p.i++
			if utf8.Valid(raw) {
				return string(raw), nil
			}
			return replaceInvalid(raw), nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		p.i++
	}
	var out []byte
	out = append(out, p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			if utf8.Valid(out) {
				return string(out), nil
			}
			return replaceInvalid(out), nil
		case c < 0x20:
			return "", p.errorf("invalid character %q in a string literal", c)
		case c != '\\':
			out = append(out, c)
			p.i++
			continue
		}
		p.i++
		if p.i >= len(p.b) {
			break
		}
		e := p.b[p.i]
		p.i++
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.errorf("invalid \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
					save := p.i
					p.i += 2
					if x, ok := p.hex4(); ok {
						r2 = x
					} else {
						p.i = save
					}
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					r = dec
				} else {
					if r2 >= 0 {
						p.i -= 6 // the second escape is a character of its own
					}
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", p.errorf("invalid escape \\%c", e)
		}
	}
	return "", p.errorf("unexpected end of a string literal")
}

// replaceInvalid turns each byte of invalid UTF-8 into U+FFFD, as
// encoding/json does.
func replaceInvalid(b []byte) string {
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
			b = b[1:]
			continue
		}
		out = append(out, b[:n]...)
		b = b[n:]
	}
	return string(out)
}

func (p *litParser) hex4() (rune, bool) {
	if p.i+4 > len(p.b) {
		return 0, false
	}
	var r rune
	for _, c := range p.b[p.i : p.i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	p.i += 4
	return r, true
}
