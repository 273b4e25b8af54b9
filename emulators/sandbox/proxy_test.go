package sandbox_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"github.com/paysandbox/sandbox/emulators/testenv"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paysandbox/sandbox/emulators/hambit"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/khipu"
	"github.com/paysandbox/sandbox/emulators/sandbox"
)

// proxyRig is a sandbox whose main listener runs in proxy mode, with its
// CA written to caFile.
type proxyRig struct {
	sb     *sandbox.Sandbox
	proxy  *sandbox.Proxy
	srv    *httptest.Server
	caFile string
	pool   *x509.CertPool
}

func newProxyRig(t *testing.T, opt sandbox.ProxyOptions) *proxyRig {
	t.Helper()
	dir := t.TempDir()
	sb := newSandbox(t, func(c *sandbox.Config) { c.DataDir = dir }, sandbox.Options{})
	r := &proxyRig{sb: sb, proxy: sb.NewProxy(opt)}
	r.srv = httptest.NewServer(r.proxy)
	t.Cleanup(func() {
		r.srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.proxy.Shutdown(ctx); err != nil {
			t.Errorf("proxy shutdown: %v", err)
		}
	})
	pem, err := sb.CAPEM()
	if err != nil {
		t.Fatal(err)
	}
	r.caFile = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(r.caFile, pem, 0o644); err != nil {
		t.Fatal(err)
	}
	r.pool = x509.NewCertPool()
	r.pool.AppendCertsFromPEM(pem)
	return r
}

// client is an application's client with production URLs: only the proxy
// and the CA pool are set.
func (r *proxyRig) client() *http.Client {
	u, _ := url.Parse(r.srv.URL)
	return &http.Client{Transport: &http.Transport{
		Proxy:           http.ProxyURL(u),
		TLSClientConfig: &tls.Config{RootCAs: r.pool},
	}}
}

func send(t *testing.T, c *http.Client, method, target, body string, h http.Header) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %d, not JSON: %s", method, target, res.StatusCode, raw)
	}
	return res.StatusCode, out
}

