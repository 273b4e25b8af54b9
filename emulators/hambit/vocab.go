package hambit

import (
	"fmt"
	"maps"
	"regexp"
	"time"

	"github.com/paysandbox/sandbox/scenarios"
)

// Scenario vocabulary of Hambit (docs/hambit.md §11).

// Decision points.
const (
	PointCreateCollection = "create_collection"
	PointPay              = "pay"
	PointPayout           = "payout"
	PointCallback         = "callback"
)

// ScenarioError is the `error` of create_collection and payout: the
// envelope's code (and optionally its texts) and the HTTP status.
type ScenarioError struct {
	Code       string `yaml:"code"`
	Msg        string `yaml:"msg"`
	MsgEn      string `yaml:"msgEn"`
	HTTPStatus int    `yaml:"http_status"`
}

// Validate checks the code and status.
func (e ScenarioError) Validate() error {
	if e.Code == "" {
		return fmt.Errorf("code: required (e.g. \"500\")")
	}
	if e.HTTPStatus != 0 && (e.HTTPStatus < 200 || e.HTTPStatus > 599) {
		return fmt.Errorf("http_status %d: expected an HTTP status", e.HTTPStatus)
	}
	return nil
}

var payAmountRE = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?%?)$`)

// ScenarioPayAmount is the pay point's `amount`: a decimal or "<n>%".
type ScenarioPayAmount string

// Validate checks the form.
func (a ScenarioPayAmount) Validate() error {
	if !payAmountRE.MatchString(string(a)) {
		return fmt.Errorf("%q: expected a decimal amount or a percentage such as 50%%", string(a))
	}
	return nil
}

// ScenarioAmountFormat is the callback point's `amount_format`.
type ScenarioAmountFormat string

// Validate checks the value.
func (f ScenarioAmountFormat) Validate() error {
	if f != "string" && f != "numeric" {
		return fmt.Errorf("%q: expected string or numeric", string(f))
	}
	return nil
}

func init() {
	common := map[string]scenarios.FieldType{
		"country": scenarios.String, "currency": scenarios.String, "access_key": scenarios.String,
	}
	with := func(extra map[string]scenarios.FieldType) map[string]scenarios.FieldType {
		out := maps.Clone(common)
		maps.Copy(out, extra)
		return out
	}
	collection := with(map[string]scenarios.FieldType{
		"amount": scenarios.Decimal, "channelType": scenarios.String, "externalOrderId": scenarios.String,
		"userInfoType": scenarios.String, "customerType": scenarios.String, "userInfoNo": scenarios.String,
		"notifyUrl": scenarios.String, "remark": scenarios.String, "returnUrl": scenarios.String,
	})
	transfer := with(map[string]scenarios.FieldType{
		"currencyAmount": scenarios.Decimal, "channelType": scenarios.String, "externalOrderId": scenarios.String,
		"accountNo": scenarios.String, "userInfoName": scenarios.String, "accountType": scenarios.String,
		"userInfoNo": scenarios.String, "userInfoType": scenarios.String, "bankName": scenarios.String,
		"remark": scenarios.String, "notifyUrl": scenarios.String,
	})
	callback := with(map[string]scenarios.FieldType{
		"event": scenarios.String, "orderStatusCode": scenarios.Decimal, "orderId": scenarios.String,
		"externalOrderId": scenarios.String,
	})
	errSpec := scenarios.Key[ScenarioError]("Hambit envelope: code, msg, msgEn, http_status")
	scenarios.Register(scenarios.ProviderSpec{Name: "hambit", Points: []scenarios.PointSpec{
		{Name: PointCreateCollection, Kind: scenarios.RequestPoint, Fields: collection, Error: &errSpec,
			Outcomes: []string{"accept"}, Shared: []string{"outcome", "response_delay", "error", "fault"},
			Help: "a create-collection request, after validation, before the order exists"},
		{Name: PointPay, Kind: scenarios.PayerPoint, Fields: collection,
			Outcomes: []string{"wait", "pay", "pay_amount", "fail", "expire"},
			Shared:   []string{"outcome", "delay", "auto"},
			Extra: map[string]scenarios.KeySpec{
				"amount":    scenarios.Key[ScenarioPayAmount]("pay_amount: a decimal, or \"<n>%\" of orderAmount"),
				"error_msg": scenarios.Key[string]("fail: the errorMsg text"),
			},
			Help: "the payer at the cashier (decided at creation, stored with the order)"},
		{Name: PointPayout, Kind: scenarios.RequestPoint, Fields: transfer, Error: &errSpec,
			Outcomes: []string{"success", "bank_rejection", "failed", "stuck"},
			Shared:   []string{"outcome", "response_delay", "error", "fault"},
			Extra: map[string]scenarios.KeySpec{
				"processing_after":  scenarios.Key[time.Duration]("1 Accepted → 2 In bank processing"),
				"final_after":       scenarios.Key[time.Duration]("2 → the final status"),
				"notify_processing": scenarios.Key[bool]("send a callback on status 2"),
				"error_msg":         scenarios.Key[string]("errorMsg text for status 4 or 16"),
			},
			Help: "a create-transfer request, after validation"},
		{Name: PointCallback, Kind: scenarios.CallbackPoint, Fields: callback,
			Extra: map[string]scenarios.KeySpec{
				"amount_format": scenarios.Key[ScenarioAmountFormat]("payment callback amounts: string or numeric"),
			},
			Help: "each callback event"},
	}})
}
