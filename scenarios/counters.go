package scenarios

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
)

// Rule counters across restarts (issue #18): how often each rule of a
// scenario has applied decides its `times` and which match is the nth, so
// the sandbox's state store keeps them.

// Counters are the rule counts of one scenario, tied to the text they were
// counted under: a scenario whose text changed starts counting afresh.
type Counters struct {
	Version string      `json:"version"` // Version of the scenario's text
	Counts  map[int]int `json:"counts"`  // rule index → times applied
}

// Version identifies a scenario's text.
func Version(s *Scenario) string {
	sum := sha256.Sum256(s.YAML)
	return hex.EncodeToString(sum[:8])
}

// SetCountHook makes the engine call f with a scenario's name each time one
// of its rules applied, and after ResetCounters (for every scenario that
// had counts). f must not block; it reads the counts back with Counters.
func (e *Engine) SetCountHook(f func(name string)) {
	e.mu.Lock()
	e.onCount = f
	e.mu.Unlock()
}

// Counters returns the rule counts of the named scenario, and false when it
// has none (never applied, reset, or no such scenario).
func (e *Engine) Counters(name string) (Counters, bool) {
	e.mu.RLock()
	s := e.lookup(name)
	var st *State
	if s != nil {
		st = e.states[s]
	}
	e.mu.RUnlock()
	if st == nil {
		return Counters{}, false
	}
	st.mu.Lock()
	c := Counters{Version: Version(s), Counts: maps.Clone(st.counts)}
	st.mu.Unlock()
	return c, len(c.Counts) > 0
}

// RestoreCounters sets the counts of the named scenario as they were kept;
// it reports false (and changes nothing) when the scenario is gone or its
// text is not the one they were counted under.
func (e *Engine) RestoreCounters(name string, c Counters) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.lookup(name)
	if s == nil || Version(s) != c.Version {
		return false
	}
	st := NewState(e.draw)
	for i, n := range c.Counts {
		if i >= 0 && i < len(s.Rules) && n > 0 {
			st.counts[i] = n
		}
	}
	e.states[s] = st
	return true
}

// counted tells the hook that name's counts changed.
func (e *Engine) counted(name string) {
	e.mu.RLock()
	f := e.onCount
	e.mu.RUnlock()
	if f != nil {
		f(name)
	}
}