func TestProxyServesProductionURLsToAGoClient(t *testing.T) {
	r := newProxyRig(t, sandbox.ProxyOptions{})
	c := r.client()

	// Khipu 3.0 create, over CONNECT payment-api.khipu.com:443.
	code, out := send(t, c, "POST", "https://payment-api.khipu.com/v3/payments",
		`{"amount":1000,"currency":"CLP","subject":"Orden 77","transaction_id":"T-77"}`,
		http.Header{"X-Api-Key": {khipu.DefaultAPIKey}, "Content-Type": {"application/json"}})
	id, _ := out["payment_id"].(string)
	if code != 200 || id == "" {
		t.Fatalf("khipu v3 create = %d %v", code, out)
	}
	if got := out["payment_url"]; got != "https://payment-api.khipu.com/payment/info/"+id {
		t.Errorf("payment_url = %v: the link must use the scheme and host the client used", got)
	}
	code, out = send(t, c, "GET", "https://payment-api.khipu.com/v3/payments/"+id, "", http.Header{"X-Api-Key": {khipu.DefaultAPIKey}})
	if code != 200 || out["payment_id"] != id || out["status"] != "pending" {
		t.Errorf("khipu v3 get = %d %v", code, out)
	}

	// A signed Hambit create, over CONNECT apis.hambit.co:443.
	body := `{"amount":"2000","channelType":"BANK","externalOrderId":"P-9001","userInfoType":"CASH","customerType":"RUT","userInfoNo":"12312321","notifyUrl":"https://merchant.example/hambit/notify","returnUrl":"https://merchant.example/return"}`
	h, err := hambit.NewHeaders(hambit.DefaultAccessKey, hambit.DefaultSecretKey, []byte(body), time.Now(), "")
	if err != nil {
		t.Fatal(err)
	}
	h.Set("Content-Type", "application/json")
	code, out = send(t, c, "POST", "https://apis.hambit.co/api/v3/chl/createCollectingOrder", body, h)
	data, _ := out["data"].(map[string]any)
	cashier, _ := data["cashierUrl"].(string)
	if code != 200 || fmt.Sprint(out["code"]) != "200" || !strings.HasPrefix(cashier, "https://apis.hambit.co/") {
		t.Errorf("hambit create = %d %v (cashierUrl %q)", code, out, cashier)
	}

	// A PayU ping, over CONNECT sandbox.api.payulatam.com:443.
	code, out = send(t, c, "POST", "https://sandbox.api.payulatam.com/payments-api/4.0/service.cgi",
		`{"test":false,"language":"en","command":"PING","merchant":{"apiLogin":"pRRXKOl8ikMmt9u","apiKey":"4Vj8eK4rloUd272L48hsrarnUA"}}`,
		http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}})
	if code != 200 || out["code"] != "SUCCESS" {
		t.Errorf("payu ping = %d %v", code, out)
	}

	// A plain-HTTP proxy request in absolute form is routed by host, and its
	// links keep http and the host.
	code, out = send(t, c, "POST", "http://khipu.com/v3/payments", `{"amount":500,"currency":"CLP","subject":"plain"}`,
		http.Header{"X-Api-Key": {khipu.DefaultAPIKey}, "Content-Type": {"application/json"}})
	if id, _ := out["payment_id"].(string); code != 200 || out["payment_url"] != "http://khipu.com/payment/info/"+id {
		t.Errorf("absolute-form khipu create = %d %v", code, out)
	}

	// Every request went to its provider, host-routed.
	es := r.sb.Journal().List(journal.Filter{Kinds: []journal.Kind{journal.KindRequest}})
	seen := map[string]int{}
	for _, e := range es {
		seen[e.Provider]++
	}
	if seen["khipu"] != 3 || seen["hambit"] != 1 || seen["payu"] != 1 {
		t.Errorf("journaled requests per provider: %v", seen)
	}
}

func TestProxyRefusesEveryOtherTarget(t *testing.T) {
	r := newProxyRig(t, sandbox.ProxyOptions{})
	for _, tc := range []struct{ name, request string }{
		{"CONNECT to another host", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"},
		{"CONNECT to a provider's other port", "CONNECT khipu.com:8443 HTTP/1.1\r\nHost: khipu.com:8443\r\n\r\n"},
		{"CONNECT without a port", "CONNECT khipu.com HTTP/1.1\r\nHost: khipu.com\r\n\r\n"},
		{"absolute-form to another host", "GET http://example.com/api/2.0/banks HTTP/1.1\r\nHost: example.com\r\n\r\n"},
		{"absolute-form https to another host", "GET https://evil.example:8443/ HTTP/1.1\r\nHost: evil.example:8443\r\n\r\n"},
		{"long target", "CONNECT " + strings.Repeat("a", 5000) + ".example:443 HTTP/1.1\r\nHost: x\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := rawRequest(t, r.srv.Listener.Addr().String(), tc.request)
			if res.StatusCode != http.StatusForbidden {
				t.Fatalf("status %d, want 403", res.StatusCode)
			}
			var body struct {
				Error struct{ Kind, Message string }
			}
			raw, _ := io.ReadAll(res.Body)
			if err := json.Unmarshal(raw, &body); err != nil || body.Error.Kind != "forbidden" {
				t.Fatalf("body %s", raw)
			}
			for _, host := range []string{"khipu.com", "payment-api.khipu.com", "apis.hambit.co", "api.payulatam.com"} {
				if !strings.Contains(body.Error.Message, host) {
					t.Errorf("message does not name %s: %s", host, body.Error.Message)
				}
			}
			if len(raw) > 1024 {
				t.Errorf("the answer grows with the request: %d bytes", len(raw))
			}
		})
	}
	// A Go client with the proxy set gets the refusal, not example.com.
	if _, err := r.client().Get("https://example.com/"); err == nil || !strings.Contains(err.Error(), "Forbidden") {
		t.Errorf("https://example.com through the proxy: err = %v, want a 403 Forbidden", err)
	}
	// Ordinary requests to the sandbox still work on the same listener.
	res, err := http.Get(r.srv.URL + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz on the proxy listener: %v %v", res, err)
	}
	res.Body.Close()
}

