package payu

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// SignCommand implements `sandbox sign payu …`: it prints the order
// signature candidates (§7.4) and the confirmation and response page
// signatures (§10, §11.2) for the given values.
func SignCommand(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("sandbox sign payu", flag.ContinueOnError)
	fs.SetOutput(stdout)
	apiKey := fs.String("api-key", TestAPIKey, "merchant apiKey")
	merchant := fs.Int64("merchant-id", TestMerchantID, "merchantId (not the accountId)")
	ref := fs.String("reference", "", "order referenceCode (reference_sale)")
	value := fs.String("value", "", "TX_VALUE.value as sent (e.g. 10000)")
	currency := fs.String("currency", "CLP", "currency")
	state := fs.String("state", "4", "state_pol / transactionState for the confirmation and response signatures")
	fs.Usage = func() {
		fmt.Fprintln(stdout, "usage: sandbox sign payu -reference REF -value VALUE [-currency CLP] [-state 4] [-api-key K] [-merchant-id N]")
		fmt.Fprintln(stdout, "Prints every order-signature candidate the sandbox accepts (md5, sha1, sha256 over the value as sent")
		fmt.Fprintln(stdout, "and with 0, 1 and 2 decimals), then the confirmation page sign and the response page signature.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *ref == "" || *value == "" {
		fs.Usage()
		return errors.New("sign payu: -reference and -value are required")
	}
	fmt.Fprintln(stdout, "order signature (transaction.order.signature); canonical string:")
	fmt.Fprintln(stdout, "  "+orderString(*apiKey, *merchant, *ref, *value, *currency))
	for _, c := range signatureCandidates(ModeChecked, *apiKey, *merchant, *ref, *value, *currency) {
		fmt.Fprintf(stdout, "  %-18s %s  %s\n", c.algo+"/"+c.rendering, c.sig, c.str)
	}
	fmt.Fprintln(stdout, "  PHP SDK sends:     "+OrderSignature(*apiKey, *merchant, *ref, *value, *currency))
	cs := confirmationString(*apiKey, *merchant, *ref, *value, *currency, *state)
	fmt.Fprintln(stdout, "confirmation page sign (state_pol "+*state+"):")
	fmt.Fprintln(stdout, "  "+cs)
	fmt.Fprintln(stdout, "  md5 "+hexHash("md5", cs))
	rs := responseString(*apiKey, *merchant, *ref, *value, *currency, *state)
	fmt.Fprintln(stdout, "response page signature (transactionState "+*state+", value rounded half-even to 1 decimal):")
	fmt.Fprintln(stdout, "  "+rs)
	fmt.Fprintln(stdout, "  md5 "+hexHash("md5", rs))
	return nil
}
