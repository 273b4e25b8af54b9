package scenarios_test

import (
	"fmt"

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
