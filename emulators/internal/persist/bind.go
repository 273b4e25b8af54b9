package persist

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"github.com/paysandbox/sandbox/emulators/internal/store"
)

// Binding ties one in-memory table to one bucket of the store.
type Binding interface {
	// Bucket is the bucket's name ("khipu.payments").
	Bucket() string
	// Restore loads the bucket into the (empty) table, oldest first, and
	// deletes from disk whatever the table's limit dropped.
	Restore(s *Store) (int, error)
	// Attach writes every later change of the table through to the store
	// (queued: Store.Sync waits for it); a failed write is given to fail.
	Attach(s *Store, fail func(error))
}

// Codec converts a table's keys and values for the store. A nil Encode or
// Decode uses encoding/json on V.
type Codec[K comparable, V any] struct {
	Key    func(K) string
	Parse  func(string) (K, error)
	Encode func(V) ([]byte, error)
	Decode func([]byte) (V, error)
}

// StringKeys is the codec of a table keyed by string.
func StringKeys[V any]() Codec[string, V] {
	return Codec[string, V]{Key: func(k string) string { return k }, Parse: func(s string) (string, error) { return s, nil }}
}

// IntKeys is the codec of a table keyed by int64 (written as decimals).
func IntKeys[V any]() Codec[int64, V] {
	return Codec[int64, V]{Key: func(k int64) string { return strconv.FormatInt(k, 10) },
		Parse: func(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }}
}

type binding[K comparable, V any] struct {
	mu     sync.Mutex // orders the encoding and queueing of changes (Attach)
	bucket string
	t      *store.Table[K, V]
	c      Codec[K, V]
}

// Bind returns the binding of table t to bucket.
func Bind[K comparable, V any](bucket string, t *store.Table[K, V], c Codec[K, V]) Binding {
	if c.Encode == nil {
		c.Encode = func(v V) ([]byte, error) { return json.Marshal(v) }
	}
	if c.Decode == nil {
		c.Decode = func(b []byte) (V, error) {
			var v V
			err := json.Unmarshal(b, &v)
			return v, err
		}
	}
	return &binding[K, V]{bucket: bucket, t: t, c: c}
}

func (b *binding[K, V]) Bucket() string { return b.bucket }

func (b *binding[K, V]) Restore(s *Store) (int, error) {
	rs, err := s.Records(b.bucket)
	if err != nil {
		return 0, err
	}
	var keys []K
	for _, r := range rs {
		k, err := b.c.Parse(r.Key)
		if err != nil {
			return 0, damaged(s.path, fmt.Errorf("%s: key %q: %v", b.bucket, r.Key, err))
		}
		v, err := b.c.Decode(r.Value)
		if err != nil {
			return 0, damaged(s.path, fmt.Errorf("%s %s: %v", b.bucket, r.Key, err))
		}
		b.t.Put(k, v)
		keys = append(keys, k)
	}
	// A smaller max_objects than when the store was written drops the
	// oldest rows: drop them on disk too.
	var gone []string
	for _, k := range keys {
		if !b.t.Has(k) {
			gone = append(gone, b.c.Key(k))
		}
	}
	if len(gone) > 0 {
		if err := s.Write(b.bucket, gone, func(string) ([]byte, bool, error) { return nil, false, nil }); err != nil {
			return 0, err
		}
	}
	return b.t.Len(), nil
}

func (b *binding[K, V]) Attach(s *Store, fail func(error)) {
	b.t.SetObserver(func(keys ...K) {
		report := func(err error) {
			if fail != nil {
				fail(fmt.Errorf("state store: %s: %w", b.bucket, err))
			}
		}
		// Encoded here, in the goroutine that made the change, so that the
		// committer only writes bytes. b.mu orders reading and queueing:
		// of two changes of one key, the later queued write read the table
		// later, so the newest value is the last one written.
		names := make([]string, len(keys))
		vals := make(map[string][]byte, len(keys))
		b.mu.Lock()
		defer b.mu.Unlock()
		for i, k := range keys {
			names[i] = b.c.Key(k)
			v, ok := b.t.Get(k)
			if !ok {
				continue // gone: deleted on disk
			}
			raw, err := b.c.Encode(v)
			if err != nil {
				report(fmt.Errorf("%s: %w", names[i], err))
				return
			}
			vals[names[i]] = raw
		}
		// Queued, not waited for: the sandbox holds each API answer until
		// the writes before it are on disk (Store.Sync), so a caller that
		// holds its own lock across a change does not hold it for an fsync.
		s.WriteAsync(b.bucket, names, func(name string) ([]byte, bool, error) {
			raw, ok := vals[name]
			return raw, ok, nil
		}, report)
	})
}
