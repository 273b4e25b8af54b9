// Package store holds the emulators' objects in typed in-memory tables.
//
// A Table is safe for concurrent use and hands out copies: callers never
// hold a pointer into the table, so a value read for rendering cannot change
// underneath the renderer, and every change goes through Update, which is
// atomic per key. Rows keep their insertion order, which the admin API and
// the provider queries use for "newest first" listings.
package store

import (
	"errors"
	"sync"
)

// ErrNotFound is returned by Update for a missing key.
var ErrNotFound = errors.New("not found")

// ErrExists is returned by Insert for a key already present.
var ErrExists = errors.New("already exists")

// Table is a map from K to V with insertion order. V is copied in and out
// with the clone function given to New (a plain assignment when nil, which
// is right for values without slices, maps or pointers).
//
// The rows live in insertion order in fixed-size blocks (a log), and the
// index maps each key to its row's position: a row is no heap object of
// its own, the index holds no pointer (nothing for the garbage collector to
// mark per row), and no operation copies or scans the whole table under
// the lock, however many rows it holds (issue #17: on one CPU a
// multi-millisecond copy or sweep under the lock is every request's wait).
// Inserting allocates one block per blockLen rows; evicting the oldest
// rows frees whole blocks.
type Table[K comparable, V any] struct {
	clone func(V) V

	limit   int            // most rows kept; 0 = no limit
	evicted func(k K, v V) // told about each row dropped for the limit
	// observe, when set, is told the key of every change (SetObserver).
	observe func(keys ...K)

	mu    sync.RWMutex
	index map[K]int // key → position of its row in log
	log   rowLog[K, V]
}

// blockLen is the number of rows of one block of a table's log.
const blockLen = 256

type row[K comparable, V any] struct {
	k    K
	v    V
	live bool
}

// rowLog holds rows at increasing positions (0, 1, … never reused) in
// blocks of blockLen: blocks[0] starts at position base. Rows before head
// are gone and the blocks wholly before it are released; dead counts the
// deleted rows from head on.
type rowLog[K comparable, V any] struct {
	blocks    []*[blockLen]row[K, V]
	base, end int
	head      int
	dead      int
}

func (l *rowLog[K, V]) at(pos int) *row[K, V] {
	i := pos - l.base
	return &l.blocks[i/blockLen][i%blockLen]
}

// push appends a row (its block allocated by the caller when needed, see
// needsBlock) and returns its position.
func (l *rowLog[K, V]) push(k K, v V, block *[blockLen]row[K, V]) int {
	if l.needsBlock() {
		l.blocks = append(l.blocks, block)
	}
	pos := l.end
	*l.at(pos) = row[K, V]{k: k, v: v, live: true}
	l.end++
	return pos
}

// needsBlock reports whether the next push starts a block.
func (l *rowLog[K, V]) needsBlock() bool { return l.end-l.base == len(l.blocks)*blockLen }

// kill clears the row at pos (its value's pointers are released).
func (l *rowLog[K, V]) kill(pos int) {
	*l.at(pos) = row[K, V]{}
	if pos >= l.head {
		l.dead++
	}
}

// advance moves head past dead rows and releases the blocks before it.
func (l *rowLog[K, V]) advance() {
	for l.head < l.end && !l.at(l.head).live {
		l.head++
		l.dead--
	}
	for len(l.blocks) > 0 && l.head-l.base >= blockLen {
		l.blocks[0] = nil
		l.blocks = l.blocks[1:]
		l.base += blockLen
	}
}

// New returns an empty table. clone deep-copies a value; nil means values
// are copied by assignment.
func New[K comparable, V any](clone func(V) V) *Table[K, V] {
	if clone == nil {
		clone = func(v V) V { return v }
	}
	return &Table[K, V]{clone: clone, index: map[K]int{}}
}

