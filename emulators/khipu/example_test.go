package khipu_test

import (
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/paysandbox/sandbox/emulators/khipu"
	"github.com/paysandbox/sandbox/scenarios"
)

// A shop (or a load generator) signs an API 2.0 request exactly as the
// official clients do. This is the example of Khipu's documentation.
func ExampleSignRequest() {
	params := url.Values{"subject": {"ejemplo de compra"}, "amount": {"1000"}, "currency": {"CLP"}}
	auth := khipu.SignRequest("secret-key", 1234, "POST", "https://khipu.com/api/2.0/payments", params)
	fmt.Println("Authorization:", auth)
	// Output:
	// Authorization: 1234:8b06e63d9666201586f62440ef4e382f2ffb5f1ce122ff87a6d9b3a3064d4aff
}

// Against the sandbox, sign the URL the client calls; the built-in receiver
// works with zero configuration.
func ExampleSignRequest_sandbox() {
	auth := khipu.SignRequest(khipu.DefaultSecret, khipu.DefaultReceiverID, "GET", "http://127.0.0.1:8080/khipu/api/2.0/banks", nil)
	fmt.Println(auth)
	// Output:
	// 123456:47e97132367a80760fe8aafb3d8052b3de1eb6fd79107ea52d7a770db0aac34a
}

// A merchant checks an API 3.0 notification by recomputing the header from
// the t it received and the raw body bytes.
func ExampleNotificationSignature() {
	body := []byte(`{"payment_id":"gqzdy6chjne9","receiver_id":1234,"subject":"Compra de prueba","amount":"1570.00","discount":"0.00","currency":"CLP","transaction_id":"ORD-1"}`)
	fmt.Println(khipu.NotificationSignature("abc123", time.UnixMilli(1711965600393), body))
	// Output:
	// t=1711965600393,s=SlHWGYAqXzBrddxxmNVQDP25phhNyHmVwq2uwGgHmCg=
}

// `sandbox sign khipu` prints the string to sign, the signature and the header.
func ExampleSignCommand() {
	khipu.SignCommand([]string{"-secret", "abc123", "-receiver-id", "1234", "-url", "https://khipu.com/api/2.0/banks"}, os.Stdout)
	// Output:
	// string to sign: GET&https%3A%2F%2Fkhipu.com%2Fapi%2F2.0%2Fbanks
	// signature:      f75356d6cb173105bf113b8bb6ed1c0c8ee5121c3821cd1bfdc5bfc23c98f21a
	// Authorization:  1234:f75356d6cb173105bf113b8bb6ed1c0c8ee5121c3821cd1bfdc5bfc23c98f21a
}

// A scenario makes GET /v3/predict answer a result the amount rules never
// give: here a payer whose bank is still cooling down a new destinatary
// for two hours (cool_down_date = now + 2h).
func ExampleScenarioCoolDown() {
	s, err := scenarios.Load("khipu-predict.yaml", []byte(`
name: khipu-predict
rules:
  - provider: khipu
    on: predict
    when: { payer_email: { suffix: "@cooling.example" } }
    then: { outcome: new_destinatary_cool_down, cool_down: 2h }
`), scenarios.Default)
	if err != nil {
		fmt.Println(err)
		return
	}
	then := s.Rules[0].Then
	fmt.Println(then.Outcome, time.Duration(then.Params["cool_down"].(khipu.ScenarioCoolDown)))
	// Output:
	// new_destinatary_cool_down 2h0m0s
}
