package scenarios

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/paysandbox/sandbox/emulators"
)

// MaxFileSize bounds a scenario file (uploads included).
const MaxFileSize = 1 << 20

// Limits of regex conditions (issue #13). Go's regular expressions run in
// time proportional to pattern size × text length: a pattern is at most
// MaxRegex bytes, and a field is matched on its first
// MaxRegexWork/len(pattern) bytes only (64 KiB for a 16-byte pattern), so
// one decision costs a bounded amount whatever the request carries.
const (
	MaxRegex     = 512
	MaxRegexWork = 1 << 20
)

// Problem is one thing wrong with a scenario file.
type Problem struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Rule string `json:"rule,omitempty"` // the rule's label, "" for file-level problems
	Msg  string `json:"message"`
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteString(":" + strconv.Itoa(p.Line))
	}
	b.WriteString(": ")
	if p.Rule != "" {
		b.WriteString(p.Rule + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// LoadError lists every problem found in one file.
type LoadError struct{ Problems []Problem }

func (e *LoadError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Problems returns the problems of a Load error (nil for other errors).
func Problems(err error) []Problem {
	if le, ok := errors.AsType[*LoadError](err); ok {
		return le.Problems
	}
	return nil
}

type problem struct {
	line int
	msg  string
	node *yaml.Node // the bad value, when there is one
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// Load parses and checks one scenario file against the registry. file names
// the source in messages; its base name (without extension) is the
// scenario's name when the file has no `name`. Every problem is reported at
// once in a *LoadError.
func Load(file string, data []byte, reg *Registry) (*Scenario, error) {
	l := &loader{file: file, reg: reg}
	s := l.load(data)
	if len(l.probs) > 0 {
		slices.SortStableFunc(l.probs, func(a, b Problem) int { return a.Line - b.Line })
		return nil, &LoadError{Problems: l.probs}
	}
	s.Source = file
	s.YAML = append([]byte(nil), data...)
	s.points = map[string]bool{}
	for _, r := range s.Rules {
		s.points[r.Provider+" "+r.On] = true
	}
	return s, nil
}

type loader struct {
	file  string
	reg   *Registry
	probs []Problem
	rule  string
}

func (l *loader) errorf(line int, format string, args ...any) {
	l.probs = append(l.probs, Problem{File: l.file, Line: line, Rule: l.rule, Msg: fmt.Sprintf(format, args...)})
}

func (l *loader) add(ps []problem) {
	for _, p := range ps {
		l.errorf(p.line, "%s", p.msg)
	}
}

func (l *loader) load(data []byte) *Scenario {
	s := &Scenario{}
	if len(data) > MaxFileSize {
		l.errorf(0, "file is larger than %d bytes", MaxFileSize)
		return s
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := SyntaxError(data, err)
		l.errorf(line, "%s", msg)
		return s
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		l.errorf(0, "empty file: expected a mapping with name, description and rules")
		return s
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		l.errorf(root.Line, "expected a mapping with name, description and rules, got %s", describeNode(root))
		return s
	}
	var rulesNode *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "name":
			s.Name = l.str(v, "name")
			if s.Name != "" && !nameRE.MatchString(s.Name) {
				l.errorf(v.Line, "name %q: use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit", s.Name)
			}
		case "description":
			s.Description = l.str(v, "description")
		case "rules":
			rulesNode = v
		case "replace":
			if v.Kind != yaml.ScalarNode || (v.Value != "true" && v.Value != "false") {
				l.errorf(v.Line, "replace: expected true or false")
			}
			s.Replace = v.Value == "true"
		default:
			l.errorf(k.Line, "%s", unknownKey(k.Value, []string{"name", "description", "rules", "replace"}))
		}
	}
	if s.Name == "" {
		s.namedAfterFile = true
		base := filepath.Base(l.file)
		s.Name = strings.TrimSuffix(strings.TrimSuffix(base, filepath.Ext(base)), ".scenario")
		if !nameRE.MatchString(s.Name) {
			l.errorf(root.Line, "no name given and the file name %q is not a valid scenario name", base)
		}
	}
	if rulesNode == nil {
		return s
	}
	if rulesNode.Kind == yaml.ScalarNode && rulesNode.Tag == "!!null" {
		return s
	}
	if rulesNode.Kind != yaml.SequenceNode {
		l.errorf(rulesNode.Line, "rules: expected a list of rules, got %s", describeNode(rulesNode))
		return s
	}
	for i, rn := range rulesNode.Content {
		s.Rules = append(s.Rules, l.loadRule(i, rn))
	}
	l.rule = ""
	return s
}

func (l *loader) str(n *yaml.Node, key string) string {
	if n.Kind != yaml.ScalarNode {
		l.errorf(n.Line, "%s: expected text, got %s", key, describeNode(n))
		return ""
	}
	return n.Value
}

func (l *loader) loadRule(i int, n *yaml.Node) Rule {
	r := Rule{Index: i, Line: n.Line}
	l.rule = r.Label()
	if n.Kind != yaml.MappingNode {
		l.errorf(n.Line, "expected a rule (a mapping with provider, on, when, then), got %s", describeNode(n))
		return r
	}
	keys := map[string]*yaml.Node{}
	for j := 0; j+1 < len(n.Content); j += 2 {
		k, v := n.Content[j], n.Content[j+1]
		if k.Value == "name" {
			r.Name = l.str(v, "name")
			l.rule = r.Label()
		}
		keys[k.Value] = v
	}
	for j := 0; j+1 < len(n.Content); j += 2 {
		k := n.Content[j]
		switch k.Value {
		case "name", "provider", "on", "when", "then", "times", "probability":
		default:
			l.errorf(k.Line, "%s", unknownKey(k.Value, []string{"name", "provider", "on", "when", "then", "times", "probability"}))
		}
	}
	var prov *ProviderSpec
	if v, ok := keys["provider"]; !ok {
		l.errorf(n.Line, "missing provider (one of %s)", strings.Join(l.reg.Names(), ", "))
	} else if r.Provider = l.str(v, "provider"); r.Provider != "" {
		if p, ok := l.reg.Provider(r.Provider); ok {
			prov = p
		} else {
			msg := fmt.Sprintf("unknown provider %q; known: %s", r.Provider, strings.Join(l.reg.Names(), ", "))
			if s := suggest(r.Provider, l.reg.Names()); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			l.errorf(v.Line, "%s", msg)
		}
	}
	var pt *PointSpec
	if v, ok := keys["on"]; !ok {
		l.errorf(n.Line, "missing on (the decision point)")
	} else if r.On = l.str(v, "on"); r.On != "" && prov != nil {
		if p, ok := prov.Point(r.On); ok {
			pt = p
		} else {
			msg := fmt.Sprintf("unknown decision point %q for %s; known: %s", r.On, prov.Name, strings.Join(prov.PointNames(), ", "))
			if s := suggest(r.On, prov.PointNames()); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			l.errorf(v.Line, "%s", msg)
		}
	}
	if v, ok := keys["times"]; ok {
		r.Times, _ = l.whole(v, "times", 1, 1<<31-1)
	}
	if v, ok := keys["probability"]; ok {
		p, err := strconv.ParseFloat(v.Value, 64)
		if !isNumber(v) || err != nil || p <= 0 || p > 1 {
			l.errorf(v.Line, "probability: expected a number with 0 < p ≤ 1, got %s", describeNode(v))
		} else {
			r.Probability = &p
		}
	}
	if pt == nil {
		return r // nothing to check when and then against
	}
	if v, ok := keys["when"]; ok {
		r.When = l.loadWhen(v, prov, pt)
	}
	if v, ok := keys["then"]; ok {
		r.Then = l.loadThen(v, prov, pt)
	} else {
		l.errorf(n.Line, "missing then (what the rule does)")
	}
	return r
}

var ops = []string{"eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "prefix", "suffix", "regex"}

func (l *loader) loadWhen(n *yaml.Node, prov *ProviderSpec, pt *PointSpec) []Condition {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		l.errorf(n.Line, "when: expected a mapping of field: value or field: {operator: value}, got %s", describeNode(n))
		return nil
	}
	fields := sortedKeys(pt.Fields)
	var out []Condition
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		typ, ok := pt.Fields[k.Value]
		if !ok {
			msg := fmt.Sprintf("when: unknown field %q at %s %s", k.Value, prov.Name, pt.Name)
			if s := suggest(k.Value, fields); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			msg += "; fields: " + strings.Join(fields, ", ")
			l.errorf(k.Line, "%s", msg)
			continue
		}
		switch v.Kind {
		case yaml.ScalarNode:
			if c, ok := l.condition(k.Value, typ, "eq", v); ok {
				out = append(out, c)
			}
		case yaml.MappingNode:
			if len(v.Content) == 0 {
				l.errorf(v.Line, "when.%s: empty condition", k.Value)
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				op, val := v.Content[j], v.Content[j+1]
				if !contains(ops, op.Value) {
					msg := fmt.Sprintf("when.%s: unknown operator %q", k.Value, op.Value)
					if s := suggest(op.Value, ops); s != "" {
						msg += fmt.Sprintf(" (did you mean %q?)", s)
					}
					l.errorf(op.Line, "%s; operators: %s", msg, strings.Join(ops, ", "))
					continue
				}
				if c, ok := l.condition(k.Value, typ, op.Value, val); ok {
					out = append(out, c)
				}
			}
		default:
			l.errorf(v.Line, "when.%s: expected a value or {operator: value}, got %s (for a list write {in: [...]})", k.Value, describeNode(v))
		}
	}
	return out
}

func (l *loader) condition(field string, typ FieldType, op string, v *yaml.Node) (Condition, bool) {
	c := Condition{Field: field, Op: op, Type: typ}
	where := "when." + field + "." + op
	if op == "in" {
		if v.Kind != yaml.SequenceNode {
			l.errorf(v.Line, "%s: expected a list, got %s", where, describeNode(v))
			return c, false
		}
		for _, item := range v.Content {
			if item.Kind != yaml.ScalarNode {
				l.errorf(item.Line, "%s: expected plain values in the list, got %s", where, describeNode(item))
				return c, false
			}
			c.Values = append(c.Values, item.Value)
		}
	} else {
		if v.Kind != yaml.ScalarNode {
			l.errorf(v.Line, "%s: expected a plain value, got %s", where, describeNode(v))
			return c, false
		}
		c.Values = []string{v.Value}
	}
	switch op {
	case "gt", "gte", "lt", "lte":
		if typ != Decimal {
			l.errorf(v.Line, "%s: %s compares numbers, but %s is a %s field", where, op, field, typ)
			return c, false
		}
	case "contains", "prefix", "suffix", "regex":
		if typ == Bool {
			l.errorf(v.Line, "%s: %s needs a text field, but %s is a bool field", where, op, field)
			return c, false
		}
	}
	if typ == Decimal && (op == "eq" || op == "ne" || op == "in" || op == "gt" || op == "gte" || op == "lt" || op == "lte") {
		for _, s := range c.Values {
			d, err := emulators.ParseDecimal(strings.TrimSpace(s))
			if err != nil {
				l.errorf(v.Line, "%s: %q is not a decimal number (write 1500 or 1500.50)", where, s)
				return c, false
			}
			c.decimals = append(c.decimals, d)
		}
	}
	if typ == Bool && (op == "eq" || op == "ne" || op == "in") {
		for i, s := range c.Values {
			b, err := strconv.ParseBool(s)
			if err != nil {
				l.errorf(v.Line, "%s: %q is not true or false", where, s)
				return c, false
			}
			c.Values[i] = strconv.FormatBool(b)
		}
	}
	if op == "regex" {
		if len(c.Values[0]) > MaxRegex {
			l.errorf(v.Line, "%s: the regular expression is %d bytes; at most %d", where, len(c.Values[0]), MaxRegex)
			return c, false
		}
		re, err := regexp.Compile(c.Values[0])
		if err != nil {
			l.errorf(v.Line, "%s: bad regular expression: %v", where, err)
			return c, false
		}
		c.re = re
	}
	return c, true
}

func (l *loader) loadThen(n *yaml.Node, prov *ProviderSpec, pt *PointSpec) Then {
	var t Then
	if n.Kind != yaml.MappingNode {
		l.errorf(n.Line, "then: expected a mapping, got %s", describeNode(n))
		return t
	}
	keys := pt.thenKeys()
	c := &thenCtx{t: &t, prov: prov, pt: pt}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if j := slices.IndexFunc(keys, func(tk thenKey) bool { return tk.name == k.Value }); j >= 0 {
			keys[j].load(l, v, c)
			continue
		}
		allowed := keyNames(keys)
		slices.Sort(allowed)
		if contains(allShared, k.Value) {
			l.errorf(k.Line, "then: %q is not allowed at %s %s (a %s point); allowed: %s", k.Value, prov.Name, pt.Name, pt.Kind, strings.Join(allowed, ", "))
		} else {
			l.errorf(k.Line, "then: %s", unknownKey(k.Value, allowed))
		}
	}
	if c.errNode != nil && c.faultNd != nil {
		l.errorf(c.faultNd.Line, "then: error and fault exclude each other (one answers with an error, the other breaks the connection)")
	}
	if t.Auto && pt.Kind != PayerPoint {
		l.errorf(n.Line, "then.auto: only payer points take a robot payer")
	}
	return t
}

