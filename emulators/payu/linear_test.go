package payu

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Every request decoder must be linear in its input (issue #13): the
// benchmarks below decode a hostile body of n bytes and one of 2n bytes on
// every iteration and report how much longer the second took. Linear is
// about 2×; a quadratic scan is about 4×, and the benchmark fails above 3×.
//
//	go test -run=^$ -bench=Linear ./emulators/payu/

// xmlAttrEntities is an XML request whose attribute values hold n bytes of
// predefined entity references: the case that made the pre-scan quadratic.
func xmlAttrEntities(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`<request><merchant a="`)
	for b.Len() < n {
		b.WriteString("&amp;")
	}
	b.WriteString(`"/></request>`)
	return b.Bytes()
}

// xmlTextEntities is the same in element text, with many small elements.
func xmlTextEntities(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`<request>`)
	for b.Len() < n {
		b.WriteString("<a>&lt;&#233;&#x41;</a>")
	}
	b.WriteString(`</request>`)
	return b.Bytes()
}

// jsonEscapes is a JSON request of one long string of escapes.
func jsonEscapes(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"command":"PING","x":"`)
	for b.Len() < n {
		b.WriteString(`\u00e9\n\"`)
	}
	b.WriteString(`"}`)
	return b.Bytes()
}

// jsonNulls is a JSON request of many distinct keys, each then nulled.
func jsonNulls(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"command":"PING","x":{`)
	k := 0
	for b.Len() < n/2 {
		fmt.Fprintf(&b, `"k%d":1,`, k)
		k++
	}
	for i := range k {
		fmt.Fprintf(&b, `"k%d":null,`, i)
	}
	b.WriteString(`"end":1}}`)
	return b.Bytes()
}

func BenchmarkLinearJSONNulls(b *testing.B) {
	benchLinear(b, 256<<10, jsonNulls, func(body []byte) {
		if n, err := decodeJSON(body); err != nil || len(n.get("x").memberKeys()) != 1 {
			b.Fatalf("decode: %v", err)
		}
	})
}

func BenchmarkLinearXMLAttributeEntities(b *testing.B) {
	benchLinear(b, 256<<10, xmlAttrEntities, func(body []byte) { decodeXML(body) })
}

func BenchmarkLinearXMLTextEntities(b *testing.B) {
	benchLinear(b, 256<<10, xmlTextEntities, func(body []byte) { prescanXML(body) })
}

func BenchmarkLinearJSONEscapes(b *testing.B) {
	benchLinear(b, 256<<10, jsonEscapes, func(body []byte) { decodeJSON(body) })
}

// benchLinear times decode on build(n) and build(2n) and reports the ratio.
func benchLinear(b *testing.B, n int, build func(int) []byte, decode func([]byte)) {
	small, big := build(n), build(2*n)
	// The fastest of each size is compared: a stall of the machine
	// (another tenant, a collection) lengthens single runs, not the best.
	var ts, tb, minS, minB time.Duration
	for b.Loop() {
		t0 := time.Now()
		decode(small)
		t1 := time.Now()
		decode(big)
		ds, db := t1.Sub(t0), time.Since(t1)
		ts, tb = ts+ds, tb+db
		if minS == 0 || ds < minS {
			minS = ds
		}
		if minB == 0 || db < minB {
			minB = db
		}
	}
	ratio := float64(minB) / float64(minS)
	b.ReportMetric(ratio, "2n/n-time")
	b.ReportMetric(float64(ts.Nanoseconds())/float64(b.N)/float64(len(small)), "ns/byte")
	if ratio > 3 {
		b.Errorf("decoding %d bytes took %.1f× as long as %d bytes: not linear", len(big), ratio, len(small))
	}
}

// The pre-scan refuses what it must, whatever the position of the
// reference (a property test of the one-reference-at-a-time scan).
func TestPrescanEntityReferences(t *testing.T) {
	long := strings.Repeat("a", maxEntityName+1)
	cases := []struct {
		name, xml string
		ok        bool
	}{
		{"predefined in attribute", `<a b="&amp;&lt;&gt;&quot;&apos;"/>`, true},
		{"char refs in attribute", `<a b="&#233;&#x41;"/>`, true},
		{"custom entity in attribute", `<a b="&amp;&xxe;"/>`, false},
		{"custom entity after many predefined", `<a b="` + strings.Repeat("&amp;", 1000) + `&xxe;"/>`, false},
		{"unterminated in attribute", `<a b="&amp"/>`, false},
		{"long name in attribute", `<a b="&` + long + `;"/>`, false},
		{"long name in text", `<a>&` + long + `;</a>`, false},
		{"custom entity in text", `<a>&amp;&xxe;</a>`, false},
		{"predefined in text", `<a>&amp;&#233;</a>`, true},
		{"ampersand before quote end", `<a b="x&"/>`, false},
	}
	for _, c := range cases {
		err := prescanXML([]byte(c.xml))
		if (err == nil) != c.ok {
			t.Errorf("%s: prescanXML(%q) = %v, want ok=%v", c.name, c.xml, err, c.ok)
		}
	}
}
