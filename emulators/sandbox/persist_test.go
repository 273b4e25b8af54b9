//lint:file-ignore SA1008 Hambit sends its headers lower-case on the wire (nonce, timestamp, …), so the test indexes http.Header by the exact wire spelling
package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paysandbox/sandbox/emulators/hambit"
	"github.com/paysandbox/sandbox/emulators/khipu"
	"github.com/paysandbox/sandbox/emulators/payu"
	"github.com/paysandbox/sandbox/emulators/sandbox"
	"github.com/paysandbox/sandbox/sandboxtest"
)

// merchantStub answers callbacks in memory: the statuses given, then 200.
type merchantStub struct {
	mu       sync.Mutex
	statuses []int
	got      []string // attempt bodies, in order
	hdrs     []http.Header
}

func (m *merchantStub) RoundTrip(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	m.mu.Lock()
	m.got = append(m.got, string(body))
	m.hdrs = append(m.hdrs, r.Header.Clone())
	status := http.StatusOK
	if len(m.statuses) > 0 {
		status, m.statuses = m.statuses[0], m.statuses[1:]
	}
	m.mu.Unlock()
	return &http.Response{StatusCode: status, Body: io.NopCloser(strings.NewReader("")), Header: http.Header{}, Request: r}, nil
}

func (m *merchantStub) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.got)
}

// fakeNow is a real-time source the test moves: the sandbox "is down"
// while it jumps.
type fakeNow struct{ off atomic.Int64 }

func (f *fakeNow) now() time.Time       { return time.Now().Add(time.Duration(f.off.Load())) }
func (f *fakeNow) jump(d time.Duration) { f.off.Add(int64(d)) }
func persistCfg(dir string) sandbox.Config {
	c := sandbox.DefaultConfig()
	c.DataDir, c.Persist = dir, true
	return c
}

