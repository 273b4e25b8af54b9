// Package persist keeps the sandbox's state in an embedded bbolt store at
// DATA_DIR/state.db with a write-ahead log (wal.go), so that a restart (a
// deploy, a crash, kill -9) finds every object again (issue #18).
//
// Writes are group-committed (commit.go): concurrent writers share one
// log frame and one fsync, and each writer returns only once its frame is
// on disk, so an API answer is never ahead of the disk.
//
// The store carries a schema version: a store written by a newer sandbox
// is refused, and a damaged or truncated file is reported, never emptied.
package persist

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the layout of the store this sandbox writes. 1: every
// value JSON. 2: a value may also be a codec's packed form (PackedMark,
// bind.go), which a sandbox that reads only 1 would take for damage. A
// store of version 1 is read as it is and marked 2 when opened, since the
// next change of a packed table writes the packed form.
const SchemaVersion = 2

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

	index map[string]*keyIndex // bucket → its key index (index.go); committer only
	queue chan commitReq       // commit.go

	// The log (wal.go); committer only.
	segs    [2]*os.File
	segSize [2]int64   // bytes written (zeros past the frames)
	cur     int        // the segment frames go to
	walOff  int64      // where the next frame goes
	frame   []byte     // the committer's frame buffer (commit.go)
	gen     uint64     // the generation frames are written in
	pending []op       // changes in the log, not yet in state.db
	ckDone  chan error // the background checkpoint's result (nil: none runs)
	// Buffers the committer reuses, so that a commit allocates nothing of
	// its own: the group being built, its writers, and the pending array
	// of the last checkpoint (cleared), for the next generation.
	groupBuf, writersBuf []commitReq
	spare                []op

	faultMu sync.Mutex
	fault   error // FailWrites

	qmu       sync.RWMutex // held to send to queue; Close takes it to set isClosed
	isClosed  bool
	sendMu    sync.Mutex // orders the queue: enqueued is the last seq sent
	enqueued  uint64
	durMu     sync.Mutex
	durCond   *sync.Cond
	durable   uint64 // requests up to this seq are done
	failed    error  // the sticky write failure (durMu)
	failedSeq uint64 // the first request it failed
	stopped   bool   // closed: Sync returns
	closed    chan struct{}
	exited    chan struct{}
	once      sync.Once
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
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("%w: %s (stop the other sandbox, or use another --data-dir)", ErrInUse, path)
		}
		if existed {
			return nil, damaged(path, err)
		}
		return nil, fmt.Errorf("state store %s: %w", path, err)
	}
	s := &Store{db: db, path: path, index: map[string]*keyIndex{}, queue: make(chan commitReq, maxGroup), closed: make(chan struct{}), exited: make(chan struct{})}
	s.durCond = sync.NewCond(&s.durMu)
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
		if n, _ := strconv.Atoi(string(b.Get(versionKey))); n < SchemaVersion {
			return b.Put(versionKey, []byte(strconv.Itoa(SchemaVersion))) // new, or an older version's upgraded
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("state store %s: %w", path, err)
	}
	if err := s.openWAL(); err != nil {
		db.Close()
		return nil, err
	}
	go s.commitLoop()
	return s, nil
}

