package sandbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"testing"
)

// The demo shop verifies callbacks with its own code, as a merchant does;
// these are the providers' published vectors (docs/*.md), so the
// shop's verifiers are a second, independent implementation of each rule.

// TestDemoKhipuWebhookVector checks the shop's verifier of Khipu's
// notification API 3.0 signature (khipu.md §13.2).
func TestDemoKhipuWebhookVector(t *testing.T) {
	// khipu.md §13.2: the notification API 3.0 vector.
	body := []byte(`{"payment_id":"gqzdy6chjne9","receiver_id":1234,"subject":"Compra de prueba","amount":"1570.00","discount":"0.00","currency":"CLP","transaction_id":"ORD-1"}`)
	if !khipuVerifyWebhook("abc123", "t=1711965600393,s=SlHWGYAqXzBrddxxmNVQDP25phhNyHmVwq2uwGgHmCg=", body) {
		t.Error("the khipu.md §13.2 webhook vector does not verify")
	}
	if khipuVerifyWebhook("abc123", "t=1711965600394,s=SlHWGYAqXzBrddxxmNVQDP25phhNyHmVwq2uwGgHmCg=", body) ||
		khipuVerifyWebhook("abc124", "t=1711965600393,s=SlHWGYAqXzBrddxxmNVQDP25phhNyHmVwq2uwGgHmCg=", body) ||
		khipuVerifyWebhook("abc123", "", body) {
		t.Error("a wrong t, key or a missing header verified")
	}
}

func TestDemoHambitSignatureVectors(t *testing.T) {
	const secret, key, ts, nonce = "emulator-test-secret", "pFqV75X3", "1713319809342", "794c26b0-d33c-4394-b2bb-c485eca16d9e"
	v1 := []byte(`{"amount":"100","channelType":"BANK","externalOrderId":"1231231231231111","userInfoType":"CASH","customerType":"RUT","userInfoNo":"12312321","notifyUrl":"https://merchant.example/hambit/notify","remark":"","returnUrl":"https://merchant.example/return"}`)
	v4numeric := []byte(`{"currencyType":"CLP","errorMsg":"","errorMsgEn":"","externalOrderId":"1231231231231111","markStatus":0,"orderActualAmount":100.000000,"orderAmount":100.000000,"orderFee":1.000000,"orderId":"OCURRPAID202404170210091713319809381DEV001OO0000000400015035","orderPayTime":1713319900000,"orderStatus":"Payment success","orderStatusCode":2,"orderTime":1713319809000,"payParam":"/?cashier_version=19&sign=iM8Axv/9YjvctuhJNW/XLg==&currency=CLP&pay_id=02024041620101006400131","payType":102,"payTypeName":"BANK","tradeNote":""}`)
	tests := []struct {
		name    string
		body    []byte
		include bool
		sign    string
	}{
		{"vector 1 skip", v1, false, "AfAk4gmaxDOy/L5m7iD9hpH6r8U="},
		{"vector 1 include", v1, true, "zz+RXrWbEJdN/67U8EtBkfcM2BQ="},
		{"vector 2 GET", nil, false, "mFjgaDDYQL2Mtc0qNKDcyfIb2X0="},
		{"vector 3 transfer callback", []byte(`{"currencyType":"CLP","accountCode":"0001","accountName":"Banco de Chile","orderId":"OCURRDRAW202404170213471713320027005DEV001OO0000000200015039","accountType":"3","orderFee":"10","orderStatus":"Success","externalOrderId":"13123212","payTypeName":"BANK","orderAmount":"1000","orderTime":1713320027000,"payType":202,"userInfoName":"test","accountNo":"3193525521","orderStatusCode":8,"markStatus":0}`), false, "ayRsnKEjaYo1BjYFiWKg4rIpxTM="},
		{"vector 4 numeric amounts, raw text", v4numeric, false, "tNylf4Zh1H62GOulZkzkV+SMpwc="},
		{"vector 4 numeric amounts, include", v4numeric, true, "x1lZ7+iif5amFQZ6n+WB60Re6LQ="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := hambitStringToSign(tt.body, key, ts, nonce, tt.include)
			if err != nil {
				t.Fatal(err)
			}
			if got := hambitSign(secret, s); got != tt.sign {
				t.Errorf("sign = %s, want %s\n%s", got, tt.sign, s)
			}
			if !hambitVerify(secret, tt.body, key, ts, nonce, tt.sign, tt.include) {
				t.Error("hambitVerify rejects the vector")
			}
			if hambitVerify(secret+"-wrong", tt.body, key, ts, nonce, tt.sign, tt.include) || hambitVerify(secret, tt.body, key, ts, nonce+"0", tt.sign, tt.include) {
				t.Error("hambitVerify accepts a wrong key or nonce")
			}
		})
	}
	if _, err := hambitStringToSign([]byte(`[1,2]`), key, ts, nonce, false); err == nil {
		t.Error("a non-object body was signed")
	}
}

