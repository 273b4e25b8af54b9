package payu

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/clock"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/then"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
	"github.com/paysandbox/sandbox/scenarios"
)

// submit serves SUBMIT_TRANSACTION: dispatch by transaction.type (§6.5).
func (s *Service) submit(cl *call) error {
	t := cl.req.get("transaction")
	if t == nil || t.kind != nObject {
		v := &validator{lang: cl.lang}
		if t == nil {
			v.prop("transaction", mustNotBeNull(cl.lang))
		} else {
			v.format("transaction", t.text)
		}
		return v.err()
	}
	typ := strings.TrimSpace(t.s("type"))
	note := wire.Annotate(cl.c)
	note.Operation = "SUBMIT_TRANSACTION " + typ + " (" + orDash(cl.x.in) + "→" + cl.x.out + ")"
	if h := s.transactionRoute(typ); h != nil {
		return h(cl, t, typ)
	}
	if typ == "" {
		v := &validator{lang: cl.lang}
		v.prop("type", mustNotBeNull(cl.lang))
		return v.err()
	}
	return apiErr(invalidValue(typ, "type"))
}

// payment is a validated new-payment request.
type payment struct {
	typ, methodName, ref, literal, currency string
	amount                                  emulators.Decimal
	method                                  methodInfo
	account                                 Account
	accountID                               int64
	cardNode                                *node
	installments                            int
	test                                    bool
}

