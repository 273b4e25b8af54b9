package hambit

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/admin"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
)

const kindAccount = "account"

// Objects implements admin.Provider: orders newest first, then the accounts.
func (s *Service) Objects(q admin.Query) ([]admin.Object, int) {
	keep := func(o order) bool {
		if q.Kind != "" && q.Kind != o.Kind {
			return false
		}
		if q.Status != "" && q.Status != strconv.Itoa(o.Status) && q.Status != o.queryStatusText() && q.Status != o.statusLabel() {
			return false
		}
		if q.Account != "" && q.Account != o.AccessKey && q.Account != itoa(o.MerchantID) {
			return false
		}
		if q.Search != "" && !strings.Contains(o.OrderID, q.Search) && !strings.Contains(o.CashierID, q.Search) &&
			!strings.Contains(o.ExternalOrderID, q.Search) {
			return false
		}
		return true
	}
	rows, total := s.orders.Page(keep, q.Offset, q.Limit)
	out := make([]admin.Object, 0, len(rows))
	for i := range rows {
		out = append(out, s.summary(&rows[i]))
	}
	var accts []admin.Object
	for _, k := range s.keys {
		a := s.accounts[k]
		if q.Kind != "" && q.Kind != kindAccount {
			continue
		}
		if q.Status != "" && q.Status != "active" {
			continue
		}
		if q.Account != "" && q.Account != a.AccessKey && q.Account != itoa(a.merchantID) {
			continue
		}
		if q.Search != "" && !strings.Contains(a.AccessKey, q.Search) && !strings.Contains(a.merchantName, q.Search) {
			continue
		}
		accts = append(accts, s.accountObject(a, false))
	}
	skip := max(q.Offset-total, 0)
	for i := skip; i < len(accts); i++ {
		if q.Limit > 0 && len(out) >= q.Limit {
			break
		}
		out = append(out, accts[i])
	}
	return out, total + len(accts)
}

func (s *Service) summary(o *order) admin.Object {
	return admin.Object{
		Provider: provider, Kind: o.Kind, ID: o.OrderID, Status: o.queryStatusText(), Amount: money(o.Amount),
		Currency: o.Currency, Account: o.AccessKey, Reference: o.ExternalOrderID, Scenario: o.Scenario,
		CreatedAt: o.Created, UpdatedAt: o.Updated, Actions: s.actions(o),
	}
}

// actions lists the admin actions an order accepts now (spec §12).
func (s *Service) actions(o *order) []admin.Action {
	var out []admin.Action
	if o.Kind == kindCollection && o.Status == statusPending {
		out = append(out,
			admin.Action{Name: "pay", Label: "Pay", Params: []admin.Param{{Name: "amount", Type: "decimal", Optional: true,
				Help: "amount paid (absent = the full orderAmount); may differ from orderAmount"}}},
			admin.Action{Name: "fail", Label: "Fail", Params: []admin.Param{{Name: "error_msg", Type: "string", Optional: true,
				Help: "errorMsg text (default payment failed.)"}}})
		if o.cashierOpen(s.now()) {
			out = append(out, admin.Action{Name: "expire", Label: "Let the cashier expire"})
		}
	}
	if o.Kind == kindTransfer && (o.Status == statusPending || o.Status == statusProcessing) {
		out = append(out,
			admin.Action{Name: "advance", Label: "Next step now"},
			admin.Action{Name: "decide", Label: "Decide", Params: []admin.Param{
				{Name: "outcome", Type: "enum", Options: []string{outcomeSuccess, outcomeBankRejection, outcomeFailed}},
				{Name: "error_msg", Type: "string", Optional: true, Help: "errorMsg text for bank_rejection or failed"}}})
	}
	out = append(out, admin.Action{Name: "resend_callback", Label: "Resend callback"})
	return out
}

// lookup finds an order by orderId or cashierId.
func (s *Service) lookup(id string) (order, bool) {
	if o, ok := s.orders.Get(id); ok {
		return o, true
	}
	s.mu.Lock()
	oid, ok := s.byCashier[id]
	s.mu.Unlock()
	if !ok {
		return order{}, false
	}
	return s.orders.Get(oid)
}

