package payu_test

import (
	"fmt"

	"github.com/paysandbox/sandbox/emulators/payu"
)

// A shop signs its order the way the official PHP SDK does, and checks a
// confirmation page POST by recomputing its sign.
func ExampleOrderSignature() {
	fmt.Println(payu.OrderSignature("4Vj8eK4rloUd272L48hsrarnUA", 508029, "PRODUCT_TEST_2021-06-25T16:33:48.512Z", "10000", "CLP"))
	// Output: 77d72fb91eb43f9b15fb300d5f173da3
}

func ExampleConfirmationSignature() {
	// The posted fields merchant_id, reference_sale, value, currency and state_pol.
	sign := payu.ConfirmationSignature("4Vj8eK4rloUd272L48hsrarnUA", 508029, "TestPayU05", "150.26", "USD", "4")
	fmt.Println(sign == "1d95778a651e11a0ab93c2169a519cd6")
	// Output: true
}

func ExampleResponseSignature() {
	fmt.Println(payu.ResponseSignature("4Vj8eK4rloUd272L48hsrarnUA", 508029, "TestPayU04", "150.35", "USD", "6"))
	// Output: 9df2bb60e2838170009040982967923f
}