func (l *loader) duration(n *yaml.Node, where string) (time.Duration, bool) {
	if n.Kind != yaml.ScalarNode {
		l.errorf(n.Line, "%s: expected a duration such as 2s or 1500ms, got %s", where, describeNode(n))
		return 0, false
	}
	d, err := parseDuration(n.Value)
	if err != nil {
		l.errorf(n.Line, "%s: %v", where, err)
		return 0, false
	}
	return d, true
}

// whole reads a YAML integer in [lo, hi]. A quoted number ("3") is text,
// not a number, and is refused like any other text: the scenario would
// otherwise mean something else to a YAML-aware reader than to the sandbox.
func (l *loader) whole(n *yaml.Node, where string, lo, hi int) (int, bool) {
	v, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil || v < lo || v > hi {
		rng := fmt.Sprintf("from %d to %d", lo, hi)
		if hi == 1<<31-1 {
			rng = fmt.Sprintf("≥ %d", lo)
		}
		got := describeNode(n)
		if n.Kind == yaml.ScalarNode && n.Tag == "!!str" && err == nil {
			got += " (quoted: text, not a number; write it without quotes)"
		}
		l.errorf(n.Line, "%s: expected a whole number %s, got %s", where, rng, got)
		return 0, false
	}
	return v, true
}

