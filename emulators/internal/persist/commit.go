package persist

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// Group commit. Every write waits for the fsync of the frame that holds
// it, and one committer goroutine turns whatever writes queued up while
// the previous frame was on its way to disk into the next frame (wal.go):
// the more writers, the larger each frame, with no timer to wait on
// (bbolt's own Batch waits up to MaxBatchDelay, which caps the throughput
// of a fixed number of clients at clients/delay).

// ErrClosed is returned by a write to a closed store.
var ErrClosed = errors.New("state store closed")

// ErrWriteFailed wraps the error of a write that did not reach the disk.
// It is sticky: once a write failed, every later one fails too (after a
// failed fsync the file's state is unknown), until the sandbox restarts.
var ErrWriteFailed = errors.New("state store write failed")

type commitReq struct {
	ops        func() ([]op, error)    // the changes, computed when the group is built
	batch      []op                    // or the changes, computed by the writer
	tx         func(tx *bolt.Tx) error // a whole transaction on state.db, after a checkpoint (import)
	checkpoint bool                    // write the pending changes to state.db (reads)
	done       chan error              // a synchronous write's answer
	fail       func(error)             // an asynchronous write's failure
	seq        uint64                  // place in the queue (Sync)
}

// special reports whether r is not a plain write: it runs alone, in its
// place in the queue.
func (r commitReq) special() bool { return r.ops == nil && r.batch == nil }

// maxFrameBuffer is the largest frame buffer the committer keeps between
// groups.
const maxFrameBuffer = 1 << 20

// checkpointSlice is how many changes a checkpoint applies between yields.
const checkpointSlice = 64

// maxYields bounds how often the committer yields to let a group grow.
const maxYields = 4

// maxGroup bounds one frame's writes.
const maxGroup = 4096

