package khipu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/then"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
	"github.com/paysandbox/sandbox/scenarios"
)

// call is one authenticated API request.
type call struct {
	c        echo.Context
	v3       bool
	rcv      *receiver
	scenario string
	explicit bool   // the scenario came from X-Sandbox-Scenario
	params   params // decoded query (+ form body on v2)
	body     []byte
}

func (cl *call) api() string {
	if cl.v3 {
		return "v3"
	}
	return "v2"
}

type apiHandler func(cl *call) error

// api serves one API route on surface sf through the shared pipeline
// (§6.2): scenario header → bounded body → authenticate → h.
func api(pipe *wire.Pipeline[*call], sf surface, op string, h apiHandler) echo.HandlerFunc {
	return func(c echo.Context) error {
		setSurface(c, sf)
		return pipe.Run(c, op, h)
	}
}

// authenticate is the pipeline's auth hook: the v2 signature (§5.2) or
// the v3 API key (§10).
func (s *Service) authenticate(x wire.Exchange) (*call, error) {
	cl := &call{c: x.C, v3: surfaceOf(x.C) == surfaceV3, scenario: x.Scenario, explicit: x.Header != "", body: x.Body}
	if cl.v3 {
		s.noteGeneratedClient(x.C.Request().UserAgent())
		return cl, s.authV3(cl)
	}
	return cl, s.authV2(cl)
}

// generatorAgents are the User-Agent marks of clients generated from an
// OpenAPI document (openapi-generator: "OpenAPI-Generator/1.0.0/go";
// swagger-codegen: "Swagger-Codegen/1.0.0/java"), compared in lower case.
var generatorAgents = []string{"openapi-generator", "swagger-codegen"}

// maxNotedAgent bounds the User-Agent quoted in the journal note.
const maxNotedAgent = 200

// noteGeneratedClient explains the OpenAPI trap in the journal the first
// time a v3 request comes from a generated client (once per instance): the
// 3.0 document types amount, discount and min_amount as number, production
// sends them as strings ("1570.0000"), and so does the sandbox; a client
// generated with a float64 or number field fails on both (§4.3).
func (s *Service) noteGeneratedClient(userAgent string) {
	if userAgent == "" || s.openAPINoted.Load() {
		return // the common case costs one atomic load
	}
	lower := strings.ToLower(userAgent)
	generator := ""
	for _, g := range generatorAgents {
		if strings.Contains(lower, g) {
			generator = g
			break
		}
	}
	if generator == "" || !s.openAPINoted.CompareAndSwap(false, true) {
		return
	}
	if len(userAgent) > maxNotedAgent {
		userAgent = strings.ToValidUTF8(userAgent[:maxNotedAgent], "") + "…"
	}
	s.deps.Record(journal.KindNote, provider,
		fmt.Sprintf("v3 request from a client generated from Khipu's OpenAPI document (User-Agent %q): "+
			"the document types amount, discount and min_amount as number, but production answers strings such as \"1570.0000\" "+
			"and so does the sandbox, so a generated client that decodes them into a float64 or number field fails here as it would on production; "+
			"decode them as json.Number or a string-or-number type (Khipu README, \"Amounts are JSON strings\"). Noted once per run.", userAgent),
		map[string]string{"user_agent": userAgent, "generator": generator, "fields": "amount, discount, min_amount"})
}

// signatureScheme names the v2 scheme in the journal.
const signatureScheme = "HMAC-SHA256 hex (Khipu API 2.0)"

