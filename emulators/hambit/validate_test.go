package hambit

import (
	"strings"
	"testing"

	"github.com/paysandbox/sandbox/emulators/internal/sandboxtest"
)

// TestCollectionFieldRules is conformance check 8 for spec §6.2: every rule
// answers a code-300 envelope whose detail names the field.
func TestCollectionFieldRules(t *testing.T) {
	e := newTestEnv(t, nil, sandboxtest.Options{})
	long := func(n int) string { return `"` + strings.Repeat("a", n) + `"` }
	tests := []struct {
		name   string
		mut    []string
		detail string
	}{
		{"amount missing", []string{"amount", "-"}, "amount: required"},
		{"amount empty", []string{"amount", `""`}, "amount: required"},
		{"amount null", []string{"amount", `null`}, "amount: required"},
		{"amount decimals", []string{"amount", `"100.5"`}, "amount: Expected integer"},
		{"amount decimal zero", []string{"amount", `"100.0"`}, "amount: Expected integer"},
		{"amount number with decimals", []string{"amount", `100.50`}, "amount: Expected integer"},
		{"amount zero", []string{"amount", `"0"`}, "amount: must be greater than 0"},
		{"amount negative", []string{"amount", `"-5"`}, "amount: must be greater than 0"},
		{"amount leading zero", []string{"amount", `"0100"`}, "amount: Expected integer"},
		{"amount 13 digits", []string{"amount", `"1000000000000"`}, "amount: Expected integer"},
		{"amount text", []string{"amount", `"abc"`}, "amount: Expected integer"},
		{"amount exponent", []string{"amount", `1e3`}, "amount: Expected integer"},
		{"amount bool", []string{"amount", `true`}, "amount: must be a string or a number"},
		{"channelType missing", []string{"channelType", "-"}, "channelType: required"},
		{"channelType oneof", []string{"channelType", `"CARD"`}, "channelType: must be one of BANK GEN"},
		{"channelType case", []string{"channelType", `"bank"`}, "channelType: must be one of BANK GEN"},
		{"channelType number", []string{"channelType", `1`}, "channelType: must be a JSON string, got a number"},
		{"externalOrderId missing", []string{"externalOrderId", "-"}, "externalOrderId: required"},
		{"externalOrderId max+1", []string{"externalOrderId", long(65)}, "externalOrderId: max=64"},
		{"externalOrderId number", []string{"externalOrderId", `123456`}, "externalOrderId: must be a JSON string"},
		{"userInfoType missing", []string{"userInfoType", "-"}, "userInfoType: required"},
		{"userInfoType oneof", []string{"userInfoType", `"KHIPU"`}, "userInfoType: must be one of CASH TC NET_BANKING"},
		{"customerType missing", []string{"customerType", "-"}, "customerType: required"},
		{"customerType oneof", []string{"customerType", `"DNI"`}, "customerType: must be one of RUT PP"},
		{"userInfoNo missing", []string{"userInfoNo", "-"}, "userInfoNo: required"},
		{"userInfoNo max+1", []string{"userInfoNo", long(65)}, "userInfoNo: max=64"},
		{"userInfoNo number", []string{"userInfoNo", `12312321`}, "userInfoNo: must be a JSON string"},
		{"notifyUrl relative", []string{"notifyUrl", `"/notify"`}, "notifyUrl: must be an absolute http or https URL"},
		{"notifyUrl ftp", []string{"notifyUrl", `"ftp://x.example/n"`}, "notifyUrl: must be an absolute http or https URL"},
		{"notifyUrl number", []string{"notifyUrl", `5`}, "notifyUrl: must be a JSON string"},
		{"remark max+1", []string{"remark", long(256)}, "remark: max=255"},
		{"returnUrl bad", []string{"returnUrl", `"merchant.example/return"`}, "returnUrl: must be an absolute http or https URL"},
	}
	for i, tt := range tests {
		t.Run("H-08 "+tt.name, func(t *testing.T) {
			body := collectionBody("V-"+itoa(int64(i)), tt.mut...)
			rec := e.api("POST", createPath, body)
			wantCode(t, rec, 200, "300")
			if d := rec.Header().Get("X-Sandbox-Error-Detail"); !strings.HasPrefix(d, tt.detail) {
				t.Errorf("detail %q, want prefix %q", d, tt.detail)
			}
		})
	}
	t.Run("H-08 accepted variants", func(t *testing.T) {
		for i, mut := range [][]string{
			{"amount", `1500`}, {"amount", `"999999999999"`}, {"remark", long(255)}, {"externalOrderId", long(64)},
			{"notifyUrl", `"https://m.example/n#frag"`}, {"notifyUrl", `""`}, {"remark", `null`}, {"channelType", `"GEN"`},
			{"returnUrl", "-"}, {"unknownKey", `{"nested":[1]}`},
		} {
			wantCode(t, e.api("POST", createPath, collectionBody("OK-"+itoa(int64(i)), mut...)), 200, "200")
		}
	})
	t.Run("H-08 every broken rule is reported in table order", func(t *testing.T) {
		rec := e.api("POST", createPath, `{"amount":"1.5","channelType":"X"}`)
		d := rec.Header().Get("X-Sandbox-Error-Detail")
		if !strings.HasPrefix(d, "amount: Expected integer") || !strings.Contains(d, "; channelType: must be one of") ||
			strings.Index(d, "externalOrderId") > strings.Index(d, "userInfoType") {
			t.Errorf("detail %q", d)
		}
	})
}

