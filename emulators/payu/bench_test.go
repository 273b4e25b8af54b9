package payu

import (
	"os"
	"testing"
)

// The PayU hot paths: decoding the JSON and XML request twins, encoding an
// answer in both formats, and checking an order signature against the
// candidates of the checked mode (spec §7.4).
//
//	go test -run=^$ -bench=. -benchmem ./emulators/payu/

func BenchmarkDecodeJSON(b *testing.B) {
	benchDecode(b, "testdata/seed/authorization.request.json", decodeJSON)
}

func BenchmarkDecodeXML(b *testing.B) {
	benchDecode(b, "testdata/seed/authorization.request.xml", decodeXML)
}

func benchDecode(b *testing.B, file string, decode func([]byte) (*node, error)) {
	body, err := os.ReadFile(file)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decode(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	v := vobj(fl("code", vstr("SUCCESS")), fl("error", vstrn("")), fl("transactionResponse", vobj(
		fl("orderId", vint(1400449660)), fl("transactionId", vstr("ca2c9e12-3fb6-47b8-9800-3c391010a88d")),
		fl("state", vstr("APPROVED")), fl("responseCode", vstr("APPROVED")),
		fl("operationDate", vint(1624461913704)),
		fl("extraParameters", vmap(fl("TRANSBANK_DIRECT_TOKEN", vstr("01ab0f9bd7a1b1e1d1c1b1a191817161514131211101f1e1d1c1b1a19181716"))))),
	))
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			encodeJSON(v)
		}
	})
	b.Run("xml", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			encodeXML("paymentResponse", v, datesBogota)
		}
	})
}

func BenchmarkCheckOrderSignature(b *testing.B) {
	const ref = "PRODUCT_TEST_2021-06-25T16:33:48.512Z"
	got := OrderSignature(TestAPIKey, 508029, ref, "10000", "CLP")
	b.ReportAllocs()
	for b.Loop() {
		if !checkOrderSignature("checked", TestAPIKey, 508029, ref, "10000", "CLP", got).ok {
			b.Fatal("no match")
		}
	}
}
