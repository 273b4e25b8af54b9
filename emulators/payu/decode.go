package payu

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// node is a decoded request: JSON and XML bodies both become this tree, so
// validation and the handlers never care which format came in (§3).
// Scalars keep their literal text (a JSON number's digits as sent, never a
// float64); an explicit JSON null is absent.
type node struct {
	kind nodeKind
	text string // scalar literal
	num  bool   // a JSON number (the literal is in text)
	keys []string
	kids map[string]*node
}

type nodeKind uint8

const (
	nScalar nodeKind = iota
	nObject
	nList
)

// get walks path through objects; nil when any step is absent.
func (n *node) get(path ...string) *node {
	for _, p := range path {
		if n == nil || n.kind != nObject {
			return nil
		}
		n = n.kids[p]
	}
	return n
}

// str returns the scalar at path and whether it is present. An object or a
// list at path is present with ok true and text "" (validation reports it).
func (n *node) str(path ...string) (string, bool) {
	m := n.get(path...)
	if m == nil {
		return "", false
	}
	return m.text, true
}

// s returns the scalar text at path, "" when absent.
func (n *node) s(path ...string) string {
	v, _ := n.str(path...)
	return v
}

func (n *node) set(k string, v *node) {
	if n.kids == nil {
		n.kids = map[string]*node{}
	}
	if _, dup := n.kids[k]; !dup {
		n.keys = append(n.keys, k)
	}
	n.kids[k] = v
}

// unset removes key k (an explicit JSON null: absent, even after a value).
func (n *node) unset(k string) {
	if _, had := n.kids[k]; !had {
		return
	}
	delete(n.kids, k)
	n.keys = slices.DeleteFunc(n.keys, func(x string) bool { return x == k })
}

// Limits of the request decoders. Bodies are already capped at 1 MiB.
const (
	maxBody     = 1 << 20
	maxDepth    = 32
	maxXMLNodes = 20000
)

// errParse is the decoders' sentinel: the body is neither JSON nor XML we can read.
var errParse = errors.New("the request body could not be parsed as JSON or XML")

// Request formats.
const (
	fmtJSON = "json"
	fmtXML  = "xml"
)

// requestFormat picks the decoder from Content-Type, else by sniffing the
// first non-blank byte (§3.1). "" means it cannot tell.
func requestFormat(contentType string, body []byte) string {
	ct := strings.ToLower(strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0]))
	switch {
	case ct == "application/json" || strings.HasSuffix(ct, "+json"):
		return fmtJSON
	case ct == "application/xml" || ct == "text/xml" || strings.HasSuffix(ct, "+xml"):
		return fmtXML
	}
	t := bytes.TrimLeft(body, " \t\r\n\ufeff")
	t = bytes.TrimPrefix(t, []byte("\xef\xbb\xbf"))
	t = bytes.TrimLeft(t, " \t\r\n")
	if len(t) > 0 {
		switch t[0] {
		case '{':
			return fmtJSON
		case '<':
			return fmtXML
		}
	}
	return ""
}

// decodeRequest decodes body in format f ("" tries the sniffed format).
func decodeRequest(f string, body []byte) (*node, error) {
	switch f {
	case fmtJSON:
		return decodeJSON(body)
	case fmtXML:
		return decodeXML(body)
	}
	return nil, errParse
}

// decodeJSON reads one JSON object, keeping key order and number literals.
// It parses the bytes directly (a tokenising decoder costs an allocation per
// token); strings are decoded as encoding/json decodes them, invalid UTF-8
// included (each bad byte becomes U+FFFD).
func decodeJSON(body []byte) (*node, error) {
	p := jsonParser{b: body}
	p.space()
	n, err := p.value(0)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errParse, err)
	}
	p.space()
	if p.i != len(p.b) {
		return nil, fmt.Errorf("%w: data after the JSON value", errParse)
	}
	if n == nil || n.kind != nObject {
		return nil, fmt.Errorf("%w: the body is not a JSON object", errParse)
	}
	return n, nil
}

type jsonParser struct {
	b []byte
	i int
}

func (p *jsonParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) errorf(format string, args ...any) error {
	return fmt.Errorf("at byte %d: "+format, append([]any{p.i}, args...)...)
}

