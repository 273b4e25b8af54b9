package sandboxtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/paysandbox/sandbox/sandboxtest"
)

// createPaymentWithYourClient stands for the reader's own client code in
// the README's snippet: a Khipu 3.0 create notified to the kit's merchant.
func createPaymentWithYourClient(t *testing.T, sb *sandboxtest.Sandbox) string {
	return createKhipu(t, sb, "/notify")
}

// TestCheckoutIsPaid is the README's snippet ("Testing your integration"),
// verbatim.
func TestCheckoutIsPaid(t *testing.T) {
	sb := sandboxtest.New(t, sandboxtest.Scenario("ci-approve-all"))
	// Configure your client with sb.Khipu.APIURL, sb.Khipu.ReceiverID, sb.Khipu.Secret
	// (sb.Hambit…, sb.PayU… likewise) and sb.Merchant.URL+"/notify" as notify_url, then:
	id := createPaymentWithYourClient(t, sb)
	sb.Advance(time.Hour) // the robot payer and Khipu's verification fire now
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := sb.AwaitCallback(ctx, id)
	if err != nil || d.Verdict != sandboxtest.VerdictOK {
		t.Fatalf("callback %+v: %v", d, err) // the error names what is still scheduled, and when
	}
}
