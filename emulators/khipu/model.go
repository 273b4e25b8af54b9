package khipu

import (
	"strconv"
	"strings"
	"time"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/admin"
)

// Payment statuses and details (§11.1).
const (
	statusPending   = "pending"
	statusVerifying = "verifying"
	statusDone      = "done"

	detailPending    = "pending"
	detailNormal     = "normal"
	detailMarkedPaid = "marked-paid-by-receiver"
	detailReversed   = "reversed"
)

// Payment methods and funds sources (§8).
const (
	methodSimplified   = "simplified_transfer"
	methodRegular      = "regular_transfer"
	methodNotAvailable = "not_available"
	fundsNotAvailable  = "not-available"
)

// Payment is one Khipu payment. Its fields are grouped so that the store
// can keep the groups most payments leave empty behind nil pointers
// (storedPayment): the code reads and writes the promoted fields as if they
// were flat. Its JSON (the state store's record and the export document)
// leaves out zero fields, decimals excepted (their scale is kept): a
// pending payment's record is 641 bytes instead of 1,518, and a missing
// field reads back as zero.
type Payment struct {
	paymentCore
	paymentOptions
	payerTransfer

	// Pay is the plan of the scenario's pay point, decided at creation.
	Pay payPlan `json:",omitzero"`

	History []admin.Change
}

// paymentCore holds what every payment has.
type paymentCore struct {
	ID         string `json:",omitzero"`
	Token      string `json:",omitzero"`
	ReceiverID int64  `json:",omitzero"`
	// Internal marks a payment created for PayU (§13.4): no HTTP notification.
	Internal bool `json:",omitzero"`
	// Reference is the TransferRequest reference of an internal payment.
	Reference string    `json:",omitzero"`
	API       string    `json:",omitzero"` // v2, v3 or payu: how it was created
	Scenario  string    `json:",omitzero"`
	LinkBase  string    `json:",omitzero"` // fixed at creation (§2.2)
	CreatedAt time.Time `json:",omitzero"`
	UpdatedAt time.Time `json:",omitzero"`

	// As given at creation.
	Subject          string `json:",omitzero"`
	Amount           emulators.Decimal
	Currency         string    `json:",omitzero"`
	TransactionID    string    `json:",omitzero"`
	NotifyURL        string    `json:",omitzero"`
	ReturnURL        string    `json:",omitzero"`
	CancelURL        string    `json:",omitzero"`
	NotifyAPIVersion string    `json:",omitzero"`
	ExpiresAt        time.Time `json:",omitzero"`
	SendEmail        bool      `json:",omitzero"`
	SendReminders    bool      `json:",omitzero"`

	// State (§11).
	Status       string `json:",omitzero"`
	StatusDetail string `json:",omitzero"`
	Deleted      bool   `json:",omitzero"`
	// Uncertain marks a verifying payment held after a dubious bank answer.
	Uncertain bool `json:",omitzero"`
	// VerifySeq identifies the current verification, so that a stale
	// verification timer does nothing.
	VerifySeq int `json:",omitzero"`
	// ExpiryHandled is set once the expiry of a pending payment was journaled
	// (and reported to PayU).
	ExpiryHandled bool `json:",omitzero"`
}

// paymentOptions are the optional fields given at creation.
type paymentOptions struct {
	Body                         string    `json:",omitzero"`
	Custom                       string    `json:",omitzero"`
	PictureURL                   string    `json:",omitzero"`
	ContractURL                  string    `json:",omitzero"`
	GivenBankID                  string    `json:",omitzero"`
	GivenPayerName               string    `json:",omitzero"`
	GivenPayerEmail              string    `json:",omitzero"`
	ResponsibleUserEmail         string    `json:",omitzero"`
	FixedPayerPersonalIdentifier string    `json:",omitzero"`
	IntegratorFee                string    `json:",omitzero"`
	CollectAccountUUID           string    `json:",omitzero"`
	ConfirmTimeout               time.Time `json:",omitzero"`
	MandatoryPaymentMethod       string    `json:",omitzero"`
	PSPClientMerchantName        string    `json:",omitzero"`
}

// payerTransfer is the payer's transfer, once recorded (status verifying
// onwards; bank and payer fields may be preset at creation).
type payerTransfer struct {
	Bank               string    `json:",omitzero"`
	BankID             string    `json:",omitzero"`
	PayerName          string    `json:",omitzero"`
	PayerEmail         string    `json:",omitzero"`
	PersonalIdentifier string    `json:",omitzero"`
	BankAccountNumber  string    `json:",omitzero"`
	PaymentMethod      string    `json:",omitzero"`
	FundsSource        string    `json:",omitzero"`
	OperationCode      string    `json:",omitzero"`
	ConciliatedAt      time.Time `json:",omitzero"`
	ConfirmedAt        time.Time `json:",omitzero"`
	Refunded           emulators.Decimal
	Refunds            []Refund `json:",omitzero"`
}