func rawRequest(t *testing.T, addr, request string) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestProxyBoundsTheTunnels(t *testing.T) {
	r := newProxyRig(t, sandbox.ProxyOptions{MaxTunnels: 1})
	addr := r.srv.Listener.Addr().String()
	connect := "CONNECT khipu.com:443 HTTP/1.1\r\nHost: khipu.com:443\r\n\r\n"

	first, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(first, connect)
	res, err := http.ReadResponse(bufio.NewReader(first), nil)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("first CONNECT: %v %v", res, err)
	}
	if n := r.proxy.Tunnels(); n != 1 {
		t.Fatalf("Tunnels() = %d, want 1", n)
	}
	second := rawRequest(t, addr, connect)
	raw, _ := io.ReadAll(second.Body)
	if second.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(raw), "too many CONNECT tunnels") {
		t.Fatalf("second CONNECT = %d %s, want 503", second.StatusCode, raw)
	}
	// Closing the first tunnel frees its slot.
	first.Close()
	for i := 0; r.proxy.Tunnels() != 0; i++ {
		if i > 5000 {
			t.Fatal("the closed tunnel's slot was never freed")
		}
		time.Sleep(time.Millisecond)
	}
	c := r.client()
	res, err = c.Get("https://khipu.com/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("after the slot was freed: %v %v", res, err)
	}
	res.Body.Close()
}

func TestProxyTunnelSpeaksOnlyTLS(t *testing.T) {
	r := newProxyRig(t, sandbox.ProxyOptions{})
	conn, err := net.Dial("tcp", r.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	io.WriteString(conn, "CONNECT khipu.com:443 HTTP/1.1\r\nHost: khipu.com:443\r\n\r\n")
	if res, err := http.ReadResponse(br, nil); err != nil || res.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", res, err)
	}
	// Plain HTTP inside the tunnel is not TLS: the sandbox answers with
	// Go's 400 for a plain request to an HTTPS server, then closes.
	io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: khipu.com\r\n\r\n")
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != http.StatusBadRequest {
		t.Fatalf("plain HTTP in a TLS tunnel: %v %v", res, err)
	}
	if _, err := io.ReadAll(br); err != nil {
		t.Fatalf("tunnel not closed cleanly: %v", err)
	}
}

func TestCAPEMRoute(t *testing.T) {
	dir := t.TempDir()
	sb := newSandbox(t, func(c *sandbox.Config) { c.DataDir = dir }, sandbox.Options{})
	code, body, h := do(t, sb.Handler(), "GET", "http://khipu.com/_sandbox/ca.pem", "")
	onDisk, err := os.ReadFile(filepath.Join(dir, "ca", "ca.pem"))
	if code != 200 || err != nil || body != string(onDisk) || h.Get("Content-Type") != "application/x-pem-file" {
		t.Fatalf("ca.pem = %d %q (%v); on disk %q", code, body, err, onDisk)
	}
	if !strings.HasPrefix(body, "-----BEGIN CERTIFICATE-----") {
		t.Errorf("not PEM: %q", body)
	}
	// Without a data directory the CA cannot be kept: 503, saying why.
	none := newSandbox(t, nil, sandbox.Options{})
	code, body, _ = do(t, none.Handler(), "GET", "/_sandbox/ca.pem", "")
	if code != 503 || !strings.Contains(body, `"kind":"unavailable"`) || !strings.Contains(body, "--data-dir") {
		t.Errorf("no data dir: %d %s", code, body)
	}
}

