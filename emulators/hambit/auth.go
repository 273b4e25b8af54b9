package hambit

import (
	"hash/maphash"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/paysandbox/sandbox/emulators/internal/wire"
)

// authHeaders are the four signed-request headers (spec §3.1).
type authHeaders struct {
	accessKey, timestamp, nonce, sign string
}

var (
	timestampRE = regexp.MustCompile(`^[0-9]{13}$`)
	secondsRE   = regexp.MustCompile(`^[0-9]{10}$`)
	nonceRE     = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// header returns the first value of the header named name, matched
// case-insensitively (Hambit's names are lower case with an underscore,
// which net/http does not canonicalise the usual way).
func header(h http.Header, name string) (string, bool) {
	for k, v := range h {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0], true
		}
	}
	return "", false
}

// readAuthHeaders checks that the four headers are present and well formed
// (spec §3.1, §3.4 step 3); the error is the detail of a code-300 answer.
func readAuthHeaders(h http.Header) (authHeaders, string) {
	var a authHeaders
	get := func(name string) (string, string) {
		v, ok := header(h, name)
		if ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v), ""
		}
		hyphen := strings.ReplaceAll(name, "_", "-")
		if hyphen != name {
			if _, found := header(h, hyphen); found {
				return "", "missing header " + name + " (found " + hyphen + "; Hambit's header names use an underscore)"
			}
		}
		if ok {
			return "", "header " + name + " is empty"
		}
		return "", "missing header " + name
	}
	var msg string
	if a.accessKey, msg = get("access_key"); msg != "" {
		return a, msg
	}
	if a.timestamp, msg = get("timestamp"); msg != "" {
		return a, msg
	}
	if !timestampRE.MatchString(a.timestamp) {
		if secondsRE.MatchString(a.timestamp) {
			return a, "timestamp " + a.timestamp + " has 10 digits (seconds); Hambit wants 13-digit milliseconds"
		}
		return a, "timestamp " + quoteShort(a.timestamp) + " is not 13 digits of epoch milliseconds"
	}
	if a.nonce, msg = get("nonce"); msg != "" {
		return a, msg
	}
	if !nonceRE.MatchString(a.nonce) {
		return a, "nonce " + quoteShort(a.nonce) + " is not a UUID (8-4-4-4-12 hex digits)"
	}
	if a.sign, msg = get("sign"); msg != "" {
		return a, msg
	}
	return a, ""
}

func quoteShort(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return `"` + wire.HeaderSafe(s) + `"`
}

// peerIP is the connection's peer address (X-Forwarded-For is ignored, spec §3.4).
func peerIP(r *http.Request) (netip.Addr, bool) {
	host := r.RemoteAddr
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return ip.Unmap(), true
}

// maxNonces bounds the replay cache so that memory stays flat under load.
const maxNonces = 1 << 18

// nonceCache remembers (access_key, nonce) pairs until they expire. Pairs
// are kept as 64-bit hashes in arrival order; when full, the oldest go first.
//
// Everything it holds is pointer-free (expiries are Unix nanoseconds, not
// time.Time, whose location is a pointer), so its up to maxNonces entries
// give the garbage collector nothing to scan, and the queue is kept in
// fixed-size blocks: it never copies itself under the lock (a slice of
// 262,144 entries doubling or compacting is a megabyte copy every request
// queued behind it waits for on one CPU; issue #17).
type nonceCache struct {
	mu    sync.Mutex
	seed  maphash.Seed
	seen  map[uint64]int64 // hash → expiry, UnixNano
	queue nonceQueue
	limit int
}

type nonceEntry struct {
	h   uint64
	exp int64 // UnixNano
}

// nonceBlock is the number of entries of one block of a nonceQueue.
const nonceBlock = 1024

// nonceQueue is a FIFO of entries in blocks of nonceBlock: the front block
// is released once consumed, a new one added when the last is full.
type nonceQueue struct {
	blocks []*[nonceBlock]nonceEntry
	head   int // index of the front entry in blocks[0]
	n      int // entries queued
}

func (q *nonceQueue) at(i int) *nonceEntry {
	i += q.head
	return &q.blocks[i/nonceBlock][i%nonceBlock]
}

// full reports whether the next push needs a new block.
func (q *nonceQueue) full() bool { return q.head+q.n == len(q.blocks)*nonceBlock }

// push appends e; block is the new block when full (allocated by the
// caller before it took its lock).
func (q *nonceQueue) push(e nonceEntry, block *[nonceBlock]nonceEntry) {
	if q.full() {
		q.blocks = append(q.blocks, block)
	}
	*q.at(q.n) = e
	q.n++
}

func (q *nonceQueue) pop() {
	*q.at(0) = nonceEntry{}
	q.head++
	q.n--
	if q.head == nonceBlock {
		q.blocks[0] = nil
		q.blocks = q.blocks[1:]
		q.head = 0
	}
}

func newNonceCache(limit int) *nonceCache {
	return &nonceCache{seed: maphash.MakeSeed(), seen: map[uint64]int64{}, limit: limit}
}

func (n *nonceCache) hash(key, nonce string) uint64 {
	var h maphash.Hash
	h.SetSeed(n.seed)
	h.WriteString(key)
	h.WriteByte(0)
	h.WriteString(strings.ToLower(nonce))
	return h.Sum64()
}

// remember records the pair until now+ttl; it reports false when the pair
// was already there (a replay racing the first use).
func (n *nonceCache) remember(key, nonce string, now time.Time, ttl time.Duration) bool {
	h := n.hash(key, nonce)
	at, exp := now.UnixNano(), now.Add(ttl).UnixNano()
	var block *[nonceBlock]nonceEntry
	for {
		n.mu.Lock()
		n.prune(at)
		if old, ok := n.seen[h]; ok && at < old {
			n.mu.Unlock()
			return false
		}
		if block != nil || !n.queue.full() {
			break
		}
		n.mu.Unlock()
		block = new([nonceBlock]nonceEntry) // not under the lock
	}
	n.seen[h] = exp
	n.queue.push(nonceEntry{h: h, exp: exp}, block)
	n.mu.Unlock()
	return true
}

// prune drops expired entries and the oldest beyond the limit; n.mu is held.
func (n *nonceCache) prune(now int64) {
	for n.queue.n > 0 {
		e := *n.queue.at(0)
		if now < e.exp && n.queue.n < n.limit {
			break
		}
		if exp, ok := n.seen[e.h]; ok && exp == e.exp {
			delete(n.seen, e.h)
		}
		n.queue.pop()
	}
}

func (n *nonceCache) clear() {
	n.mu.Lock()
	n.seen = map[uint64]int64{}
	n.queue = nonceQueue{}
	n.mu.Unlock()
}
