package payu

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/clock"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/sandboxtest"
)

const (
	paymentsPath = "/payu/payments-api/4.0/service.cgi"
	reportsPath  = "/payu/reports-api/4.0/service.cgi"
)

// env is a PayU emulator on the test core, with a fake Khipu.
type env struct {
	*sandboxtest.Env
	t    testing.TB
	svc  *Service
	h    *echo.Echo
	fake *fakeTransfers
}

type envOpt struct {
	cfg       func(*Config)
	scenarios []string
	active    string
	scale     float64
	noDebug   bool
	noKhipu   bool
}

func newEnv(t testing.TB, o envOpt) *env {
	t.Helper()
	sb := sandboxtest.New(t, provider, sandboxtest.Options{Scenarios: o.scenarios, Active: o.active, TimeScale: o.scale, NoDebugHeaders: o.noDebug})
	cfg := DefaultConfig()
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	fake := newFakeTransfers(sb.Clock)
	var bt emulators.BankTransfers = fake
	if o.noKhipu {
		bt = nil
	}
	svc, err := New(cfg, sb.Deps, bt)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	fake.listener = svc
	t.Cleanup(svc.Close)
	return &env{Env: sb, t: t, svc: svc, h: sb.Echo(provider, svc.Register), fake: fake}
}

// do sends a request and returns the recorder.
func (e *env) do(method, path, body string, headers ...string) *httptest.ResponseRecorder {
	return sandboxtest.Do(e.h, sandboxtest.Request(method, path, body, headers...))
}

// api posts body to the payments API as JSON or XML (by its first byte).
func (e *env) api(body string, headers ...string) *httptest.ResponseRecorder {
	return e.post(paymentsPath, body, headers...)
}

func (e *env) post(path, body string, headers ...string) *httptest.ResponseRecorder {
	ct := "Content-Type: application/json"
	accept := "Accept: application/json"
	if strings.HasPrefix(strings.TrimSpace(body), "<") {
		ct, accept = "Content-Type: application/xml", "Accept: application/xml"
	}
	hs := []string{ct}
	explicit := false
	for _, h := range headers {
		if strings.HasPrefix(strings.ToLower(h), "accept:") {
			explicit = true
		}
	}
	if !explicit {
		hs = append(hs, accept)
	}
	hs = append(hs, headers...)
	return e.do(http.MethodPost, path, body, hs...)
}

// jsonOf decodes a JSON answer into a generic map (numbers as json.Number).
func jsonOf(t testing.TB, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(rec.Body.String()))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("answer is not JSON (%d): %v\n%s", rec.Code, err, rec.Body.String())
	}
	return m
}

// dig walks a decoded JSON value.
func dig(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	}
	return fmt.Sprint(v)
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// payment is a JSON card payment request with the given overrides.
type payReq struct {
	ref, value, currency, method, typ, name, number, cvv, expiry, email, notify, lang, sig, extra, accountID string
	test                                                                                                     bool
}

