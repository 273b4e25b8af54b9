package persist

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
)

// The write-ahead log. A bbolt commit costs two fsyncs (the pages, then
// the meta page) plus its page writes; an answer only needs its change to
// be on disk somewhere. So each group of writes is appended to
// DATA_DIR/state.wal as one checksummed frame and made durable with one
// fsync; the changes are then kept in memory (pending) and written to
// state.db in one bbolt transaction every few hundred changes (a
// checkpoint), at Close, and before the store is read back. Open replays
// the frames that a checkpoint did not cover.
//
// A frame is: CRC-32C (of the rest of the frame) uint32, payload length
// uint32, generation uint64, payload. The generation is the number of
// checkpoints the store has made: state.db records the last one it holds
// (meta wal_applied), so frames it already holds are never replayed, even
// when the truncation after a checkpoint did not reach the disk. A frame
// that is cut short or fails its checksum ends the log: it was being
// written when the sandbox stopped, and its writers were never answered.
//
// The payload is a sequence of operations: uvarint-prefixed bucket and
// key, one byte (opPut, opDelete), then for a put the uvarint-prefixed
// value. The meta bucket holds its values under their key as they are.

// WALNames are the log's two segments in the data directory: frames go
// to one while the other's generation is written to state.db.
var WALNames = [2]string{"state.0.wal", "state.1.wal"}

const (
	frameHeader = 16
	opPut       = 1
	opDelete    = 2
	// maxFrame bounds a frame read back (a damaged length reads as the end).
	maxFrame = 1 << 30
)

// Checkpoint thresholds. The pending changes stay in memory until their
// checkpoint ends (two batches at most: one being written to state.db,
// one filling), so checkpointBytes bounds the memory persistence adds
// under load to about twice itself.
//
// A checkpoint's cost grows with its batch (about 4 µs a change on the
// project's VM) and its bbolt commit cannot yield to the requests, so
// batches are kept small: at 8192 changes a checkpoint held the one CPU
// of a one-CPU sandbox for 20–80 ms and half the requests slower than p99
// overlapped one; at 512 they take 3–6 ms and the tail no longer follows
// them (README, Persistence). A small batch is only started when no
// checkpoint runs, though: a writer faster than the checkpoints (each
// costs two fsyncs of state.db) makes the batches grow up to
// checkpointMaxPending instead of waiting for them.
const (
	checkpointBytes      = 4 << 20
	checkpointPending    = 512
	checkpointMaxPending = 8192
)

var walApplied = []byte("wal_applied")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// op is one change: a put (value) or a delete of bucket/key.
type op struct {
	bucket, key string
	value       []byte
	del         bool
	// rec, when set, is the bucket's record of the put (encodeRecord),
	// built by the writer; value is then its tail.
	rec []byte
}

// appendOp appends o to a frame payload.
func appendOp(b []byte, o op) []byte {
	b = binary.AppendUvarint(b, uint64(len(o.bucket)))
	b = append(b, o.bucket...)
	b = binary.AppendUvarint(b, uint64(len(o.key)))
	b = append(b, o.key...)
	if o.del {
		return append(b, opDelete)
	}
	b = append(b, opPut)
	b = binary.AppendUvarint(b, uint64(len(o.value)))
	return append(b, o.value...)
}

// frame returns the frame of payload in generation gen.
func frame(gen uint64, payload []byte) []byte {
	return seal(append(make([]byte, frameHeader, frameHeader+len(payload)), payload...), gen)
}

// seal fills in the header of f, a frame whose payload follows the
// header's room, for generation gen.
func seal(f []byte, gen uint64) []byte {
	binary.LittleEndian.PutUint32(f[4:], uint32(len(f)-frameHeader))
	binary.LittleEndian.PutUint64(f[8:], gen)
	binary.LittleEndian.PutUint32(f, crc32.Checksum(f[4:], castagnoli))
	return f
}

var errBadPayload = errors.New("malformed frame payload")

// decodeOps parses a frame payload.
func decodeOps(p []byte) ([]op, error) {
	var out []op
	str := func() (string, bool) {
		n, w := binary.Uvarint(p)
		if w <= 0 || n > uint64(len(p)-w) {
			return "", false
		}
		s := string(p[w : w+int(n)])
		p = p[w+int(n):]
		return s, true
	}
	for len(p) > 0 {
		var o op
		var ok bool
		if o.bucket, ok = str(); !ok || o.bucket == "" {
			return nil, errBadPayload
		}
		if o.key, ok = str(); !ok {
			return nil, errBadPayload
		}
		if len(p) == 0 {
			return nil, errBadPayload
		}
		kind := p[0]
		p = p[1:]
		switch kind {
		case opDelete:
			o.del = true
		case opPut:
			v, ok := str()
			if !ok {
				return nil, errBadPayload
			}
			o.value = []byte(v)
		default:
			return nil, errBadPayload
		}
		out = append(out, o)
	}
	return out, nil
}

// walFrame is one frame read back.
type walFrame struct {
	gen uint64
	ops []op
}

// readFrames parses the log from its start and returns its valid frames
// and the offset where they end; anything after is a torn or damaged tail.
func readFrames(data []byte) (frames []walFrame, end int64) {
	off := 0
	for len(data)-off >= frameHeader {
		h := data[off:]
		n := binary.LittleEndian.Uint32(h[4:])
		if n > maxFrame || uint64(n) > uint64(len(h)-frameHeader) {
			break
		}
		body := h[4 : frameHeader+int(n)]
		if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(h) {
			break
		}
		ops, err := decodeOps(h[frameHeader : frameHeader+int(n)])
		if err != nil {
			break
		}
		frames = append(frames, walFrame{gen: binary.LittleEndian.Uint64(h[8:]), ops: ops})
		off += frameHeader + int(n)
	}
	return frames, int64(off)
}

// segmentOf returns a segment's frames of its current generation (those
// its start holds; after them come frames of an older use) as one.
func segmentOf(data []byte) (walFrame, bool) {
	frames, _ := readFrames(data)
	if len(frames) == 0 {
		return walFrame{}, false
	}
	g := walFrame{gen: frames[0].gen}
	for _, f := range frames {
		if f.gen != g.gen {
			break
		}
		g.ops = append(g.ops, f.ops...)
	}
	return g, true
}

// syncDir makes a new file's directory entry durable.
func syncDir(path string) error {
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
