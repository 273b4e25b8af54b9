package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"mime"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paysandbox/sandbox/emulators/internal/admin"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
)

// pageFuncs are the helpers the dashboard and demo templates use.
var pageFuncs = template.FuncMap{
	"summary":    entrySummary,
	"reason":     outcomeReason,
	"age":        age,
	"ts":         func(t time.Time) string { return fmtTime(t, "15:04:05.000") },
	"datetime":   func(t time.Time) string { return fmtTime(t, "2006-01-02 15:04:05.000 MST") },
	"iso":        func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) },
	"schedLabel": schedLabel,
	"tone":       tone,
	"objectURL":  objectURL,
	"entryURL":   entryURL,
	"trunc":      trunc,
	"pretty":     prettyBody,
	"headerList": headerList,
	"formFields": formFields,
	"visible":    visible,
	"join":       strings.Join,
	"ms":         func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) + " ms" },
	"dur":        fmtDuration,
	"bytes":      humanSize,
	"paramID":    func(action, param string) string { return "p-" + action + "-" + param },
	"sigCompare": sigCompare,
	"hasMatch":   hasMatch,
	"providerOf": providerOf,
	"sigVerdict": sigVerdict,
	"dict":       dict,
	"long":       func(s string) bool { return len(s) > maxShown },
	"shown":      func(s string) string { return cutAt(s, maxShown) },
	"small":      func(s string) bool { return len(s) <= maxShown },
	"clp":        clp,
	"actionPath": func(p, id, a string) string { return objectURL(p, id) + "/actions/" + url.PathEscape(a) },
	"apiObjectPath": func(p, id string) string {
		return "/_sandbox/api/objects/" + url.PathEscape(p) + "/" + url.PathEscape(id)
	},
	"apiActionPath": func(p, id, a string) string {
		return "/_sandbox/api/objects/" + url.PathEscape(p) + "/" + url.PathEscape(id) + "/actions/" + url.PathEscape(a)
	},
}

// dict builds a map from alternating keys and values (for sub-templates).
func dict(kv ...any) map[string]any {
	m := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		m[k] = kv[i+1]
	}
	return m
}

func fmtTime(t time.Time, layout string) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(layout)
}

// age renders how long before now t was ("4s", "3m 10s", "2h 5m", "3d 4h"),
// or "in …" for a time ahead of now.
func age(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	if d < 0 {
		return "in " + fmtDuration(-d)
	}
	return fmtDuration(d)
}

func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return "0s"
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s"
	case d < time.Hour:
		m, s := int(d/time.Minute), int(d%time.Minute/time.Second)
		if s == 0 || m >= 10 {
			return strconv.Itoa(m) + "m"
		}
		return fmt.Sprintf("%dm %ds", m, s)
	case d < 24*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return strconv.Itoa(h) + "h"
		}
		return fmt.Sprintf("%dh %dm", h, m)
	}
	days, h := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	if h == 0 {
		return strconv.Itoa(days) + "d"
	}
	return fmt.Sprintf("%dd %dh", days, h)
}

func humanSize(n int) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.Itoa(n) + " B"
}

// tone classifies a status, an outcome or a verdict for colouring:
// ok, bad, wait or "" (neutral). The word is also shown, so colour is
// never the only signal.
func tone(s string) string {
	l := strings.ToLower(s)
	for _, w := range []string{"declin", "reject", "fail", "error", "expired", "cancel", "gave_up", "abandon", "reversed", "refunded", "mismatch"} {
		if strings.Contains(l, w) {
			return "bad"
		}
	}
	for _, w := range []string{"done", "success", "approved", "captured", "acknowledged", "paid", "normal", "authorized"} {
		if strings.Contains(l, w) {
			return "ok"
		}
	}
	if l == "ok" {
		return "ok"
	}
	for _, w := range []string{"pending", "verifying", "progress", "accepted", "awaiting", "processing", "tolerated", "new", "waiting"} {
		if strings.Contains(l, w) {
			return "wait"
		}
	}
	return ""
}

// maxShown is the most bytes of one canonical string or indented body an
// entry page shows (the journal keeps up to 16 KiB of each body): pages
// stay under 100 KB.
const maxShown = 8 << 10

// cutAt cuts s to at most n bytes on a rune boundary, without a mark.
func cutAt(s string, n int) string {
	cut, _ := journal.Truncate(s, n, false)
	return cut
}

// trunc cuts s to at most n bytes on a rune boundary, marking the cut.
func trunc(n int, s string) string {
	cut, cutShort := journal.Truncate(s, n, false)
	if !cutShort {
		return s
	}
	return cut + fmt.Sprintf("… (%s more)", humanSize(len(s)-len(cut)))
}