// TestTransferFieldRules is conformance check 8 for spec §6.3.
func TestTransferFieldRules(t *testing.T) {
	e := newTestEnv(t, nil, sandboxtest.Options{})
	const path = "/hambit/api/v3/chl/createTransferOrder"
	long := func(n int) string { return `"` + strings.Repeat("a", n) + `"` }
	tests := []struct {
		name   string
		mut    []string
		detail string
	}{
		{"currencyAmount missing", []string{"currencyAmount", "-"}, "currencyAmount: required"},
		{"currencyAmount decimals", []string{"currencyAmount", `"10.5"`}, "currencyAmount: Expected integer"},
		{"currencyAmount zero", []string{"currencyAmount", `"0"`}, "currencyAmount: must be greater than 0"},
		{"currencyAmount negative", []string{"currencyAmount", `-10`}, "currencyAmount: must be greater than 0"},
		{"channelType missing", []string{"channelType", "-"}, "channelType: required"},
		{"channelType oneof", []string{"channelType", `"GEN"`}, "channelType: must be one of BANK"},
		{"externalOrderId missing", []string{"externalOrderId", `""`}, "externalOrderId: required"},
		{"externalOrderId max+1", []string{"externalOrderId", long(65)}, "externalOrderId: max=64"},
		{"accountNo missing", []string{"accountNo", "-"}, "accountNo: required"},
		{"accountNo max+1", []string{"accountNo", long(65)}, "accountNo: max=64"},
		{"accountNo number", []string{"accountNo", `3193525521`}, "accountNo: must be a JSON string"},
		{"userInfoName missing", []string{"userInfoName", "-"}, "userInfoName: required"},
		{"userInfoName max+1", []string{"userInfoName", long(129)}, "userInfoName: max=128"},
		{"accountType missing", []string{"accountType", "-"}, "accountType: required"},
		{"accountType oneof", []string{"accountType", `"4"`}, "accountType: must be one of 0 1 2 3"},
		{"accountType number", []string{"accountType", `3`}, "accountType: must be a JSON string"},
		{"userInfoNo missing", []string{"userInfoNo", "-"}, "userInfoNo: required"},
		{"userInfoNo RUT short", []string{"userInfoNo", `"12345-6"`}, "userInfoNo: a RUT (userInfoType 1) has 7 to 9 characters, got 6"},
		{"userInfoNo RUT long", []string{"userInfoNo", `"12.345.678-90"`}, "userInfoNo: a RUT (userInfoType 1) has 7 to 9 characters, got 10"},
		{"userInfoNo RUN", []string{"userInfoType", `"2"`, "userInfoNo", `"1234567-8"`}, "userInfoNo: a RUN (userInfoType 2) has 9 characters"},
		{"userInfoNo PAS", []string{"userInfoType", `"3"`, "userInfoNo", `"AB12345"`}, "userInfoNo: a passport or CE (userInfoType 3) has 9 characters or more"},
		{"userInfoNo CE", []string{"userInfoType", `"4"`, "userInfoNo", `"12345678"`}, "userInfoNo: a passport or CE (userInfoType 4) has 9 characters or more"},
		{"userInfoNo symbols", []string{"userInfoNo", `"1234*5678"`}, "userInfoNo: must be letters and digits"},
		{"userInfoType missing", []string{"userInfoType", "-"}, "userInfoType: required"},
		{"userInfoType oneof", []string{"userInfoType", `"5"`}, "userInfoType: must be one of 1 2 3 4"},
		{"bankName missing", []string{"bankName", "-"}, "bankName: required"},
		{"bankName unknown", []string{"bankName", `"Banco Imaginario"`}, "bankName: unknown bank"},
		{"bankName case", []string{"bankName", `"banco de chile"`}, "bankName: unknown bank"},
		{"remark max+1", []string{"remark", long(256)}, "remark: max=255"},
		{"notifyUrl bad", []string{"notifyUrl", `"notify"`}, "notifyUrl: must be an absolute http or https URL"},
	}
	for i, tt := range tests {
		t.Run("H-08 "+tt.name, func(t *testing.T) {
			rec := e.api("POST", path, transferBody("TV-"+itoa(int64(i)), tt.mut...))
			wantCode(t, rec, 200, "300")
			if d := rec.Header().Get("X-Sandbox-Error-Detail"); !strings.HasPrefix(d, tt.detail) {
				t.Errorf("detail %q, want prefix %q", d, tt.detail)
			}
		})
	}
	t.Run("H-08 accepted id numbers", func(t *testing.T) {
		for i, mut := range [][]string{
			{"userInfoType", `"1"`, "userInfoNo", `"1234567"`},
			{"userInfoType", `"2"`, "userInfoNo", `"12.345.678-9"`},
			{"userInfoType", `"3"`, "userInfoNo", `"PA1234567"`},
			{"userInfoType", `"4"`, "userInfoNo", `"123456789012"`},
			{"currencyAmount", `1000`},
		} {
			wantCode(t, e.api("POST", path, transferBody("TOK-"+itoa(int64(i)), mut...)), 200, "200")
		}
	})
	t.Run("H-08 other currencies use the generic rules", func(t *testing.T) {
		wantCode(t, e.api("POST", "/hambit/api/v3/mex/createTransferOrder", `{"currencyAmount":"10.123","externalOrderId":"MX-T1","accountNo":"1"}`), 200, "300")
		wantCode(t, e.api("POST", "/hambit/api/v3/mex/createTransferOrder", `{"currencyAmount":"10.12","externalOrderId":"MX-T2"}`), 200, "300")
		wantCode(t, e.api("POST", "/hambit/api/v3/mex/createTransferOrder", `{"currencyAmount":"10.12","externalOrderId":"MX-T3","accountNo":"1","userInfoType":"weird"}`), 200, "200")
	})
}

