package sandbox

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/hambit"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
	"github.com/paysandbox/sandbox/emulators/khipu"
	"github.com/paysandbox/sandbox/emulators/payu"
)

// demoAccounts are the credentials the shop uses: the built-in accounts
// when they exist, else the first configured account of each provider.
type demoAccounts struct {
	khipuReceiver     int64
	khipuSecret       string
	hambitKey         string
	hambitSecret      string
	hambitIncludeNull bool // the account signs callbacks with empty values included
	payuMerchant      int64
	payuLogin         string
	payuKey           string
	payuAccountID     int64
}

func (m *demo) accounts() demoAccounts {
	cfg := m.s.cfg
	a := demoAccounts{khipuReceiver: khipu.DefaultReceiverID, khipuSecret: khipu.DefaultSecret,
		hambitKey: hambit.DefaultAccessKey, hambitSecret: hambit.DefaultSecretKey,
		payuMerchant: payu.TestMerchantID, payuLogin: payu.TestAPILogin, payuKey: payu.TestAPIKey, payuAccountID: payu.TestAccountID}
	if r := cfg.Khipu.Receivers; len(r) > 0 && !cfg.Khipu.BuiltinAccounts {
		a.khipuReceiver, a.khipuSecret = r[0].ReceiverID, r[0].Secret
	}
	if h := cfg.Hambit.Accounts; len(h) > 0 && !cfg.Hambit.BuiltinAccounts {
		a.hambitKey, a.hambitSecret = h[0].AccessKey, h[0].SecretKey
		a.hambitIncludeNull = h[0].CallbackEmptyValues == "include"
	}
	if p := cfg.PayU.Merchants; len(p) > 0 && !cfg.PayU.BuiltinAccounts {
		a.payuMerchant, a.payuLogin, a.payuKey = p[0].MerchantID, p[0].APILogin, p[0].APIKey
		a.payuAccountID = 0
		for _, acc := range p[0].Accounts {
			if len(acc.Currencies) == 0 || slices.ContainsFunc(acc.Currencies, func(c string) bool { return strings.EqualFold(c, "CLP") }) {
				a.payuAccountID = acc.AccountID
				break
			}
		}
	}
	return a
}

// demoCtx is where the shop sends things for one browser request.
type demoCtx struct {
	linkBase string // what the browser sees: return URLs
	apiBase  string // the base of the shop's API calls (Host = the link base's)
	hookBase string // the base of the callback URLs the shop registers
	client   *http.Client
}

// ctxFor builds the shop's HTTP client for a request. The shop calls the
// public provider APIs of this same sandbox over HTTP; it dials the
// listener the request came in on (always reachable from here, also in a
// container whose public URL is another host's), with the link base's Host
// header, so URLs handed out to the browser are the ones it can open.
// Callbacks are registered on that listener address for the same reason.
func (m *demo) ctxFor(r *http.Request) demoCtx {
	link := wire.LinkBase(r, m.s.cfg.PublicURL)
	dc := demoCtx{linkBase: link, apiBase: link, hookBase: link}
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	dc.client = &http.Client{Timeout: 30 * time.Second, CheckRedirect: noRedirect,
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if local == nil || local.Network() != "tcp" {
		return dc
	}
	addr := local.String()
	u, err := url.Parse(link)
	if err == nil && u.Host != "" {
		dc.apiBase = "http://" + u.Host
	}
	dc.hookBase = "http://" + addr
	tr := &http.Transport{Proxy: nil, DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", addr)
		}}
	dc.client.Transport = tr
	if r.TLS != nil && !inTunnel(r.Context()) && u != nil && u.Host != "" {
		// The HTTPS listener: the shop calls it over TLS (so that the links
		// handed to the browser keep https), trusting the sandbox's CA, and
		// registers its callbacks on the plain listener when there is one.
		if pem, err := m.s.CAPEM(); err == nil {
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(pem)
			tr.TLSClientConfig = &tls.Config{RootCAs: pool, ServerName: u.Hostname()}
			dc.apiBase = "https://" + u.Host
		}
		dc.hookBase = "https://" + addr
		if plain := m.s.httpAddr.Load(); plain != nil {
			if _, port, err := net.SplitHostPort(*plain); err == nil {
				ip, _, _ := net.SplitHostPort(addr)
				dc.hookBase = "http://" + net.JoinHostPort(ip, port)
			}
		}
	}
	return dc
}

