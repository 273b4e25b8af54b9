package localca

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"github.com/paysandbox/sandbox/emulators/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadOrCreateKeepsTheCAAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	first, err := LoadOrCreate(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := first.Certificate()
	if c.Subject.CommonName != CommonName || !c.IsCA {
		t.Fatalf("subject %q, IsCA %v", c.Subject.CommonName, c.IsCA)
	}
	if got := c.NotAfter.Sub(c.NotBefore); got < CAValidity || got > CAValidity+2*time.Hour {
		t.Errorf("validity %v, want about 10 years", got)
	}
	if c.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("key algorithm %v, want ECDSA", c.PublicKeyAlgorithm)
	}
	fi, err := os.Stat(filepath.Join(dir, "ca", "ca-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	onDisk, err := os.ReadFile(filepath.Join(dir, "ca", "ca.pem"))
	if err != nil || !bytes.Equal(onDisk, first.PEM()) {
		t.Fatalf("ca.pem on disk differs from the CA served (%v)", err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "ca"))
	if len(entries) != 2 {
		t.Errorf("ca directory holds %d files, want ca.pem and ca-key.pem only", len(entries))
	}

	again, err := LoadOrCreate(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Fingerprint() != first.Fingerprint() {
		t.Error("a restart on the same data directory changed the CA")
	}
	other, err := LoadOrCreate(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if other.Fingerprint() == first.Fingerprint() {
		t.Error("a new data directory got the same CA")
	}
}

func TestLoadOrCreateRefusesACertificateWithoutItsKey(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadOrCreate(dir, Options{}); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "ca", "ca-key.pem"))
	_, err := LoadOrCreate(dir, Options{})
	if err == nil || !strings.Contains(err.Error(), "ca-key.pem does not") {
		t.Fatalf("err = %v, want a message naming the missing key", err)
	}
	if _, err := LoadOrCreate("", Options{}); err == nil || !strings.Contains(err.Error(), "--data-dir") {
		t.Fatalf("no data dir: err = %v", err)
	}
}

func TestParseRejects(t *testing.T) {
	ca, keyPEM, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	other, otherKey, _ := New(Options{})
	leaf, _ := ca.Leaf("khipu.com")
	leafPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Certificate[0]})
	for _, tc := range []struct {
		name      string
		cert, key []byte
		want      string
	}{
		{"empty", nil, nil, "no PEM \"CERTIFICATE\""},
		{"garbage cert", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), keyPEM, "certificate:"},
		{"no key", ca.PEM(), nil, "no PEM private key"},
		{"wrong key", ca.PEM(), otherKey, "does not belong"},
		{"not a CA", leafPEM, keyPEM, "is not a CA"},
		{"key swapped", other.PEM(), keyPEM, "does not belong"},
		{"huge", bytes.Repeat([]byte("A"), maxPEM+1), keyPEM, "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.cert, tc.key, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := Parse(ca.PEM(), keyPEM, Options{}); err != nil {
		t.Fatalf("round trip: %v", err)
	}
}

func TestLeafVerifiesForItsNameOnly(t *testing.T) {
	ca, _, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"payment-api.khipu.com", "localhost", "127.0.0.1", "::1"} {
		leaf, err := ca.Leaf(name)
		if err != nil {
			t.Fatal(err)
		}
		opts := x509.VerifyOptions{DNSName: name, Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		if _, err := leaf.Leaf.Verify(opts); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		opts.DNSName = "example.com"
		if _, err := leaf.Leaf.Verify(opts); err == nil {
			t.Errorf("%s: the certificate also verifies for example.com", name)
		}
		if leaf.Leaf.IsCA || leaf.Leaf.KeyUsage != x509.KeyUsageDigitalSignature {
			t.Errorf("%s: IsCA %v, key usage %v", name, leaf.Leaf.IsCA, leaf.Leaf.KeyUsage)
		}
		if d := leaf.Leaf.NotAfter.Sub(leaf.Leaf.NotBefore); d > LeafValidity+2*time.Hour {
			t.Errorf("%s: leaf valid for %v", name, d)
		}
	}
}

