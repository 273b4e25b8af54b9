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
	done chan error // nil for an asynchronous write
	seq  uint64     // place in the queue (Sync)
}

// maxGroup bounds one transaction's writes.
const maxGroup = 4096

// update runs fn in a transaction shared with the other writers queued at
// the time and returns once that transaction is durable. A failing fn is
// retried alone, so that it fails no other writer.
func (s *Store) update(fn func(tx *bolt.Tx) error) error {
	req := commitReq{fn: fn, done: make(chan error, 1)}
	if err := s.enqueue(req); err != nil {
		return err
	}
	return <-req.done
}

// enqueue queues req behind every write queued before it.
func (s *Store) enqueue(req commitReq) error {
	s.qmu.RLock()
	defer s.qmu.RUnlock()
	if s.isClosed {
		return ErrClosed
	}
	s.sendMu.Lock()
	s.enqueued++
	req.seq = s.enqueued
	s.queue <- req // the committer runs until Close holds qmu
	s.sendMu.Unlock()
	return nil
}

// updateAsync queues fn for the next transaction and returns at once; fail
// gets its error, if any. Sync waits for it.
func (s *Store) updateAsync(fn func(tx *bolt.Tx) error, fail func(error)) {
	if err := s.enqueue(commitReq{fn: func(tx *bolt.Tx) error {
		err := fn(tx)
		if err != nil && fail != nil {
			fail(err)
		}
		return err
	}}); err != nil && fail != nil {
		fail(err)
	}
}

// Sync returns once every write queued before the call is on disk (or
// has failed and been reported): the sandbox calls it before an API
// answer leaves, so that what the client saw is durable.
func (s *Store) Sync() {
	s.sendMu.Lock()
	target := s.enqueued
	s.sendMu.Unlock()
	s.durMu.Lock()
	for s.durable < target && !s.stopped {
		s.durCond.Wait()
	}
	s.durMu.Unlock()
}

// committed records that the requests up to seq are done.
func (s *Store) committed(seq uint64) {
	s.durMu.Lock()
	if seq > s.durable {
		s.durable = seq
	}
	s.durMu.Unlock()
	s.durCond.Broadcast()
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
	defer s.committed(group[len(group)-1].seq)
	if err == nil {
		for _, r := range group {
			r.reply(nil)
		}
		return
	}
	// The rolled-back transaction may have changed the in-memory indexes.
	clear(s.index)
	if !errors.Is(err, errRetryAlone) || len(group) == 1 {
		for _, r := range group {
			r.reply(err)
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
			r.reply(err)
		} else {
			ok = append(ok, r)
		}
	}
	if len(ok) > 0 {
		s.commit(ok)
	}
}

func (r commitReq) reply(err error) {
	if r.done != nil {
		r.done <- err
	}
}