func TestServerNames(t *testing.T) {
	sb := newSandbox(t, func(c *sandbox.Config) {
		c.PublicURL = "https://Sandbox.Example:9443/"
		c.TLSAddr = "sandbox.internal:8443"
		c.Khipu.Hosts = append(c.Khipu.Hosts, "khipu.test")
	}, sandbox.Options{})
	got := strings.Join(sb.ServerNames(), " ")
	want := "127.0.0.1 ::1 api.payulatam.com apis.hambit.co khipu.com khipu.test localhost payment-api.khipu.com sandbox.api.payulatam.com sandbox.example sandbox.internal t-apis.hambit.co"
	if got != want {
		t.Errorf("ServerNames = %s\nwant          %s", got, want)
	}
}

func TestProxyCurl(t *testing.T) {
	curl := testenv.Tool(t, "curl", "apt-get install curl")
	r := newProxyRig(t, sandbox.ProxyOptions{})
	out, err := exec.Command(curl, "-sS", "--proxy", r.srv.URL, "--cacert", r.caFile,
		"https://payment-api.khipu.com/v3/banks", "-H", "x-api-key: "+khipu.DefaultAPIKey).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte(`"banks":[`)) || !bytes.Contains(out, []byte("DemoBank")) {
		t.Fatalf("curl banks: %v\n%s", err, out)
	}
	out, err = exec.Command(curl, "-sS", "--proxy", r.srv.URL, "--cacert", r.caFile, "https://example.com/").CombinedOutput()
	if err == nil || !bytes.Contains(out, []byte("403")) {
		t.Fatalf("curl https://example.com through the proxy: %v\n%s", err, out)
	}
	out, err = exec.Command(curl, "-sS", "--proxy", r.srv.URL, "http://example.com/").CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("not a forwarding proxy")) {
		t.Fatalf("curl http://example.com through the proxy: %v\n%s", err, out)
	}
}

func TestProxyNodeKhipuClient(t *testing.T) {
	node := testenv.Tool(t, "node", "apt-get install nodejs npm")
	dir, _ := filepath.Abs(filepath.Join("testdata", "client"))
	testenv.NPMPackage(t, dir, "emulators/sandbox/testdata/client", "khipu-client")
	testenv.NPMPackage(t, dir, "emulators/sandbox/testdata/client", "global-agent")
	r := newProxyRig(t, sandbox.ProxyOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "-r", "global-agent/bootstrap", "run.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GLOBAL_AGENT_HTTP_PROXY="+r.srv.URL, "NODE_EXTRA_CA_CERTS="+r.caFile,
		"HTTPS_PROXY=", "HTTP_PROXY=", "https_proxy=", "http_proxy=", "NO_PROXY=", "no_proxy=", "GLOBAL_AGENT_NO_PROXY=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		t.Fatalf("node printed %q", out)
	}
	var created, got struct {
		Step, PaymentID, PaymentURL, Status, Subject string
		Amount                                       json.Number // v2 sends "2500.0000"
	}
	json.Unmarshal([]byte(strings.NewReplacer("payment_id", "paymentid", "payment_url", "paymenturl").Replace(lines[0])), &created)
	json.Unmarshal([]byte(strings.NewReplacer("payment_id", "paymentid", "payment_url", "paymenturl").Replace(lines[1])), &got)
	if created.Step != "created" || created.PaymentID == "" || created.PaymentURL != "https://khipu.com/payment/info/"+created.PaymentID {
		t.Errorf("create: %s", lines[0])
	}
	if got.Step != "got" || got.PaymentID != created.PaymentID || got.Status != "pending" || got.Amount != "2500.0000" || got.Subject != "Pedido 1001 khipu-client" {
		t.Errorf("get: %s", lines[1])
	}
	// The client reached the sandbox through a CONNECT tunnel to khipu.com,
	// signed v2 requests and all.
	es := r.sb.Journal().List(journal.Filter{Kinds: []journal.Kind{journal.KindRequest}, Provider: "khipu"})
	if len(es) != 2 {
		t.Errorf("journaled %d khipu requests, want 2", len(es))
	}
}

