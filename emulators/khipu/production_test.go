package khipu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// Production shapes (issue 11): testdata/production/*.json are written by
// hand from recorded production responses, never regenerated from the
// sandbox (unlike testdata/golden). Each holds a "shape": the payment
// object's keys, each with either the exact JSON value production shows
// (an empty-string default, a fixed status, false, []) or "~regex", a
// string matching the regular expression (ids, URLs, dates, amounts).

// productionShape is one file of testdata/production.
type productionShape struct {
	Source string                     `json:"source"`
	Shape  map[string]json.RawMessage `json:"shape"`
}

func loadShape(t testing.TB, name string) productionShape {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "production", name))
	if err != nil {
		t.Fatal(err)
	}
	var s productionShape
	if err := json.Unmarshal(b, &s); err != nil || len(s.Shape) == 0 || s.Source == "" {
		t.Fatalf("%s: %v (want source and shape)", name, err)
	}
	return s
}

// shapeDrift lists how body differs from the shape: missing and extra
// keys, values of another JSON type, and values that differ from the
// literal or do not match the pattern. Numbers are compared as text.
func shapeDrift(shape map[string]json.RawMessage, body []byte) []string {
	var got map[string]json.RawMessage
	if err := json.Unmarshal(body, &got); err != nil {
		return []string{"not a JSON object: " + err.Error()}
	}
	var drift []string
	for key := range shape {
		if _, ok := got[key]; !ok {
			drift = append(drift, "missing key "+key)
		}
	}
	for key := range got {
		if _, ok := shape[key]; !ok {
			drift = append(drift, "extra key "+key)
		}
	}
	for key, want := range shape {
		g, ok := got[key]
		if !ok {
			continue
		}
		var wantStr string
		if json.Unmarshal(want, &wantStr) == nil && strings.HasPrefix(wantStr, "~") {
			var gotStr string
			if err := json.Unmarshal(g, &gotStr); err != nil {
				drift = append(drift, fmt.Sprintf("%s: %s is not a string (want one matching %s)", key, g, wantStr[1:]))
				continue
			}
			if !regexp.MustCompile(wantStr[1:]).MatchString(gotStr) {
				drift = append(drift, fmt.Sprintf("%s: %q does not match %s", key, gotStr, wantStr[1:]))
			}
			continue
		}
		if !reflect.DeepEqual(decodeRaw(want), decodeRaw(g)) {
			drift = append(drift, fmt.Sprintf("%s: %s, want %s", key, g, want))
		}
	}
	slices.Sort(drift)
	return drift
}

// decodeRaw decodes a JSON value keeping numbers as their text.
func decodeRaw(b []byte) any {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return "invalid JSON " + string(b)
	}
	return v
}

func checkShape(t *testing.T, name string, body []byte) {
	t.Helper()
	s := loadShape(t, name)
	if drift := shapeDrift(s.Shape, body); len(drift) > 0 {
		t.Errorf("%s drifts from the production shape (%s):\n  %s\nbody: %s", name, s.Source, strings.Join(drift, "\n  "), body)
	}
}

// TestProductionShapes renders one payment pending, done and fully
// refunded through API 2.0 and 3.0 and holds every answer to its
// production shape. The payment gives none of the optional strings, as in
// the pending recording, so every empty-string default shows.
func TestProductionShapes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newKEnv(t)
		id := k.createV2(url.Values{"subject": {"Compra"}, "currency": {"CLP"}, "amount": {"1570"}})
		get := func(v3 bool) []byte {
			if v3 {
				return k.v3("GET", "/khipu/v3/payments/"+id, "").Body.Bytes()
			}
			return k.v2("GET", "/khipu/api/2.0/payments/"+id, nil).Body.Bytes()
		}
		checkShape(t, "v2_pending.json", get(false))
		checkShape(t, "v3_pending.json", get(true))

		if _, err := k.svc.Act(t.Context(), id, "pay", []byte(`{"email":"pagador@example.com"}`)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second) // verify.simplified_delay
		k.advance(0)
		checkShape(t, "v2_done.json", get(false))
		checkShape(t, "v3_done.json", get(true))
		// The notification-token route answers the same object.
		checkShape(t, "v2_done.json", k.v2("GET", "/khipu/api/2.0/payments", url.Values{"notification_token": {k.stored(id).Token}}).Body.Bytes())

		wantBody(t, k.v3("POST", "/khipu/v3/payments/"+id+"/refunds", ""), 200, `{"message":"Reembolso realizado"}`)
		checkShape(t, "v2_refunded.json", get(false))
		checkShape(t, "v3_refunded.json", get(true))
	})
}