// authV2 verifies the Authorization header of API 2.0 (§5.2).
func (s *Service) authV2(cl *call) error {
	r := cl.c.Request()
	var p params
	body := isFormBody(r.Header.Get(echo.HeaderContentType), cl.body)
	switch {
	case r.URL.RawQuery == "" && body:
		p = decodeForm(string(cl.body))
	default:
		p = decodeForm(r.URL.RawQuery)
		if body {
			for k, v := range decodeForm(string(cl.body)) {
				p[k] = v
			}
		}
	}
	cl.params = p
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	cands := candidateURLs(scheme, r.Host, requestPath(r), s.deps.PublicURL)
	header := r.Header.Get(echo.HeaderAuthorization)
	sig := &journal.Signature{Verdict: journal.VerdictRejected, Scheme: signatureScheme, Received: header}
	wire.Annotate(cl.c).Signature = sig
	reject := func(e *emulators.Error) error {
		if len(sig.Candidates) == 0 { // rejected before verifying: A1, A2
			for _, c := range cands {
				sig.Candidates = append(sig.Candidates, journal.Candidate{Name: c.name, StringToSign: stringToSign(r.Method, c.url, p)})
			}
		}
		if s.deps.DebugHeaders {
			wire.SetStringToSign(cl.c.Response().Header(), sig.Candidates[0].StringToSign)
		}
		sig.Detail = e.Detail
		return e
	}
	ah, ok := parseAuthorization(header)
	if !ok {
		detail := "Authorization header missing; expected <receiver_id>:<64 hex HMAC-SHA256> (§5.1)"
		if header != "" {
			detail = fmt.Sprintf("Authorization header %q is not <receiver_id>:<64 hex HMAC-SHA256> (§5.2)", header)
		}
		return reject(authError("A1", msgA1, detail))
	}
	rcv, ok := s.receivers[ah.receiverID]
	if !ok {
		return reject(authError("A2", msgA2, fmt.Sprintf("receiver_id %d is not a configured receiver (known: %s)", ah.receiverID, s.knownReceivers())))
	}
	v := verifySignature(rcv.macs, r.Method, cands, p, ah.signature)
	for _, c := range v.candidates {
		sig.Candidates = append(sig.Candidates, journal.Candidate{Name: c.name, StringToSign: c.toSign, Signature: c.signature, Match: c.match})
	}
	sig.Expected = v.candidates[0].signature
	if !v.ok {
		names := make([]string, len(v.candidates))
		for i, c := range v.candidates {
			names[i] = c.url
		}
		return reject(authError("A3", msgA3, fmt.Sprintf("signature %s matches none of the signed URLs %s; expected %s for %s (string to sign in X-Sandbox-String-To-Sign)",
			ah.signature, strings.Join(names, ", "), v.candidates[0].signature, v.candidates[0].url)))
	}
	sig.Verdict = journal.VerdictOK
	cl.rcv = rcv
	return nil
}

func (s *Service) knownReceivers() string {
	parts := make([]string, len(s.receiverIDs))
	for i, id := range s.receiverIDs {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ", ")
}

// isFormBody says whether the body is read as form parameters (§5.2 step 3):
// an x-www-form-urlencoded media type (any charset), or no Content-Type
// with a non-empty body.
func isFormBody(contentType string, body []byte) bool {
	if strings.TrimSpace(contentType) == "" {
		return len(body) > 0
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(contentType, ";")
	}
	return strings.EqualFold(strings.TrimSpace(mt), "application/x-www-form-urlencoded")
}

// requestPath returns the path exactly as it appeared on the request line
// (escaped form, trailing slash kept, no query): what the client signed.
func requestPath(r *http.Request) string {
	uri := r.RequestURI
	if uri == "" {
		return r.URL.EscapedPath()
	}
	if strings.HasPrefix(uri, "http://") || strings.HasPrefix(uri, "https://") {
		if u, err := url.Parse(uri); err == nil {
			return u.EscapedPath()
		}
	}
	p, _, _ := strings.Cut(uri, "?")
	return p
}

// authV3 identifies the receiver by its x-api-key (§10).
func (s *Service) authV3(cl *call) error {
	cl.params = decodeForm(cl.c.Request().URL.RawQuery)
	key := strings.TrimSpace(cl.c.Request().Header.Get("x-api-key"))
	if key == "" {
		return &emulators.Error{Kind: emulators.Unauthorized, Msg: msgV3Credentials, Detail: "x-api-key header missing (API 3.0 authenticates with the receiver's API key)"}
	}
	rcv, ok := s.byAPIKey[key]
	if !ok {
		return &emulators.Error{Kind: emulators.Forbidden, Msg: msgV3Forbidden, Detail: "x-api-key is not the API key of a configured receiver (a v2 secret is not an API key)"}
	}
	cl.rcv = rcv
	return nil
}

