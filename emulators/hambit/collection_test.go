package hambit

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/paysandbox/sandbox/emulators/internal/sandboxtest"
)

// docInstant is the creation time of the spec's examples (vector 1).
var docInstant = time.UnixMilli(1713319809342)

// atDocInstant moves a bubble's clock (2000-01-01) to the examples' instant
// and makes the service's wall clock agree, so the literal vectors replay.
func atDocInstant(t *testing.T, e *testEnv) {
	t.Helper()
	if err := e.Clock.Advance(time.Until(docInstant)); err != nil {
		t.Fatal(err)
	}
	e.svc.wallNow = func() time.Time { return docInstant }
}

// replayVector1 sends vector 1's body and headers verbatim with sign.
func replayVector1(t *testing.T, e *testEnv, sign string) reply {
	t.Helper()
	body, err := os.ReadFile("testdata/requests/vector1_create_collection.json")
	if err != nil {
		t.Fatal(err)
	}
	rec := e.do("POST", "http://127.0.0.1:8080/hambit/api/v3/chl/createCollectingOrder", string(body),
		"Content-Type: application/json;charset=utf-8", "access_key: pFqV75X3", "timestamp: 1713319809342",
		"nonce: 794c26b0-d33c-4394-b2bb-c485eca16d9e", "sign: "+sign)
	return wantCode(t, rec, 200, "200")
}

var idRE = regexp.MustCompile(`^OCURR(PAID|DRAW)[0-9]{27}[A-Z0-9-]{8}0000000[24][0-9]{8}$`)

// TestCreateCollectionResponse replays vector 1 (both signs) and checks the
// answer against spec §6.2's example (conformance checks 1 and 11: H-01, H-11).
func TestCreateCollectionResponse(t *testing.T) {
	for _, tc := range []struct{ name, sign string }{
		{"H-01 vector 1 skip", "AfAk4gmaxDOy/L5m7iD9hpH6r8U="},
		{"H-01 vector 1 include", "zz+RXrWbEJdN/67U8EtBkfcM2BQ="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newTestEnv(t, nil, sandboxtest.Options{})
				atDocInstant(t, e)
				r := replayVector1(t, e, tc.sign)
				sandboxtest.Golden(t, "create_collection_vector1.json", indent(t, []byte(r.raw)))

				var d struct {
					CashierURL            string          `json:"cashierUrl"`
					Currency              string          `json:"currency"`
					Vo                    map[string]any  `json:"currencyOrderVo"`
					CashierCurrencyAmount json.Number     `json:"cashierCurrencyAmount"`
					CashierExpireTime     json.Number     `json:"cashierExpireTime"`
					CashierID             string          `json:"cashierId"`
					IsCreateOrder         bool            `json:"isCreateOrder"`
					MerchantID            json.Number     `json:"merchantId"`
					PayType               json.Number     `json:"payType"`
					ReturnURL             string          `json:"returnUrl"`
					UserInfoName          *string         `json:"userInfoName"`
					UserInfoNo            string          `json:"userInfoNo"`
					UserInfoType          string          `json:"userInfoType"`
					Version               *string         `json:"version"`
					Extra                 json.RawMessage `json:"-"`
				}
				r.into(t, &d)
				const cashierID = "OCURRPAID202404170210091713319809342SANDBOX10000000200000001"
				const orderIDWant = "OCURRPAID202404170210091713319809342SANDBOX10000000400000002"
				payURL := "http://127.0.0.1:8080/hambit/cashier/" + cashierID + "?currency=CLP&pay_id=02024041702100900000002"
				checks := []struct {
					name      string
					got, want any
				}{
					{"currency", d.Currency, "CLP"},
					{"cashierId", d.CashierID, cashierID},
					{"cashierCurrencyAmount", d.CashierCurrencyAmount.String(), "100.000"},
					{"cashierExpireTime", d.CashierExpireTime.String(), "1713321609342"},
					{"isCreateOrder", d.IsCreateOrder, true},
					{"merchantId", d.MerchantID.String(), "1707285840326127617"},
					{"payType", d.PayType.String(), "102"},
					{"returnUrl", d.ReturnURL, "https://merchant.example/return"},
					{"userInfoNo", d.UserInfoNo, "12312321"},
					{"userInfoType", d.UserInfoType, "CASH"},
					{"vo.orderId", d.Vo["orderId"], orderIDWant},
					{"vo.externalOrderId", d.Vo["externalOrderId"], "1231231231231111"},
					{"vo.amount", d.Vo["amount"], "100"},
					{"vo.tradeNote", d.Vo["tradeNote"], ""},
					{"vo.channelId", d.Vo["channelId"], json.Number("1000000000000000102")},
					{"vo.merchantName", d.Vo["merchantName"], "hambit_doc_sample"},
					{"vo.orderStatus", d.Vo["orderStatus"], "Awaiting Payment"},
					{"vo.orderStatusCode", d.Vo["orderStatusCode"], json.Number("1")},
					{"vo.orderTime", d.Vo["orderTime"], json.Number("1713319809342")},
					{"vo.payParam", d.Vo["payParam"], payURL},
					{"vo.payUrl", d.Vo["payUrl"], payURL},
					{"vo.payTypeName", d.Vo["payTypeName"], "BANK"},
				}
				for _, c := range checks {
					if c.got != c.want {
						t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
					}
				}
				if d.UserInfoName == nil || *d.UserInfoName != "" || d.Version == nil || *d.Version != "" {
					t.Error("userInfoName and version must be empty strings")
				}
				if !idRE.MatchString(d.CashierID) || !idRE.MatchString(d.Vo["orderId"].(string)) || len(d.CashierID) != 60 {
					t.Errorf("ids do not match §7.2: %s %s", d.CashierID, d.Vo["orderId"])
				}
				// Key order of the answer (spec §6.2).
				keys := []string{`"cashierUrl"`, `"currency"`, `"currencyOrderVo"`, `"orderId"`, `"externalOrderId"`, `"amount"`,
					`"tradeNote"`, `"channelId"`, `"merchantName"`, `"payUrl"`, `"cashierCurrencyAmount"`, `"cashierExpireTime"`,
					`"cashierId"`, `"isCreateOrder"`, `"merchantId"`, `"payType"`, `"returnUrl"`, `"userInfoName"`, `"version"`}
				last := -1
				for _, k := range keys {
					i := strings.Index(r.raw[last+1:], k)
					if i < 0 {
						t.Fatalf("key %s missing or out of order in %s", k, r.raw)
					}
					last += 1 + i
				}
				checkCashierURL(t, d.CashierURL, cashierID)
			})
		})
	}
}

