package payu

import (
	"fmt"
	"time"

	"github.com/paysandbox/sandbox/scenarios"
)

// Scenario vocabulary of PayU (docs/payu.md §14).

// Decision points.
const (
	PointSubmit          = "submit"
	PointRedirectPayment = "redirect_payment"
	PointRefundReview    = "refund_review"
	PointConfirmation    = "confirmation"
)

// ScenarioError is the `error` of submit: a code ERROR envelope with this text.
type ScenarioError struct {
	Message    string `yaml:"message"`
	HTTPStatus int    `yaml:"http_status"`
}

// Validate checks the status.
func (e ScenarioError) Validate() error {
	if e.HTTPStatus != 0 && (e.HTTPStatus < 200 || e.HTTPStatus > 599) {
		return fmt.Errorf("http_status %d: expected an HTTP status", e.HTTPStatus)
	}
	return nil
}

// ScenarioSettle decides a PENDING answer later.
type ScenarioSettle struct {
	Delay        time.Duration `yaml:"delay"`
	Outcome      string        `yaml:"outcome"`
	ResponseCode string        `yaml:"responseCode"`
}

// Validate checks the outcome.
func (s ScenarioSettle) Validate() error {
	switch s.Outcome {
	case "approve", "decline", "expire", "error":
		return nil
	}
	return fmt.Errorf("outcome %q: expected approve, decline, expire or error", s.Outcome)
}

// ScenarioSignatureMode overrides payu.signature_mode for a submit.
type ScenarioSignatureMode string

// Validate checks the mode.
func (m ScenarioSignatureMode) Validate() error {
	switch m {
	case "lenient", "checked", "strict":
		return nil
	}
	return fmt.Errorf("%q: expected lenient, checked or strict", string(m))
}

func init() {
	fields := map[string]scenarios.FieldType{
		"paymentMethod": scenarios.String, "type": scenarios.String, "referenceCode": scenarios.String,
		"description": scenarios.String, "amount": scenarios.Decimal, "currency": scenarios.String,
		"cardName": scenarios.String, "accountId": scenarios.String, "paymentCountry": scenarios.String,
		"buyerEmail": scenarios.String, "test": scenarios.Bool, "language": scenarios.String,
	}
	str := func(help string) scenarios.KeySpec { return scenarios.Key[string](help) }
	errSpec := scenarios.Key[ScenarioError]("code ERROR envelope: message, http_status")
	scenarios.Register(scenarios.ProviderSpec{Name: "payu", Points: []scenarios.PointSpec{
		{Name: PointSubmit, Kind: scenarios.RequestPoint, Fields: fields, Error: &errSpec,
			Outcomes: []string{"approve", "decline", "pending", "error"},
			Shared:   []string{"outcome", "response_delay", "error", "fault"},
			Extra: map[string]scenarios.KeySpec{
				"responseCode":                       str("transactionResponse.responseCode"),
				"pendingReason":                      str("transactionResponse.pendingReason"),
				"paymentNetworkResponseCode":         str("transactionResponse.paymentNetworkResponseCode"),
				"paymentNetworkResponseErrorMessage": str("transactionResponse.paymentNetworkResponseErrorMessage"),
				"responseMessage":                    str("transactionResponse.responseMessage"),
				"settle":                             scenarios.Key[ScenarioSettle]("decide a PENDING answer later: delay, outcome, responseCode"),
				"signature":                          scenarios.Key[ScenarioSignatureMode]("signature mode for this request"),
			},
			Help: "any SUBMIT_TRANSACTION after credentials and structural validation"},
		{Name: PointRedirectPayment, Kind: scenarios.PayerPoint, Fields: fields,
			Outcomes: []string{"approve", "decline", "abandon", "expire"},
			Shared:   []string{"outcome", "delay", "auto", "response_delay"},
			Extra:    map[string]scenarios.KeySpec{"responseCode": str("responseCode of the decided transaction")},
			Help:     "the payer on the WebPay page or the Khipu payment"},
		{Name: PointRefundReview, Kind: scenarios.InternalPoint, Fields: fields,
			Outcomes: []string{"approve", "decline"},
			Extra:    map[string]scenarios.KeySpec{"responseCode": str("responseCode of the refund")},
			Help:     "each pending refund's review"},
		{Name: PointConfirmation, Kind: scenarios.CallbackPoint, Fields: fields,
			Help: "each confirmation page delivery"},
	}})
}
