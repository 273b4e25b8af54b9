package sandboxtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/paysandbox/sandbox/emulators/hambit"
	"github.com/paysandbox/sandbox/emulators/payu"
	"github.com/paysandbox/sandbox/sandboxtest"
)

// A Khipu API 3.0 payment, paid by the payer, notified with a valid
// x-khipu-signature. In a test, use sandboxtest.New(t) instead of Start.
func Example_khipu() {
	sb, _ := sandboxtest.Start()
	defer sb.Close()
	body := `{"subject":"Order 1","currency":"CLP","amount":1000,"notify_url":"` + sb.Merchant.URL + `/khipu","notify_api_version":"3.0"}`
	req, _ := http.NewRequest("POST", sb.Khipu.V3URL+"/payments", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-api-key", sb.Khipu.APIKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	var p struct {
		PaymentID string `json:"payment_id"`
	}
	json.NewDecoder(res.Body).Decode(&p)
	res.Body.Close()
	sb.Act("khipu", p.PaymentID, "pay", nil) // the payer pays at DemoBank
	sb.Advance(time.Hour)                    // Khipu's verification ends
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := sb.AwaitCallback(ctx, p.PaymentID)
	fmt.Println(d.Outcome, d.Verdict, err)
	// Output: acknowledged ok <nil>
}

// A Hambit collection paid by a robot payer (scenario ci-approve-all), its
// callback signed with the account's secret.
func Example_hambit() {
	sb, _ := sandboxtest.Start(sandboxtest.Scenario("ci-approve-all"))
	defer sb.Close()
	body := `{"amount":"1000","channelType":"BANK","externalOrderId":"ORDER-1","userInfoType":"CASH","customerType":"RUT",` +
		`"userInfoNo":"12345678","notifyUrl":"` + sb.Merchant.URL + `/hambit"}`
	req, _ := http.NewRequest("POST", sb.Hambit.BaseURL+"/api/v3/chl/createCollectingOrder", strings.NewReader(body))
	req.Header, _ = hambit.NewHeaders(sb.Hambit.AccessKey, sb.Hambit.SecretKey, []byte(body), time.Now(), "")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	var out struct {
		Data struct {
			OrderID string `json:"orderId"`
		}
	}
	json.NewDecoder(res.Body).Decode(&out)
	res.Body.Close()
	sb.Advance(time.Minute) // the robot payer pays
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := sb.AwaitCallback(ctx, out.Data.OrderID)
	fmt.Println(d.Outcome, d.Verdict, err)
	// Output: acknowledged ok <nil>
}

const payuCharge = `{"language":"es","command":"SUBMIT_TRANSACTION","merchant":{"apiKey":%q,"apiLogin":%q},
"transaction":{"order":{"accountId":%q,"referenceCode":"ORDER-1","description":"Compra","language":"es","signature":%q,
"notifyUrl":%q,"additionalValues":{"TX_VALUE":{"value":10000,"currency":"CLP"}},"buyer":{"fullName":"Comprador","emailAddress":"b@test.com"}},
"payer":{"fullName":"Pagador","emailAddress":"p@test.com"},"creditCard":{"number":"4097440000000004","securityCode":"777",
"expirationDate":"2030/12","name":"APPROVED"},"type":"AUTHORIZATION_AND_CAPTURE","paymentMethod":"VISA","paymentCountry":"CL",
"ipAddress":"127.0.0.1"},"test":true}`

// A PayU card charge, approved, confirmed to the merchant with a valid sign.
func Example_payU() {
	sb, _ := sandboxtest.Start()
	defer sb.Close()
	sig := payu.OrderSignature(sb.PayU.APIKey, 508029, "ORDER-1", "10000", "CLP")
	body := fmt.Sprintf(payuCharge, sb.PayU.APIKey, sb.PayU.APILogin, sb.PayU.AccountID, sig, sb.Merchant.URL+"/payu")
	req, _ := http.NewRequest("POST", sb.PayU.PaymentsURL, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	var out struct {
		TransactionResponse struct{ TransactionID, State string }
	}
	json.NewDecoder(res.Body).Decode(&out)
	res.Body.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := sb.AwaitCallback(ctx, out.TransactionResponse.TransactionID)
	fmt.Println(out.TransactionResponse.State, d.Outcome, d.Verdict, err)
	// Output: APPROVED acknowledged ok <nil>
}
