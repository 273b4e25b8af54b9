package khipu

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
)

// The bank-transfer interface PayU pays through (§13.4;
// docs/design.md, "PayU and Khipu: the bank-transfer interface").

var _ emulators.BankTransfers = (*Service)(nil)

// internalReceiver returns PayU's internal receiver, creating it on first
// use: developer kind, no amount cap, no credentials.
func (s *Service) internalReceiver(id int64, name string) (*receiver, error) {
	if _, clash := s.receivers[id]; clash {
		return nil, &emulators.Error{Kind: emulators.Invalid, Msg: fmt.Sprintf("receiver_id %d is a configured Khipu receiver; PayU needs its own internal receiver id", id),
			Detail: fmt.Sprintf("payu.khipu.receiver_id %d equals a khipu.receivers entry", id)}
	}
	if id <= 0 {
		return nil, emulators.Errorf(emulators.Invalid, "receiver id %d: expected a positive number", id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.internal[id]
	if !ok {
		r = &receiver{id: id, name: cmp.Or(name, defaultName), kind: kindDeveloper, notifyAPIVersion: "1.3", internal: true,
			confirmEnabled: true, refundsEnabled: true, macs: newMACPool("")}
		s.internal[id] = r // the name of the first request stays: receivers are read without a lock
	}
	return r, nil
}

// CreateTransfer implements emulators.BankTransfers: it validates amount,
// bank and the bank minimum as a create does (§7) and creates a payment of
// PayU's internal receiver. It never consults the create, pay or notify
// points; done and expiry are reported to the TransferListener.
func (s *Service) CreateTransfer(ctx context.Context, r emulators.TransferRequest) (emulators.Transfer, error) {
	rcv, err := s.internalReceiver(r.ReceiverID, r.ReceiverName)
	if err != nil {
		return emulators.Transfer{}, err
	}
	currency := cmp.Or(r.Amount.Currency, "CLP")
	in := input{
		"subject":        {text: r.Subject, kind: wire.LitString},
		"currency":       {text: currency, kind: wire.LitString},
		"amount":         {text: r.Amount.Value.String(), kind: wire.LitString},
		"transaction_id": {text: r.Reference, kind: wire.LitString},
	}
	optional := map[string]string{"bank_id": r.BankID, "payer_email": r.PayerEmail, "return_url": r.ReturnURL, "cancel_url": r.CancelURL}
	for k, v := range optional {
		if v != "" {
			in[k] = value{text: v, kind: wire.LitString}
		}
	}
	now := s.now()
	if !r.ExpiresAt.IsZero() {
		in["expires_date"] = value{text: r.ExpiresAt.UTC().Format(wireTimeLayout), kind: wire.LitString}
	}
	req, errs := validateCreate(in, false, rcv, s.banks, now)
	if len(errs) > 0 {
		e := fieldErrors(errs)
		e.Msg = joinFields(errs)
		return emulators.Transfer{}, e
	}
	if !r.ExpiresAt.IsZero() {
		req.ExpiresAt = r.ExpiresAt // keep the exact instant (the text above has milliseconds only)
	}
	link := strings.TrimRight(r.LinkBase, "/") + "/khipu"
	p := s.createPayment(newPayment{req: req, receiver: rcv, api: "payu", scenario: r.Scenario, linkBase: link,
		cause: journal.CauseHook, internal: true, reference: r.Reference})
	s.deps.Record(journal.KindHook, provider, "CreateTransfer → payment "+p.ID+" for PayU transaction "+r.Reference,
		map[string]string{"payment_id": p.ID, "reference": r.Reference, "amount": p.Amount.String(), "bank_id": req.GivenBankID}, p.ID)
	return emulators.Transfer{PaymentID: p.ID, SimplifiedTransferURL: p.simplifiedURL(), ExpiresAt: p.ExpiresAt}, nil
}

// ActOnTransfer implements emulators.BankTransfers: pay (a robot payer at
// the preselected bank), pay_now (done at once), expire, delete.
func (s *Service) ActOnTransfer(ctx context.Context, paymentID string, a emulators.TransferAction) error {
	p, ok := s.payments.Get(paymentID)
	if !ok || !p.Internal {
		return emulators.Errorf(emulators.NotFound, "no Khipu payment %q created through CreateTransfer", paymentID)
	}
	data := map[string]string{"action": string(a), "payment_id": paymentID, "reference": p.Reference}
	err := s.actOnTransfer(p, a)
	summary := "ActOnTransfer(" + string(a) + ") on payment " + paymentID
	if err != nil {
		data["error"] = err.Error()
		summary += " refused: " + emulators.DetailOf(err)
	}
	s.deps.Record(journal.KindHook, provider, summary, data, paymentID)
	return err
}

func (s *Service) actOnTransfer(p Payment, a emulators.TransferAction) error {
	switch a {
	case emulators.TransferPay, emulators.TransferPayNow:
		if p.Deleted || p.Status != statusPending {
			return stateConflict(&p, "only a pending payment can be paid")
		}
		tr, err := s.robotTransfer(p, ScenarioPayer{})
		if err != nil {
			return emulators.Errorf(emulators.Invalid, "%v", err)
		}
		if _, err := s.startTransfer(p.ID, tr, journal.CauseHook, false); err != nil {
			return err
		}
		if a == emulators.TransferPayNow {
			_, err := s.settle(p.ID, 0, journal.CauseHook)
			return err
		}
		return nil
	case emulators.TransferExpire:
		_, err := s.expire(p.ID, journal.CauseHook)
		return err
	case emulators.TransferDelete:
		_, err := s.deletePayment(p.ID, journal.CauseHook)
		if err != nil {
			return stateConflict(&p, "only a pending payment can be deleted")
		}
		return nil
	}
	return emulators.Errorf(emulators.Invalid, "unknown transfer action %q (pay, pay_now, expire, delete)", a)
}

// IsConfiguredReceiver reports whether id is a khipu.receivers entry (or
// the built-in receiver). The composition root can use it to refuse at
// startup a PayU internal receiver_id that clashes with one (§13.4);
// CreateTransfer refuses it in any case.
func (s *Service) IsConfiguredReceiver(id int64) bool {
	_, ok := s.receivers[id]
	return ok
}
