package hambit_test

import (
	"fmt"
	"time"

	"github.com/paysandbox/sandbox/emulators/hambit"
)

// A merchant signs a request body with its key pair: this replays vector 1
// of the specification (the documentation-sample account).
func ExampleSignRequest() {
	body := []byte(`{"amount":"100","channelType":"BANK","externalOrderId":"1231231231231111","userInfoType":"CASH","customerType":"RUT","userInfoNo":"12312321","notifyUrl":"https://merchant.example/hambit/notify","remark":"","returnUrl":"https://merchant.example/return"}`)
	sign, err := hambit.SignRequest("pFqV75X3", "emulator-test-secret", body, "1713319809342", "794c26b0-d33c-4394-b2bb-c485eca16d9e")
	if err != nil {
		panic(err)
	}
	fmt.Println(sign)
	// Output: AfAk4gmaxDOy/L5m7iD9hpH6r8U=
}

// NewHeaders builds the four headers of a GET /query/balance (vector 2).
func ExampleNewHeaders() {
	h, err := hambit.NewHeaders(hambit.SampleAccessKey, hambit.SampleSecretKey, nil,
		time.UnixMilli(1713319809342), "794c26b0-d33c-4394-b2bb-c485eca16d9e")
	if err != nil {
		panic(err)
	}
	for _, name := range []string{"access_key", "timestamp", "nonce", "sign"} {
		fmt.Printf("%s: %s\n", name, h[name][0])
	}
	// Output:
	// access_key: pFqV75X3
	// timestamp: 1713319809342
	// nonce: 794c26b0-d33c-4394-b2bb-c485eca16d9e
	// sign: mFjgaDDYQL2Mtc0qNKDcyfIb2X0=
}
