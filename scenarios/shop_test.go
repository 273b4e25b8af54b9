package scenarios_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/paysandbox/sandbox/scenarios"
)

// shopPayer is a provider-specific `then` key of the test vocabulary.
type shopPayer struct {
	Method string `yaml:"method"`
	Bank   string `yaml:"bank"`
}

func (p shopPayer) Validate() error {
	if p.Method != "" && p.Method != "simplified" && p.Method != "manual" {
		return fmt.Errorf("method %q: expected simplified or manual", p.Method)
	}
	return nil
}

type shopError struct {
	HTTPStatus int    `yaml:"http_status"`
	Message    string `yaml:"message"`
}

// shopRegistry is a test vocabulary shaped like a real provider's, so the
// engine's tests do not depend on the provider packages.
func shopRegistry() *scenarios.Registry {
	r := scenarios.NewRegistry()
	fields := map[string]scenarios.FieldType{
		"amount": scenarios.Decimal, "currency": scenarios.String, "reference": scenarios.String, "test": scenarios.Bool,
	}
	errKey := scenarios.Key[shopError]("http_status, message")
	r.Register(scenarios.ProviderSpec{Name: "shop", Points: []scenarios.PointSpec{
		{Name: "create", Kind: scenarios.RequestPoint, Fields: fields, Outcomes: []string{"approve", "decline"}, Error: &errKey},
		{Name: "pay", Kind: scenarios.PayerPoint, Fields: fields, Outcomes: []string{"approve", "decline", "abandon"},
			Extra: map[string]scenarios.KeySpec{"payer": scenarios.Key[shopPayer]("robot payer")}},
		{Name: "notify", Kind: scenarios.CallbackPoint, Fields: fields,
			Extra: map[string]scenarios.KeySpec{"corrupt": scenarios.Key[bool]("send a wrong token")}},
		{Name: "verify", Kind: scenarios.InternalPoint, Fields: fields, Outcomes: []string{"done", "failed"}},
	}})
	r.Register(scenarios.ProviderSpec{Name: "bank", Points: []scenarios.PointSpec{
		{Name: "transfer", Kind: scenarios.RequestPoint, Fields: fields, Outcomes: []string{"ok"}},
	}})
	return r
}

// TestThenKeysOfPoints: every point lists exactly the keys the loader
// takes there (shared keys of its kind, narrowed by Shared, error only with
// an Error spec, outcome only with outcomes; then its own, by name), and the
// loader takes every listed key and refuses every other shared one.
func TestThenKeysOfPoints(t *testing.T) {
	reg := shopRegistry()
	shop, _ := reg.Provider("shop")
	narrowed := scenarios.PointSpec{Name: "narrow", Kind: scenarios.RequestPoint, Shared: []string{"fault", "error", "response_delay"}}
	tests := []struct {
		pt   *scenarios.PointSpec
		want []string
	}{
		{&shop.Points[0], []string{"outcome", "delay", "response_delay", "error", "fault"}},
		{&shop.Points[1], []string{"outcome", "delay", "response_delay", "auto", "payer"}},
		{&shop.Points[2], []string{"delay", "skip", "duplicate", "bad_signature", "retry", "timeout", "fail_attempts", "corrupt"}},
		{&shop.Points[3], []string{"outcome", "delay"}},
		// Shared keeps its order; error without an Error spec is dropped.
		{&narrowed, []string{"fault", "response_delay"}},
	}
	for _, tt := range tests {
		var got []string
		for _, k := range tt.pt.ThenKeys() {
			got = append(got, k.Name)
			if k.Own != (k.Kinds == nil) || k.Doc == "" {
				t.Errorf("%s %s: %+v: own keys have no kinds, every key a doc", tt.pt.Name, k.Name, k)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: ThenKeys = %v, want %v", tt.pt.Name, got, tt.want)
		}
	}
	// The loader agrees, key by key, at the pay point.
	values := map[string]string{"outcome": "approve", "delay": "1s", "response_delay": "1s", "auto": "true", "payer": "{method: manual}",
		"error": "{message: x}", "fault": "reset", "skip": "true", "duplicate": "1", "bad_signature": "wrong", "retry": "[1s]",
		"timeout": "1s", "fail_attempts": "1"}
	for _, k := range scenarios.SharedThenKeys() {
		doc := fmt.Sprintf("rules: [{provider: shop, on: pay, then: {%s: %s}}]", k.Name, values[k.Name])
		_, err := scenarios.Load("k.yaml", []byte(doc), reg)
		if taken := slices.Contains(tests[1].want, k.Name); taken != (err == nil) {
			t.Errorf("then.%s at pay: listed %v, load error %v", k.Name, taken, err)
		}
	}
}

func TestKeysTableGolden(t *testing.T) {
	shop, _ := shopRegistry().Provider("shop")
	got := shop.KeysTable()
	path := filepath.Join("testdata", "golden", "keys-table.md")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("KeysTable:\n%s\nwant (%s):\n%s", got, path, want)
	}
}
