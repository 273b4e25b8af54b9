package payu

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/admin"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
)

// Name implements admin.Provider.
func (s *Service) Name() string { return provider }

func (s *Service) orderSummary(o Order) admin.Object {
	return admin.Object{
		Provider: provider, Kind: "order", ID: strconv.FormatInt(o.ID, 10), Status: o.Status,
		Amount: o.Value.String(), Currency: o.Currency, Account: strconv.FormatInt(o.AccountID, 10),
		Reference: o.ReferenceCode, Scenario: o.Scenario, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
		Actions: []admin.Action{},
	}
}

// txSummary summarises t of order o (o is zero when the order is gone).
func (s *Service) txSummary(o Order, t Transaction) admin.Object {
	return admin.Object{
		Provider: provider, Kind: "transaction", ID: t.ID, Status: t.State, Amount: t.Value.String(), Currency: t.Currency,
		Account: strconv.FormatInt(t.AccountID, 10), Reference: o.ReferenceCode, Scenario: t.Scenario,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, Actions: s.actions(t),
	}
}

var responseCodeParam = admin.Param{Name: "responseCode", Type: "string", Optional: true, Help: "responseCode of the decided transaction"}

// actions are the admin actions a transaction accepts now (§15).
func (s *Service) actions(t Transaction) []admin.Action {
	out := []admin.Action{}
	switch {
	case t.State == StatePending && isPaymentType(t.Type):
		out = append(out,
			admin.Action{Name: "approve", Label: "Approve", Params: []admin.Param{responseCodeParam}},
			admin.Action{Name: "decline", Label: "Decline", Params: []admin.Param{responseCodeParam}},
			admin.Action{Name: "expire", Label: "Expire", Params: []admin.Param{responseCodeParam}})
	case t.State == StatePending && isRefundType(t.Type):
		out = append(out,
			admin.Action{Name: "approve", Label: "Approve refund", Params: []admin.Param{responseCodeParam}},
			admin.Action{Name: "decline", Label: "Decline refund", Params: []admin.Param{responseCodeParam}})
	}
	if isFinal(t.State) {
		out = append(out, admin.Action{Name: "resend_callback", Label: "Resend confirmation"})
	}
	return out
}

// Objects implements admin.Provider: orders and transactions, newest first.
func (s *Service) Objects(q admin.Query) ([]admin.Object, int) {
	var all []admin.Object
	match := func(o admin.Object) bool {
		if q.Kind != "" && q.Kind != o.Kind {
			return false
		}
		if q.Status != "" && q.Status != o.Status {
			return false
		}
		if q.Account != "" && q.Account != o.Account {
			return false
		}
		if q.Search != "" && !strings.Contains(o.ID, q.Search) && !strings.Contains(o.Reference, q.Search) {
			return false
		}
		return true
	}
	orders, _ := s.orders.Page(nil, 0, 0)
	for _, o := range orders {
		if sum := s.orderSummary(o); match(sum) {
			all = append(all, sum)
		}
		for i := len(o.TxIDs) - 1; i >= 0; i-- {
			if t, ok := s.txs.Get(o.TxIDs[i]); ok {
				if sum := s.txSummary(o, t); match(sum) {
					all = append(all, sum)
				}
			}
		}
	}
	total := len(all)
	if q.Offset > 0 {
		if q.Offset >= len(all) {
			all = nil
		} else {
			all = all[q.Offset:]
		}
	}
	if q.Limit > 0 && len(all) > q.Limit {
		all = all[:q.Limit]
	}
	return all, total
}

// Object implements admin.Provider: an order (by orderId) or a transaction.
func (s *Service) Object(id string) (admin.Object, error) {
	if t, ok := s.txs.Get(id); ok {
		o, hasOrder := s.orders.Get(t.OrderID)
		obj := s.txSummary(o, t)
		obj.History = t.History
		obj.Data = jsonData(s.txVal(t))
		obj.Related = []admin.Ref{{Provider: provider, Kind: "order", ID: strconv.FormatInt(t.OrderID, 10), Role: "order"}}
		if t.ParentID != "" {
			obj.Related = append(obj.Related, admin.Ref{Provider: provider, Kind: "transaction", ID: t.ParentID, Role: "parent"})
		}
		if t.KhipuPayment != "" {
			obj.Related = append(obj.Related, admin.Ref{Provider: "khipu", Kind: "payment", ID: t.KhipuPayment, Role: "Khipu payment"})
		}
		if hasOrder {
			if t.Token != "" {
				obj.Links = append(obj.Links, admin.Link{Name: "WebPay page", URL: o.LinkBase + "/payu/webpay/initTransaction?token_ws=" + t.Token})
			}
			for _, e := range t.RespExtra {
				if e.K == "BANK_URL" {
					obj.Links = append(obj.Links, admin.Link{Name: "Khipu page", URL: e.V})
				}
			}
			obj.Links = append(obj.Links, admin.Link{Name: "Response page", URL: o.LinkBase + "/payu/response/" + t.ID})
		}
		return obj, nil
	}
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		if o, ok := s.orders.Get(n); ok {
			obj := s.orderSummary(o)
			obj.History = o.History
			obj.Data = jsonData(s.orderVal(o))
			for i := len(o.TxIDs) - 1; i >= 0; i-- {
				obj.Related = append(obj.Related, admin.Ref{Provider: provider, Kind: "transaction", ID: o.TxIDs[i], Role: "transaction"})
			}
			return obj, nil
		}
	}
	return admin.Object{}, emulators.Errorf(emulators.NotFound, "no PayU order or transaction %q", id)
}

