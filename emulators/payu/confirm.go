package payu

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/callback"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/scenarios"
)

// pair is one form field, in order.
type pair struct{ K, V string }

// encodeForm writes pairs as application/x-www-form-urlencoded, in order.
func encodeForm(ps []pair) []byte {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(p.K))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(p.V))
	}
	return []byte(b.String())
}

// money2 renders an amount with two decimals ("10000.00").
func money2(d emulators.Decimal) string { return d.Round(2, emulators.HalfEven).String() }

// finalized runs once a transaction reached a final state: the
// confirmation page POST (§10).
func (s *Service) finalized(id string) {
	t, ok := s.txs.Get(id)
	if !ok {
		return
	}
	if !isPaymentType(t.Type) && !s.cfg.Callbacks.PostPaymentTransactions {
		return
	}
	claimed := false
	s.txs.Update(id, func(t *Transaction) error {
		if !t.ConfirmSent {
			t.ConfirmSent, claimed = true, true
		}
		return nil
	})
	if claimed {
		s.sendConfirmation(t, false)
	}
}

// confirmationURL is order.notifyUrl, else the account's confirmation_url.
func (s *Service) confirmationURL(o Order) string {
	if o.NotifyURL != "" {
		return o.NotifyURL
	}
	if a, ok := s.account(o.MerchantID, o.AccountID); ok {
		return a.ConfirmationURL
	}
	return ""
}

// sendConfirmation schedules (or, manual, sends once now) the confirmation of t.
func (s *Service) sendConfirmation(t Transaction, manual bool) string {
	o, ok := s.orders.Get(t.OrderID)
	if !ok {
		return ""
	}
	m, _ := s.merchantByID(o.MerchantID)
	plan := scenarios.Plan{}
	if !manual {
		plan = s.deps.Scenarios.DecideFunc(o.Scenario, provider, PointConfirmation, func() scenarios.Attrs { return s.attrsOf(o, t) })
	}
	bad := ""
	if plan.Matched {
		bad = plan.BadSignature
	}
	first := 1
	if manual {
		first = t.ConfirmAttempts + 1
	}
	d := s.confirmationDelivery(m, o, t, manual, first, bad)
	d.Rule = plan.Label()
	d.Policy = s.callbackPolicy(plan)
	if !manual {
		d.Resume, _ = json.Marshal(confirmationResume{Tx: t.ID, Bad: bad})
	}
	switch {
	case d.URL == "":
		d.SkipReason = "no_url"
	case plan.Matched && plan.Skip && !manual:
		d.SkipReason = "scenario"
	}
	var id string
	if manual {
		id = s.deps.Dispatcher.SendNow(d)
	} else {
		id = s.deps.Dispatcher.Send(d)
	}
	s.txs.Update(t.ID, func(t *Transaction) error { t.ConfirmDelivery = id; return nil })
	return id
}

// confirmationResume is what rebuilds a pending confirmation after a
// restart (issue #18).
type confirmationResume struct {
	Tx  string `json:"tx"`
	Bad string `json:"bad,omitempty"`
}

// confirmationDelivery builds the confirmation of t: its first body, the
// signer that builds each attempt's body, and the hook that counts attempts
// on the transaction.
func (s *Service) confirmationDelivery(m Merchant, o Order, t Transaction, manual bool, first int, bad string) callback.Delivery {
	build := func(attempt int) ([]byte, string) {
		ps, str := confirmationFields(m, o, t, attempt, bad)
		return encodeForm(ps), str
	}
	body, _ := build(first)
	return callback.Delivery{
		Provider: provider, Objects: []string{t.ID, strconv.FormatInt(o.ID, 10)},
		Event: "confirmation " + t.State, URL: s.confirmationURL(o),
		ContentType: "application/x-www-form-urlencoded; charset=UTF-8", Body: body,
		Sign: func(info callback.AttemptInfo, _ []byte) callback.Signed {
			attempt := info.Attempt
			if manual {
				attempt = first
			}
			b, str := build(attempt)
			return callback.Signed{Body: b, StringToSign: str}
		},
		Ack: callback.ExactlyOK,
		OnResult: func(a journal.Attempt) {
			if a.Attempt == 0 || a.Copy > 0 {
				return
			}
			n := a.Attempt
			if manual {
				n = first
			}
			s.txs.Update(t.ID, func(t *Transaction) error {
				if n > t.ConfirmAttempts {
					t.ConfirmAttempts = n
				}
				return nil
			})
		},
	}
}

// ResumeDelivery rebuilds a confirmation kept across a restart; false when
// its transaction or order is gone.
func (s *Service) ResumeDelivery(p callback.Pending) (callback.Delivery, bool) {
	var r confirmationResume
	if json.Unmarshal(p.Resume, &r) != nil {
		return callback.Delivery{}, false
	}
	t, ok := s.txs.Get(r.Tx)
	if !ok {
		return callback.Delivery{}, false
	}
	o, ok := s.orders.Get(t.OrderID)
	if !ok {
		return callback.Delivery{}, false
	}
	m, _ := s.merchantByID(o.MerchantID)
	return s.confirmationDelivery(m, o, t, false, 1, r.Bad), true
}

