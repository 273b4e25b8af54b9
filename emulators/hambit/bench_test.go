package hambit

import (
	"os"
	"testing"
)

// BenchmarkVerifySignature measures what every Hambit request pays for its
// signature: canonicalising the JSON body (numbers kept as written) and
// checking the received sign against the usual rendering (the other
// candidates of spec §5.3 are computed only when it does not match).
//
//	go test -run=^$ -bench=. -benchmem ./emulators/hambit/
func BenchmarkVerifySignature(b *testing.B) {
	body, err := os.ReadFile("testdata/requests/vector1_create_collection.json")
	if err != nil {
		b.Fatal(err)
	}
	const key, secret, ts, nonce = "pFqV75X3", "emulator-test-secret", "1713319809342", "a2b4c6d8-1111-4222-8333-123456789abc"
	sign, err := SignRequest(key, secret, body, ts, nonce)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		ps, err := parseParams(body)
		if err != nil {
			b.Fatal(err)
		}
		if matchSign(firstCandidate(ps, secret, key, ts, nonce), sign) != 0 {
			b.Fatal("no match")
		}
	}
}

// BenchmarkCanonical measures the canonical string alone.
func BenchmarkCanonical(b *testing.B) {
	body, err := os.ReadFile("testdata/requests/vector1_create_collection.json")
	if err != nil {
		b.Fatal(err)
	}
	ps, err := parseParams(body)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		canonical(ps, "pFqV75X3", "1713319809342", "a2b4c6d8-1111-4222-8333-123456789abc", canonOptions{})
	}
}