// update queues r and returns once it is durable (or failed).
func (s *Store) update(r commitReq) error {
	r.done = make(chan error, 1)
	if err := s.enqueue(r); err != nil {
		return err
	}
	return <-r.done
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

// updateAsync queues r for the next frame and returns at once; fail gets
// its error, if any. Sync waits for it.
func (s *Store) updateAsync(r commitReq, fail func(error)) {
	r.fail = fail
	if err := s.enqueue(r); err != nil && fail != nil {
		fail(err)
	}
}

// Sync returns once every write queued before the call is on disk or has
// failed: the sandbox calls it before an API answer leaves, so that what
// the client saw is durable. It returns the store's write failure when one
// of those writes failed (ErrWriteFailed): the answer must not say success.
func (s *Store) Sync() error { return s.SyncSince(0) }

// Mark returns the place of the last write queued so far, for SyncSince.
func (s *Store) Mark() uint64 {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	return s.enqueued
}

// SyncSince is Sync that reports the store's failure only when a write was
// queued after mark (Mark): an answer that changed nothing (a read) is not
// refused for an earlier failure.
func (s *Store) SyncSince(mark uint64) error {
	target := s.Mark()
	s.durMu.Lock()
	defer s.durMu.Unlock()
	for s.durable < target && !s.stopped {
		s.durCond.Wait()
	}
	if s.failed != nil && target >= s.failedSeq && target > mark {
		return s.failed
	}
	return nil
}

// Failed returns the store's write failure, if a write failed.
func (s *Store) Failed() error {
	s.durMu.Lock()
	defer s.durMu.Unlock()
	return s.failed
}

// FailWrites makes every later write fail with err, as a full or broken
// disk would: a fault for tests of what a failed write does.
func (s *Store) FailWrites(err error) {
	s.faultMu.Lock()
	s.fault = err
	s.faultMu.Unlock()
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

// setFailed makes the store's failure sticky from the request seq on.
func (s *Store) setFailed(seq uint64, err error) error {
	s.durMu.Lock()
	defer s.durMu.Unlock()
	if s.failed == nil {
		s.failed = fmt.Errorf("%w in the data directory %s: %v; the sandbox keeps answering from memory but its changes are not kept "+
			"(free space or fix permissions there, then restart the sandbox)", ErrWriteFailed, filepath.Dir(s.path), err)
		s.failedSeq = seq
	}
	return s.failed
}

func (s *Store) commitLoop() {
	defer close(s.exited)
	var next *commitReq
	for {
		group := s.groupBuf[:0]
		if next != nil {
			group, next = append(group, *next), nil
		} else {
			select {
			case r := <-s.queue:
				group = append(group, r)
			case <-s.closed:
				return
			}
		}
		yields, before := 0, 0
	drain:
		for len(group) < maxGroup && !group[0].special() {
			select {
			case r := <-s.queue:
				if r.special() {
					next = &r
					break drain
				}
				group = append(group, r)
			default:
				if yields == maxYields || (yields > 0 && len(group) == before) {
					break drain
				}
				// Let the requests that are running queue their
				// changes too (on one CPU they wait for this goroutine),
				// as long as that brings more: one fdatasync then covers
				// them all.
				yields, before = yields+1, len(group)
				runtime.Gosched()
			}
		}
		s.commit(group)
		clear(group) // drops the finished requests' closures and channels
		s.groupBuf = group
	}
}

// commit makes one group durable: plain writes as one frame of the log,
// or one special request.
func (s *Store) commit(group []commitReq) {
	defer s.committed(group[len(group)-1].seq)
	if r := group[0]; r.special() {
		var err error
		if err = s.rotate(false); err == nil && r.tx != nil {
			err = s.db.Update(r.tx)
			clear(s.index)
		}
		r.reply(err)
		return
	}
	// The group's changes go straight to the end of the pending array;
	// they are cut off again when the frame fails.
	start := len(s.pending)
	size := frameHeader
	writers := s.writersBuf[:0]
	for _, r := range group {
		rops := r.batch
		if r.ops != nil {
			var err error
			if rops, err = r.ops(); err != nil {
				r.reply(err) // this writer's own value failed to encode: it fails alone
				continue
			}
		}
		for _, o := range rops {
			size += len(o.bucket) + len(o.key) + len(o.value) + 3*binary.MaxVarintLen32 + 1
		}
		s.pending = append(s.pending, rops...)
		writers = append(writers, r)
	}
	ops := s.pending[start:]
	err := s.Failed()
	if err == nil && len(ops) > 0 {
		// One buffer serves every frame (only the committer writes): a
		// frame is on disk before the next one is built.
		if cap(s.frame) < size {
			s.frame = make([]byte, 0, max(size, 2*cap(s.frame)))
		}
		f := s.frame[:frameHeader]
		for _, o := range ops {
			f = appendOp(f, o)
		}
		if err = s.appendFrame(seal(f, s.gen)); err != nil {
			err = s.setFailed(group[0].seq, err)
		}
		if cap(s.frame) > maxFrameBuffer {
			s.frame = nil // a rare huge group does not pin its buffer
		}
	}
	if err != nil {
		clear(ops)
		s.pending = s.pending[:start]
	} else if s.checkpointDue() {
		if cerr := s.rotate(true); cerr != nil {
			s.setFailed(group[len(group)-1].seq+1, cerr)
		}
	}
	for _, r := range writers {
		r.reply(err)
	}
	clear(writers)
	s.writersBuf = writers
}

// appendFrame writes frame f as the log's next and fsyncs it.
func (s *Store) appendFrame(f []byte) error {
	s.faultMu.Lock()
	fault := s.fault
	s.faultMu.Unlock()
	if fault != nil {
		return fault
	}
	seg := s.segs[s.cur]
	for end := s.walOff + int64(len(f)); end > s.segSize[s.cur]; {
		// Zeros written ahead: overwriting written blocks needs no
		// metadata change, so the fsync below flushes data only.
		if _, err := seg.WriteAt(zeros[:], s.segSize[s.cur]); err != nil {
			return err
		}
		s.segSize[s.cur] += int64(len(zeros))
	}
	if _, err := seg.WriteAt(f, s.walOff); err != nil {
		return err
	}
	if err := datasync(seg); err != nil {
		return err
	}
	s.walOff += int64(len(f))
	return nil
}

// zeros is what the log grows by at a time.
var zeros [1 << 20]byte

// rotate hands the pending changes to a checkpoint and starts the next
// generation in the other segment of the log. The checkpoint runs in the
// background (the next frames are written meanwhile) or, for a read or
// Close, before rotate returns. A segment is written again only once the
// checkpoint of its generation is in state.db.
func (s *Store) rotate(background bool) error {
	if err := s.waitCheckpoint(); err != nil {
		return err
	}
	if len(s.pending) == 0 {
		return nil
	}
	batch, gen := s.pending, s.gen
	s.pending, s.spare = s.spare, nil
	s.gen++
	s.cur, s.walOff = 1-s.cur, 0
	if !background {
		err := s.checkpoint(batch, gen)
		s.recycle(batch)
		return err
	}
	done := make(chan error, 1)
	s.ckDone = done
	go func() {
		err := s.checkpoint(batch, gen)
		s.recycle(batch) // before done: the committer reads spare after waitCheckpoint
		done <- err
	}()
	return nil
}

// recycle keeps the array of a checkpointed batch for a later generation's
// pending changes (an array of the usual size only).
func (s *Store) recycle(batch []op) {
	if cap(batch) <= 2*(checkpointMaxPending+maxGroup) {
		clear(batch)
		s.spare = batch[:0]
	}
}

// checkpointDue reports whether the pending changes go to a checkpoint
// now: at a hard bound always (rotate then waits for the running one),
// at checkpointPending changes when no checkpoint runs.
func (s *Store) checkpointDue() bool {
	if s.walOff >= checkpointBytes || len(s.pending) >= checkpointMaxPending {
		return true
	}
	running := s.ckDone != nil && len(s.ckDone) == 0 // its result not sent yet
	return len(s.pending) >= checkpointPending && !running
}

// waitCheckpoint waits for the background checkpoint, if one runs.
func (s *Store) waitCheckpoint() error {
	if s.ckDone == nil {
		return nil
	}
	err := <-s.ckDone
	s.ckDone = nil
	return err
}

// checkpoint writes batch to state.db in one transaction that also records
// its generation as applied.
func (s *Store) checkpoint(batch []op, gen uint64) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := s.apply(tx, batch); err != nil {
			return err
		}
		return tx.Bucket(metaBucket).Put(walApplied, []byte(strconv.FormatUint(gen, 10)))
	})
	if err != nil {
		clear(s.index) // the rolled-back transaction may have changed them
		return fmt.Errorf("checkpoint into %s: %w", s.path, err)
	}
	return nil
}