// newPayment serves AUTHORIZATION and AUTHORIZATION_AND_CAPTURE (§7).
func (s *Service) newPayment(cl *call, t *node, typ string) error {
	c := cl.c
	strict := s.cfg.Validation == "strict"
	v := &validator{lang: cl.lang, strict: strict}
	v.apply(t, "", newPaymentRules)
	if tv, ok := cl.req.str("test"); ok {
		if _, good := parseBool(tv); !good {
			v.format("test", tv)
		}
	}
	p := payment{typ: typ, methodName: strings.TrimSpace(t.s("paymentMethod"))}
	m, known := method(p.methodName)
	p.method = m
	if known && m.Card {
		p.cardNode = t.get("creditCard")
		cardPath := "creditCard"
		if m.Debit {
			if d := t.get("debitCard"); d != nil {
				p.cardNode, cardPath = d, "debitCard"
			} else if p.cardNode == nil {
				cardPath = "debitCard"
			}
		}
		if p.cardNode == nil {
			v.prop(cardPath, mustNotBeNull(cl.lang))
		} else if p.cardNode.kind != nObject {
			v.format(cardPath, p.cardNode.text)
		} else {
			rules := cardRules
			if noCVV, _ := parseBool(p.cardNode.s("processWithoutCvv2")); noCVV {
				rules = append([]rule(nil), cardRules...)
				rules[1].req = optional
			}
			v.apply(p.cardNode, cardPath+".", rules)
		}
	}
	if p.methodName == "KHIPU" {
		v.apply(t, "", []rule{
			{path: "extraParameters", req: reqE, kind: kObject},
			{path: "extraParameters.FINANCIAL_INSTITUTION_CODE", max: 64, req: reqE},
			{path: "extraParameters.RESPONSE_URL", max: 2048, req: reqS},
			{path: "payer.dniType", max: 2, req: reqS},
		})
	}
	p.installments = 1
	if ex := t.get("extraParameters"); ex != nil && ex.kind == nObject {
		for _, k := range ex.memberKeys() {
			if len([]rune(k)) > 64 {
				v.prop("extraParameters", sizeMsg(cl.lang, 0, 64))
			}
		}
		if n, ok := ex.str("INSTALLMENTS_NUMBER"); ok {
			i, err := strconv.Atoi(strings.TrimSpace(n))
			if err != nil || i < 1 || i > 48 {
				v.format("extraParameters.INSTALLMENTS_NUMBER", n)
			} else {
				p.installments = i
			}
		}
	}
	if err := v.err(); err != nil {
		return err
	}

	// Business validation (§7.2, §4.4).
	if tok, ok := t.str("creditCardTokenId"); ok && tok != "" {
		return apiErr("Sandbox: tokenization is not emulated")
	}
	accText := strings.TrimSpace(t.s("order", "accountId"))
	p.accountID, _ = strconv.ParseInt(accText, 10, 64)
	acc, ok := s.account(cl.merchant.MerchantID, p.accountID)
	if !ok {
		return apiErr("Sandbox: account [" + accText + "] is not enabled for this merchant")
	}
	p.account = acc
	if country := strings.TrimSpace(t.s("paymentCountry")); !strings.EqualFold(country, "CL") {
		return apiErr("Sandbox: only paymentCountry CL is emulated")
	}
	p.currency = strings.TrimSpace(t.s("order", "additionalValues", "TX_VALUE", "currency"))
	if !acc.accepts(p.currency) {
		return apiErr("Sandbox: currency [" + p.currency + "] is not accepted by account [" + accText + "]")
	}
	if !known {
		return apiErr("Sandbox: payment method [" + p.methodName + "] is not available")
	}
	if typ == TypeAuthorization && !m.Card {
		return apiErr("Sandbox: transaction type [" + typ + "] is not available for payment method [" + m.Name + "]")
	}
	if typ == TypeAuthorization && !acc.twoStep() {
		return apiErr("Sandbox: the two-step flow is not enabled for account [" + accText + "]")
	}
	if m.Card {
		if noCVV, _ := parseBool(p.cardNode.s("processWithoutCvv2")); noCVV && strings.TrimSpace(p.cardNode.s("securityCode")) == "" && !acc.allowNoCVV() {
			return apiErr("Sandbox: processing without CVV2 is not enabled for account [" + accText + "]")
		}
	}
	if m.Name == "KHIPU" {
		code := strings.TrimSpace(t.s("extraParameters", "FINANCIAL_INSTITUTION_CODE"))
		if _, ok := bank(code); !ok {
			return apiErr("Sandbox: unknown financial institution [" + code + "] for KHIPU")
		}
	}
	p.literal = strings.TrimSpace(t.s("order", "additionalValues", "TX_VALUE", "value"))
	p.amount, _ = emulators.ParseDecimal(p.literal)
	if err := checkDecimals(p.amount, p.currency); err != nil {
		return err
	}
	if !acc.MinAmount.IsZero() && p.amount.Sign() > 0 && p.amount.Cmp(acc.MinAmount) < 0 {
		return apiErr("The order value is less than minimum allowed. Minimum value allowed " + acc.MinAmount.String() + " " + p.currency)
	}
	p.ref = t.s("order", "referenceCode")
	p.test, _ = parseBool(cl.req.s("test"))

	plan := s.deps.Scenarios.DecideFunc(cl.scenario, provider, PointSubmit, func() scenarios.Attrs { return s.submitAttrs(cl, t, p) })
	note := wire.Annotate(c)
	if plan.Matched {
		note.Rule = plan.Rule
	}

	// The order signature (§7.4).
	mode := s.signatureMode(cl.merchant)
	if sm, ok := scenarios.Param[ScenarioSignatureMode](plan, "signature"); ok && plan.Matched {
		mode = string(sm)
	}
	chk := checkOrderSignature(mode, cl.merchant.APIKey, cl.merchant.MerchantID, p.ref, p.literal, p.currency, t.s("order", "signature"))
	note.Signature = chk.note
	if !chk.ok {
		s.setStringToSign(c, chk.expected)
		if !chk.accepted {
			return apiErrDetail("Sandbox: invalid order signature",
				"order signature matches no candidate (mode "+mode+"); expected md5 of "+chk.expected)
		}
		if s.deps.DebugHeaders {
			c.Response().Header().Set("X-Sandbox-Signature", "mismatch")
		}
	}

	if err := s.scenarioGate(cl, plan); err != nil {
		return err
	}
	o, tx, err := s.createPayment(cl, t, p, plan)
	if err != nil {
		return err
	}
	if tx.Redirect.Auto {
		// The robot payer completes the redirect at the plan's delay.
		then.Schedule(s.grp, tx.Redirect.Delay, then.RobotLabel(provider, tx.ID, ruleLabel(o.Scenario, tx.Redirect.Rule), tx.Redirect.Outcome),
			func() { s.robotPayer(tx.ID) })
	}
	note.AddObject(tx.ID)
	note.AddObject(strconv.FormatInt(o.ID, 10))
	then.Respond(c, plan.ResponseDelay)
	return s.ok(cl, txResponse(tx))
}

