package scenarios

import (
	"strconv"
	"strings"
	"sync"

	"github.com/paysandbox/sandbox/emulators"
)

// State is the mutable part of matching: how often each rule of one
// scenario has applied (for `times`) and the random draws (for
// `probability`). It is safe for concurrent use.
type State struct {
	mu     sync.Mutex
	counts map[int]int
	draw   func() float64
}

// NewState returns a fresh state drawing probabilities from draw (a value
// in [0, 1); nil means every probability draw fails, which only matters for
// rules that set one).
func NewState(draw func() float64) *State {
	if draw == nil {
		draw = func() float64 { return 1 }
	}
	return &State{counts: map[int]int{}, draw: draw}
}

// Count returns how many times rule i has applied.
func (st *State) Count(i int) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.counts[i]
}

// Select returns the plan of the first rule of s for (provider, point) whose
// conditions hold for attrs and whose times and probability allow it; it
// counts the match in st. With no such rule the plan is the zero plan
// (Matched false): the provider's documented test behaviour applies.
// Select is pure apart from st.
func Select(s *Scenario, provider, point string, attrs Attrs, st *State) Plan {
	if s == nil {
		return Plan{}
	}
	for i := range s.Rules {
		r := &s.Rules[i]
		if r.Provider != provider || r.On != point || !r.holds(attrs) {
			continue
		}
		if st != nil {
			st.mu.Lock()
			if r.Times > 0 && st.counts[r.Index] >= r.Times {
				st.mu.Unlock()
				continue
			}
			if r.Probability != nil && st.draw() >= *r.Probability {
				st.mu.Unlock()
				continue
			}
			st.counts[r.Index]++
			st.mu.Unlock()
		}
		return Plan{Scenario: s.Name, Rule: r.Label(), Matched: true, Then: r.Then}
	}
	return Plan{Scenario: s.Name}
}

func (r *Rule) holds(attrs Attrs) bool {
	for i := range r.When {
		if !r.When[i].Holds(attrs) {
			return false
		}
	}
	return true
}

// Holds reports whether the condition is true for attrs. A missing
// attribute compares as the empty string (and as no number at all).
func (c *Condition) Holds(attrs Attrs) bool {
	v, present := attrs[c.Field]
	switch c.Type {
	case Decimal:
		switch c.Op {
		case "eq", "ne", "in", "gt", "gte", "lt", "lte":
			d, err := emulators.ParseDecimal(strings.TrimSpace(v))
			if !present || err != nil {
				return c.Op == "ne"
			}
			switch c.Op {
			case "eq":
				return d.Equal(c.decimals[0])
			case "ne":
				return !d.Equal(c.decimals[0])
			case "in":
				for _, x := range c.decimals {
					if d.Equal(x) {
						return true
					}
				}
				return false
			case "gt":
				return d.Cmp(c.decimals[0]) > 0
			case "gte":
				return d.Cmp(c.decimals[0]) >= 0
			case "lt":
				return d.Cmp(c.decimals[0]) < 0
			default:
				return d.Cmp(c.decimals[0]) <= 0
			}
		}
	case Bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			b = false
		}
		v = strconv.FormatBool(b)
	}
	switch c.Op {
	case "eq":
		return v == c.Values[0]
	case "ne":
		return v != c.Values[0]
	case "in":
		for _, x := range c.Values {
			if v == x {
				return true
			}
		}
		return false
	case "contains":
		return strings.Contains(v, c.Values[0])
	case "prefix":
		return strings.HasPrefix(v, c.Values[0])
	case "suffix":
		return strings.HasSuffix(v, c.Values[0])
	case "regex":
		if n := MaxRegexWork / max(1, len(c.Values[0])); len(v) > n {
			v = v[:n]
		}
		return c.re.MatchString(v)
	}
	return false
}
