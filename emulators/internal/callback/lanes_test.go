package callback_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paysandbox/sandbox/emulators/internal/callback"
	"github.com/paysandbox/sandbox/emulators/internal/clock"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
)

// Issue #13, class 7: each merchant host has its own concurrency budget. A
// host that never answers holds its own attempts only: a healthy host's
// callback is delivered while every attempt to the black hole is still
// waiting for its answer.
func TestBlackHoleOnlyHurtsItself(t *testing.T) {
	release := make(chan struct{})
	var holed, finished atomic.Int32
	hole := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		holed.Add(1)
		<-release
		finished.Add(1)
	}))
	defer hole.Close()
	defer close(release)
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer healthy.Close()

	clk := clock.New(clock.Options{})
	defer clk.Close()
	jr := journal.New(journal.Options{Now: clk.Now})
	d := callback.New(callback.Options{Clock: clk, Journal: jr, Workers: 8})
	for range 100 {
		d.SendNow(callback.Delivery{Provider: "p", Event: "e", URL: hole.URL + "/hook", Ack: callback.ExactlyOK,
			Policy: callback.Policy{Timeout: time.Minute}})
	}
	ok := d.SendNow(callback.Delivery{Provider: "p", Event: "e", URL: healthy.URL + "/hook", Ack: callback.ExactlyOK,
		Policy: callback.Policy{Timeout: time.Minute}})
	sub := jr.Subscribe(64)
	defer sub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for done := false; !done; {
		for _, e := range jr.List(journal.Filter{Kinds: []journal.Kind{journal.KindCallback}}) {
			if e.Callback.Delivery == ok && e.Callback.Outcome == journal.OutcomeAcknowledged {
				done = true
			}
		}
		if done {
			break
		}
		select {
		case <-sub.C:
		case <-ctx.Done():
			t.Fatalf("the healthy host's callback was not delivered while the black hole held %d attempts", holed.Load())
		}
	}
	if n := finished.Load(); n != 0 {
		t.Errorf("%d black-hole attempts had finished before the healthy delivery: it waited for them", n)
	}
	if n := holed.Load(); n > 8 {
		t.Errorf("the black hole holds %d attempts at once; its budget is 8", n)
	}
	if n := d.Pending(); n < 100 {
		t.Errorf("pending = %d, want the 100 black-hole deliveries", n)
	}
}

// Issue #13, class 9: a provider's signer or result hook that panics costs
// one attempt (journaled with the panic), never a worker: the deliveries
// after it are still made.
func TestPanickingSignerDoesNotKillTheWorker(t *testing.T) {
	var got atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got.Add(1) }))
	defer srv.Close()
	clk := clock.New(clock.Options{})
	defer clk.Close()
	jr := journal.New(journal.Options{Now: clk.Now})
	d := callback.New(callback.Options{Clock: clk, Journal: jr, Workers: 1})
	bad := d.SendNow(callback.Delivery{Provider: "p", Event: "e", URL: srv.URL, Ack: callback.ExactlyOK,
		Sign: func(callback.AttemptInfo, []byte) callback.Signed { panic("signer bug") }})
	d.SendNow(callback.Delivery{Provider: "p", Event: "e", URL: srv.URL, Ack: callback.ExactlyOK,
		OnResult: func(journal.Attempt) { panic("hook bug") }})
	good := d.SendNow(callback.Delivery{Provider: "p", Event: "e", URL: srv.URL, Ack: callback.ExactlyOK})
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]journal.Attempt{}
	notes := 0
	for _, e := range jr.List(journal.Filter{Limit: 100}) {
		if e.Callback != nil {
			outcomes[e.Callback.Delivery] = *e.Callback
		}
		if e.Kind == journal.KindNote {
			notes++
		}
	}
	if a := outcomes[bad]; a.Outcome == journal.OutcomeAcknowledged || a.Error == "" {
		t.Errorf("the panicking signer's attempt: %+v", a)
	}
	if outcomes[good].Outcome != journal.OutcomeAcknowledged || got.Load() != 2 {
		t.Errorf("later delivery: %+v; merchant got %d", outcomes[good], got.Load())
	}
	if notes != 2 {
		t.Errorf("%d panic notes journaled, want 2", notes)
	}
}
