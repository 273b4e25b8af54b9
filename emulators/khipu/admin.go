package khipu

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/admin"
	"github.com/paysandbox/sandbox/emulators/internal/clock"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
)

// The admin view of Khipu payments and the admin actions of §15.

// Name implements admin.Provider.
func (s *Service) Name() string { return provider }

const kindPayment = "payment"

// Objects implements admin.Provider: payments, newest first.
func (s *Service) Objects(q admin.Query) ([]admin.Object, int) {
	if q.Kind != "" && q.Kind != kindPayment {
		return nil, 0
	}
	search := strings.ToLower(q.Search)
	keep := func(p Payment) bool {
		if q.Status != "" && q.Status != p.Status && q.Status != p.state() && q.Status != p.StatusDetail {
			return false
		}
		if q.Account != "" && q.Account != strconv.FormatInt(p.ReceiverID, 10) {
			return false
		}
		return search == "" || strings.Contains(p.searchable(), search)
	}
	rows, total := s.payments.Page(keep, q.Offset, q.Limit)
	out := make([]admin.Object, len(rows))
	for i := range rows {
		out[i] = s.summary(&rows[i])
	}
	return out, total
}

// Object implements admin.Provider.
func (s *Service) Object(id string) (admin.Object, error) {
	p, ok := s.payments.Get(id)
	if !ok {
		return admin.Object{}, emulators.Errorf(emulators.NotFound, "no khipu payment %q", id)
	}
	o := s.summary(&p)
	o.History = p.History
	o.Data = adminData{paymentJSON: p.toJSON(p.API == "v3"), Sandbox: sandboxView(&p)}
	return o, nil
}

// adminData is the payment as the API shows it plus what only the sandbox knows.
type adminData struct {
	paymentJSON
	Sandbox sandboxData `json:"sandbox"`
}

type sandboxData struct {
	API             string   `json:"api"`
	Deleted         bool     `json:"deleted"`
	Expired         bool     `json:"expired"`
	Uncertain       bool     `json:"uncertain"`
	OperationCode   string   `json:"operation_code"`
	Refunded        string   `json:"refunded"`
	Refunds         []string `json:"refunds"`
	ConfirmedAt     string   `json:"confirmed_at"`
	Internal        bool     `json:"internal"`
	Reference       string   `json:"reference,omitempty"`
	PayScenarioRule string   `json:"pay_rule,omitempty"`
	RobotPayer      bool     `json:"robot_payer"`
}

func sandboxView(p *Payment) sandboxData {
	d := sandboxData{API: p.API, Deleted: p.Deleted, Expired: p.ExpiryHandled, Uncertain: p.Uncertain,
		OperationCode: p.OperationCode, Refunded: formatAmount(p.Refunded), Refunds: []string{},
		Internal: p.Internal, Reference: p.Reference, PayScenarioRule: p.Pay.Rule, RobotPayer: p.Pay.Auto}
	for _, r := range p.Refunds {
		d.Refunds = append(d.Refunds, formatAmount(r.Amount)+" at "+formatTime(r.At)+" ("+r.Cause+")")
	}
	if !p.ConfirmedAt.IsZero() {
		d.ConfirmedAt = formatTime(p.ConfirmedAt)
	}
	return d
}

func (s *Service) summary(p *Payment) admin.Object {
	o := admin.Object{
		Provider: provider, Kind: kindPayment, ID: p.ID, Status: p.state(),
		Amount: p.Amount.String(), Currency: p.Currency, Account: strconv.FormatInt(p.ReceiverID, 10),
		Reference: p.TransactionID, Scenario: p.Scenario, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
		Actions: s.actions(p),
		Links: []admin.Link{
			{Name: "payment_url", URL: p.paymentURL()},
			{Name: "simplified_transfer_url", URL: p.simplifiedURL()},
			{Name: "transfer_url", URL: p.transferURL()},
		},
	}
	if r := p.receiptURL(); r != "" {
		o.Links = append(o.Links, admin.Link{Name: "receipt_url", URL: r})
	}
	if p.Internal {
		o.Related = []admin.Ref{{Provider: "payu", Kind: "transaction", ID: p.Reference, Role: "paid through this Khipu payment"}}
	}
	return o
}