// visible makes a canonical string's invisible bytes visible: control
// characters become \n, \t, \r or \xNN (the real text sits beside it in a
// copy button).
func visible(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r == utf8.RuneError:
			b.WriteString(`\ufffd`)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// prettyJSON renders v indented, without HTML escaping ("" for nil).
func prettyJSON(v any) string {
	if v == nil {
		return ""
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Sprintf("%v", v)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// prettyBody indents a JSON body; other bodies are returned unchanged.
func prettyBody(body string) string {
	t := strings.TrimSpace(body)
	if len(t) == 0 || (t[0] != '{' && t[0] != '[') {
		return body
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(t), "", "  "); err != nil {
		return body
	}
	return buf.String()
}

// formField is one decoded field of a form body.
type formField struct{ Name, Value string }

// formFields decodes a form body when the headers say it is one; nil
// otherwise. The journal shows both: the raw bytes are what was signed.
func formFields(headers map[string][]string, body string) []formField {
	if t := strings.TrimSpace(body); t != "" && (t[0] == '{' || t[0] == '[' || t[0] == '<') {
		return nil
	}
	ct := headerValue(headers, "Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil
	}
	vals, err := url.ParseQuery(body)
	if err != nil {
		return nil
	}
	var out []formField
	for _, part := range strings.Split(body, "&") {
		k, _, _ := strings.Cut(part, "=")
		name, err := url.QueryUnescape(k)
		if err != nil || vals[name] == nil {
			continue
		}
		out = append(out, formField{name, vals[name][0]})
		delete(vals, name)
	}
	return out
}

func headerValue(h map[string][]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// header is one header line for display.
type header struct{ Name, Value string }

// headerList sorts a header map for display.
func headerList(h map[string][]string) []header {
	var out []header
	for k, vs := range h {
		for _, v := range vs {
			out = append(out, header{k, v})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out
}

// sigCompare explains how a received signature relates to the expected
// one. MACs share nothing when their inputs differ, so it looks for what a
// person can act on: a missing value, another case, another length
// (encoding, a prefix such as Khipu's "receiver_id:").
func sigCompare(received, expected string) string {
	got := strings.TrimSpace(received)
	if i := strings.LastIndexAny(got, ":= "); i >= 0 && len(got)-i-1 == len(expected) {
		got = got[i+1:]
	}
	switch {
	case received == "":
		return ""
	case got == expected:
		return "The received signature equals the expected one."
	case strings.EqualFold(got, expected):
		return "The received signature equals the expected one except for letter case."
	case len(got) != len(expected):
		return fmt.Sprintf("The received signature has %d characters, the expected one %d: check its encoding (hex or Base64) and what surrounds it.", len(got), len(expected))
	}
	return "Two different signatures of the same length: the client signed another string, or used another key."
}

func hasMatch(cs []journal.Candidate) bool {
	return slices.ContainsFunc(cs, func(c journal.Candidate) bool { return c.Match })
}

// sigVerdict is a request entry's signature verdict, "" when none was checked.
func sigVerdict(e journal.Entry) string {
	if e.Request == nil || e.Request.Signature == nil {
		return ""
	}
	return e.Request.Signature.Verdict
}

// providerOf is the provider whose object an entry names: the entry's own
// provider (the object page redirects when it is another's).
func providerOf(e journal.Entry) string {
	if e.Provider != "" {
		return e.Provider
	}
	return "khipu"
}

// sortObjects orders summaries newest first (stable for equal times).
func sortObjects(all []admin.Object) {
	sort.SliceStable(all, func(i, j int) bool { return all[i].CreatedAt.After(all[j].CreatedAt) })
}

// schedLabel names a scheduled item in the provider's words: a callback
// attempt is Khipu's notification, Hambit's callback, PayU's confirmation.
func schedLabel(kind, provider string) string {
	if kind == "callback_attempt" || kind == "callback_copy" {
		name := map[string]string{"khipu": "notification", "hambit": "callback", "payu": "confirmation"}[provider]
		if name == "" {
			name = "callback"
		}
		if kind == "callback_copy" {
			return name + " (duplicate copy)"
		}
		return name
	}
	return strings.ReplaceAll(kind, "_", " ")
}

// entrySummary is an entry's summary as a row shows it: a callback
// attempt's summary ends with its outcome, which the row's badge already
// shows ("… HTTP 200, acknowledged" + badge "acknowledged").
func entrySummary(e journal.Entry) string {
	if e.Callback == nil || e.Callback.Outcome == "" {
		return e.Summary
	}
	o := e.Callback.Outcome
	if s, ok := strings.CutSuffix(e.Summary, ", "+o); ok {
		return s
	}
	if s, ok := strings.CutSuffix(e.Summary, " → "+o); ok {
		return s
	}
	return e.Summary
}

// outcomeReason is a callback outcome's reason without the outcome word it
// repeats: badge "superseded" + "by cb12", not "superseded superseded by cb12".
func outcomeReason(outcome, reason string) string {
	if r, ok := strings.CutPrefix(reason, outcome+" "); ok {
		return r
	}
	if reason == outcome {
		return ""
	}
	return reason
}
