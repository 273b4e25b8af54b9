package payu

import (
	"slices"
	"sync"
)

// refIndex finds a merchant's orders by reference code in constant time, for
// ORDER_DETAIL_BY_REFERENCE_CODE (§11): a scan of every stored order held
// the table's read lock for as long as the table is long, and every create
// waited behind it. An order's merchant and reference code never change
// after it is created; ids grow with creation, so each list is oldest first.
type refIndex struct {
	mu  sync.Mutex
	ids map[refKey][]int64
}

type refKey struct {
	merchant int64
	ref      string
}

func (x *refIndex) add(o *Order) {
	k := refKey{o.MerchantID, o.ReferenceCode}
	x.mu.Lock()
	if x.ids == nil {
		x.ids = map[refKey][]int64{}
	}
	x.ids[k] = append(x.ids[k], o.ID)
	x.mu.Unlock()
}

// remove forgets an order dropped from the table.
func (x *refIndex) remove(o *Order) {
	k := refKey{o.MerchantID, o.ReferenceCode}
	x.mu.Lock()
	ids := slices.DeleteFunc(x.ids[k], func(id int64) bool { return id == o.ID })
	if len(ids) == 0 {
		delete(x.ids, k)
	} else {
		x.ids[k] = ids
	}
	x.mu.Unlock()
}

// newestFirst returns the ids of merchant's orders with reference ref.
func (x *refIndex) newestFirst(merchant int64, ref string) []int64 {
	x.mu.Lock()
	ids := slices.Clone(x.ids[refKey{merchant, ref}])
	x.mu.Unlock()
	slices.Reverse(ids)
	return ids
}

func (x *refIndex) clear() {
	x.mu.Lock()
	x.ids = nil
	x.mu.Unlock()
}
