package sandbox_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/paysandbox/sandbox/emulators/hambit"
	"github.com/paysandbox/sandbox/emulators/khipu"
	"github.com/paysandbox/sandbox/emulators/payu"
	"github.com/paysandbox/sandbox/emulators/sandbox"
)

func TestCheckCallbackVerdicts(t *testing.T) {
	sb := newSandbox(t, nil, sandbox.Options{})
	kbody := []byte(`{"payment_id":"p1","amount":"1000.00"}`)
	now := time.UnixMilli(1767225600000)
	hbody := []byte(`{"orderId":"O1","orderStatus":2,"remark":""}`)
	hh, err := hambit.NewHeaders(hambit.DefaultAccessKey, hambit.DefaultSecretKey, hbody, now, "2b7a1f7e-8d1c-4a52-9f52-1f1f1f1f1f1f")
	if err != nil {
		t.Fatal(err)
	}
	hwrong, _ := hambit.NewHeaders(hambit.DefaultAccessKey, "not-the-secret", hbody, now, "2b7a1f7e-8d1c-4a52-9f52-1f1f1f1f1f1f")
	hmissing := hh.Clone()
	delete(hmissing, "sign")
	// PayU's sign: MD5(apiKey~merchant_id~reference_sale~value~currency~state_pol), value 150.00 → 150.0.
	payuSign := md5hex(payu.TestAPIKey + "~508029~R1~150.0~CLP~4")
	payuForm := "merchant_id=508029&reference_sale=R1&value=150.00&currency=CLP&state_pol=4&sign="
	tests := []struct {
		name, provider, verdict string
		h                       http.Header
		body                    string
	}{
		{"khipu 3.0 signed", "khipu", sandbox.CallbackOK, http.Header{"X-Khipu-Signature": {khipu.NotificationSignature(khipu.DefaultSecret, now, kbody)}}, string(kbody)},
		{"khipu 3.0 wrong secret", "khipu", sandbox.CallbackRejected, http.Header{"X-Khipu-Signature": {khipu.NotificationSignature("x", now, kbody)}}, string(kbody)},
		{"khipu 3.0 lower-case header name", "khipu", sandbox.CallbackOK, http.Header{"x-khipu-signature": {khipu.NotificationSignature(khipu.DefaultSecret, now, kbody)}}, string(kbody)},
		{"khipu 3.0 unsigned", "khipu", sandbox.CallbackRejected, nil, string(kbody)},
		{"khipu 1.3", "khipu", sandbox.CallbackUnsigned, nil, "api_version=1.3&notification_token=abc"},
		{"hambit signed", "hambit", sandbox.CallbackOK, hh, string(hbody)},
		{"hambit wrong secret", "hambit", sandbox.CallbackRejected, hwrong, string(hbody)},
		{"hambit no sign", "hambit", sandbox.CallbackRejected, hmissing, string(hbody)},
		{"payu signed", "payu", sandbox.CallbackOK, nil, payuForm + payuSign},
		{"payu wrong sign", "payu", sandbox.CallbackRejected, nil, payuForm + md5hex("x")},
		{"payu no sign", "payu", sandbox.CallbackRejected, nil, "merchant_id=508029&reference_sale=R1&value=1"},
		{"payu bad value", "payu", sandbox.CallbackRejected, nil, "merchant_id=508029&reference_sale=R1&value=x&sign=00"},
		{"something else", "", sandbox.CallbackUnknown, nil, "a=b"},
		{"other JSON", "", sandbox.CallbackUnknown, nil, `{"a":1}`},
		{"not a form", "", sandbox.CallbackUnknown, nil, "%zz"},
	}
	for _, tt := range tests {
		got := sb.CheckCallback(tt.h, []byte(tt.body))
		if got.Provider != tt.provider || got.Verdict != tt.verdict || got.Detail == "" {
			t.Errorf("%s: %+v, want %s %s", tt.name, got, tt.provider, tt.verdict)
		}
	}
}

func FuzzCheckCallback(f *testing.F) {
	sb := newSandbox(f, nil, sandbox.Options{})
	f.Add("X-Khipu-Signature", "t=1,s=AAAA", `{"payment_id":"p"}`)
	f.Add("access_key", "SBXFAKE1", `{"a":1}`)
	f.Add("", "", "merchant_id=1&sign=2&value=3")
	f.Add("", "", "api_version=1.3&notification_token=x")
	f.Fuzz(func(t *testing.T, name, value, body string) {
		h := http.Header{}
		if name != "" {
			h[name] = []string{value}
		}
		got := sb.CheckCallback(h, []byte(body))
		switch got.Verdict {
		case sandbox.CallbackOK, sandbox.CallbackRejected, sandbox.CallbackUnsigned, sandbox.CallbackUnknown:
		default:
			t.Fatalf("verdict %q", got.Verdict)
		}
		if len(got.Detail) > 200 {
			t.Fatalf("detail grows with the input: %d bytes", len(got.Detail))
		}
	})
}
