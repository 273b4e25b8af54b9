package scenarios

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// FieldType says how a `when` condition compares a field.
type FieldType int

const (
	String  FieldType = iota // text; eq ne in contains prefix suffix regex
	Decimal                  // an amount or a number: also gt gte lt lte, compared as exact decimals
	Bool                     // true/false; eq ne
)

func (t FieldType) String() string {
	switch t {
	case Decimal:
		return "decimal"
	case Bool:
		return "bool"
	}
	return "string"
}

// PointKind groups decision points by when they are taken, which decides
// the shared `then` keys they accept (docs/design.md, Scenario vocabulary).
type PointKind int

const (
	// RequestPoint is decided at an API request after authentication and
	// validation. (The shared keys each kind takes are in thenKeys.)
	RequestPoint PointKind = iota
	// PayerPoint is decided when the object is created and stored with it.
	PayerPoint
	// CallbackPoint is decided once per callback event.
	CallbackPoint
	// InternalPoint is a provider-internal step (verification, review).
	InternalPoint
)

func (k PointKind) String() string {
	return [...]string{"request", "payer", "callback", "internal"}[k]
}

// allShared is every shared key, to tell "not here" from "unknown".
var allShared = func() []string {
	out := make([]string, len(thenKeys))
	for i, k := range thenKeys {
		out[i] = k.name
	}
	return out
}()

// PointSpec is one decision point of a provider.
type PointSpec struct {
	Name string
	Kind PointKind
	Help string
	// Fields are the attributes `when` may test at this point.
	Fields map[string]FieldType
	// Outcomes are the values `outcome` accepts; none means the point takes
	// no outcome. The first is the default.
	Outcomes []string
	// Error decodes the point's `error` (the provider's envelope fields plus
	// the common http_status); nil means the point takes no error.
	Error *KeySpec
	// Extra are the provider's own `then` keys at this point.
	Extra map[string]KeySpec
	// Shared, when not nil, narrows the shared `then` keys the point takes
	// (by default every key of its Kind).
	Shared []string
}

// ProviderSpec is a provider's vocabulary.
type ProviderSpec struct {
	Name   string
	Points []PointSpec
}

// Point returns the named point.
func (p *ProviderSpec) Point(name string) (*PointSpec, bool) {
	for i := range p.Points {
		if p.Points[i].Name == name {
			return &p.Points[i], true
		}
	}
	return nil, false
}

// PointNames lists the provider's decision points in registration order.
func (p *ProviderSpec) PointNames() []string {
	out := make([]string, len(p.Points))
	for i, pt := range p.Points {
		out[i] = pt.Name
	}
	return out
}

// Registry holds the vocabularies the loader checks against.
type Registry struct {
	mu        sync.RWMutex
	providers map[string]*ProviderSpec
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{providers: map[string]*ProviderSpec{}} }

// Default is the registry the provider packages register into from their
// init functions, the way database/sql drivers do: the vocabulary is static
// data, and `sandbox scenarios check` needs it without starting a server.
var Default = NewRegistry()

// Register adds a provider's vocabulary to Default.
func Register(p ProviderSpec) { Default.Register(p) }

// Register adds (or replaces) a provider's vocabulary.
func (r *Registry) Register(p ProviderSpec) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cp := p
	r.providers[p.Name] = &cp
}

// Provider returns a registered vocabulary.
func (r *Registry) Provider(name string) (*ProviderSpec, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, ok := r.providers[name]
	return p, ok
}

// Names lists the registered providers, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.providers))
	for n := range r.providers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// KeySpec decodes one provider-specific `then` key strictly.
type KeySpec struct {
	Help   string
	decode func(n *yaml.Node) (any, []problem)
}

// Validator is implemented by key types that check their own values after
// decoding (e.g. "outcome must be done or failed").
type Validator interface{ Validate() error }

// Key returns the KeySpec of a key whose value decodes into T. Decoding is
// strict: unknown keys inside T, wrong kinds of value and bad durations are
// load errors with line numbers. A T (or *T) implementing Validator is
// validated after decoding.
func Key[T any](help string) KeySpec {
	return KeySpec{Help: help, decode: func(n *yaml.Node) (any, []problem) {
		var v T
		if probs := strictCheck(n, reflect.TypeFor[T](), ""); len(probs) > 0 {
			return nil, probs
		}
		if err := n.Decode(&v); err != nil {
			return nil, []problem{{line: n.Line, msg: cleanYAMLError(err)}}
		}
		var val any = &v
		if vv, ok := val.(Validator); ok {
			if err := vv.Validate(); err != nil {
				return nil, []problem{{line: n.Line, msg: err.Error()}}
			}
		} else if vv, ok := any(v).(Validator); ok {
			if err := vv.Validate(); err != nil {
				return nil, []problem{{line: n.Line, msg: err.Error()}}
			}
		}
		return v, nil
	}}
}

var (
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	durationType    = reflect.TypeFor[time.Duration]()
)

