package khipu

import (
	"net/http"
	"net/url"
	"testing"
)

// BenchmarkSignedCreate measures a signed API 2.0 create through the whole
// stack (routing, journal, signature, validation, store), without a socket.
func BenchmarkSignedCreate(b *testing.B) {
	k := newKEnv(b)
	p := url.Values{"subject": {"Compra de prueba"}, "currency": {"CLP"}, "amount": {"1570"}, "transaction_id": {"B-1"},
		"return_url": {"http://shop.test/return"}, "notify_url": {"http://shop.test/notify"}}
	body := p.Encode()
	auth := SignRequest(DefaultSecret, DefaultReceiverID, "POST", "http://"+testHost+"/khipu/api/2.0/payments", p)
	b.ReportAllocs()
	for b.Loop() {
		r := req("POST", "/khipu/api/2.0/payments", body, "Authorization: "+auth, "Content-Type: application/x-www-form-urlencoded")
		if rec := k.do(r); rec.Code != http.StatusOK {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkStringToSign measures the canonical string and HMAC of vector (b).
func BenchmarkStringToSign(b *testing.B) {
	p := decodeForm(loadSignatureVectorsB())
	b.ReportAllocs()
	for b.Loop() {
		hmacHex("abc123", stringToSign("POST", "https://khipu.com/api/2.0/payments", p))
	}
}