var payParamsSpec = []admin.Param{
	{Name: "outcome", Type: "enum", Options: []string{"approve", "bank_error", "uncertain", "abandon"}, Optional: true, Help: "what the payer's bank answers (default approve)"},
	{Name: "method", Type: "enum", Options: []string{"simplified", "manual"}, Optional: true, Help: "simplified (DemoBank flow, default) or manual transfer"},
	{Name: "bank_id", Type: "string", Optional: true, Help: "payer's bank (default: the preselected or first visible bank)"},
	{Name: "rut", Type: "string", Optional: true, Help: "payer RUT (default 11.111.111-1)"},
	{Name: "email", Type: "string", Optional: true, Help: "payer e-mail"},
	{Name: "skip_verify", Type: "bool", Optional: true, Help: "go straight to done"},
	{Name: "allow_expired", Type: "bool", Optional: true, Help: "pay even after expires_date"},
}

// actions lists the admin actions the payment accepts now (§15).
func (s *Service) actions(p *Payment) []admin.Action {
	if p.Deleted {
		return []admin.Action{}
	}
	switch {
	case p.Status == statusPending && p.ExpiryHandled:
		// Expired: a payer can no longer pay; the admin can still force it.
		return []admin.Action{
			{Name: "pay", Label: "Pay anyway (tick allow_expired)", Params: payParamsSpec},
			{Name: "mark_paid", Label: "Mark paid by receiver"},
		}
	case p.Status == statusPending || p.Status == statusVerifying:
		return []admin.Action{
			{Name: "pay", Label: "Pay", Params: payParamsSpec},
			{Name: "expire", Label: "Expire now"},
			{Name: "mark_paid", Label: "Mark paid by receiver"},
		}
	case p.Status == statusDone:
		out := []admin.Action{}
		if p.StatusDetail == detailNormal {
			out = append(out, admin.Action{Name: "reverse", Label: "Reverse (full refund)"})
		}
		if !p.Internal {
			out = append(out, admin.Action{Name: "resend_callback", Label: "Resend notification",
				Params: []admin.Param{{Name: "version", Type: "enum", Options: []string{"1.3", "3.0"}, Optional: true, Help: "notification API version (default: the payment's)"}}})
		}
		return out
	}
	return []admin.Action{}
}

// Act implements admin.Provider (§15).
func (s *Service) Act(ctx context.Context, id, action string, params json.RawMessage) (admin.Object, error) {
	p, ok := s.payments.Get(id)
	if !ok {
		return admin.Object{}, emulators.Errorf(emulators.NotFound, "no khipu payment %q", id)
	}
	var err error
	switch action {
	case "pay":
		var pp struct {
			Outcome      string `json:"outcome"`
			Method       string `json:"method"`
			BankID       string `json:"bank_id"`
			RUT          string `json:"rut"`
			Email        string `json:"email"`
			SkipVerify   bool   `json:"skip_verify"`
			AllowExpired bool   `json:"allow_expired"`
		}
		if err := admin.DecodeParams(params, &pp); err != nil {
			return admin.Object{}, err
		}
		err = s.adminPay(p, pp.Outcome, ScenarioPayer{Method: pp.Method, BankID: pp.BankID, RUT: pp.RUT, Email: pp.Email}, pp.SkipVerify, pp.AllowExpired)
	case "expire":
		if err := admin.DecodeParams(params, &struct{}{}); err != nil {
			return admin.Object{}, err
		}
		_, err = s.expire(id, journal.CauseAdmin)
	case "mark_paid":
		if err := admin.DecodeParams(params, &struct{}{}); err != nil {
			return admin.Object{}, err
		}
		_, err = s.markPaid(id)
	case "reverse":
		if err := admin.DecodeParams(params, &struct{}{}); err != nil {
			return admin.Object{}, err
		}
		_, err = s.reverse(id)
	case "resend_callback":
		var rp struct {
			Version string `json:"version"`
		}
		if err := admin.DecodeParams(params, &rp); err != nil {
			return admin.Object{}, err
		}
		err = s.adminResend(p, rp.Version)
	default:
		return admin.Object{}, emulators.Errorf(emulators.Invalid, "unknown khipu action %q; known: expire, mark_paid, pay, resend_callback, reverse", action)
	}
	if err != nil {
		return admin.Object{}, err
	}
	return s.Object(id)
}

// adminPay is the admin action pay (§15): as if a payer did it.
func (s *Service) adminPay(p Payment, outcome string, payer ScenarioPayer, skipVerify, allowExpired bool) error {
	if outcome == "" {
		outcome = "approve"
	}
	switch outcome {
	case "approve", "bank_error", "uncertain", "abandon":
	default:
		return emulators.Errorf(emulators.Invalid, "outcome %q: expected approve, bank_error, uncertain or abandon", outcome)
	}
	if payer.Method != "" && payer.Method != "simplified" && payer.Method != "manual" {
		return emulators.Errorf(emulators.Invalid, "method %q: expected simplified or manual", payer.Method)
	}
	switch {
	case p.Deleted || p.Status == statusDone:
		return stateConflict(&p, "pay needs a pending or verifying payment")
	case p.Status == statusVerifying:
		switch outcome {
		case "approve":
			_, err := s.settle(p.ID, 0, journal.CauseAdmin)
			return err
		case "bank_error":
			_, err := s.revertTransfer(p.ID, 0, journal.CauseAdmin, "admin pay bank_error: the transfer failed")
			return err
		}
		return stateConflict(&p, "a verifying payment takes pay approve or pay bank_error")
	}
	if p.expired(s.now()) && !allowExpired {
		return stateConflict(&p, "its expires_date "+formatTime(p.ExpiresAt)+" has passed (pass allow_expired to pay it anyway)")
	}
	tr, err := s.robotTransfer(p, payer)
	if err != nil {
		return emulators.Errorf(emulators.Invalid, "%v", err)
	}
	if _, err := s.payerOutcome(p, tr, outcome, journal.CauseAdmin, "admin pay", allowExpired); err != nil {
		return err
	}
	if skipVerify && outcome == "approve" {
		_, err := s.settle(p.ID, 0, journal.CauseAdmin)
		return err
	}
	return nil
}

// adminResend is the admin action resend_callback (§15).
func (s *Service) adminResend(p Payment, version string) error {
	if version != "" && version != "1.3" && version != "3.0" {
		return emulators.Errorf(emulators.Invalid, "version %q: expected 1.3 or 3.0", version)
	}
	if p.Deleted || p.Status != statusDone {
		return stateConflict(&p, "only a done payment has a notification to resend")
	}
	if p.Internal {
		return stateConflict(&p, "payments created for PayU report to PayU in-process and send no HTTP notification")
	}
	r := s.receiver(p.ReceiverID)
	if cmp.Or(p.NotifyURL, r.notifyURL) == "" {
		return stateConflict(&p, "it has no notify_url and its receiver has none")
	}
	s.resend(p, version)
	return nil
}

// Reset implements admin.Provider: wipes payments, page attempts and timers.
func (s *Service) Reset() {
	s.grp.StopAll()
	s.expiries.reset()
	s.payments.Clear()
	s.tokens.Clear()
	s.attempts.Clear()
}

// Describe implements admin.Provider: base URLs per official client and
// the receivers' credentials.
func (s *Service) Describe(linkBase string) admin.Description {
	lb := strings.TrimRight(linkBase, "/")
	d := admin.Description{Provider: provider, Title: "Khipu",
		BaseURLs: []admin.Link{
			{Name: "API 2.0 (PHP setHost, Ruby/Java/.NET base path, fi-khipu config.host)", URL: lb + "/khipu/api/2.0"},
			{Name: "API 3.0 (x-api-key)", URL: lb + "/khipu/v3"},
			{Name: "Payer pages", URL: lb + "/khipu/payment/info/{payment_id}"},
		},
		Notes: []string{
			"DemoBank: any valid RUT (e.g. 11.111.111-1), password 1234, coordinates 11 22 33 (99 99 99 = bank error, 55 55 55 = uncertain)",
			"Host routing: khipu.com and payment-api.khipu.com reach /api/2.0 and /v3 without the /khipu prefix",
		},
	}
	for _, id := range s.receiverIDs {
		r := s.receivers[id]
		d.Credentials = append(d.Credentials, admin.Credential{Account: fmt.Sprintf("receiver %d (%s)", r.id, r.name), Fields: []admin.Field{
			{Name: "receiver_id", Value: strconv.FormatInt(r.id, 10)},
			{Name: "secret", Value: r.secret},
			{Name: "api_key", Value: r.apiKey},
			{Name: "kind", Value: r.kind},
			{Name: "max_amount", Value: r.maxAmount.String()},
		}})
	}
	return d
}

// Scheduled lists the pending expiries of payments that can still expire
// (the clock lists Khipu's other timers itself).
func (s *Service) Scheduled() []clock.Scheduled {
	return s.expiries.scheduled(func(id string) bool {
		p, ok := s.payments.Get(id)
		return ok && !p.Deleted && (p.Status == statusPending || p.Status == statusVerifying)
	})
}