// apply writes ops to state.db in their order.
func (s *Store) apply(tx *bolt.Tx, ops []op) error {
	buckets := map[string]*bolt.Bucket{}
	// bbolt keeps the keys given to Put until the commit: one array holds
	// them all.
	keys := make([]byte, 0, 8*len(ops))
	for i, o := range ops {
		if i%checkpointSlice == checkpointSlice-1 {
			// A checkpoint runs behind the requests: on one CPU it
			// lets them run between slices instead of holding the CPU
			// until the scheduler preempts it.
			runtime.Gosched()
		}
		if o.bucket == string(metaBucket) {
			m := tx.Bucket(metaBucket)
			var err error
			if o.del {
				err = m.Delete([]byte(o.key))
			} else {
				err = m.Put([]byte(o.key), o.value)
			}
			if err != nil {
				return err
			}
			continue
		}
		b := buckets[o.bucket]
		if b == nil {
			var err error
			if b, err = tx.CreateBucketIfNotExists([]byte(o.bucket)); err != nil {
				return err
			}
			b.FillPercent = 0.95 // appends: pages split full
			buckets[o.bucket] = b
		}
		idx, err := s.indexOf(o.bucket, b)
		if err != nil {
			return err
		}
		at := idx.find(b, o.key)
		seq := at.seq
		if o.del {
			if at.found {
				if err := b.Delete(seqKey(seq)); err != nil {
					return err
				}
				idx.remove(at, o.key)
			}
			continue
		}
		if !at.found {
			if seq, err = b.NextSequence(); err != nil {
				return err
			}
			idx.put(at, o.key, seq)
		}
		rec := o.rec
		if rec == nil {
			rec = encodeRecord(o.key, o.value)
		}
		keys = binary.BigEndian.AppendUint64(keys, seq)
		if err := b.Put(keys[len(keys)-8:], rec); err != nil {
			return err
		}
	}
	return nil
}

// flush writes the pending changes to state.db before a read.
func (s *Store) flush() error {
	err := s.update(commitReq{checkpoint: true})
	if errors.Is(err, ErrClosed) {
		return nil // Close checkpointed
	}
	return err
}

func (r commitReq) reply(err error) {
	if r.done != nil {
		r.done <- err
	}
	if err != nil && r.fail != nil {
		r.fail(err)
	}
}
