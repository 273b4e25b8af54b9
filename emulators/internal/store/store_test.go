package store_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/paysandbox/sandbox/emulators/internal/store"
)

type payment struct {
	ID     string
	Status string
	Tags   []string
}

func clonePayment(p payment) payment {
	p.Tags = slices.Clone(p.Tags)
	return p
}

func TestCopiesInAndOut(t *testing.T) {
	tb := store.New[string, payment](clonePayment)
	p := payment{ID: "a", Tags: []string{"x"}}
	if err := tb.Insert("a", p); err != nil {
		t.Fatal(err)
	}
	p.Tags[0] = "mutated after insert"
	got, _ := tb.Get("a")
	if got.Tags[0] != "x" {
		t.Errorf("stored value changed through the caller's slice: %v", got.Tags)
	}
	got.Tags[0] = "mutated after get"
	again, _ := tb.Get("a")
	if again.Tags[0] != "x" {
		t.Errorf("stored value changed through a read copy: %v", again.Tags)
	}
	if err := tb.Insert("a", p); !errors.Is(err, store.ErrExists) {
		t.Errorf("second insert: err = %v, want ErrExists", err)
	}
}

func TestUpdateIsAtomicAndRollsBackOnError(t *testing.T) {
	tb := store.New[string, payment](clonePayment)
	tb.Insert("a", payment{ID: "a", Status: "pending"})
	_, err := tb.Update("a", func(p *payment) error {
		p.Status = "done"
		return errors.New("refused")
	})
	if err == nil {
		t.Fatal("Update returned no error")
	}
	if got, _ := tb.Get("a"); got.Status != "pending" {
		t.Errorf("status = %q after a refused update, want pending", got.Status)
	}
	if _, err := tb.Update("missing", func(*payment) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update of a missing key: err = %v", err)
	}
	// Concurrent increments through Update never lose one.
	type counter struct{ N int }
	ct := store.New[string, counter](nil)
	ct.Insert("n", counter{})
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			for range 100 {
				ct.Update("n", func(c *counter) error { c.N++; return nil })
			}
		})
	}
	wg.Wait()
	if got, _ := ct.Get("n"); got.N != 5000 {
		t.Errorf("N = %d, want 5000", got.N)
	}
}

func TestPageNewestFirstWithFilterAndDeletes(t *testing.T) {
	tb := store.New[string, payment](nil)
	for i := range 200 {
		status := "pending"
		if i%2 == 0 {
			status = "done"
		}
		tb.Insert(fmt.Sprint(i), payment{ID: fmt.Sprint(i), Status: status})
	}
	for i := 0; i < 150; i += 3 {
		tb.Delete(fmt.Sprint(i))
	}
	rows, total := tb.Page(func(p payment) bool { return p.Status == "done" }, 2, 3)
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	// done = even ids; deleted: multiples of 3 below 150. Newest first: 198, 196, 194, 192, ...
	if want := []string{"194", "192", "190"}; !slices.Equal(ids, want) {
		t.Errorf("page = %v, want %v", ids, want)
	}
	if want := 100 - 25; total != want {
		t.Errorf("total = %d, want %d", total, want)
	}
	if tb.Len() != 150 {
		t.Errorf("Len = %d, want 150", tb.Len())
	}
	tb.Put("0", payment{ID: "0", Status: "back"}) // re-insert after delete goes last
	first, _ := tb.Page(nil, 0, 1)
	if first[0].ID != "0" {
		t.Errorf("newest = %q, want the re-inserted 0", first[0].ID)
	}
	tb.Clear()
	if tb.Len() != 0 {
		t.Errorf("Len after Clear = %d", tb.Len())
	}
}

func BenchmarkInsertGet(b *testing.B) {
	tb := store.New[int, payment](nil)
	i := 0
	for b.Loop() {
		tb.Insert(i, payment{ID: "x", Status: "pending"})
		tb.Get(i / 2)
		i++
	}
}

func TestLimitEvictsTheOldest(t *testing.T) {
	tb := store.New[int, payment](nil)
	var evicted []int
	tb.SetLimit(100, func(k int, v payment) { evicted = append(evicted, k) })
	for i := range 1000 {
		tb.Insert(i, payment{ID: fmt.Sprint(i)})
		if i == 500 {
			tb.Delete(450) // a hole inside the kept window
		}
	}
	if tb.Len() != 100 {
		t.Fatalf("Len = %d, want 100", tb.Len())
	}
	if _, ok := tb.Get(899); ok {
		t.Error("row 899 survived")
	}
	if _, ok := tb.Get(900); !ok {
		t.Error("row 900 was evicted")
	}
	if len(evicted) != 899 || evicted[0] != 0 || evicted[len(evicted)-1] != 899 {
		t.Errorf("evicted %d rows, first %d, last %d", len(evicted), evicted[0], evicted[len(evicted)-1])
	}
	rows, total := tb.Page(nil, 0, 2)
	if total != 100 || rows[0].ID != "999" || rows[1].ID != "998" {
		t.Errorf("page after evictions: %v of %d", rows, total)
	}
}

