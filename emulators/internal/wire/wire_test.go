package wire_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
)

func TestReadBodyLimit(t *testing.T) {
	e := echo.New()
	c := e.NewContext(httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("a", 11))), httptest.NewRecorder())
	if _, err := wire.ReadBody(c, 10); emulators.KindOf(err) != emulators.TooLarge {
		t.Errorf("11 bytes with a limit of 10: err = %v, want TooLarge", err)
	}
	c = e.NewContext(httptest.NewRequest("POST", "/", strings.NewReader("0123456789")), httptest.NewRecorder())
	b, err := wire.ReadBody(c, 10)
	if err != nil || string(b) != "0123456789" {
		t.Fatalf("ReadBody = %q, %v", b, err)
	}
	if again, _ := wire.ReadBody(c, 10); string(again) != "0123456789" || string(wire.Body(c)) != "0123456789" {
		t.Error("the body is not kept for a second read and the journal")
	}
}

func TestCheckJSONDepth(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{`{"a":{"b":[1,2]}}`, true},
		{`{"a":"{{{{{{{{{{"}`, true}, // braces in strings do not count
		{`{"a":"\"{{{{{{{{{{"}`, true},
		{strings.Repeat("[", 9) + strings.Repeat("]", 9), false},
		{strings.Repeat("[", 8) + strings.Repeat("]", 8), true},
	}
	for _, tt := range tests {
		if err := wire.CheckJSONDepth([]byte(tt.in), 8); (err == nil) != tt.ok {
			t.Errorf("CheckJSONDepth(%.20q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

func TestLinkBase(t *testing.T) {
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
	for _, tc := range []struct {
		name, target, host string
		tls                bool
		public, want       string
	}{
		{"plain", "http://sandbox:8080/khipu/api/2.0/banks", "", false, "", "http://sandbox:8080"},
		{"public URL wins", "http://sandbox:8080/x", "", true, "https://pay.example/", "https://pay.example"},
		{"HTTPS listener", "/x", "127.0.0.1:8443", true, "", "https://127.0.0.1:8443"},
		{"CONNECT tunnel", "/v3/payments", "payment-api.khipu.com", true, "", "https://payment-api.khipu.com"},
		{"tunnel, default port sent", "/v3/payments", "payment-api.khipu.com:443", true, "", "https://payment-api.khipu.com"},
		{"absolute-form proxy request", "http://khipu.com/api/2.0/payments", "", false, "", "http://khipu.com"},
		{"http default port", "/x", "Khipu.COM:80", false, "", "http://khipu.com"},
		{"443 on plain http is kept", "/x", "khipu.com:443", false, "", "http://khipu.com:443"},
		{"IPv6 default port", "/x", "[::1]:443", true, "", "https://[::1]"},
		{"no Host (HTTP/1.0)", "/x", "-", false, "", "http://127.0.0.1:8080"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tc.target, nil)
			switch tc.host {
			case "":
			case "-":
				r.Host = ""
				r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, net.Addr(local)))
			default:
				r.Host = tc.host
			}
			r.TLS = nil
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if got := wire.LinkBase(r, tc.public); got != tc.want {
				t.Errorf("LinkBase = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestJournalMiddlewareRecordsTheRenderedAnswer(t *testing.T) {
	jr := journal.New(journal.Options{})
	e := echo.New()
	g := e.Group("/p", wire.Journal(jr, "p"))
	g.POST("/x", func(c echo.Context) error {
		wire.ReadBody(c, 100)
		n := wire.Annotate(c)
		n.Operation = "create"
		n.AddObject("obj1")
		n.Signature = &journal.Signature{Verdict: journal.VerdictRejected}
		return c.String(403, `{"status":403}`)
	})
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest("POST", "/p/x?q=1", strings.NewReader("amount=1")))
	es := jr.List(journal.Filter{})
	if len(es) != 1 {
		t.Fatalf("%d entries", len(es))
	}
	x := es[0].Request
	if x.Status != 403 || x.RequestBody != "amount=1" || x.ResponseBody != `{"status":403}` || x.Path != "/p/x?q=1" ||
		es[0].Objects[0] != "obj1" || x.Signature.Verdict != "rejected" {
		t.Errorf("entry = %+v / %+v", es[0], x)
	}
	if !strings.Contains(es[0].Summary, "signature rejected") {
		t.Errorf("summary %q does not flag the signature", es[0].Summary)
	}
}

func FuzzCheckJSONDepth(f *testing.F) {
	f.Add([]byte(`{"a":[{"b":"\"}"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) { _ = wire.CheckJSONDepth(b, 8) })
}

func TestStatic(t *testing.T) {
	fsys := fstest.MapFS{"a.css": {Data: []byte("body{}")}, "b.js": {Data: []byte("x")}, "c.svg": {Data: []byte("<svg/>")}, "d.bin": {Data: []byte{0}}}
	tests := []struct {
		name, ct string
		missing  bool
	}{
		{"a.css", "text/css; charset=utf-8", false},
		{"b.js", "text/javascript; charset=utf-8", false},
		{"c.svg", "image/svg+xml", false},
		{"d.bin", "application/octet-stream", false},
		{"", "", true},
		{"../a.css", "", true},
		{"nope.css", "", true},
	}
	e := echo.New()
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		c := e.NewContext(httptest.NewRequest("GET", "/static/"+tt.name, nil), rec)
		err := wire.Static(c, fsys, tt.name, "no-cache")
		if tt.missing {
			if !errors.Is(err, fs.ErrNotExist) || rec.Body.Len() != 0 {
				t.Errorf("%q: %v, body %q; want fs.ErrNotExist and nothing written", tt.name, err, rec.Body)
			}
			continue
		}
		if err != nil || rec.Code != 200 || rec.Header().Get("Content-Type") != tt.ct || rec.Header().Get("Cache-Control") != "no-cache" {
			t.Errorf("%q: %v %d %q %q", tt.name, err, rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Cache-Control"))
		}
		if !wire.Annotate(c).Skip {
			t.Errorf("%q: a static file is journaled", tt.name)
		}
	}
}