func TestOpenSSLVerifiesTheLeaf(t *testing.T) {
	openssl := testenv.Tool(t, "openssl", "apt-get install openssl")
	dir := t.TempDir()
	ca, err := LoadOrCreate(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca", "ca.pem")
	for _, tc := range []struct{ name, flag string }{
		{"payment-api.khipu.com", "-verify_hostname"},
		{"apis.hambit.co", "-verify_hostname"},
		{"localhost", "-verify_hostname"},
		{"127.0.0.1", "-verify_ip"},
		{"::1", "-verify_ip"},
	} {
		leaf, err := ca.Leaf(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		leafFile := filepath.Join(dir, "leaf.pem")
		os.WriteFile(leafFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Certificate[0]}), 0o644)
		out, err := exec.Command(openssl, "verify", "-CAfile", caFile, "-purpose", "sslserver", tc.flag, tc.name, leafFile).CombinedOutput()
		if err != nil || !strings.Contains(string(out), ": OK") {
			t.Errorf("openssl verify %s: %v\n%s", tc.name, err, out)
		}
		wrong := "example.com"
		if tc.flag == "-verify_ip" {
			wrong = "10.0.0.1"
		}
		out, err = exec.Command(openssl, "verify", "-CAfile", caFile, "-purpose", "sslserver", tc.flag, wrong, leafFile).CombinedOutput()
		if err == nil {
			t.Errorf("openssl verify accepted the %s certificate for %s:\n%s", tc.name, wrong, out)
		}
	}
}

func TestIssuerServesEachNameAndFallsBack(t *testing.T) {
	ca, _, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	is := NewIssuer(ca, []string{"khipu.com", "Payment-API.khipu.com.", "127.0.0.1", "[::1]"}, "localhost")
	a, _ := is.Get("KHIPU.COM")
	b, _ := is.Get("khipu.com")
	if a != b || a.Leaf.DNSNames[0] != "khipu.com" {
		t.Fatalf("khipu.com: not cached or wrong name: %v", a.Leaf.DNSNames)
	}
	if c, _ := is.Get("payment-api.khipu.com"); c.Leaf.DNSNames[0] != "payment-api.khipu.com" {
		t.Errorf("payment-api: %v", c.Leaf.DNSNames)
	}
	for _, unknown := range []string{"example.com", "", strings.Repeat("x", 300)} {
		c, _ := is.Get(unknown)
		if c.Leaf.DNSNames[0] != "localhost" {
			t.Errorf("%q got %v, want the localhost certificate", unknown, c.Leaf.DNSNames)
		}
	}
	if n := len(is.certs); n != 3 {
		t.Errorf("cache holds %d certificates, want 3 (one per name used)", n)
	}

	// A real handshake: TLS 1.2+ only, and the certificate verifies.
	ln, err := tls.Listen("tcp", "127.0.0.1:0", is.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{ServerName: "khipu.com", RootCAs: ca.Pool()})
	if err != nil {
		t.Fatalf("TLS to khipu.com: %v", err)
	}
	conn.Close()
	conn, err = tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: ca.Pool()})
	if err != nil {
		t.Fatalf("TLS to 127.0.0.1 without SNI: %v", err)
	}
	conn.Close()
	if _, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{ServerName: "khipu.com", RootCAs: ca.Pool(), MaxVersion: tls.VersionTLS11}); err == nil {
		t.Error("a TLS 1.1 client was accepted")
	}
}

func TestLeafOfAnExpiringCA(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	ca, _, err := New(Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	now = ca.Certificate().NotAfter.Add(-48 * time.Hour)
	leaf, err := ca.Leaf("khipu.com")
	if err != nil {
		t.Fatal(err)
	}
	if leaf.Leaf.NotAfter.After(ca.Certificate().NotAfter) {
		t.Errorf("leaf outlives its CA: %v > %v", leaf.Leaf.NotAfter, ca.Certificate().NotAfter)
	}
	// The issuer re-mints a certificate that is about to expire.
	now = start
	is := NewIssuer(ca, nil, "localhost")
	first, _ := is.Get("localhost")
	now = first.Leaf.NotAfter.Add(-time.Hour)
	if second, _ := is.Get("localhost"); second == first {
		t.Error("the issuer kept a certificate one hour from expiry")
	}
}

func TestWriteFileAtomicReplaces(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := WriteFileAtomic(p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(p, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	entries, _ := os.ReadDir(filepath.Dir(p))
	if string(b) != "two" || len(entries) != 1 {
		t.Fatalf("content %q, %d files", b, len(entries))
	}
}

func FuzzParse(f *testing.F) {
	ca, keyPEM, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ca.PEM(), keyPEM)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), []byte("-----BEGIN EC PRIVATE KEY-----\nAA==\n-----END EC PRIVATE KEY-----\n"))
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, certPEM, keyPEM []byte) {
		got, err := Parse(certPEM, keyPEM, Options{})
		if err != nil {
			return
		}
		// Whatever parses is a CA whose key signs certificates it verifies.
		leaf, err := got.Leaf("khipu.com")
		if err != nil {
			t.Fatalf("parsed CA cannot mint: %v", err)
		}
		if _, err := leaf.Leaf.Verify(x509.VerifyOptions{DNSName: "khipu.com", Roots: got.Pool(), CurrentTime: leaf.Leaf.NotBefore.Add(2 * time.Hour)}); err != nil && !strings.Contains(err.Error(), "expired") {
			t.Fatalf("minted leaf does not verify: %v", err)
		}
	})
}
