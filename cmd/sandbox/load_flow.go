package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/paysandbox/sandbox/emulators/hambit"
	"github.com/paysandbox/sandbox/emulators/khipu"
	"github.com/paysandbox/sandbox/emulators/payu"
)

// `sandbox load flow` measures whole payments the way a CI suite makes
// them: each virtual client creates a payment under the ci-approve-all
// scenario, waits for the signed callback at its own merchant endpoint (a
// loopback server in this process, which checks the signature), and reads
// the payment back through the provider's API. The sandbox it starts runs
// with a time scale that makes the robot payer's one-second wait (and
// Khipu's verification) about a millisecond, so a flow measures the
// sandbox's work, not its waits.

// flowTimeScale shrinks the scenario's waits 1,000× (1 s → 1 ms).
const flowTimeScale = "0.001"

// flowTimeout bounds one flow: a callback later than this is a failure.
const flowTimeout = 10 * time.Second

// flowProviders are the providers a flow run measures, in order.
var flowProviders = []string{"khipu", "hambit", "payu"}

// merchant is the in-process merchant: one endpoint per virtual client
// (/{provider}/{worker}), each verified callback passed to its worker.
type merchant struct {
	base  string
	inbox map[string][]chan []byte // provider → worker → verified bodies
	srv   *http.Server
}

func newMerchant(concurrency int) (*merchant, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	m := &merchant{base: "http://" + ln.Addr().String(), inbox: map[string][]chan []byte{}}
	for _, p := range flowProviders {
		m.inbox[p] = make([]chan []byte, concurrency)
		for w := range concurrency {
			m.inbox[p][w] = make(chan []byte, 8)
		}
	}
	m.srv = &http.Server{Handler: m, ReadHeaderTimeout: 10 * time.Second}
	go m.srv.Serve(ln)
	return m, nil
}

func (m *merchant) close() { m.srv.Close() }

func (m *merchant) url(provider string, w int) string {
	return m.base + "/" + provider + "/" + strconv.Itoa(w)
}