// creationNote is the note of a payment's first history entry.
func creationNote(api string) string {
	switch api {
	case "v2":
		return "created through v2"
	case "v3":
		return "created through v3"
	case "payu":
		return "created through payu"
	}
	return "created through " + api
}

func (x *payerTransfer) isZero() bool {
	return x.Bank == "" && x.BankID == "" && x.PayerName == "" && x.PayerEmail == "" && x.PersonalIdentifier == "" &&
		x.BankAccountNumber == "" && x.PaymentMethod == "" && x.FundsSource == "" && x.OperationCode == "" &&
		x.ConciliatedAt.IsZero() && x.ConfirmedAt.IsZero() && x.Refunded.IsZero() && len(x.Refunds) == 0
}

// Refund is one accepted refund.
type Refund struct {
	Amount emulators.Decimal
	At     time.Time
	Cause  string // request, admin
}

// payPlan is the part of a pay-point decision kept with the payment.
type payPlan struct {
	Matched  bool
	Scenario string
	Rule     string
	Outcome  string
	Delay    *time.Duration
	Auto     bool
	Payer    ScenarioPayer
}

// paymentURL and friends build the handed-out URLs (§2.2).
func (p *Payment) paymentURL() string    { return p.LinkBase + "/payment/info/" + p.ID }
func (p *Payment) simplifiedURL() string { return p.LinkBase + "/payment/simplified/" + p.ID }
func (p *Payment) transferURL() string   { return p.LinkBase + "/payment/manual/" + p.ID }
func (p *Payment) appURL() string        { return "khipu:///pos/" + p.ID }
func (p *Payment) receiptURL() string {
	if p.Status != statusDone {
		return ""
	}
	return p.LinkBase + "/receipts/" + p.ID
}

// developerPayerName is what a test-bank payment shows as payer_name (§8):
// "Cobrador de desarrollo #123.456".
func developerPayerName(receiverID int64) string {
	return "Cobrador de desarrollo #" + thousands(strconv.FormatInt(receiverID, 10))
}

// Wire shapes (§4.3, §6, §8). Field order is the order of the real
// responses; strings never given are "", not null.

type bankJSON struct {
	BankID    string `json:"bank_id"`
	Name      string `json:"name"`
	Message   string `json:"message"`
	MinAmount string `json:"min_amount"`
	Type      string `json:"type"`
	Parent    string `json:"parent"`
	LogoURL   string `json:"logo_url"`
}

type banksResponse struct {
	Banks []bankJSON `json:"banks"`
}

type createResponse struct {
	PaymentID             string `json:"payment_id"`
	PaymentURL            string `json:"payment_url"`
	SimplifiedTransferURL string `json:"simplified_transfer_url"`
	TransferURL           string `json:"transfer_url"`
	AppURL                string `json:"app_url"`
	ReadyForTerminal      bool   `json:"ready_for_terminal"`
}

type messageResponse struct {
	Message string `json:"message"`
}

type paymentMethodJSON struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	LogoURL string `json:"logo_url"`
}

type paymentMethodsResponse struct {
	PaymentMethods []paymentMethodJSON `json:"paymentMethods"`
}

// payerJSON is the run of fields the payment object (§8) and the 3.0
// notification (§13.2) share, in their wire order (embedded, they stay in
// place in the JSON).
type payerJSON struct {
	Bank                  string `json:"bank"`
	BankID                string `json:"bank_id"`
	PayerName             string `json:"payer_name"`
	PayerEmail            string `json:"payer_email"`
	PersonalIdentifier    string `json:"personal_identifier"`
	BankAccountNumber     string `json:"bank_account_number"`
	OutOfDateConciliation bool   `json:"out_of_date_conciliation"`
	TransactionID         string `json:"transaction_id"`
	Custom                string `json:"custom"`
	ResponsibleUserEmail  string `json:"responsible_user_email"`
}

// payerFields fills payerJSON from the payment.
func (p *Payment) payerFields() payerJSON {
	return payerJSON{Bank: p.Bank, BankID: p.BankID, PayerName: p.PayerName, PayerEmail: p.PayerEmail,
		PersonalIdentifier: p.PersonalIdentifier, BankAccountNumber: p.BankAccountNumber,
		OutOfDateConciliation: p.outOfDate(), TransactionID: p.TransactionID, Custom: p.Custom,
		ResponsibleUserEmail: p.ResponsibleUserEmail}
}