// scenarioGate applies a submit plan's fault and error (nothing is created).
func (s *Service) scenarioGate(cl *call, plan scenarios.Plan) error {
	if !plan.Matched {
		return nil
	}
	if plan.Fault != "" {
		root, key := envelope(false, cl.x.command)
		sample := vobj(fl("code", vstr("SUCCESS")), fl("error", null), fl(key, null))
		ct, body := "application/json", encodeJSON(sample)
		if cl.x.out == fmtXML {
			ct, body = "application/xml", encodeXML(root, sample, s.dates())
		}
		return wire.Fault(cl.c, plan.Fault, ct, body)
	}
	if se, ok := plan.Error.(ScenarioError); ok {
		then.Respond(cl.c, plan.ResponseDelay)
		msg := se.Message
		if msg == "" {
			msg = "Internal payment provider error. "
		}
		status := se.HTTPStatus
		if status == 0 {
			status = http.StatusOK
		}
		return &statusError{status: status, err: apiErrDetail(msg, "scenario "+plan.Scenario+" "+plan.Rule+": error")}
	}
	return nil
}

// checkDecimals refuses fractions CLP cannot carry and more than 2 decimals.
func checkDecimals(d emulators.Decimal, currency string) error {
	places := 2
	if currency == "CLP" {
		places = 0
	}
	if d.Places() > places {
		return apiErr("TX_VALUE: the additional value exceeds the maximum number of decimal digits (" + strconv.Itoa(places) + ")")
	}
	return nil
}

func (s *Service) submitAttrs(cl *call, t *node, p payment) scenarios.Attrs {
	cardName := ""
	if p.cardNode != nil {
		cardName = strings.TrimSpace(p.cardNode.s("name"))
	}
	email := t.s("order", "buyer", "emailAddress")
	if email == "" {
		email = t.s("payer", "emailAddress")
	}
	return scenarios.Attrs{
		"paymentMethod": p.methodName, "type": p.typ, "referenceCode": p.ref, "description": t.s("order", "description"),
		"amount": p.literal, "currency": p.currency, "cardName": cardName, "accountId": strconv.FormatInt(p.accountID, 10),
		"paymentCountry": t.s("paymentCountry"), "buyerEmail": email, "test": strconv.FormatBool(p.test), "language": cl.lang,
	}
}

func parseAddress(n *node) *Address {
	if n == nil || n.kind != nObject {
		return nil
	}
	return &Address{Street1: n.s("street1"), Street2: n.s("street2"), City: n.s("city"), State: n.s("state"),
		Country: n.s("country"), PostalCode: n.s("postalCode"), Phone: n.s("phone")}
}

// outcome is a decided transaction result.
type outcome struct {
	state, responseCode, pendingReason, netCode, netMsg, responseMessage string
}

