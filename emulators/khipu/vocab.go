package khipu

import (
	"errors"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/paysandbox/sandbox/scenarios"
)

// Scenario vocabulary of Khipu (docs/khipu.md §14).

// Decision points.
const (
	PointCreate = "create"
	PointPay    = "pay"
	PointVerify = "verify"
	PointNotify = "notify"
	PointRefund = "refund"
	// PointPredict is GET /v3/predict: outcome sets the result, cool_down
	// how far cool_down_date lies ahead.
	PointPredict = "predict"
)

// ScenarioError is the `error` of the create and refund points.
type ScenarioError struct {
	HTTPStatus int                  `yaml:"http_status"`
	Message    string               `yaml:"message"`
	Errors     []ScenarioFieldError `yaml:"errors"`
}

// ScenarioFieldError is one entry of ScenarioError.Errors.
type ScenarioFieldError struct {
	Field   string `yaml:"field"`
	Message string `yaml:"message"`
}

// Validate checks the status range.
func (e ScenarioError) Validate() error {
	if e.HTTPStatus != 0 && (e.HTTPStatus < 400 || e.HTTPStatus > 599) {
		return fmt.Errorf("http_status %d: expected a 4xx or 5xx status", e.HTTPStatus)
	}
	return nil
}

// ScenarioPayer is the robot payer's details at the pay point.
type ScenarioPayer struct {
	Method string `yaml:"method"` // simplified (default) | manual
	BankID string `yaml:"bank_id"`
	RUT    string `yaml:"rut"`
	Email  string `yaml:"email"`
}

// Validate checks the method, the RUT and the e-mail.
func (p ScenarioPayer) Validate() error {
	if p.Method != "" && p.Method != "simplified" && p.Method != "manual" {
		return fmt.Errorf("method %q: expected simplified or manual", p.Method)
	}
	if p.RUT != "" {
		if _, err := parseRUT(p.RUT); err != nil {
			return fmt.Errorf("rut %q: not a valid RUT (check digit included, e.g. 11.111.111-1)", p.RUT)
		}
	}
	if p.Email != "" && !isEmail(p.Email) {
		return fmt.Errorf("email %q: not an e-mail address", p.Email)
	}
	return nil
}

// ScenarioUncertain is the verify point's `uncertain`: "hold" or {delay, outcome}.
type ScenarioUncertain struct {
	Hold    bool
	Delay   time.Duration
	Outcome string // done | failed
}

// UnmarshalYAML accepts `hold` or a mapping {delay, outcome}.
func (u *ScenarioUncertain) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		if n.Value != "hold" {
			return fmt.Errorf("line %d: expected hold or {delay, outcome}, got %q", n.Line, n.Value)
		}
		*u = ScenarioUncertain{Hold: true}
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: expected hold or {delay, outcome}", n.Line)
	}
	*u = ScenarioUncertain{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "delay":
			d, err := time.ParseDuration(v.Value)
			if err != nil || d < 0 || v.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: delay: expected a duration such as 5s", v.Line)
			}
			u.Delay = d
		case "outcome":
			if v.Value != "done" && v.Value != "failed" {
				return fmt.Errorf("line %d: outcome: expected done or failed, got %q", v.Line, v.Value)
			}
			u.Outcome = v.Value
		default:
			return fmt.Errorf("line %d: unknown key %q; expected delay, outcome", k.Line, k.Value)
		}
	}
	if u.Outcome == "" {
		return errors.New("outcome: required (done or failed)")
	}
	return nil
}

// maxCoolDown bounds the predict point's cool_down (a year keeps
// cool_down_date a four-digit-year date).
const maxCoolDown = 365 * 24 * time.Hour

// ScenarioCoolDown is the predict point's cool_down: how far ahead of now
// cool_down_date lies, a duration from 0 to 8760h.
type ScenarioCoolDown time.Duration

// UnmarshalYAML accepts a duration such as 2h or 90m.
func (c *ScenarioCoolDown) UnmarshalYAML(n *yaml.Node) error {
	d, err := time.ParseDuration(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		return errors.New("expected a duration such as 24h or 90m")
	}
	if d < 0 || d > maxCoolDown {
		return fmt.Errorf("%s is out of range: expected 0 to 8760h", n.Value)
	}
	*c = ScenarioCoolDown(d)
	return nil
}

func init() {
	fields := map[string]scenarios.FieldType{
		"api": scenarios.String, "receiver_id": scenarios.Decimal, "payment_id": scenarios.String,
		"amount": scenarios.Decimal, "currency": scenarios.String, "subject": scenarios.String,
		"transaction_id": scenarios.String, "bank_id": scenarios.String, "payer_email": scenarios.String,
		"custom": scenarios.String, "notify_api_version": scenarios.String,
	}
	// predict has no payment: only what its query carries.
	predictFields := map[string]scenarios.FieldType{
		"api": scenarios.String, "receiver_id": scenarios.Decimal, "amount": scenarios.Decimal,
		"currency": scenarios.String, "bank_id": scenarios.String, "payer_email": scenarios.String,
	}
	errSpec := scenarios.Key[ScenarioError]("Khipu error body: http_status, message, errors")
	scenarios.Register(scenarios.ProviderSpec{Name: "khipu", Points: []scenarios.PointSpec{
		{Name: PointCreate, Kind: scenarios.RequestPoint, Fields: fields, Error: &errSpec,
			Shared: []string{"response_delay", "error", "fault"},
			Help:   "a create request (v2 or v3), after authentication and validation"},
		{Name: PointPay, Kind: scenarios.PayerPoint, Fields: fields,
			Outcomes: []string{"approve", "bank_error", "uncertain", "abandon"},
			Shared:   []string{"outcome", "delay", "auto"},
			Extra:    map[string]scenarios.KeySpec{"payer": scenarios.Key[ScenarioPayer]("robot payer: method, bank_id, rut, email")},
			Help:     "the payer at DemoBank (decided at creation, stored with the payment)"},
		{Name: PointVerify, Kind: scenarios.InternalPoint, Fields: fields, Shared: []string{},
			Extra: map[string]scenarios.KeySpec{
				"simplified_delay": scenarios.Key[time.Duration]("verifying → done after a simplified transfer"),
				"manual_delay":     scenarios.Key[time.Duration]("verifying → done after a manual transfer"),
				"uncertain":        scenarios.Key[ScenarioUncertain]("hold, or {delay, outcome: done|failed}"),
			},
			Help: "Khipu's verification of a transfer"},
		{Name: PointNotify, Kind: scenarios.CallbackPoint, Fields: fields,
			Extra: map[string]scenarios.KeySpec{"corrupt_token": scenarios.Key[bool]("1.3: send a random unknown token")},
			Help:  "each notification (API 1.3 or 3.0)"},
		{Name: PointRefund, Kind: scenarios.RequestPoint, Fields: fields, Error: &errSpec,
			Outcomes: []string{"accept", "reject"}, Shared: []string{"outcome", "error", "response_delay"},
			Help: "a refund request"},
		{Name: PointPredict, Kind: scenarios.RequestPoint, Fields: predictFields,
			Outcomes: predictResults, Shared: []string{"outcome"},
			Extra: map[string]scenarios.KeySpec{
				"cool_down": scenarios.Key[ScenarioCoolDown]("new_destinatary_cool_down: cool_down_date = now + this (default 24h)"),
			},
			Help: "a GET /v3/predict request, after authentication and validation (outcome = the result)"},
	}})
}
