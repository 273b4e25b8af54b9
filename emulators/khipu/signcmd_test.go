package khipu

import (
	"strings"
	"testing"
)

func TestSignCommand(t *testing.T) {
	run := func(args ...string) (string, error) {
		var b strings.Builder
		err := SignCommand(args, &b)
		return b.String(), err
	}
	// §5.5 (b) from PHP's wire body.
	out, err := run("-secret", "abc123", "-method", "post", "-url", "https://khipu.com/api/2.0/payments",
		"-body", loadSignatureVectorsB())
	if err != nil || !strings.Contains(out, "signature:      fe23ea600c00d98d9c54f2321c0c054ce16800b5b1b8ca4c6557f5ab85440e35") {
		t.Errorf("vector (b): %v\n%s", err, out)
	}
	// Query parameters in the URL and key=value arguments.
	out, _ = run("-secret", "abc123", "-url", "https://khipu.com/api/2.0/payments?notification_token=e2378adb7a79f8c7bc2690981bc4e816cbef9751f10612a41bcaab1ba8912601")
	if !strings.Contains(out, "8fe56eb00c7bb618a3a07acda7d81dfe1c2c6eb2378b5c1ff9dd6640c9f127a8") {
		t.Errorf("by token: %s", out)
	}
	out, _ = run("-secret", "abc123", "-method", "POST", "-url", "https://khipu.com/api/2.0/payments/gqzdy6chjne9/refunds", "amount=100.5")
	if !strings.Contains(out, "79da4c92b56c645682a1908b40d44ee6e965584e3b390fcab2bf5231f9a5f368") {
		t.Errorf("refund: %s", out)
	}
	// A 3.0 notification.
	out, err = run("-notification", "-secret", "abc123", "-t", "1711965600393", "-body",
		`{"payment_id":"gqzdy6chjne9","receiver_id":1234,"subject":"Compra de prueba","amount":"1570.00","discount":"0.00","currency":"CLP","transaction_id":"ORD-1"}`)
	if err != nil || !strings.Contains(out, "x-khipu-signature: t=1711965600393,s=SlHWGYAqXzBrddxxmNVQDP25phhNyHmVwq2uwGgHmCg=") ||
		!strings.Contains(out, `string to sign:    1711965600393.{"payment_id"`) {
		t.Errorf("notification: %v\n%s", err, out)
	}
	if _, err := run(); err == nil {
		t.Error("no -url accepted")
	}
	if _, err := run("-url", "http://x", "novalue"); err == nil {
		t.Error("a bad key=value accepted")
	}
	if out, err := run("-h"); err != nil || !strings.Contains(out, "usage: sandbox sign khipu") {
		t.Errorf("-h: %v %s", err, out)
	}
	if _, err := run("-notification"); err == nil {
		t.Error("-notification without a body accepted")
	}
}

func loadSignatureVectorsB() string {
	return "subject=Compra+de+prueba+%28%231%29&currency=CLP&amount=1570&transaction_id=ORD-1&body=l%C3%ADnea+%C3%B1+%7E%2A%27&return_url=http%3A%2F%2Flocalhost%2Fret%3Fa%3D1%26b%3D2&notify_url=http%3A%2F%2Flocalhost%2Fnotify&notify_api_version=1.3&expires_date=2030-01-02T03%3A04%3A05%2B0000&send_reminders=1"
}
