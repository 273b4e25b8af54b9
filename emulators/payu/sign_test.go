package payu

import (
	"bufio"
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"

	"github.com/paysandbox/sandbox/emulators"
)

func loadVectors(t *testing.T, path string, fields int) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, "\t")
		if len(parts) != fields {
			t.Fatalf("%s: bad line %q", path, line)
		}
		out = append(out, parts)
	}
	return out
}

// PAYU check 1: every signature vector of §7.4, §10 and §11.2.
func TestSignatureVectors(t *testing.T) {
	t.Run("order", func(t *testing.T) {
		for _, v := range loadVectors(t, "testdata/signatures/order.txt", 3) {
			if got := hexHash(v[0], v[1]); got != v[2] {
				t.Errorf("%s(%s) = %s, want %s", v[0], v[1], got, v[2])
			}
		}
	})
	t.Run("confirmation", func(t *testing.T) {
		for _, v := range loadVectors(t, "testdata/signatures/confirmation.txt", 5) {
			if got := ConfirmationSignature(TestAPIKey, TestMerchantID, v[0], v[1], v[2], v[3]); got != v[4] {
				t.Errorf("sign(%v) = %s, want %s (string %s)", v, got, v[4], confirmationString(TestAPIKey, TestMerchantID, v[0], v[1], v[2], v[3]))
			}
		}
	})
	t.Run("response", func(t *testing.T) {
		for _, v := range loadVectors(t, "testdata/signatures/response.txt", 6) {
			if got := responseValue(v[1]); got != v[4] {
				t.Errorf("new_value(%s) = %s, want %s", v[1], got, v[4])
			}
			if v[5] == "-" {
				continue
			}
			if got := ResponseSignature(TestAPIKey, TestMerchantID, v[0], v[1], v[2], v[3]); got != v[5] {
				t.Errorf("signature(%v) = %s, want %s", v, got, v[5])
			}
		}
	})
	t.Run("php-0-decimals", func(t *testing.T) {
		// The PHP SDK rounds half-even to 0 decimals: 10.5→10, 11.5→12, 2.5→2.
		for in, want := range map[string]string{"10.5": "10", "11.5": "12", "2.5": "2", "10000": "10000", "10000.00": "10000"} {
			rs := renderings(in)
			if rs[1][1] != want {
				t.Errorf("0-decimal rendering of %s = %s, want %s", in, rs[1][1], want)
			}
		}
		if got := OrderSignature(TestAPIKey, TestMerchantID, "ref-usd", "10.5", "USD"); got != "dbbbce27de1057b89a525f5e719584da" {
			t.Errorf("PHP signature of 10.5 USD = %s", got)
		}
	})
}

// PAYU check 1: the candidate set and the modes.
func TestSignatureModes(t *testing.T) {
	ref := "PRODUCT_TEST_2021-06-25T16:33:48.512Z"
	cands := signatureCandidates(ModeChecked, TestAPIKey, TestMerchantID, ref, "10000", "CLP")
	if len(cands) != 9 {
		t.Fatalf("%d candidates for 10000, want 9 distinct", len(cands))
	}
	for _, c := range cands {
		for _, mode := range []string{ModeChecked, ModeLenient} {
			for _, sig := range []string{c.sig, strings.ToUpper(c.sig)} {
				if r := checkOrderSignature(mode, TestAPIKey, TestMerchantID, ref, "10000", "CLP", sig); !r.ok || !r.accepted {
					t.Errorf("%s %s rejected under %s", c.algo, c.rendering, mode)
				}
			}
		}
		strictOK := c.algo == "md5" && c.rendering == "as-sent"
		if r := checkOrderSignature(ModeStrict, TestAPIKey, TestMerchantID, ref, "10000", "CLP", c.sig); r.accepted != strictOK {
			t.Errorf("strict accepts %s/%s = %v, want %v", c.algo, c.rendering, r.accepted, strictOK)
		}
	}
	bad := "00000000000000000000000000000000"
	if r := checkOrderSignature(ModeChecked, TestAPIKey, TestMerchantID, ref, "10000", "CLP", bad); r.accepted || r.note.Verdict != "rejected" {
		t.Errorf("checked accepted a non-candidate")
	}
	if r := checkOrderSignature(ModeLenient, TestAPIKey, TestMerchantID, ref, "10000", "CLP", bad); !r.accepted || r.ok || r.note.Verdict != "tolerated" {
		t.Errorf("lenient: %+v", r)
	}
	if r := checkOrderSignature(ModeChecked, TestAPIKey, TestMerchantID, ref, "10000", "CLP", cands[0].sig); len(r.note.Candidates) != 9 || r.note.Detail != "md5/as-sent" {
		t.Errorf("journal candidates %d, detail %q", len(r.note.Candidates), r.note.Detail)
	}
}

// PAYU check 2: the rounding tables of §10 and §11.2 on decimal inputs.
func TestRoundingTables(t *testing.T) {
	for in, want := range map[string]string{"150.00": "150.0", "10000.00": "10000.0", "150.26": "150.26", "150.20": "150.2", "3.00": "3.0"} {
		if got := confirmationValue(in); got != want {
			t.Errorf("confirmation new_value(%s) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[string]string{"150.25": "150.2", "150.35": "150.4", "150.34": "150.3", "150.45": "150.4", "150.05": "150.0", "0.15": "0.2", "10000.00": "10000.0", "10000": "10000.0"} {
		if got := responseValue(in); got != want {
			t.Errorf("response new_value(%s) = %s, want %s", in, got, want)
		}
	}
	if got := money2(emulators.MustDecimal("10000")); got != "10000.00" {
		t.Errorf("money2 = %s", got)
	}
}

// PAYU check 2: no float64 in the money and signature code. The files
// listed hold every amount computation of the package.
func TestNoFloatInMoneyCode(t *testing.T) {
	files := []string{"sign.go", "confirm.go", "response.go", "postpay.go", "submit.go", "render.go", "out.go", "cards.go", "model.go", "khipu.go", "webpay.go"}
	fset := token.NewFileSet()
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		file, err := parser.ParseFile(fset, f, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && (id.Name == "float64" || id.Name == "float32" || id.Name == "ParseFloat") {
				t.Errorf("%s: %s uses %s: money must stay in emulators.Decimal", f, fset.Position(id.Pos()), id.Name)
			}
			return true
		})
		if bytes.Contains(src, []byte("strconv.FormatFloat")) || bytes.Contains(src, []byte("%f")) {
			t.Errorf("%s formats floats", f)
		}
	}
}
