package sandbox

import (
	"slices"
	"sync"
	"time"

	"github.com/paysandbox/sandbox/emulators/internal/admin"
)

// facets are the choices of the objects page's Kind, Status and Account
// filters: the values the stored objects have, not a fixed list.
type facets struct {
	Kinds, Statuses, Accounts []string
}

// facetSample bounds the objects read per provider to find the choices:
// the newest ones (what a tester filters), so that a store of 100,000
// objects costs one bounded listing, not a scan.
const facetSample = 500

// facetCache recomputes the choices at most once a second, and only when
// the journal moved on (something was created or changed).
type facetCache struct {
	mu     sync.Mutex
	at     time.Time
	lastID uint64
	by     map[string]facets // provider ("" = all) → choices
}

func (fc *facetCache) get(s *Sandbox, provider string) facets {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	last := s.journal.Stats().LastID
	if fc.by == nil || (last != fc.lastID && time.Since(fc.at) > time.Second) {
		fc.by, fc.at, fc.lastID = map[string]facets{}, time.Now(), last
	}
	if f, ok := fc.by[provider]; ok {
		return f
	}
	f := computeFacets(s, provider)
	fc.by[provider] = f
	return f
}

func computeFacets(s *Sandbox, provider string) facets {
	kinds, statuses, accounts := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, p := range s.providers {
		if provider != "" && p.Name() != provider {
			continue
		}
		items, _ := p.Objects(admin.Query{Limit: facetSample})
		acc, _ := p.Objects(admin.Query{Kind: accountKind, Limit: facetSample})
		// Two loops, never append(items, acc...): a provider's listing
		// may share its backing array with the provider's own index.
		for _, list := range [][]admin.Object{items, acc} {
			for _, o := range list {
				kinds[o.Kind] = true
				if o.Status != "" {
					statuses[o.Status] = true
				}
				if o.Account != "" {
					accounts[o.Account] = true
				}
			}
		}
	}
	return facets{Kinds: sortedSet(kinds), Statuses: sortedSet(statuses), Accounts: sortedSet(accounts)}
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// withCurrent keeps a filter value that is not among the choices (a
// bookmarked filter, an object since forgotten) selectable.
func withCurrent(choices []string, cur string) []string {
	if cur == "" || slices.Contains(choices, cur) {
		return choices
	}
	return append([]string{cur}, choices...)
}
