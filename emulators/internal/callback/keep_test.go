package callback_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/paysandbox/sandbox/emulators/internal/callback"
)

// recordingKeeper notes what the dispatcher asks of its keeper, in order.
type recordingKeeper struct {
	mu       sync.Mutex
	calls    []string
	reserved uint64
}

func (k *recordingKeeper) Note(id string, p *callback.Pending) {}
func (k *recordingKeeper) Flush(id string)                     {}
func (k *recordingKeeper) ReserveIDs(upTo uint64) {
	k.mu.Lock()
	k.reserved = upTo
	k.calls = append(k.calls, fmt.Sprint("reserve ", upTo))
	k.mu.Unlock()
}
func (k *recordingKeeper) Sync() {
	k.mu.Lock()
	k.calls = append(k.calls, "sync")
	k.mu.Unlock()
}

// TestKeeperSyncsBeforeEachAttemptAndReservesIDs: the state a callback
// announces is made durable (Sync) before its attempt leaves, and delivery
// ids are reserved in blocks, continuing after the reserved block on a
// restart.
func TestKeeperSyncsBeforeEachAttemptAndReservesIDs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, 1)
		k := &recordingKeeper{}
		r.m.Handle(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			k.mu.Lock()
			k.calls = append(k.calls, "post")
			first := len(k.calls) < 4
			k.mu.Unlock()
			if first {
				w.WriteHeader(http.StatusInternalServerError)
			}
		}))
		r.d.SetKeeper(k)
		r.d.ContinueIDs(5000) // as after a restart that had reserved up to cb0005000
		id := r.d.Send(callback.Delivery{Provider: "p", Objects: []string{"o"}, Event: "paid", URL: "http://merchant/cb",
			Body: []byte(`{}`), Ack: callback.ExactlyOK, Policy: callback.Policy{Retry: []time.Duration{time.Minute}}})
		if id != "cb0005001" {
			t.Errorf("first id after ContinueIDs(5000) = %s, want cb0005001", id)
		}
		r.m.Next(t, time.Hour)
		r.m.Next(t, time.Hour)
		synctest.Wait()
		k.mu.Lock()
		defer k.mu.Unlock()
		if want := fmt.Sprint([]string{"reserve 6024", "sync", "post", "sync", "post"}); fmt.Sprint(k.calls) != want {
			t.Errorf("keeper calls = %v, want %v", k.calls, want)
		}
	})
}
