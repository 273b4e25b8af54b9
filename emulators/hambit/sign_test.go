package hambit

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
)

type vectorFile struct {
	Source    string   `json:"source"`
	SecretKey string   `json:"secret_key"`
	AccessKey string   `json:"access_key"`
	Timestamp string   `json:"timestamp"`
	Nonce     string   `json:"nonce"`
	Vectors   []vector `json:"vectors"`
}

type vector struct {
	Name     string `json:"name"`
	BodyFile string `json:"body_file"`
	Empty    string `json:"empty"`
	String   string `json:"string"`
	Sign     string `json:"sign"`
}

func loadVectors(t testing.TB) (vectorFile, map[string][]byte) {
	t.Helper()
	b, err := os.ReadFile("testdata/signatures/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(b, &vf); err != nil {
		t.Fatal(err)
	}
	bodies := map[string][]byte{}
	for _, v := range vf.Vectors {
		if v.BodyFile == "" {
			continue
		}
		body, err := os.ReadFile(filepath.Join("testdata", v.BodyFile))
		if err != nil {
			t.Fatal(err)
		}
		bodies[v.BodyFile] = body
	}
	return vf, bodies
}

// TestSignatureVectors replays every worked vector of spec §5.6 with the
// sandbox's canonicaliser and signer (H-01, H-02).
func TestSignatureVectors(t *testing.T) {
	vf, bodies := loadVectors(t)
	if len(vf.Vectors) != 8 {
		t.Fatalf("%d vectors, want 8", len(vf.Vectors))
	}
	for _, v := range vf.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			ps, err := parseParams(bodies[v.BodyFile])
			if err != nil {
				t.Fatalf("parseParams: %v", err)
			}
			got := canonical(ps, vf.AccessKey, vf.Timestamp, vf.Nonce, canonOptions{includeEmpty: v.Empty == "include"})
			if got != v.String {
				t.Errorf("string to sign\n got %s\nwant %s", got, v.String)
			}
			if sig := hmacSign(vf.SecretKey, v.String); sig != v.Sign {
				t.Errorf("sign of the documented string = %s, want %s", sig, v.Sign)
			}
			if sig := hmacSign(vf.SecretKey, got); sig != v.Sign {
				t.Errorf("sign = %s, want %s", sig, v.Sign)
			}
			// The verifier accepts the vector's sign.
			cs := candidates(ps, vf.SecretKey, vf.AccessKey, vf.Timestamp, vf.Nonce)
			if matchSign(cs, v.Sign) < 0 {
				t.Errorf("the verifier rejects %s", v.Sign)
			}
			if v.Empty == "skip" {
				sig, err := SignRequest(vf.AccessKey, vf.SecretKey, bodies[v.BodyFile], vf.Timestamp, vf.Nonce)
				if err != nil || sig != v.Sign {
					t.Errorf("SignRequest = %s, %v; want %s", sig, err, v.Sign)
				}
			}
		})
	}
}

// TestFloatTrap is conformance check 2 (H-02): the numeric body signs its raw text
// (tNylf4Zh…); a float re-rendering gives the string-amount sign (qZXT7flz…).
func TestFloatTrap(t *testing.T) {
	vf, bodies := loadVectors(t)
	numeric := bodies["requests/vector4_payment_callback_numeric.json"]
	if !strings.Contains(string(numeric), `"orderActualAmount":100.000000`) {
		t.Fatal("fixture lost its raw number text")
	}
	ps, _ := parseParams(numeric)
	raw := hmacSign(vf.SecretKey, canonical(ps, vf.AccessKey, vf.Timestamp, vf.Nonce, canonOptions{}))
	short := hmacSign(vf.SecretKey, canonical(ps, vf.AccessKey, vf.Timestamp, vf.Nonce, canonOptions{shortest: true}))
	if raw != "tNylf4Zh1H62GOulZkzkV+SMpwc=" {
		t.Errorf("raw-text sign = %s", raw)
	}
	if short != "qZXT7flzcTMvP3KzeQ/fJ4iAVQ8=" {
		t.Errorf("re-rendered (PHP/JS) sign = %s, want the string-amount sign", short)
	}
}

