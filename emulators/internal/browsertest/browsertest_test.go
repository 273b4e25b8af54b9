package browsertest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestBrowserClicksAButton(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.Write([]byte(`<!doctype html><p id="msg">posted ` + r.FormValue("x") + `</p>`))
			return
		}
		w.Write([]byte(`<!doctype html><form method="post"><input name="x" value="42"><button id="go">Go</button></form>`))
	}))
	defer srv.Close()
	b := New(t)
	var text string
	b.Run(chromedp.Navigate(srv.URL), chromedp.Click("#go"), chromedp.Text("#msg", &text))
	if text != "posted 42" {
		t.Fatalf("text = %q, want %q", text, "posted 42")
	}
}