// paymentJSON is the payment object of §8.
type paymentJSON struct {
	PaymentID             string   `json:"payment_id"`
	PaymentURL            string   `json:"payment_url"`
	AppURL                string   `json:"app_url"`
	ReadyForTerminal      bool     `json:"ready_for_terminal"`
	TransferURL           string   `json:"transfer_url"`
	SimplifiedTransferURL string   `json:"simplified_transfer_url"`
	ReceiverID            int64    `json:"receiver_id"`
	NotificationToken     string   `json:"notification_token"`
	Subject               string   `json:"subject"`
	Amount                string   `json:"amount"`
	Discount              string   `json:"discount"`
	Currency              string   `json:"currency"`
	Status                string   `json:"status"`
	StatusDetail          string   `json:"status_detail"`
	Body                  string   `json:"body"`
	PictureURL            string   `json:"picture_url"`
	ReceiptURL            string   `json:"receipt_url"`
	ReturnURL             string   `json:"return_url"`
	CancelURL             string   `json:"cancel_url"`
	NotifyURL             string   `json:"notify_url"`
	NotifyAPIVersion      string   `json:"notify_api_version"`
	ExpiresDate           string   `json:"expires_date"`
	AttachmentURLs        []string `json:"attachment_urls"`
	payerJSON
	SendReminders                  bool    `json:"send_reminders"`
	SendEmail                      bool    `json:"send_email"`
	PaymentMethod                  string  `json:"payment_method"`
	FundsSource                    string  `json:"funds_source"`
	ThirdPartyAuthorizationDetails *string `json:"third_party_authorization_details,omitempty"`
	ConciliationDate               string  `json:"conciliation_date,omitempty"`
}

// wirePaymentMethod is the payment_method the API shows (§4.3, §8): the
// method of the payer's transfer once recorded, "not_available" until then.
// Production answers "not_available" for a payment nobody has paid yet (a
// recorded API 2.0 response of a pending payment; the 3.0 document's enum is
// regular_transfer | simplified_transfer | not_available), never "".
func (p *Payment) wirePaymentMethod() string {
	if p.PaymentMethod == "" {
		return methodNotAvailable
	}
	return p.PaymentMethod
}

// outOfDate reports whether the payment was conciliated after it expired.
func (p *Payment) outOfDate() bool {
	return !p.ConciliatedAt.IsZero() && p.ConciliatedAt.After(p.ExpiresAt)
}

// toJSON renders the payment object; v3 adds third_party_authorization_details.
func (p *Payment) toJSON(v3 bool) paymentJSON {
	out := paymentJSON{
		PaymentID: p.ID, PaymentURL: p.paymentURL(), AppURL: p.appURL(), ReadyForTerminal: true,
		TransferURL: p.transferURL(), SimplifiedTransferURL: p.simplifiedURL(),
		ReceiverID: p.ReceiverID, NotificationToken: p.Token, Subject: p.Subject,
		Amount: formatAmount(p.Amount), Discount: formatAmount(emulators.Decimal{}), Currency: p.Currency,
		Status: p.Status, StatusDetail: p.StatusDetail, Body: p.Body, PictureURL: p.PictureURL,
		ReceiptURL: p.receiptURL(), ReturnURL: p.ReturnURL, CancelURL: p.CancelURL, NotifyURL: p.NotifyURL,
		NotifyAPIVersion: p.NotifyAPIVersion, ExpiresDate: formatTime(p.ExpiresAt), AttachmentURLs: []string{},
		payerJSON: p.payerFields(), SendReminders: p.SendReminders, SendEmail: p.SendEmail,
		PaymentMethod: p.wirePaymentMethod(), FundsSource: p.FundsSource,
	}
	if v3 {
		empty := ""
		out.ThirdPartyAuthorizationDetails = &empty
	}
	if p.Status == statusDone && !p.ConciliatedAt.IsZero() {
		out.ConciliationDate = formatTime(p.ConciliatedAt)
	}
	return out
}

// notificationJSON is the body of an API 3.0 notification (§13.2).
type notificationJSON struct {
	PaymentID  string `json:"payment_id"`
	ReceiverID int64  `json:"receiver_id"`
	Subject    string `json:"subject"`
	Amount     string `json:"amount"`
	Discount   string `json:"discount"`
	Currency   string `json:"currency"`
	Body       string `json:"body"`
	ReceiptURL string `json:"receipt_url"`
	payerJSON
	PaymentMethod    string `json:"payment_method"`
	ConciliationDate string `json:"conciliation_date"`
}

func (p *Payment) toNotification() notificationJSON {
	n := notificationJSON{
		PaymentID: p.ID, ReceiverID: p.ReceiverID, Subject: p.Subject,
		Amount: formatNotifyAmount(p.Amount), Discount: formatNotifyAmount(emulators.Decimal{}), Currency: p.Currency,
		Body: p.Body, ReceiptURL: p.receiptURL(), payerJSON: p.payerFields(), PaymentMethod: p.wirePaymentMethod(),
	}
	if !p.ConciliatedAt.IsZero() {
		n.ConciliationDate = formatTime(p.ConciliatedAt)
	}
	return n
}

// searchable returns the text the admin search looks into.
func (p *Payment) searchable() string {
	return strings.ToLower(p.ID + " " + p.TransactionID + " " + p.Subject + " " + p.Reference)
}
