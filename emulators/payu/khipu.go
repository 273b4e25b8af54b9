package payu

import (
	"context"
	"strconv"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/scenarios"
)

// attrsOf are the scenario attributes of a stored transaction (§14).
func (s *Service) attrsOf(o Order, t Transaction) scenarios.Attrs {
	name := ""
	if t.Card != nil {
		name = t.Card.Name
	}
	return scenarios.Attrs{
		"paymentMethod": t.PaymentMethod, "type": t.Type, "referenceCode": o.ReferenceCode, "description": o.Description,
		"amount": t.Value.String(), "currency": t.Currency, "cardName": name, "accountId": strconv.FormatInt(o.AccountID, 10),
		"paymentCountry": t.PaymentCountry, "buyerEmail": buyerEmail(o, t), "test": strconv.FormatBool(o.Test), "language": t.Language,
	}
}

// createTransfer asks the Khipu emulator for the payment behind a KHIPU
// transaction (§7.7; docs/design.md, "PayU and Khipu: the bank-transfer interface").
func (s *Service) createTransfer(cl *call, o Order, t Transaction) (emulators.Transfer, error) {
	if s.transfers == nil {
		return emulators.Transfer{}, apiErr("Sandbox: KHIPU is not available (the Khipu emulator is not wired)")
	}
	subject := o.Description
	if subject == "" {
		subject = o.ReferenceCode
	}
	back := o.LinkBase + "/payu/response/" + t.ID
	req := emulators.TransferRequest{
		ReceiverID: s.cfg.Khipu.ReceiverID, ReceiverName: "PayU Chile SA",
		Amount:  emulators.Amount{Value: t.Value, Currency: "CLP"},
		Subject: subject, Reference: t.ID, BankID: t.extra("FINANCIAL_INSTITUTION_CODE"), PayerEmail: buyerEmail(o, t),
		ReturnURL: back, CancelURL: back, ExpiresAt: s.now().Add(s.cfg.Khipu.PaymentTTL),
		LinkBase: o.LinkBase, Scenario: o.Scenario,
	}
	tr, err := s.transfers.CreateTransfer(cl.c.Request().Context(), req)
	data := map[string]string{"reference": t.ID, "bank": req.BankID, "amount": t.Value.String()}
	if err != nil {
		data["error"] = err.Error()
		s.deps.Record(journal.KindHook, provider, "CreateTransfer for transaction "+t.ID+" failed", data, t.ID)
		msg := emulators.AsError(err).Msg
		return emulators.Transfer{}, apiErrDetail("Sandbox: the Khipu payment could not be created: "+msg, err.Error())
	}
	data["payment_id"] = tr.PaymentID
	s.deps.Record(journal.KindHook, provider, "CreateTransfer → Khipu payment "+tr.PaymentID+" for transaction "+t.ID, data, t.ID, tr.PaymentID)
	return tr, nil
}

// actOnTransfer drives the Khipu payment of t; no lock is held.
func (s *Service) actOnTransfer(ctx context.Context, t Transaction, a emulators.TransferAction) error {
	err := s.transfers.ActOnTransfer(ctx, t.KhipuPayment, a)
	data := map[string]string{"action": string(a), "payment_id": t.KhipuPayment}
	summary := "ActOnTransfer(" + string(a) + ") on Khipu payment " + t.KhipuPayment
	if err != nil {
		data["error"] = err.Error()
		summary += " failed"
	}
	s.deps.Record(journal.KindHook, provider, summary, data, t.ID, t.KhipuPayment)
	return err
}

// declineKhipu deletes the Khipu payment of t, then declines t (§7.7). A
// payment that cannot be deleted (the payer is verifying at the bank)
// refuses the decline, so PayU never shows DECLINED for a payment that
// Khipu may still complete.
func (s *Service) declineKhipu(ctx context.Context, t Transaction, code, cause, why string) error {
	if err := s.actOnTransfer(ctx, t, emulators.TransferDelete); err != nil {
		e := emulators.AsError(err)
		msg := "decline refused: the Khipu payment " + t.KhipuPayment + " cannot be deleted (" + e.Msg + ")"
		return &emulators.Error{Kind: emulators.Conflict, Msg: msg, Detail: msg, Err: err}
	}
	_, err := s.decidePending(t.ID, settleOutcome("decline", code), cause, why)
	return err
}

// TransferSettled implements emulators.TransferListener: the Khipu payment
// of a KHIPU transaction is done (→ APPROVED) or expired (→ EXPIRED).
func (s *Service) TransferSettled(ctx context.Context, e emulators.TransferEvent) {
	s.deps.Record(journal.KindHook, provider, "TransferSettled("+e.Outcome+") for Khipu payment "+e.PaymentID,
		map[string]string{"payment_id": e.PaymentID, "reference": e.Reference, "outcome": e.Outcome}, e.Reference, e.PaymentID)
	t, ok := s.txs.Get(e.Reference)
	if !ok || t.KhipuPayment != e.PaymentID {
		s.deps.Record(journal.KindNote, provider, "TransferSettled names no PayU KHIPU transaction ("+e.Reference+")", nil, e.PaymentID)
		return
	}
	var name string
	switch e.Outcome {
	case "done":
		name = "approve"
	case "expired":
		name = "expire"
	default:
		return
	}
	s.decidePending(t.ID, settleOutcome(name, ""), journal.CauseHook, "Khipu payment "+e.PaymentID+" "+e.Outcome)
}
