// Package localca is the sandbox's certificate authority: a CA kept in the
// data directory (created on first use, the same after every restart) or
// given by the user, and the leaf certificates it mints for each name a
// client reaches the sandbox by (khipu.com, apis.hambit.co, localhost, …),
// so that clients which insist on https to the providers' real hosts work
// unchanged once the CA is in their trust store.
package localca

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// CommonName is the subject of the CA the sandbox creates.
const CommonName = "paysandbox local CA"

// Validity of the certificates: the CA lasts ten years; a leaf lasts 397
// days (the longest any browser or platform verifier accepts) and is minted
// again in memory before it expires.
const (
	CAValidity   = 10 * 365 * 24 * time.Hour
	LeafValidity = 397 * 24 * time.Hour
)

// Files of the CA inside the data directory. The directory is shared with
// other state of the sandbox, so the CA keeps to its own subdirectory.
const (
	Dir      = "ca"
	CertFile = "ca.pem"
	KeyFile  = "ca-key.pem"
)

// maxPEM bounds what Parse and the loaders read: a CA certificate and key
// are a few kilobytes.
const maxPEM = 64 << 10

// CA signs leaf certificates.
type CA struct {
	cert    *x509.Certificate
	certPEM []byte
	key     crypto.Signer
	now     func() time.Time
}

// Options tune a CA; the zero value is the real thing.
type Options struct {
	// Now is the time source for validity periods (nil: time.Now).
	Now func() time.Time
}

func (o Options) now() func() time.Time {
	if o.Now != nil {
		return o.Now
	}
	return time.Now
}

// LoadOrCreate returns the CA kept under dataDir/ca, creating it (key
// file mode 0600, both files written atomically) when there is none yet.
func LoadOrCreate(dataDir string, opt Options) (*CA, error) {
	if dataDir == "" {
		return nil, errors.New("no data directory: set --data-dir (SANDBOX_DATA_DIR, data_dir) to keep the local CA")
	}
	dir := filepath.Join(dataDir, Dir)
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	ca, err := LoadFiles(certPath, keyPath, opt)
	if err == nil {
		return ca, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if _, statErr := os.Stat(certPath); statErr == nil {
		return nil, fmt.Errorf("%s exists but %s does not: restore the key or remove the certificate to create a new CA", certPath, keyPath)
	}
	ca, keyPEM, err := New(opt)
	if err != nil {
		return nil, err
	}
	// The directory is readable so that another user (an app container
	// sharing the volume) can read ca.pem; the key file itself is 0600.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	// The key first: a certificate without its key is an error above, a
	// key without its certificate is simply replaced on the next start.
	if err := WriteFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := WriteFileAtomic(certPath, ca.certPEM, 0o644); err != nil {
		return nil, err
	}
	return ca, nil
}

// New creates a CA in memory and returns it with its PEM-encoded key.
func New(opt Options) (*CA, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := opt.now()()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: CommonName, Organization: []string{"paysandbox"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	ca, err := Parse(certPEM, keyPEM, opt)
	return ca, keyPEM, err
}

// LoadFiles reads a CA certificate and key (PEM) given by the user or kept
// in the data directory. Errors name the file; a missing file matches
// fs.ErrNotExist.
func LoadFiles(certPath, keyPath string, opt Options) (*CA, error) {
	certPEM, err := readBounded(certPath)
	if err != nil {
		return nil, err
	}
	keyPEM, err := readBounded(keyPath)
	if err != nil {
		return nil, err
	}
	ca, err := Parse(certPEM, keyPEM, opt)
	if err != nil {
		return nil, fmt.Errorf("%s, %s: %w", certPath, keyPath, err)
	}
	return ca, nil
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPEM+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > maxPEM {
		return nil, fmt.Errorf("%s: larger than %d KB, not a PEM certificate or key", path, maxPEM>>10)
	}
	return b, nil
}

// Parse decodes a CA from its PEM certificate and PEM key (PKCS #8, SEC 1
// "EC PRIVATE KEY" or PKCS #1 RSA). The certificate must be a CA allowed to
// sign certificates, and the key must match it.
func Parse(certPEM, keyPEM []byte, opt Options) (*CA, error) {
	if len(certPEM) > maxPEM || len(keyPEM) > maxPEM {
		return nil, fmt.Errorf("certificate or key larger than %d KB", maxPEM>>10)
	}
	cb := firstBlock(certPEM, "CERTIFICATE")
	if cb == nil {
		return nil, errors.New("no PEM \"CERTIFICATE\" block in the certificate file")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	if !cert.IsCA || !cert.BasicConstraintsValid {
		return nil, fmt.Errorf("certificate %q is not a CA (basic constraints CA:TRUE missing)", cert.Subject.CommonName)
	}
	if cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("certificate %q may not sign certificates (key usage keyCertSign missing)", cert.Subject.CommonName)
	}
	kb := firstBlock(keyPEM, "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY")
	if kb == nil {
		return nil, errors.New("no PEM private key block (PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY) in the key file")
	}
	var key any
	switch kb.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(kb.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(kb.Bytes)
	default:
		key, err = x509.ParsePKCS1PrivateKey(kb.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("private key of type %T cannot sign", key)
	}
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, errors.New("the private key does not belong to the certificate")
	}
	return &CA{
		cert:    cert,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}),
		key:     signer,
		now:     opt.now(),
	}, nil
}

