package sandbox_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"

	"github.com/paysandbox/sandbox/emulators/khipu"
	"github.com/paysandbox/sandbox/emulators/sandbox"
)

// A client keeps Khipu's production URL: only its proxy and its trusted CA
// point at the sandbox.
func ExampleSandbox_NewProxy() {
	dir, err := os.MkdirTemp("", "paysandbox-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	cfg := sandbox.DefaultConfig()
	cfg.DataDir = dir // the local CA is created here on first use
	sb, err := sandbox.New(cfg, nil, sandbox.Options{})
	if err != nil {
		panic(err)
	}
	defer sb.Close(context.Background())
	proxy := sb.NewProxy(sandbox.ProxyOptions{})
	defer proxy.Shutdown(context.Background())
	srv := httptest.NewServer(proxy) // the main listener
	defer srv.Close()

	caPEM, err := sb.CAPEM() // what GET /_sandbox/ca.pem and `sandbox ca` give
	if err != nil {
		panic(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	proxyURL, _ := url.Parse(srv.URL)
	client := &http.Client{Transport: &http.Transport{
		Proxy:           http.ProxyURL(proxyURL),
		TLSClientConfig: &tls.Config{RootCAs: roots},
	}}

	req, _ := http.NewRequest("GET", "https://payment-api.khipu.com/v3/banks", nil)
	req.Header.Set("x-api-key", khipu.DefaultAPIKey)
	res, err := client.Do(req)
	if err != nil {
		panic(err)
	}
	res.Body.Close()
	fmt.Println(res.Status, res.TLS.PeerCertificates[0].DNSNames)

	_, err = client.Get("https://example.com/")
	fmt.Println(err != nil)
	// Output:
	// 200 OK [payment-api.khipu.com]
	// true
}
