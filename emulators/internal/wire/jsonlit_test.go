package wire_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/paysandbox/sandbox/emulators/internal/wire"
)

func TestDecodeObject(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // members as key:kind=text, or "error: <substring>"
	}{
		{"literals", `{"s":"a\u00e9\n","n":-1.50e+2,"t":true,"f":false,"z":null}`,
			"s:1=aé\n n:2=-1.50e+2 t:3=true f:3=false z:4="},
		{"nested kept compact", `{"o": { "a" : [ ] }, "l":[ 1 , 2 ]}`, `o:5={"a":[]} l:6=[1,2]`},
		{"repeated key in order", `{"a":1,"a":"x"}`, "a:2=1 a:1=x"},
		{"empty object", ` {} `, ""},
		{"array", `[1,2]`, "error: not a JSON object"},
		{"string", `"x"`, "error: not a JSON object"},
		{"empty", ``, "error: unexpected end"},
		{"trailing", `{"a":1} x`, "error: data after the JSON value"},
		{"bad number", `{"a":01}`, "error: expected ','"},
		{"bare word", `{"a":tru}`, "error: invalid character"},
		{"control byte", "{\"a\":\"\x01\"}", "error: invalid character"},
		{"too deep", `{"a":{"b":{"c":1}}}`, "error: nesting deeper than 2"},
		{"deep enough", `{"a":{"b":1}}`, `a:5={"b":1}`},
		{"invalid UTF-8 replaced", "{\"a\":\"\xff\"}", "a:1=\ufffd"},
		{"lone surrogate", `{"a":"\ud800x"}`, "a:1=\ufffdx"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := wire.DecodeObject([]byte(tc.in), 2)
			got := ""
			if err != nil {
				got = "error: " + err.Error()
				if !strings.HasPrefix(tc.want, "error: ") || !strings.Contains(got, strings.TrimPrefix(tc.want, "error: ")) {
					t.Fatalf("DecodeObject(%q) = %s, want %s", tc.in, got, tc.want)
				}
				return
			}
			parts := make([]string, len(ms))
			for i, m := range ms {
				parts[i] = fmt.Sprintf("%s:%d=%s", m.Key, m.Kind, m.Text)
			}
			if got = strings.Join(parts, " "); got != tc.want {
				t.Errorf("DecodeObject(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzDecodeObject: whatever the decoder accepts encoding/json accepts, a
// string member decodes to what encoding/json decodes, a number keeps its
// literal, and a nested member is the compact form of the source.
func FuzzDecodeObject(f *testing.F) {
	for _, s := range []string{`{"a":"x","b":1.50,"c":[1,{"d":null}],"e":true}`, `{"a":"\ud83d\ude00\u00e9"}`, `[]`, `{"a":1e5}`, "{\"a\":\"\xff\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := wire.DecodeObject(b, 16)
		if err != nil {
			return
		}
		var ref map[string]json.RawMessage
		if err := json.Unmarshal(b, &ref); err != nil {
			t.Fatalf("accepted %q, encoding/json refuses it: %v", b, err)
		}
		last := map[string]wire.LitMember{}
		for _, m := range ms {
			last[m.Key] = m
		}
		for k, m := range last {
			raw := bytes.TrimSpace(ref[k])
			switch m.Kind {
			case wire.LitString:
				var s string
				if err := json.Unmarshal(raw, &s); err != nil || s != m.Text {
					t.Fatalf("%q: string %q, encoding/json says %q (%v)", b, m.Text, s, err)
				}
			case wire.LitNumber, wire.LitBool:
				if string(raw) != m.Text {
					t.Fatalf("%q: literal %q, source %q", b, m.Text, raw)
				}
			case wire.LitObject, wire.LitArray:
				var buf bytes.Buffer
				_ = json.Compact(&buf, raw)
				if buf.String() != m.Text {
					t.Fatalf("%q: nested %q, compact source %q", b, m.Text, buf.String())
				}
			}
		}
	})
}

// counter is a LitBuilder that counts the values of a document.
type counter struct{ scalars, containers int }

func (c *counter) Scalar(wire.LitKind, string) int { c.scalars++; return 0 }
func (c *counter) Open(wire.LitKind, int) int      { c.containers++; return 0 }
func (c *counter) Add(int, string, int, int)       {}
func (c *counter) Close(n int, _ []byte) int       { return n }

func ExampleDecodeLiteral() {
	var c counter
	_, err := wire.DecodeLiteral([]byte(`{"amount":100.50,"items":[{"sku":"A"},null]}`), 8, &c)
	fmt.Println(c.scalars, c.containers, err)
	// Output: 3 3 <nil>
}

func ExampleDecodeObject() {
	ms, _ := wire.DecodeObject([]byte(`{"amount":100.50,"subject":"Caf\u00e9","meta":{ "a": 1 }}`), 8)
	for _, m := range ms {
		fmt.Println(m.Key, m.Text)
	}
	// Output:
	// amount 100.50
	// subject Café
	// meta {"a":1}
}
