package sandboxtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/paysandbox/sandbox/emulators/khipu"
	"github.com/paysandbox/sandbox/sandboxtest"
)

// createKhipu creates a Khipu 3.0 payment notified to the merchant at path.
func createKhipu(t testing.TB, sb *sandboxtest.Sandbox, path string) string {
	t.Helper()
	body := `{"subject":"Order","currency":"CLP","amount":1000,"notify_url":"` + sb.Merchant.URL + path + `","notify_api_version":"3.0"}`
	req, _ := http.NewRequest("POST", sb.Khipu.V3URL+"/payments", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-api-key", sb.Khipu.APIKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var p struct {
		PaymentID string `json:"payment_id"`
	}
	if err := json.NewDecoder(res.Body).Decode(&p); err != nil || res.StatusCode != 200 {
		t.Fatalf("create: %d %v", res.StatusCode, err)
	}
	return p.PaymentID
}

func ctx10s(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Fifty sandboxes in parallel share nothing: each has its own secret, its
// own clock and its own ids; run with -race.
func TestFiftyParallelSandboxes(t *testing.T) {
	for i := range 50 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			secret := fmt.Sprintf("secret-of-sandbox-%02d", i)
			sb := sandboxtest.New(t, sandboxtest.Seed(int64(i)), sandboxtest.Config(fmt.Sprintf(`
khipu:
  receivers:
    - receiver_id: %d
      secret: %s
      api_key: key-%02d
`, 100000+i, secret, i)))
			if sb.Khipu.ReceiverID != int64(100000+i) || sb.Khipu.Secret != secret {
				t.Fatalf("credentials %+v", sb.Khipu)
			}
			id := createKhipu(t, sb, "/notify")
			if _, err := sb.Act("khipu", id, "pay", nil); err != nil {
				t.Fatal(err)
			}
			sb.Advance(time.Duration(i+1) * time.Hour) // every clock moves on its own
			d, err := sb.AwaitCallback(ctx10s(t), id)
			if err != nil || d.Outcome != "acknowledged" || d.Verdict != sandboxtest.VerdictOK {
				t.Fatalf("callback %+v, %v", d, err)
			}
			got := sb.Merchant.Callbacks()
			if len(got) != 1 || got[0].Verdict != sandboxtest.VerdictOK || !strings.Contains(string(got[0].Body), id) {
				t.Fatalf("merchant got %+v", got)
			}
			// The signature is the one of this sandbox's secret only.
			ts, _, _ := strings.Cut(strings.TrimPrefix(got[0].Header.Get("X-Khipu-Signature"), "t="), ",")
			want := khipu.NotificationSignature(secret, time.UnixMilli(mustInt(t, ts)), got[0].Body)
			if got[0].Header.Get("X-Khipu-Signature") != want {
				t.Errorf("signature %s, want %s", got[0].Header.Get("X-Khipu-Signature"), want)
			}
			if off := time.Until(sb.Now()); off < time.Duration(i)*time.Hour {
				t.Errorf("clock offset %v", off)
			}
		})
	}
}

func mustInt(t testing.TB, s string) int64 {
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return n
}

func TestMerchantScriptsAnswersAndSandboxRetries(t *testing.T) {
	sb := sandboxtest.New(t, sandboxtest.Config("khipu:\n  callbacks:\n    retry: [1m, 1m]\n    timeout: 2s\n"))
	sb.Merchant.Script(sandboxtest.Status(500), sandboxtest.Drop(), sandboxtest.Status(200))
	id := createKhipu(t, sb, "/notify")
	sb.Act("khipu", id, "pay", nil)
	sb.Advance(time.Hour)
	if _, err := sb.AwaitCallbacks(ctx10s(t), id, 1); err != nil {
		t.Fatal(err)
	}
	sb.Advance(time.Minute)
	if _, err := sb.AwaitCallbacks(ctx10s(t), id, 2); err != nil {
		t.Fatal(err)
	}
	sb.Advance(time.Minute)
	ds, err := sb.AwaitCallbacks(ctx10s(t), id, 3)
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for _, d := range ds {
		outcomes = append(outcomes, fmt.Sprintf("%d %s %d", d.Attempt, d.Outcome, d.Status))
	}
	if got := strings.Join(outcomes, ","); got != "1 failed 500,2 failed 0,3 acknowledged 200" {
		t.Errorf("attempts = %s", got)
	}
	if cbs := sb.Merchant.Callbacks(); len(cbs) != 3 || cbs[1].Answer != sandboxtest.Drop() {
		t.Errorf("merchant records %+v", cbs)
	}
}