func (p payReq) json() string {
	d := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	ref := d(p.ref, "REF-"+fmt.Sprint(time.Now().UnixNano()))
	value := d(p.value, "10000")
	cur := d(p.currency, "CLP")
	m := d(p.method, "VISA")
	sig := p.sig
	if sig == "" {
		sig = OrderSignature(TestAPIKey, TestMerchantID, ref, strings.Trim(value, `"`), cur)
	}
	card := ""
	if m != "TRANSBANK_DEBIT" && m != "KHIPU" {
		card = fmt.Sprintf(`"creditCard":{"number":%q,"securityCode":%q,"expirationDate":%q,"name":%q},`,
			d(p.number, "4097440000000004"), d(p.cvv, "777"), d(p.expiry, "2030/12"), d(p.name, "APPROVED"))
	}
	extra := d(p.extra, `"INSTALLMENTS_NUMBER":1`)
	return fmt.Sprintf(`{"language":%q,"command":"SUBMIT_TRANSACTION","merchant":{"apiKey":%q,"apiLogin":%q},
"transaction":{"order":{"accountId":%q,"referenceCode":%q,"description":"Test order","language":"es","signature":%q,
"notifyUrl":%q,"additionalValues":{"TX_VALUE":{"value":%s,"currency":%q}},
"buyer":{"fullName":"Buyer","emailAddress":%q,"contactPhone":"7563126","dniNumber":"123456789",
"shippingAddress":{"street1":"Av 1","city":"Santiago","state":"RM","country":"CL","postalCode":"000000","phone":"7563126"}}},
"payer":{"fullName":"Payer","emailAddress":"payer_test@test.com","contactPhone":"7563126","dniNumber":"5415668464654","dniType":"CC",
"billingAddress":{"street1":"Av 2","city":"Santiago","country":"CL"}},%s
"extraParameters":{%s},"type":%q,"paymentMethod":%q,"paymentCountry":"CL","deviceSessionId":"d1","ipAddress":"127.0.0.1",
"cookie":"c1","userAgent":"Go test"},"test":%v}`,
		d(p.lang, "es"), TestAPIKey, TestAPILogin, d(p.accountID, "512325"), ref, sig, d(p.notify, "http://merchant.test/notify"),
		value, cur, d(p.email, "buyer_test@test.com"), card, extra, d(p.typ, "AUTHORIZATION_AND_CAPTURE"), m, p.test)
}

// submit posts a payment and returns the decoded answer.
func (e *env) submit(p payReq, headers ...string) map[string]any {
	e.t.Helper()
	rec := e.api(p.json(), headers...)
	if rec.Code != 200 {
		e.t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
	}
	return jsonOf(e.t, rec)
}

// txOf returns transactionResponse of a decoded answer, failing on ERROR.
func txOf(t testing.TB, m map[string]any) map[string]any {
	t.Helper()
	if m["code"] != "SUCCESS" {
		t.Fatalf("code %v, error %v", m["code"], m["error"])
	}
	tr, _ := m["transactionResponse"].(map[string]any)
	if tr == nil {
		t.Fatalf("no transactionResponse: %v", m)
	}
	return tr
}

// postPay builds a CAPTURE/VOID/REFUND request.
func postPay(typ, orderID, parent, amount string) string {
	av := ""
	if amount != "" {
		av = fmt.Sprintf(`,"additionalValues":{"TX_VALUE":{"value":%s,"currency":"CLP"}}`, amount)
	}
	return fmt.Sprintf(`{"language":"en","command":"SUBMIT_TRANSACTION","merchant":{"apiKey":%q,"apiLogin":%q},
"transaction":{"order":{"id":%s},"type":%q,"parentTransactionId":%q%s},"test":false}`,
		TestAPIKey, TestAPILogin, orderID, typ, parent, av)
}

// report builds a Queries request.
func report(cmd, key, value string) string {
	details := ""
	if key != "" {
		details = fmt.Sprintf(`,"details":{%q:%s}`, key, value)
	}
	return fmt.Sprintf(`{"test":false,"language":"en","command":%q,"merchant":{"apiLogin":%q,"apiKey":%q}%s}`,
		cmd, TestAPILogin, TestAPIKey, details)
}

// form parses a confirmation body.
func form(t testing.TB, body []byte) url.Values {
	t.Helper()
	v, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatalf("confirmation body: %v", err)
	}
	return v
}

// fakeTransfers is a test double of the Khipu emulator that follows the
// contract of docs/design.md: CreateTransfer validates bank and minimum,
// ActOnTransfer drives the payment, and TransferSettled is called once
// with done or expired, after the state change, with no lock held.
type fakeTransfers struct {
	clk      *clock.Clock
	listener emulators.TransferListener

	mu       sync.Mutex
	seq      int
	payments map[string]*fakePayment
	requests []emulators.TransferRequest
}

type fakePayment struct {
	req   emulators.TransferRequest
	state string // pending, verifying, done, expired, deleted
}

func newFakeTransfers(clk *clock.Clock) *fakeTransfers {
	return &fakeTransfers{clk: clk, payments: map[string]*fakePayment{}}
}

