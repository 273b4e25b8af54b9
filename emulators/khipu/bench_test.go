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

// BenchmarkParseDate measures the date parser on the spellings of the
// official clients (§4.2): PHP, Java, Ruby's Time#to_s and Python's str.
func BenchmarkParseDate(b *testing.B) {
	inputs := []string{"2030-01-02T03:04:05+0000", "2030-01-02T03:04:05.000Z", "2026-12-08 01:40:00 +0000",
		"2026-12-08 01:40:00 UTC", "2030-01-02 03:04:05+00:00"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := parseDate(inputs[i%len(inputs)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPredict measures GET /v3/predict through the whole stack
// (routing, journal, API key, validation, scenario decision).
func BenchmarkPredict(b *testing.B) {
	k := newKEnv(b)
	b.ReportAllocs()
	for b.Loop() {
		if rec := k.v3("GET", "/khipu/v3/predict?payer_email=a@b.cl&bank_id=Bawdf&amount=1000&currency=CLP", ""); rec.Code != http.StatusOK {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}
