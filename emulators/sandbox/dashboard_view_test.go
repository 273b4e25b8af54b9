package sandbox

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/paysandbox/sandbox/emulators/internal/admin"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
)

func TestAge(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"}, {999 * time.Millisecond, "0s"}, {59 * time.Second, "59s"}, {61 * time.Second, "1m 1s"},
		{10*time.Minute + 5*time.Second, "10m"}, {2 * time.Hour, "2h"}, {2*time.Hour + 5*time.Minute, "2h 5m"},
		{49 * time.Hour, "2d 1h"}, {72 * time.Hour, "3d"}, {-90 * time.Second, "in 1m 30s"},
	}
	for _, tt := range tests {
		if got := age(now.Add(-tt.d), now); got != tt.want {
			t.Errorf("age(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
	if age(time.Time{}, now) != "" {
		t.Error("a zero time has an age")
	}
}

func TestTone(t *testing.T) {
	for status, want := range map[string]string{
		"done/normal": "ok", "Payment success": "ok", "APPROVED": "ok", "CAPTURED": "ok", "acknowledged": "ok", "ok": "ok",
		"pending": "wait", "verifying": "wait", "IN_PROGRESS": "wait", "Accepted": "wait", "Awaiting Payment": "wait", "tolerated": "wait",
		"DECLINED": "bad", "Failed": "bad", "Bank rejection": "bad", "EXPIRED": "bad", "gave_up": "bad", "rejected": "bad", "done/reversed": "bad",
		"active": "", "": "",
	} {
		if got := tone(status); got != want {
			t.Errorf("tone(%q) = %q, want %q", status, got, want)
		}
	}
}

func TestSigCompare(t *testing.T) {
	tests := []struct{ received, expected, want string }{
		{"", "abc", ""},
		{"abcdef", "abcdef", "equals the expected one."},
		{"ABCDEF", "abcdef", "except for letter case"},
		{"123456:abcdef", "abcdef", "equals the expected one."},
		{"123456:ABCDEF", "abcdef", "except for letter case"},
		{"q83vEjRW", "abcdef", "has 8 characters, the expected one 6"},
		{"abcdeg", "abcdef", "another string, or used another key"},
	}
	for _, tt := range tests {
		if got := sigCompare(tt.received, tt.expected); !strings.Contains(got, tt.want) || (tt.want == "") != (got == "") {
			t.Errorf("sigCompare(%q, %q) = %q, want …%s…", tt.received, tt.expected, got, tt.want)
		}
	}
}

func TestFormFieldsAndBodies(t *testing.T) {
	form := map[string][]string{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}
	got := formFields(form, "subject=Compra+de+prueba&amount=1570&subject=again&x=%ZZ")
	if got != nil {
		t.Errorf("a malformed form decoded: %v", got)
	}
	got = formFields(form, "subject=Compra+de+prueba&amount=1570&body=l%C3%ADnea")
	want := []formField{{"subject", "Compra de prueba"}, {"amount", "1570"}, {"body", "línea"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("formFields = %v", got)
	}
	if formFields(form, `{"a":1}`) != nil || formFields(map[string][]string{"Content-Type": {"application/json"}}, "a=1") != nil {
		t.Error("a JSON body was shown as a form")
	}
	if got := prettyBody(`{"a":[1,2]}`); got != "{\n  \"a\": [\n    1,\n    2\n  ]\n}" {
		t.Errorf("prettyBody = %q", got)
	}
	if got := prettyBody("a=1"); got != "a=1" {
		t.Errorf("prettyBody changed a form: %q", got)
	}
	if got := visible("a\tb\nc\x01\u00e9"); got != `a\tb\nc\x01é` {
		t.Errorf("visible = %q", got)
	}
	if got := trunc(4, "ñandú"); got != "ñan… (3 B more)" {
		t.Errorf("trunc = %q", got)
	}
}

func TestActionParams(t *testing.T) {
	spec := []admin.Param{
		{Name: "outcome", Type: "enum", Options: []string{"approve"}, Optional: true},
		{Name: "amount", Type: "decimal", Optional: true},
		{Name: "skip_verify", Type: "bool", Optional: true},
		{Name: "strict", Type: "bool"},
		{Name: "currency", Type: "enum"},
		{Name: "note", Type: "string"},
	}
	got := actionParams(spec, url.Values{"outcome": {"approve"}, "amount": {" "}, "skip_verify": {"on"}, "currency": {"CLP"}, "ignored": {"x"}})
	want := map[string]any{"outcome": "approve", "skip_verify": true, "strict": false, "currency": "CLP", "note": ""}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("actionParams = %v, want %v", got, want)
	}
}

// TestNoRepeatedWords: a callback row's summary does not end with the
// outcome its badge shows, and a reason does not repeat the outcome.
func TestNoRepeatedWords(t *testing.T) {
	e := journal.Entry{Summary: "payment attempt 1 → HTTP 200, acknowledged",
		Callback: &journal.Attempt{Outcome: "acknowledged"}}
	if got := entrySummary(e); got != "payment attempt 1 → HTTP 200" {
		t.Errorf("summary = %q", got)
	}
	e = journal.Entry{Summary: "payment http://m/ → superseded", Callback: &journal.Attempt{Outcome: "superseded"}}
	if got := entrySummary(e); got != "payment http://m/" {
		t.Errorf("summary = %q", got)
	}
	if got := entrySummary(journal.Entry{Summary: "POST /payments"}); got != "POST /payments" {
		t.Errorf("a request's summary changed: %q", got)
	}
	tests := []struct{ outcome, reason, want string }{
		{"superseded", "superseded by cb12", "by cb12"},
		{"acknowledged", "acknowledged", ""},
		{"cancelled", "reset", "reset"},
	}
	for _, tt := range tests {
		if got := outcomeReason(tt.outcome, tt.reason); got != tt.want {
			t.Errorf("reason(%q, %q) = %q, want %q", tt.outcome, tt.reason, got, tt.want)
		}
	}
}