// createPayment stores the order and its payment transaction and decides it.
func (s *Service) createPayment(cl *call, t *node, p payment, plan scenarios.Plan) (Order, Transaction, error) {
	now := s.now()
	linkBase := wire.LinkBase(cl.c.Request(), s.deps.PublicURL)
	o := Order{
		ID: s.newOrderID(), MerchantID: cl.merchant.MerchantID, AccountID: p.accountID, Status: OrderNew,
		ReferenceCode: p.ref, Description: t.s("order", "description"), Language: t.s("order", "language"),
		NotifyURL: strings.TrimSpace(t.s("order", "notifyUrl")), PartnerID: t.s("order", "partnerId"),
		Signature: t.s("order", "signature"), Shipping: parseAddress(t.get("order", "shippingAddress")),
		Value: p.amount, Currency: p.currency, Test: p.test, CreatedAt: now, UpdatedAt: now,
		LinkBase: linkBase, Scenario: cl.scenario,
	}
	o.Tax, _ = emulators.ParseDecimal(strings.TrimSpace(t.s("order", "additionalValues", "TX_TAX", "value")))
	o.TaxReturnBase, _ = emulators.ParseDecimal(strings.TrimSpace(t.s("order", "additionalValues", "TX_TAX_RETURN_BASE", "value")))
	if b := t.get("order", "buyer"); b != nil && b.kind == nObject {
		o.Buyer = &Buyer{MerchantBuyerID: b.s("merchantBuyerId"), FullName: b.s("fullName"), Email: b.s("emailAddress"),
			Phone: b.s("contactPhone"), DNI: b.s("dniNumber"), CNPJ: b.s("cnpj"), Shipping: parseAddress(b.get("shippingAddress"))}
	}
	tx := Transaction{
		ID: s.deps.Random.UUID(), OrderID: o.ID, MerchantID: o.MerchantID, AccountID: o.AccountID, Type: p.typ,
		PaymentMethod: p.method.Name, PaymentCountry: "CL", Source: t.s("source"), CreatedAt: now, UpdatedAt: now,
		OperationDate: now, Value: p.amount, Currency: p.currency, DeviceSessionID: t.s("deviceSessionId"),
		IPAddress: t.s("ipAddress"), Cookie: t.s("cookie"), UserAgent: t.s("userAgent"), Installments: p.installments,
		Test: p.test, Language: cl.lang, Scenario: cl.scenario,
	}
	if pn := t.get("payer"); pn != nil && pn.kind == nObject {
		tx.Payer = &Payer{MerchantPayerID: pn.s("merchantPayerId"), FullName: pn.s("fullName"), Email: pn.s("emailAddress"),
			Phone: pn.s("contactPhone"), DNI: pn.s("dniNumber"), DNIType: pn.s("dniType"), Birthdate: pn.s("birthdate"),
			Billing: parseAddress(pn.get("billingAddress"))}
	}
	if ex := t.get("extraParameters"); ex != nil && ex.kind == nObject {
		for _, k := range ex.memberKeys() {
			tx.Extra = append(tx.Extra, kv{K: k, V: ex.kids[k].text})
		}
	}
	tx.ResponseURL = strings.TrimSpace(tx.extra("RESPONSE_URL"))
	if tx.ResponseURL == "" {
		tx.ResponseURL = p.account.ResponseURL
	}
	var number string
	if p.cardNode != nil {
		number = strings.TrimSpace(p.cardNode.s("number"))
		tx.Card = cardOf(number, strings.TrimSpace(p.cardNode.s("name")), p.method)
		tx.CardLength = len(number)
		tx.Prepaid = s.isPrepaid(number)
	}
	emails := []string{t.s("order", "buyer", "emailAddress"), t.s("payer", "emailAddress")}

	// Decide (§7.2 amounts, §7.5 cards, §7.6 WebPay, §7.7 Khipu).
	var out outcome
	switch {
	case plan.Matched && plan.Outcome != "" && !(plan.Outcome == "pending" && !p.method.Card):
		out = scenarioOutcome(plan)
	case p.amount.Sign() <= 0:
		out = invalidAmount(cl.lang, p.literal, "0.01")
	case p.typ == TypeAuthorization && p.installments > 1:
		out = outcome{state: StateDeclined, responseCode: "INVALID_TRANSACTION",
			netMsg: "Sandbox: the two-step flow accepts a single installment only"}
	case p.method.Card:
		out = s.cardOutcome(p.method, number, strings.TrimSpace(p.cardNode.s("securityCode")),
			strings.TrimSpace(p.cardNode.s("expirationDate")), strings.TrimSpace(p.cardNode.s("name")), emails)
	case p.method.Name == "KHIPU":
		b, _ := bank(tx.extra("FINANCIAL_INSTITUTION_CODE"))
		if p.amount.Cmp(b.Min) < 0 {
			out = invalidAmount("en", p.literal, b.Min.Normalize().String())
		} else {
			out = outcome{state: StatePending, pendingReason: "AWAITING_NOTIFICATION", responseCode: "PENDING_TRANSACTION_CONFIRMATION"}
		}
	default: // TRANSBANK_DEBIT
		out = outcome{state: StatePending, pendingReason: "AWAITING_PAYMENT_IN_ENTITY", responseCode: "PENDING_PAYMENT_IN_ENTITY"}
	}

	redirect := !p.method.Card && out.state == StatePending
	if redirect {
		rp := s.deps.Scenarios.DecideFunc(cl.scenario, provider, PointRedirectPayment, func() scenarios.Attrs { return s.attrsOf(o, tx) })
		tx.Redirect = redirectPlan{Matched: rp.Matched, Rule: rp.Rule, Outcome: rp.Outcome, Auto: rp.Auto,
			ResponseDelay: rp.ResponseDelay, Delay: then.RobotDelay(rp)}
		tx.Redirect.ResponseCode, _ = scenarios.Param[string](rp, "responseCode")
		if p.method.Name == "KHIPU" {
			tr, err := s.createTransfer(cl, o, tx)
			if err != nil {
				return Order{}, Transaction{}, err
			}
			tx.KhipuPayment, tx.BankID, tx.Trazability = tr.PaymentID, tx.extra("FINANCIAL_INSTITUTION_CODE"), tr.PaymentID
			tx.ExpiresAt = tr.ExpiresAt
			tx.setRespExtra("BANK_URL", tr.SimplifiedTransferURL, time.Time{})
		} else {
			tx.Token = s.directToken()
			tx.Trazability = s.deps.Random.UUID()
			tx.ExpiresAt = now.Add(s.cfg.WebPay.TokenTTL)
			tx.setRespExtra("EXPIRATION_DATE", "", tx.ExpiresAt)
			tx.setRespExtra("URL_PAYMENT_REDIRECT", o.LinkBase+"/payu/webpay/initTransaction", time.Time{})
			tx.setRespExtra("TRANSBANK_DIRECT_TOKEN", tx.Token, time.Time{})
		}
	}
	s.applyOutcome(&tx, &o, out, now)
	if tx.Card != nil && tx.Card.Brand != "" {
		tx.Extra = appendExtraIfMissing(tx.Extra, "BANK_REFERENCED_CODE", bankReferenced(p.method))
	}
	tx.Extra = appendExtraIfMissing(tx.Extra, "INSTALLMENTS_NUMBER", strconv.Itoa(tx.Installments))
	o.TxIDs = []string{tx.ID}
	o.History = append(o.History, change(now, "", o.Status, journal.CauseRequest, ""))
	tx.History = append(tx.History, change(now, "", tx.State, journal.CauseRequest, ""))

	s.mu.Lock()
	s.refs.add(&o) // before the order: an eviction it causes finds it indexed
	s.orders.Put(o.ID, o)
	s.txs.Put(tx.ID, tx)
	if tx.Token != "" {
		s.tokens.Put(tx.Token, tx.ID)
	}
	s.mu.Unlock()
	oid := strconv.FormatInt(o.ID, 10)
	s.deps.Transition(provider, "order", oid, "", o.Status, journal.CauseRequest, tx.ID)
	s.deps.Transition(provider, "transaction", tx.ID, "", tx.State, journal.CauseRequest, oid)
	s.afterCreate(tx, plan, redirect)
	return o, tx, nil
}

