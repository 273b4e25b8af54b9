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
type Table[K comparable, V any] struct {
	clone func(V) V

	limit   int            // most rows kept; 0 = no limit
	evicted func(k K, v V) // told about each row dropped for the limit
	// observe, when set, is told the key of every change (SetObserver).
	observe func(keys ...K)

	mu    sync.RWMutex
	rows  map[K]*row[V]
	order []K // insertion order; deleted keys are compacted lazily
	dead  int // deleted entries still in order
	head  int // order[:head] holds no live row (evictions start here)
}

type row[V any] struct {
	v   V
	pos int // index in order
}

// New returns an empty table. clone deep-copies a value; nil means values
// are copied by assignment.
func New[K comparable, V any](clone func(V) V) *Table[K, V] {
	if clone == nil {
		clone = func(v V) V { return v }
	}
	return &Table[K, V]{clone: clone, rows: map[K]*row[V]{}}
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
	r, ok := t.rows[k]
	var v V
	if ok {
		v = t.clone(r.v)
	}
	t.mu.RUnlock()
	return v, ok
}

// Has reports whether k is present.
func (t *Table[K, V]) Has(k K) bool {
	t.mu.RLock()
	_, ok := t.rows[k]
	t.mu.RUnlock()
	return ok
}

// Insert stores v under k unless k is present (then ErrExists).
//
// The copy and the row are made before the lock is taken: on one CPU a
// writer that allocates under the lock may be made to assist the garbage
// collector (or be preempted) while every other request queues behind it.
func (t *Table[K, V]) Insert(k K, v V) error {
	nr := &row[V]{v: t.clone(v)}
	t.mu.Lock()
	if _, ok := t.rows[k]; ok {
		t.mu.Unlock()
		return ErrExists
	}
	nr.pos = len(t.order)
	t.rows[k] = nr
	t.order = append(t.order, k)
	victims := t.trim()
	obs := t.observe
	t.mu.Unlock()
	t.tell(victims)
	t.changed(obs, k, victims)
	return nil
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

// Put stores v under k, replacing any value (an existing key keeps its place).
func (t *Table[K, V]) Put(k K, v V) {
	nr := &row[V]{v: t.clone(v)} // made outside the lock, as in Insert
	t.mu.Lock()
	obs := t.observe
	if r, ok := t.rows[k]; ok {
		r.v = nr.v
		t.mu.Unlock()
		t.notify(obs, k)
		return
	}
	nr.pos = len(t.order)
	t.rows[k] = nr
	t.order = append(t.order, k)
	victims := t.trim()
	t.mu.Unlock()
	t.tell(victims)
	t.changed(obs, k, victims)
}

type victim[K comparable, V any] struct {
	k K
	v V
}

// trim drops the oldest rows beyond the limit; t.mu is held.
func (t *Table[K, V]) trim() []victim[K, V] {
	if t.limit <= 0 || len(t.rows) <= t.limit {
		return nil
	}
	var out []victim[K, V]
	for i := t.head; len(t.rows) > t.limit && i < len(t.order); i++ {
		t.head = i + 1
		k := t.order[i]
		r, ok := t.rows[k]
		if !ok || r.pos != i {
			continue
		}
		delete(t.rows, k)
		var zero K
		t.order[i] = zero
		t.dead++
		if t.evicted != nil || t.observe != nil {
			out = append(out, victim[K, V]{k, r.v})
		}
	}
	if t.dead > 64 && t.dead > len(t.order)/2 {
		t.compact()
	}
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
	r, ok := t.rows[k]
	if !ok {
		t.mu.Unlock()
		var zero V
		return zero, ErrNotFound
	}
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

// Delete removes k and reports whether it was present.
func (t *Table[K, V]) Delete(k K) bool {
	t.mu.Lock()
	r, ok := t.rows[k]
	if !ok {
		t.mu.Unlock()
		return false
	}
	delete(t.rows, k)
	var zero K
	t.order[r.pos] = zero
	t.dead++
	if t.dead > 64 && t.dead > len(t.order)/2 {
		t.compact()
	}
	obs := t.observe
	t.mu.Unlock()
	t.notify(obs, k)
	return true
}

func (t *Table[K, V]) compact() {
	order := make([]K, 0, len(t.rows))
	for _, k := range t.order {
		if r, ok := t.rows[k]; ok && t.order[r.pos] == k {
			r.pos = len(order)
			order = append(order, k)
		}
	}
	t.order, t.dead, t.head = order, 0, 0
}

// Len returns the number of rows.
func (t *Table[K, V]) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.rows)
}

// Clear removes every row.
func (t *Table[K, V]) Clear() {
	t.mu.Lock()
	var gone []K
	if t.observe != nil {
		gone = make([]K, 0, len(t.rows))
		for k := range t.rows {
			gone = append(gone, k)
		}
	}
	obs := t.observe
	defer func() { t.notify(obs, gone...) }()
	t.rows = map[K]*row[V]{}
	t.order = nil
	t.dead = 0
	t.head = 0
	t.mu.Unlock()
}

// Scan visits copies of the rows in insertion order (newest first when
// newestFirst), stopping when visit returns false. The table is read-locked
// during the scan: visit must not write to it.
func (t *Table[K, V]) Scan(newestFirst bool, visit func(k K, v V) bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	n := len(t.order)
	for i := range n {
		j := i
		if newestFirst {
			j = n - 1 - i
		}
		k := t.order[j]
		r, ok := t.rows[k]
		if !ok || r.pos != j {
			continue
		}
		if !visit(k, t.clone(r.v)) {
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
	for j := len(t.order) - 1; j >= 0; j-- {
		r, ok := t.rows[t.order[j]]
		if !ok || r.pos != j {
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
