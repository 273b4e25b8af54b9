package journal_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/paysandbox/sandbox/emulators/internal/journal"
)

func TestBoundedUnderManyEntries(t *testing.T) {
	j := journal.New(journal.Options{Capacity: 1000, MaxBytes: 1 << 20, BodyCap: 2048})
	body := strings.Repeat("x", 4096)
	for i := range 100_000 {
		j.Add(journal.Entry{Kind: journal.KindRequest, Provider: "khipu", Objects: []string{fmt.Sprint(i)},
			Request: &journal.Exchange{Method: "POST", Path: "/p", RequestBody: body, ResponseBody: body}})
	}
	st := j.Stats()
	if st.Entries > 1000 || st.Bytes > 1<<20 {
		t.Fatalf("journal holds %d entries, %d bytes; bounds 1000, 1 MiB", st.Entries, st.Bytes)
	}
	if st.LastID != 100_000 || st.Dropped != uint64(100_000-st.Entries) {
		t.Errorf("stats = %+v", st)
	}
	newest := j.List(journal.Filter{Limit: 1})[0]
	if newest.ID != 100_000 || !newest.Request.RequestTruncated || len(newest.Request.RequestBody) != 2048 {
		t.Errorf("newest entry: id %d, truncated %v, body %d bytes", newest.ID, newest.Request.RequestTruncated, len(newest.Request.RequestBody))
	}
	if _, ok := j.Get(1); ok {
		t.Error("the oldest entry is still held")
	}
	if e, ok := j.Get(newest.ID - 5); !ok || e.ID != newest.ID-5 {
		t.Errorf("Get(%d) = %v, %v", newest.ID-5, e.ID, ok)
	}
}

func TestFilterClearAndRedaction(t *testing.T) {
	j := journal.New(journal.Options{})
	j.Add(journal.Entry{Kind: journal.KindRequest, Provider: "khipu", Objects: []string{"p1"},
		Request: &journal.Exchange{RequestHeaders: map[string][]string{"X-Api-Key": {"sbx-khipu-apikey"}, "Authorization": {"Bearer tok"}}}})
	j.Add(journal.Entry{Kind: journal.KindCallback, Provider: "khipu", Objects: []string{"p1"}, Callback: &journal.Attempt{Outcome: "failed"}})
	j.Add(journal.Entry{Kind: journal.KindTransition, Provider: "hambit", Objects: []string{"o1"}})
	if n := len(j.List(journal.Filter{Object: "p1"})); n != 2 {
		t.Errorf("entries of p1 = %d, want 2", n)
	}
	if n := len(j.List(journal.Filter{Kinds: []journal.Kind{journal.KindCallback}})); n != 1 {
		t.Errorf("callback entries = %d, want 1", n)
	}
	req := j.List(journal.Filter{Kinds: []journal.Kind{journal.KindRequest}})[0].Request
	if got := req.RequestHeaders["X-Api-Key"][0]; strings.Contains(got, "apikey") {
		t.Errorf("API key not redacted: %q", got)
	}
	if got := req.RequestHeaders["Authorization"][0]; got != "Bearer [redacted]" {
		t.Errorf("Authorization = %q", got)
	}
	j.Clear("khipu")
	if all := j.List(journal.Filter{}); len(all) != 1 || all[0].Provider != "hambit" {
		t.Errorf("after Clear(khipu): %v", all)
	}
	if _, ok := j.Get(3); !ok {
		t.Error("Get after Clear lost the hambit entry")
	}
}

func TestSubscribersNeverBlockTheWriter(t *testing.T) {
	j := journal.New(journal.Options{})
	sub := j.Subscribe(2)
	defer sub.Close()
	for range 10 {
		j.Add(journal.Entry{Kind: journal.KindNote})
	}
	j.Notify("clock", "now")
	if got := len(sub.C); got != 2 {
		t.Errorf("buffered %d events, want 2", got)
	}
	if lost := sub.Lost(); lost != 9 {
		t.Errorf("lost = %d, want 9", lost)
	}
	ev := <-sub.C
	if ev.Name != "note" || ev.ID != 1 {
		t.Errorf("first event = %+v", ev)
	}
}

