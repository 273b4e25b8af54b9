package sandbox_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/paysandbox/sandbox/emulators/sandbox"
)

// lateNotify delays Khipu's notification by 10 minutes (the QA case of
// issue 14: "confirmation 10 minutes late").
const lateNotify = `name: late-notify
rules:
  - provider: khipu
    on: pay
    then: { auto: true, outcome: approve, delay: 1s }
  - provider: khipu
    on: verify
    then: { simplified_delay: 1s }
  - name: notification 10 minutes late
    provider: khipu
    on: notify
    then: { delay: 10m }
`

func decode(t *testing.T, body string, out any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), out); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
}

func TestUnknownProviderIs404OnEveryList(t *testing.T) {
	sb := newSandbox(t, nil, sandbox.Options{})
	for _, path := range []string{"/objects", "/callbacks", "/requests", "/journal", "/events", "/schedule",
		"/callbacks?min=1&wait=1s"} {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		code, body, _ := do(t, sb.Handler(), "GET", "/_sandbox/api"+path+sep+"provider=stripe", "")
		if code != 404 || !strings.Contains(body, `"kind":"not_found"`) || !strings.Contains(body, "khipu, hambit, payu") {
			t.Errorf("%s?provider=stripe = %d %s", path, code, body)
		}
	}
	for _, c := range []struct{ path, want string }{
		{"/requests?verdict=bad", "ok, tolerated, rejected"},
		{"/callbacks?outcome=nope", "acknowledged"},
		{"/journal?kind=nope", "transition"},
		{"/events?kind=nope", "scenarios"},
		{"/callbacks?wait=forever", "duration"},
		{"/callbacks?wait=-1s", "≥ 0"},
		{"/objects/khipu/x?wait=1s", "wait needs status"},
		{"/schedule?limit=x", "whole number"},
	} {
		code, body, _ := do(t, sb.Handler(), "GET", "/_sandbox/api"+c.path, "")
		if code != 400 || !strings.Contains(body, c.want) {
			t.Errorf("%s = %d %s, want 400 naming %q", c.path, code, body, c.want)
		}
	}
}

func TestAPIIndexListsWorkingEndpoints(t *testing.T) {
	sb := newSandbox(t, nil, sandbox.Options{Version: "v-idx"})
	code, body, _ := do(t, sb.Handler(), "GET", "/_sandbox/api", "")
	var idx struct {
		Version   string
		Endpoints []struct{ Method, Path, Does string }
	}
	decode(t, body, &idx)
	if code != 200 || idx.Version != "v-idx" || len(idx.Endpoints) < 15 {
		t.Fatalf("index = %d %s", code, body)
	}
	for _, e := range idx.Endpoints {
		if e.Method != "GET" || strings.Contains(e.Path, "{") || strings.Contains(e.Path, "/events") {
			continue
		}
		path, _, _ := strings.Cut(e.Path, "?")
		if code, body, _ := do(t, sb.Handler(), "GET", path, ""); code != 200 {
			t.Errorf("listed %s answers %d %s", path, code, body)
		}
	}
}

func TestScenarioProblemsAreSnakeCase(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("name: bad\nrules:\n  - provider: khipu\n    on: nowhere\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sb := newSandbox(t, func(c *sandbox.Config) { c.ScenariosDir = dir }, sandbox.Options{})
	_, body, _ := do(t, sb.Handler(), "GET", "/_sandbox/api/scenarios", "")
	if !strings.Contains(body, `"problems":[{"path"`) || !strings.Contains(body, `"line":4`) || !strings.Contains(body, `"message":"`) ||
		strings.Contains(body, `"Msg"`) || strings.Contains(body, `"Line"`) {
		t.Errorf("problems not in snake_case: %s", body)
	}
}

// callbackWait is the answer of GET /callbacks?min=&wait=.
type callbackWait struct {
	Entries []struct {
		ID       uint64
		Objects  []string
		Callback struct{ Outcome, Delivery string }
	}
	Min      int
	Complete *bool
}

func TestAwaitCallbackOverHTTP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		code, pid, body := r.khipuCreate("default", "W-1", "http://merchant.test/khipu")
		if code != 200 {
			t.Fatalf("create: %d %s", code, body)
		}
		got := make(chan *httpResult, 1)
		go func() { got <- r.do("GET", "/_sandbox/api/callbacks?object="+pid+"&min=1&wait=30s", "") }()
		synctest.Wait()
		select {
		case res := <-got:
			t.Fatalf("answered before any callback: %d %s", res.code, res.body)
		default:
		}
		if res := r.do("POST", "/_sandbox/api/objects/khipu/"+pid+"/actions/pay", "{}"); res.code != 200 {
			t.Fatalf("pay: %d %s", res.code, res.body)
		}
		start := time.Now()
		res := <-got
		var a callbackWait
		decode(t, res.body, &a)
		if res.code != 200 || a.Complete == nil || !*a.Complete || len(a.Entries) != 1 || a.Entries[0].Callback.Outcome != "acknowledged" {
			t.Fatalf("await = %d %s", res.code, res.body)
		}
		if waited := time.Since(start); waited >= 30*time.Second {
			t.Errorf("the wait ran to its end (%v) instead of waking on the callback", waited)
		}
		r.m.Next(t, time.Second)

		// Not enough within the wait: the answer comes at the timeout, with what there is.
		start = time.Now()
		res = r.do("GET", "/_sandbox/api/callbacks?object="+pid+"&min=2&wait=10s", "")
		decode(t, res.body, &a)
		if res.code != 200 || a.Complete == nil || *a.Complete || len(a.Entries) != 1 || a.Min != 2 {
			t.Fatalf("short await = %d %s", res.code, res.body)
		}
		if waited := time.Since(start); waited != 10*time.Second {
			t.Errorf("timed out after %v, want 10s", waited)
		}
		// The wait is capped at 60 s.
		start = time.Now()
		r.do("GET", "/_sandbox/api/callbacks?object="+pid+"&min=2&wait=1h", "")
		if waited := time.Since(start); waited != sandbox.MaxWait {
			t.Errorf("wait=1h held %v, want the cap %v", waited, sandbox.MaxWait)
		}
		// outcome filters.
		res = r.do("GET", "/_sandbox/api/callbacks?object="+pid+"&outcome=failed&min=1&wait=1s", "")
		decode(t, res.body, &a)
		if len(a.Entries) != 0 || *a.Complete {
			t.Errorf("outcome=failed: %s", res.body)
		}
	})
}