// exchange is one HTTP call of the shop, with the journal entry it left.
type exchange struct {
	status int
	header http.Header
	body   []byte
	entry  uint64
}

// call sends req and finds its journal entry (the provider journals every
// exchange; the shop's User-Agent names the order and the step).
func (m *demo) call(dc demoCtx, req *http.Request, provider, orderID, step string) (exchange, error) {
	ua := "paysandbox-demo-shop/1 (order " + orderID + "; " + step + ")"
	req.Header.Set("User-Agent", ua)
	before := m.s.journal.Stats().LastID
	resp, err := dc.client.Do(req)
	if err != nil {
		return exchange{}, fmt.Errorf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	x := exchange{status: resp.StatusCode, header: resp.Header, body: body}
	for _, e := range m.s.journal.List(journal.Filter{After: before, Kinds: []journal.Kind{journal.KindRequest}, Provider: provider, Limit: 500}) {
		if e.Request != nil && headerValue(e.Request.RequestHeaders, "User-Agent") == ua {
			x.entry = e.ID
			break
		}
	}
	if err != nil {
		return x, fmt.Errorf("%s %s: reading the answer: %v", req.Method, req.URL, err)
	}
	return x, nil
}

// detail is the sandbox's one-line reason on an error answer, if any.
func (x exchange) detail() string {
	if d := x.header.Get("X-Sandbox-Error-Detail"); d != "" {
		return " (" + d + ")"
	}
	return ""
}

func (m *demo) scenarioHeader(req *http.Request, o *demoOrder) {
	if o.Scenario != "" {
		req.Header.Set("X-Sandbox-Scenario", o.Scenario)
	}
}

// ---- Khipu (API 2.0, notification API 1.3) --------------------------------

func (m *demo) khipuCreate(dc demoCtx, o *demoOrder) (demoCreated, error) {
	a := m.accounts()
	res := demoCreated{Title: "Khipu payment created (POST /khipu/api/2.0/payments)"}
	ret := dc.linkBase + demoOrderURL(o.ID)
	params := url.Values{
		"subject":            {"paysandbox demo: " + o.Product.Name},
		"currency":           {"CLP"},
		"amount":             {strconv.FormatInt(o.Product.Price, 10)},
		"transaction_id":     {o.ID},
		"body":               {o.Product.Description},
		"return_url":         {ret + "?returned=khipu"},
		"cancel_url":         {ret + "?cancelled=1"},
		"notify_url":         {dc.hookBase + "/_sandbox/demo/callbacks/khipu"},
		"notify_api_version": {"1.3"},
	}
	u := dc.apiBase + "/khipu/api/2.0/payments"
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(params.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", khipu.SignRequest(a.khipuSecret, a.khipuReceiver, http.MethodPost, u, params))
	m.scenarioHeader(req, o)
	x, err := m.call(dc, req, "khipu", o.ID, "create payment")
	res.Entry = x.entry
	if err != nil {
		res.Title = "Khipu payment not created"
		return res, err
	}
	var ok struct {
		PaymentID  string `json:"payment_id"`
		PaymentURL string `json:"payment_url"`
		Simplified string `json:"simplified_transfer_url"`
	}
	if x.status != http.StatusOK || json.Unmarshal(x.body, &ok) != nil || ok.PaymentID == "" {
		res.Title = "Khipu refused the payment"
		return res, fmt.Errorf("HTTP %d: %s%s", x.status, khipuError(x.body), x.detail())
	}
	res.ObjectID, res.PayURL = ok.PaymentID, ok.PaymentURL
	res.Links = []demoRef{{"khipu", ok.PaymentID, "payment " + ok.PaymentID}}
	res.Detail = "Signed with the receiver's secret (HMAC-SHA256 of the canonical request). The shop sends the payer to payment_url and does not deliver on the payer's return: it waits for Khipu's notification."
	return res, nil
}

// khipuError renders Khipu's error body: message plus field errors.
func khipuError(body []byte) string {
	var e struct {
		Message string `json:"message"`
		Errors  []struct {
			Field, Message string
		} `json:"errors"`
	}
	if json.Unmarshal(body, &e) != nil || e.Message == "" {
		return trunc(300, string(body))
	}
	msg := e.Message
	for _, f := range e.Errors {
		msg += "; " + f.Field + ": " + f.Message
	}
	return msg
}

// khipuPayment is the part of Khipu's payment object the shop checks.
type khipuPayment struct {
	PaymentID     string      `json:"payment_id"`
	ReceiverID    json.Number `json:"receiver_id"`
	Status        string      `json:"status"`
	StatusDetail  string      `json:"status_detail"`
	Amount        string      `json:"amount"`
	Currency      string      `json:"currency"`
	TransactionID string      `json:"transaction_id"`
}

// khipuCallback handles a Khipu notification: API 1.3 (a token to re-read
// the payment with) or API 3.0 (the signed payment itself).
func (m *demo) khipuCallback(r *http.Request, body []byte) (int, string) {
	a := m.accounts()
	var p khipuPayment
	var readEntry uint64
	how := ""
	if sig := r.Header.Get("x-khipu-signature"); sig != "" || strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if !khipuVerifyWebhook(a.khipuSecret, sig, body) {
			return http.StatusBadRequest, "invalid x-khipu-signature"
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&p); err != nil {
			return http.StatusBadRequest, "malformed notification: " + err.Error()
		}
		p.Status = "done" // API 3.0 notifies conciliated payments only
		how = "Khipu notification API 3.0: signature verified over the exact body"
	} else {
		form, err := url.ParseQuery(string(body))
		token := form.Get("notification_token")
		if err != nil || token == "" {
			return http.StatusBadRequest, "expected api_version=1.3&notification_token=…"
		}
		dc := m.ctxFor(r)
		u := dc.apiBase + "/khipu/api/2.0/payments"
		params := url.Values{"notification_token": {token}}
		req, _ := http.NewRequest(http.MethodGet, u+"?"+params.Encode(), nil)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Authorization", khipu.SignRequest(a.khipuSecret, a.khipuReceiver, http.MethodGet, u, params))
		x, err := m.call(dc, req, "khipu", "notification "+token[:min(8, len(token))], "get payment by notification_token")
		if err != nil {
			return http.StatusServiceUnavailable, "could not re-read the payment: " + err.Error()
		}
		if x.status != http.StatusOK {
			return http.StatusBadRequest, fmt.Sprintf("Khipu answered %d to the token lookup: %s", x.status, khipuError(x.body))
		}
		dec := json.NewDecoder(bytes.NewReader(x.body))
		dec.UseNumber()
		if err := dec.Decode(&p); err != nil {
			return http.StatusBadGateway, "malformed payment: " + err.Error()
		}
		readEntry = x.entry
		how = "Khipu notification API 1.3 (token " + token[:min(12, len(token))] + "…); the shop re-read the payment with a signed GET /payments?notification_token="
	}
	o, ok := m.snapshot(p.TransactionID)
	if !ok {
		return http.StatusBadRequest, "no order " + p.TransactionID
	}
	m.arrived(o.ID, r, body, "Khipu's notification arrived", how, readEntry, demoRef{"khipu", p.PaymentID, "payment " + p.PaymentID})
	want := emulators.DecimalFromInt(o.Product.Price)
	got, err := emulators.ParseDecimal(p.Amount)
	switch {
	case p.ReceiverID.String() != strconv.FormatInt(a.khipuReceiver, 10):
		return m.reject(o.ID, "receiver_id "+p.ReceiverID.String()+" is not the shop's")
	case err != nil || !got.Equal(want):
		return m.reject(o.ID, "amount "+p.Amount+" differs from the order's "+want.String())
	case p.Status != "done":
		m.note(o.ID, "wait", "Not paid yet", "Khipu says status "+p.Status+"; the shop keeps waiting.", 0)
		return http.StatusOK, "noted"
	}
	if err := m.settle(o.ID, true, "Paid", "Khipu payment "+p.PaymentID+" is done for "+money(p.Amount)+": the shop can ship."); err != nil {
		return http.StatusBadRequest, err.Error()
	}
	return http.StatusOK, "OK"
}

// reject notes a callback that does not hold up and answers 400 (the
// provider retries; the journal shows the shop's reason).
func (m *demo) reject(orderID, why string) (int, string) {
	m.note(orderID, "bad", "Callback rejected", why, 0)
	return http.StatusBadRequest, why
}

// ---- Hambit (collection order) --------------------------------------------

func (m *demo) hambitCreate(dc demoCtx, o *demoOrder) (demoCreated, error) {
	a := m.accounts()
	res := demoCreated{Title: "Hambit collection order created (POST /hambit/api/v3/chl/createCollectingOrder)"}
	body, _ := json.Marshal(struct {
		Amount          string `json:"amount"`
		ChannelType     string `json:"channelType"`
		ExternalOrderID string `json:"externalOrderId"`
		UserInfoType    string `json:"userInfoType"`
		CustomerType    string `json:"customerType"`
		UserInfoNo      string `json:"userInfoNo"`
		NotifyURL       string `json:"notifyUrl"`
		Remark          string `json:"remark"`
		ReturnURL       string `json:"returnUrl"`
	}{strconv.FormatInt(o.Product.Price, 10), "BANK", o.ID, "CASH", "RUT", "111111111",
		dc.hookBase + "/_sandbox/demo/callbacks/hambit", "paysandbox demo", dc.linkBase + demoOrderURL(o.ID) + "?returned=hambit"})
	// The timestamp is wall-clock time: Hambit checks it against real time.
	signed, err := hambit.NewHeaders(a.hambitKey, a.hambitSecret, body, time.Now(), m.rand.UUID())
	if err != nil {
		res.Title = "Hambit collection order not created"
		return res, err
	}
	req, _ := http.NewRequest(http.MethodPost, dc.apiBase+"/hambit/api/v3/chl/createCollectingOrder", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json;charset=utf-8")
	// Hambit's header names are lower-case with underscores: kept as they are.
	for k, v := range signed {
		req.Header[k] = v
	}
	m.scenarioHeader(req, o)
	x, err := m.call(dc, req, "hambit", o.ID, "create collection")
	res.Entry = x.entry
	if err != nil {
		res.Title = "Hambit collection order not created"
		return res, err
	}
	var env struct {
		Code  string `json:"code"`
		MsgEn string `json:"msgEn"`
		Data  struct {
			CashierURL string `json:"cashierUrl"`
			CashierID  string `json:"cashierId"`
			Vo         struct {
				OrderID string `json:"orderId"`
			} `json:"currencyOrderVo"`
		} `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(x.body))
	dec.UseNumber()
	if x.status != http.StatusOK || dec.Decode(&env) != nil || env.Code != "200" {
		res.Title = "Hambit refused the collection order"
		return res, fmt.Errorf("HTTP %d, code %s %s%s", x.status, env.Code, env.MsgEn, x.detail())
	}
	res.ObjectID, res.PayURL = env.Data.Vo.OrderID, env.Data.CashierURL
	res.Links = []demoRef{{"hambit", env.Data.Vo.OrderID, "order " + env.Data.Vo.OrderID}}
	res.Detail = "Signed with HMAC-SHA1 over the sorted body fields and the access_key, timestamp and nonce headers. The shop sends the payer to cashierUrl and waits for the signed callback."
	return res, nil
}

// hambitCallback verifies and applies a Hambit payment callback.
func (m *demo) hambitCallback(r *http.Request, body []byte) (int, string) {
	a := m.accounts()
	h := func(name string) string { return r.Header.Get(name) }
	if h("access_key") != a.hambitKey {
		return http.StatusBadRequest, `{"code":307,"success":false,"msg":"unknown access_key"}`
	}
	if !hambitVerify(a.hambitSecret, body, h("access_key"), h("timestamp"), h("nonce"), h("sign"), a.hambitIncludeNull) {
		return http.StatusBadRequest, `{"code":307,"success":false,"msg":"invalid sign"}`
	}
	var cb struct {
		ExternalOrderID   string      `json:"externalOrderId"`
		OrderID           string      `json:"orderId"`
		OrderStatus       string      `json:"orderStatus"`
		OrderStatusCode   json.Number `json:"orderStatusCode"`
		OrderAmount       json.Number `json:"orderAmount"`
		OrderActualAmount json.Number `json:"orderActualAmount"`
		ErrorMsgEn        string      `json:"errorMsgEn"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&cb); err != nil {
		return http.StatusBadRequest, `{"code":300,"success":false,"msg":"malformed body"}`
	}
	o, ok := m.snapshot(cb.ExternalOrderID)
	if !ok {
		return http.StatusBadRequest, `{"code":300,"success":false,"msg":"unknown externalOrderId"}`
	}
	m.arrived(o.ID, r, body, "Hambit's callback arrived",
		"The sign header verified over the exact body bytes (numbers as sent, never re-rendered); orderStatusCode "+cb.OrderStatusCode.String()+" ("+cb.OrderStatus+").",
		0, demoRef{"hambit", cb.OrderID, "order " + cb.OrderID})
	switch cb.OrderStatusCode.String() {
	case "2":
		paid, err := emulators.ParseDecimal(cb.OrderActualAmount.String())
		if err != nil || paid.Cmp(emulators.DecimalFromInt(o.Product.Price)) < 0 {
			m.settle(o.ID, false, "Underpaid", "Hambit collected "+money(cb.OrderActualAmount.String())+" of "+clp(o.Product.Price)+": the shop does not ship.")
			return http.StatusOK, `{"code":200,"success":true}`
		}
		m.settle(o.ID, true, "Paid", "Hambit collected "+money(cb.OrderActualAmount.String())+" (orderActualAmount): the shop can ship.")
	case "16":
		m.settle(o.ID, false, "Payment failed", "Hambit reports the collection failed: "+cb.ErrorMsgEn)
	default:
		m.note(o.ID, "wait", "Not final yet", "orderStatusCode "+cb.OrderStatusCode.String()+"; the shop keeps waiting.", 0)
	}
	return http.StatusOK, `{"code":200,"success":true}`
}

// ---- PayU (payments API, confirmation page) --------------------------------

func (m *demo) payuSubmit(dc demoCtx, o *demoOrder, card demoCard) (demoCreated, error) {
	a := m.accounts()
	res := demoCreated{Title: "PayU transaction submitted (SUBMIT_TRANSACTION)"}
	if a.payuAccountID == 0 {
		res.Title = "PayU transaction not submitted"
		return res, fmt.Errorf("the first configured PayU merchant has no account accepting CLP")
	}
	value := strconv.FormatInt(o.Product.Price, 10)
	method := map[string]string{"payu-khipu": "KHIPU", "payu-webpay": "TRANSBANK_DEBIT", "payu-card": cardBrand(card.Number)}[o.Method.ID]
	ret := dc.linkBase + demoOrderURL(o.ID)
	address := map[string]any{"street1": "Av. Providencia 1234", "city": "Santiago", "state": "RM", "country": "CL", "postalCode": "7500000", "phone": "56222222222"}
	tx := map[string]any{
		"order": map[string]any{
			"accountId":     a.payuAccountID,
			"referenceCode": o.ID,
			"description":   "paysandbox demo: " + o.Product.Name,
			"language":      "es",
			"signature":     payu.OrderSignature(a.payuKey, a.payuMerchant, o.ID, value, "CLP"),
			"notifyUrl":     dc.hookBase + "/_sandbox/demo/callbacks/payu",
			"additionalValues": map[string]any{
				"TX_VALUE": map[string]any{"value": json.Number(value), "currency": "CLP"},
			},
			"buyer": map[string]any{"merchantBuyerId": "1", "fullName": "Compradora Demo", "emailAddress": "compradora@example.com",
				"contactPhone": "56222222222", "dniNumber": "111111111", "shippingAddress": address},
			"shippingAddress": address,
		},
		"payer": map[string]any{"merchantPayerId": "1", "fullName": "Compradora Demo", "emailAddress": "compradora@example.com",
			"contactPhone": "56222222222", "dniNumber": "111111111", "dniType": "CC",
			"billingAddress": map[string]any{"street1": "Av. Providencia 1234", "city": "Santiago", "country": "CL"}},
		"type":            "AUTHORIZATION_AND_CAPTURE",
		"paymentMethod":   method,
		"paymentCountry":  "CL",
		"deviceSessionId": "demo-" + o.ID,
		"ipAddress":       "127.0.0.1",
		"cookie":          "demo",
		"userAgent":       "paysandbox-demo-shop",
		"extraParameters": map[string]any{"RESPONSE_URL": ret, "INSTALLMENTS_NUMBER": 1},
	}
	switch o.Method.ID {
	case "payu-khipu":
		tx["extraParameters"].(map[string]any)["FINANCIAL_INSTITUTION_CODE"] = "Bawdf"
		tx["extraParameters"].(map[string]any)["FINANCIAL_INSTITUTION_NAME"] = "DemoBank"
	case "payu-card":
		tx["creditCard"] = map[string]any{"number": card.Number, "securityCode": card.CVV, "expirationDate": card.Expiry, "name": card.Name}
	}
	body, _ := json.Marshal(map[string]any{
		"language": "es", "command": "SUBMIT_TRANSACTION", "test": true,
		"merchant":    map[string]any{"apiLogin": a.payuLogin, "apiKey": a.payuKey},
		"transaction": tx,
	})
	req, _ := http.NewRequest(http.MethodPost, dc.apiBase+"/payu/payments-api/4.0/service.cgi", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Accept", "application/json")
	m.scenarioHeader(req, o)
	x, err := m.call(dc, req, "payu", o.ID, "submit transaction")
	res.Entry = x.entry
	if err != nil {
		res.Title = "PayU transaction not submitted"
		return res, err
	}
	var ans struct {
		Code  string `json:"code"`
		Error string `json:"error"`
		TR    *struct {
			OrderID         json.Number    `json:"orderId"`
			TransactionID   string         `json:"transactionId"`
			State           string         `json:"state"`
			ResponseCode    string         `json:"responseCode"`
			PendingReason   string         `json:"pendingReason"`
			TrazabilityCode string         `json:"trazabilityCode"`
			ErrorMessage    string         `json:"paymentNetworkResponseErrorMessage"`
			Extra           map[string]any `json:"extraParameters"`
		} `json:"transactionResponse"`
	}
	dec := json.NewDecoder(bytes.NewReader(x.body))
	dec.UseNumber()
	if x.status != http.StatusOK || dec.Decode(&ans) != nil || ans.Code != "SUCCESS" || ans.TR == nil {
		res.Title = "PayU refused the transaction"
		return res, fmt.Errorf("HTTP %d, code %s: %s%s", x.status, ans.Code, ans.Error, x.detail())
	}
	tr := ans.TR
	res.ObjectID = tr.TransactionID
	res.Related = []demoRef{{"payu", tr.OrderID.String(), "order " + tr.OrderID.String()}}
	res.Links = []demoRef{{"payu", tr.TransactionID, "transaction " + tr.TransactionID}, {"payu", tr.OrderID.String(), "order " + tr.OrderID.String()}}
	extra := func(k string) string { s, _ := tr.Extra[k].(string); return s }
	res.Detail = fmt.Sprintf("Signed with md5(apiKey~merchantId~referenceCode~%s~CLP). PayU answered %s", value, tr.State)
	if tr.ResponseCode != "" {
		res.Detail += " / " + tr.ResponseCode
	}
	switch o.Method.ID {
	case "payu-khipu":
		res.PayURL = extra("BANK_URL")
		if tr.TrazabilityCode != "" {
			res.Related = append(res.Related, demoRef{"khipu", tr.TrazabilityCode, "Khipu payment " + tr.TrazabilityCode})
			res.Links = append(res.Links, demoRef{"khipu", tr.TrazabilityCode, "Khipu payment " + tr.TrazabilityCode})
		}
		res.Detail += "; the shop sends the payer to BANK_URL (Khipu's page) and waits for PayU's confirmation."
	case "payu-webpay":
		if u := extra("URL_PAYMENT_REDIRECT"); u != "" {
			res.PayURL = u + "?token_ws=" + url.QueryEscape(extra("TRANSBANK_DIRECT_TOKEN"))
		}
		res.Detail += "; the shop sends the payer to URL_PAYMENT_REDIRECT?token_ws=… and waits for PayU's confirmation."
	default:
		res.Tone = tone(tr.State)
		res.Pending = "PayU answered " + tr.State + "; the shop marks the order when PayU's confirmation arrives."
		if tr.ErrorMessage != "" {
			res.Detail += " (" + tr.ErrorMessage + ")"
		}
		res.Detail += ". A card charge is decided at once, but the shop still waits for the confirmation page before it ships."
	}
	if (o.Method.ID == "payu-khipu" || o.Method.ID == "payu-webpay") && res.PayURL == "" {
		res.Tone = tone(tr.State)
		res.Pending = "PayU answered " + tr.State + " without a payment page."
	}
	return res, nil
}

// cardBrand picks the PayU payment method of a card number.
func cardBrand(number string) string {
	switch {
	case strings.HasPrefix(number, "34"), strings.HasPrefix(number, "37"):
		return "AMEX"
	case strings.HasPrefix(number, "36"), strings.HasPrefix(number, "38"), strings.HasPrefix(number, "30"):
		return "DINERS"
	case strings.HasPrefix(number, "5"), strings.HasPrefix(number, "2"):
		return "MASTERCARD"
	}
	return "VISA"
}

// payuCallback verifies and applies a PayU confirmation (form POST).
func (m *demo) payuCallback(r *http.Request, body []byte) (int, string) {
	a := m.accounts()
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return http.StatusBadRequest, "expected a form"
	}
	f, err := url.ParseQuery(string(body))
	if err != nil {
		return http.StatusBadRequest, "malformed form"
	}
	o, ok := m.snapshot(f.Get("reference_sale"))
	if !ok {
		return http.StatusBadRequest, "no order " + f.Get("reference_sale")
	}
	value, err := payuConfirmationValue(f.Get("value"))
	if err != nil || f.Get("merchant_id") != strconv.FormatInt(a.payuMerchant, 10) ||
		!payuVerify(f.Get("sign"), a.payuKey, f.Get("merchant_id"), f.Get("reference_sale"), value, f.Get("currency"), f.Get("state_pol")) {
		return m.reject(o.ID, "the confirmation's sign does not verify (md5 of apiKey~merchant_id~reference_sale~"+value+"~currency~state_pol)")
	}
	m.arrived(o.ID, r, body, "PayU's confirmation arrived",
		fmt.Sprintf("sign verified; state_pol %s, response_message_pol %s, transaction %s, attempt %s.", f.Get("state_pol"), f.Get("response_message_pol"), f.Get("transaction_id"), f.Get("attempts")),
		0, demoRef{"payu", f.Get("transaction_id"), "transaction " + f.Get("transaction_id")})
	got, err := emulators.ParseDecimal(f.Get("value"))
	switch f.Get("state_pol") {
	case "4":
		if err != nil || !got.Equal(emulators.DecimalFromInt(o.Product.Price)) || f.Get("currency") != "CLP" {
			return m.reject(o.ID, "value "+f.Get("value")+" "+f.Get("currency")+" differs from the order's")
		}
		m.settle(o.ID, true, "Paid", "PayU approved the transaction ("+f.Get("payment_method_name")+"): the shop can ship.")
	case "6", "5", "104":
		m.settle(o.ID, false, "Payment not approved", "PayU: "+f.Get("response_message_pol")+" (state_pol "+f.Get("state_pol")+").")
	default:
		m.note(o.ID, "wait", "Not final yet", "state_pol "+f.Get("state_pol")+"; the shop keeps waiting.", 0)
	}
	return http.StatusOK, "OK"
}
