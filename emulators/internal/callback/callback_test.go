//lint:file-ignore SA1008 Hambit sends and checks its headers lower-case on the wire (access_key, nonce, …), so the tests index http.Header by the exact wire spelling

package callback_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/paysandbox/sandbox/emulators/internal/callback"
	"github.com/paysandbox/sandbox/emulators/internal/clock"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/sandboxtest"
)

type rig struct {
	clk *clock.Clock
	jr  *journal.Journal
	d   *callback.Dispatcher
	m   *sandboxtest.Merchant
}

func newRig(t *testing.T, scale float64) *rig {
	m := sandboxtest.NewMerchant()
	clk := clock.New(clock.Options{Scale: scale})
	jr := journal.New(journal.Options{Now: clk.Now})
	d := callback.New(callback.Options{Clock: clk, Journal: jr, Client: m.Client(), Workers: 4})
	t.Cleanup(func() { d.Close(context.Background()); clk.Close() })
	return &rig{clk, jr, d, m}
}

func (r *rig) outcomes() []string {
	es := r.jr.List(journal.Filter{Kinds: []journal.Kind{journal.KindCallback}, Limit: 100})
	out := make([]string, len(es))
	for i := range es {
		out[len(es)-1-i] = es[i].Callback.Outcome
	}
	return out
}

func TestRetriesOnScheduleUntilAcknowledged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, 1)
		r.m.Respond(500, 204, 200)
		start := time.Now()
		r.d.Send(callback.Delivery{Provider: "p", Objects: []string{"o1"}, Event: "paid", URL: "http://merchant/cb",
			Body: []byte(`{"a":1}`), Ack: callback.ExactlyOK,
			Policy: callback.Policy{Retry: []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute}}})
		var at []time.Duration
		for range 3 {
			got := r.m.Next(t, time.Hour)
			at = append(at, got.Time.Sub(start))
			if string(got.Body) != `{"a":1}` {
				t.Errorf("body = %s", got.Body)
			}
		}
		synctest.Wait()
		want := []time.Duration{0, time.Minute, 3 * time.Minute}
		for i := range want {
			if at[i] != want[i] {
				t.Errorf("attempt %d at %v, want %v", i+1, at[i], want[i])
			}
		}
		time.Sleep(time.Hour)
		r.m.None(t)
		if got, want := r.outcomes(), []string{"failed", "failed", "acknowledged"}; !slices.Equal(got, want) {
			t.Errorf("outcomes = %v, want %v", got, want)
		}
	})
}

func TestGivesUpAndScalesWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, 0.01)
		r.m.Respond(500, 500)
		start := time.Now()
		r.d.Send(callback.Delivery{Provider: "p", Event: "e", URL: "http://merchant/", Ack: callback.ExactlyOK,
			Policy: callback.Policy{Retry: []time.Duration{100 * time.Second}}})
		r.m.Next(t, time.Minute)
		second := r.m.Next(t, time.Minute)
		if d := second.Time.Sub(start); d != time.Second {
			t.Errorf("second attempt after %v, want 1s (100s × 0.01)", d)
		}
		synctest.Wait()
		if got, want := r.outcomes(), []string{"failed", "gave_up"}; !slices.Equal(got, want) {
			t.Errorf("outcomes = %v, want %v", got, want)
		}
	})
}

func TestClockAdvanceFiresRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, 1)
		r.m.Respond(503)
		r.d.Send(callback.Delivery{Provider: "p", Event: "e", URL: "http://merchant/", Ack: callback.ExactlyOK,
			Policy: callback.Policy{Retry: []time.Duration{time.Hour}}})
		r.m.Next(t, time.Second)
		synctest.Wait()
		before := time.Now()
		r.clk.Advance(time.Hour)
		r.m.Next(t, time.Second)
		if d := time.Since(before); d != 0 {
			t.Errorf("retry came %v after the advance, want at once", d)
		}
	})
}

