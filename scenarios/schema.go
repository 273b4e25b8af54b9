package scenarios

import (
	"regexp"
	"strconv"
	"time"

	"github.com/paysandbox/sandbox/emulators"
)

// Scenario is one loaded scenario file. Its YAML form:
//
//	name: checkout-qa            # [a-z0-9][a-z0-9._-]*; defaults to the file name
//	description: free text
//	rules: [ Rule, ... ]         # ordered: the first matching rule wins per decision point
type Scenario struct {
	Name        string
	Description string
	Rules       []Rule
	// Source says where the scenario came from: "builtin", "upload", or the file path.
	Source string
	// YAML is the text it was loaded from.
	YAML []byte
	// Replace says an upload may take the name of a built-in (replace: true).
	Replace bool

	points         map[string]bool // provider + " " + point of every rule
	namedAfterFile bool            // the file has no name: key
}

// HasRules reports whether any rule of s is for this provider and point.
func (s *Scenario) HasRules(provider, point string) bool {
	if s.points != nil {
		return s.points[provider+" "+point]
	}
	for i := range s.Rules {
		if s.Rules[i].Provider == provider && s.Rules[i].On == point {
			return true
		}
	}
	return false
}

// Rule is one scripted behaviour. Its YAML keys:
//
//	name:        optional label, shown in errors, the journal and the dashboard
//	provider:    khipu | hambit | payu (whatever is registered)
//	on:          the provider's decision point (khipu: create, pay, verify, notify, refund, predict; ...)
//	when:        { field: value }  or  { field: { op: value, ... } }, all must hold;
//	             ops: eq ne gt gte lt lte in contains prefix suffix regex
//	then:        what happens (Then)
//	times:       apply to the first N matches only
//	probability: apply to this fraction of matches (0 < p ≤ 1), drawn from the
//	             scenario random stream (deterministic under --seed)
type Rule struct {
	Index       int
	Name        string
	Provider    string
	On          string
	When        []Condition
	Then        Then
	Times       int      // 0 = every match
	Probability *float64 // nil = every match
	Line        int
}

// Label names the rule in messages: rules[2] "large transfers fail".
func (r *Rule) Label() string {
	l := "rules[" + strconv.Itoa(r.Index) + "]"
	if r.Name != "" {
		l += " " + quote(r.Name)
	}
	return l
}

// Condition is one test of `when`.
type Condition struct {
	Field string
	Op    string // eq ne gt gte lt lte in contains prefix suffix regex
	// Values holds the operand (several for "in").
	Values []string
	Type   FieldType

	decimals []emulators.Decimal
	re       *regexp.Regexp
}

// Then is what a matching rule does. Shared keys
// (docs/design.md, Scenario vocabulary) have fields; provider-specific keys are in Params.
//
//	outcome:        the point's result (each provider lists its values)
//	delay:          wait before the outcome or the callback applies (sandbox time, scaled)
//	response_delay: hold the HTTP response this long (wall-clock)
//	auto:           true = robot payer (payer points only)
//	error:          answer with a provider-shaped error and create nothing
//	fault:          timeout | reset | malformed
//	skip:           true = do not deliver the callback (journaled as skipped)
//	duplicate:      N extra copies of the first callback attempt, 1 s apart
//	bad_signature:  wrong | missing
//	retry:          [intervals] between callback attempts after a failure
//	timeout:        per-attempt callback HTTP timeout (wall-clock)
//	fail_attempts:  the first N attempts of the callback fail without being
//	                sent (journaled as a simulated network failure), so the
//	                merchant sees the retries; a paysandbox addition to
//	                (docs/design.md, Scenario vocabulary); the
//	                flaky-callbacks built-in uses it
type Then struct {
	Outcome       string
	Delay         *time.Duration
	ResponseDelay time.Duration
	Auto          bool
	Fault         string
	// Error is the decoded value of the point's error spec (a provider type).
	Error        any
	Skip         bool
	Duplicate    int
	BadSignature string
	Retry        []time.Duration
	RetrySet     bool
	Timeout      *time.Duration
	FailAttempts int
	// Params holds the provider-specific keys, decoded into their registered types.
	Params map[string]any
}

// Attrs are the attributes of a decision: field name → value as text.
type Attrs map[string]string

// Plan is the result of a decision: what the matching rule says, or the
// zero plan (Matched false) when no rule matched and the provider's
// documented test behaviour applies.
type Plan struct {
	Scenario string
	Rule     string // the rule's label, "" when nothing matched
	Matched  bool
	Then
}

// Label names the rule that matched as `scenario rules[2] "name"`, or ""
// when no rule matched (the schedule shows it next to what it caused).
func (p Plan) Label() string {
	if !p.Matched {
		return ""
	}
	return p.Scenario + " " + p.Rule
}

// Param returns a provider-specific key of the plan, typed.
func Param[T any](p Plan, key string) (T, bool) {
	v, ok := p.Params[key].(T)
	return v, ok
}

// DelayOr returns the plan's delay, or d when the rule set none.
func (t Then) DelayOr(d time.Duration) time.Duration {
	if t.Delay != nil {
		return *t.Delay
	}
	return d
}

// OutcomeOr returns the plan's outcome, or o when the rule set none.
func (t Then) OutcomeOr(o string) string {
	if t.Outcome != "" {
		return t.Outcome
	}
	return o
}

// RetryOr returns the plan's retry intervals, or r when the rule set none.
func (t Then) RetryOr(r []time.Duration) []time.Duration {
	if t.RetrySet {
		return t.Retry
	}
	return r
}

// TimeoutOr returns the plan's callback timeout, or d when the rule set none.
func (t Then) TimeoutOr(d time.Duration) time.Duration {
	if t.Timeout != nil {
		return *t.Timeout
	}
	return d
}

func quote(s string) string { return `"` + s + `"` }
