package payu

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// decodeJSONReference is the former, encoding/json-token based decoder: the
// reference the hand-written parser is compared with. It reads one JSON object, keeping key order and number literals.
func decodeJSONReference(body []byte) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	n, err := refJSONValue(dec, 0)
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

func refJSONValue(dec *json.Decoder, depth int) (*node, error) {
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
				v, err := refJSONValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				if v == nil { // explicit null: absent
					obj.unset(k)
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
				v, err := refJSONValue(dec, depth+1)
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

// identicalTree reports whether two decoded trees are equal.
func identicalTree(a, b *node) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.kind != b.kind || a.text != b.text || a.num != b.num || !reflect.DeepEqual(a.keys, b.keys) || len(a.kids) != len(b.kids) {
		return false
	}
	for k, v := range a.kids {
		if !identicalTree(v, b.kids[k]) {
			return false
		}
	}
	return true
}

// TestDecodeJSONMatchesReference: every JSON request fixture decodes to the
// same tree with both decoders.
func TestDecodeJSONMatchesReference(t *testing.T) {
	files, _ := filepath.Glob("testdata/*/*.json")
	extra := []string{`{"a":"\u00e9\ud83d\ude00 \"x\" \n","b":[1,null,{"c":-0.5e3}],"d":null,"a":"dup"}`, `{"s":"\ud800x"}`, "{\"bad\":\"\xff\xfe\"}"}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		extra = append(extra, string(b))
	}
	for i, in := range extra {
		got, err1 := decodeJSON([]byte(in))
		want, err2 := decodeJSONReference([]byte(in))
		if (err1 == nil) != (err2 == nil) || !identicalTree(got, want) {
			t.Errorf("input %d: new %v (%v), reference %v (%v)", i, got, err1, want, err2)
		}
	}
}

// FuzzDecodeJSONMatchesReference: the hand-written parser accepts exactly
// what encoding/json accepts and builds the same tree.
func FuzzDecodeJSONMatchesReference(f *testing.F) {
	f.Add([]byte(`{"command":"PING","merchant":{"apiKey":"k"},"test":true,"n":[1,2.5e1,-0]}`))
	f.Add([]byte(`{"a":"\ud83d\ude00\u0041","b":null}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err1 := decodeJSON(in)
		want, err2 := decodeJSONReference(in)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("%q: new err %v, reference err %v", in, err1, err2)
		}
		if err1 == nil && !identicalTree(got, want) {
			t.Fatalf("%q: trees differ", in)
		}
	})
}
