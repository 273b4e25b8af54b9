package scenarios

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// thenKey is one shared `then` key: the one place that says its name, the
// kinds of decision point that accept it, how it is documented and how it
// is loaded and checked. sharedKeysOf, allShared, loadThen and the table
// in doc.go all come from thenKeys (TestThenKeysDocumented keeps doc.go in
// step); a provider's own keys join them as thenKeys too (ownKey), so one
// loop loads and checks every key (PointSpec.thenKeys).
type thenKey struct {
	name  string
	kinds []PointKind
	doc   string // one line of the documentation table
	load  func(l *loader, v *yaml.Node, c *thenCtx)
}

// own reports whether k is a provider's own key (PointSpec.Extra): those
// have no kinds.
func (k thenKey) own() bool { return k.kinds == nil }

// thenCtx is the state of one `then` mapping while it is loaded.
type thenCtx struct {
	t                *Then
	prov             *ProviderSpec
	pt               *PointSpec
	errNode, faultNd *yaml.Node // to refuse error and fault together
}

// The kinds of decision point, for the table below.
var (
	anyOutcomePoint = []PointKind{RequestPoint, PayerPoint, InternalPoint}
	delayPoints     = []PointKind{RequestPoint, PayerPoint, CallbackPoint, InternalPoint}
	answerPoints    = []PointKind{RequestPoint, PayerPoint}
	requestOnly     = []PointKind{RequestPoint}
	payerOnly       = []PointKind{PayerPoint}
	callbackOnly    = []PointKind{CallbackPoint}
)

// thenKeys are the shared `then` keys (docs/design.md, Scenario vocabulary),
// in documentation order.
var thenKeys = []thenKey{
	{"outcome", anyOutcomePoint, "the point's result; each provider lists its outcomes", loadOutcome},
	{"delay", delayPoints, "wait before the outcome or the callback applies (sandbox clock, scaled)", func(l *loader, v *yaml.Node, c *thenCtx) {
		if d, ok := l.duration(v, "then.delay"); ok {
			c.t.Delay = &d
		}
	}},
	{"response_delay", answerPoints, "hold the HTTP answer (API call or page); wall-clock", func(l *loader, v *yaml.Node, c *thenCtx) {
		c.t.ResponseDelay, _ = l.duration(v, "then.response_delay")
	}},
	{"auto", payerOnly, "true: a robot payer applies the outcome after the delay (default 2s), no browser", func(l *loader, v *yaml.Node, c *thenCtx) {
		c.t.Auto = l.boolean(v, "then.auto")
	}},
	{"error", requestOnly, "answer with the provider's error envelope; nothing is created", loadError},
	{"fault", requestOnly, "timeout | reset | malformed: break the answer; nothing is created", func(l *loader, v *yaml.Node, c *thenCtx) {
		c.faultNd = v
		c.t.Fault = l.str(v, "then.fault")
		if c.t.Fault != "timeout" && c.t.Fault != "reset" && c.t.Fault != "malformed" {
			l.errorf(v.Line, "then.fault: expected timeout, reset or malformed, got %s", describeNode(v))
		}
	}},
	{"skip", callbackOnly, "true: the callback is not delivered (journaled as skipped)", func(l *loader, v *yaml.Node, c *thenCtx) {
		c.t.Skip = l.boolean(v, "then.skip")
	}},
	{"duplicate", callbackOnly, "N extra copies of the first attempt, 1s apart", func(l *loader, v *yaml.Node, c *thenCtx) {
		c.t.Duplicate = l.count(v, "then.duplicate")
	}},
	{"bad_signature", callbackOnly, "wrong | missing: sign with a wrong key, or not at all", func(l *loader, v *yaml.Node, c *thenCtx) {
		c.t.BadSignature = l.str(v, "then.bad_signature")
		if c.t.BadSignature != "wrong" && c.t.BadSignature != "missing" {
			l.errorf(v.Line, "then.bad_signature: expected wrong or missing, got %s", describeNode(v))
		}
	}},
	{"retry", callbackOnly, "[intervals] between attempts after a failure; replaces the configured ones", loadRetry},
	{"timeout", callbackOnly, "per-attempt HTTP timeout; wall-clock", func(l *loader, v *yaml.Node, c *thenCtx) {
		if d, ok := l.duration(v, "then.timeout"); ok {
			if d == 0 {
				l.errorf(v.Line, "then.timeout: must be more than 0")
			}
			c.t.Timeout = &d
		}
	}},
	{"fail_attempts", callbackOnly, "N: the first N attempts fail without being sent (a paysandbox addition)", func(l *loader, v *yaml.Node, c *thenCtx) {
		c.t.FailAttempts = l.count(v, "then.fail_attempts")
	}},
}

func loadOutcome(l *loader, v *yaml.Node, c *thenCtx) {
	c.t.Outcome = l.str(v, "then.outcome")
	pt := c.pt
	if c.t.Outcome != "" && !contains(pt.Outcomes, c.t.Outcome) {
		msg := fmt.Sprintf("then.outcome: unknown outcome %q for %s %s; outcomes: %s", c.t.Outcome, c.prov.Name, pt.Name, strings.Join(pt.Outcomes, ", "))
		if s := suggest(c.t.Outcome, pt.Outcomes); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		l.errorf(v.Line, "%s", msg)
	}
}

func loadError(l *loader, v *yaml.Node, c *thenCtx) {
	c.errNode = v
	val, probs := c.pt.Error.decode(v)
	for j := range probs {
		probs[j].msg = "then.error: " + probs[j].msg
	}
	l.add(probs)
	if len(probs) == 0 {
		c.t.Error = val
	}
}