// openWAL opens the log's segments and writes to state.db, in one
// transaction, the frames no checkpoint covered (wal.go).
func (s *Store) openWAL() error {
	var applied uint64
	s.db.View(func(tx *bolt.Tx) error {
		applied, _ = strconv.ParseUint(string(tx.Bucket(metaBucket).Get(walApplied)), 10, 64)
		return nil
	})
	var gens []walFrame // each segment's unapplied frames, as one
	for i, name := range WALNames {
		path := filepath.Join(filepath.Dir(s.path), name)
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err == nil {
			s.segs[i] = f
		} else {
			s.closeWAL()
			return fmt.Errorf("state store: %w", err)
		}
		data, err := io.ReadAll(f)
		if err == nil && len(data) == 0 {
			err = syncDir(path)
		}
		if err != nil {
			s.closeWAL()
			return fmt.Errorf("state store %s: %w", path, err)
		}
		s.segSize[i] = int64(len(data))
		if g, ok := segmentOf(data); ok && g.gen > applied {
			gens = append(gens, g)
		}
	}
	slices.SortFunc(gens, func(a, b walFrame) int { return cmp.Compare(a.gen, b.gen) })
	s.gen = applied + 1
	for _, g := range gens {
		s.pending, s.gen = append(s.pending, g.ops...), g.gen
	}
	if err := s.rotate(false); err != nil {
		s.closeWAL()
		return fmt.Errorf("state store %s: replaying the log: %w", s.path, err)
	}
	return nil
}

func (s *Store) closeWAL() {
	for _, f := range s.segs {
		if f != nil {
			f.Close()
		}
	}
}

// initialMmap is the address space state.db is mapped with at first.
const initialMmap = 1 << 30

// openBolt opens the file, turning a panic of bbolt on a damaged file
// into an error.
func openBolt(path string) (db *bolt.DB, err error) {
	defer func() {
		if v := recover(); v != nil {
			db, err = nil, fmt.Errorf("unreadable: %v", v)
		}
	}()
	// The freelist is not written with each commit (less to fsync); it is
	// rebuilt by scanning on open, as etcd runs bbolt. The map is sized
	// ahead (address space, not memory): growing it remaps the file and
	// copies every node a checkpoint holds.
	return bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType,
		InitialMmapSize: initialMmap})
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

// Close waits for the writes in progress, then closes the store; later
// writes get ErrClosed.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		s.qmu.Lock()
		s.isClosed = true
		s.qmu.Unlock()
		close(s.closed)
		<-s.exited
		// Writes that queued before the close are still committed.
		for {
			select {
			case r := <-s.queue:
				s.commit([]commitReq{r})
				continue
			default:
			}
			break
		}
		if cerr := s.rotate(false); cerr != nil {
			err = fmt.Errorf("state store %s: %w", s.path, cerr)
		}
		s.closeWAL()
		s.durMu.Lock()
		s.stopped = true
		s.durMu.Unlock()
		s.durCond.Broadcast()
		if cerr := s.db.Close(); err == nil {
			err = cerr
		}
	})
	return err
}

// File returns the store's path.
func (s *Store) File() string { return s.path }

// Record is one stored object: its key, its value (JSON, or in the export
// document always JSON) and its place in its table's insertion order.
type Record struct {
	Key   string          `json:"key"`
	Seq   uint64          `json:"seq"`
	Value json.RawMessage `json:"value"`
}

// Records sit in their bucket under their insertion sequence number (8
// bytes, big-endian), so that creates append to the B+tree's last page
// instead of dirtying pages all over it; the value is the object's key
// (uvarint length, bytes) then its value: JSON, or a codec's packed form
// (PackedMark, bind.go). Each bucket's key → sequence
// index is kept in memory (built by one scan on first use).

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

func encodeRecord(key string, v []byte) []byte {
	return append(recordHead(make([]byte, 0, binary.MaxVarintLen16+len(key)+len(v)), key), v...)
}

// recordHead appends what precedes a record's value: its key.
func recordHead(b []byte, key string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(key))), key...)
}

func decodeRecord(raw []byte) (key string, v []byte, ok bool) {
	n, w := binary.Uvarint(raw)
	if w <= 0 || n > uint64(len(raw)-w) {
		return "", nil, false
	}
	return string(raw[w : w+int(n)]), raw[w+int(n):], true
}