func (f *fakeTransfers) CreateTransfer(ctx context.Context, r emulators.TransferRequest) (emulators.Transfer, error) {
	min := map[string]int64{"Bawdf": 200, "Qwert": 100}
	m, ok := min[r.BankID]
	if !ok {
		return emulators.Transfer{}, emulators.Errorf(emulators.Invalid, "bank %s is not a test bank", r.BankID)
	}
	if r.Amount.Value.Cmp(emulators.DecimalFromInt(m)) < 0 {
		return emulators.Transfer{}, emulators.Errorf(emulators.Invalid, "amount below the bank minimum")
	}
	f.mu.Lock()
	f.seq++
	id := fmt.Sprintf("fkpay%07d", f.seq)
	f.payments[id] = &fakePayment{req: r, state: "pending"}
	f.requests = append(f.requests, r)
	f.mu.Unlock()
	f.clk.At(r.ExpiresAt, func() {
		if f.set(id, "pending", "expired") {
			f.listener.TransferSettled(context.Background(), emulators.TransferEvent{PaymentID: id, Reference: r.Reference, Outcome: "expired", At: f.clk.Now()})
		}
	})
	return emulators.Transfer{PaymentID: id, SimplifiedTransferURL: r.LinkBase + "/khipu/payment/simplified/" + id, ExpiresAt: r.ExpiresAt}, nil
}

// set moves a payment from one state to another; it reports whether it did.
func (f *fakeTransfers) set(id, from, to string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.payments[id]
	if !ok || p.state != from {
		return false
	}
	p.state = to
	return true
}

func (f *fakeTransfers) state(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p, ok := f.payments[id]; ok {
		return p.state
	}
	return ""
}

func (f *fakeTransfers) done(id string) {
	f.mu.Lock()
	ref := f.payments[id].req.Reference
	f.mu.Unlock()
	f.listener.TransferSettled(context.Background(), emulators.TransferEvent{PaymentID: id, Reference: ref, Outcome: "done", At: f.clk.Now()})
}

// payAtBank is the payer at DemoBank: verifying now, done after 2 s (a wait).
func (f *fakeTransfers) payAtBank(id string) error {
	if !f.set(id, "pending", "verifying") {
		return emulators.Errorf(emulators.Conflict, "payment %s is %s", id, f.state(id))
	}
	f.clk.Wait(2*time.Second, func() {
		if f.set(id, "verifying", "done") {
			f.done(id)
		}
	})
	return nil
}

func (f *fakeTransfers) ActOnTransfer(ctx context.Context, id string, a emulators.TransferAction) error {
	switch a {
	case emulators.TransferPay:
		return f.payAtBank(id)
	case emulators.TransferPayNow:
		if !f.set(id, "pending", "done") && !f.set(id, "verifying", "done") {
			return emulators.Errorf(emulators.Conflict, "payment %s is %s", id, f.state(id))
		}
		f.done(id)
	case emulators.TransferExpire:
		if !f.set(id, "pending", "expired") {
			return emulators.Errorf(emulators.Conflict, "payment %s is %s", id, f.state(id))
		}
		f.mu.Lock()
		ref := f.payments[id].req.Reference
		f.mu.Unlock()
		f.listener.TransferSettled(ctx, emulators.TransferEvent{PaymentID: id, Reference: ref, Outcome: "expired", At: f.clk.Now()})
	case emulators.TransferDelete:
		if !f.set(id, "pending", "deleted") {
			return emulators.Errorf(emulators.Conflict, "payment %s is %s, not pending", id, f.state(id))
		}
	default:
		return emulators.Errorf(emulators.Invalid, "unknown action %q", a)
	}
	return nil
}

// entries returns the journal entries of a kind for the payu provider.
func (e *env) entries(kind journal.Kind) []journal.Entry {
	return e.Journal.List(journal.Filter{Kinds: []journal.Kind{kind}, Provider: provider, Limit: 1000})
}