// isNumber reports whether n is an unquoted YAML number.
func isNumber(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float")
}

func (l *loader) boolean(n *yaml.Node, where string) bool {
	if n.Kind == yaml.ScalarNode {
		switch n.Value {
		case "true":
			return true
		case "false":
			return false
		}
	}
	l.errorf(n.Line, "%s: expected true or false, got %s", where, describeNode(n))
	return false
}

// parseDuration accepts Go duration text with a unit ("2s", "1m30s",
// "1500ms") and rejects bare numbers and negative values.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return 0, fmt.Errorf("bad duration %q: write a unit, e.g. %ss or %sms", s, s, s)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q: write e.g. 2s, 1500ms or 1m30s", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("bad duration %q: must not be negative", s)
	}
	return d, nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// SyntaxError turns yaml.v3's syntax error about data into a line and a
// message. yaml.v3 reports a tab that breaks the indentation on the line
// where the enclosing block starts; the line given here is the tab's.
func SyntaxError(data []byte, err error) (int, string) {
	msg := err.Error()
	m := yamlLineRE.FindStringSubmatch(msg)
	if m == nil {
		return 0, "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")
	}
	n, _ := strconv.Atoi(m[1])
	if strings.Contains(m[2], "tab character") || strings.Contains(m[2], "cannot start any token") {
		lines := strings.Split(string(data), "\n")
		for i := max(n-1, 0); i < len(lines); i++ {
			if indent := lines[i][:len(lines[i])-len(strings.TrimLeft(lines[i], " \t"))]; strings.Contains(indent, "\t") {
				return i + 1, "YAML syntax: a tab in the indentation (indent with spaces)"
			}
		}
	}
	return n, "YAML syntax: " + m[2]
}

var yamlInnerLineRE = regexp.MustCompile(`(^|; )line \d+: `)

// cleanYAMLError turns yaml.v3's decoding error into one message without
// the library's own "yaml:" and "line N:" prefixes (the caller names the
// file and line once).
func cleanYAMLError(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: unmarshal errors:\n  ")
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = strings.ReplaceAll(msg, "\n  ", "; ")
	return yamlInnerLineRE.ReplaceAllString(msg, "$1")
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return sortedStrings(out)
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	slices.Sort(out)
	return out
}