func khipuCreate(t *testing.T, h http.Handler, ref, notify string) string {
	t.Helper()
	const endpoint = "http://127.0.0.1:8080/khipu/api/2.0/payments"
	p := url.Values{"subject": {"Order " + ref}, "amount": {"1570"}, "currency": {"CLP"}, "transaction_id": {ref}}
	if notify != "" {
		p.Set("notify_url", notify)
		p.Set("notify_api_version", "1.3")
	}
	rec := sandboxtest.Do(h, sandboxtest.Request("POST", endpoint, p.Encode(), "Content-Type: application/x-www-form-urlencoded",
		"Authorization: "+khipu.SignRequest("sbx-khipu-secret-NOT-REAL", 123456, "POST", endpoint, p)))
	var out struct {
		PaymentID string `json:"payment_id"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.PaymentID == "" {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	return out.PaymentID
}

func adminJSON(t *testing.T, h http.Handler, method, path, body string, out any) {
	t.Helper()
	rec := sandboxtest.Do(h, sandboxtest.Request(method, "http://127.0.0.1:8080/_sandbox/api"+path, body, "Content-Type: application/json"))
	if rec.Code != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
	}
	if out != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRestartResumesACallbackThatFellDueWhileDown: a notification's first
// attempt fails, its retry is due a minute later; the sandbox is down for
// two hours; on the restart the retry is sent at once, once, as attempt 2,
// journaled late by the hour it missed, and the payment, its history and
// the clock offset are as before.
func TestRestartResumesACallbackThatFellDueWhileDown(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeNow{}
	m := &merchantStub{statuses: []int{http.StatusInternalServerError}}
	opt := sandbox.Options{Now: clk.now, CallbackClient: &http.Client{Transport: m}}
	sb, err := sandbox.New(persistCfg(dir), nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	h := sb.Handler()
	adminJSON(t, h, "POST", "/clock/advance", `{"by":"3h"}`, nil)
	id := khipuCreate(t, h, "R-1", "http://merchant.test/notify")
	pending := khipuCreate(t, h, "R-2", "")
	// Answered means on disk: the store's own view already has them.
	rec := sandboxtest.Do(h, sandboxtest.Request("GET", "http://127.0.0.1:8080/_sandbox/api/state", ""))
	if !strings.Contains(rec.Body.String(), `"key":"`+id+`"`) || !strings.Contains(rec.Body.String(), `"key":"`+pending+`"`) {
		t.Fatalf("created payments are not in the store when their creates have answered: %.300s", rec.Body)
	}
	adminJSON(t, h, "POST", "/objects/khipu/"+id+"/actions/pay", `{"skip_verify":true}`, nil)
	var failed struct{ Complete bool }
	adminJSON(t, h, "GET", "/callbacks?object="+id+"&outcome=failed&min=1&wait=30s", "", &failed)
	if !failed.Complete || m.count() != 1 {
		t.Fatalf("first attempt not failed as scripted: %+v, %d sent", failed, m.count())
	}
	var before, beforePending json.RawMessage
	adminJSON(t, h, "GET", "/objects/khipu/"+id, "", &before)
	adminJSON(t, h, "GET", "/objects/khipu/"+pending, "", &beforePending)
	sb.Close(context.Background())

	clk.jump(2 * time.Hour)
	sb, err = sandbox.New(persistCfg(dir), nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close(context.Background())
	h = sb.Handler()
	var acked struct {
		Complete bool
		Entries  []struct {
			Callback struct {
				Attempt int
				Outcome string
				LateBy  string `json:"late_by"`
			}
		}
	}
	adminJSON(t, h, "GET", "/callbacks?object="+id+"&outcome=acknowledged&min=1&wait=30s", "", &acked)
	if !acked.Complete || len(acked.Entries) != 1 {
		t.Fatalf("the retry was not delivered after the restart: %+v", acked)
	}
	if a := acked.Entries[0].Callback; a.Attempt != 2 || a.LateBy == "" || !strings.HasPrefix(a.LateBy, "1h59m") {
		t.Fatalf("resumed attempt = %+v, want attempt 2 late by about 1h59m", a)
	}
	if m.count() != 2 {
		t.Fatalf("merchant got %d attempts in all, want 2 (one before, one after the restart)", m.count())
	}
	var after, afterPending json.RawMessage
	adminJSON(t, h, "GET", "/objects/khipu/"+id, "", &after)
	adminJSON(t, h, "GET", "/objects/khipu/"+pending, "", &afterPending)
	if string(before) != string(after) || string(beforePending) != string(afterPending) {
		t.Fatalf("payments differ after the restart:\n%s\n%s\n%s\n%s", before, after, beforePending, afterPending)
	}
	if off := sb.Clock().Offset(); off != 3*time.Hour {
		t.Fatalf("clock offset after the restart = %v, want 3h", off)
	}
	// A third start finds nothing left to send.
	sb.Close(context.Background())
	sb, err = sandbox.New(persistCfg(dir), nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	sb.Dispatcher().Close(context.Background())
	if m.count() != 2 {
		t.Fatalf("an acknowledged callback was sent again after a second restart (%d attempts)", m.count())
	}
}

func TestPersistOffWritesNothing(t *testing.T) {
	dir := t.TempDir()
	cfg := sandbox.DefaultConfig()
	cfg.DataDir = dir
	sb, err := sandbox.New(cfg, nil, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	khipuCreate(t, sb.Handler(), "OFF-1", "")
	rec := sandboxtest.Do(sb.Handler(), sandboxtest.Request("GET", "http://127.0.0.1:8080/_sandbox/api/state", ""))
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "--persist") {
		t.Errorf("GET /state with persistence off: %d %s", rec.Code, rec.Body)
	}
	sb.Close(context.Background())
	if _, err := os.Stat(filepath.Join(dir, "state.db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("persistence off created a state store: %v", err)
	}
}

func TestStartRefusesADamagedStore(t *testing.T) {
	dir := t.TempDir()
	bad := []byte(strings.Repeat("half a database ", 600))
	os.WriteFile(filepath.Join(dir, "state.db"), bad, 0o600)
	_, err := sandbox.New(persistCfg(dir), nil, sandbox.Options{})
	if err == nil || !strings.Contains(err.Error(), "damaged") || !strings.Contains(err.Error(), filepath.Join(dir, "state.db")) {
		t.Fatalf("err = %v", err)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, "state.db")); string(now) != string(bad) {
		t.Fatal("the damaged store was modified")
	}
}

type scheduled struct {
	Provider, Object, Kind string
	Due                    time.Time
}

func schedule(t *testing.T, h http.Handler) []scheduled {
	t.Helper()
	var ans struct{ Scheduled []scheduled }
	adminJSON(t, h, "GET", "/schedule?kind=robot_payer,expiry,review,verification&limit=1000", "", &ans)
	return ans.Scheduled
}

// TestRestartRederivesTheSchedule: the robot payers and expiries pending
// before a restart are scheduled again from the objects' state, at the
// same sandbox times, and act when the clock reaches them.
func TestRestartRederivesTheSchedule(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeNow{}
	opt := sandbox.Options{Now: clk.now}
	sb, err := sandbox.New(persistCfg(dir), nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	h := sb.Handler()
	khipuCreate(t, h, "S-1", "")
	verifying := khipuCreate(t, h, "S-3", "")
	adminJSON(t, h, "POST", "/objects/khipu/"+verifying+"/actions/pay", `{}`, nil)
	adminJSON(t, h, "PUT", "/scenarios/active", `{"name":"ci-approve-all"}`, nil)
	robot := khipuCreate(t, h, "S-2", "")
	before := schedule(t, h)
	kinds := map[string]int{}
	for _, s := range before {
		kinds[s.Provider+" "+s.Kind]++
	}
	if kinds["khipu expiry"] != 3 || kinds["khipu robot_payer"] != 1 || kinds["khipu verification"] != 1 {
		t.Fatalf("setup schedule: %+v", before)
	}
	sb.Close(context.Background())

	sb, err = sandbox.New(persistCfg(dir), nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close(context.Background())
	h = sb.Handler()
	after := schedule(t, h)
	if len(after) != len(before) {
		t.Fatalf("schedule after the restart:\n%+v\nbefore:\n%+v", after, before)
	}
	for i := range before {
		// An expiry is due at the stored instant exactly. A robot payer or
		// a verification was scheduled as a wait from the moment the
		// request ran and is re-derived from the time stored in the
		// payment (created_at, the history entry), a few microseconds
		// apart; a lost timer would be missing or an hour off.
		skew := before[i].Due.Sub(after[i].Due).Abs()
		if before[i].Object != after[i].Object || before[i].Kind != after[i].Kind ||
			(before[i].Kind == "expiry" && skew != 0) || skew > time.Second {
			t.Errorf("timer %d: %+v after the restart, %+v before", i, after[i], before[i])
		}
	}
	adminJSON(t, h, "POST", "/clock/advance", `{"by":"1h"}`, nil)
	var p struct{ Status string }
	adminJSON(t, h, "GET", "/objects/khipu/"+robot, "", &p)
	if !strings.HasPrefix(p.Status, "done") {
		t.Fatalf("the resumed robot payer did not pay: status %q", p.Status)
	}
	adminJSON(t, h, "GET", "/objects/khipu/"+verifying, "", &p)
	if p.Status != "done/normal" {
		t.Fatalf("the resumed verification did not end: status %q", p.Status)
	}
}

// TestOverdueRobotPayerRunsAtOnceAndIsKept: a robot payer due while the
// sandbox was down acts as soon as it starts again, and what it changed
// is itself kept for the next start.
func TestOverdueRobotPayerRunsAtOnceAndIsKept(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeNow{}
	opt := sandbox.Options{Now: clk.now}
	cfg := persistCfg(dir)
	cfg.Scenario = "ci-approve-all"
	sb, err := sandbox.New(cfg, nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	id := khipuCreate(t, sb.Handler(), "O-1", "")
	sb.Close(context.Background())

	clk.jump(time.Hour)
	sb, err = sandbox.New(cfg, nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	// The robot payer is due now; the verification it starts ends a few
	// seconds later on the sandbox clock.
	adminJSON(t, sb.Handler(), "POST", "/clock/advance", `{"by":"1m"}`, nil)
	var p struct{ Status string }
	adminJSON(t, sb.Handler(), "GET", "/objects/khipu/"+id, "", &p)
	if p.Status != "done/normal" {
		t.Fatalf("the overdue robot payer did not act at the start: %+v", p)
	}
	sb.Close(context.Background())
	sb, err = sandbox.New(cfg, nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close(context.Background())
	adminJSON(t, sb.Handler(), "GET", "/objects/khipu/"+id, "", &p)
	if p.Status != "done/normal" {
		t.Fatalf("after a second restart the payment is %q: the robot payer's change was not kept", p.Status)
	}
}

// TestRestartResumesAHambitCallbackSignedAfresh: a Hambit callback's retry
// that fell due while the sandbox was down is rebuilt by the provider: it
// is sent once after the restart as attempt 2, with a fresh timestamp,
// nonce and a signature that verifies.
func TestRestartResumesAHambitCallbackSignedAfresh(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeNow{}
	m := &merchantStub{statuses: []int{http.StatusInternalServerError}}
	opt := sandbox.Options{Now: clk.now, CallbackClient: &http.Client{Transport: m}}
	sb, err := sandbox.New(persistCfg(dir), nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"amount":"1000","channelType":"BANK","externalOrderId":"RESUME-1","userInfoType":"CASH","customerType":"RUT","userInfoNo":"12345678","notifyUrl":"http://merchant.test/hambit"}`
	hh, err := hambit.NewHeaders(hambit.DefaultAccessKey, hambit.DefaultSecretKey, []byte(body), time.Now(), "6f1c2a9e-3b7d-4e21-9a0c-5d8e7f6a1b2c")
	if err != nil {
		t.Fatal(err)
	}
	req := sandboxtest.Request("POST", "http://127.0.0.1:8080/hambit/api/v3/chl/createCollectingOrder", body, "Content-Type: application/json")
	for k, v := range hh {
		req.Header[k] = v
	}
	rec := sandboxtest.Do(sb.Handler(), req)
	var created struct {
		Data struct {
			CurrencyOrderVo struct {
				OrderID string `json:"orderId"`
			} `json:"currencyOrderVo"`
		} `json:"data"`
	}
	json.Unmarshal(rec.Body.Bytes(), &created)
	id := created.Data.CurrencyOrderVo.OrderID
	if id == "" {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	adminJSON(t, sb.Handler(), "POST", "/objects/hambit/"+id+"/actions/pay", `{}`, nil)
	adminJSON(t, sb.Handler(), "GET", "/callbacks?object="+id+"&outcome=failed&min=1&wait=30s", "", nil)
	sb.Close(context.Background())

	sb = restartAwaitingResumedAttempt(t, dir, opt, clk, id, "resumed Hambit callback")
	defer sb.Close(context.Background())
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.got) != 2 || m.got[0] != m.got[1] {
		t.Fatalf("merchant got %d attempts; bodies equal: %v", len(m.got), len(m.got) == 2 && m.got[0] == m.got[1])
	}
	// Hambit's headers go out in lower case, as sent (not canonicalised).
	n0, n1 := m.hdrs[0]["nonce"], m.hdrs[1]["nonce"]
	if len(n0) != 1 || len(n1) != 1 || n0[0] == n1[0] {
		t.Errorf("nonces %q then %q: want a fresh one on the resumed attempt", n0, n1)
	}
	if v := sb.CheckCallback(m.hdrs[1], []byte(m.got[1])); v.Verdict != sandbox.CallbackOK {
		t.Fatalf("the resumed attempt's signature: %+v", v)
	}
}

// TestRestartResumesAPayUConfirmation: a PayU confirmation whose retry fell
// due during the downtime is rebuilt by the provider (its per-attempt body
// and sign) and sent once after the restart as attempt 2.
func TestRestartResumesAPayUConfirmation(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeNow{}
	m := &merchantStub{statuses: []int{http.StatusInternalServerError}}
	opt := sandbox.Options{Now: clk.now, CallbackClient: &http.Client{Transport: m}}
	sb, err := sandbox.New(persistCfg(dir), nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	const ref = "RESUME-PAYU-1"
	body := fmt.Sprintf(`{"language":"es","command":"SUBMIT_TRANSACTION","merchant":{"apiKey":%q,"apiLogin":%q},`+
		`"transaction":{"order":{"accountId":"512325","referenceCode":%q,"description":"Resume","language":"es",`+
		`"signature":%q,"notifyUrl":"http://merchant.test/payu","additionalValues":{"TX_VALUE":{"value":10000,"currency":"CLP"}},`+
		`"buyer":{"fullName":"Comprador","emailAddress":"buyer@example.com"}},"payer":{"fullName":"Pagador","emailAddress":"payer@example.com"},`+
		`"creditCard":{"number":"4097440000000004","securityCode":"777","expirationDate":"2030/12","name":"APPROVED"},`+
		`"type":"AUTHORIZATION_AND_CAPTURE","paymentMethod":"VISA","paymentCountry":"CL","ipAddress":"127.0.0.1"},"test":true}`,
		payu.TestAPIKey, payuLogin, ref, md5hex(payu.TestAPIKey+"~508029~"+ref+"~10000~CLP"))
	rec := sandboxtest.Do(sb.Handler(), sandboxtest.Request("POST", "http://127.0.0.1:8080/payu/payments-api/4.0/service.cgi", body,
		"Content-Type: application/json", "Accept: application/json"))
	var out struct {
		Code                string
		TransactionResponse struct {
			TransactionID string `json:"transactionId"`
		} `json:"transactionResponse"`
	}
	json.Unmarshal(rec.Body.Bytes(), &out)
	tx := out.TransactionResponse.TransactionID
	if out.Code != "SUCCESS" || tx == "" {
		t.Fatalf("payu: %s", rec.Body)
	}
	adminJSON(t, sb.Handler(), "GET", "/callbacks?object="+tx+"&outcome=failed&min=1&wait=30s", "", nil)
	sb.Close(context.Background())

	sb = restartAwaitingResumedAttempt(t, dir, opt, clk, tx, "resumed PayU confirmation")
	defer sb.Close(context.Background())
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.got) != 2 {
		t.Fatalf("merchant got %d attempts, want 2", len(m.got))
	}
	if v := sb.CheckCallback(m.hdrs[1], []byte(m.got[1])); v.Verdict != sandbox.CallbackOK {
		t.Fatalf("the resumed confirmation's sign: %+v\n%s", v, m.got[1])
	}
	// The body is built per attempt: its attempts field says 2.
	if f, err := url.ParseQuery(m.got[1]); err != nil || f.Get("attempts") != "2" {
		t.Fatalf("resumed confirmation body has attempts=%q, want 2: %s", f.Get("attempts"), m.got[1])
	}
}

// restartAwaitingResumedAttempt starts the sandbox again on dir an hour
// later and waits for object's callback, failed once before the stop, to
// be acknowledged at its second attempt, marked late.
func restartAwaitingResumedAttempt(t *testing.T, dir string, opt sandbox.Options, clk *fakeNow, object, what string) *sandbox.Sandbox {
	t.Helper()
	clk.jump(time.Hour)
	sb, err := sandbox.New(persistCfg(dir), nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	var acked struct {
		Complete bool
		Entries  []struct {
			Callback struct {
				Attempt int
				LateBy  string `json:"late_by"`
			}
		}
	}
	adminJSON(t, sb.Handler(), "GET", "/callbacks?object="+object+"&outcome=acknowledged&min=1&wait=30s", "", &acked)
	if !acked.Complete || len(acked.Entries) != 1 || acked.Entries[0].Callback.Attempt != 2 || acked.Entries[0].Callback.LateBy == "" {
		var all json.RawMessage
		adminJSON(t, sb.Handler(), "GET", "/journal", "", &all)
		sb.Close(context.Background())
		t.Fatalf("%s: %+v\njournal after the restart: %.3000s", what, acked, all)
	}
	return sb
}
