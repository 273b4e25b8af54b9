package payu

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/beevik/etree"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
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
// The key stays in keys until memberKeys reads them, so a body of many
// nulls costs one map deletion each, not a scan of the keys.
func (n *node) unset(k string) {
	delete(n.kids, k)
}

// memberKeys returns the keys present, each at the place it was last set
// (a key set, nulled and set again moves to the end).
func (n *node) memberKeys() []string {
	if len(n.keys) == len(n.kids) {
		return n.keys // nothing was nulled
	}
	last := make(map[string]int, len(n.kids))
	for i, k := range n.keys {
		last[k] = i
	}
	out := make([]string, 0, len(n.kids))
	for i, k := range n.keys {
		if _, ok := n.kids[k]; ok && last[k] == i {
			out = append(out, k)
		}
	}
	return out
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

// decodeJSON reads one JSON object with the shared literal decoder,
// keeping key order and number literals; an explicit null is absent.
func decodeJSON(body []byte) (*node, error) {
	n, err := wire.DecodeLiteral(body, maxDepth, nodeBuilder{})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errParse, err)
	}
	if n == nil || n.kind != nObject {
		return nil, fmt.Errorf("%w: the body is not a JSON object", errParse)
	}
	return n, nil
}

// nodeBuilder builds the request tree: a null is nil (absent, and it
// removes an earlier value of the same key); list items keep their index.
type nodeBuilder struct{}

func (nodeBuilder) Scalar(kind wire.LitKind, text string) *node {
	switch kind {
	case wire.LitNull:
		return nil
	case wire.LitNumber:
		return &node{text: text, num: true}
	}
	return &node{text: text}
}

func (nodeBuilder) Open(kind wire.LitKind, _ int) *node {
	if kind == wire.LitArray {
		return &node{kind: nList}
	}
	return &node{kind: nObject}
}

func (nodeBuilder) Add(parent *node, key string, index int, v *node) {
	switch {
	case parent.kind == nList && v != nil:
		parent.set(strconv.Itoa(index), v)
	case parent.kind == nList:
	case v == nil:
		parent.unset(key)
	default:
		parent.set(key, v)
	}
}

func (nodeBuilder) Close(n *node, _ []byte) *node { return n }

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