func TestAwaitObjectStatusOverHTTP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		_, pid, _ := r.khipuCreate("default", "W-2", "")
		got := make(chan *httpResult, 1)
		go func() { got <- r.do("GET", "/_sandbox/api/objects/khipu/"+pid+"?status=done&wait=20s", "") }()
		synctest.Wait()
		r.do("POST", "/_sandbox/api/objects/khipu/"+pid+"/actions/pay", "{}")
		res := <-got
		var o struct {
			ID, Status string
			Complete   bool
		}
		decode(t, res.body, &o)
		if res.code != 200 || o.ID != pid || o.Status != "done/normal" || !o.Complete {
			t.Fatalf("await status = %d %s", res.code, res.body)
		}
		res = r.do("GET", "/_sandbox/api/objects/khipu/"+pid+"?status=pending&wait=2s", "")
		decode(t, res.body, &o)
		if o.Complete || o.Status != "done/normal" {
			t.Errorf("a status never reached: %s", res.body)
		}
		if res := r.do("GET", "/_sandbox/api/objects/khipu/nope?status=done&wait=2s", ""); res.code != 404 {
			t.Errorf("unknown object: %d", res.code)
		}
	})
}

func TestWaitersAreCapped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		done := make(chan int, sandbox.MaxWaiters)
		for range sandbox.MaxWaiters {
			go func() { done <- r.do("GET", "/_sandbox/api/callbacks?object=none&min=1&wait=5s", "").code }()
		}
		synctest.Wait()
		res := r.do("GET", "/_sandbox/api/callbacks?object=none&min=1&wait=5s", "")
		if res.code != 503 || !strings.Contains(res.body, "already waiting") {
			t.Errorf("waiter %d: %d %s", sandbox.MaxWaiters+1, res.code, res.body)
		}
		for range sandbox.MaxWaiters {
			if c := <-done; c != 200 {
				t.Fatalf("a capped waiter answered %d", c)
			}
		}
		// The slots are free again.
		if res := r.do("GET", "/_sandbox/api/callbacks?object=none&min=1&wait=1s", ""); res.code != 200 {
			t.Errorf("after the waits: %d %s", res.code, res.body)
		}
	})
}