// indexOf returns the key → sequence index of bucket b, scanning it on
// first use; it is only used inside write transactions (one at a time).
func (s *Store) indexOf(name string, b *bolt.Bucket) (*keyIndex, error) {
	if idx, ok := s.index[name]; ok {
		return idx, nil
	}
	idx := newKeyIndex()
	err := b.ForEach(func(k, v []byte) error {
		key, _, ok := decodeRecord(v)
		if len(k) != 8 || !ok {
			return damaged(s.path, fmt.Errorf("bucket %s: a record that is not a sequence number, key and value", name))
		}
		idx.add(key, binary.BigEndian.Uint64(k))
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.index[name] = idx
	return idx, nil
}

// Write stores or deletes the records of a bucket: value returns the
// current JSON of a key, or ok false when the key is gone (it is then
// deleted). Write returns once the change is on disk. value is called when
// the write's group is built, after every write queued before it, so
// whatever it returns is at least as new as the change that triggered the
// write: concurrent writes of one key end with its newest value on disk.
func (s *Store) Write(bucket string, keys []string, value func(key string) (v []byte, ok bool, err error)) error {
	return s.update(commitReq{ops: opsOf(bucket, keys, value)})
}

// WriteAsync is Write that returns at once: fail gets its error. Sync
// waits for it.
func (s *Store) WriteAsync(bucket string, keys []string, value func(key string) (v []byte, ok bool, err error), fail func(error)) {
	s.updateAsync(commitReq{ops: opsOf(bucket, keys, value)}, fail)
}

func opsOf(bucket string, keys []string, value func(key string) (v []byte, ok bool, err error)) func() ([]op, error) {
	return func() ([]op, error) {
		ops := make([]op, 0, len(keys))
		for _, k := range keys {
			v, ok, err := value(k)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", bucket, k, err)
			}
			ops = append(ops, op{bucket: bucket, key: k, value: v, del: !ok})
		}
		return ops, nil
	}
}

// writeOps queues ops, built by the writer, for the next frame.
func (s *Store) writeOps(ops []op, fail func(error)) {
	s.updateAsync(commitReq{batch: ops}, fail)
}

// Records returns a bucket's records in insertion order; every value must
// be JSON (the buckets the sandbox reads this way hold nothing else).
func (s *Store) Records(bucket string) ([]Record, error) { return s.records(bucket, true) }

// stored returns a bucket's records in insertion order as stored: JSON or
// a codec's packed form (Binding.Restore tells them apart).
func (s *Store) stored(bucket string) ([]Record, error) { return s.records(bucket, false) }

func (s *Store) records(bucket string, onlyJSON bool) ([]Record, error) {
	if err := s.flush(); err != nil {
		return nil, err
	}
	var out []Record
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, raw []byte) error {
			key, v, ok := decodeRecord(raw)
			if len(k) != 8 || !ok || len(v) == 0 || (onlyJSON && !json.Valid(v)) {
				return damaged(s.path, fmt.Errorf("bucket %s record %x: not a sequence number, key and value", bucket, k))
			}
			out = append(out, Record{Key: key, Seq: binary.BigEndian.Uint64(k), Value: bytes.Clone(v)})
			return nil
		})
	})
	return out, err
}

// SetMeta stores a sandbox-wide value (JSON) durably.
func (s *Store) SetMeta(key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.update(commitReq{ops: func() ([]op, error) { return []op{{bucket: string(metaBucket), key: key, value: raw}}, nil }})
}

// SetMetaAsync is SetMeta that returns at once: fail gets its error. Sync
// waits for it.
func (s *Store) SetMetaAsync(key string, v any, fail func(error)) {
	raw, err := json.Marshal(v)
	if err != nil {
		fail(err)
		return
	}
	s.updateAsync(commitReq{ops: func() ([]op, error) { return []op{{bucket: string(metaBucket), key: key, value: raw}}, nil }}, fail)
}

// Meta reads a sandbox-wide value into v and reports whether it was set.
func (s *Store) Meta(key string, v any) (bool, error) {
	if err := s.flush(); err != nil {
		return false, err
	}
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
