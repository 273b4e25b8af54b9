package persist

import (
	"encoding/binary"
	"hash/maphash"

	bolt "go.etcd.io/bbolt"
)

// keyIndex is a bucket's key → sequence index (records sit under their
// sequence number, persist.go), kept without a pointer per key: a map of
// strings would give the garbage collector one more object to mark per
// stored object (100,000 per kind at the default max_objects) on every
// cycle of a sandbox under load. So keys are held by their 64-bit hash;
// the record a hash leads to names its key, which each lookup compares.
// A key whose hash another key already holds goes to clash, by name
// (with 64-bit hashes, practically never).
type keyIndex struct {
	hash  func(string) uint64
	seqs  map[uint64]uint64 // hash of a key → its sequence number
	clash map[string]uint64 // keys whose hash is held by another key
}

// weakHash, when set, replaces the hash of new indexes: a test's way to
// make keys clash.
var weakHash func(string) uint64

func newKeyIndex() *keyIndex {
	x := &keyIndex{seqs: map[uint64]uint64{}, clash: map[string]uint64{}}
	if weakHash != nil {
		x.hash = weakHash
	} else {
		seed := maphash.MakeSeed()
		x.hash = func(key string) uint64 { return maphash.String(seed, key) }
	}
	return x
}

// add records key at seq while the index is built from the bucket (keys
// are unique there: a hash already held is another key's).
func (x *keyIndex) add(key string, seq uint64) {
	h := x.hash(key)
	if _, held := x.seqs[h]; held {
		x.clash[key] = seq
		return
	}
	x.seqs[h] = seq
}

// slot is where key is, or would go: found reports that key is stored
// (at seq); taken that its hash is held by another key.
type slot struct {
	hash         uint64
	seq          uint64
	found, taken bool
}

// find looks key up; b is the bucket, to read the key of the record a hash
// leads to.
func (x *keyIndex) find(b *bolt.Bucket, key string) slot {
	if seq, ok := x.clash[key]; ok {
		return slot{seq: seq, found: true, taken: true}
	}
	h := x.hash(key)
	seq, ok := x.seqs[h]
	if !ok {
		return slot{hash: h}
	}
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	if recordKeyIs(b.Get(k[:]), key) {
		return slot{hash: h, seq: seq, found: true}
	}
	return slot{hash: h, taken: true}
}

// put records that key (not found at s) is at seq.
func (x *keyIndex) put(s slot, key string, seq uint64) {
	if s.taken {
		x.clash[key] = seq
		return
	}
	x.seqs[s.hash] = seq
}

// remove forgets key, found at s.
func (x *keyIndex) remove(s slot, key string) {
	if s.taken {
		delete(x.clash, key)
		return
	}
	delete(x.seqs, s.hash)
}

// recordKeyIs reports whether the record raw (encodeRecord) is key's,
// without allocating.
func recordKeyIs(raw []byte, key string) bool {
	n, w := binary.Uvarint(raw)
	return w > 0 && n == uint64(len(key)) && uint64(len(raw)-w) >= n && string(raw[w:w+int(n)]) == key
}