// confirmationFields builds the POST of §10 for one attempt and returns
// it with the sign's string to sign. bad is a scenario's bad_signature.
func confirmationFields(m Merchant, o Order, t Transaction, attempt int, bad string) ([]pair, string) {
	mi, _ := method(t.PaymentMethod)
	value := money2(t.Value)
	state := statePol(t.State)
	signState := state
	if bad == "wrong" {
		signState = "0"
	}
	str := confirmationString(m.APIKey, m.MerchantID, o.ReferenceCode, value, t.Currency, signState)
	sign := hexHash("md5", str)
	test := "0"
	if o.Test {
		test = "1"
	}
	franchise, ccNumber, ccHolder := "", "", ""
	if t.Card != nil && t.PaymentMethod != "KHIPU" {
		franchise, ccHolder = t.Card.Brand, t.Card.Name
		ccNumber = t.Card.starred(t.CardLength)
	}
	var billing, phone string
	var billingCity, billingCountry string
	if t.Payer != nil {
		phone = t.Payer.Phone
		if b := t.Payer.Billing; b != nil {
			billing, billingCity, billingCountry = b.Street1, b.City, b.Country
		}
	}
	ship := o.Shipping
	if ship == nil && o.Buyer != nil {
		ship = o.Buyer.Shipping
	}
	var shipAddr, shipCity, shipCountry string
	if ship != nil {
		shipAddr, shipCity, shipCountry = ship.Street1, ship.City, ship.Country
	}
	errCode, errMsg := "", ""
	if t.State != StateApproved {
		errCode, errMsg = t.NetCode, t.NetMsg
	}
	reqState := "R"
	if t.State == StateApproved {
		reqState = "A"
	}
	created := t.CreatedAt.In(bogota)
	ps := []pair{
		{"merchant_id", strconv.FormatInt(m.MerchantID, 10)},
		{"state_pol", state},
		{"risk", "0.0"},
		{"response_code_pol", polResponseCode(t.ResponseCode, t.State)},
		{"reference_sale", o.ReferenceCode},
		{"reference_pol", strconv.FormatInt(o.ID, 10)},
		{"sign", sign},
		{"extra1", t.extra("EXTRA1")},
		{"extra2", t.extra("EXTRA2")},
		{"extra3", t.extra("EXTRA3")},
		{"payment_method", mi.ID},
		{"payment_method_type", mi.TypeID},
		{"payment_method_id", mi.TypeID},
		{"payment_method_name", t.PaymentMethod},
		{"franchise", franchise},
		{"installments_number", strconv.Itoa(max(t.Installments, 1))},
		{"value", value},
		{"tax", "0.00"},
		{"additional_value", "0.00"},
		{"administrative_fee", "0.00"},
		{"administrative_fee_base", "0.00"},
		{"administrative_fee_tax", "0.00"},
		{"commision_pol", "0.00"},
		{"commision_pol_currency", ""},
		{"currency", t.Currency},
		{"transaction_date", created.Format("2006-01-02 15:04:05")},
		{"date", created.Format("2006.01.02 03:04:05")},
		{"cc_number", ccNumber},
		{"cc_holder", ccHolder},
		{"email_buyer", buyerEmail(o, t)},
		{"description", o.Description},
		{"billing_address", billing},
		{"billing_city", billingCity},
		{"billing_country", billingCountry},
		{"shipping_address", shipAddr},
		{"shipping_city", shipCity},
		{"shipping_country", shipCountry},
		{"phone", phone},
	}
	for _, k := range []string{"office_phone", "nickname_buyer", "nickname_seller", "customer_number", "airline_code",
		"cus", "pse_bank", "pse_reference1", "pse_reference2", "pse_reference3", "bank_referenced_name",
		"transaction_bank_id", "account_number_ach", "account_type_ach", "antifraudMerchantId"} {
		ps = append(ps, pair{k, ""})
	}
	ps = append(ps,
		pair{"test", test},
		pair{"transaction_id", t.ID},
		pair{"response_message_pol", t.ResponseCode},
		pair{"authorization_code", t.AuthCode},
		pair{"bank_id", mi.ID},
		pair{"error_code_bank", errCode},
		pair{"error_message_bank", errMsg},
		pair{"payment_request_state", reqState},
		pair{"exchange_rate", "1.00"},
		pair{"ip", t.IPAddress},
		pair{"attempts", strconv.Itoa(attempt)},
		pair{"transaction_type", t.Type},
	)
	if bad == "missing" {
		out := ps[:0]
		for _, p := range ps {
			if p.K != "sign" {
				out = append(out, p)
			}
		}
		ps = out
	}
	return ps, str
}