// value parses one value; nil (no error) is an explicit null.
func (p *jsonParser) value(depth int) (*node, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nesting deeper than %d", maxDepth)
	}
	if p.i >= len(p.b) {
		return nil, p.errorf("unexpected end of JSON input")
	}
	switch c := p.b[p.i]; {
	case c == '{':
		p.i++
		obj := &node{kind: nObject}
		p.space()
		if p.i < len(p.b) && p.b[p.i] == '}' {
			p.i++
			return obj, nil
		}
		for {
			p.space()
			if p.i >= len(p.b) || p.b[p.i] != '"' {
				return nil, p.errorf("object key is not a string")
			}
			k, err := p.str()
			if err != nil {
				return nil, err
			}
			p.space()
			if p.i >= len(p.b) || p.b[p.i] != ':' {
				return nil, p.errorf("expected ':' after an object key")
			}
			p.i++
			p.space()
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			if v == nil { // explicit null: absent
				obj.unset(k)
			} else {
				obj.set(k, v)
			}
			more, err := p.more('}', "an object")
			if err != nil {
				return nil, err
			}
			if !more {
				return obj, nil
			}
		}
	case c == '[':
		p.i++
		list := &node{kind: nList}
		p.space()
		if p.i < len(p.b) && p.b[p.i] == ']' {
			p.i++
			return list, nil
		}
		for i := 0; ; i++ {
			p.space()
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			if v != nil {
				list.set(strconv.Itoa(i), v)
			}
			more, err := p.more(']', "a list")
			if err != nil {
				return nil, err
			}
			if !more {
				return list, nil
			}
		}
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return &node{text: s}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		lit, err := p.number()
		if err != nil {
			return nil, err
		}
		return &node{text: lit, num: true}, nil
	case p.lit("true"):
		return &node{text: "true"}, nil
	case p.lit("false"):
		return &node{text: "false"}, nil
	case p.lit("null"):
		return nil, nil
	}
	return nil, p.errorf("invalid character %q looking for a value", p.b[p.i])
}

