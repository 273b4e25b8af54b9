package sandbox_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paysandbox/sandbox/emulators/khipu"
	"github.com/paysandbox/sandbox/emulators/sandbox"
)

// BenchmarkKhipuCreateHTTP sends signed Khipu API 2.0 creates over real
// loopback connections kept alive, on the plain listener, on the HTTPS
// listener (certificates from the local CA) and through proxy mode (a
// CONNECT tunnel to khipu.com:443): what TLS costs a client that cannot
// change its URLs (README, Benchmarks).
//
//	go test -run=^$ -bench=KhipuCreateHTTP ./emulators/sandbox/
func BenchmarkKhipuCreateHTTP(b *testing.B) {
	for _, mode := range []string{"plain", "tls", "proxy"} {
		b.Run(mode, func(b *testing.B) {
			create := createClient(b, mode)
			b.ReportAllocs()
			for b.Loop() {
				create()
			}
		})
	}
}

// BenchmarkKhipuCreateHTTPParallel is BenchmarkKhipuCreateHTTP with
// GOMAXPROCS clients at once (-cpu sets how many), each on its own kept-alive
// connection: throughput when the handshake-free TLS record work competes
// for the CPUs.
//
//	go test -run=^$ -bench=KhipuCreateHTTPParallel ./emulators/sandbox/
func BenchmarkKhipuCreateHTTPParallel(b *testing.B) {
	for _, mode := range []string{"plain", "tls", "proxy"} {
		b.Run(mode, func(b *testing.B) {
			create := createClient(b, mode)
			b.SetParallelism(4)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					create()
				}
			})
		})
	}
}

// BenchmarkKhipuCreateTLSRate alternates one plain and one TLS create per
// iteration, so that both see the same load on a shared machine, and
// reports the TLS rate as a percentage of the plain rate (tls-rate-%).
//
//	go test -run=^$ -bench=KhipuCreateTLSRate -benchtime=5000x ./emulators/sandbox/
func BenchmarkKhipuCreateTLSRate(b *testing.B) {
	plain, overTLS, proxied := createClient(b, "plain"), createClient(b, "tls"), createClient(b, "proxy")
	var tp, tt, tx time.Duration
	for b.Loop() {
		t0 := time.Now()
		plain()
		t1 := time.Now()
		overTLS()
		t2 := time.Now()
		proxied()
		tp, tt, tx = tp+t1.Sub(t0), tt+t2.Sub(t1), tx+time.Since(t2)
	}
	b.ReportMetric(float64(tp.Nanoseconds())/float64(b.N), "plain-ns/create")
	b.ReportMetric(float64(tt.Nanoseconds())/float64(b.N), "tls-ns/create")
	b.ReportMetric(float64(tx.Nanoseconds())/float64(b.N), "proxy-ns/create")
	b.ReportMetric(100*float64(tp)/float64(tt), "tls-rate-%")
	b.ReportMetric(100*float64(tp)/float64(tx), "proxy-rate-%")
}

// createClient starts a sandbox served in mode (plain, tls, proxy) and
// returns a function that sends one signed create over a kept-alive
// connection.
func createClient(b *testing.B, mode string) func() {
	dir := b.TempDir()
	sb := newSandbox(b, func(c *sandbox.Config) { c.DataDir = dir }, sandbox.Options{})
	pem, err := sb.CAPEM()
	if err != nil {
		b.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	b.Cleanup(tr.CloseIdleConnections)
	var srv *httptest.Server
	endpoint := ""
	switch mode {
	case "plain":
		srv = httptest.NewServer(sb.Handler())
		endpoint = srv.URL + "/khipu/api/2.0/payments"
	case "tls":
		conf, err := sb.TLSConfig()
		if err != nil {
			b.Fatal(err)
		}
		srv = httptest.NewUnstartedServer(sb.Handler())
		srv.Listener = tls.NewListener(srv.Listener, conf)
		srv.Start()
		endpoint = "https://" + srv.Listener.Addr().String() + "/khipu/api/2.0/payments"
	case "proxy":
		p := sb.NewProxy(sandbox.ProxyOptions{})
		b.Cleanup(func() { p.Shutdown(b.Context()) })
		srv = httptest.NewServer(p)
		u, _ := url.Parse(srv.URL)
		tr.Proxy = http.ProxyURL(u)
		endpoint = "https://khipu.com/api/2.0/payments"
	}
	b.Cleanup(srv.Close)
	tr.MaxIdleConnsPerHost = 64
	c := &http.Client{Transport: tr}
	var n atomic.Int64
	return func() {
		i := n.Add(1)
		p := url.Values{"subject": {"Bench"}, "amount": {"1000"}, "currency": {"CLP"}, "transaction_id": {fmt.Sprint("B-", i)}}
		req, _ := http.NewRequest("POST", endpoint, strings.NewReader(p.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", khipu.SignRequest(khipu.DefaultSecret, khipu.DefaultReceiverID, "POST", endpoint, p))
		res, err := c.Do(req)
		if err != nil {
			b.Error(err)
			return
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Errorf("%s create: %d %s", mode, res.StatusCode, body)
		}
	}
}