// A notices-only subscriber gets the notices, none of the entries, and
// costs the writer of an entry nothing: no copy of it is made.
func TestSubscribeNotices(t *testing.T) {
	j := journal.New(journal.Options{})
	sub := j.SubscribeNotices(8)
	defer sub.Close()
	e := journal.Entry{Kind: journal.KindRequest, Provider: "khipu"}
	if n := testing.AllocsPerRun(100, func() { j.Add(e) }); n != 0 {
		t.Errorf("Add allocates %.0f times with a notices-only subscriber, want 0", n)
	}
	j.Notify("reset", "khipu")
	if len(sub.C) != 1 {
		t.Fatalf("%d events buffered, want the one notice", len(sub.C))
	}
	if ev := <-sub.C; ev.Name != "reset" || ev.ID != 0 {
		t.Errorf("event %+v, want the reset notice", ev)
	}
	all := j.Subscribe(8) // an entry subscriber still gets entries
	defer all.Close()
	j.Add(e)
	if len(all.C) != 1 || len(sub.C) != 0 {
		t.Errorf("entry delivered to %d entry subscribers and %d notice subscribers, want 1 and 0", len(all.C), len(sub.C))
	}
}

func BenchmarkAdd(b *testing.B) {
	j := journal.New(journal.Options{})
	body := strings.Repeat("x", 512)
	b.ReportAllocs()
	for b.Loop() {
		j.Add(journal.Entry{Kind: journal.KindRequest, Provider: "khipu", Request: &journal.Exchange{RequestBody: body, ResponseBody: body}})
	}
}

// TestAdjacent: the neighbours of an entry are found across the ring's
// wrap and across the gaps Clear leaves, whether the entry is held or not.
func TestAdjacent(t *testing.T) {
	j := journal.New(journal.Options{Capacity: 4})
	for i := range 6 { // ids 1..6; 3..6 held, the ring wrapped
		p := "khipu"
		if i%2 == 1 {
			p = "payu"
		}
		j.Add(journal.Entry{Kind: journal.KindNote, Provider: p})
	}
	if prev, next := j.Adjacent(4); prev != 3 || next != 5 { // the ring has wrapped: 5 and 6 sit before 3 and 4
		t.Errorf("Adjacent(4) before Clear = %d, %d; want 3, 5", prev, next)
	}
	j.Clear("payu") // ids 4 and 6 go: 3, 5 held
	for _, tt := range []struct{ id, prev, next uint64 }{
		{1, 0, 3}, {3, 0, 5}, {4, 3, 5}, {5, 3, 0}, {6, 5, 0}, {9, 5, 0},
	} {
		if prev, next := j.Adjacent(tt.id); prev != tt.prev || next != tt.next {
			t.Errorf("Adjacent(%d) = %d, %d; want %d, %d", tt.id, prev, next, tt.prev, tt.next)
		}
	}
}