// linkBase is the base of URLs handed out for this request (§2.2).
func (s *Service) linkBase(c echo.Context) string {
	base := wire.LinkBase(c.Request(), s.deps.PublicURL)
	if !(s.deps.PublicURL == "" && wire.IsHostRouted(c)) {
		base += "/khipu"
	}
	// Nearly every payment has the same link base: share one copy of the
	// text instead of storing one per payment.
	if last := s.lastLinkBase.Load(); last != nil && *last == base {
		return *last
	}
	s.lastLinkBase.Store(&base)
	return base
}

func respond(c echo.Context, v any) error {
	return wire.JSON(c, http.StatusOK, echo.MIMEApplicationJSON, v)
}

// handleBanks serves GET /banks (§6.1).
func (s *Service) handleBanks(cl *call) error {
	out := banksResponse{Banks: []bankJSON{}}
	for _, b := range s.visibleBanks(cl.rcv) {
		out.Banks = append(out.Banks, bankJSON{BankID: b.BankID, Name: b.Name, Message: b.Message,
			MinAmount: formatAmount(b.MinAmount), Type: b.Type, Parent: b.Parent, LogoURL: b.LogoURL})
	}
	return respond(cl.c, out)
}

// handleCreate serves POST /payments (§6.2, §10).
func (s *Service) handleCreate(cl *call) error {
	var in input
	if cl.v3 {
		var err error
		if in, err = decodeJSONInput(cl.body); err != nil {
			return malformed()
		}
	} else {
		in = formInput(cl.params)
	}
	req, errs := validateCreate(in, cl.v3, cl.rcv, s.banks, s.now())
	if len(errs) > 0 {
		return fieldErrors(errs)
	}
	probe := Payment{
		paymentCore: paymentCore{ReceiverID: cl.rcv.id, Amount: req.Amount, Currency: req.Currency, Subject: req.Subject,
			TransactionID: req.TransactionID, NotifyAPIVersion: req.NotifyAPIVersion},
		paymentOptions: req.paymentOptions,
	}
	// One consultation of the scenarios for the request: the create point,
	// then (unless it refuses) the payer's pay point, under the same
	// scenario and attributes.
	dec := s.deps.Scenarios.Bind(cl.scenario, provider)
	attrsOf := func() scenarios.Attrs { return attrs(&probe, cl.api()) }
	plan := dec.Decide(PointCreate, attrsOf)
	n := wire.Annotate(cl.c)
	if plan.Matched {
		n.Scenario, n.Rule = plan.Scenario, plan.Rule
		if se, ok := plan.Error.(ScenarioError); ok {
			then.Respond(cl.c, plan.ResponseDelay)
			return scenarioError(se, cl.v3, false, "create refused by scenario "+plan.Scenario+" "+plan.Rule)
		}
		if plan.Fault != "" {
			sample, _ := wire.MarshalJSON(createResponse{PaymentID: "faultsample0", ReadyForTerminal: true})
			return wire.Fault(cl.c, plan.Fault, echo.MIMEApplicationJSON, sample)
		}
	}
	p := s.createPayment(newPayment{req: req, receiver: cl.rcv, api: cl.api(), scenario: cl.scenario,
		linkBase: s.linkBase(cl.c), cause: journal.CauseRequest, pay: dec.Decide(PointPay, attrsOf), payDecided: true})
	n.AddObject(p.ID)
	if d, ok := s.robotWait(p); ok {
		id := p.ID
		then.Schedule(s.grp, d, then.RobotLabel(provider, id, p.Pay.Scenario+" "+p.Pay.Rule, p.Pay.outcomeOr("approve")), func() { s.robotPay(id) })
	}
	then.Respond(cl.c, plan.ResponseDelay)
	return respond(cl.c, createResponse{PaymentID: p.ID, PaymentURL: p.paymentURL(), SimplifiedTransferURL: p.simplifiedURL(),
		TransferURL: p.transferURL(), AppURL: p.appURL(), ReadyForTerminal: true})
}

func malformed() error {
	return &emulators.Error{Kind: emulators.Invalid, Code: codeMalformed, Msg: msgMalformed, Detail: "the body is not one JSON object"}
}

