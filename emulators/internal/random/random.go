// Package random is the one source of every random value the sandbox hands
// out: ids, tokens, nonces, authorization codes and scenario probability
// draws (docs/design.md, Randomness and --seed).
//
// Every Source is a ChaCha8 stream (math/rand/v2's cryptographically strong
// generator), which costs no system call per value. Without a seed its key
// comes from crypto/rand; with a seed, each named Source is a deterministic
// stream derived from the seed and its name, so the same requests in the
// same order give the same values and one provider's traffic never shifts
// another's.
package random

import (
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	mrand "math/rand/v2"
	"sync"

	"github.com/google/uuid"
)

// Source produces random bytes and values. It is safe for concurrent use.
type Source struct {
	mu     sync.Mutex
	chacha *mrand.ChaCha8
	seeded bool
}

// New returns the source named name. A nil seed keys it from crypto/rand.
func New(seed *int64, name string) *Source {
	if seed == nil {
		var key [32]byte
		crand.Read(key[:])
		return &Source{chacha: mrand.NewChaCha8(key)}
	}
	h := sha256.New()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(*seed))
	h.Write(b[:])
	h.Write([]byte(name))
	var key [32]byte
	copy(key[:], h.Sum(nil))
	return &Source{chacha: mrand.NewChaCha8(key), seeded: true}
}

// Seeded reports whether the source is deterministic.
func (s *Source) Seeded() bool { return s.seeded }

// Read fills p with random bytes; it never fails.
func (s *Source) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.chacha.Read(p)
}

// Uint64 returns a uniformly random uint64.
func (s *Source) Uint64() uint64 {
	var b [8]byte
	s.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

// IntN returns a uniform value in [0, n); n must be > 0.
func (s *Source) IntN(n int) int {
	if n <= 0 {
		panic("random: IntN with n <= 0")
	}
	// Rejection sampling keeps the distribution uniform.
	limit := ^uint64(0) - (^uint64(0) % uint64(n))
	for {
		v := s.Uint64()
		if v < limit {
			return int(v % uint64(n))
		}
	}
}

// Float64 returns a uniform value in [0, 1).
func (s *Source) Float64() float64 {
	return float64(s.Uint64()>>11) / (1 << 53)
}

// Hex returns n random lower-case hex characters.
func (s *Source) Hex(n int) string {
	b := make([]byte, (n+1)/2)
	s.Read(b)
	return hex.EncodeToString(b)[:n]
}

// String returns n characters drawn uniformly from alphabet (at most 256
// characters). It reads random bytes in one batch and rejects the values
// that would bias the draw.
func (s *Source) String(n int, alphabet string) string {
	k := len(alphabet)
	if k == 0 || k > 256 {
		panic("random: String needs an alphabet of 1 to 256 characters")
	}
	limit := 256 - 256%k // bytes at or above limit would favour the first characters
	out := make([]byte, 0, n)
	var buf [64]byte
	for len(out) < n {
		s.Read(buf[:min(len(buf), 2*(n-len(out))+8)])
		for _, b := range buf[:min(len(buf), 2*(n-len(out))+8)] {
			if int(b) < limit {
				out = append(out, alphabet[int(b)%k])
				if len(out) == n {
					break
				}
			}
		}
	}
	return string(out)
}

// Alphabets used by the providers' identifiers.
const (
	Digits        = "0123456789"
	LowerAlnum    = "abcdefghijklmnopqrstuvwxyz0123456789"
	UpperAlnum    = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	LowerHexChars = "0123456789abcdef"
)

// UUID returns a random (version 4) UUID in its lower-case 8-4-4-4-12 form,
// drawn from s (so it is deterministic under --seed).
func (s *Source) UUID() string {
	u, err := uuid.NewRandomFromReader(s)
	if err != nil { // the source never fails: chacha8 and crypto/rand do not
		panic("random: " + err.Error())
	}
	return u.String()
}
