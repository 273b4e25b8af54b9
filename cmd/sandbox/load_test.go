package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/paysandbox/sandbox/emulators/testenv"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paysandbox/sandbox/emulators/hambit"
	"github.com/paysandbox/sandbox/emulators/khipu"
	"github.com/paysandbox/sandbox/emulators/payu"
)

func TestParseCPUs(t *testing.T) {
	for _, tc := range []struct {
		in             string
		server, client []int
		err            string
	}{
		{in: ""},
		{in: "0:1", server: []int{0}, client: []int{1}},
		{in: "0-1:0,1", server: []int{0, 1}, client: []int{0, 1}},
		{in: "2,0-1,1:3", server: []int{2, 0, 1}, client: []int{3}},
		{in: "0", err: "expected SERVER:CLIENT"},
		{in: ":1", err: "server CPUs: empty list"},
		{in: "0:x", err: `client CPUs: "x" is not a CPU`},
		{in: "3-1:0", err: `"3-1" is not a CPU`},
		{in: "0:-1", err: `"-1" is not a CPU`},
		{in: "0:99999", err: `"99999" is not a CPU`},
	} {
		p, err := parseCPUs(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseCPUs(%q) = %v, want error with %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(p.server, tc.server) || !slices.Equal(p.client, tc.client) {
			t.Errorf("parseCPUs(%q) = %v, %v, want %v:%v", tc.in, p, err, tc.server, tc.client)
		}
	}
}

// pinProcess pins every thread of another process (here a sleep(1)).
func TestPinProcess(t *testing.T) {
	sleep := testenv.Tool(t, "sleep", "apt-get install coreutils")
	cmd := exec.Command(sleep, "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if err := pinProcess(cmd.Process.Pid, []int{0}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "Cpus_allowed_list:\t0\n") {
		t.Errorf("after pinning to CPU 0:\n%s", data)
	}
	if err := pinProcess(1<<30, []int{0}); err == nil {
		t.Error("pinning a process that does not exist: no error")
	}
}

// The bare handler answers exactly the size it is given, in JSON, to any
// request, after reading the body.
func TestBareHandler(t *testing.T) {
	for _, n := range []int{0, 10, khipuCreateAnswerSize, 4096} {
		srv := httptest.NewServer(bareHandler(bareAnswer(n)))
		g := redirect(bareKhipuCreate("http://sandbox.invalid"), srv.URL)
		size, err := answerSize(g, 0)
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		if want := max(n, len(bareAnswer(0))); size != want {
			t.Errorf("bare answer for %d: %d bytes, want %d", n, size, want)
		}
		if !json.Valid(bareAnswer(n)) {
			t.Errorf("bare answer for %d is not JSON: %s", n, bareAnswer(n))
		}
	}
}

// The merchant of load flow accepts correctly signed callbacks only.
func TestVerifyCallback(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_123)
	kbody := []byte(`{"payment_id":"abc"}`)
	hbody := []byte(`{"externalOrderId":"X-1","orderStatus":2,"amount":"1000"}`)
	hsign, err := hambit.SignRequest(hambitKey, hambitSecret, hbody, "1700000000123", "n-1")
	if err != nil {
		t.Fatal(err)
	}
	hheaders := func(sign string) http.Header {
		return http.Header{"Access_key": {hambitKey}, "Timestamp": {"1700000000123"}, "Nonce": {"n-1"}, "Sign": {sign}}
	}
	pform := func(state, sign string) []byte {
		return []byte(url.Values{"reference_sale": {"R-1"}, "value": {"10000.00"}, "currency": {"CLP"}, "state_pol": {state}, "sign": {sign}}.Encode())
	}
	psign := payu.ConfirmationSignature(payuAPIKey, payuMerchant, "R-1", "10000.00", "CLP", "4")
	for _, tc := range []struct {
		name, provider string
		h              http.Header
		body           []byte
		ok             bool
	}{
		{"khipu signed", "khipu", http.Header{"X-Khipu-Signature": {khipu.NotificationSignature(khipuSecret, at, kbody)}}, kbody, true},
		{"khipu other body", "khipu", http.Header{"X-Khipu-Signature": {khipu.NotificationSignature(khipuSecret, at, kbody)}}, []byte(`{"payment_id":"abd"}`), false},
		{"khipu wrong secret", "khipu", http.Header{"X-Khipu-Signature": {khipu.NotificationSignature("nope", at, kbody)}}, kbody, false},
		{"khipu unsigned", "khipu", http.Header{}, kbody, false},
		{"hambit signed", "hambit", hheaders(hsign), hbody, true},
		{"hambit bad sign", "hambit", hheaders("x" + hsign), hbody, false},
		{"hambit other body", "hambit", hheaders(hsign), bytes.Replace(hbody, []byte("1000"), []byte("2000"), 1), false},
		{"payu signed", "payu", http.Header{}, pform("4", psign), true},
		{"payu bad sign", "payu", http.Header{}, pform("4", "0"+psign[1:]), false},
		{"payu declined", "payu", http.Header{}, pform("6", payu.ConfirmationSignature(payuAPIKey, payuMerchant, "R-1", "10000.00", "CLP", "6")), false},
	} {
		err := verifyCallback(tc.provider, tc.h, tc.body)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// load flow completes whole flows of every provider against a sandbox
// (here in process, with the waits scaled down) without a failure.
func TestLoadFlow(t *testing.T) {
	addr, _, _, _ := startServe(t, "--time-scale", flowTimeScale, "--log-level", "warn")
	var out bytes.Buffer
	err := loadCmd(context.Background(), []string{"-target", "http://" + addr, "-c", "2", "-d", "300ms", "-warmup", "50ms", "flow"}, &out, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, &out)
	}
	for _, p := range flowProviders {
		var n, errs int
		var rate float64
		line := ""
		for l := range strings.SplitSeq(out.String(), "\n") {
			if strings.HasPrefix(l, p+" flow") {
				line = l
			}
		}
		if _, err := fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, p+" flow")), "%d flows %f flows/s", &n, &rate); err != nil || n == 0 {
			t.Errorf("%s: no flows measured (%v):\n%s", p, err, &out)
		}
		if _, err := fmt.Sscanf(line[strings.Index(line, "errors"):], "errors %d", &errs); err != nil || errs != 0 {
			t.Errorf("%s: failures:\n%s", p, &out)
		}
	}
}