// scenarioError builds the answer of a scenario's `error` (§14): v2
// default 503 S9 (refund: S8), v3 default 500 Error interno.
func scenarioError(se ScenarioError, v3, refund bool, detail string) error {
	status := se.HTTPStatus
	if status == 0 {
		status = http.StatusServiceUnavailable
		if v3 && !refund {
			status = http.StatusInternalServerError
		}
	}
	msg := se.Message
	if msg == "" {
		switch {
		case refund && status == http.StatusServiceUnavailable:
			msg = msgS8
		case status == http.StatusBadRequest:
			msg = msgV0
		case status == http.StatusUnauthorized:
			msg = msgV3Credentials
		case status == http.StatusForbidden:
			msg = "Error de autorización"
		case status == http.StatusNotFound:
			msg = msgPathNotFound
		case v3 && status >= 500:
			msg = msgV3Internal
		case refund:
			msg = msgS8
		case status >= 500:
			msg = msgS9
		default:
			msg = "Error de operación"
		}
	}
	f := &scenarioFailure{status: status, message: msg, detail: detail}
	if len(se.Errors) > 0 || status == http.StatusBadRequest {
		f.withErr = true
		for _, e := range se.Errors {
			f.errors = append(f.errors, emulators.FieldError{Field: e.Field, Message: e.Message})
		}
	}
	return f
}

// notFound is an unknown, deleted or foreign payment: 400 F20 on v2, 404 on v3 (§6.3, §9.2).
func notFound(cl *call, id string) error {
	detail := fmt.Sprintf("no payment %q for receiver %d (unknown, deleted, or another receiver's)", id, cl.rcv.id)
	if cl.v3 {
		return &emulators.Error{Kind: emulators.NotFound, Code: codePayment, Msg: msgV3NotFound, Detail: detail}
	}
	return fieldError("payment_id", msgNoPayment, detail)
}

func (s *Service) paymentOf(cl *call) (Payment, error) {
	id := cl.c.Param("id")
	wire.Annotate(cl.c).AddObject(id)
	p, ok := s.lookup(id, cl.rcv)
	if !ok {
		return p, notFound(cl, id)
	}
	return p, nil
}

// handleGetByToken serves GET /payments?notification_token= (§6.3).
func (s *Service) handleGetByToken(cl *call) error {
	token := cl.params["notification_token"]
	if token == "" {
		return fieldError("notification_token", msgRequired, "query parameter notification_token is required")
	}
	id, ok := s.tokens.Get(token)
	var p Payment
	if ok {
		p, ok = s.lookup(id, cl.rcv)
	}
	if !ok {
		return fieldError("notification_token", msgNoToken, fmt.Sprintf("no payment of receiver %d has notification_token %q", cl.rcv.id, token))
	}
	wire.Annotate(cl.c).AddObject(p.ID)
	return respond(cl.c, p.toJSON(false))
}

// handleGetPayment serves GET /payments/{id} (§6.3, §10).
func (s *Service) handleGetPayment(cl *call) error {
	p, err := s.paymentOf(cl)
	if err != nil {
		return err
	}
	return respond(cl.c, p.toJSON(cl.v3))
}

// handleDelete serves DELETE /payments/{id} (§6.4).
func (s *Service) handleDelete(cl *call) error {
	p, err := s.paymentOf(cl)
	if err != nil {
		return err
	}
	if _, err := s.deletePayment(p.ID, journal.CauseRequest); err != nil {
		return err
	}
	return respond(cl.c, messageResponse{Message: "Pago eliminado"})
}

// handleConfirm serves POST /payments/{id}/confirm (§6.5).
func (s *Service) handleConfirm(cl *call) error {
	if !cl.rcv.confirmEnabled {
		return authError("A4", msgA4, fmt.Sprintf("receiver %d has confirm_enabled: false", cl.rcv.id))
	}
	p, err := s.paymentOf(cl)
	if err != nil {
		return err
	}
	_, err = s.mutate(p.ID, journal.CauseRequest, func(p *Payment, now time.Time) error {
		if p.Deleted || p.Status != statusDone || (p.StatusDetail != detailNormal && p.StatusDetail != detailMarkedPaid) {
			return stateError("S2", msgS2, fmt.Sprintf("payment %s is %s; only done (normal or marked-paid-by-receiver) payments can be confirmed (§6.5)", p.ID, p.state()))
		}
		if p.ConfirmedAt.IsZero() {
			p.ConfirmedAt = now
		}
		return nil
	})
	if err != nil {
		return err
	}
	return respond(cl.c, messageResponse{Message: "Pago confirmado, será rendido al día siguiente"})
}

