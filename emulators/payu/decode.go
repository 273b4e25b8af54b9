package payu

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

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
func decodeJSON(body []byte) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	n, err := jsonValue(dec, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errParse, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the JSON value", errParse)
	}
	if n == nil || n.kind != nObject {
		return nil, fmt.Errorf("%w: the body is not a JSON object", errParse)
	}
	return n, nil
}

func jsonValue(dec *json.Decoder, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nesting deeper than %d", maxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := &node{kind: nObject}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, errors.New("object key is not a string")
				}
				v, err := jsonValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				if v == nil { // explicit null: absent
					if _, had := obj.kids[k]; had {
						delete(obj.kids, k)
						obj.keys = removeKey(obj.keys, k)
					}
					continue
				}
				obj.set(k, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return obj, nil
		case '[':
			list := &node{kind: nList}
			i := 0
			for dec.More() {
				v, err := jsonValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				if v != nil {
					list.set(fmt.Sprint(i), v)
				}
				i++
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return list, nil
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case string:
		return &node{text: t}, nil
	case json.Number:
		return &node{text: t.String(), num: true}, nil
	case bool:
		if t {
			return &node{text: "true"}, nil
		}
		return &node{text: "false"}, nil
	case nil:
		return nil, nil
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}

func removeKey(keys []string, k string) []string {
	out := keys[:0]
	for _, x := range keys {
		if x != k {
			out = append(out, x)
		}
	}
	return out
}

// errXMLRefused marks XML the sandbox will not parse (DTDs, entities, depth).
var errXMLRefused = errors.New("XML refused")

// prescanXML walks the token stream with encoding/xml before etree parses
// the document: it refuses DTDs and other directives, entity references
// beyond the five predefined ones, nesting deeper than maxDepth and more
// than maxXMLNodes elements, so no input can make the parser blow up.
func prescanXML(body []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	dec.Entity = nil
	depth, nodes, roots := 0, 0, 0
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: %v", errParse, err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return fmt.Errorf("%w: DTDs and other <!…> declarations are not accepted", errXMLRefused)
		case xml.ProcInst:
			if t.Target != "xml" {
				return fmt.Errorf("%w: processing instruction <?%s?> is not accepted", errXMLRefused, t.Target)
			}
		case xml.StartElement:
			depth++
			nodes++
			if depth == 1 {
				roots++
				if roots > 1 {
					return fmt.Errorf("%w: more than one root element", errParse)
				}
			}
			if depth > maxDepth {
				return fmt.Errorf("%w: XML nesting deeper than %d", errXMLRefused, maxDepth)
			}
			if nodes > maxXMLNodes {
				return fmt.Errorf("%w: more than %d XML elements", errXMLRefused, maxXMLNodes)
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return fmt.Errorf("%w: text outside the root element", errParse)
			}
		}
	}
	// RawToken does not check that tags match; Token does. Run it once more
	// (cheap, bounded by the checks above).
	dec = xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	for {
		_, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: %v", errParse, err)
		}
	}
	if roots == 0 {
		return fmt.Errorf("%w: no root element", errParse)
	}
	return nil
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

func xmlElement(e *etree.Element) *node {
	if mapElements[e.Tag] {
		return xmlMap(e)
	}
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

// xmlValue converts a typed map value (<string>, <long>, <date>,
// <additionalValue>…, <object class=…>) into a node.
func xmlValue(e *etree.Element) *node {
	if len(e.ChildElements()) > 0 {
		obj := &node{kind: nObject}
		for _, c := range e.ChildElements() {
			obj.set(c.Tag, xmlElement(c))
		}
		return obj
	}
	return &node{text: strings.TrimSpace(e.Text())}
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
