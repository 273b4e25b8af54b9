package wire

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/labstack/echo/v4"
)

// The body budget grants in order, makes a large body wait while others
// hold the budget, gives up when the wait ends, and hands back what a
// cancelled waiter was granted.
func TestBodyBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBudget(10)
		ctx := context.Background()
		if n, err := b.acquire(ctx, 6); err != nil || n != 6 {
			t.Fatalf("acquire 6 = %d, %v", n, err)
		}
		got := make(chan int64, 1)
		go func() {
			n, _ := b.acquire(ctx, 100) // more than the budget: the whole budget
			got <- n
		}()
		synctest.Wait()
		select {
		case <-got:
			t.Fatal("granted while 6 of 10 are held")
		default:
		}
		short, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if _, err := b.acquire(short, 1); err == nil {
			t.Fatal("a small request jumped the queue") // FIFO: it waits behind the large one
		}
		b.release(6)
		if n := <-got; n != 10 {
			t.Fatalf("the large request got %d, want the whole budget 10", n)
		}
		b.release(10)
		if b.avail != 10 || len(b.waiters) != 0 {
			t.Fatalf("budget after releases: avail %d, %d waiters", b.avail, len(b.waiters))
		}
	})
}

func TestDebugValueCap(t *testing.T) {
	long := strings.Repeat("a", 3*DebugHeaderCap)
	v := DebugValue(long)
	if len(v) != DebugHeaderCap || !strings.Contains(v, "24576 bytes in all") {
		t.Errorf("DebugValue = %d bytes, ends %q", len(v), v[len(v)-60:])
	}
	if DebugValue("short") != "short" {
		t.Error("a short value was changed")
	}
}

// FuzzParseForm: the bounded form reader never panics, never returns more
// fields than the body has separators, and refuses what it cannot read
// rather than returning a partial form.
func FuzzParseForm(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", "provider=payu&csrf=00")
	f.Add("application/x-www-form-urlencoded", "a=%zz&b=1")
	f.Add("multipart/form-data; boundary=B", "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--B--\r\n")
	f.Add("multipart/form-data", "x")
	f.Add("text/plain", "a=b")
	f.Fuzz(func(t *testing.T, ct, body string) {
		e := echo.New()
		req := httptest.NewRequest("POST", "/x?q=1", strings.NewReader(body))
		req.Header.Set("Content-Type", ct)
		c := e.NewContext(req, httptest.NewRecorder())
		err := ParseForm(c, 4<<10)
		if err != nil {
			return
		}
		if req.PostForm == nil || req.Form == nil || req.MultipartForm == nil {
			t.Fatal("a parsed form left a nil map: FormValue would parse again")
		}
		n := 0
		for _, v := range req.PostForm {
			n += len(v)
		}
		if n > len(body)+1 {
			t.Fatalf("%d values from %d bytes", n, len(body))
		}
		if len(body) > 4<<10 && (strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/")) {
			t.Fatalf("a %d-byte form was accepted over the 4 KiB limit", len(body))
		}
	})
}
