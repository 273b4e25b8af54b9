package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// caOf runs `sandbox ca` with args and returns what it printed.
func caOf(t *testing.T, getenv func(string) string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), append([]string{"ca"}, args...), getenv, &stdout, &stderr, nil); err != nil {
		t.Fatalf("sandbox ca %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.String()
}

func get(t *testing.T, c *http.Client, target string) (int, string) {
	t.Helper()
	res, err := c.Get(target)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestCAKeptInTheDataDirectory(t *testing.T) {
	dir := t.TempDir()
	addr, _, _, stop := startServe(t, "--data-dir", dir)
	code, served := get(t, http.DefaultClient, "http://"+addr+"/_sandbox/ca.pem")
	if code != 200 || !strings.HasPrefix(served, "-----BEGIN CERTIFICATE-----") {
		t.Fatalf("/_sandbox/ca.pem = %d %q", code, served)
	}
	if fi, err := os.Stat(filepath.Join(dir, "ca", "ca-key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("ca-key.pem: %v %v", fi, err)
	}
	stop()

	// The same directory after a restart, through SANDBOX_DATA_DIR and the
	// `sandbox ca` command: the same CA.
	if got := caOf(t, env("SANDBOX_DATA_DIR", dir)); got != served {
		t.Errorf("sandbox ca after a restart printed another CA:\n%s\nwant\n%s", got, served)
	}
	addr, _, _, _ = startServe(t, "--data-dir", dir)
	if _, again := get(t, http.DefaultClient, "http://"+addr+"/_sandbox/ca.pem"); again != served {
		t.Error("the CA changed across a restart on the same data directory")
	}
	// --out writes the file and names it.
	out := filepath.Join(t.TempDir(), "ca.pem")
	if msg := caOf(t, env(), "--data-dir", dir, "--out", out); !strings.HasPrefix(msg, out+": paysandbox CA certificate, SHA-256 ") {
		t.Errorf("sandbox ca --out printed %q", msg)
	}
	if b, _ := os.ReadFile(out); string(b) != served {
		t.Errorf("--out wrote %q", b)
	}
	// A new directory gets a new CA; the data_dir key works too.
	other := t.TempDir()
	cfg := filepath.Join(other, "sandbox.yaml")
	os.WriteFile(cfg, []byte("data_dir: "+other+"\n"), 0o644)
	if got := caOf(t, env(), "--config", cfg); got == served || !strings.HasPrefix(got, "-----BEGIN CERTIFICATE-----") {
		t.Error("a new data directory got the same CA (or none)")
	}
	if _, err := os.Stat(filepath.Join(other, "ca", "ca.pem")); err != nil {
		t.Errorf("data_dir from the configuration file was not used: %v", err)
	}
	// With no flag the default is under $XDG_DATA_HOME.
	xdg := t.TempDir()
	caOf(t, env("XDG_DATA_HOME", xdg))
	if _, err := os.Stat(filepath.Join(xdg, "paysandbox", "ca", "ca.pem")); err != nil {
		t.Errorf("default data directory: %v", err)
	}
}

func TestTLSListenerAndProxyServeEveryRoute(t *testing.T) {
	dir := t.TempDir()
	addr, stdout, _, _ := startServe(t, "--data-dir", dir, "--tls-addr", "127.0.0.1:0")
	m := regexp.MustCompile(`(?m)^sandbox ready on https://(127\.0\.0\.1:\d+)$`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("no HTTPS ready line in %q", stdout.String())
	}
	tlsAddr := m[1]
	pemBytes, err := os.ReadFile(filepath.Join(dir, "ca", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)

	// The HTTPS listener: every route of the plain one, under every name.
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if code, body := get(t, c, "https://"+tlsAddr+"/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Errorf("https healthz = %d %s", code, body)
	}
	if code, body := get(t, c, "https://"+tlsAddr+"/_sandbox/api/info"); code != 200 {
		t.Errorf("https admin API = %d %s", code, body)
	}
	hosted := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "apis.hambit.co"},
	}}
	req, _ := http.NewRequest("GET", "https://"+tlsAddr+"/ping", nil)
	req.Host = "apis.hambit.co"
	res, err := hosted.Do(req)
	if err != nil {
		t.Fatalf("https://apis.hambit.co/ping on the HTTPS listener: %v", err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), `"node"`) {
		t.Errorf("hambit ping over TLS = %d %s", res.StatusCode, b)
	}
	if st := res.TLS; st == nil || st.Version < tls.VersionTLS12 || st.PeerCertificates[0].DNSNames[0] != "apis.hambit.co" {
		t.Errorf("TLS state: %+v", st)
	}

	// Proxy mode on the main listener.
	pu, _ := url.Parse("http://" + addr)
	proxied := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu), TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if code, body := get(t, proxied, "https://sandbox.api.payulatam.com/healthz"); code != 200 {
		t.Errorf("healthz through the proxy = %d %s", code, body)
	}
	if _, err := proxied.Get("https://example.com/"); err == nil || !strings.Contains(err.Error(), "Forbidden") {
		t.Errorf("example.com through the proxy: %v", err)
	}
}

func TestUserCA(t *testing.T) {
	// A CA of the user's: here the one another data directory holds.
	own := t.TempDir()
	want := caOf(t, env(), "--data-dir", own)
	cert, key := filepath.Join(own, "ca", "ca.pem"), filepath.Join(own, "ca", "ca-key.pem")
	dir := t.TempDir()
	if got := caOf(t, env("SANDBOX_TLS_CA_CERT", cert, "SANDBOX_TLS_CA_KEY", key), "--data-dir", dir); got != want {
		t.Error("--tls-ca-cert/--tls-ca-key: sandbox ca printed another CA")
	}
	if _, err := os.Stat(filepath.Join(dir, "ca")); err == nil {
		t.Error("a CA was created in the data directory although the user gave one")
	}
	junk := filepath.Join(dir, "junk.pem")
	os.WriteFile(junk, []byte("not a certificate"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--tls-ca-cert", cert}, "tls_ca_cert and tls_ca_key go together"},
		{[]string{"--tls-ca-cert", junk, "--tls-ca-key", key}, `junk.pem`},
		{[]string{"--tls-ca-cert", cert, "--tls-ca-key", filepath.Join(dir, "none.pem")}, "none.pem"},
		{[]string{"--tls-addr", "8443"}, `tls_addr: "8443" is not host:port`},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--tls-addr", "127.0.0.1:0"}, tc.args...), env(), &stdout, &stderr, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
		}
	}
	// No data directory anywhere (no HOME, no XDG_DATA_HOME): HTTPS cannot
	// start, and says how to fix it.
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--tls-addr", "127.0.0.1:0"}, env(), &stdout, &stderr, nil)
	if err == nil || !strings.Contains(err.Error(), "--data-dir") {
		t.Errorf("no data dir: err = %v", err)
	}
}