// TestShapeCheckCatchesDrift proves the shape check fails when a key, a
// type or an empty-string default drifts.
func TestShapeCheckCatchesDrift(t *testing.T) {
	shape := loadShape(t, "v3_done.json").Shape
	good := map[string]any{}
	for key, raw := range shape {
		v := decodeRaw(raw)
		if s, ok := v.(string); ok && strings.HasPrefix(s, "~") {
			v = map[string]string{
				"payment_id": "abcdefghijkl", "payment_url": "http://x/payment/info/abcdefghijkl",
				"simplified_transfer_url": "http://x/payment/simplified/abcdefghijkl", "transfer_url": "http://x/payment/manual/abcdefghijkl",
				"app_url": "khipu:///pos/abcdefghijkl", "notification_token": strings.Repeat("ab", 32), "subject": "x",
				"amount": "3.0000", "expires_date": "2025-05-10T18:19:29.309Z", "conciliation_date": "2025-05-09T18:20:28.884Z",
				"receipt_url": "https://x/r.pdf", "payer_name": "Cobrador de desarrollo #497.684", "payer_email": "a@b.cl",
				"personal_identifier": "16.142.874-4", "bank_account_number": "969279012013",
			}[key]
		}
		good[key] = v
	}
	encode := func(m map[string]any) []byte {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if drift := shapeDrift(shape, encode(good)); len(drift) > 0 {
		t.Fatalf("the recorded values drift: %q", drift)
	}
	for _, tt := range []struct {
		name   string
		change func(m map[string]any)
		want   string
	}{
		{"key removed", func(m map[string]any) { delete(m, "funds_source") }, "missing key funds_source"},
		{"key added", func(m map[string]any) { m["bank_name"] = "" }, "extra key bank_name"},
		{"amount as number", func(m map[string]any) { m["amount"] = 3 }, "amount: 3 is not a string"},
		{"amount with 2 decimals", func(m map[string]any) { m["amount"] = "3.00" }, `amount: "3.00" does not match`},
		{"empty string as null", func(m map[string]any) { m["custom"] = nil }, "custom: null"},
		{"empty default filled", func(m map[string]any) { m["notify_url"] = "http://x" }, `notify_url: "http://x"`},
		{"bool as string", func(m map[string]any) { m["out_of_date_conciliation"] = "false" }, `out_of_date_conciliation: "false"`},
		{"id as string", func(m map[string]any) { m["receiver_id"] = "123456" }, `receiver_id: "123456"`},
		{"date without millis", func(m map[string]any) { m["conciliation_date"] = "2025-05-09T18:20:28Z" }, "conciliation_date"},
		{"attachments null", func(m map[string]any) { m["attachment_urls"] = nil }, "attachment_urls: null"},
		{"method empty", func(m map[string]any) { m["payment_method"] = "" }, `payment_method: ""`},
	} {
		m := maps.Clone(good)
		tt.change(m)
		drift := shapeDrift(shape, encode(m))
		if len(drift) != 1 || !strings.Contains(drift[0], tt.want) {
			t.Errorf("%s: drift %q, want one mentioning %s", tt.name, drift, tt.want)
		}
	}
}