func TestScheduleShowsTheLateNotificationAndAdvanceWhatFired(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		if res := r.do("POST", "/_sandbox/api/scenarios", lateNotify); res.code != 201 {
			t.Fatalf("upload: %d %s", res.code, res.body)
		}
		_, pid, body := r.khipuCreate("late-notify", "S-1", "http://merchant.test/khipu")
		var sch struct {
			Now       time.Time
			Scheduled []struct {
				Due                                  time.Time
				Provider, Object, Kind, Rule, Detail string
			}
			Total int
		}
		res := r.do("GET", "/_sandbox/api/schedule?object="+pid, "")
		decode(t, res.body, &sch)
		kinds := func() string {
			var ks []string
			for _, s := range sch.Scheduled {
				ks = append(ks, s.Kind)
			}
			return strings.Join(ks, ",")
		}
		if kinds() != "robot_payer,expiry" || !strings.HasPrefix(sch.Scheduled[0].Rule, "late-notify rules[0]") {
			t.Fatalf("schedule after create (%s): %s", body, res.body)
		}
		time.Sleep(3 * time.Second) // robot payer (1 s) and verification (1 s)
		synctest.Wait()
		res = r.do("GET", "/_sandbox/api/schedule?provider=khipu&kind=callback_attempt", "")
		decode(t, res.body, &sch)
		if len(sch.Scheduled) != 1 || sch.Scheduled[0].Object != pid || sch.Scheduled[0].Rule != `late-notify rules[2] "notification 10 minutes late"` ||
			sch.Scheduled[0].Due.Sub(sch.Now) < 9*time.Minute {
			t.Fatalf("callback not shown as scheduled: %s", res.body)
		}
		if res := r.do("GET", "/_sandbox/api/callbacks?object="+pid, ""); !strings.Contains(res.body, `"entries":[]`) {
			t.Errorf("a callback was sent early: %s", res.body)
		}
		res = r.do("POST", "/_sandbox/api/clock/advance", `{"by":"10m"}`)
		var adv struct {
			Fired []struct{ Object, Kind, Rule string }
		}
		decode(t, res.body, &adv)
		if len(adv.Fired) != 1 || adv.Fired[0].Kind != "callback_attempt" || adv.Fired[0].Object != pid {
			t.Fatalf("advance = %s", res.body)
		}
		r.m.Next(t, time.Second)
		res = r.do("GET", "/_sandbox/api/schedule?object="+pid, "")
		decode(t, res.body, &sch)
		if sch.Total != 0 {
			t.Errorf("still scheduled after the payment is done: %s", res.body)
		}
		res = r.do("POST", "/_sandbox/api/clock/advance", `{"by":"1s"}`)
		if !strings.Contains(res.body, `"fired":[]`) {
			t.Errorf("an advance that fires nothing: %s", res.body)
		}
	})
}

func TestEventsHonourProviderObjectAndKind(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		_, p1, _ := r.khipuCreate("default", "E-1", "")
		_, p2, _ := r.khipuCreate("default", "E-2", "")
		r.do("POST", "/_sandbox/api/objects/khipu/"+p1+"/actions/pay", "{}")
		r.do("POST", "/_sandbox/api/objects/khipu/"+p2+"/actions/pay", "{}")
		// Replay (since=1) with filters, then the stream ends at shutdown.
		got := make(chan *httpResult, 1)
		go func() {
			got <- r.do("GET", "/_sandbox/api/events?since=1&provider=khipu&object="+p1+"&kind=transition,reset", "")
		}()
		synctest.Wait()
		r.do("POST", "/_sandbox/api/clock/advance", `{"by":"1s"}`) // a clock notice: filtered out
		r.do("POST", "/_sandbox/api/reset", `{"provider":"hambit"}`)
		synctest.Wait()
		r.sb.BeginShutdown()
		res := <-got
		var events []string
		for _, block := range strings.Split(res.body, "\n\n") {
			for _, line := range strings.Split(block, "\n") {
				if name, ok := strings.CutPrefix(line, "event: "); ok {
					events = append(events, name)
				}
				if data, ok := strings.CutPrefix(line, "data: "); ok && strings.Contains(data, p2) {
					t.Errorf("event of the other payment: %s", data)
				}
			}
		}
		if got := strings.Join(events, ","); !strings.HasPrefix(got, "transition") || !strings.HasSuffix(got, "reset") ||
			strings.Contains(got, "request") || strings.Contains(got, "clock") {
			t.Errorf("events = %s\n%s", got, res.body)
		}
	})
}

func TestDashboardShowsWhatIsScheduled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		r.do("POST", "/_sandbox/api/scenarios", lateNotify)
		_, pid, _ := r.khipuCreate("late-notify", "D-1", "http://merchant.test/khipu")
		time.Sleep(3 * time.Second) // paid and verified; the notification waits 10 minutes
		synctest.Wait()
		due := r.sb.Clock().Now().Add(10*time.Minute - time.Second).Format("15:04:05")
		res := r.do("GET", "/_sandbox/objects/khipu/"+pid, "")
		checkPage(t, "object", res.body)
		for _, want := range []string{
			`notification scheduled for <time`, due, `by rule <code>late-notify rules[2] &#34;notification 10 minutes late&#34;</code>`,
			`No callback so far; one is scheduled for`,
		} {
			if !strings.Contains(res.body, want) {
				t.Errorf("object page lacks %q", want)
			}
		}
		res = r.do("GET", "/_sandbox/clock", "")
		checkPage(t, "clock", res.body)
		if !strings.Contains(res.body, `<tr data-kind="callback_attempt">`) || !strings.Contains(res.body, "khipu notification") ||
			!strings.Contains(res.body, "/_sandbox/objects/khipu/"+pid) {
			t.Errorf("clock page lacks the scheduled notification:\n%s", res.body)
		}
		r.do("POST", "/_sandbox/api/clock/advance", `{"by":"10m"}`)
		r.m.Next(t, time.Second)
		res = r.do("GET", "/_sandbox/objects/khipu/"+pid, "")
		if !strings.Contains(res.body, "Nothing scheduled on the sandbox clock.") {
			t.Errorf("object page after the notification still shows scheduled work")
		}
	})
}
