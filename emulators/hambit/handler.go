package hambit

import (
	"net/http"
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

// serveOp serves one operation once routing and the method are settled,
// through the shared pipeline: X-Sandbox-Scenario, then (signed
// operations) the body bound and authenticate, the checks of spec §3.4 in
// order, then the operation's handler.
func (s *Service) serveOp(op *operation) echo.HandlerFunc {
	pipe := &wire.Pipeline[*apiRequest]{Scenarios: s.deps.Scenarios,
		// /ping is neither signed nor enveloped: no body, no checks.
		Auth: func(x wire.Exchange) (*apiRequest, error) { return &apiRequest{c: x.C, op: op}, nil }}
	if op.signed {
		pipe.Limit, pipe.BodyError = maxBody, bodyError
		pipe.Auth = func(x wire.Exchange) (*apiRequest, error) { return s.authenticate(x, op) }
	}
	handle := func(r *apiRequest) error {
		if !r.op.signed {
			return s.handlePing(r.c)
		}
		return r.op.handle(s, r.c, r)
	}
	return func(c echo.Context) error { return pipe.Run(c, op.title, handle) }
}

// bodyError is step 2 of spec §3.4 for a body that cannot be read.
func bodyError(err error) error {
	if emulators.KindOf(err) == emulators.TooLarge {
		return errParam("request body exceeds " + wire.HumanBytes(maxBody))
	}
	return errParam(emulators.DetailOf(err))
}

// authenticate is the pipeline's auth hook for signed operations: steps
// 2 (depth; the pipeline bounded the size) to 10 of spec §3.4.
func (s *Service) authenticate(x wire.Exchange, op *operation) (*apiRequest, error) {
	c, req, n, body := x.C, x.C.Request(), x.Note, x.Body
	// 2. body depth
	if err := wire.CheckJSONDepth(body, maxDepth); err != nil {
		return nil, errParam(err.Error())
	}
	// 3. headers present and well formed
	h, msg := readAuthHeaders(req.Header)
	if msg != "" {
		return nil, errParam(msg)
	}
	// 4. access_key known
	acct := s.accounts[h.accessKey]
	if acct == nil {
		return nil, s.rejectSignature(c, nil, h, "unknown access_key "+quoteShort(h.accessKey))
	}
	// 5. IP whitelist
	ip, okIP := peerIP(req)
	if !okIP || !acct.allowsIP(ip) {
		return nil, errIP("caller IP " + ip.String() + " is not in the whitelist of access_key " + h.accessKey)
	}
	// 6. body: UTF-8 JSON object; empty only for GET
	if len(strings.TrimSpace(string(body))) == 0 && req.Method != http.MethodGet {
		return nil, errParam("empty body: expected a JSON object")
	}
	ps, err := parseParams(body)
	if err != nil {
		return nil, errParam(err.Error())
	}
	// 7. timestamp window (wall clock)
	ms, _ := strconv.ParseInt(h.timestamp, 10, 64)
	skew := s.wallNow().Sub(time.UnixMilli(ms))
	if skew < 0 {
		skew = -skew
	}
	if skew > s.cfg.TimestampWindow {
		cs := candidates(ps, acct.SecretKey, h.accessKey, h.timestamp, h.nonce)
		dir := "old"
		if time.UnixMilli(ms).After(s.wallNow()) {
			dir = "ahead"
		}
		return nil, s.rejectSignature(c, cs, h, "timestamp "+strconv.FormatInt(int64(skew.Round(time.Second)/time.Second), 10)+" s "+dir+
			", outside the +/-"+strconv.FormatInt(int64(s.cfg.TimestampWindow/time.Second), 10)+" s window (wall clock)")
	}
	// 8. signature: the usual rendering first; the other candidates only
	// when it does not match (they are for the diagnostics).
	cs := firstCandidate(ps, acct.SecretKey, h.accessKey, h.timestamp, h.nonce)
	i := matchSign(cs, h.sign)
	if i < 0 {
		cs = candidates(ps, acct.SecretKey, h.accessKey, h.timestamp, h.nonce)
		i = matchSign(cs, h.sign)
	}
	if i < 0 {
		return nil, s.rejectSignature(c, cs, h, "sign "+quoteShort(h.sign)+" matches none of "+strconv.Itoa(len(cs))+
			" candidate strings; expected "+cs[0].sign+" for X-Sandbox-String-To-Sign (empty values skipped, numbers as sent)")
	}
	n.Signature = signatureNote(cs, h, journal.VerdictOK, i, "")
	// 9. nonce
	if !s.nonces.remember(h.accessKey, h.nonce, s.wallNow(), 2*s.cfg.TimestampWindow) {
		n.Signature.Verdict, n.Signature.Detail = journal.VerdictRejected, "nonce already used by this access_key"
		s.setStringToSign(c, cs[0].str)
		return nil, errSignature("nonce already used by this access_key")
	}
	// 10. permission
	switch op.perm {
	case permAny:
		if !acct.perms[permCollect] && !acct.perms[permPayout] {
			return nil, errIP("access_key " + h.accessKey + " has neither the collect nor the payout permission")
		}
	default:
		if !acct.perms[op.perm] {
			return nil, errIP("access_key " + h.accessKey + " lacks the " + op.perm + " permission")
		}
	}
	return &apiRequest{c: c, country: s.country(c), op: op, scenario: x.Scenario, account: acct, headers: h, params: ps,
		linkBase: wire.LinkBase(req, s.deps.PublicURL)}, nil
}

// rejectSignature answers 307 with the debug headers of spec §3.5 and
// journals every candidate.
func (s *Service) rejectSignature(c echo.Context, cs []candidate, h authHeaders, detail string) error {
	n := wire.Annotate(c)
	n.Signature = signatureNote(cs, h, journal.VerdictRejected, -1, detail)
	if len(cs) > 0 {
		s.setStringToSign(c, cs[0].str)
	} else if s.deps.DebugHeaders {
		// Unknown key: no secret, but the string the key would have signed.
		ps, err := parseParams(wire.Body(c))
		if err == nil {
			s.setStringToSign(c, canonical(ps, h.accessKey, h.timestamp, h.nonce, canonOptions{}))
		}
	}
	return errSignature(detail)
}

func signatureNote(cs []candidate, h authHeaders, verdict string, match int, detail string) *journal.Signature {
	sig := &journal.Signature{Verdict: verdict, Scheme: "HMAC-SHA1 Base64 over sorted body keys + access_key, timestamp, nonce (Hambit)",
		Received: h.sign, Detail: detail}
	for i, c := range cs {
		sig.Candidates = append(sig.Candidates, journal.Candidate{Name: c.name, StringToSign: c.str, Signature: c.sign, Match: i == match})
	}
	if len(cs) > 0 {
		sig.Expected = cs[0].sign
	}
	return sig
}

// handlePing serves GET /ping (spec §6.1): not signed, not enveloped.
func (s *Service) handlePing(c echo.Context) error {
	ip, _ := peerIP(c.Request())
	if key, ok := header(c.Request().Header, "access_key"); ok {
		if a := s.accounts[strings.TrimSpace(key)]; a != nil && !a.allowsIP(ip) {
			return errIP("caller IP " + ip.String() + " is not in the whitelist of access_key " + a.AccessKey)
		}
	}
	type pong struct {
		Version   string `json:"version"`
		Timestamp int64  `json:"timestamp"`
		AccessIP  string `json:"accessIp"`
		Node      string `json:"node"`
	}
	return wire.JSON(c, http.StatusOK, contentTypeJSON, pong{Version: "1.0.1", Timestamp: millis(s.now()), AccessIP: ip.String(), Node: s.node})
}

// cashierLifetime is how long a cashier accepts payment (spec §8).
const cashierLifetime = 30 * time.Minute

// requestAttrs returns the scenario attributes of a request: its top-level
// fields as text plus country, currency and access_key (spec §11). They are
// built on the first call only, and only a scenario with rules for the point
// makes that call (scenarios.Engine.DecideFunc), so a create under the
// default scenario does not pay for them.
func requestAttrs(r *apiRequest) func() scenarios.Attrs {
	var a scenarios.Attrs
	return func() scenarios.Attrs {
		if a != nil {
			return a
		}
		a = scenarios.Attrs{}
		for k, p := range r.params {
			if !p.kind.Nested() {
				a[k] = p.text
			}
		}
		a["country"] = r.country.Segment
		a["currency"] = r.country.Currency
		a["access_key"] = r.account.AccessKey
		return a
	}
}

// decideRequest takes a request point's scenario decision (spec §11) and
// carries out its response_delay, error and fault. It returns the plan and
// the request's attributes (for the pay point, decided next); a non-nil
// error means the request must end.
func (s *Service) decideRequest(c echo.Context, r *apiRequest, point string) (scenarios.Plan, func() scenarios.Attrs, error) {
	attrs := requestAttrs(r)
	plan := s.deps.Scenarios.DecideFunc(r.scenario, provider, point, attrs)
	n := wire.Annotate(c)
	n.Scenario, n.Rule = plan.Scenario, plan.Rule
	if !plan.Matched {
		return plan, attrs, nil
	}
	if !then.Respond(c, plan.ResponseDelay) {
		// The client went away or the sandbox is stopping: answer nothing.
		return plan, attrs, wire.Fault(c, wire.FaultTimeout, contentTypeJSON, nil)
	}
	if se, ok := plan.Error.(ScenarioError); ok {
		return plan, attrs, &scenarioError{ScenarioError: se, rule: plan.Rule}
	}
	if plan.Fault != "" {
		sample := []byte(`{"code":"200","success":true,"msg":"成功","msgEn":"SUCCESS","data":{"orderId":""}}`)
		return plan, attrs, wire.Fault(c, plan.Fault, contentTypeJSON, sample)
	}
	return plan, attrs, nil
}

// handleCreateCollection serves POST /api/v3/{country}/createCollectingOrder (spec §6.2).
func (s *Service) handleCreateCollection(c echo.Context, r *apiRequest) error {
	req, err := validateCollection(r.params, r.country)
	if err != nil {
		return err
	}
	_, attrs, err := s.decideRequest(c, r, PointCreateCollection)
	if err != nil {
		return err
	}
	o, err := s.createCollection(r, req, attrs)
	if err != nil {
		return err
	}
	if o.PayPlan.Auto {
		id := o.OrderID
		then.Schedule(s.grp, o.PayPlan.Delay, then.RobotLabel(provider, id, ruleLabel(o.Scenario, o.PayPlan.Rule), o.PayPlan.Outcome),
			func() { s.robotPayer(id) })
	}
	n := wire.Annotate(c)
	n.AddObject(o.OrderID)
	n.AddObject(o.CashierID)
	if n.Rule == "" && o.PayPlan.Rule != "" {
		n.Rule = o.PayPlan.Rule // the pay plan stored with the order
	}
	return ok(c, o.createCollectionData(r.account.merchantID))
}

// handleCreateTransfer serves POST /api/v3/{country}/createTransferOrder (spec §6.3).
func (s *Service) handleCreateTransfer(c echo.Context, r *apiRequest) error {
	req, err := validateTransfer(r.params, r.country, s.banks[r.country.Currency])
	if err != nil {
		return err
	}
	plan, _, err := s.decideRequest(c, r, PointPayout)
	if err != nil {
		return err
	}
	o, err := s.createTransfer(r, req, plan)
	if err != nil {
		return err
	}
	wire.Annotate(c).AddObject(o.OrderID)
	type created struct {
		OrderID         string `json:"orderId"`
		OrderStatus     string `json:"orderStatus"`
		ExternalOrderID string `json:"externalOrderId"`
		CurrencyType    string `json:"currencyType"`
	}
	return ok(c, created{OrderID: o.OrderID, OrderStatus: "Accepted", ExternalOrderID: o.ExternalOrderID, CurrencyType: o.Currency})
}

// findOrders returns the merchant's orders of a kind in a currency that
// match every given key of q (spec §6.4), newest first.
func (s *Service) findOrders(kind string, merchantID int64, currency string, q queryRequest) []order {
	id := q.orderID
	if id == "" {
		s.mu.Lock()
		id = s.byExternal[externalKey(kind, merchantID, q.externalOrderID)]
		s.mu.Unlock()
	}
	if id == "" {
		return nil
	}
	o, found := s.orders.Get(id)
	if !found || o.Kind != kind || o.MerchantID != merchantID || o.Currency != currency {
		return nil
	}
	if q.externalOrderID != "" && o.ExternalOrderID != q.externalOrderID {
		return nil
	}
	return []order{o}
}

// queryOrders is the handler of query/collectingOrder (kind collection,
// spec §6.4) and query/transferOrder (kind transfer, spec §6.5).
func queryOrders(kind string) func(s *Service, c echo.Context, r *apiRequest) error {
	return func(s *Service, c echo.Context, r *apiRequest) error {
		q, err := validateQuery(r.params)
		if err != nil {
			return err
		}
		out := []any{}
		for _, o := range s.findOrders(kind, r.account.merchantID, r.country.Currency, q) {
			wire.Annotate(c).AddObject(o.OrderID)
			out = append(out, o.apiView())
		}
		return ok(c, out)
	}
}

// balanceView is one element of the balance answer (spec §6.6).
type balanceView struct {
	AccountBalance           string `json:"accountBalance"`
	AccountFreezeAmount      string `json:"accountFreezeAmount"`
	AccountStatusID          int    `json:"accountStatusId"`
	AccountWaitSettledAmount string `json:"accountWaitSettledAmount"`
	CurrencyType             string `json:"currencyType"`
	AccountStatus            string `json:"accountStatus"`
}

func viewBalance(b balance, currency string) balanceView {
	return balanceView{AccountBalance: money(b.Available), AccountFreezeAmount: money(b.Frozen), AccountStatusID: 4,
		AccountWaitSettledAmount: money(b.WaitSettled), CurrencyType: currency, AccountStatus: "InAndOut"}
}

// handleBalance serves GET /api/v3/{country}/query/balance (spec §6.6).
func (s *Service) handleBalance(c echo.Context, r *apiRequest) error {
	b := s.balanceOf(r.account.AccessKey, r.country.Currency)
	return ok(c, []balanceView{viewBalance(b, r.country.Currency)})
}

// bankView is one element of the bank answer (spec §6.7).
type bankView struct {
	BankName     string `json:"bankName"`
	BankCode     string `json:"bankCode"`
	CurrencyType string `json:"currencyType"`
}

// handleBanks serves POST /api/v3/{country}/query/bank (spec §6.7).
func (s *Service) handleBanks(c echo.Context, r *apiRequest) error {
	name, err := validateBankQuery(r.params)
	if err != nil {
		return err
	}
	out := []bankView{}
	for _, b := range s.banks[r.country.Currency] {
		if name == "" || b.Name == name {
			out = append(out, bankView{BankName: b.Name, BankCode: b.Code, CurrencyType: r.country.Currency})
		}
	}
	return ok(c, out)
}

// externalKey indexes externalOrderId per merchant and order kind (spec §6.2).
func externalKey(kind string, merchantID int64, ext string) string {
	return kind + "|" + itoa(merchantID) + "|" + ext
}

// duplicateError is the code-300 answer to a reused externalOrderId.
func duplicateError(kind, ext, existing string) error {
	return errParam("externalOrderId " + quoteShort(ext) + " is already used by " + kind + " " + existing + " of this merchant")
}
