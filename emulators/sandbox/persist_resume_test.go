package sandbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paysandbox/sandbox/emulators/payu"
	"github.com/paysandbox/sandbox/emulators/sandbox"
	"github.com/paysandbox/sandbox/sandboxtest"
)

// payuCardRequest is a card payment by holder whose payer e-mail is email
// (PENDING with the manual review address leaves it pending for review).
func payuCardRequest(ref, holder, email string) *http.Request {
	body := fmt.Sprintf(`{"language":"es","command":"SUBMIT_TRANSACTION","merchant":{"apiKey":%q,"apiLogin":%q},`+
		`"transaction":{"order":{"accountId":"512325","referenceCode":%q,"description":"Resume","language":"es",`+
		`"signature":%q,"additionalValues":{"TX_VALUE":{"value":10000,"currency":"CLP"}},`+
		`"buyer":{"fullName":"Comprador","emailAddress":%q}},"payer":{"fullName":"Pagador","emailAddress":%q},`+
		`"creditCard":{"number":"4097440000000004","securityCode":"777","expirationDate":"2030/12","name":%q},`+
		`"type":"AUTHORIZATION_AND_CAPTURE","paymentMethod":"VISA","paymentCountry":"CL","ipAddress":"127.0.0.1"},"test":true}`,
		payu.TestAPIKey, payuLogin, ref, md5hex(payu.TestAPIKey+"~508029~"+ref+"~10000~CLP"), email, email, holder)
	return sandboxtest.Request("POST", "http://127.0.0.1:8080/payu/payments-api/4.0/service.cgi", body,
		"Content-Type: application/json", "Accept: application/json")
}

// payuCard submits payuCardRequest and returns its transaction id.
func payuCard(t *testing.T, h http.Handler, ref, holder, email string) string {
	t.Helper()
	rec := sandboxtest.Do(h, payuCardRequest(ref, holder, email))
	var out struct {
		Code                string
		TransactionResponse struct {
			TransactionID string `json:"transactionId"`
		} `json:"transactionResponse"`
	}
	json.Unmarshal(rec.Body.Bytes(), &out)
	if out.Code != "SUCCESS" || out.TransactionResponse.TransactionID == "" {
		t.Fatalf("payu submit: %s", rec.Body)
	}
	return out.TransactionResponse.TransactionID
}

func payuState(t *testing.T, h http.Handler, tx string) string {
	t.Helper()
	var v struct{ State, Status string }
	adminJSON(t, h, "GET", "/objects/payu/"+tx, "", &v)
	return v.State + v.Status
}