func BenchmarkInsertAtLimit(b *testing.B) {
	tb := store.New[int, payment](nil)
	tb.SetLimit(10000, func(int, payment) {})
	i := 0
	for b.Loop() {
		tb.Insert(i, payment{ID: "x"})
		i++
	}
}

func TestObserverSeesEveryChangeAfterTheLock(t *testing.T) {
	tab := store.New[string, int](nil)
	tab.SetLimit(2, nil)
	var seen []string
	tab.SetObserver(func(keys ...string) {
		// the lock is released: reading the table must not deadlock
		for _, k := range keys {
			v, ok := tab.Get(k)
			seen = append(seen, fmt.Sprint(k, "=", v, ok))
		}
	})
	tab.Insert("a", 1)
	tab.Put("b", 2)
	tab.Update("a", func(v *int) error { *v = 3; return nil })
	tab.Update("a", func(v *int) error { return errors.New("refused") }) // no change, no call
	tab.Insert("c", 4)                                                   // evicts a, the oldest
	tab.Delete("b")
	tab.Clear()
	want := "[a=1 true b=2 true a=3 true a=0 false c=4 true b=0 false c=0 false]"
	if fmt.Sprint(seen) != want {
		t.Fatalf("observed %v\nwant     %s", seen, want)
	}
}

// TestMatchesAModel drives a table and a plain model (a map and an
// insertion-ordered slice) with the same random inserts, puts, updates and
// deletes, with and without a limit, across many blocks of the table's
// log, and compares every key, value and the newest-first order.
func TestMatchesAModel(t *testing.T) {
	for _, limit := range []int{0, 1, 300, 1000} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(limit)))
			tb := store.New[int, int](nil)
			var evicted []int
			tb.SetLimit(limit, func(k, _ int) { evicted = append(evicted, k) })
			model := map[int]int{}
			var order []int // keys, oldest first
			remove := func(k int) {
				delete(model, k)
				order = slices.DeleteFunc(order, func(x int) bool { return x == k })
			}
			for step := range 20_000 {
				k := rng.IntN(3000)
				switch op := rng.IntN(10); {
				case op < 5:
					err := tb.Insert(k, step)
					if _, ok := model[k]; ok != (err != nil) {
						t.Fatalf("step %d: Insert(%d) = %v, model has it: %v", step, k, err, ok)
					}
					if err == nil {
						model[k] = step
						order = append(order, k)
					}
				case op < 6:
					tb.Put(k, step)
					if _, ok := model[k]; !ok {
						order = append(order, k)
					}
					model[k] = step
				case op < 7:
					_, err := tb.Update(k, func(v *int) error { *v = -step; return nil })
					if _, ok := model[k]; ok != (err == nil) {
						t.Fatalf("step %d: Update(%d) = %v, model has it: %v", step, k, err, ok)
					}
					if err == nil {
						model[k] = -step
					}
				default:
					_, ok := model[k]
					if got := tb.Delete(k); got != ok {
						t.Fatalf("step %d: Delete(%d) = %v, want %v", step, k, got, ok)
					}
					remove(k)
				}
				for limit > 0 && len(order) > limit {
					if len(evicted) == 0 || evicted[0] != order[0] {
						t.Fatalf("step %d: evicted %v, want the oldest %d first", step, evicted, order[0])
					}
					evicted = evicted[1:]
					remove(order[0])
				}
				if len(evicted) > 0 {
					t.Fatalf("step %d: evicted %v beyond the limit", step, evicted)
				}
				if step%997 == 0 || step == 19_999 {
					var keys []int
					tb.Scan(false, func(k, v int) bool {
						if model[k] != v {
							t.Fatalf("step %d: Scan %d = %d, model %d", step, k, v, model[k])
						}
						keys = append(keys, k)
						return true
					})
					if !slices.Equal(keys, order) {
						t.Fatalf("step %d: Scan order %v…, model %v…", step, keys[:min(5, len(keys))], order[:min(5, len(order))])
					}
					rows, total := tb.Page(nil, 2, 3)
					if total != len(order) || tb.Len() != len(order) {
						t.Fatalf("step %d: Page total %d, Len %d, model %d", step, total, tb.Len(), len(order))
					}
					for i, v := range rows {
						if want := model[order[len(order)-3-i]]; v != want {
							t.Fatalf("step %d: Page row %d = %d, want %d", step, i, v, want)
						}
					}
				}
			}
		})
	}
}
