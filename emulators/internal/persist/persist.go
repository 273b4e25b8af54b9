// Package persist keeps the sandbox's state in an embedded bbolt store at
// DATA_DIR/state.db, so that a restart (a deploy, a crash, kill -9) finds
// every object again (issue #18).
//
// Writes go through bbolt's Batch: concurrent writers share one
// transaction and one fsync (group commit), and each writer returns only
// once its batch is on disk, so an API answer is never ahead of the disk.
//
// The store carries a schema version: a store written by a newer sandbox
// is refused, and a damaged or truncated file is reported, never emptied.
package persist

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SchemaVersion is the layout of the store this sandbox writes.
const SchemaVersion = 1

// FileName is the store's file in the data directory.
const FileName = "state.db"

// metaBucket holds the schema version and the sandbox-wide values (clock
// offset, active scenario).
var metaBucket = []byte("meta")

var versionKey = []byte("schema_version")

// ErrNewerSchema is returned by Open for a store written by a newer sandbox.
var ErrNewerSchema = errors.New("state store written by a newer sandbox")

// ErrDamaged is returned by Open for a corrupt or truncated store file.
var ErrDamaged = errors.New("state store is damaged")

// ErrInUse is returned by Open when another process holds the store.
var ErrInUse = errors.New("state store is in use by another sandbox process")

// Store is an open state store. It is safe for concurrent use.
type Store struct {
	db   *bolt.DB
	path string
}

// Path returns the store's file.
func Path(dir string) string { return filepath.Join(dir, FileName) }

// Open opens (creating it when absent) the store in dir. A store from a
// newer schema, a damaged file or one held by another process is an error
// that names the file and says what to do; the file is never modified then.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state store: %w", err)
	}
	path := Path(dir)
	fi, statErr := os.Stat(path)
	existed := statErr == nil
	if existed && fi.Size() == 0 {
		return nil, fmt.Errorf("%w: %s is empty (0 bytes); it was left as it is: restore a backup or move it aside to start with no state", ErrDamaged, path)
	}
	if existed {
		if err := precheck(path, fi.Size()); err != nil {
			return nil, err
		}
	}
	db, err := openBolt(path)
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("%w: %s (stop the other sandbox, or use another --data-dir)", ErrInUse, path)
		}
		if existed {
			return nil, damaged(path, err)
		}
		return nil, fmt.Errorf("state store %s: %w", path, err)
	}
	s := &Store{db: db, path: path}
	if existed {
		if err := s.check(fi.Size()); err != nil {
			db.Close()
			return nil, err
		}
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return err
		}
		if b.Get(versionKey) == nil {
			return b.Put(versionKey, []byte(strconv.Itoa(SchemaVersion)))
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("state store %s: %w", path, err)
	}
	return s, nil
}

// openBolt opens the file, turning a panic of bbolt on a damaged file
// into an error.
func openBolt(path string) (db *bolt.DB, err error) {
	defer func() {
		if v := recover(); v != nil {
			db, err = nil, fmt.Errorf("unreadable: %v", v)
		}
	}()
	return bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
}

// precheck reads the two meta pages of an existing file and refuses a file
// shorter than the pages its newest meta page counts (a truncated copy),
// before bbolt maps it.
func precheck(path string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("state store %s: %w", path, err)
	}
	defer f.Close()
	const magic = 0xED0CDAED
	var best struct {
		txid, hwm uint64
		psize     uint32
		ok        bool
	}
	hdr := make([]byte, 80)
	psize := int64(0)
	for i := range 2 {
		if _, err := f.ReadAt(hdr, int64(i)*psize); err != nil {
			break
		}
		// page header (16 bytes), then magic, version, page size, flags,
		// root bucket (16), freelist, high-water page id, txid, checksum.
		if binary.LittleEndian.Uint32(hdr[16:]) != magic {
			if i == 0 {
				psize = int64(os.Getpagesize())
			}
			continue
		}
		ps := binary.LittleEndian.Uint32(hdr[24:])
		if i == 0 {
			psize = int64(ps)
		}
		hwm, txid := binary.LittleEndian.Uint64(hdr[56:]), binary.LittleEndian.Uint64(hdr[64:])
		if !best.ok || txid > best.txid {
			best.txid, best.hwm, best.psize, best.ok = txid, hwm, ps, true
		}
		if psize <= 0 {
			psize = int64(os.Getpagesize())
		}
	}
	if !best.ok {
		return damaged(path, errors.New("no valid bbolt meta page (not a state store, or overwritten)"))
	}
	if need := int64(best.hwm) * int64(best.psize); need > size || best.psize < 512 {
		return damaged(path, fmt.Errorf("truncated: the file has %d bytes, its pages need %d", size, need))
	}
	return nil
}