func loadRetry(l *loader, v *yaml.Node, c *thenCtx) {
	c.t.RetrySet = true
	if v.Kind != yaml.SequenceNode {
		l.errorf(v.Line, "then.retry: expected a list of intervals such as [1s, 5s, 30s], got %s", describeNode(v))
		return
	}
	for _, item := range v.Content {
		if d, ok := l.duration(item, "then.retry"); ok {
			c.t.Retry = append(c.t.Retry, d)
		}
	}
}

// count reads a whole number from 0 to 100 (a quoted "3" is refused, as
// for times).
func (l *loader) count(v *yaml.Node, where string) int {
	d, _ := l.whole(v, where, 0, 100)
	return d
}

// thenKeys lists every `then` key the point takes, as the loader reads
// them: its shared keys in table order (those of its kind, or its Shared
// list; error only with an Error spec, outcome only with outcomes), then
// its own keys (Extra) by name. An own key of a shared key's name replaces
// it.
func (pt *PointSpec) thenKeys() []thenKey {
	names := pt.Shared
	if names == nil {
		names = sharedKeysOf(pt.Kind)
	}
	out := make([]thenKey, 0, len(names)+len(pt.Extra))
	for _, name := range names {
		i := slices.IndexFunc(thenKeys, func(k thenKey) bool { return k.name == name })
		_, own := pt.Extra[name]
		if i < 0 || own || name == "error" && pt.Error == nil || name == "outcome" && len(pt.Outcomes) == 0 {
			continue
		}
		out = append(out, thenKeys[i])
	}
	for _, name := range sortedKeys(pt.Extra) {
		out = append(out, ownKey(name, pt.Extra[name]))
	}
	return out
}

// ownKey is a provider's own key as a thenKey: its value is decoded by its
// KeySpec into Then.Params.
func ownKey(name string, spec KeySpec) thenKey {
	return thenKey{name: name, doc: spec.Help, load: func(l *loader, v *yaml.Node, c *thenCtx) {
		val, probs := spec.decode(v)
		for j := range probs {
			probs[j].msg = "then." + name + ": " + probs[j].msg
		}
		l.add(probs)
		if len(probs) == 0 {
			if c.t.Params == nil {
				c.t.Params = map[string]any{}
			}
			c.t.Params[name] = val
		}
	}}
}

func keyNames(keys []thenKey) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.name
	}
	return out
}

// sharedKeysOf lists the shared keys a kind of point accepts, in table order.
func sharedKeysOf(kind PointKind) []string {
	var out []string
	for _, k := range thenKeys {
		if slices.Contains(k.kinds, kind) {
			out = append(out, k.name)
		}
	}
	return out
}

// ThenKey describes a `then` key for documentation.
type ThenKey struct {
	Name string
	// Kinds are the kinds of point a shared key is for (nil for an own key).
	Kinds []PointKind
	// Doc is one line: what the key does.
	Doc string
	// Own marks a provider's own key (registered in PointSpec.Extra).
	Own bool
}

func (k thenKey) public() ThenKey {
	return ThenKey{Name: k.name, Kinds: slices.Clone(k.kinds), Doc: k.doc, Own: k.own()}
}

// SharedThenKeys lists the shared `then` keys in documentation order, the
// table the loader works from (docs/design.md, Scenario vocabulary).
func SharedThenKeys() []ThenKey {
	out := make([]ThenKey, len(thenKeys))
	for i, k := range thenKeys {
		out[i] = k.public()
	}
	return out
}

// ThenKeys lists every `then` key the point accepts, shared and its own,
// exactly as the loader accepts them: shared keys in table order, then the
// provider's own by name.
func (pt *PointSpec) ThenKeys() []ThenKey {
	keys := pt.thenKeys()
	out := make([]ThenKey, len(keys))
	for i, k := range keys {
		out[i] = k.public()
	}
	return out
}

// KeysTable renders, as a Markdown table, what each decision point of the
// provider accepts: kind, outcomes and every `then` key (shared keys as
// they are, the provider's own followed by their help). READMEs embed it;
// their tests compare it with this rendering.
func (p *ProviderSpec) KeysTable() string {
	var b strings.Builder
	cell := strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;") // text inside a cell
	b.WriteString("| `on` | kind | outcomes | `then` keys |\n|---|---|---|---|\n")
	for i := range p.Points {
		pt := &p.Points[i]
		outcomes := "–"
		if len(pt.Outcomes) > 0 {
			outcomes = "`" + strings.Join(pt.Outcomes, "`, `") + "`"
		}
		var keys []string
		for _, k := range pt.thenKeys() {
			if k.own() {
				keys = append(keys, "`"+k.name+"` ("+cell.Replace(k.doc)+")")
			} else {
				keys = append(keys, "`"+k.name+"`")
			}
		}
		row := fmt.Sprintf("| `%s` | %s | %s | %s |", pt.Name, pt.Kind, outcomes, strings.Join(keys, ", "))
		b.WriteString(row + "\n")
	}
	return b.String()
}

// thenKeysTable renders thenKeys as the table of doc.go (without the
// comment markers): one row a key, an x under each kind of point that takes
// it (R request, P payer, C callback, I internal), its meaning.
func thenKeysTable() string {
	var b strings.Builder
	b.WriteString("key            R P C I  meaning\n")
	for _, k := range thenKeys {
		fmt.Fprintf(&b, "%-15s", k.name)
		for _, kind := range []PointKind{RequestPoint, PayerPoint, CallbackPoint, InternalPoint} {
			mark := ". "
			if slices.Contains(k.kinds, kind) {
				mark = "x "
			}
			b.WriteString(mark)
		}
		b.WriteString(" " + k.doc + "\n")
	}
	return b.String()
}