func firstBlock(data []byte, types ...string) *pem.Block {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil
		}
		for _, t := range types {
			if b.Type == t {
				return b
			}
		}
	}
}

// Certificate returns the CA certificate.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// PEM returns the CA certificate, PEM-encoded: what clients add to their
// trust store.
func (ca *CA) PEM() []byte { return bytes.Clone(ca.certPEM) }

// Fingerprint is the SHA-256 of the CA certificate, in hex.
func (ca *CA) Fingerprint() string {
	sum := sha256.Sum256(ca.cert.Raw)
	return hex.EncodeToString(sum[:])
}

// Pool returns a certificate pool holding only the CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// Leaf mints a server certificate for one name (a DNS name or an IP
// address), valid for TLS server authentication.
func (ca *CA) Leaf(name string) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := ca.now()
	notAfter := now.Add(LeafValidity)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"paysandbox"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	if ip := net.ParseIP(name); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{name}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("minting a certificate for %q: %w", name, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key, Leaf: leaf}, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail (Go 1.24+)
	}
	return n.Add(n, big.NewInt(1))
}

// Issuer hands out leaf certificates for a fixed set of names, minting
// each on first use and keeping it until shortly before it expires. A name
// outside the set (or no SNI at all) gets the fallback name's certificate,
// so the cache never holds more than one certificate per configured name.
type Issuer struct {
	ca       *CA
	fallback string
	names    map[string]bool

	mu    sync.Mutex
	certs map[string]*tls.Certificate
}

// NewIssuer returns an issuer for names; fallback must be one of them.
func NewIssuer(ca *CA, names []string, fallback string) *Issuer {
	is := &Issuer{ca: ca, fallback: normalize(fallback), names: map[string]bool{}, certs: map[string]*tls.Certificate{}}
	for _, n := range names {
		if n = normalize(n); n != "" {
			is.names[n] = true
		}
	}
	is.names[is.fallback] = true
	return is
}

func normalize(name string) string {
	name = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(name), "."))
	return strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
}

// Names returns the names the issuer holds certificates for.
func (is *Issuer) Names() []string {
	out := make([]string, 0, len(is.names))
	for n := range is.names {
		out = append(out, n)
	}
	return out
}

// Get returns the certificate for a server name.
func (is *Issuer) Get(name string) (*tls.Certificate, error) {
	name = normalize(name)
	if !is.names[name] {
		name = is.fallback
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	if c := is.certs[name]; c != nil && is.ca.now().Before(c.Leaf.NotAfter.Add(-24*time.Hour)) {
		return c, nil
	}
	c, err := is.ca.Leaf(name)
	if err != nil {
		return nil, err
	}
	is.certs[name] = c
	return c, nil
}

// TLSConfig returns a server configuration (TLS 1.2 and later, HTTP/1.1)
// that answers each SNI name with its certificate. A client that sends no
// SNI (it dialled an IP address) gets the certificate of the address it
// reached when that address is one of the names.
func (is *Issuer) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			name := hello.ServerName
			if name == "" && hello.Conn != nil {
				if host, _, err := net.SplitHostPort(hello.Conn.LocalAddr().String()); err == nil {
					name = host
				}
			}
			return is.Get(name)
		},
	}
}

// WriteFileAtomic writes data to path through a temporary file in the same
// directory and a rename, so that a reader (or a crash) never sees half a
// file.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	return nil
}