func appendExtraIfMissing(ex []kv, k, v string) []kv {
	for _, e := range ex {
		if e.K == k {
			return ex
		}
	}
	return append(ex, kv{K: k, V: v})
}

func bankReferenced(m methodInfo) string {
	if m.Debit {
		return "DEBIT"
	}
	return "CREDIT"
}

// invalidAmount is the DECLINED / INVALID_TRANSACTION answer to an amount
// below a minimum, with the observed texts (§7.2).
func invalidAmount(lang, value, min string) outcome {
	msg := "[The given payment value [" + value + "] is inferior than minimum configured value [" + min + "]]"
	if lang == "es" || lang == "pt" {
		msg = "[El valor recibido [" + value + "] es inferior al valor mínimo configurado [" + strings.ReplaceAll(min, ".", ",") + "]]"
	}
	return outcome{state: StateDeclined, responseCode: "INVALID_TRANSACTION", netMsg: msg}
}

// scenarioOutcome turns a submit plan (approve, decline, pending, error) into an outcome (§14).
func scenarioOutcome(plan scenarios.Plan) outcome {
	out := settleOutcome(plan.Outcome, "")
	if plan.Outcome == "pending" {
		out = outcome{state: StatePending, pendingReason: "PENDING_REVIEW", responseCode: "PENDING_TRANSACTION_REVIEW"}
	}
	if v, ok := scenarios.Param[string](plan, "responseCode"); ok {
		out.responseCode = v
	}
	if v, ok := scenarios.Param[string](plan, "pendingReason"); ok {
		out.pendingReason = v
	}
	if v, ok := scenarios.Param[string](plan, "paymentNetworkResponseCode"); ok {
		out.netCode = v
	}
	if v, ok := scenarios.Param[string](plan, "paymentNetworkResponseErrorMessage"); ok {
		out.netMsg = v
	}
	if v, ok := scenarios.Param[string](plan, "responseMessage"); ok {
		out.responseMessage = v
	}
	return out
}