// Object implements admin.Provider: an order by orderId or cashierId, or an
// account by access_key.
func (s *Service) Object(id string) (admin.Object, error) {
	if a := s.accounts[id]; a != nil {
		return s.accountObject(a, true), nil
	}
	o, ok := s.lookup(id)
	if !ok {
		return admin.Object{}, emulators.Errorf(emulators.NotFound, "no hambit order, cashier or account %q", id)
	}
	return s.full(&o), nil
}

func (s *Service) full(o *order) admin.Object {
	obj := s.summary(o)
	obj.History = o.History
	obj.Data = o.apiView()
	obj.Related = []admin.Ref{{Provider: provider, Kind: kindAccount, ID: o.AccessKey, Role: "account"}}
	if o.Kind == kindCollection {
		d := o.createCollectionData(o.MerchantID)
		obj.Links = []admin.Link{{Name: "cashier page", URL: d.CashierURL}}
	}
	return obj
}

func (s *Service) accountObject(a *account, full bool) admin.Object {
	obj := admin.Object{Provider: provider, Kind: kindAccount, ID: a.AccessKey, Status: "active",
		Account: a.AccessKey, Reference: a.merchantName, CreatedAt: s.started, UpdatedAt: s.started,
		Actions: []admin.Action{{Name: "set_balance", Label: "Set balance", Params: []admin.Param{
			{Name: "currency", Type: "enum", Options: s.cfg.currencies()},
			{Name: "available", Type: "decimal"},
			{Name: "frozen", Type: "decimal", Optional: true},
			{Name: "wait_settled", Type: "decimal", Optional: true},
		}}}}
	if !full {
		return obj
	}
	type view struct {
		AccessKey    string        `json:"access_key"`
		MerchantName string        `json:"merchant_name"`
		MerchantID   string        `json:"merchant_id"`
		Permissions  string        `json:"permissions"`
		IPWhitelist  []string      `json:"ip_whitelist"`
		NotifyURL    string        `json:"notify_url"`
		Balances     []balanceView `json:"balances"`
	}
	v := view{AccessKey: a.AccessKey, MerchantName: a.merchantName, MerchantID: itoa(a.merchantID),
		Permissions: a.permissionList(), IPWhitelist: a.IPWhitelist, NotifyURL: a.NotifyURL}
	s.balMu.Lock()
	curs := make([]string, 0, len(s.balances[a.AccessKey]))
	for cur := range s.balances[a.AccessKey] {
		curs = append(curs, cur)
	}
	sort.Strings(curs)
	for _, cur := range curs {
		v.Balances = append(v.Balances, viewBalance(*s.balances[a.AccessKey][cur], cur))
	}
	s.balMu.Unlock()
	obj.Data = v
	return obj
}