func TestManualResendAndSendNow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, 1)
		var attempts []int
		sign := func(a callback.AttemptInfo, body []byte) callback.Signed {
			attempts = append(attempts, a.Attempt)
			return callback.Signed{Headers: []callback.Header{{Name: "access_key", Value: "K"}}, StringToSign: "s"}
		}
		id := r.d.Send(callback.Delivery{Provider: "p", Event: "e", URL: "http://merchant/", Body: []byte("x"), Sign: sign, Ack: callback.ExactlyOK})
		first := r.m.Next(t, time.Second)
		if v := first.Header["access_key"]; len(v) != 1 || v[0] != "K" {
			t.Errorf("header access_key = %v (the name must go on the wire as given)", first.Header)
		}
		synctest.Wait()
		if err := r.d.Resend(id); err != nil {
			t.Fatal(err)
		}
		again := r.m.Next(t, time.Second)
		if string(again.Body) != "x" {
			t.Errorf("resent body = %q", again.Body)
		}
		r.d.SendNow(callback.Delivery{Provider: "p", Event: "manual", URL: "http://merchant/now", Body: []byte("now")})
		if got := r.m.Next(t, time.Second); string(got.Body) != "now" {
			t.Errorf("send-now body = %q", got.Body)
		}
		synctest.Wait()
		if len(attempts) != 2 || attempts[1] != 2 {
			t.Errorf("signed attempts = %v, want [1 2]", attempts)
		}
		if err := r.d.Resend("cb9999999"); err == nil {
			t.Error("resend of an unknown delivery succeeded")
		}
	})
}

func TestDrainOnCloseDeliversInFlightAndCancelsFuture(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, 1)
		slow := make(chan struct{})
		r.m.Handle(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.URL.Path == "/slow" {
				<-slow
			}
		}))
		r.d.Send(callback.Delivery{Provider: "p", Event: "inflight", URL: "http://merchant/slow", Ack: callback.ExactlyOK})
		r.d.Send(callback.Delivery{Provider: "p", Event: "later", URL: "http://merchant/later", Ack: callback.ExactlyOK,
			Policy: callback.Policy{Delay: time.Hour}})
		r.m.Next(t, time.Second) // the slow one is in flight
		done := make(chan error)
		go func() { done <- r.d.Close(context.Background()) }()
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("Close returned while an attempt was in flight")
		default:
		}
		close(slow)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, e := range r.jr.List(journal.Filter{Kinds: []journal.Kind{journal.KindCallback}}) {
			got[e.Callback.Event] = e.Callback.Outcome
		}
		if got["inflight"] != "acknowledged" || got["later"] != "cancelled" {
			t.Errorf("outcomes = %v, want inflight acknowledged, later cancelled", got)
		}
		r.m.None(t)
	})
}

func TestSupersedeDuplicateSkipAndFailFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, 1)
		r.m.Respond(500)
		r.d.Send(callback.Delivery{Provider: "p", Event: "processing", URL: "http://merchant/", SupersedeKey: "o1", Ack: callback.ExactlyOK,
			Policy: callback.Policy{Retry: []time.Duration{time.Minute}}})
		r.m.Next(t, time.Second)
		synctest.Wait()
		r.d.Send(callback.Delivery{Provider: "p", Event: "final", URL: "http://merchant/", SupersedeKey: "o1", Ack: callback.ExactlyOK,
			Policy: callback.Policy{Duplicate: 2}})
		for range 3 {
			r.m.Next(t, 5*time.Second)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		r.m.None(t) // the superseded retry never ran
		r.d.Send(callback.Delivery{Provider: "p", Event: "skipped", URL: "http://merchant/", SkipReason: "scenario"})
		r.d.Send(callback.Delivery{Provider: "p", Event: "flaky", URL: "http://merchant/", Ack: callback.ExactlyOK,
			Policy: callback.Policy{FailFirst: 2, Retry: []time.Duration{time.Second, time.Second, time.Second}}})
		r.m.Next(t, time.Minute) // the third attempt is the first one sent
		synctest.Wait()
		r.m.None(t)
		want := []string{"failed", "superseded", "acknowledged", "acknowledged", "acknowledged", "skipped", "failed", "failed", "acknowledged"}
		if got := r.outcomes(); !slices.Equal(got, want) {
			t.Errorf("outcomes = %v\nwant       %v", got, want)
		}
	})
}

func TestNetworkFailuresAreFailedAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, 1)
		r.m.Respond(sandboxtest.Refused, sandboxtest.Hang, 302)
		r.d.Send(callback.Delivery{Provider: "p", Event: "e", URL: "http://merchant/", Ack: callback.ExactlyOK,
			Policy: callback.Policy{Timeout: 30 * time.Second, Retry: []time.Duration{time.Second, time.Second, time.Second}}})
		start := time.Now()
		for range 4 {
			r.m.Next(t, time.Minute)
		}
		synctest.Wait()
		if d := time.Since(start); d != 33*time.Second {
			t.Errorf("four attempts took %v, want 33s (1s, a 30s timeout, 1s, 1s)", d)
		}
		es := r.jr.List(journal.Filter{Kinds: []journal.Kind{journal.KindCallback}})
		errs := []string{es[3].Callback.Error, es[2].Callback.Error, es[1].Callback.Error}
		if !strings.Contains(errs[0], "refused") || !strings.Contains(errs[1], "no answer within 30s") || !strings.Contains(errs[2], "HTTP 302") {
			t.Errorf("attempt errors = %q", errs)
		}
		if got, want := r.outcomes(), []string{"failed", "failed", "failed", "acknowledged"}; !slices.Equal(got, want) {
			t.Errorf("outcomes = %v, want %v", got, want)
		}
	})
}

// OnResult sees each attempt before the journal does: whoever reads the
// attempt in the journal finds the provider's object already updated.
func TestOnResultRunsBeforeTheJournal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, 1)
		r.m.Respond(500, 500, 200)
		var seen []string
		r.d.Send(callback.Delivery{Provider: "p", Event: "paid", URL: "http://merchant/cb", Body: []byte(`{}`), Ack: callback.ExactlyOK,
			Policy: callback.Policy{Retry: []time.Duration{time.Minute, time.Minute}},
			OnResult: func(a journal.Attempt) {
				// Runs on the worker; the journal holds the earlier attempts only.
				seen = append(seen, fmt.Sprintf("attempt %d with %d journaled", a.Attempt, len(r.outcomes())))
			}})
		time.Sleep(3 * time.Minute)
		synctest.Wait()
		want := []string{"attempt 1 with 0 journaled", "attempt 2 with 1 journaled", "attempt 3 with 2 journaled"}
		if !slices.Equal(seen, want) {
			t.Errorf("OnResult saw %q, want %q", seen, want)
		}
		if got := r.outcomes(); !slices.Equal(got, []string{journal.OutcomeFailed, journal.OutcomeFailed, journal.OutcomeAcknowledged}) {
			t.Errorf("journal: %v", got)
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Reset aborts an attempt that is waiting on the merchant and returns once
// it has ended; the attempt leaves nothing behind: no journal entry, no
// call of the provider's result hook, no retry.
func TestResetAbortsAnAttemptInFlightAndLeavesNoTrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		started := make(chan struct{}, 4)
		ended := false
		client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			started <- struct{}{}
			<-r.Context().Done() // the merchant never answers
			ended = true
			return nil, r.Context().Err()
		})}
		clk := clock.New(clock.Options{})
		jr := journal.New(journal.Options{Now: clk.Now})
		d := callback.New(callback.Options{Clock: clk, Journal: jr, Client: client, Workers: 4})
		defer clk.Close()
		defer d.Close(context.Background())
		hooked := 0
		d.Send(callback.Delivery{Provider: "p", Objects: []string{"o1"}, Event: "paid", URL: "http://merchant/cb",
			Body: []byte(`{}`), OnResult: func(journal.Attempt) { hooked++ },
			Policy: callback.Policy{Retry: []time.Duration{time.Minute}, Timeout: time.Hour}})
		<-started
		d.Reset("p")
		if !ended {
			t.Fatal("Reset returned while the attempt was still waiting on the merchant")
		}
		time.Sleep(2 * time.Hour) // past the retry and the attempt's timeout
		synctest.Wait()
		if n := len(started); n != 0 {
			t.Errorf("%d more attempts after the reset", n)
		}
		if es := jr.List(journal.Filter{Kinds: []journal.Kind{journal.KindCallback}, Limit: 10}); len(es) != 0 {
			t.Errorf("journal after the reset: %+v", es[0].Callback)
		}
		if hooked != 0 {
			t.Errorf("the result hook ran %d times after the reset", hooked)
		}
	})
}