func TestAwaitCallbackTimesOutNamingWhatIsScheduled(t *testing.T) {
	sb := sandboxtest.New(t)
	id := createKhipu(t, sb, "/notify")
	sb.Act("khipu", id, "pay", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := sb.AwaitCallback(ctx, id)
	if err == nil || !strings.Contains(err.Error(), "verification at") || !strings.Contains(err.Error(), "0 callback attempt(s)") {
		t.Errorf("err = %v", err)
	}
	if s := sb.Schedule(id); len(s) == 0 || s[0].Kind != "verification" {
		t.Errorf("schedule %+v", s)
	}
}

func TestAwaitStatusScenarioYAMLRequestsAndReset(t *testing.T) {
	sb := sandboxtest.New(t, sandboxtest.Scenario("name: fast\nrules:\n  - provider: khipu\n    on: pay\n    then: { auto: true, outcome: approve, delay: 1m }\n"))
	id := createKhipu(t, sb, "/n")
	fired := sb.Advance(2 * time.Minute)
	if len(fired) == 0 || fired[0].Kind != "robot_payer" || !strings.HasPrefix(fired[0].Rule, "fast rules[0]") {
		t.Errorf("fired %+v", fired)
	}
	sb.Advance(time.Hour)
	o, err := sb.AwaitStatus(ctx10s(t), "khipu", id, "done")
	if err != nil || o.ID != id {
		t.Fatalf("await status: %+v %v", o, err)
	}
	// A request with a bad x-api-key is journaled with its answer.
	req, _ := http.NewRequest("GET", sb.Khipu.V3URL+"/payments/"+id, nil)
	req.Header.Set("x-api-key", "wrong")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	rs := sb.Requests("khipu")
	if len(rs) != 2 || rs[0].Status != 200 || rs[1].Status != 403 || !strings.Contains(rs[1].Detail, "x-api-key") {
		t.Errorf("requests %+v", rs)
	}
	sb.Reset()
	if _, err := sb.Object("khipu", id); err == nil || len(sb.Requests("")) != 0 || len(sb.Merchant.Callbacks()) != 0 {
		t.Errorf("after reset: %v", err)
	}
	if _, err := sb.Act("khipu", "nope", "pay", nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("act on a missing payment: %v", err)
	}
}

// createKhipuInMemory creates a Khipu 3.0 payment through the sandbox's
// handler (no listener: it works inside a synctest bubble) that notifies
// the merchant at path, and returns its id.
func createKhipuInMemory(t *testing.T, sb *sandboxtest.Sandbox, path string) string {
	t.Helper()
	body := `{"subject":"x","currency":"CLP","amount":1000,"notify_url":"` + sb.Merchant.URL + path + `","notify_api_version":"3.0"}`
	rec := sb.Do("POST", "/khipu/v3/payments", body, "Content-Type: application/json", "x-api-key: "+sb.Khipu.APIKey)
	var p struct {
		PaymentID string `json:"payment_id"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.PaymentID == "" {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	return p.PaymentID
}

func TestInMemoryInsideSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sb := sandboxtest.New(t, sandboxtest.InMemory())
		id := createKhipuInMemory(t, sb, "/k")
		sb.Act("khipu", id, "pay", nil)
		time.Sleep(time.Hour) // bubble time: the verification ends on the real-time side of the clock
		synctest.Wait()
		cb := sb.Merchant.Next(t, time.Second)
		if cb.URL != sandboxtest.MerchantInMemoryURL+"/k" || cb.Verdict != sandboxtest.VerdictOK {
			t.Errorf("callback %+v", cb)
		}
		sb.Merchant.None(t)
	})
}

// Reset aborts a callback attempt that is waiting on the merchant: after
// it neither the journal nor the merchant shows anything from before, and
// the attempt's timeout passing later adds nothing either.
func TestResetLeavesNoTraceOfACallbackInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sb := sandboxtest.New(t, sandboxtest.InMemory())
		id := createKhipuInMemory(t, sb, "/k")
		sb.Merchant.Script(sandboxtest.Slow(time.Hour, 200)) // answers long after the sandbox's attempt timeout
		sb.Act("khipu", id, "pay", nil)
		sb.Merchant.Next(t, time.Hour) // the attempt is now waiting on the merchant
		sb.Reset()
		time.Sleep(2 * time.Hour) // past the attempt's timeout and every retry
		synctest.Wait()
		if rs, cbs := sb.Requests(""), sb.Merchant.Callbacks(); len(rs) != 0 || len(cbs) != 0 {
			t.Errorf("after the reset: %d journaled requests, %d merchant callbacks", len(rs), len(cbs))
		}
		if ds := sb.Deliveries(id); len(ds) != 0 {
			t.Errorf("%d callback attempts after the reset, the first %s %s", len(ds), ds[0].Event, ds[0].Outcome)
		}
	})
}

func TestBadOptionsFail(t *testing.T) {
	if _, err := sandboxtest.Start(sandboxtest.Config("khipu: [")); err == nil {
		t.Error("bad YAML accepted")
	}
	if _, err := sandboxtest.Start(sandboxtest.Scenario("name: x\nrules:\n  - provider: nobody\n")); err == nil {
		t.Error("bad scenario accepted")
	}
	if _, err := sandboxtest.Start(sandboxtest.Scenario("no-such-scenario")); err == nil {
		t.Error("unknown scenario accepted")
	}
}