// SetLimit bounds the table to n rows (0: no bound): inserting beyond it
// drops the oldest rows, and evicted, when not nil, is called with each
// dropped row after the table's lock is released (so it may clean the
// caller's own indexes). A long-running sandbox stays within its memory.
func (t *Table[K, V]) SetLimit(n int, evicted func(k K, v V)) {
	t.mu.Lock()
	t.limit, t.evicted = n, evicted
	t.mu.Unlock()
}

// SetObserver makes the table call f with the keys of every change
// (insert, put, update, delete, eviction, clear) after the change is made
// and the table's lock released; f then reads the current value with Get.
// The persistence layer uses it to write changes through to disk before
// the caller goes on (issue #18). Nil (the default) observes nothing.
func (t *Table[K, V]) SetObserver(f func(keys ...K)) {
	t.mu.Lock()
	t.observe = f
	t.mu.Unlock()
}

// notify tells the observer about keys; t.mu is not held.
func (t *Table[K, V]) notify(obs func(keys ...K), keys ...K) {
	if obs != nil && len(keys) > 0 {
		obs(keys...)
	}
}

// Get returns a copy of the value stored under k.
func (t *Table[K, V]) Get(k K) (V, bool) {
	t.mu.RLock()
	pos, ok := t.index[k]
	var v V
	if ok {
		v = t.clone(t.log.at(pos).v)
	}
	t.mu.RUnlock()
	return v, ok
}

// Has reports whether k is present.
func (t *Table[K, V]) Has(k K) bool {
	t.mu.RLock()
	_, ok := t.index[k]
	t.mu.RUnlock()
	return ok
}

// Insert stores v under k unless k is present (then ErrExists).
//
// The copy (and the log's next block, when one is due) is made before the
// lock is taken: on one CPU a writer that allocates under the lock may be
// made to assist the garbage collector (or be preempted) while every other
// request queues behind it.
func (t *Table[K, V]) Insert(k K, v V) error {
	_, err := t.store(k, t.clone(v), false)
	return err
}

// Put stores v under k, replacing any value (an existing key keeps its place).
func (t *Table[K, V]) Put(k K, v V) {
	t.store(k, t.clone(v), true)
}

// store inserts (or, with replace, puts) the copy v under k.
func (t *Table[K, V]) store(k K, v V, replace bool) (bool, error) {
	var block *[blockLen]row[K, V]
	for {
		t.mu.Lock()
		if pos, ok := t.index[k]; ok {
			if !replace {
				t.mu.Unlock()
				return false, ErrExists
			}
			t.log.at(pos).v = v
			obs := t.observe
			t.mu.Unlock()
			t.notify(obs, k)
			return true, nil
		}
		if block != nil || !t.log.needsBlock() {
			break
		}
		t.mu.Unlock()
		block = new([blockLen]row[K, V])
	}
	t.index[k] = t.log.push(k, v, block)
	var buf [1]victim[K, V]
	victims := t.trim(buf[:0])
	obs := t.observe
	t.mu.Unlock()
	t.tell(victims)
	t.changed(obs, k, victims)
	return false, nil
}

// changed tells the observer about k and the evicted rows.
func (t *Table[K, V]) changed(obs func(keys ...K), k K, victims []victim[K, V]) {
	if obs == nil {
		return
	}
	keys := make([]K, 0, 1+len(victims))
	for _, v := range victims {
		keys = append(keys, v.k)
	}
	t.notify(obs, append(keys, k)...)
}

type victim[K comparable, V any] struct {
	k K
	v V
}

// trim drops the oldest rows beyond the limit into out; t.mu is held. Each
// insert drops at most the rows it puts over the limit: constant work.
func (t *Table[K, V]) trim(out []victim[K, V]) []victim[K, V] {
	if t.limit <= 0 {
		return out
	}
	for len(t.index) > t.limit {
		t.log.advance()
		r := t.log.at(t.log.head)
		delete(t.index, r.k)
		if t.evicted != nil || t.observe != nil {
			out = append(out, victim[K, V]{r.k, r.v})
		}
		*r = row[K, V]{}
		t.log.head++
	}
	t.log.advance()
	return out
}