// checkCashierURL decodes data and pm of a cashier URL (check 11).
func checkCashierURL(t *testing.T, cashierURL, cashierID string) {
	t.Helper()
	base := "http://127.0.0.1:8080/hambit/cashier/" + cashierID
	if !strings.HasPrefix(cashierURL, base+"?data=") {
		t.Fatalf("cashierUrl = %s", cashierURL)
	}
	rest := strings.TrimPrefix(cashierURL, base+"?data=")
	dataB64, pmB64, ok := strings.Cut(rest, "&pm=")
	if !ok {
		t.Fatalf("cashierUrl without pm: %s", cashierURL)
	}
	data, err := base64.StdEncoding.DecodeString(dataB64)
	if err != nil {
		t.Fatalf("data is not standard Base64: %v", err)
	}
	want := `{"cashierCurrencyAmount":100.000,"cashierExpireTime":1713321609342,"cashierId":"` + cashierID + `","cashierUrl":"` + base +
		`","currency":"CLP","currencyOrderVo":{"amount":100.000,"channelId":1000000000000000102,"currency":"CLP","externalOrderId":"1231231231231111",` +
		`"merchantName":"hambit_doc_sample","orderId":"OCURRPAID202404170210091713319809342SANDBOX10000000400000002","orderStatus":"Awaiting Payment",` +
		`"orderStatusCode":1,"orderTime":1713319809342,"payParam":"` + base + `?currency=CLP&pay_id=02024041702100900000002","payType":102,` +
		`"payTypeName":"BANK","payUrl":"` + base + `?currency=CLP&pay_id=02024041702100900000002","tradeNote":""},"isCreateOrder":true,` +
		`"merchantId":1707285840326127617,"payType":102,"returnUrl":"https://merchant.example/return","userInfoName":"","userInfoNo":"12312321",` +
		`"userInfoType":"CASH","version":""}`
	if string(data) != want {
		t.Errorf("decoded data\n got %s\nwant %s", data, want)
	}
	pm, err := base64.StdEncoding.DecodeString(pmB64)
	if err != nil || string(pm) != pmList {
		t.Errorf("pm decodes to %s (%v)", pm, err)
	}
	// The documentation's own pm parameter is the same list.
	docPM := "W3siY3VycmVuY3lUeXBlIjoiU09MIiwicGF5VHlwZXMiOlt7ImNvZGUiOjEwMiwidmFsdWUiOiJCQU5LIn0seyJjb2RlIjoxMTgsInZhbHVlIjoiZ2VuIn1dfSx7ImN1cnJlbmN5VHlwZSI6Ik1YTiIsInBheVR5cGVzIjpbeyJjb2RlIjoxMDIsInZhbHVlIjoiQkFOSyJ9LHsiY29kZSI6MTEwLCJ2YWx1ZSI6Ik9YWE8ifSx7ImNvZGUiOjExMSwidmFsdWUiOiJDYXNoIn1dfSx7ImN1cnJlbmN5VHlwZSI6Ik5HTiIsInBheVR5cGVzIjpbeyJjb2RlIjoxMDIsInZhbHVlIjoiQkFOSyJ9LHsiY29kZSI6MTA3LCJ2YWx1ZSI6IkNoYXJnZSJ9XX0seyJjdXJyZW5jeVR5cGUiOiJDT1AiLCJwYXlUeXBlcyI6W3siY29kZSI6MTAyLCJ2YWx1ZSI6IkJBTksifSx7ImNvZGUiOjExOCwidmFsdWUiOiJnZW4ifV19LHsiY3VycmVuY3lUeXBlIjoiSURSIiwicGF5VHlwZXMiOlt7ImNvZGUiOjEwMiwidmFsdWUiOiJCQU5LIn0seyJjb2RlIjoxMDQsInZhbHVlIjoiVmlydHVhbCBBY2NvdW50cyJ9LHsiY29kZSI6MTA1LCJ2YWx1ZSI6IlFSSVMifSx7ImNvZGUiOjEwNiwidmFsdWUiOiJFV2FsbGV0In1dfSx7ImN1cnJlbmN5VHlwZSI6IkNMUCIsInBheVR5cGVzIjpbeyJjb2RlIjoxMDIsInZhbHVlIjoiQkFOSyJ9LHsiY29kZSI6MTE4LCJ2YWx1ZSI6ImdlbiJ9XX0seyJjdXJyZW5jeVR5cGUiOiJLRVMiLCJwYXlUeXBlcyI6W3siY29kZSI6MTA3LCJ2YWx1ZSI6IkNoYXJnZSJ9XX0seyJjdXJyZW5jeVR5cGUiOiJJTlIiLCJwYXlUeXBlcyI6W3siY29kZSI6MTAyLCJ2YWx1ZSI6IkJBTksifV19LHsiY3VycmVuY3lUeXBlIjoiQlJMIiwicGF5VHlwZXMiOlt7ImNvZGUiOjEwMSwidmFsdWUiOiJQSVgifSx7ImNvZGUiOjEwMywidmFsdWUiOiJQSVhfRFlOQU1JQyJ9LHsiY29kZSI6MTA5LCJ2YWx1ZSI6IkJvbGV0byJ9XX0seyJjdXJyZW5jeVR5cGUiOiJWTkQiLCJwYXlUeXBlcyI6W3siY29kZSI6MTEzLCJ2YWx1ZSI6IkJhbmtTY2FuQ29kZSJ9LHsiY29kZSI6MTE0LCJ2YWx1ZSI6IkJhbmtDYXJkVG9DYXJkVHJhbnNmZXIifSx7ImNvZGUiOjExNSwidmFsdWUiOiJNT01PIn0seyJjb2RlIjoxMTYsInZhbHVlIjoiWmFsb1BheSJ9LHsiY29kZSI6MTE3LCJ2YWx1ZSI6IlZpZXR0ZWxNb25leSJ9LHsiY29kZSI6MTAyLCJ2YWx1ZSI6IkJBTksifV19XQ=="
	if pmB64 != docPM {
		t.Error("pm parameter differs from CL §5.2's")
	}
	if _, err := url.Parse(cashierURL); err != nil {
		t.Errorf("cashierUrl does not parse: %v", err)
	}
}