// applyOutcome sets a payment transaction's result and its order's status.
func (s *Service) applyOutcome(tx *Transaction, o *Order, out outcome, now time.Time) {
	tx.State, tx.ResponseCode, tx.PendingReason = out.state, out.responseCode, out.pendingReason
	tx.NetCode, tx.NetMsg, tx.ResponseMessage = out.netCode, out.netMsg, out.responseMessage
	tx.UpdatedAt = now
	o.UpdatedAt = now
	switch out.state {
	case StateApproved:
		tx.ApprovedAt = now
		if tx.PaymentMethod != "KHIPU" {
			tx.AuthCode = s.authCode()
			if tx.NetCode == "" {
				tx.NetCode = tx.AuthCode
			}
		}
		if tx.Trazability == "" {
			tx.Trazability = tx.ID
		}
		if tx.ResponseMessage == "" && tx.PaymentMethod != "KHIPU" {
			tx.ResponseMessage = "Approved transaction"
		}
		if m, _ := method(tx.PaymentMethod); m.Card {
			tx.setRespExtra("BANK_REFERENCED_CODE", bankReferenced(m), time.Time{})
			tx.setRespExtra("TRANSBANK_DIRECT_TOKEN", s.directToken(), time.Time{})
		}
		if tx.Type == TypeAuthorization {
			o.Status = OrderAuthorized
		} else {
			o.Status = OrderCaptured
			tx.Captured = true
			tx.CapturedValue = tx.Value
		}
		o.ProcessedTxID = tx.ID
	case StatePending:
		o.Status = OrderInProgress
	default:
		o.Status = OrderDeclined
	}
}

// afterCreate schedules what follows a new payment: the confirmation of a
// final state, the 7-day auto-void, WebPay expiry, settles (the robot
// payer is newPayment's).
func (s *Service) afterCreate(tx Transaction, plan scenarios.Plan, redirect bool) {
	if isFinal(tx.State) {
		s.finalized(tx.ID)
	}
	if tx.State == StateApproved && tx.Type == TypeAuthorization {
		s.scheduleAutoVoid(tx)
	}
	if tx.State == StatePending && !redirect {
		if st, ok := scenarios.Param[ScenarioSettle](plan, "settle"); ok && plan.Matched {
			out := settleOutcome(st.Outcome, st.ResponseCode)
			s.planDecision(tx.ID, reviewPlan{At: s.dueIn(st.Delay), State: out.state, ResponseCode: out.responseCode, Cause: journal.CauseScenario,
				Why: "scenario settle", Rule: plan.Label(), Detail: "the pending transaction settles as " + st.Outcome})
		} else if a := s.cfg.PendingReview.AutoDecide; a != nil {
			out := settleOutcome(a.Outcome, "")
			s.planDecision(tx.ID, reviewPlan{At: s.dueIn(a.Delay), State: out.state, ResponseCode: out.responseCode, Cause: journal.CauseTimer,
				Why: "pending_review.auto_decide", Detail: "pending_review.auto_decide: " + a.Outcome})
		}
	}
	if redirect {
		if tx.PaymentMethod == "TRANSBANK_DEBIT" {
			s.grp.At(tx.ExpiresAt, func() { s.expireWebPay(tx.ID) }).Describe(clock.Label{Provider: provider, Object: tx.ID, Kind: "expiry",
				Detail: "the WebPay session expires"})
		}
	}
}

// settleOutcome maps an outcome name of the scenarios and admin actions
// (approve, decline, abandon, expire, error) to an outcome; code, when set,
// replaces its responseCode. Any other name declines.
func settleOutcome(o, code string) outcome {
	var out outcome
	switch o {
	case "approve":
		out = outcome{state: StateApproved, responseCode: "APPROVED"}
	case "abandon": // Anular compra on the WebPay page (§7.6)
		out = outcome{state: StateDeclined, responseCode: "ABANDONED_TRANSACTION"}
	case "expire":
		out = outcome{state: StateExpired, responseCode: "EXPIRED_TRANSACTION"}
	case "error":
		out = outcome{state: StateError, responseCode: "INTERNAL_PAYMENT_PROVIDER_ERROR"}
	default:
		out = outcome{state: StateDeclined, responseCode: "ENTITY_DECLINED"}
	}
	if code != "" {
		out.responseCode = code
	}
	return out
}

// ruleLabel names a stored plan's rule as the schedule shows it.
func ruleLabel(scenario, rule string) string {
	if rule == "" {
		return ""
	}
	return scenario + " " + rule
}