// Bad -cpus and a remote target are refused before any traffic.
func TestLoadRefusals(t *testing.T) {
	for _, args := range [][]string{
		{"-cpus", "1", "khipu-create"},
		{"-target", "http://192.0.2.1:8080", "-baseline=false", "khipu-create"},
		{"-target", "http://192.0.2.1:8080", "flow"},
		{"-profile", "/nonexistent/p", "flow"},
		{"-profile", "/nonexistent/p", "callbacks"},
		{"-profile", "/nonexistent/p", "-target", "http://127.0.0.1:1", "khipu-create"},
	} {
		var out bytes.Buffer
		if err := loadCmd(context.Background(), args, &out, &out); err == nil {
			t.Errorf("load %v: no error\n%s", args, &out)
		}
	}
}

// FuzzParseCPUs: any -cpus text is either refused or gives two non-empty
// lists of distinct CPU numbers in 0–1023; never a panic or a huge list.
func FuzzParseCPUs(f *testing.F) {
	for _, s := range []string{"0:1", "0-1:0,1", "2,0-1,1:3", "", ":", "0-1023:0", "1-0:0", "a:b", "0,,1:2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseCPUs(s)
		if err != nil || s == "" {
			return
		}
		for _, l := range [][]int{p.server, p.client} {
			if len(l) == 0 || len(l) > 1024 {
				t.Fatalf("%q: list of %d CPUs", s, len(l))
			}
			seen := map[int]bool{}
			for _, c := range l {
				if c < 0 || c > 1023 || seen[c] {
					t.Fatalf("%q: CPU %d out of range or repeated in %v", s, c, l)
				}
				seen[c] = true
			}
		}
	})
}

// FuzzVerifyCallback: the load merchant's verifier never panics, accepts a
// Khipu notification signed for its body and refuses it for any other body.
func FuzzVerifyCallback(f *testing.F) {
	f.Add("khipu", "t=1,s=x", []byte(`{"payment_id":"a"}`), int64(1_700_000_000_000))
	f.Add("hambit", "", []byte(`{"a":1}`), int64(0))
	f.Add("payu", "", []byte("reference_sale=R&sign=x&state_pol=4"), int64(0))
	f.Fuzz(func(t *testing.T, provider, header string, body []byte, ms int64) {
		h := http.Header{"X-Khipu-Signature": {header}, "Sign": {header}, "Timestamp": {header}, "Nonce": {header}}
		verifyCallback(provider, h, body)
		at := time.UnixMilli(ms)
		good := http.Header{"X-Khipu-Signature": {khipu.NotificationSignature(khipuSecret, at, body)}}
		if err := verifyCallback("khipu", good, body); err != nil {
			t.Fatalf("a correctly signed notification is refused: %v", err)
		}
		if err := verifyCallback("khipu", good, append(slices.Clone(body), 'x')); err == nil {
			t.Fatal("a notification whose body changed is accepted")
		}
	})
}