// more consumes what follows a member of an object or a list: true after a
// ',', false after the closing byte end, false and an error otherwise.
func (p *jsonParser) more(end byte, in string) (bool, error) {
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
func (p *jsonParser) lit(word string) bool {
	if bytes.HasPrefix(p.b[p.i:], []byte(word)) {
		p.i += len(word)
		return true
	}
	return false
}

// number consumes -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? and returns
// its text exactly as written.
func (p *jsonParser) number() (string, error) {
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
func (p *jsonParser) str() (string, error) {
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

func (p *jsonParser) hex4() (rune, bool) {
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

// errXMLRefused marks XML the sandbox will not parse (DTDs, entities, depth).
var errXMLRefused = errors.New("XML refused")

// prescanXML reads the document's bytes once before etree parses it and
// refuses what no PayU client sends and what could make a parser blow up:
// DTDs and other <!…> declarations, processing instructions other than
// <?xml?>, entity references beyond the five predefined ones and character
// references, nesting deeper than maxDepth, more than maxXMLNodes elements,
// text outside the root element and a second root. It is a plain byte scan
// (no tokens are built); etree then checks everything else (tag matching,
// attribute syntax) in strict mode.
func prescanXML(body []byte) error {
	b := bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	depth, nodes, roots := 0, 0, 0
	i := 0
	for i < len(b) {
		lt := bytes.IndexByte(b[i:], '<')
		text := b[i:]
		if lt >= 0 {
			text = b[i : i+lt]
		}
		if depth == 0 && len(bytes.TrimSpace(text)) > 0 {
			return fmt.Errorf("%w: text outside the root element", errParse)
		}
		if err := checkEntities(text); err != nil {
			return err
		}
		if lt < 0 {
			break
		}
		i += lt
		rest := b[i:]
		switch {
		case bytes.HasPrefix(rest, []byte("<?")):
			end := bytes.Index(rest[2:], []byte("?>"))
			if end < 0 {
				return fmt.Errorf("%w: unterminated processing instruction", errParse)
			}
			end += 2
			target := rest[2:end]
			if k := bytes.IndexAny(target, " \t\r\n"); k >= 0 {
				target = target[:k]
			}
			if string(target) != "xml" {
				return fmt.Errorf("%w: processing instruction <?%s?> is not accepted", errXMLRefused, target)
			}
			i += end + 2
		case bytes.HasPrefix(rest, []byte("<!--")):
			end := bytes.Index(rest[4:], []byte("-->"))
			if end < 0 {
				return fmt.Errorf("%w: unterminated comment", errParse)
			}
			i += 4 + end + 3
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			if depth == 0 {
				return fmt.Errorf("%w: text outside the root element", errParse)
			}
			end := bytes.Index(rest[9:], []byte("]]>"))
			if end < 0 {
				return fmt.Errorf("%w: unterminated CDATA section", errParse)
			}
			i += 9 + end + 3
		case bytes.HasPrefix(rest, []byte("<!")):
			return fmt.Errorf("%w: DTDs and other <!…> declarations are not accepted", errXMLRefused)
		default:
			end, selfClosing, err := scanTag(rest)
			if err != nil {
				return err
			}
			if rest[1] == '/' {
				depth--
				if depth < 0 {
					return fmt.Errorf("%w: an end tag without its start tag", errParse)
				}
			} else {
				nodes++
				if depth == 0 {
					roots++
					if roots > 1 {
						return fmt.Errorf("%w: more than one root element", errParse)
					}
				}
				if !selfClosing {
					depth++
				}
				if depth > maxDepth {
					return fmt.Errorf("%w: XML nesting deeper than %d", errXMLRefused, maxDepth)
				}
				if nodes > maxXMLNodes {
					return fmt.Errorf("%w: more than %d XML elements", errXMLRefused, maxXMLNodes)
				}
			}
			i += end
		}
	}
	if roots == 0 {
		return fmt.Errorf("%w: no root element", errParse)
	}
	if depth != 0 {
		return fmt.Errorf("%w: the root element is not closed", errParse)
	}
	return nil
}

// scanTag returns the length of the tag at the start of b ("<…>"), honouring
// quoted attribute values, and whether it closes itself ("<a/>").
func scanTag(b []byte) (n int, selfClosing bool, err error) {
	var quote byte
	for i := 1; i < len(b); i++ {
		c := b[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else if c == '&' {
				// One reference at a time: checking the rest of the value
				// from every '&' would make the scan quadratic (issue #13).
				n, err := entityRef(b[i+1:])
				if err != nil {
					return 0, false, err
				}
				i += n
			} else if c == '<' {
				return 0, false, fmt.Errorf("%w: '<' in an attribute value", errParse)
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '<':
			return 0, false, fmt.Errorf("%w: a tag is not closed", errParse)
		case c == '>':
			return i + 1, b[i-1] == '/', nil
		}
	}
	return 0, false, fmt.Errorf("%w: a tag is not closed", errParse)
}

// maxEntityName bounds an entity or character reference's name: the
// longest one accepted ("#x10FFFF", "quot") is far shorter. Looking for
// the ';' only this far keeps every scan linear in the body.
const maxEntityName = 16

// checkEntities refuses entity references other than the five predefined
// ones and character references.
func checkEntities(text []byte) error {
	for {
		amp := bytes.IndexByte(text, '&')
		if amp < 0 {
			return nil
		}
		n, err := entityRef(text[amp+1:])
		if err != nil {
			return err
		}
		text = text[amp+1+n:]
	}
}

// entityRef checks the reference whose name starts b (just after its '&')
// and returns its length up to and including the ';'.
func entityRef(b []byte) (int, error) {
	semi := bytes.IndexByte(b[:min(len(b), maxEntityName+1)], ';')
	if semi < 0 {
		return 0, fmt.Errorf("%w: an unterminated entity reference (no ';' within %d bytes of the '&')", errParse, maxEntityName)
	}
	name := b[:semi]
	switch string(name) {
	case "amp", "lt", "gt", "quot", "apos":
	default:
		if len(name) < 2 || name[0] != '#' {
			return 0, fmt.Errorf("%w: entity &%s; is not accepted (only the predefined ones)", errXMLRefused, name)
		}
	}
	return semi + 1, nil
}

// mapElements are the request elements that hold maps (§3.4).
var mapElements = map[string]bool{"additionalValues": true, "extraParameters": true, "details": true}

// decodeXML pre-scans, parses with etree and converts the document to the
// same tree as JSON: <isTest> becomes "test", maps become objects.
func decodeXML(body []byte) (*node, error) {
	if err := prescanXML(body); err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(body); err != nil {
		return nil, fmt.Errorf("%w: %v", errParse, err)
	}
	root := doc.Root()
	if root == nil {
		return nil, fmt.Errorf("%w: no root element", errParse)
	}
	n := xmlElement(root)
	if n.kind != nObject {
		n = &node{kind: nObject}
	}
	if t := n.kids["isTest"]; t != nil {
		n.set("test", t)
	}
	return n, nil
}

// xmlElement converts an element: a map element (§3.4) becomes an object
// of its pairs, any other one a value.
func xmlElement(e *etree.Element) *node {
	if mapElements[e.Tag] {
		return xmlMap(e)
	}
	return xmlValue(e)
}

// xmlValue converts an element with children into an object and a leaf
// into its trimmed text; so are typed map values (<string>, <long>,
// <date>, <additionalValue>…, <object class=…>).
func xmlValue(e *etree.Element) *node {
	kids := e.ChildElements()
	if len(kids) == 0 {
		return &node{text: strings.TrimSpace(e.Text())}
	}
	obj := &node{kind: nObject}
	for _, c := range kids {
		obj.set(c.Tag, xmlElement(c))
	}
	return obj
}

// xmlMap decodes the map forms of §3.4: <entry> pairs (with a typed or a
// bare-text value), bare alternating <string>K</string><V/> children, or
// elements named after the keys.
func xmlMap(e *etree.Element) *node {
	m := &node{kind: nObject}
	kids := e.ChildElements()
	hasEntry := false
	for _, c := range kids {
		if c.Tag == "entry" {
			hasEntry = true
			break
		}
	}
	switch {
	case hasEntry:
		for _, c := range kids {
			if c.Tag != "entry" {
				continue
			}
			parts := c.ChildElements()
			if len(parts) == 0 {
				continue
			}
			key := strings.TrimSpace(parts[0].Text())
			if key == "" {
				continue
			}
			if len(parts) >= 2 {
				m.set(key, xmlValue(parts[1]))
				continue
			}
			// Form 4: the value is bare text after the key element.
			m.set(key, &node{text: strings.TrimSpace(parts[0].Tail())})
		}
	case len(kids) > 0 && kids[0].Tag == "string":
		for i := 0; i+1 < len(kids); i += 2 {
			key := strings.TrimSpace(kids[i].Text())
			if key != "" {
				m.set(key, xmlValue(kids[i+1]))
			}
		}
	default:
		for _, c := range kids {
			m.set(c.Tag, xmlValue(c))
		}
	}
	return m
}