// TestRestartResumesPayUReviewDecision: a PayU payment left pending for
// review, decided by pending_review.auto_decide ten minutes later, is
// decided at that time after a restart (on the sandbox clock), and the
// decision itself is kept.
func TestRestartResumesPayUReviewDecision(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeNow{}
	opt := sandbox.Options{Now: clk.now}
	cfg := persistCfg(dir)
	cfg.PayU.PendingReview.AutoDecide = &payu.AutoDecide{Delay: 10 * time.Minute, Outcome: "approve"}
	sb, err := sandbox.New(cfg, nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	tx := payuCard(t, sb.Handler(), "REVIEW-1", "PENDING", "manual-review-hub@email.com")
	if st := payuState(t, sb.Handler(), tx); !strings.Contains(st, "PENDING") {
		t.Fatalf("setup: the payment is %q, want PENDING", st)
	}
	before := schedule(t, sb.Handler())
	sb.Close(context.Background())

	sb, err = sandbox.New(cfg, nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	h := sb.Handler()
	after := schedule(t, h)
	found := false
	for _, a := range after {
		if a.Object == tx && a.Kind == "review" {
			found = true
			for _, b := range before {
				if b.Object == tx && b.Kind == "review" && !b.Due.Equal(a.Due) {
					t.Errorf("the review is due at %v after the restart, %v before", a.Due, b.Due)
				}
			}
		}
	}
	if !found {
		t.Fatalf("the pending review was not resumed: %+v (before: %+v)", after, before)
	}
	adminJSON(t, h, "POST", "/clock/advance", `{"by":"9m"}`, nil)
	if st := payuState(t, h, tx); !strings.Contains(st, "PENDING") {
		t.Fatalf("decided before its time: %q", st)
	}
	adminJSON(t, h, "POST", "/clock/advance", `{"by":"2m"}`, nil)
	if st := payuState(t, h, tx); !strings.Contains(st, "APPROVED") {
		t.Fatalf("the resumed review did not decide: %q", st)
	}
	sb.Close(context.Background())
	sb, err = sandbox.New(cfg, nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close(context.Background())
	if st := payuState(t, sb.Handler(), tx); !strings.Contains(st, "APPROVED") {
		t.Fatalf("the decision was not kept: %q", st)
	}
	for _, a := range schedule(t, sb.Handler()) {
		if a.Object == tx && a.Kind == "review" {
			t.Fatalf("a decided review was scheduled again: %+v", a)
		}
	}
}

const onceScenario = `name: first-payer-only
rules:
  - name: the first payment is paid by a robot
    provider: khipu
    on: pay
    then: { auto: true, outcome: approve, delay: 1h }
    times: 1
`

// TestRestartKeepsRuleCountersAndDeliveryIDs: a rule with times: 1 that
// applied before a restart does not apply again after it, and a callback
// delivery after the restart does not reuse the id of one finished before.
func TestRestartKeepsRuleCountersAndDeliveryIDs(t *testing.T) {
	dir := t.TempDir()
	m := &merchantStub{}
	opt := sandbox.Options{CallbackClient: &http.Client{Transport: m}}
	sb, err := sandbox.New(persistCfg(dir), nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	h := sb.Handler()
	if rec := sandboxtest.Do(h, sandboxtest.Request("POST", "http://127.0.0.1:8080/_sandbox/api/scenarios", onceScenario)); rec.Code != http.StatusCreated {
		t.Fatalf("upload: %d %s", rec.Code, rec.Body)
	}
	adminJSON(t, h, "PUT", "/scenarios/active", `{"name":"first-payer-only"}`, nil)
	first := khipuCreate(t, h, "ONCE-1", "http://merchant.test/notify")
	robots := func(h http.Handler, id string) int {
		n := 0
		for _, s := range schedule(t, h) {
			if s.Object == id && s.Kind == "robot_payer" {
				n++
			}
		}
		return n
	}
	if robots(h, first) != 1 {
		t.Fatalf("setup: the first payment has no robot payer")
	}
	adminJSON(t, h, "POST", "/objects/khipu/"+first+"/actions/pay", `{"skip_verify":true}`, nil)
	var got struct {
		Complete bool
		Entries  []struct{ Callback struct{ Delivery string } }
	}
	adminJSON(t, h, "GET", "/callbacks?object="+first+"&outcome=acknowledged&min=1&wait=30s", "", &got)
	if !got.Complete || len(got.Entries) != 1 {
		t.Fatalf("setup: first callback %+v", got)
	}
	firstID := got.Entries[0].Callback.Delivery
	sb.Close(context.Background())

	sb, err = sandbox.New(persistCfg(dir), nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close(context.Background())
	h = sb.Handler()
	second := khipuCreate(t, h, "ONCE-2", "http://merchant.test/notify")
	if n := robots(h, second); n != 0 {
		t.Fatalf("the times: 1 rule applied again after the restart (%d robot payers): its counter was not kept", n)
	}
	adminJSON(t, h, "POST", "/objects/khipu/"+second+"/actions/pay", `{"skip_verify":true}`, nil)
	adminJSON(t, h, "GET", "/callbacks?object="+second+"&outcome=acknowledged&min=1&wait=30s", "", &got)
	if !got.Complete || len(got.Entries) != 1 {
		t.Fatalf("second callback %+v", got)
	}
	if id := got.Entries[0].Callback.Delivery; id == firstID || id == "" {
		t.Fatalf("the delivery after the restart has id %q, the one before had %q", id, firstID)
	}
	// A reset forgets the counters, on disk too.
	adminJSON(t, h, "POST", "/reset", `{}`, nil)
	sb.Close(context.Background())
	sb, err = sandbox.New(persistCfg(dir), nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	third := khipuCreate(t, sb.Handler(), "ONCE-3", "")
	if robots(sb.Handler(), third) != 1 {
		t.Fatal("after a reset and a restart the times: 1 rule does not apply: the reset counters were not written")
	}
}

// TestMaxObjectsBoundsTheStore: max_objects bounds what is on disk too:
// the oldest payments evicted from memory are deleted from the store, and
// a restart with a smaller bound drops the oldest kept ones from disk.
func TestMaxObjectsBoundsTheStore(t *testing.T) {
	dir := t.TempDir()
	cfg := persistCfg(dir)
	cfg.MaxObjects = 3
	sb, err := sandbox.New(cfg, nil, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ids, txs []string
	for i := range 5 {
		ids = append(ids, khipuCreate(t, sb.Handler(), fmt.Sprint("MAX-", i), ""))
		txs = append(txs, payuCard(t, sb.Handler(), fmt.Sprint("MAX-", i), "APPROVED", "payer@example.com"))
	}
	stored := func(h http.Handler, bucket string) []string {
		var doc struct {
			Buckets map[string][]struct{ Key string }
		}
		adminJSON(t, h, "GET", "/state", "", &doc)
		var keys []string
		for _, r := range doc.Buckets[bucket] {
			keys = append(keys, r.Key)
		}
		return keys
	}
	if got := stored(sb.Handler(), "khipu.payments"); fmt.Sprint(got) != fmt.Sprint(ids[2:]) {
		t.Fatalf("payments on disk = %v, want the newest 3 %v", got, ids[2:])
	}
	if got := stored(sb.Handler(), "payu.transactions"); fmt.Sprint(got) != fmt.Sprint(txs[2:]) {
		t.Fatalf("PayU transactions on disk = %v, want the newest 3 %v", got, txs[2:])
	}
	sb.Close(context.Background())

	cfg.MaxObjects = 2
	sb, err = sandbox.New(cfg, nil, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close(context.Background())
	if got := stored(sb.Handler(), "khipu.payments"); fmt.Sprint(got) != fmt.Sprint(ids[3:]) {
		t.Fatalf("after a restart with max_objects 2, payments on disk = %v, want %v", got, ids[3:])
	}
	if got := stored(sb.Handler(), "payu.transactions"); fmt.Sprint(got) != fmt.Sprint(txs[3:]) {
		t.Fatalf("after a restart with max_objects 2, PayU transactions on disk = %v, want %v (an evicted order's transactions stayed)", got, txs[3:])
	}
}

// TestRestartResumesPayURefundReview: a refund waiting for its review
// (refund.review_delay, a minute) when the sandbox stops is reviewed at its
// time after the restart, on the sandbox clock.
func TestRestartResumesPayURefundReview(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeNow{}
	opt := sandbox.Options{Now: clk.now}
	cfg := persistCfg(dir)
	sb, err := sandbox.New(cfg, nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	h := sb.Handler()
	tx := payuCard(t, h, "REFUND-1", "APPROVED", "payer@example.com")
	var obj struct {
		Related []struct{ Role, ID string }
	}
	adminJSON(t, h, "GET", "/objects/payu/"+tx, "", &obj)
	if len(obj.Related) == 0 || obj.Related[0].Role != "order" {
		t.Fatalf("no order of %s: %+v", tx, obj)
	}
	adminJSON(t, h, "POST", "/clock/advance", `{"by":"10m"}`, nil) // refunds open 10 minutes after approval
	body := fmt.Sprintf(`{"language":"en","command":"SUBMIT_TRANSACTION","merchant":{"apiKey":%q,"apiLogin":%q},`+
		`"transaction":{"order":{"id":%s},"type":"REFUND","parentTransactionId":%q},"test":true}`, payu.TestAPIKey, payuLogin, obj.Related[0].ID, tx)
	rec := sandboxtest.Do(h, sandboxtest.Request("POST", "http://127.0.0.1:8080/payu/payments-api/4.0/service.cgi", body,
		"Content-Type: application/json", "Accept: application/json"))
	if !strings.Contains(rec.Body.String(), `"SUCCESS"`) {
		t.Fatalf("refund: %s", rec.Body)
	}
	refund := ""
	for _, s := range schedule(t, h) {
		if s.Kind == "review" {
			refund = s.Object
		}
	}
	if refund == "" {
		t.Fatalf("no refund review scheduled: %+v", schedule(t, h))
	}
	sb.Close(context.Background())

	sb, err = sandbox.New(cfg, nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close(context.Background())
	h = sb.Handler()
	adminJSON(t, h, "POST", "/clock/advance", `{"by":"30s"}`, nil)
	if st := payuState(t, h, refund); !strings.Contains(st, "PENDING") {
		t.Fatalf("the refund was reviewed before its time: %q", st)
	}
	adminJSON(t, h, "POST", "/clock/advance", `{"by":"40s"}`, nil)
	if st := payuState(t, h, refund); !strings.Contains(st, "APPROVED") {
		t.Fatalf("the refund review pending at the restart did not end at its time: %q", st)
	}
}

// stateDoc is the export document, values left as they are.
type stateDoc struct {
	Buckets map[string][]struct {
		Key   string
		Value json.RawMessage
	}
}

// Khipu's payments rest on disk in their packed record, not JSON: the
// export document (sandbox export and GET /state) still gives each as the
// JSON of a payment, an import writes that JSON, and a sandbox started on
// the imported store serves every payment as the original did, then packs
// it again on its next change.
func TestExportGivesPackedPaymentsAsJSONAndImportRestoresThem(t *testing.T) {
	qa, dev := t.TempDir(), t.TempDir()
	sb, err := sandbox.New(persistCfg(qa), nil, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := sb.Handler()
	paid := khipuCreate(t, h, "EXP-1", "")
	adminJSON(t, h, "POST", "/objects/khipu/"+paid+"/actions/pay", `{"skip_verify":true}`, nil)
	pending := khipuCreate(t, h, "EXP-2", "")
	var before [2]json.RawMessage
	adminJSON(t, h, "GET", "/objects/khipu/"+paid, "", &before[0])
	adminJSON(t, h, "GET", "/objects/khipu/"+pending, "", &before[1])
	var live stateDoc
	adminJSON(t, h, "GET", "/state", "", &live)
	sb.Close(context.Background())

	var doc strings.Builder
	if err := sandbox.ExportState(qa, &doc); err != nil {
		t.Fatal(err)
	}
	var exported stateDoc
	if err := json.Unmarshal([]byte(doc.String()), &exported); err != nil {
		t.Fatal(err)
	}
	for name, d := range map[string]stateDoc{"GET /state": live, "sandbox export": exported} {
		rs := d.Buckets["khipu.payments"]
		var v [2]map[string]any
		for i := range min(len(rs), 2) {
			if err := json.Unmarshal(rs[i].Value, &v[i]); err != nil {
				t.Fatalf("%s: payment %s: %v: %s", name, rs[i].Key, err, rs[i].Value)
			}
		}
		if len(rs) != 2 || rs[0].Key != paid || v[0]["ID"] != paid || v[0]["Status"] != "done" ||
			v[1]["TransactionID"] != "EXP-2" || v[1]["Status"] != "pending" {
			t.Fatalf("%s: khipu.payments = %+v, want both payments as JSON", name, rs)
		}
	}

	if _, err := sandbox.ImportState(dev, strings.NewReader(doc.String()), false); err != nil {
		t.Fatal(err)
	}
	sb, err = sandbox.New(persistCfg(dev), nil, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h = sb.Handler()
	for i, id := range []string{paid, pending} {
		var after json.RawMessage
		adminJSON(t, h, "GET", "/objects/khipu/"+id, "", &after)
		if string(after) != string(before[i]) {
			t.Fatalf("payment %s after export and import:\n%s\nwant\n%s", id, after, before[i])
		}
	}
	// A change after the import packs the payment again; it still
	// restores.
	adminJSON(t, h, "POST", "/objects/khipu/"+pending+"/actions/pay", `{"skip_verify":true}`, nil)
	var changed json.RawMessage
	adminJSON(t, h, "GET", "/objects/khipu/"+pending, "", &changed)
	sb.Close(context.Background())
	sb, err = sandbox.New(persistCfg(dev), nil, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close(context.Background())
	var again json.RawMessage
	adminJSON(t, sb.Handler(), "GET", "/objects/khipu/"+pending, "", &again)
	if string(again) != string(changed) {
		t.Fatalf("payment %s after a change and a restart:\n%s\nwant\n%s", pending, again, changed)
	}
}