func TestProxyPHPCurl(t *testing.T) {
	php := testenv.Tool(t, "php", "apt-get install php-cli php-curl")
	if out, _ := exec.Command(php, "-m").Output(); !bytes.Contains(out, []byte("curl")) {
		testenv.Missing(t, "PHP's curl extension", "apt-get install php-curl")
	}
	r := newProxyRig(t, sandbox.ProxyOptions{})
	cmd := exec.Command(php, "-d", "curl.cainfo="+r.caFile, filepath.Join("testdata", "client", "curl.php"))
	cmd.Env = append(os.Environ(), "https_proxy="+r.srv.URL, "HTTPS_PROXY=", "no_proxy=", "NO_PROXY=")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "200\n") || !bytes.Contains(out, []byte("DemoBank")) {
		t.Fatalf("php: %v\n%s", err, out)
	}
}

// TestProxyJava checks that Java's verifier accepts the sandbox's
// certificates: the README's keytool -importcert step, then an unchanged
// HttpsURLConnection through the proxy.
func TestProxyJava(t *testing.T) {
	java := testenv.Tool(t, "java", "apt-get install default-jdk-headless")
	keytool := testenv.Tool(t, "keytool", "apt-get install default-jdk-headless")
	r := newProxyRig(t, sandbox.ProxyOptions{})
	store := filepath.Join(t.TempDir(), "trust.p12")
	if out, err := exec.Command(keytool, "-importcert", "-noprompt", "-keystore", store, "-storetype", "PKCS12",
		"-storepass", "changeit", "-alias", "paysandbox", "-file", r.caFile).CombinedOutput(); err != nil {
		t.Fatalf("keytool: %v\n%s", err, out)
	}
	port := r.srv.Listener.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, java, "-Djavax.net.ssl.trustStore="+store, "-Djavax.net.ssl.trustStorePassword=changeit",
		"-Dhttps.proxyHost=127.0.0.1", fmt.Sprint("-Dhttps.proxyPort=", port), filepath.Join("testdata", "client", "Fetch.java"))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "200\n") || !bytes.Contains(out, []byte("DemoBank")) {
		t.Fatalf("java: %v\n%s", err, out)
	}
}

// FuzzProxyRequest feeds proxy-mode requests with arbitrary targets: every
// refusal is a bounded JSON 403 naming the hosts served, and nothing
// panics or reaches another host.
func FuzzProxyRequest(f *testing.F) {
	for _, s := range []string{
		"CONNECT example.com:443", "CONNECT khipu.com:443", "CONNECT khipu.com:80", "CONNECT [::1]:443",
		"GET http://example.com/", "GET http://khipu.com/api/2.0/banks", "GET https://apis.hambit.co:443/ping",
		"GET http://127.0.0.1:8080/healthz", "GET /healthz", "OPTIONS *", "CONNECT %41:443",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	sb := newSandbox(f, func(c *sandbox.Config) { c.DataDir = dir }, sandbox.Options{})
	p := sb.NewProxy(sandbox.ProxyOptions{})
	f.Cleanup(func() { p.Shutdown(context.Background()) })
	names := sb.ServerNames()
	f.Fuzz(func(t *testing.T, line string) {
		method, target, ok := strings.Cut(line, " ")
		if !ok {
			return
		}
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(method + " " + target + " HTTP/1.1\r\nHost: " + strings.TrimPrefix(target, "http://") + "\r\n\r\n")))
		if err != nil {
			return
		}
		proxied := req.Method == http.MethodConnect || req.URL.IsAbs()
		host := req.URL.Hostname()
		if req.Method == http.MethodConnect {
			host = req.Host
			if h, _, err := net.SplitHostPort(req.Host); err == nil {
				host = h
			}
		}
		served := slices.Contains(names, strings.ToLower(strings.TrimSuffix(host, ".")))
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, req)
		refused := strings.Contains(rec.Body.String(), "not a forwarding proxy")
		if proxied && !served && (!refused || rec.Code != http.StatusForbidden) {
			t.Fatalf("%s %s (host %q) was not refused: %d %q", req.Method, target, host, rec.Code, rec.Body)
		}
		if refused {
			var body struct {
				Error struct{ Kind, Message string }
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Kind != "forbidden" || !strings.Contains(body.Error.Message, "payment-api.khipu.com") {
				t.Fatalf("refusal body %q", rec.Body)
			}
			if rec.Body.Len() > 1024 {
				t.Fatalf("refusal of %d bytes grows with the input", rec.Body.Len())
			}
		}
		if req.Method == http.MethodConnect && rec.Code == http.StatusOK {
			t.Fatalf("CONNECT %q answered 200 without a tunnel", target)
		}
	})
}