// Issue #13: one entry carrying megabytes (headers, strings to sign, a
// body the caller did not cut) is capped as it is added, so it cannot evict
// the journal, and MaxBytes counts what the journal really holds.
func TestHugeEntryIsCapped(t *testing.T) {
	j := journal.New(journal.Options{MaxBytes: 8 << 20})
	for i := range 50 {
		j.Add(journal.Entry{Kind: journal.KindNote, Summary: fmt.Sprint("note ", i)})
	}
	huge := strings.Repeat("x", 10<<20)
	j.Add(journal.Entry{Kind: journal.KindRequest, Summary: huge, Data: map[string]string{"k": huge},
		Request: &journal.Exchange{Path: huge, RequestBody: huge, ResponseBody: huge, Error: huge,
			RequestHeaders:  map[string][]string{"X-Big": {huge}},
			ResponseHeaders: map[string][]string{"X-Sandbox-String-To-Sign": {huge}},
			Signature: &journal.Signature{Received: huge, Expected: huge, Detail: huge,
				Candidates: []journal.Candidate{{Name: "c", StringToSign: huge, Signature: huge}}}},
	})
	j.Add(journal.Entry{Kind: journal.KindCallback, Callback: &journal.Attempt{URL: huge, RequestBody: huge, StringToSign: huge, Error: huge}})
	st := j.Stats()
	if st.Entries != 52 || st.Dropped != 0 {
		t.Fatalf("stats after two huge entries: %+v", st)
	}
	if st.Bytes > 512<<10 {
		t.Errorf("the journal counts %d bytes for two capped entries", st.Bytes)
	}
	e := j.List(journal.Filter{Limit: 2})[1]
	x := e.Request
	if len(e.Summary) > journal.FieldCap+64 || len(x.Path) > journal.FieldCap+64 || len(x.Error) > journal.FieldCap+64 ||
		len(x.RequestHeaders["X-Big"][0]) > journal.FieldCap+64 || len(x.Signature.Candidates[0].StringToSign) > journal.StringToSignCap+64 ||
		len(e.Data["k"]) > journal.FieldCap+64 {
		t.Errorf("a field kept more than its cap")
	}
	if !strings.Contains(x.Path, "bytes in all") {
		t.Errorf("a cut field does not say it was cut: %q", x.Path[len(x.Path)-40:])
	}
}

// The ring grows as entries come and wraps at Capacity: every count below,
// at and past the bound (with byte evictions before the ring is full, and
// Clear in between) keeps the newest entries in order.
func TestRingGrowsAndWraps(t *testing.T) {
	for _, tc := range []struct {
		capacity, maxBytes, adds int
		clearAt                  int // Clear("khipu") after this many adds (0: never)
	}{
		{capacity: 100, adds: 1},
		{capacity: 100, adds: 64},
		{capacity: 100, adds: 65},
		{capacity: 100, adds: 100},
		{capacity: 100, adds: 101},
		{capacity: 100, adds: 1000},
		{capacity: 100, maxBytes: 20_000, adds: 90}, // bytes evict before the ring is full
		{capacity: 100, adds: 150, clearAt: 70},
		{capacity: 7, adds: 30, clearAt: 12},
	} {
		j := journal.New(journal.Options{Capacity: tc.capacity, MaxBytes: tc.maxBytes})
		var want []uint64 // ids held, oldest first
		for i := 1; i <= tc.adds; i++ {
			provider := []string{"khipu", "payu"}[i%2]
			e := j.Add(journal.Entry{Kind: journal.KindRequest, Provider: provider, Request: &journal.Exchange{Method: "GET", Path: "/p", ResponseBody: strings.Repeat("x", 1000)}})
			want = append(want, e.ID)
			if i == tc.clearAt {
				j.Clear("khipu")
				kept := want[:0]
				for _, id := range want {
					if id%2 == 1 { // payu: odd ids
						kept = append(kept, id)
					}
				}
				want = kept
			}
		}
		held := j.Stats().Entries
		if held > tc.capacity {
			t.Errorf("%+v: %d entries held, capacity %d", tc, held, tc.capacity)
		}
		want = want[len(want)-held:]
		got := j.List(journal.Filter{Limit: tc.capacity})
		if len(got) != held {
			t.Fatalf("%+v: List gives %d entries, Stats %d", tc, len(got), held)
		}
		for k, e := range got { // newest first
			if id := want[len(want)-1-k]; e.ID != id {
				t.Fatalf("%+v: entry %d is id %d, want %d", tc, k, e.ID, id)
			}
		}
		if tc.maxBytes == 0 && tc.clearAt == 0 && held != min(tc.adds, tc.capacity) {
			t.Errorf("%+v: %d entries held, want %d", tc, held, min(tc.adds, tc.capacity))
		}
		if _, ok := j.Get(want[0]); !ok {
			t.Errorf("%+v: the oldest entry held (%d) is not found", tc, want[0])
		}
	}
}
