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
		if err := doJSONWith(http.DefaultClient, req, &out); err != nil {
			return nil, err
		}
		ids = append(ids, out.PaymentID)
	}
	return func(w, i int) (*http.Request, error) {
		endpoint := base + "/khipu/api/2.0/payments/" + ids[(w*7919+i)%len(ids)]
		return khipuRequest(http.MethodGet, endpoint, nil)
	}, nil
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
	return func(w, i int) (*http.Request, error) {
		return payuCardRequest(base, fmt.Sprintf("LOAD-%d-%d", w, i), ""), nil
	}, nil
}

// payuCardRequest is a card AUTHORIZATION_AND_CAPTURE with the approved VISA
// test card, confirmed to notifyURL when it is not empty.
func payuCardRequest(base, ref, notifyURL string) *http.Request {
	notify := ""
	if notifyURL != "" {
		notify = fmt.Sprintf(`"notifyUrl":%q,`, notifyURL)
	}
	body := fmt.Sprintf(`{"language":"es","command":"SUBMIT_TRANSACTION","merchant":{"apiKey":%q,"apiLogin":%q},`+
		`"transaction":{"order":{"accountId":"512325","referenceCode":%q,"description":"Load test","language":"es",`+
		`"signature":%q,%s"additionalValues":{"TX_VALUE":{"value":10000,"currency":"CLP"}},`+
		`"buyer":{"fullName":"Load Tester","emailAddress":"buyer@example.com"}},`+
		`"payer":{"fullName":"Load Tester","emailAddress":"payer@example.com"},`+
		`"creditCard":{"number":"4097440000000004","securityCode":"777","expirationDate":"2030/12","name":"APPROVED"},`+
		`"type":"AUTHORIZATION_AND_CAPTURE","paymentMethod":"VISA","paymentCountry":"CL","ipAddress":"127.0.0.1"},"test":true}`,
		payuAPIKey, payuAPILogin, ref, payu.OrderSignature(payuAPIKey, payuMerchant, ref, "10000", "CLP"), notify)
	req, _ := http.NewRequest(http.MethodPost, base+"/payu/payments-api/4.0/service.cgi", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	return req
}

// createKhipu creates n Khipu payments with c workers (one every interval
// at most, when interval > 0), each with the extra parameters and headers.
func createKhipu(ctx context.Context, base string, n, c int, interval time.Duration, extra url.Values, headers ...string) ([]string, error) {
	endpoint := base + "/khipu/api/2.0/payments"
	ids := make([]string, n)
	next := make(chan int)
	go func() {
		defer close(next)
		start := time.Now()
		for i := range n {
			if interval > 0 {
				// Keep the average pace (a ticker this fine would lag).
				if d := time.Until(start.Add(time.Duration(i) * interval)); d > time.Millisecond {
					time.Sleep(d)
				}
			}
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c}}
	errs := make(chan error, c)
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for i := range next {
				p := khipuCreateParams(fmt.Sprintf("N-%d", i))
				for k, v := range extra {
					p[k] = v
				}
				req, err := khipuRequest(http.MethodPost, endpoint, p, headers...)
				var out struct {
					PaymentID string `json:"payment_id"`
				}
				if err == nil {
					err = doJSONWith(client, req, &out)
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					for range next {
					}
					return
				}
				ids[i] = out.PaymentID
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	return ids, nil
}

func doJSONWith(client *http.Client, req *http.Request, out any) error {
	resp, err := client.Do(req)
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

// loadStore fills the sandbox with N Khipu payments and reports its memory
// and the lookup latency with 1,000 and with N payments stored (docs/design.md:
// 100,000 stored payments < 150 MB RSS, lookups constant time).
func loadStore(ctx context.Context, o loadOptions, child *spawned, stdout io.Writer) error {
	n := o.n
	if n <= 0 {
		n = 100_000
	}
	lookups := func(ids []string) (result, error) {
		g := func(w, i int) (*http.Request, error) {
			return khipuRequest(http.MethodGet, o.target+"/khipu/api/2.0/payments/"+ids[(w*7919+i*104729)%len(ids)], nil)
		}
		lo := o
		lo.duration, lo.warmup = 3*time.Second, 500*time.Millisecond
		return hammer(ctx, lo, g)
	}
	first, err := createKhipu(ctx, o.target, 1000, o.concurrency, 0, nil)
	if err != nil {
		return err
	}
	small, err := lookups(first)
	if err != nil {
		return err
	}
	start := time.Now()
	rest, err := createKhipu(ctx, o.target, n-1000, o.concurrency, 0, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %d payments in %v\n", n, time.Since(start).Round(time.Millisecond))
	if child != nil {
		time.Sleep(2 * time.Second)
		fmt.Fprintf(stdout, "sandbox RSS with %d payments stored: %s\n", n, mib(child.rss()))
	}
	large, err := lookups(append(first, rest...))
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, small.line("lookups, 1,000 stored"))
	fmt.Fprintln(stdout, large.line(fmt.Sprintf("lookups, %d stored", n)))
	if child != nil {
		fmt.Fprintf(stdout, "sandbox RSS after the lookups: %s\n", mib(child.rss()))
	}
	return nil
}

// loadCallbacks measures callback delivery through a running sandbox. It
// creates N Khipu payments (notification API 3.0 to a built-in receiver)
// whose robot payer acts an hour after creation, so that all N deliveries
// are scheduled at once; then it advances the sandbox clock so that the
// first becomes due a second later and the rest follow at the pace they
// were created (-interval, default 200µs: 5,000 a second), or, with -burst,
// all at the same instant. It reports deliveries per second and how late
// each notification arrived after its payment became done.
func loadCallbacks(ctx context.Context, o loadOptions, child *spawned, stdout io.Writer) error {
	n := o.n
	if n <= 0 {
		n = 100_000
	}
	interval := o.rate
	if interval <= 0 && !o.burst {
		interval = 200 * time.Microsecond
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
	pace := "as fast as possible"
	if interval > 0 {
		pace = fmt.Sprintf("one every %v", interval)
	}
	fmt.Fprintf(stdout, "creating %d Khipu payments, %s (notification 3.0 to %s)…\n", n, pace, receiver)
	start := time.Now()
	extra := url.Values{"notify_url": {receiver}, "notify_api_version": {"3.0"}}
	if _, err := createKhipu(ctx, o.target, n, o.concurrency, interval, extra, "X-Sandbox-Scenario", "load-callbacks"); err != nil {
		return err
	}
	created := time.Since(start)
	if child != nil {
		fmt.Fprintf(stdout, "created in %v; sandbox RSS with %d payments and %d robot payers scheduled: %s\n",
			created.Round(time.Millisecond), n, n, mib(child.rss()))
	}
	// The first robot payer is due at start+1h on the sandbox clock: advance
	// so that it is due a second from now, and the rest at their own pace.
	advance := time.Hour - time.Since(start) - time.Second
	if o.burst {
		advance = time.Hour
	}
	advanced := time.Now()
	resp, err = http.Post(o.target+"/_sandbox/api/clock/advance", "application/json", strings.NewReader(fmt.Sprintf(`{"by":%q}`, advance.String())))
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
	case <-time.After(created + 5*time.Minute):
		mu.Lock()
		got := len(arrivals)
		mu.Unlock()
		return fmt.Errorf("load callbacks: %d of %d notifications arrived in time", got, n)
	case <-ctx.Done():
		return ctx.Err()
	}
	mu.Lock()
	defer mu.Unlock()
	firstAt := slices.MinFunc(arrivals, func(a, b time.Time) int { return a.Compare(b) })
	lastAt := slices.MaxFunc(arrivals, func(a, b time.Time) int { return a.Compare(b) })
	late := make([]time.Duration, len(arrivals))
	for i := range arrivals {
		late[i] = arrivals[i].Add(offset).Sub(dones[i])
	}
	slices.Sort(late)
	span := lastAt.Sub(firstAt)
	if o.burst {
		span = lastAt.Sub(advanced)
	}
	fmt.Fprintf(stdout, "callbacks: %d delivered over %v: %.0f deliveries/s\n", n, span.Round(time.Millisecond), float64(n)/span.Seconds())
	fmt.Fprintf(stdout, "first attempt after its scheduled time (payment done → notification received): p50 %v, p99 %v, max %v\n",
		late[len(late)/2].Round(time.Microsecond), late[len(late)*99/100].Round(time.Microsecond), late[len(late)-1].Round(time.Microsecond))
	if child != nil {
		fmt.Fprintf(stdout, "sandbox RSS after the deliveries: %s", mib(child.rss()))
		// What stays once the deliveries' own garbage is collected: the
		// 100,000 payments, now paid, and the bounded journal.
		select {
		case <-ctx.Done():
		case <-time.After(15 * time.Second):
			fmt.Fprintf(stdout, "; 15 s later: %s", mib(child.rss()))
		}
		fmt.Fprintln(stdout)
	}
	return nil
}