// ServeHTTP checks the callback's signature and hands its body to the
// worker whose endpoint it reached; a bad signature answers 400 (and the
// worker, never getting its callback, counts a failure).
func (m *merchant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	provider, worker, _ := strings.Cut(strings.Trim(r.URL.Path, "/"), "/")
	n, err := strconv.Atoi(worker)
	boxes := m.inbox[provider]
	if err != nil || n < 0 || n >= len(boxes) {
		http.Error(w, "no such merchant endpoint", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := verifyCallback(provider, r.Header, body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	select {
	case boxes[n] <- body:
	default: // a worker that gave up on its flow; the callback is still acknowledged
	}
	w.WriteHeader(http.StatusOK)
}

// verifyCallback checks a callback the way a merchant would, with the
// zero-config accounts' secrets.
func verifyCallback(provider string, h http.Header, body []byte) error {
	switch provider {
	case "khipu": // API 3.0 notification: x-khipu-signature t=…,s=…
		sig := h.Get("x-khipu-signature")
		ts, _, _ := strings.Cut(strings.TrimPrefix(sig, "t="), ",")
		ms, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || khipu.NotificationSignature(khipuSecret, time.UnixMilli(ms), body) != sig {
			return fmt.Errorf("khipu notification: bad x-khipu-signature %q", sig)
		}
	case "hambit": // headers access_key, timestamp, nonce, sign over the JSON body
		want, err := hambit.SignRequest(hambitKey, hambitSecret, body, h.Get("timestamp"), h.Get("nonce"))
		if err != nil || h.Get("sign") != want || h.Get("access_key") != hambitKey {
			return fmt.Errorf("hambit callback: bad sign %q", h.Get("sign"))
		}
	case "payu": // confirmation form with its md5 sign
		f, err := url.ParseQuery(string(body))
		if err != nil {
			return fmt.Errorf("payu confirmation: %v", err)
		}
		want := payu.ConfirmationSignature(payuAPIKey, payuMerchant, f.Get("reference_sale"), f.Get("value"), f.Get("currency"), f.Get("state_pol"))
		if f.Get("sign") != want {
			return fmt.Errorf("payu confirmation: bad sign %q", f.Get("sign"))
		}
		if f.Get("state_pol") != "4" {
			return fmt.Errorf("payu confirmation: state_pol %q, want 4 (approved)", f.Get("state_pol"))
		}
	}
	return nil
}

// flowStep is one whole flow of a provider for worker w, flow i.
type flowStep func(ctx context.Context, w, i int) error

// awaitCallback waits for the callback of worker w that is about key
// (earlier callbacks a worker gave up on are skipped).
func (m *merchant) awaitCallback(ctx context.Context, provider string, w int, key string) error {
	about := func(body []byte) bool { return bytes.Contains(body, []byte(`"`+key+`"`)) }
	if provider == "payu" {
		about = func(body []byte) bool {
			f, err := url.ParseQuery(string(body))
			return err == nil && f.Get("reference_sale") == key
		}
	}
	t := time.NewTimer(flowTimeout)
	defer t.Stop()
	for {
		select {
		case body := <-m.inbox[provider][w]:
			if about(body) {
				return nil
			}
		case <-t.C:
			return fmt.Errorf("no signed %s callback for %s within %v", provider, key, flowTimeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// flowSteps builds the flow of each provider against the sandbox at base.
func flowSteps(base string, m *merchant, client *http.Client, run string) map[string]flowStep {
	call := func(ctx context.Context, req *http.Request, out any) error {
		req.Header.Set("X-Sandbox-Scenario", "ci-approve-all")
		return doJSONWith(client, req.WithContext(ctx), out)
	}
	return map[string]flowStep{
		"khipu": func(ctx context.Context, w, i int) error {
			ref := fmt.Sprintf("FLOW-%s-%d-%d", run, w, i)
			p := khipuCreateParams(ref)
			p.Set("notify_url", m.url("khipu", w))
			p.Set("notify_api_version", "3.0")
			req, err := khipuRequest(http.MethodPost, base+"/khipu/api/2.0/payments", p)
			var created struct {
				PaymentID string `json:"payment_id"`
			}
			if err == nil {
				err = call(ctx, req, &created)
			}
			if err != nil {
				return err
			}
			if err := m.awaitCallback(ctx, "khipu", w, created.PaymentID); err != nil {
				return err
			}
			req, err = khipuRequest(http.MethodGet, base+"/khipu/api/2.0/payments/"+created.PaymentID, nil)
			var got struct {
				Status string `json:"status"`
			}
			if err == nil {
				err = call(ctx, req, &got)
			}
			if err == nil && got.Status != "done" {
				err = fmt.Errorf("khipu payment %s read back as %q, want done", created.PaymentID, got.Status)
			}
			return err
		},
		"hambit": func(ctx context.Context, w, i int) error {
			ref := fmt.Sprintf("FLOW-%s-%d-%d", run, w, i)
			body := fmt.Sprintf(`{"amount":"1000","channelType":"BANK","externalOrderId":%q,"userInfoType":"CASH","customerType":"RUT","userInfoNo":"12345678","notifyUrl":%q}`, ref, m.url("hambit", w))
			if err := call(ctx, hambitRequest(base+"/hambit/api/v3/chl/createCollectingOrder", body), &struct{}{}); err != nil {
				return err
			}
			if err := m.awaitCallback(ctx, "hambit", w, ref); err != nil {
				return err
			}
			var got struct {
				Success bool            `json:"success"`
				Data    json.RawMessage `json:"data"`
			}
			if err := call(ctx, hambitRequest(base+"/hambit/api/v3/chl/query/collectingOrder", fmt.Sprintf(`{"externalOrderId":%q}`, ref)), &got); err != nil {
				return err
			}
			if !got.Success || !bytes.Contains(got.Data, []byte(ref)) {
				return fmt.Errorf("hambit order %s not found by query/collectingOrder: %s", ref, got.Data)
			}
			return nil
		},
		"payu": func(ctx context.Context, w, i int) error {
			ref := fmt.Sprintf("FLOW-%s-%d-%d", run, w, i)
			req := payuCardRequest(base, ref, m.url("payu", w))
			var paid struct {
				Code string `json:"code"`
				TR   struct {
					State string `json:"state"`
				} `json:"transactionResponse"`
			}
			if err := call(ctx, req, &paid); err != nil {
				return err
			}
			if paid.TR.State != "APPROVED" {
				return fmt.Errorf("payu card %s: state %q, want APPROVED", ref, paid.TR.State)
			}
			if err := m.awaitCallback(ctx, "payu", w, ref); err != nil {
				return err
			}
			q := fmt.Sprintf(`{"test":false,"language":"es","command":"ORDER_DETAIL_BY_REFERENCE_CODE","merchant":{"apiLogin":%q,"apiKey":%q},"details":{"referenceCode":%q}}`, payuAPILogin, payuAPIKey, ref)
			req, err := http.NewRequest(http.MethodPost, base+"/payu/reports-api/4.0/service.cgi", strings.NewReader(q))
			if err != nil {
				return err
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json")
			var got struct {
				Code   string          `json:"code"`
				Result json.RawMessage `json:"result"`
			}
			if err := call(ctx, req, &got); err != nil {
				return err
			}
			if got.Code != "SUCCESS" || !bytes.Contains(got.Result, []byte(ref)) {
				return fmt.Errorf("payu order %s not found by ORDER_DETAIL_BY_REFERENCE_CODE: %s %s", ref, got.Code, got.Result)
			}
			return nil
		},
	}
}

// hambitRequest signs a Hambit API request with a fresh timestamp and nonce.
func hambitRequest(endpoint, body string) *http.Request {
	h, err := hambit.NewHeaders(hambitKey, hambitSecret, []byte(body), time.Now(), uuid.NewString())
	if err != nil { // the bodies built here are JSON objects
		panic(err)
	}
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(body))
	req.Header = h
	req.Header.Set("Content-Type", "application/json")
	return req
}

// loadFlow runs the flows of each provider for o.duration and reports
// flows per second and the flow latency.
func loadFlow(ctx context.Context, o loadOptions, stdout io.Writer) error {
	if o.target == "" {
		flags := strings.Fields(o.serveFlags)
		if !strings.Contains(o.serveFlags, "time-scale") {
			flags = append(flags, "--time-scale", flowTimeScale)
		}
		child, err := spawn(ctx, o.binary, o.cpus.server, append([]string{"--log-level", "warn"}, flags...)...)
		if err != nil {
			return err
		}
		defer child.stop()
		o.target = child.base
		fmt.Fprintf(stdout, "started %s (%s): first answer after %v, idle RSS %s\n", o.target, strings.Join(flags, " "),
			child.startup.Round(100*time.Microsecond), mib(child.rss()))
	} else {
		fmt.Fprintf(stdout, "target %s: its own time scale applies (start it with --time-scale %s to measure the sandbox's work, not its waits)\n", o.target, flowTimeScale)
	}
	if err := loopbackOnly(o.target); err != nil {
		return err
	}
	if err := pinClient(o, stdout); err != nil {
		return err
	}
	m, err := newMerchant(o.concurrency)
	if err != nil {
		return err
	}
	defer m.close()
	tr := &http.Transport{MaxIdleConns: o.concurrency * 2, MaxIdleConnsPerHost: o.concurrency * 2, IdleConnTimeout: time.Minute, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	steps := flowSteps(o.target, m, client, strconv.FormatInt(time.Now().UnixNano()%1e9, 36))
	fmt.Fprintf(stdout, "flows: create under ci-approve-all → signed callback at the merchant → read back; %d virtual clients\n", o.concurrency)
	var failed error
	for _, p := range flowProviders {
		step := steps[p]
		r, err := drive(ctx, o, func(ctx context.Context, w, i int) (string, error) {
			if err := step(ctx, w, i); err != nil {
				if ctx.Err() != nil {
					return "", nil // the end of the window, not a failure
				}
				return err.Error(), nil
			}
			return "", nil
		})
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, strings.NewReplacer(" req ", " flows", "req/s", "flows/s").Replace(r.line(p+" flow")))
		if r.failures > 0 {
			fmt.Fprintf(stdout, "first failure: %s\n", r.firstFailure)
			failed = errors.New("load flow: some flows failed")
		}
	}
	return failed
}
