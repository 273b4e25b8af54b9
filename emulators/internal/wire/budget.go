package wire

import (
	"context"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators"
)

// Request bodies are read whole (signatures are computed over the bytes as
// sent), and a provider's decoders make a few copies of what they read. So
// that eight concurrent 10 MB bodies cannot take the process to several
// hundred MiB (issue #13), every body larger than SmallBody reserves its
// size from one process-wide budget of BodyBudget bytes before it is read,
// and gives it back when its exchange ends. A body that cannot get its
// share within BodyWait is refused as Unavailable (the provider's 503).
const (
	SmallBody  = 64 << 10
	BodyBudget = 16 << 20
	BodyWait   = 30 * time.Second
)

var bodies = newBudget(BodyBudget)

// budget is a FIFO weighted semaphore.
type budget struct {
	mu      sync.Mutex
	total   int64
	avail   int64
	waiters []*waiter
}

type waiter struct {
	n     int64
	ready chan struct{}
}

func newBudget(total int64) *budget { return &budget{total: total, avail: total} }

// acquire reserves n bytes (at most the whole budget), waiting in order.
func (b *budget) acquire(ctx context.Context, n int64) (int64, error) {
	n = min(n, b.total)
	b.mu.Lock()
	if len(b.waiters) == 0 && b.avail >= n {
		b.avail -= n
		b.mu.Unlock()
		return n, nil
	}
	w := &waiter{n: n, ready: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return n, nil
	case <-ctx.Done():
		b.mu.Lock()
		select {
		case <-w.ready: // granted meanwhile: give it back
			b.mu.Unlock()
			b.release(n)
			return 0, ctx.Err()
		default:
		}
		for i, x := range b.waiters {
			if x == w {
				b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
				break
			}
		}
		b.grantLocked() // the head may have changed
		b.mu.Unlock()
		return 0, ctx.Err()
	}
}

func (b *budget) release(n int64) {
	b.mu.Lock()
	b.avail += n
	b.grantLocked()
	b.mu.Unlock()
}

func (b *budget) grantLocked() {
	for len(b.waiters) > 0 && b.waiters[0].n <= b.avail {
		w := b.waiters[0]
		b.avail -= w.n
		close(w.ready)
		b.waiters[0] = nil
		b.waiters = b.waiters[1:]
	}
}

// reserveBody takes the share of the budget a body of up to limit bytes
// needs; the exchange's end (ReleaseBody) gives it back.
func reserveBody(c echo.Context, st *state, limit int64) error {
	n := c.Request().ContentLength
	if n < 0 || n > limit {
		n = limit + 1 // unknown length: as much as the route accepts
	}
	if n <= SmallBody || st.reserved > 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), BodyWait)
	defer cancel()
	got, err := bodies.acquire(ctx, n)
	if err != nil {
		return &emulators.Error{Kind: emulators.Unavailable, Msg: "the sandbox is busy reading other large request bodies; retry later",
			Detail: "no share of the " + HumanBytes(BodyBudget) + " request body budget within " + BodyWait.String()}
	}
	st.reserved = got
	return nil
}

// ReleaseBody gives back the body budget the request reserved; the journal
// middleware calls it when the exchange ends. Calling it twice is harmless.
func ReleaseBody(c echo.Context) {
	if s, ok := c.Get(keyState).(*state); ok && s.reserved > 0 {
		bodies.release(s.reserved)
		s.reserved = 0
	}
}
