package random_test

import (
	"regexp"
	"testing"

	"github.com/paysandbox/sandbox/emulators/internal/random"
)

func TestSeededStreamsAreDeterministicAndIndependent(t *testing.T) {
	seed := int64(42)
	a1, a2 := random.New(&seed, "khipu"), random.New(&seed, "khipu")
	b := random.New(&seed, "hambit")
	for range 10 {
		x, y := a1.Hex(16), a2.Hex(16)
		if x != y {
			t.Fatalf("same seed and name gave %s and %s", x, y)
		}
	}
	if random.New(&seed, "khipu").Hex(32) == b.Hex(32) {
		t.Error("two provider streams are equal")
	}
	other := int64(43)
	if random.New(&seed, "payu").UUID() == random.New(&other, "payu").UUID() {
		t.Error("two seeds gave the same UUID")
	}
}

func TestFormats(t *testing.T) {
	s := random.New(nil, "x")
	if s.Seeded() {
		t.Error("nil seed reports seeded")
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for range 100 {
		if u := s.UUID(); !uuid.MatchString(u) {
			t.Fatalf("UUID %q is not a v4 UUID", u)
		}
		if id := s.String(12, random.LowerAlnum); !regexp.MustCompile(`^[a-z0-9]{12}$`).MatchString(id) {
			t.Fatalf("id %q", id)
		}
		if h := s.Hex(63); len(h) != 63 {
			t.Fatalf("Hex(63) has %d chars", len(h))
		}
		if f := s.Float64(); f < 0 || f >= 1 {
			t.Fatalf("Float64 = %v", f)
		}
		if n := s.IntN(6); n < 0 || n >= 6 {
			t.Fatalf("IntN(6) = %d", n)
		}
	}
}

// BenchmarkUUID measures a seeded UUID, drawn for every PayU transaction and
// Hambit callback nonce.
func BenchmarkUUID(b *testing.B) {
	seed := int64(1)
	s := random.New(&seed, "payu")
	b.ReportAllocs()
	for b.Loop() {
		_ = s.UUID()
	}
}
