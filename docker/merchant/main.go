// Command merchant is the example merchant of docker/compose.yaml: a shop
// backend that reaches the sandbox by base-URL override, sends the payer to
// the Khipu payment page, and receives callbacks from all three providers.
// It signs its Khipu requests with its own code, as any integration does.
//
// Environment: SANDBOX_URL (default http://127.0.0.1:8080), MERCHANT_URL
// (how the sandbox reaches this service, default http://127.0.0.1:9090),
// PUBLIC_MERCHANT_URL (how a browser reaches it), MERCHANT_ADDR (default
// :9090), KHIPU_RECEIVER_ID and KHIPU_SECRET (default: the sandbox's
// zero-config receiver).
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

type received struct {
	Time   time.Time           `json:"time"`
	Path   string              `json:"path"`
	Header map[string][]string `json:"header"`
	Body   string              `json:"body"`
	Note   string              `json:"note,omitempty"`
}

type merchant struct {
	sandbox, self, public string
	receiverID            string
	secret                string
	client                *http.Client
	log                   *slog.Logger

	mu  sync.Mutex
	got []received
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func main() {
	m := &merchant{
		sandbox:    strings.TrimRight(getenv("SANDBOX_URL", "http://127.0.0.1:8080"), "/"),
		self:       strings.TrimRight(getenv("MERCHANT_URL", "http://127.0.0.1:9090"), "/"),
		receiverID: getenv("KHIPU_RECEIVER_ID", "123456"),
		secret:     getenv("KHIPU_SECRET", "sbx-khipu-secret-NOT-REAL"),
		client:     &http.Client{Timeout: 10 * time.Second},
		log:        slog.New(slog.NewTextHandler(os.Stderr, nil)),
	}
	m.public = strings.TrimRight(getenv("PUBLIC_MERCHANT_URL", m.self), "/")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", m.home)
	mux.HandleFunc("POST /buy/khipu", m.buyKhipu)
	mux.HandleFunc("POST /notify/{provider}", m.notify)
	mux.HandleFunc("GET /return", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "Back at the shop. The order is paid when the notification arrives: see /callbacks.")
	})
	mux.HandleFunc("GET /callbacks", func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		defer m.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(m.got)
	})
	addr := getenv("MERCHANT_ADDR", ":9090")
	m.log.Info("example merchant listening", "addr", addr, "sandbox", m.sandbox)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		m.log.Error("stopped", "err", err)
		os.Exit(1)
	}
}

var home = template.Must(template.New("home").Parse(`<!doctype html><html lang="en"><meta charset="utf-8">
<title>Example merchant</title><body style="font-family:system-ui;margin:2rem">
<h1>Example merchant</h1><p>Talks to the sandbox at <code>{{.}}</code>.</p>
<form method="post" action="/buy/khipu"><button>Pay $1.570 with Khipu</button></form>
<p><a href="/callbacks">Callbacks received</a></p></body></html>`))

func (m *merchant) home(w http.ResponseWriter, r *http.Request) { home.Execute(w, m.sandbox) }

// buyKhipu creates a Khipu payment (API 2.0) and sends the browser to it.
func (m *merchant) buyKhipu(w http.ResponseWriter, r *http.Request) {
	params := url.Values{
		"subject":            {"Example order"},
		"amount":             {"1570"},
		"currency":           {"CLP"},
		"transaction_id":     {fmt.Sprintf("EX-%d", time.Now().UnixNano())},
		"notify_url":         {m.self + "/notify/khipu"},
		"notify_api_version": {"1.3"},
		"return_url":         {m.public + "/return"},
		"cancel_url":         {m.public + "/"},
	}
	var out struct {
		PaymentURL string `json:"payment_url"`
		Message    string `json:"message"`
	}
	if err := m.khipu(http.MethodPost, "/payments", params, &out); err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	http.Redirect(w, r, out.PaymentURL, http.StatusSeeOther)
}

// notify receives a callback; for Khipu 1.3 it re-reads the payment by its
// notification token, as Khipu asks merchants to.
func (m *merchant) notify(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rec := received{Time: time.Now(), Path: r.URL.Path, Header: r.Header, Body: string(body)}
	if r.PathValue("provider") == "khipu" {
		form, _ := url.ParseQuery(string(body))
		if tok := form.Get("notification_token"); tok != "" {
			var p struct {
				PaymentID string `json:"payment_id"`
				Status    string `json:"status"`
				Amount    string `json:"amount"`
			}
			if err := m.khipu(http.MethodGet, "/payments", url.Values{"notification_token": {tok}}, &p); err != nil {
				rec.Note = "re-read failed: " + err.Error()
			} else {
				rec.Note = fmt.Sprintf("payment %s is %s (%s CLP)", p.PaymentID, p.Status, p.Amount)
			}
		}
	}
	m.log.Info("callback", "path", rec.Path, "body", rec.Body, "note", rec.Note)
	m.mu.Lock()
	m.got = append(m.got, rec)
	if len(m.got) > 100 {
		m.got = m.got[1:]
	}
	m.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"code":200,"success":true}`))
}

// khipu calls the Khipu API 2.0 through the sandbox with a signed request.
func (m *merchant) khipu(method, path string, params url.Values, out any) error {
	endpoint := m.sandbox + "/khipu/api/2.0" + path
	var body io.Reader
	target := endpoint
	if method == http.MethodGet {
		target += "?" + params.Encode()
	} else {
		body = strings.NewReader(params.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", m.receiverID+":"+sign(m.secret, method, endpoint, params))
	resp, err := m.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("khipu answered %d: %s", resp.StatusCode, data)
	}
	return json.Unmarshal(data, out)
}

// sign is Khipu's API 2.0 request signature: HMAC-SHA256 over
// METHOD&enc(url)&enc(k)=enc(v)… with keys in byte order, RFC 3986 encoding.
func sign(secret, method, rawURL string, params url.Values) string {
	enc := func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return enc(keys[i]) < enc(keys[j]) })
	var b strings.Builder
	b.WriteString(strings.ToUpper(method) + "&" + enc(rawURL))
	for _, k := range keys {
		b.WriteString("&" + enc(k) + "=" + enc(params.Get(k)))
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(b.String()))
	return hex.EncodeToString(mac.Sum(nil))
}