// jsonData renders a response value as the API's JSON for the admin API.
func jsonData(v val) json.RawMessage { return json.RawMessage(encodeJSON(v)) }

// Act implements admin.Provider (§15).
func (s *Service) Act(ctx context.Context, id, action string, params json.RawMessage) (admin.Object, error) {
	t, ok := s.txs.Get(id)
	if !ok {
		if _, err := s.Object(id); err == nil {
			return admin.Object{}, emulators.Errorf(emulators.Invalid, "order %s has no actions; act on its transactions", id)
		}
		return admin.Object{}, emulators.Errorf(emulators.NotFound, "no PayU transaction %q", id)
	}
	var p struct {
		ResponseCode string `json:"responseCode"`
	}
	if len(strings.TrimSpace(string(params))) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(params)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return admin.Object{}, emulators.Errorf(emulators.Invalid, "parameters: %v (expected {\"responseCode\": \"…\"} or nothing)", err)
		}
	}
	allowed := false
	for _, a := range s.actions(t) {
		if a.Name == action {
			allowed = true
		}
	}
	switch action {
	case "approve", "decline", "expire", "resend_callback":
	default:
		return admin.Object{}, emulators.Errorf(emulators.Invalid, "unknown action %q for a PayU transaction (approve, decline, expire, resend_callback)", action)
	}
	if !allowed {
		msg := "action " + action + " is refused: transaction " + id + " is " + t.State
		return admin.Object{}, &emulators.Error{Kind: emulators.Conflict, Msg: msg, Detail: msg}
	}
	var err error
	switch {
	case action == "resend_callback":
		if d := s.sendConfirmation(t, true); d == "" {
			err = emulators.Errorf(emulators.Conflict, "transaction %s has no order", id)
		}
	case isRefundType(t.Type):
		out := settleOutcome(action, p.ResponseCode)
		if action == "decline" && p.ResponseCode == "" {
			out.responseCode = "PAYMENT_NETWORK_REJECTED"
		}
		_, err = s.decideRefund(id, out, journal.CauseAdmin, "admin "+action)
	case t.PaymentMethod == "KHIPU":
		err = s.actKhipu(ctx, t, action, p.ResponseCode)
	case t.PaymentMethod == "TRANSBANK_DEBIT":
		_, err = s.decideWebPay(id, action, p.ResponseCode, "", journal.CauseAdmin, "admin "+action)
	default:
		_, err = s.decidePending(id, settleOutcome(action, p.ResponseCode), journal.CauseAdmin, "admin "+action)
	}
	if err != nil {
		return admin.Object{}, err
	}
	return s.Object(id)
}

// actKhipu decides a KHIPU transaction through the Khipu payment (§7.7).
func (s *Service) actKhipu(ctx context.Context, t Transaction, action, code string) error {
	switch action {
	case "approve":
		return s.actOnTransfer(ctx, t, emulators.TransferPayNow)
	case "expire":
		return s.actOnTransfer(ctx, t, emulators.TransferExpire)
	}
	return s.declineKhipu(ctx, t, code, journal.CauseAdmin, "admin decline")
}

// Reset implements admin.Provider: wipe orders and transactions, stop timers.
// Order ids keep counting, so an id is never reused.
func (s *Service) Reset() {
	s.grp.StopAll()
	s.mu.Lock()
	s.orders.Clear()
	s.refs.clear()
	s.txs.Clear()
	s.tokens.Clear()
	s.mu.Unlock()
}

// Describe implements admin.Provider.
func (s *Service) Describe(linkBase string) admin.Description {
	d := admin.Description{
		Provider: provider, Title: "PayU Latam (Chile)",
		BaseURLs: []admin.Link{
			{Name: "Payments API", URL: linkBase + "/payu/payments-api/4.0/service.cgi"},
			{Name: "Queries API", URL: linkBase + "/payu/reports-api/4.0/service.cgi"},
			{Name: "PHP SDK: Environment::setPaymentsCustomUrl", URL: linkBase + "/payu/payments-api/4.0/service.cgi"},
			{Name: "PHP SDK: Environment::setReportsCustomUrl", URL: linkBase + "/payu/reports-api/4.0/service.cgi"},
			{Name: "Java/.NET SDK payments URL", URL: linkBase + "/payu/payments-api/"},
			{Name: "Java/.NET SDK reports URL", URL: linkBase + "/payu/reports-api/"},
		},
		Notes: []string{
			"Signature mode " + s.cfg.SignatureMode + "; the order signature uses the merchantId, not the accountId.",
			"Card outcomes follow the holder name (APPROVED, REJECTED, PENDING) and the test cards; see emulators/payu/README.md.",
		},
	}
	for _, m := range s.merchants {
		c := admin.Credential{Account: "merchant " + strconv.FormatInt(m.MerchantID, 10), Fields: []admin.Field{
			{Name: "merchantId", Value: strconv.FormatInt(m.MerchantID, 10)},
			{Name: "apiLogin", Value: m.APILogin}, {Name: "apiKey", Value: m.APIKey},
		}}
		if m.PublicKey != "" {
			c.Fields = append(c.Fields, admin.Field{Name: "publicKey", Value: m.PublicKey})
		}
		for _, a := range m.Accounts {
			c.Fields = append(c.Fields, admin.Field{Name: "accountId", Value: strconv.FormatInt(a.AccountID, 10)})
		}
		d.Credentials = append(d.Credentials, c)
	}
	return d
}
