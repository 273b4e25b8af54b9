package khipu

import (
	"bytes"
	"github.com/paysandbox/sandbox/emulators/testenv"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
)

// The README's examples work as written (issue 11): the Go and TypeScript
// decoding examples run on the sandbox's real answers, the predict example
// answers what the README shows, and the predict scenario loads and acts.

// readmeBlock returns the body of the first fenced code block that starts
// after the first line containing marker.
func readmeBlock(t *testing.T, readme, marker string) string {
	t.Helper()
	i := strings.Index(readme, marker)
	if i < 0 {
		t.Fatalf("README.md: %q not found", marker)
	}
	rest := readme[i:]
	start := strings.Index(rest, "\n```")
	if start < 0 {
		t.Fatalf("README.md: no code block after %q", marker)
	}
	rest = rest[start+4:]
	rest = rest[strings.Index(rest, "\n")+1:] // skip the info string
	end := strings.Index(rest, "\n```")
	if end < 0 {
		t.Fatalf("README.md: unterminated code block after %q", marker)
	}
	return rest[:end+1]
}

func readReadme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// readmeBodies are the sandbox's v3 answers the examples decode: the
// README's pending payment of 1570 CLP, and the same payment once done.
func readmeBodies(t *testing.T) (pending, done []byte) {
	synctest.Test(t, func(t *testing.T) {
		k := newKEnv(t)
		id := k.createV2(url.Values{"subject": {"Compra"}, "currency": {"CLP"}, "amount": {"1570"}})
		pending = k.v3("GET", "/khipu/v3/payments/"+id, "").Body.Bytes()
		if _, err := k.svc.Act(t.Context(), id, "pay", []byte(`{"skip_verify":true}`)); err != nil {
			t.Fatal(err)
		}
		done = k.v3("GET", "/khipu/v3/payments/"+id, "").Body.Bytes()
	})
	return pending, done
}

func run(t *testing.T, stdin []byte, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String()
}

func TestReadmeAmountExamples(t *testing.T) {
	readme := readReadme(t)
	pending, done := readmeBodies(t)

	t.Run("go", func(t *testing.T) {
		goTool, err := exec.LookPath("go")
		if err != nil {
			t.Fatalf("the go tool is needed to build the README's Go example: %v", err)
		}
		dir := t.TempDir()
		src := filepath.Join(dir, "amounts.go")
		if err := os.WriteFile(src, []byte(readmeBlock(t, readme, "tested by TestReadmeAmountExamples: keep")), 0o644); err != nil {
			t.Fatal(err)
		}
		bin := filepath.Join(dir, "amounts")
		cmd := exec.Command(goTool, "build", "-o", bin, src)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("the README's Go example does not build: %v\n%s", err, out)
		}
		want := readmeBlock(t, readme, "It prints, for a pending payment of 1570 CLP")
		if got := run(t, pending, bin); got != want {
			t.Errorf("the README's Go example prints\n%s\nthe README says\n%s", got, want)
		}
		got := run(t, done, bin)
		if !strings.Contains(got, "cannot unmarshal string") || !strings.Contains(got, " done simplified_transfer 1570.0000 0.0000 CLP\n") {
			t.Errorf("on a done payment the Go example prints\n%s", got)
		}
		// json.Number also takes the document's number form.
		if got := run(t, []byte(`{"payment_id":"x","status":"done","payment_method":"simplified_transfer","amount":3,"discount":0,"currency":"CLP"}`), bin); !strings.HasSuffix(got, "x done simplified_transfer 3 0 CLP\n") {
			t.Errorf("on number amounts the Go example prints\n%s", got)
		}
	})

	t.Run("typescript", func(t *testing.T) {
		testenv.NPMPackage(t, clientDir, "emulators/khipu/"+clientDir, "typescript")
		node := testenv.Node(t)
		tsc := filepath.Join(clientDir, "node_modules", "typescript", "bin", "tsc")
		tsc, _ = filepath.Abs(tsc)
		dir := t.TempDir()
		write := func(name, text string) {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write("amounts.ts", readmeBlock(t, readme, "tested by TestReadmeAmountExamples (tsc --strict)"))
		write("package.json", `{"type":"module"}`)
		// The driver plays the shop: it reads a payment from stdin.
		write("driver.mjs", `import { readFileSync } from "node:fs";
import { parsePayment, amountText } from "./amounts.js";
const p = parsePayment(readFileSync(0, "utf8"));
console.log(p.payment_id, p.status, p.payment_method, amountText(p.amount), amountText(p.discount), Number(p.amount), p.conciliation_date ?? "-");
`)
		run(t, nil, node, tsc, "--strict", "--target", "es2020", "--module", "es2020", "--lib", "es2020", "--outDir", dir, filepath.Join(dir, "amounts.ts"))
		got := run(t, pending, node, filepath.Join(dir, "driver.mjs"))
		if !strings.HasSuffix(got, " pending not_available 1570.0000 0.0000 1570 -\n") {
			t.Errorf("the TypeScript example prints %q for a pending payment", got)
		}
		got = run(t, done, node, filepath.Join(dir, "driver.mjs"))
		if !strings.Contains(got, " done simplified_transfer 1570.0000 0.0000 1570 2000-01-01T00:00:00.000Z\n") {
			t.Errorf("the TypeScript example prints %q for a done payment", got)
		}
		got = run(t, []byte(`{"payment_id":"x","status":"done","status_detail":"normal","payment_method":"simplified_transfer","amount":3,"discount":0,"currency":"CLP"}`), node, filepath.Join(dir, "driver.mjs"))
		if got != "x done simplified_transfer 3 0 3 -\n" {
			t.Errorf("the TypeScript example prints %q for number amounts", got)
		}
	})
}

// The README's predict request answers what the README shows, and its
// predict scenario loads and gives the results it describes.
func TestReadmePredictExamples(t *testing.T) {
	readme := readReadme(t)
	block := readmeBlock(t, readme, "### `GET /v3/predict`")
	cmd, answer, ok := strings.Cut(strings.TrimSpace(block), "\n")
	if !ok || !strings.HasPrefix(cmd, "$ curl") {
		t.Fatalf("predict example: %q", block)
	}
	_, target, _ := strings.Cut(cmd, "'http://127.0.0.1:8080")
	target = strings.TrimSuffix(target, "'")
	k := newKEnv(t)
	wantBody(t, k.v3("GET", target, ""), 200, answer)

	yaml := readmeBlock(t, readme, "A predict rule, e.g.")
	synctest.Test(t, func(t *testing.T) {
		k := newKEnv(t, withScenario(yaml), withActive("khipu-predict"))
		wantBody(t, k.v3("GET", "/khipu/v3/predict?payer_email=ana@cooling.example&bank_id=Bawdf&amount=1000&currency=CLP", ""), 200,
			`{"result":"new_destinatary_cool_down","max_amount":50000,"new_destinatary_max_amount":50000,"cool_down_date":"2000-01-01T02:00:00.000Z"}`)
		wantBody(t, k.v3("GET", "/khipu/v3/predict?payer_email=ana@b.cl&bank_id=Qwert&amount=1000&currency=CLP", ""), 200,
			`{"result":"not_available_account","max_amount":50000,"new_destinatary_max_amount":50000,"cool_down_date":null}`)
	})
}