// TestDemoShopOnTheHTTPSListener: the demo shop opened over HTTPS calls the
// APIs over TLS, so the payer link keeps https, and registers its
// callbacks on the plain listener.
func TestDemoShopOnTheHTTPSListener(t *testing.T) {
	dir := t.TempDir()
	sb := newSandbox(t, func(c *sandbox.Config) { c.DataDir = dir }, sandbox.Options{})
	plain := httptest.NewServer(sb.Handler())
	t.Cleanup(plain.Close)
	sb.SetHTTPAddr(plain.Listener.Addr())
	conf, err := sb.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	secure := httptest.NewUnstartedServer(sb.Handler())
	secure.Listener = tls.NewListener(secure.Listener, conf)
	secure.Start()
	t.Cleanup(func() { sb.BeginShutdown(); secure.Close() })
	base := "https://" + secure.Listener.Addr().String()

	pem, _ := sb.CAPEM()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{
		Jar:           jar,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	// The shop's page sets the session whose CSRF token the form carries.
	page, err := c.Get(base + "/_sandbox/demo")
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	m := csrfField.FindSubmatch(html)
	if m == nil {
		t.Fatalf("the demo shop over HTTPS has no CSRF field (%d)", page.StatusCode)
	}
	res, err := c.PostForm(base+"/_sandbox/demo/checkout", url.Values{"product": {"coffee"}, "method": {"khipu"}, "csrf": {string(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, base+"/khipu/payment/") {
		t.Fatalf("checkout over HTTPS = %d, Location %q, want the payer page under %s", res.StatusCode, loc, base)
	}
	id := loc[strings.LastIndex(loc, "/")+1:]
	var obj struct {
		Data struct {
			NotifyURL string `json:"notify_url"`
		}
	}
	if code := apiJSON(t, "GET", plain.URL+"/_sandbox/api/objects/khipu/"+id, "", &obj); code != 200 {
		t.Fatalf("object %s: %d", id, code)
	}
	if want := plain.URL + "/_sandbox/demo/callbacks/khipu"; obj.Data.NotifyURL != want {
		t.Errorf("notify_url = %q, want the plain listener's %q", obj.Data.NotifyURL, want)
	}
}

func TestProxyShutdownEndsIdleTunnels(t *testing.T) {
	r := newProxyRig(t, sandbox.ProxyOptions{})
	c := r.client()
	res, err := c.Get("https://apis.hambit.co/ping")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if n := r.proxy.Tunnels(); n != 1 {
		t.Fatalf("Tunnels() = %d with one kept-alive connection", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.proxy.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if n := r.proxy.Tunnels(); n != 0 {
		t.Errorf("Tunnels() = %d after Shutdown", n)
	}
	// A CONNECT after the shutdown is not served.
	if _, err := c.Get("https://khipu.com/healthz"); err == nil {
		t.Error("a tunnel was served after Shutdown")
	}
}
