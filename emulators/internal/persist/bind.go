package persist

import (
	"encoding/binary"
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
	// Form turns a value as the bucket stores it into its JSON, for the
	// export document; nil when the bucket stores JSON only.
	Form() Form
}

// PackedMark is the first byte of a value stored in a codec's own binary
// form (Codec.Pack). A JSON value never starts with it, so one bucket may
// hold both: a store written before the codec packed, or one filled by an
// import (which writes JSON), is read as it is and packed on its next
// change.
const PackedMark = 0x01

// Codec converts a table's keys and values for the store. A nil Encode or
// Decode uses encoding/json on V. With Pack and Unpack set, values are
// written in that binary form instead of JSON (PackedMark, then what
// Pack appends): the hot tables (Khipu's payments) skip the JSON encoder
// on every change; Encode still gives the export document its JSON.
type Codec[K comparable, V any] struct {
	Key    func(K) string
	Parse  func(string) (K, error)
	Encode func(V) ([]byte, error)
	Decode func([]byte) (V, error)
	// Pack appends the binary form of a value to b; Unpack reads it back
	// (without the PackedMark), checking it in full: it reads the disk.
	Pack   func(b []byte, v V) ([]byte, error)
	Unpack func([]byte) (V, error)
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
	size   int // the size of the last record built: the next one's first guess
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
	if (c.Pack == nil) != (c.Unpack == nil) {
		panic("persist.Bind: " + bucket + ": a codec sets both Pack and Unpack or neither")
	}
	return &binding[K, V]{bucket: bucket, t: t, c: c}
}

func (b *binding[K, V]) Bucket() string { return b.bucket }

// decode reads a stored value: the packed form or JSON.
func (b *binding[K, V]) decode(raw []byte) (V, error) {
	if len(raw) > 0 && raw[0] == PackedMark {
		if b.c.Unpack == nil {
			var zero V
			return zero, fmt.Errorf("a packed value in a bucket this sandbox stores as JSON")
		}
		return b.c.Unpack(raw[1:])
	}
	return b.c.Decode(raw)
}

func (b *binding[K, V]) Form() Form {
	if b.c.Pack == nil {
		return nil
	}
	return func(raw []byte) ([]byte, error) {
		v, err := b.decode(raw)
		if err != nil {
			return nil, err
		}
		return b.c.Encode(v)
	}
}

func (b *binding[K, V]) Restore(s *Store) (int, error) {
	rs, err := s.stored(b.bucket)
	if err != nil {
		return 0, err
	}
	var keys []K
	for _, r := range rs {
		k, err := b.c.Parse(r.Key)
		if err != nil {
			return 0, damaged(s.path, fmt.Errorf("%s: key %q: %v", b.bucket, r.Key, err))
		}
		v, err := b.decode(r.Value)
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

// record returns the change of key name to v: the bucket's record (see
// encodeRecord) built once, here, and shared by the log's frame and the
// checkpoint into state.db.
func (b *binding[K, V]) record(name string, v V) (op, error) {
	if b.c.Pack == nil {
		raw, err := b.c.Encode(v)
		if err != nil {
			return op{}, err
		}
		rec := encodeRecord(name, raw)
		return op{bucket: b.bucket, key: name, value: rec[len(rec)-len(raw):], rec: rec}, nil
	}
	rec := recordHead(make([]byte, 0, b.size+len(name)+binary.MaxVarintLen16), name)
	head := len(rec)
	rec, err := b.c.Pack(append(rec, PackedMark), v)
	if err != nil {
		return op{}, err
	}
	b.size = len(rec) - head + 64 // headroom: an object's record grows with its history
	return op{bucket: b.bucket, key: name, value: rec[head:], rec: rec}, nil
}

func (b *binding[K, V]) Attach(s *Store, fail func(error)) {
	report := func(err error) {
		if fail != nil {
			fail(fmt.Errorf("state store: %s: %w", b.bucket, err))
		}
	}
	b.t.SetObserver(func(keys ...K) {
		// Encoded here, in the goroutine that made the change, so that the
		// committer only writes bytes. b.mu orders reading and queueing:
		// of two changes of one key, the later queued write read the table
		// later, so the newest value is the last one written.
		ops := make([]op, len(keys))
		b.mu.Lock()
		defer b.mu.Unlock()
		for i, k := range keys {
			name := b.c.Key(k)
			v, ok := b.t.Get(k)
			if !ok {
				ops[i] = op{bucket: b.bucket, key: name, del: true} // gone: deleted on disk
				continue
			}
			o, err := b.record(name, v)
			if err != nil {
				report(fmt.Errorf("%s: %w", name, err))
				return
			}
			ops[i] = o
		}
		// Queued, not waited for: the sandbox holds each API answer until
		// the writes before it are on disk (Store.Sync), so a caller that
		// holds its own lock across a change does not hold it for an fsync.
		s.writeOps(ops, report)
	})
}
