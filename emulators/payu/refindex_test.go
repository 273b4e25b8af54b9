package payu

import (
	"fmt"
	"testing"

	"github.com/paysandbox/sandbox/emulators/internal/sandboxtest"
)

// ORDER_DETAIL_BY_REFERENCE_CODE answers from the reference index: every
// order of the reference newest first, none of an order the table dropped
// for its limit, none after a reset.
func TestOrdersByReferenceIndex(t *testing.T) {
	sb := sandboxtest.New(t, provider, sandboxtest.Options{})
	deps := sb.Deps
	deps.MaxObjects = 4
	svc, err := New(DefaultConfig(), deps, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	e := &env{Env: sb, t: t, svc: svc, h: sb.Echo(provider, svc.Register)}
	byRef := func(ref string) []string {
		t.Helper()
		q := jsonOf(t, e.post(reportsPath, report("ORDER_DETAIL_BY_REFERENCE_CODE", "referenceCode", fmt.Sprintf("%q", ref))))
		list, _ := dig(q, "result", "payload").([]any)
		var ids []string
		for _, o := range list {
			ids = append(ids, str(dig(o, "id")))
		}
		return ids
	}
	var ids []string
	for _, ref := range []string{"A", "B", "A", "A", "C", "A"} { // six orders, four kept
		ids = append(ids, str(dig(txOf(t, e.submit(payReq{ref: ref})), "orderId")))
	}
	if got := fmt.Sprint(byRef("A")); got != fmt.Sprint([]string{ids[5], ids[3], ids[2]}) {
		t.Errorf("reference A: %v, want the three kept of %v newest first", got, ids)
	}
	if got := byRef("B"); got != nil {
		t.Errorf("reference B (dropped for the limit): %v", got)
	}
	if got := fmt.Sprint(byRef("C")); got != fmt.Sprint([]string{ids[4]}) {
		t.Errorf("reference C: %v", got)
	}
	if n := len(svc.refs.ids); n != 2 {
		t.Errorf("index holds %d references, want 2 (A, C): %v", n, svc.refs.ids)
	}
	svc.Reset()
	if got := byRef("A"); got != nil || svc.refs.ids != nil {
		t.Errorf("after reset: %v, index %v", got, svc.refs.ids)
	}
}

// BenchmarkOrderByReference looks an order up by reference code among
// 2,000 stored orders (constant time: it used to scan them all under the
// table's read lock):
//
//	go test -run=^$ -bench=OrderByReference -benchmem ./emulators/payu/
func BenchmarkOrderByReference(b *testing.B) {
	e := newEnv(b, envOpt{})
	for i := range 2_000 {
		e.submit(payReq{ref: fmt.Sprint("BENCH-", i)})
	}
	q := report("ORDER_DETAIL_BY_REFERENCE_CODE", "referenceCode", `"BENCH-5000"`)
	b.ReportAllocs()
	for b.Loop() {
		if rec := e.post(reportsPath, q); rec.Code != 200 {
			b.Fatal(rec.Body)
		}
	}
}
