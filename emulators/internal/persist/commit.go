package persist

import (
	"errors"

	bolt "go.etcd.io/bbolt"
)

// Group commit. Every write waits for the fsync of the transaction that
// holds it, and one committer goroutine turns whatever writes queued up
// while the previous transaction was on its way to disk into the next
// transaction: the more writers, the larger each transaction, with no
// timer to wait on (bbolt's own Batch waits up to MaxBatchDelay, which
// caps the throughput of a fixed number of clients at clients/delay).

// ErrClosed is returned by a write to a closed store.
var ErrClosed = errors.New("state store closed")

type commitReq struct {
	fn   func(tx *bolt.Tx) error
	done chan error
}

// maxGroup bounds one transaction's writes.
const maxGroup = 4096

// update runs fn in a transaction shared with the other writers queued at
// the time and returns once that transaction is durable. A failing fn is
// retried alone, so that it fails no other writer.
func (s *Store) update(fn func(tx *bolt.Tx) error) error {
	req := commitReq{fn: fn, done: make(chan error, 1)}
	s.qmu.RLock()
	if s.isClosed {
		s.qmu.RUnlock()
		return ErrClosed
	}
	s.queue <- req // the committer runs until Close holds qmu
	s.qmu.RUnlock()
	return <-req.done
}

func (s *Store) commitLoop() {
	defer close(s.exited)
	for {
		var group []commitReq
		select {
		case r := <-s.queue:
			group = append(group, r)
		case <-s.closed:
			return
		}
	drain:
		for len(group) < maxGroup {
			select {
			case r := <-s.queue:
				group = append(group, r)
			default:
				break drain
			}
		}
		s.commit(group)
	}
}

// errRetryAlone marks a group transaction rolled back for one failing write.
var errRetryAlone = errors.New("retry alone")

func (s *Store) commit(group []commitReq) {
	failed := make([]bool, len(group))
	err := s.db.Update(func(tx *bolt.Tx) error {
		bad := false
		for i, r := range group {
			if err := r.fn(tx); err != nil {
				failed[i], bad = true, true
			}
		}
		if bad {
			return errRetryAlone
		}
		return nil
	})
	if err == nil {
		for _, r := range group {
			r.done <- nil
		}
		return
	}
	// The rolled-back transaction may have changed the in-memory indexes.
	clear(s.index)
	if !errors.Is(err, errRetryAlone) || len(group) == 1 {
		for _, r := range group {
			r.done <- err
		}
		return
	}
	// Someone's write failed: the others go in one transaction again, the
	// failing ones alone.
	var ok []commitReq
	for i, r := range group {
		if failed[i] {
			err := s.db.Update(r.fn)
			if err != nil {
				clear(s.index)
			}
			r.done <- err
		} else {
			ok = append(ok, r)
		}
	}
	if len(ok) > 0 {
		s.commit(ok)
	}
}