func (t *Table[K, V]) tell(victims []victim[K, V]) {
	if len(victims) == 0 {
		return
	}
	t.mu.RLock()
	f := t.evicted
	t.mu.RUnlock()
	if f == nil {
		return
	}
	for _, v := range victims {
		f(v.k, v.v)
	}
}

// Update applies f to the value under k atomically (no other writer or
// reader of k runs meanwhile) and stores the result unless f returns an
// error. It returns a copy of the stored value.
func (t *Table[K, V]) Update(k K, f func(v *V) error) (V, error) {
	t.mu.Lock()
	pos, ok := t.index[k]
	if !ok {
		t.mu.Unlock()
		var zero V
		return zero, ErrNotFound
	}
	r := t.log.at(pos)
	v := t.clone(r.v)
	if err := f(&v); err != nil {
		out := t.clone(r.v)
		t.mu.Unlock()
		return out, err
	}
	r.v = v
	out, obs := t.clone(v), t.observe
	t.mu.Unlock()
	t.notify(obs, k)
	return out, nil
}

// Delete removes k and reports whether it was present. Its place in the
// log is reclaimed when the oldest rows reach it, or by a compaction once
// the deleted rows outnumber the live ones (amortized constant work).
func (t *Table[K, V]) Delete(k K) bool {
	t.mu.Lock()
	pos, ok := t.index[k]
	if !ok {
		t.mu.Unlock()
		return false
	}
	delete(t.index, k)
	t.log.kill(pos)
	t.log.advance()
	if t.log.dead > 64 && t.log.dead > len(t.index) {
		t.compact()
	}
	obs := t.observe
	t.mu.Unlock()
	t.notify(obs, k)
	return true
}

// compact rewrites the log with the live rows only; t.mu is held.
func (t *Table[K, V]) compact() {
	var l rowLog[K, V]
	for pos := t.log.head; pos < t.log.end; pos++ {
		r := t.log.at(pos)
		if !r.live {
			continue
		}
		var block *[blockLen]row[K, V]
		if l.needsBlock() {
			block = new([blockLen]row[K, V])
		}
		t.index[r.k] = l.push(r.k, r.v, block)
	}
	t.log = l
}

// Len returns the number of rows.
func (t *Table[K, V]) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.index)
}

// Clear removes every row.
func (t *Table[K, V]) Clear() {
	t.mu.Lock()
	var gone []K
	if t.observe != nil {
		gone = make([]K, 0, len(t.index))
		for k := range t.index {
			gone = append(gone, k)
		}
	}
	obs := t.observe
	defer func() { t.notify(obs, gone...) }()
	t.index = map[K]int{}
	t.log = rowLog[K, V]{}
	t.mu.Unlock()
}

// Scan visits copies of the rows in insertion order (newest first when
// newestFirst), stopping when visit returns false. The table is read-locked
// during the scan: visit must not write to it.
func (t *Table[K, V]) Scan(newestFirst bool, visit func(k K, v V) bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	first, last := t.log.head, t.log.end-1
	for i := range last - first + 1 {
		pos := first + i
		if newestFirst {
			pos = last - i
		}
		r := t.log.at(pos)
		if !r.live {
			continue
		}
		if !visit(r.k, t.clone(r.v)) {
			return
		}
	}
}

// Page returns up to limit copies of the rows for which keep returns true
// (nil keeps all), skipping the first offset of them, newest first, and the
// total number of rows kept.
func (t *Table[K, V]) Page(keep func(V) bool, offset, limit int) (rows []V, total int) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for pos := t.log.end - 1; pos >= t.log.head; pos-- {
		r := t.log.at(pos)
		if !r.live {
			continue
		}
		if keep != nil && !keep(r.v) {
			continue
		}
		if total >= offset && (limit <= 0 || len(rows) < limit) {
			rows = append(rows, t.clone(r.v))
		}
		total++
	}
	return rows, total
}