func TestDemoPayUSignatureVectors(t *testing.T) {
	const key, merchant = "4Vj8eK4rloUd272L48hsrarnUA", "508029"
	confirmations := []struct{ ref, value, currency, state, want string }{
		{"TestPayU04", "150.00", "USD", "6", "df67936f918887b2aa31688a77a10fe1"},
		{"TestPayU05", "150.26", "USD", "4", "1d95778a651e11a0ab93c2169a519cd6"},
		{"2205229", "3.00", "USD", "4", "cc3c8101113b056bc4b5b3d289dbb106"},
		{"PRODUCT_TEST_2021-06-25T16:33:48.512Z", "10000.00", "CLP", "4", "934a75dd86f5711d34a431c6c9ce905b"},
	}
	for _, c := range confirmations {
		v, err := payuConfirmationValue(c.value)
		if err != nil || !payuVerify(c.want, key, merchant, c.ref, v, c.currency, c.state) {
			t.Errorf("confirmation %s %s: value %q does not verify", c.ref, c.value, v)
		}
		if payuVerify(c.want, key, merchant, c.ref, v, c.currency, "7") {
			t.Errorf("confirmation %s verifies with another state_pol", c.ref)
		}
	}
	responses := []struct{ value, rendered, want string }{
		{"150.25", "150.2", "00286dc735bd9eaa8ae3a3a4cbb40688"},
		{"150.35", "150.4", "9df2bb60e2838170009040982967923f"},
		{"150.34", "150.3", "779f163be9347a691bcdb25064644795"},
	}
	for _, r := range responses {
		v, err := payuResponseValue(r.value)
		if err != nil || v != r.rendered || !payuVerify(r.want, key, merchant, "TestPayU04", v, "USD", "6") {
			t.Errorf("response page %s → %q, want %s verifying", r.value, v, r.rendered)
		}
	}
	if v, _ := payuResponseValue("0.15"); v != "0.2" {
		t.Errorf("0.15 → %s, want 0.2 (half-even in decimal arithmetic)", v)
	}
}

func FuzzDemoHambitVerify(f *testing.F) {
	f.Add([]byte(`{"amount":"100","n":1.50,"x":null,"o":{"a":[1,2]}}`), "AfAk4gmaxDOy/L5m7iD9hpH6r8U=")
	f.Add([]byte(`{`), "")
	f.Add([]byte(`"str"`), "!!")
	f.Fuzz(func(t *testing.T, body []byte, sign string) {
		hambitVerify("k", body, "a", "1", "n", sign, false) // never panics
		if s, err := hambitStringToSign(body, "a", "1", "n", false); err == nil && !hambitVerify("k", body, "a", "1", "n", hambitSign("k", s), false) {
			t.Fatalf("own signature does not verify: %q", s)
		}
	})
}

func FuzzDemoKhipuVerifyWebhook(f *testing.F) {
	f.Add("abc123", "t=1711965600393,s=SlHWGYAqXzBrddxxmNVQDP25phhNyHmVwq2uwGgHmCg=", []byte(`{}`))
	f.Add("", "t=,s=", []byte(nil))
	f.Fuzz(func(t *testing.T, secret, header string, body []byte) {
		khipuVerifyWebhook(secret, header, body) // never panics
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte("42."))
		m.Write(body)
		if !khipuVerifyWebhook(secret, "t=42,s="+base64.StdEncoding.EncodeToString(m.Sum(nil)), body) {
			t.Fatal("a correctly signed body does not verify")
		}
	})
}