func TestShortestNumber(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0", "0"}, {"100", "100"}, {"-7", "-7"},
		{"100.50", "100.5"}, {"100.000000", "100"}, {"1.000000", "1"}, {"0.10", "0.1"},
		{"1e3", "1000"}, {"1E3", "1000"}, {"1.5e-3", "0.0015"}, {"12.5e1", "125"}, {"-0.0", "0"},
		{"1713319900000", "1713319900000"}, {"1.7133199e+12", "1713319900000"}, {"1e999", "1e999"},
		{"0.000e5", "0"}, {"25e-1", "2.5"},
	}
	for _, tt := range tests {
		if got := shortestNumber(tt.in); got != tt.want {
			t.Errorf("shortestNumber(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestCanonicalRendering covers the value table of spec §5.2 and check 3 (H-03).
func TestCanonicalRendering(t *testing.T) {
	body := `{"s":"a&b=c /d","n":100.50,"z":0,"t":true,"f":false,"nul":null,"e":"","o":{ "k" : [1, 2] },"u":"\u00e9\n",` +
		`"sign":"dropped","access_key":"body-value","Upper":"x","_u":"y"}`
	ps, err := parseParams([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	skip := canonical(ps, "K", "1", "N", canonOptions{})
	want := `Upper=x&_u=y&access_key=K&f=false&n=100.50&nonce=N&o={"k":[1,2]}&s=a&b=c /d&t=true&timestamp=1&u=é` + "\n" + `&z=0`
	if skip != want {
		t.Errorf("skip:\n got %q\nwant %q", skip, want)
	}
	inc := canonical(ps, "K", "1", "N", canonOptions{includeEmpty: true, shortest: true})
	for _, part := range []string{"&e=&", "&n=100.5&", "&nul=&", "&z=0"} {
		if !strings.Contains(inc, part) {
			t.Errorf("include/shortest %q lacks %q", inc, part)
		}
	}
	// "inputCpf": 0 signs as 0 (WOO), and both number forms are accepted.
	ps, _ = parseParams([]byte(`{"inputCpf":0,"amount":100.50}`))
	cs := candidates(ps, "sec", "K", "1", "N")
	if !strings.Contains(cs[0].str, "inputCpf=0") || !strings.Contains(cs[0].str, "amount=100.50") {
		t.Errorf("raw candidate %q", cs[0].str)
	}
	short := hmacSign("sec", "access_key=K&amount=100.5&inputCpf=0&nonce=N&timestamp=1")
	if matchSign(cs, short) < 0 {
		t.Error("the shortest form 100.5 is not accepted for 100.50")
	}
}

func TestParseParamsRejects(t *testing.T) {
	for _, body := range []string{`[]`, `"x"`, `1`, `{`, `{"a":}`, `{"a":1}x`, `{"a":1}{}`, "{\"a\":\"\xff\"}", `{1:2}`, `nul`} {
		if _, err := parseParams([]byte(body)); err == nil {
			t.Errorf("parseParams(%q) accepted", body)
		}
	}
	for _, body := range []string{``, `  `, `{}`, ` {"a" : 1 } `} {
		if _, err := parseParams([]byte(body)); err != nil {
			t.Errorf("parseParams(%q): %v", body, err)
		}
	}
}

// FuzzCanonical (H-20): the canonicaliser never panics, and what SignRequest signs
// the verifier accepts (conformance check 20).
func FuzzCanonical(f *testing.F) {
	_, bodies := loadVectors(f)
	for _, b := range bodies {
		f.Add(b, "1713319809342", "794c26b0-d33c-4394-b2bb-c485eca16d9e")
	}
	f.Add([]byte(`{"a":1e5,"b":[{"c":null}],"d":"\u0000"}`), "1", "n")
	f.Add([]byte(`{"amount":-0.0e-0}`), "", "")
	f.Fuzz(func(t *testing.T, body []byte, ts, nonce string) {
		ps, err := parseParams(body)
		if err != nil {
			return
		}
		sig, err := SignRequest("K", "secret", body, ts, nonce)
		if err != nil {
			t.Fatalf("parseParams accepted but SignRequest failed: %v", err)
		}
		if matchSign(candidates(ps, "secret", "K", ts, nonce), sig) != 0 {
			t.Fatal("the skip/raw candidate does not verify SignRequest's sign")
		}
		for k, p := range ps {
			if p.kind == wire.LitNumber {
				_ = shortestNumber(p.text)
			}
			_ = k
		}
	})
}

// FuzzVerifyHeaders (H-20): the header reader and verifier never panic on any
// header values or body.
func FuzzVerifyHeaders(f *testing.F) {
	f.Add("pFqV75X3", "1713319809342", "794c26b0-d33c-4394-b2bb-c485eca16d9e", "AfAk4gmaxDOy/L5m7iD9hpH6r8U=", []byte(`{"amount":"100"}`))
	f.Add("", "171331980934", "not-a-uuid", "", []byte(`{`))
	f.Add("k", "1713319809", "794C26B0-D33C-4394-B2BB-C485ECA16D9E", "====", []byte("\xff"))
	f.Fuzz(func(t *testing.T, key, ts, nonce, sign string, body []byte) {
		h := map[string][]string{"access_key": {key}, "Timestamp": {ts}, "NONCE": {nonce}, "sign": {sign}}
		a, msg := readAuthHeaders(h)
		if msg != "" {
			return
		}
		ps, err := parseParams(body)
		if err != nil {
			return
		}
		cs := candidates(ps, "secret", a.accessKey, a.timestamp, a.nonce)
		if i := matchSign(cs, a.sign); i >= 0 && cs[i].sign != a.sign {
			t.Fatal("matched a different sign")
		}
	})
}

// TestCallbackSignerReproducesVectors is conformance check 1 (H-01): the sandbox's
// callback body builder reproduces vector 3's bytes, and its signer vector
// 3's and every vector 4 value (both conventions, both amount formats).
func TestCallbackSignerReproducesVectors(t *testing.T) {
	vf, bodies := loadVectors(t)
	v3 := order{Kind: kindTransfer, Currency: "CLP", BankCode: "0001", BankName: "Banco de Chile",
		OrderID: "OCURRDRAW202404170213471713320027005DEV001OO0000000200015039", AccountType: "3",
		Fee: emulators.DecimalFromInt(10), Status: statusSuccess, ExternalOrderID: "13123212", PayTypeName: "BANK",
		Amount: emulators.DecimalFromInt(1000), Created: time.UnixMilli(1713320027005), PayType: payTypeTransferBank,
		UserInfoName: "test", AccountNo: "3193525521"}
	if got, want := string(v3.transferCallbackBody()), string(bodies["requests/vector3_transfer_callback.json"]); got != want {
		t.Errorf("transfer callback body\n got %s\nwant %s", got, want)
	}
	v4 := order{Kind: kindCollection, Currency: "CLP", ExternalOrderID: "1231231231231111",
		ActualAmount: emulators.DecimalFromInt(100), Amount: emulators.DecimalFromInt(100), Fee: emulators.DecimalFromInt(1),
		OrderID: "OCURRPAID202404170210091713319809381DEV001OO0000000400015035", PaidAt: time.UnixMilli(1713319900000),
		Status: statusPaid, Created: time.UnixMilli(1713319809383), PayType: payTypeBank, PayTypeName: "BANK",
		LinkBase: "http://127.0.0.1:8080", CashierID: "C", ChannelOrderID: "P"}
	docPayParam := `"/?cashier_version=19&sign=iM8Axv/9YjvctuhJNW/XLg==&currency=CLP&pay_id=02024041620101006400131"`
	ourPayParam := `"http://127.0.0.1:8080/hambit/cashier/C?currency=CLP&pay_id=P"`
	for _, tc := range []struct {
		numeric bool
		file    string
	}{{false, "requests/vector4_payment_callback.json"}, {true, "requests/vector4_payment_callback_numeric.json"}} {
		got := strings.Replace(string(v4.paymentCallbackBody(tc.numeric)), ourPayParam, docPayParam, 1)
		if want := string(bodies[tc.file]); got != want {
			t.Errorf("payment callback body (numeric %v)\n got %s\nwant %s", tc.numeric, got, want)
		}
	}
	for _, v := range vf.Vectors {
		if !strings.Contains(v.Name, "callback") {
			continue
		}
		acct := newAccount(Account{AccessKey: vf.AccessKey, SecretKey: vf.SecretKey, CallbackEmptyValues: v.Empty})
		str, sign := signCallback(acct, vf.SecretKey, bodies[v.BodyFile], vf.Timestamp, vf.Nonce)
		if str != v.String || sign != v.Sign {
			t.Errorf("%s: signer gives %s for\n%s", v.Name, sign, str)
		}
	}
}
