package payu

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// Hostile XML is refused with a PayU-shaped error: never a 500, a panic or a hang.
func TestHostileXML(t *testing.T) {
	e := newEnv(t, envOpt{})
	deep := strings.Repeat("<a>", 5000) + strings.Repeat("</a>", 5000)
	cases := map[string]string{
		"dtd":             `<?xml version="1.0"?><!DOCTYPE request [<!ENTITY x "y">]><request><command>PING</command></request>`,
		"billion laughs":  `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><request><command>&lol2;</command></request>`,
		"external entity": `<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><request><command>&xxe;</command></request>`,
		"unknown entity":  `<request><command>&nope;</command></request>`,
		"deep":            "<request>" + deep + "</request>",
		"pi":              `<?xml-stylesheet href="x"?><request/>`,
		"unclosed":        `<request><command>PING</command>`,
		"two roots":       `<request/><request/>`,
	}
	for name, body := range cases {
		start := time.Now()
		rec := e.do("POST", paymentsPath, body, "Content-Type: application/xml")
		m := rec.Body.String()
		if rec.Code != 200 || !strings.Contains(m, "<paymentResponse><code>ERROR</code><error>Sandbox: ") {
			t.Errorf("%s: %d %s", name, rec.Code, m)
		}
		if time.Since(start) > 2*time.Second {
			t.Errorf("%s took %v", name, time.Since(start))
		}
	}
	if rec := e.do("POST", paymentsPath, cases["dtd"], "Content-Type: application/xml"); !strings.Contains(rec.Body.String(), "DTDs") {
		t.Errorf("dtd message: %s", rec.Body)
	}
	// Deep JSON too.
	rec := e.do("POST", paymentsPath, strings.Repeat(`{"a":`, 100)+"1"+strings.Repeat("}", 100), "Content-Type: application/json")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"code":"ERROR"`) {
		t.Errorf("deep JSON: %s", rec.Body)
	}
}

// The XML map forms of §3.4.
func TestXMLMapForms(t *testing.T) {
	for name, xml := range map[string]string{
		"entry":        `<request><m><extraParameters><entry><string>K</string><int>7</int></entry></extraParameters></m></request>`,
		"bare pairs":   `<request><m><extraParameters><string>K</string><long>7</long></extraParameters></m></request>`,
		"named":        `<request><m><extraParameters><K>7</K></extraParameters></m></request>`,
		"bare text":    `<request><m><extraParameters><entry><string>K</string> 7 </entry></extraParameters></m></request>`,
		"object class": `<request><m><details class="java.util.HashMap"><entry><string>K</string><object class="java.lang.Long">7</object></entry></details></m></request>`,
	} {
		n, err := decodeXML([]byte(xml))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		m := n.get("m")
		got := m.s("extraParameters", "K") + m.s("details", "K")
		if got != "7" {
			t.Errorf("%s: K = %q", name, got)
		}
	}
	n, _ := decodeXML([]byte(`<request><additionalValues><TX_VALUE><value>50</value><currency>CLP</currency></TX_VALUE></additionalValues><test>false</test></request>`))
	if n.s("additionalValues", "TX_VALUE", "value") != "50" || n.s("test") != "false" {
		t.Errorf("element-named map: %+v", n)
	}
}

// PAYU check 17: the JSON request decoder never panics; a round trip of
// what it accepts through the encoder decodes to the same tree.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"command":"PING"}`, `{"a":[1,{"b":null}],"c":1.50}`, `{"transaction":{"order":{"id":1}}}`, `[`, `{"a":"\u0000"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := decodeJSON(b)
		if err != nil {
			return
		}
		again, err := decodeJSON(encodeJSON(toVal(n)))
		if err != nil {
			t.Fatalf("re-decoding: %v", err)
		}
		if !sameTree(n, again) {
			t.Fatalf("round trip changed the tree")
		}
	})
}

// toVal turns a request tree into a response value (for round trips).
func toVal(n *node) val {
	switch n.kind {
	case nObject:
		f := make([]field, len(n.keys))
		for i, k := range n.keys {
			f[i] = fl(k, toVal(n.kids[k]))
		}
		return vobj(f...)
	case nList:
		items := make([]val, len(n.keys))
		for i, k := range n.keys {
			items[i] = toVal(n.kids[k])
		}
		return vlist("item", items...)
	}
	if n.num {
		return vnum(n.text)
	}
	return vstr(n.text)
}

func sameTree(a, b *node) bool {
	if a.kind != b.kind || len(a.keys) != len(b.keys) {
		return false
	}
	if a.kind == nScalar {
		return a.text == b.text
	}
	if a.kind == nList {
		return true // list keys are renumbered (nulls dropped)
	}
	for _, k := range a.keys {
		if b.kids[k] == nil || !sameTree(a.kids[k], b.kids[k]) {
			return false
		}
	}
	return true
}

// PAYU check 17: the XML request decoder (pre-scan + etree) never panics.
func FuzzDecodeXML(f *testing.F) {
	for _, s := range []string{`<request><command>PING</command></request>`, `<!DOCTYPE a><a/>`, `<a><extraParameters><entry><string>k</string></entry></extraParameters></a>`,
		`<a><additionalValues><string>TX_VALUE</string></additionalValues></a>`, `<a>&amp;</a>`, `<`,
		`<a b="&amp;&amp;&lt;&#233;"/>`, `<a b="&amp;&xxe;"/>`, `<a b='&#x41;&'/>`, `<a>&aaaaaaaaaaaaaaaaaaaaaaaa;</a>`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeXML(b)
	})
}

// PAYU check 17: the form encoder never panics and round-trips through net/url.
func FuzzEncodeForm(f *testing.F) {
	f.Add("sign", "a b&c=d", "value", "10000.00")
	f.Add("", "", "ü", "\x00")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		body := encodeForm([]pair{{k1, v1}, {k2, v2}})
		q, err := url.ParseQuery(string(body))
		if err != nil {
			t.Fatalf("%q: %v", body, err)
		}
		if k1 != k2 && (q.Get(k1) != v1 || q.Get(k2) != v2) {
			t.Fatalf("round trip of %q", body)
		}
	})
}

// The order signature verifier never panics on any input.
func FuzzCheckOrderSignature(f *testing.F) {
	f.Add("REF", "10000", "CLP", "77d72fb91eb43f9b15fb300d5f173da3")
	f.Add("", "1e5", "", "")
	f.Fuzz(func(t *testing.T, ref, value, cur, sig string) {
		for _, m := range []string{ModeChecked, ModeLenient, ModeStrict} {
			checkOrderSignature(m, TestAPIKey, TestMerchantID, ref, value, cur, sig)
		}
	})
}