// TestDuplicateExternalOrderID is conformance check 9 (H-09).
func TestDuplicateExternalOrderID(t *testing.T) {
	e := newTestEnv(t, nil, sandboxtest.Options{})
	wantCode(t, e.api("POST", createPath, collectionBody("DUP-1")), 200, "200")
	rec := e.api("POST", createPath, collectionBody("DUP-1"))
	wantCode(t, rec, 200, "300")
	if d := rec.Header().Get("X-Sandbox-Error-Detail"); !strings.Contains(d, `externalOrderId "DUP-1" is already used by collection`) {
		t.Errorf("detail %q", d)
	}
	// Also through the alias segment, and in another currency: per merchant.
	wantCode(t, e.api("POST", "/hambit/api/v3/cl/createCollectingOrder", collectionBody("DUP-1")), 200, "300")
	// The same id as a transfer is allowed, once.
	wantCode(t, e.api("POST", "/hambit/api/v3/chl/createTransferOrder", transferBody("DUP-1")), 200, "200")
	wantCode(t, e.api("POST", "/hambit/api/v3/chl/createTransferOrder", transferBody("DUP-1")), 200, "300")
	// Another merchant may use it.
	wantCode(t, e.signed("POST", createPath, SampleAccessKey, SampleSecretKey, collectionBody("DUP-1")), 200, "200")
}
