package sandbox_test

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/paysandbox/sandbox/emulators/sandbox"
)

// TestRetentionLimit: beyond max_objects a provider forgets its oldest
// objects, and their lookups and indexes with them (memory stays bounded
// under sustained load).
func TestRetentionLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(time.Until(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
		sb, m := newKit(t, func(c *sandbox.Config) { c.MaxObjects = 100 })
		r := &rig{t: t, sb: sb, m: m}
		var first string
		for i := range 150 {
			code, id, body := r.khipuCreate("default", fmt.Sprint("RET-", i), "")
			if code != 200 {
				t.Fatalf("create %d: %d %s", i, code, body)
			}
			if i == 0 {
				first = id
			}
		}
		if res := r.do("GET", "/_sandbox/api/objects/khipu/"+first, ""); res.code != 404 {
			t.Errorf("the oldest Khipu payment is still held: %d", res.code)
		}
		if res := r.do("GET", "/_sandbox/api/objects?provider=khipu&limit=1", ""); !strings.Contains(res.body, `"total":100`) {
			t.Errorf("Khipu holds: %.200s", res.body)
		}
		// Hambit: an evicted order's externalOrderId is free again.
		for i := range 101 {
			if out := r.hambit("default", "createCollectingOrder", fmt.Sprintf(collection, fmt.Sprint("H-", i))); out["code"] != "200" {
				t.Fatalf("collection %d: %v", i, out)
			}
		}
		if out := r.hambit("default", "createCollectingOrder", fmt.Sprintf(collection, "H-0")); out["code"] != "200" {
			t.Errorf("reusing an evicted order's externalOrderId: %v", out)
		}
		if out := r.hambit("default", "createCollectingOrder", fmt.Sprintf(collection, "H-100")); out["code"] != "300" {
			t.Errorf("a held order's externalOrderId was accepted twice: %v", out)
		}
		// PayU: an evicted order takes its transactions with it.
		firstTx := r.payuCard("default", "P-0", "APPROVED")["transactionId"].(string)
		for i := 1; i <= 100; i++ {
			r.payuCard("default", fmt.Sprint("P-", i), "APPROVED")
		}
		if res := r.do("GET", "/_sandbox/api/objects/payu/"+firstTx, ""); res.code != 404 {
			t.Errorf("the evicted order's transaction is still held: %d", res.code)
		}
		if st := r.payuState(firstTx); st != "" {
			t.Errorf("query of an evicted transaction: %q", st)
		}
	})
}