// Act implements admin.Provider (spec §12).
func (s *Service) Act(_ context.Context, id, action string, raw json.RawMessage) (admin.Object, error) {
	if a := s.accounts[id]; a != nil {
		if action != "set_balance" {
			return admin.Object{}, emulators.Errorf(emulators.Invalid, "unknown action %q for an account; accounts take set_balance", action)
		}
		if err := s.setBalance(a, raw); err != nil {
			return admin.Object{}, err
		}
		return s.accountObject(a, true), nil
	}
	o, ok := s.lookup(id)
	if !ok {
		return admin.Object{}, emulators.Errorf(emulators.NotFound, "no hambit order, cashier or account %q", id)
	}
	var err error
	switch {
	case action == "resend_callback":
		if err = admin.DecodeParams(raw, &struct{}{}); err == nil {
			delivery := s.resendCallback(o)
			s.deps.Record(journal.KindNote, provider, "manual callback of "+o.OrderID+" ("+delivery+")", nil, o.OrderID)
		}
	case o.Kind == kindCollection && action == "pay":
		var p struct {
			Amount *emulators.Decimal `json:"amount"`
		}
		if err = admin.DecodeParams(raw, &p); err == nil {
			if p.Amount != nil {
				if msg := checkPaidAmount(*p.Amount, o.Currency); msg != "" {
					return admin.Object{}, emulators.Errorf(emulators.Invalid, "amount: %s", msg)
				}
			}
			o, err = s.payCollection(o.OrderID, p.Amount, journal.CauseAdmin, false)
		}
	case o.Kind == kindCollection && action == "fail":
		var p struct {
			ErrorMsg string `json:"error_msg"`
		}
		if err = admin.DecodeParams(raw, &p); err == nil {
			o, err = s.failCollection(o.OrderID, p.ErrorMsg, journal.CauseAdmin, false)
		}
	case o.Kind == kindCollection && action == "expire":
		if err = admin.DecodeParams(raw, &struct{}{}); err == nil {
			o, err = s.closeCashier(o.OrderID, journal.CauseAdmin)
		}
	case o.Kind == kindTransfer && action == "advance":
		if err = admin.DecodeParams(raw, &struct{}{}); err == nil {
			o, err = s.advanceTransfer(o.OrderID, journal.CauseAdmin)
		}
	case o.Kind == kindTransfer && action == "decide":
		var p struct {
			Outcome  string `json:"outcome"`
			ErrorMsg string `json:"error_msg"`
		}
		if err = admin.DecodeParams(raw, &p); err == nil {
			o, err = s.decideTransfer(o.OrderID, p.Outcome, p.ErrorMsg, journal.CauseAdmin) // refuses other outcomes
		}
	default:
		names := []string{}
		for _, a := range s.actions(&o) {
			names = append(names, a.Name)
		}
		return admin.Object{}, emulators.Errorf(emulators.Invalid, "unknown action %q for %s %s; allowed now: %s",
			action, o.Kind, o.OrderID, strings.Join(names, ", "))
	}
	if err != nil {
		return admin.Object{}, err
	}
	o, _ = s.orders.Get(o.OrderID)
	return s.full(&o), nil
}

// checkPaidAmount returns why d cannot be paid in currency, or "".
func checkPaidAmount(d emulators.Decimal, currency string) string {
	if d.Sign() <= 0 {
		return "must be greater than 0"
	}
	if p := currencyPlaces(currency); d.Places() > p {
		if p == 0 {
			return fmt.Sprintf("%s has no decimals", currency)
		}
		return fmt.Sprintf("at most %d decimals for %s", p, currency)
	}
	return ""
}

// setBalance is the account action set_balance (spec §12).
func (s *Service) setBalance(a *account, raw json.RawMessage) error {
	var p struct {
		Currency    string             `json:"currency"`
		Available   *emulators.Decimal `json:"available"`
		Frozen      *emulators.Decimal `json:"frozen"`
		WaitSettled *emulators.Decimal `json:"wait_settled"`
	}
	if err := admin.DecodeParams(raw, &p); err != nil {
		return err
	}
	if !currencyRE.MatchString(p.Currency) {
		return emulators.Errorf(emulators.Invalid, "currency %q: expected an ISO 4217 code such as CLP", p.Currency)
	}
	if p.Available == nil {
		return emulators.Errorf(emulators.Invalid, "available: required")
	}
	for name, d := range map[string]*emulators.Decimal{"available": p.Available, "frozen": p.Frozen, "wait_settled": p.WaitSettled} {
		if d != nil && d.Sign() < 0 {
			return emulators.Errorf(emulators.Invalid, "%s: must not be negative", name)
		}
	}
	s.changeBalance(a.AccessKey, p.Currency, func(b *balance) bool {
		b.Available = p.Available.Normalize()
		if p.Frozen != nil {
			b.Frozen = p.Frozen.Normalize()
		}
		if p.WaitSettled != nil {
			b.WaitSettled = p.WaitSettled.Normalize()
		}
		return true
	})
	s.deps.Record(journal.KindNote, provider, fmt.Sprintf("balance of %s in %s set to %s (admin)", a.AccessKey, p.Currency, money(*p.Available)), nil, a.AccessKey)
	return nil
}