// refundAmount reads the optional refund amount (v2 form, v3 JSON).
func refundAmount(cl *call) (*value, error) {
	if !cl.v3 {
		if a, ok := cl.params["amount"]; ok && a != "" {
			return &value{text: a, kind: wire.LitString}, nil
		}
		return nil, nil
	}
	if len(bytes.TrimSpace(cl.body)) == 0 {
		return nil, nil
	}
	in, err := decodeJSONInput(cl.body)
	if err != nil {
		return nil, malformed()
	}
	if a, ok := in["amount"]; ok && !(a.kind == wire.LitString && a.text == "") {
		return &a, nil
	}
	return nil, nil
}

// handleRefund serves POST /payments/{id}/refunds (§6.6).
func (s *Service) handleRefund(cl *call) error {
	p, err := s.paymentOf(cl)
	if err != nil {
		return err
	}
	amount, err := refundAmount(cl)
	if err != nil {
		return err
	}
	if _, err := checkRefund(&p, cl.rcv, amount); err != nil {
		return err
	}
	scen := p.Scenario
	if cl.explicit {
		scen = cl.scenario
	}
	a := attrs(&p, cl.api())
	plan := s.deps.Scenarios.Decide(scen, provider, PointRefund, a)
	n := wire.Annotate(cl.c)
	if plan.Matched {
		n.Scenario, n.Rule = plan.Scenario, plan.Rule
		if plan.Fault != "" {
			sample, _ := wire.MarshalJSON(messageResponse{Message: "Reembolso realizado"})
			return wire.Fault(cl.c, plan.Fault, echo.MIMEApplicationJSON, sample)
		}
		if plan.Outcome == "reject" || plan.Error != nil {
			se, _ := plan.Error.(ScenarioError)
			then.Respond(cl.c, plan.ResponseDelay)
			return scenarioError(se, cl.v3, true, "refund rejected by scenario "+plan.Scenario+" "+plan.Rule)
		}
	}
	np, refunded, full, err := s.refund(p.ID, cl.rcv, amount)
	if err != nil {
		return err
	}
	s.deps.Record(journal.KindNote, provider, fmt.Sprintf("payment %s: refund of %s %s accepted (refunded %s of %s; no notification)",
		np.ID, refunded, np.Currency, np.Refunded, np.Amount),
		map[string]string{"amount": refunded.String(), "refunded": np.Refunded.String()}, np.ID)
	then.Respond(cl.c, plan.ResponseDelay)
	if full {
		return respond(cl.c, messageResponse{Message: "Reembolso realizado"})
	}
	return respond(cl.c, messageResponse{Message: "Reembolso parcial realizado"})
}

// handlePaymentMethods serves GET /merchants/{id}/paymentMethods (§6.7).
func (s *Service) handlePaymentMethods(cl *call) error {
	id, err := strconv.ParseInt(cl.c.Param("id"), 10, 64)
	if err != nil || id != cl.rcv.id {
		return authError("A5", msgA5, fmt.Sprintf("merchant id %q is not the authenticated receiver %d", cl.c.Param("id"), cl.rcv.id))
	}
	link := s.linkBase(cl.c)
	return respond(cl.c, paymentMethodsResponse{PaymentMethods: []paymentMethodJSON{
		{ID: methodSimplified, Name: "Transferencia simplificada", LogoURL: link + "/static/simplified_transfer.svg"},
		{ID: methodRegular, Name: "Transferencia normal", LogoURL: link + "/static/regular_transfer.svg"},
	}})
}

// handleIntegratorOnly answers the integrator operations (§17): 403 A6.
func (s *Service) handleIntegratorOnly(cl *call) error {
	return authError("A6", msgA6, "integrator operations (receivers) are not emulated")
}

// The results of GET /v3/predict: the enum of the 3.0 document.
const (
	predictOK                 = "ok"
	predictNewAmountExceeded  = "new_destinatary_amount_exceeded"
	predictMaxAmountExceeded  = "max_amount_exceeded"
	predictNewCoolDown        = "new_destinatary_cool_down"
	predictAccountUnavailable = "not_available_account"
)