// strictCheck walks n against t and reports unknown mapping keys and kind
// mismatches with their lines and key paths. yaml.v3's own KnownFields is
// lost inside Node.Decode (go-yaml issue #460), hence this walk.
func strictCheck(n *yaml.Node, t reflect.Type, path string) []problem {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	at := func(msg string) string {
		if path == "" {
			return msg
		}
		return path + ": " + msg
	}
	if t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) {
		// The type checks its own text: decode it here so that its
		// complaint carries this node's line and key path.
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			return []problem{{node: n, line: n.Line, msg: at(cleanYAMLError(err))}}
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		return strictCheck(n, t.Elem(), path)
	case reflect.Interface:
		return nil
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
				return nil
			}
			return []problem{{node: n, line: n.Line, msg: at(fmt.Sprintf("expected a mapping with keys %s, got %s", strings.Join(structKeys(t), ", "), describeNode(n)))}}
		}
		var probs []problem
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			f, ok := fieldByKey(t, k.Value)
			if !ok {
				probs = append(probs, problem{line: k.Line, msg: at(unknownKey(k.Value, structKeys(t)))})
				continue
			}
			probs = append(probs, strictCheck(v, f.Type, joinPath(path, k.Value))...)
		}
		return probs
	case reflect.Slice, reflect.Array:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil
		}
		if n.Kind != yaml.SequenceNode {
			return []problem{{node: n, line: n.Line, msg: at("expected a list, got " + describeNode(n))}}
		}
		var probs []problem
		for i, item := range n.Content {
			probs = append(probs, strictCheck(item, t.Elem(), path+"["+strconv.Itoa(i)+"]")...)
		}
		return probs
	case reflect.Map:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil
		}
		if n.Kind != yaml.MappingNode {
			return []problem{{node: n, line: n.Line, msg: at("expected a mapping, got " + describeNode(n))}}
		}
		var probs []problem
		for i := 0; i+1 < len(n.Content); i += 2 {
			probs = append(probs, strictCheck(n.Content[i+1], t.Elem(), joinPath(path, n.Content[i].Value))...)
		}
		return probs
	default:
		if n.Kind != yaml.ScalarNode {
			want := t.Kind().String()
			if t == durationType {
				want = "a duration such as 2s"
			}
			return []problem{{node: n, line: n.Line, msg: at(fmt.Sprintf("expected %s, got %s", want, describeNode(n)))}}
		}
		if t == durationType {
			if _, err := parseDuration(n.Value); err != nil {
				return []problem{{node: n, line: n.Line, msg: at(err.Error())}}
			}
			return nil
		}
		if n.Tag == "!!null" {
			return nil
		}
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			return []problem{{node: n, line: n.Line, msg: at(fmt.Sprintf("expected %s, got %s", scalarWant(t), describeNode(n)))}}
		}
		return nil
	}
}

// scalarWant names what a scalar of type t looks like, for messages.
func scalarWant(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number (unquoted)"
	case reflect.Float32, reflect.Float64:
		return "a number (unquoted)"
	case reflect.Bool:
		return "true or false"
	}
	return t.Kind().String()
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// StrictDecode decodes n into out (a pointer), first checking every mapping
// key against out's yaml tags and every value's kind; problems name file,
// line and key path, all of them at once. It is the strict loading the
// scenario files get, offered to the configuration loader.
func StrictDecode(file string, n *yaml.Node, out any) []Problem {
	var probs []problem
	probs = strictCheck(n, reflect.TypeOf(out).Elem(), "")
	if len(probs) == 0 {
		if err := n.Decode(out); err != nil {
			probs = append(probs, problem{line: n.Line, msg: cleanYAMLError(err)})
		}
	} else {
		// Decode the rest: each bad value becomes null (it keeps its line)
		// so that the caller's own checks can report further problems.
		for _, p := range probs {
			if p.node != nil && p.node != n {
				*p.node = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: p.node.Line, Column: p.node.Column}
			}
		}
		_ = n.Decode(out)
	}
	out2 := make([]Problem, len(probs))
	for i, p := range probs {
		out2[i] = Problem{File: file, Line: p.line, Msg: p.msg}
	}
	return out2
}

func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if yamlName(f) == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func yamlName(f reflect.StructField) string {
	tag := f.Tag.Get("yaml")
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}

func structKeys(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.IsExported() && yamlName(f) != "-" {
			out = append(out, yamlName(f))
		}
	}
	return out
}

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "an unexpected value"
}

func unknownKey(key string, known []string) string {
	msg := fmt.Sprintf("unknown key %q", key)
	if s := suggest(key, known); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	if len(known) > 0 {
		msg += "; expected one of " + strings.Join(known, ", ")
	}
	return msg
}

// suggest returns the known word closest to w, if it is close enough to be
// a typo (at most one edit for short words, two from four letters on).
func suggest(w string, known []string) string {
	limit := 1
	if len(w) >= 4 {
		limit = 2
	}
	best, bestD := "", limit+1
	for _, k := range known {
		if d := editDistance(strings.ToLower(w), strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the optimal-string-alignment distance: insertions,
// deletions, substitutions and transpositions of neighbours ("dealy").
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }
