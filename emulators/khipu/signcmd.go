package khipu

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// SignCommand implements `sandbox sign khipu …`: it prints the string to
// sign and the signature of an API 2.0 request (§5.1), or of an API 3.0
// notification with -notification (§13.2).
func SignCommand(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("sandbox sign khipu", flag.ContinueOnError)
	fs.SetOutput(stdout)
	secret := fs.String("secret", DefaultSecret, "receiver secret")
	receiverID := fs.Int64("receiver-id", DefaultReceiverID, "receiver_id (API 2.0 requests)")
	method := fs.String("method", "GET", "HTTP method (API 2.0 requests)")
	rawURL := fs.String("url", "", "URL as the client calls it, without the query, e.g. http://127.0.0.1:8080/khipu/api/2.0/payments")
	body := fs.String("body", "", "request: the form body as sent (decoded, then re-encoded); notification: the exact JSON body")
	bodyFile := fs.String("body-file", "", "read -body from this file")
	notification := fs.Bool("notification", false, "sign an API 3.0 notification (x-khipu-signature) instead of a request")
	ts := fs.Int64("t", 0, "notification time in Unix milliseconds (default: now)")
	fs.Usage = func() {
		fmt.Fprintln(stdout, "usage: sandbox sign khipu -url URL [-method POST] [-secret S] [-receiver-id N] [-body FORM] [key=value ...]")
		fmt.Fprintln(stdout, "       sandbox sign khipu -notification [-secret S] [-t MILLIS] -body JSON | -body-file FILE")
		fmt.Fprintln(stdout, "API 2.0: prints METHOD&enc(url)&k=v… (keys sorted, RFC 3986 encoding), its hex HMAC-SHA256 and the")
		fmt.Fprintln(stdout, "Authorization header. Parameters come from the URL's query, -body and key=value arguments (decoded values).")
		fmt.Fprintln(stdout, "API 3.0 notifications: prints t.body, its Base64 HMAC-SHA256 and the x-khipu-signature header.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *bodyFile != "" {
		b, err := os.ReadFile(*bodyFile)
		if err != nil {
			return fmt.Errorf("sign khipu: %w", err)
		}
		*body = string(b)
	}
	if *notification {
		if *body == "" {
			fs.Usage()
			return errors.New("sign khipu: -notification needs -body or -body-file")
		}
		t := time.Now()
		if *ts != 0 {
			t = time.UnixMilli(*ts)
		}
		stamp := strconv.FormatInt(t.UnixMilli(), 10)
		fmt.Fprintln(stdout, "string to sign:    "+stamp+"."+*body)
		fmt.Fprintln(stdout, "signature:         "+notificationMAC(*secret, stamp, []byte(*body)))
		fmt.Fprintln(stdout, "x-khipu-signature: "+NotificationSignature(*secret, t, []byte(*body)))
		return nil
	}
	if *rawURL == "" {
		fs.Usage()
		return errors.New("sign khipu: -url is required (or -notification)")
	}
	u, query, _ := strings.Cut(*rawURL, "?")
	p := decodeForm(query)
	for k, v := range decodeForm(*body) {
		p[k] = v
	}
	for _, kv := range fs.Args() {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("sign khipu: argument %q: expected key=value", kv)
		}
		p[k] = v
	}
	toSign := stringToSign(*method, u, p)
	sig := hmacHex(*secret, toSign)
	fmt.Fprintln(stdout, "string to sign: "+toSign)
	fmt.Fprintln(stdout, "signature:      "+sig)
	fmt.Fprintln(stdout, "Authorization:  "+strconv.FormatInt(*receiverID, 10)+":"+sig)
	return nil
}