// predictResults lists them; the order is the document's.
var predictResults = []string{predictOK, predictNewAmountExceeded, predictMaxAmountExceeded, predictNewCoolDown, predictAccountUnavailable}

// newDestinataryLimit is the most a payer's bank lets them transfer to a
// destinatary they have just registered (the sandbox treats every payer as
// new to every receiver): the 3.0 document's example value, capped by the
// receiver's max_amount.
var newDestinataryLimit = emulators.DecimalFromInt(100000)

// defaultCoolDown is how long a new_destinatary_cool_down lasts when the
// scenario does not say (cool_down_date = now + this).
const defaultCoolDown = 24 * time.Hour

// predictResponse is the answer of GET /v3/predict (§10): every key the 3.0
// document marks required. CoolDownDate is null unless the result is
// new_destinatary_cool_down.
type predictResponse struct {
	Result                  string      `json:"result"`
	MaxAmount               json.Number `json:"max_amount"`
	NewDestinataryMaxAmount json.Number `json:"new_destinatary_max_amount"`
	CoolDownDate            *string     `json:"cool_down_date"`
}

// handlePredict serves GET /v3/predict (§10). With no scenario the amount
// decides: a CLP amount above the receiver's max_amount (5,000,000 when
// unlimited) is max_amount_exceeded, one above the new-destinatary limit is
// new_destinatary_amount_exceeded, anything else ok. A scenario rule on the
// predict point sets the result (outcome) and the cool-down's length.
func (s *Service) handlePredict(cl *call) error {
	v := &validator{in: formInput(cl.params)}
	email, _ := v.required("payer_email", 255)
	if email != "" && !isEmail(email) {
		v.add("payer_email", msgEmail)
	}
	bankID, _ := v.required("bank_id", 5)
	if bankID != "" {
		if _, msg := bankFor(s.banks, cl.rcv, bankID); msg != "" {
			v.add("bank_id", msg)
		}
	}
	amountText, amountOK := v.required("amount", 255)
	currency, currencyOK := v.required("currency", 255)
	if currencyOK && !currenciesV2[currency] && currency != "CLF" {
		v.add("currency", msgCurrency)
		currencyOK = false
	}
	var amount emulators.Decimal
	if amountOK {
		cur := ""
		if currencyOK {
			cur = currency
		}
		d, msg := amountMessage(value{text: amountText, kind: wire.LitString}, cur)
		if msg != "" {
			v.add("amount", msg)
		}
		amount = d
	}
	if len(v.errs) > 0 {
		// keep the field order of the query's documentation: email, bank, amount, currency
		return fieldErrors(v.errs)
	}
	max := cl.rcv.maxAmount
	if max.Sign() == 0 {
		max = emulators.DecimalFromInt(5000000)
	}
	newMax := newDestinataryLimit
	if max.Cmp(newMax) < 0 {
		newMax = max
	}
	res := predictResponse{Result: predictOK, MaxAmount: json.Number(max.Normalize().String()),
		NewDestinataryMaxAmount: json.Number(newMax.Normalize().String())}
	switch {
	case currency != "CLP":
	case amount.Cmp(max) > 0:
		res.Result = predictMaxAmountExceeded
	case amount.Cmp(newMax) > 0:
		res.Result = predictNewAmountExceeded
	}
	plan := s.deps.Scenarios.Decide(cl.scenario, provider, PointPredict, scenarios.Attrs{
		"api": cl.api(), "receiver_id": strconv.FormatInt(cl.rcv.id, 10), "amount": amount.String(),
		"currency": currency, "bank_id": bankID, "payer_email": email,
	})
	if plan.Matched {
		n := wire.Annotate(cl.c)
		n.Scenario, n.Rule = plan.Scenario, plan.Rule
		res.Result = plan.OutcomeOr(res.Result)
	}
	if res.Result == predictNewCoolDown {
		coolDown := defaultCoolDown
		if d, ok := scenarios.Param[ScenarioCoolDown](plan, "cool_down"); ok {
			coolDown = time.Duration(d)
		}
		date := formatTime(s.now().Add(coolDown))
		res.CoolDownDate = &date
	}
	return respond(cl.c, res)
}