func damaged(path string, cause error) error {
	return fmt.Errorf("%w: %s: %v; it was left as it is: restore a backup or move it aside to start with no state", ErrDamaged, path, cause)
}

// check verifies an existing file before anything is written to it: its
// size covers every page the store says it has, every page is consistent,
// and its schema version is one this sandbox knows.
func (s *Store) check(size int64) error {
	return s.db.View(func(tx *bolt.Tx) error {
		if want := tx.Size(); size < want {
			return damaged(s.path, fmt.Errorf("truncated: the file has %d bytes, its pages need %d", size, want))
		}
		for err := range tx.Check() {
			return damaged(s.path, err)
		}
		b := tx.Bucket(metaBucket)
		if b == nil {
			if tx.ForEach(func([]byte, *bolt.Bucket) error { return errors.New("") }) != nil {
				return damaged(s.path, errors.New("no schema version (not a sandbox state store?)"))
			}
			return nil
		}
		v := b.Get(versionKey)
		n, err := strconv.Atoi(string(v))
		if err != nil {
			return damaged(s.path, fmt.Errorf("schema version %q is not a number", v))
		}
		if n > SchemaVersion {
			return fmt.Errorf("%w: %s has schema version %d, this sandbox reads up to %d: upgrade the sandbox, or start it on another --data-dir", ErrNewerSchema, s.path, n, SchemaVersion)
		}
		return nil
	})
}

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// File returns the store's path.
func (s *Store) File() string { return s.path }

// Record is one stored object: its key, its JSON value and its place in
// its table's insertion order.
type Record struct {
	Key   string          `json:"key"`
	Seq   uint64          `json:"seq"`
	Value json.RawMessage `json:"value"`
}

// Write stores or deletes the records of a bucket in one batch: value
// returns the current JSON of a key, or ok false when the key is gone (it
// is then deleted). Write returns once the batch is on disk. value is
// called inside the batch, so whatever it returns is at least as new as
// the change that triggered the write: concurrent writes of one key end
// with its newest value on disk.
func (s *Store) Write(bucket string, keys []string, value func(key string) (v []byte, ok bool, err error)) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(bucket))
		if err != nil {
			return err
		}
		for _, k := range keys {
			v, ok, err := value(k)
			if err != nil {
				return fmt.Errorf("%s %s: %w", bucket, k, err)
			}
			if !ok {
				if err := b.Delete([]byte(k)); err != nil {
					return err
				}
				continue
			}
			var seq uint64
			if old := b.Get([]byte(k)); len(old) >= 8 {
				seq = binary.BigEndian.Uint64(old)
			} else if seq, err = b.NextSequence(); err != nil {
				return err
			}
			buf := make([]byte, 8, 8+len(v))
			binary.BigEndian.PutUint64(buf, seq)
			if err := b.Put([]byte(k), append(buf, v...)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Records returns a bucket's records in insertion order.
func (s *Store) Records(bucket string) ([]Record, error) {
	var out []Record
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			if len(v) < 8 || !json.Valid(v[8:]) {
				return damaged(s.path, fmt.Errorf("bucket %s key %q: the value is not a sequence number and JSON", bucket, k))
			}
			out = append(out, Record{Key: string(k), Seq: binary.BigEndian.Uint64(v), Value: bytes.Clone(v[8:])})
			return nil
		})
	})
	sortRecords(out)
	return out, err
}

// SetMeta stores a sandbox-wide value (JSON) durably.
func (s *Store) SetMeta(key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.db.Batch(func(tx *bolt.Tx) error { return tx.Bucket(metaBucket).Put([]byte(key), raw) })
}

// Meta reads a sandbox-wide value into v and reports whether it was set.
func (s *Store) Meta(key string, v any) (bool, error) {
	var raw []byte
	s.db.View(func(tx *bolt.Tx) error {
		raw = bytes.Clone(tx.Bucket(metaBucket).Get([]byte(key)))
		return nil
	})
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, damaged(s.path, fmt.Errorf("meta %s: %v", key, err))
	}
	return true, nil
}
