package sandbox

import (
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

func TestWaitParam(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{"", 0, false}, {"10s", 10 * time.Second, false}, {"10", 10 * time.Second, false}, {"1m30s", MaxWait, false}, {"59s", 59 * time.Second, false},
		{"1h", MaxWait, false}, {"99999999999", MaxWait, false}, {"9999999999999", 0, true}, {"-1s", 0, true}, {"soon", 0, true}, {"0", 0, false},
	} {
		d, err := waitParam(echo.New().NewContext(httptest.NewRequest("GET", "/?wait="+url.QueryEscape(c.in), nil), httptest.NewRecorder()))
		if (err != nil) != c.bad || d != c.want {
			t.Errorf("wait=%q: %v, %v", c.in, d, err)
		}
	}
}

func FuzzWaitParam(f *testing.F) {
	for _, s := range []string{"10s", "10", "-1", "1e9h", "9223372036854775807", "1h1h1h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, err := waitParam(echo.New().NewContext(httptest.NewRequest("GET", "/?wait="+url.QueryEscape(v), nil), httptest.NewRecorder()))
		if err != nil {
			if len(err.Error()) > 200 {
				t.Fatalf("the error grows with the input: %d bytes", len(err.Error()))
			}
			return
		}
		if d < 0 || d > MaxWait {
			t.Fatalf("wait=%q gave %v", v, d)
		}
	})
}
