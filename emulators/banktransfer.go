package emulators

import (
	"context"
	"time"
)

// BankTransfers is what the PayU emulator needs from the Khipu emulator
// (*khipu.Service implements it). PayU's paymentMethod KHIPU creates a Khipu
// payment through it and sends the payer to the Khipu pages; the two
// packages never import each other and share no state.
type BankTransfers interface {
	// CreateTransfer validates like a Khipu create (bank exists and is a
	// test bank, amount ≥ the bank's minimum) and fails with an *Error of
	// kind Invalid, which PayU renders its own way.
	CreateTransfer(ctx context.Context, r TransferRequest) (Transfer, error)
	// ActOnTransfer drives a payment created by CreateTransfer.
	ActOnTransfer(ctx context.Context, paymentID string, a TransferAction) error
}

// TransferListener hears how those payments end (*payu.Service implements it).
type TransferListener interface {
	// TransferSettled is called once with "done" when the payment becomes
	// done by any path, and once with "expired" when its expiry passes while
	// it is still pending. It is called after the Khipu side has stored its
	// own state change, with no lock held.
	TransferSettled(ctx context.Context, e TransferEvent)
}

// TransferRequest asks the Khipu emulator for a payment on behalf of PayU.
type TransferRequest struct {
	ReceiverID   int64  // internal receiver of the caller (payu.khipu.receiver_id)
	ReceiverName string // shown on the payer pages ("PayU Chile SA")
	Amount       Amount // CLP, integral
	Subject      string
	Reference    string // PayU transactionId; becomes the Khipu transaction_id
	BankID       string // preselected test bank (FINANCIAL_INSTITUTION_CODE)
	PayerEmail   string
	ReturnURL    string // {link base}/payu/response/{transactionId}
	CancelURL    string // same
	ExpiresAt    time.Time
	LinkBase     string // the PayU order's link base; Khipu appends /khipu
	Scenario     string // the PayU order's scenario
}

// Transfer is the payment CreateTransfer made.
type Transfer struct {
	PaymentID             string // PayU trazabilityCode
	SimplifiedTransferURL string // PayU BANK_URL
	ExpiresAt             time.Time
}

// TransferAction is what PayU can do to a transfer it created.
type TransferAction string

const (
	TransferPay    TransferAction = "pay"     // a robot payer pays at the preselected test bank (verifying, then done)
	TransferPayNow TransferAction = "pay_now" // done at once
	TransferExpire TransferAction = "expire"  // as the Khipu admin action expire
	TransferDelete TransferAction = "delete"  // as DELETE (only while pending; otherwise a Conflict error)
)

// TransferEvent reports how a transfer ended.
type TransferEvent struct {
	PaymentID, Reference string
	Outcome              string // "done" or "expired"
	At                   time.Time
}
