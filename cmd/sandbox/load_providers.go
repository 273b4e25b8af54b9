package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/paysandbox/sandbox/emulators/hambit"
	"github.com/paysandbox/sandbox/emulators/khipu"
	"github.com/paysandbox/sandbox/emulators/payu"
)

// The zero-config accounts every mode uses (printed by the sandbox at start).
const (
	khipuReceiver = int64(123456)
	khipuSecret   = "sbx-khipu-secret-NOT-REAL"
	hambitKey     = "SBXFAKE1"
	hambitSecret  = "sandbox-fake-hambit-secret"
	payuAPILogin  = "pRRXKOl8ikMmt9u"
	payuAPIKey    = "4Vj8eK4rloUd272L48hsrarnUA"
	payuMerchant  = int64(508029)
)

func init() {
	generators["khipu-create"] = genKhipuCreate
	generators["khipu-get"] = genKhipuGet
	generators["hambit-collection"] = genHambitCollection
	generators["payu-card"] = genPayUCard
}

func khipuRequest(method, endpoint string, params url.Values, extra ...string) (*http.Request, error) {
	var body io.Reader
	target := endpoint
	if method == http.MethodGet && len(params) > 0 {
		target += "?" + params.Encode()
	} else if method != http.MethodGet {
		body = strings.NewReader(params.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", khipu.SignRequest(khipuSecret, khipuReceiver, method, endpoint, params))
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	return req, nil
}

func khipuCreateParams(ref string) url.Values {
	return url.Values{"subject": {"Load test " + ref}, "amount": {"1000"}, "currency": {"CLP"}, "transaction_id": {ref}}
}

func genKhipuCreate(ctx context.Context, base string) (func(w, i int) (*http.Request, error), error) {
	endpoint := base + "/khipu/api/2.0/payments"
	return func(w, i int) (*http.Request, error) {
		return khipuRequest(http.MethodPost, endpoint, khipuCreateParams(fmt.Sprintf("LOAD-%d-%d", w, i)))
	}, nil
}

// genKhipuGet creates 1,000 payments first, then reads them by id.
func genKhipuGet(ctx context.Context, base string) (func(w, i int) (*http.Request, error), error) {
	var ids []string
	for i := range 1000 {
		req, err := khipuRequest(http.MethodPost, base+"/khipu/api/2.0/payments", khipuCreateParams(fmt.Sprintf("SEED-%d", i)))
		if err != nil {
			return nil, err
		}
		var out struct {
			PaymentID string `json:"payment_id"`
		}
		if err := doJSON(req, &out); err != nil {
			return nil, err
		}
		ids = append(ids, out.PaymentID)
	}
	return func(w, i int) (*http.Request, error) {
		endpoint := base + "/khipu/api/2.0/payments/" + ids[(w*7919+i)%len(ids)]
		return khipuRequest(http.MethodGet, endpoint, nil)
	}, nil
}

func doJSON(req *http.Request, out any) error {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: HTTP %d: %s", req.Method, req.URL.Path, resp.StatusCode, data)
	}
	return json.Unmarshal(data, out)
}

// genHambitCollection signs each order with a fresh timestamp and nonce.
func genHambitCollection(ctx context.Context, base string) (func(w, i int) (*http.Request, error), error) {
	endpoint := base + "/hambit/api/v3/chl/createCollectingOrder"
	return func(w, i int) (*http.Request, error) {
		nonce := uuid.NewString()
		body := []byte(fmt.Sprintf(`{"amount":"1000","channelType":"BANK","externalOrderId":"LOAD-%d-%d-%s","userInfoType":"CASH","customerType":"RUT","userInfoNo":"12345678"}`, w, i, nonce[:8]))
		h, err := hambit.NewHeaders(hambitKey, hambitSecret, body, time.Now(), nonce)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		for k, v := range h {
			req.Header[k] = v
		}
		return req, nil
	}, nil
}

// genPayUCard pays with the documented approved VISA test card.
func genPayUCard(ctx context.Context, base string) (func(w, i int) (*http.Request, error), error) {
	endpoint := base + "/payu/payments-api/4.0/service.cgi"
	return func(w, i int) (*http.Request, error) {
		ref := fmt.Sprintf("LOAD-%d-%d", w, i)
		body := fmt.Sprintf(`{"language":"es","command":"SUBMIT_TRANSACTION","merchant":{"apiKey":%q,"apiLogin":%q},`+
			`"transaction":{"order":{"accountId":"512325","referenceCode":%q,"description":"Load test","language":"es",`+
			`"signature":%q,"additionalValues":{"TX_VALUE":{"value":10000,"currency":"CLP"}},`+
			`"buyer":{"fullName":"Load Tester","emailAddress":"buyer@example.com"}},`+
			`"payer":{"fullName":"Load Tester","emailAddress":"payer@example.com"},`+
			`"creditCard":{"number":"4097440000000004","securityCode":"777","expirationDate":"2030/12","name":"APPROVED"},`+
			`"type":"AUTHORIZATION_AND_CAPTURE","paymentMethod":"VISA","paymentCountry":"CL","ipAddress":"127.0.0.1"},"test":true}`,
			payuAPIKey, payuAPILogin, ref, payu.OrderSignature(payuAPIKey, payuMerchant, ref, "10000", "CLP"))
		req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		return req, nil
	}, nil
}

// loadCallbacks measures callback delivery through a running sandbox: it
// creates N Khipu payments (notification API 3.0) whose robot payer acts an
// hour later, advances the sandbox clock by that hour so that all of them
// settle at once, and receives the N notifications on a built-in receiver.
// It reports deliveries per second and how late each notification arrived
// after its payment became done (the body's conciliation_date).
func loadCallbacks(ctx context.Context, o loadOptions, child *spawned, stdout io.Writer) error {
	n := o.n
	if n <= 0 {
		n = 100_000
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	var mu sync.Mutex
	arrivals := make([]time.Time, 0, n)
	dones := make([]time.Time, 0, n)
	all := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		var body struct {
			ConciliationDate time.Time `json:"conciliation_date"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		arrivals = append(arrivals, now)
		dones = append(dones, body.ConciliationDate)
		if len(arrivals) == n {
			close(all)
		}
		mu.Unlock()
	})}
	go srv.Serve(ln)
	defer srv.Close()
	receiver := "http://" + ln.Addr().String() + "/notify"

	scenario := "name: load-callbacks\ndescription: every payment is paid by a robot an hour after creation and verified at once\nrules:\n" +
		"  - {provider: khipu, on: pay, then: {auto: true, outcome: approve, delay: 1h}}\n" +
		"  - {provider: khipu, on: verify, then: {simplified_delay: 0s}}\n"
	resp, err := http.Post(o.target+"/_sandbox/api/scenarios", "application/yaml", strings.NewReader(scenario))
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("load callbacks: uploading the scenario: HTTP %d", resp.StatusCode)
	}
	fmt.Fprintf(stdout, "creating %d Khipu payments (notification 3.0 to %s)…\n", n, receiver)
	start := time.Now()
	endpoint := o.target + "/khipu/api/2.0/payments"
	var wg sync.WaitGroup
	errs := make(chan error, o.concurrency)
	next := make(chan int)
	go func() {
		for i := range n {
			next <- i
		}
		close(next)
	}()
	tr := &http.Transport{MaxIdleConnsPerHost: o.concurrency}
	client := &http.Client{Transport: tr}
	for range o.concurrency {
		wg.Go(func() {
			for i := range next {
				p := khipuCreateParams(fmt.Sprintf("CB-%d", i))
				p.Set("notify_url", receiver)
				p.Set("notify_api_version", "3.0")
				req, err := khipuRequest(http.MethodPost, endpoint, p, "X-Sandbox-Scenario", "load-callbacks")
				if err == nil {
					var r *http.Response
					r, err = client.Do(req)
					if err == nil {
						io.Copy(io.Discard, r.Body)
						r.Body.Close()
						if r.StatusCode != http.StatusOK {
							err = fmt.Errorf("create: HTTP %d", r.StatusCode)
						}
					}
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	fmt.Fprintf(stdout, "created in %v; advancing the sandbox clock by 1h: %d robot payers act at once\n", time.Since(start).Round(time.Millisecond), n)
	if child != nil {
		fmt.Fprintf(stdout, "sandbox RSS with %d payments scheduled: %s\n", n, mib(child.rss()))
	}
	advanced := time.Now()
	resp, err = http.Post(o.target+"/_sandbox/api/clock/advance", "application/json", strings.NewReader(`{"by":"1h"}`))
	if err != nil {
		return err
	}
	var clk struct {
		Offset string `json:"offset"`
	}
	json.NewDecoder(resp.Body).Decode(&clk)
	resp.Body.Close()
	offset, _ := time.ParseDuration(clk.Offset)
	select {
	case <-all:
	case <-time.After(5 * time.Minute):
		mu.Lock()
		got := len(arrivals)
		mu.Unlock()
		return fmt.Errorf("load callbacks: %d of %d notifications arrived within 5 minutes", got, n)
	case <-ctx.Done():
		return ctx.Err()
	}
	mu.Lock()
	defer mu.Unlock()
	last := slices.MaxFunc(arrivals, func(a, b time.Time) int { return a.Compare(b) })
	late := make([]time.Duration, len(arrivals))
	for i := range arrivals {
		late[i] = arrivals[i].Add(offset).Sub(dones[i])
	}
	slices.Sort(late)
	total := last.Sub(advanced)
	fmt.Fprintf(stdout, "callbacks: %d delivered in %v: %.0f deliveries/s\n", n, total.Round(time.Millisecond), float64(n)/total.Seconds())
	fmt.Fprintf(stdout, "notification after its payment became done: p50 %v, p99 %v, max %v (a burst of %d queues behind one another)\n",
		late[len(late)/2].Round(time.Microsecond), late[len(late)*99/100].Round(time.Microsecond), late[len(late)-1].Round(time.Microsecond), n)
	if child != nil {
		fmt.Fprintf(stdout, "sandbox RSS after the burst: %s\n", mib(child.rss()))
	}
	return nil
}
