package payu

import (
	"slices"
	"strings"
	"time"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/admin"
)

// Transaction states (§9.1).
const (
	StateApproved  = "APPROVED"
	StateDeclined  = "DECLINED"
	StateError     = "ERROR"
	StateExpired   = "EXPIRED"
	StatePending   = "PENDING"
	StateSubmitted = "SUBMITTED"
)

// Order statuses (§9.1).
const (
	OrderNew        = "NEW"
	OrderInProgress = "IN_PROGRESS"
	OrderAuthorized = "AUTHORIZED"
	OrderCaptured   = "CAPTURED"
	OrderCancelled  = "CANCELLED"
	OrderDeclined   = "DECLINED"
	OrderRefunded   = "REFUNDED"
)

// Transaction types (§6.5).
const (
	TypeAuthorization           = "AUTHORIZATION"
	TypeAuthorizationAndCapture = "AUTHORIZATION_AND_CAPTURE"
	TypeCapture                 = "CAPTURE"
	TypeVoid                    = "VOID"
	TypeRefund                  = "REFUND"
	TypePartialRefund           = "PARTIAL_REFUND"
)

func isPaymentType(t string) bool { return t == TypeAuthorization || t == TypeAuthorizationAndCapture }
func isRefundType(t string) bool  { return t == TypeRefund || t == TypePartialRefund }

func isFinal(state string) bool {
	return state == StateApproved || state == StateDeclined || state == StateExpired || state == StateError
}

// Address is a postal address of the request.
type Address struct {
	Street1, Street2, City, State, Country, PostalCode, Phone string
}

// Buyer is order.buyer.
type Buyer struct {
	MerchantBuyerID, FullName, Email, Phone, DNI, CNPJ string
	Shipping                                           *Address
}

// Payer is transaction.payer.
type Payer struct {
	MerchantPayerID, FullName, Email, Phone, DNI, DNIType, Birthdate string
	Billing                                                          *Address
}

// Card is what the sandbox keeps of a card: never the full number.
type Card struct {
	First6, Last4 string
	Name          string
	Brand         string // VISA, MASTERCARD, AMEX, DINERS
	Debit         bool
}

// masked is the Queries mask: first 6, stars, last 4 (409744******0004).
func (c *Card) masked(length int) string {
	if c == nil {
		return ""
	}
	stars := max(length-len(c.First6)-len(c.Last4), 0)
	b := []byte(c.First6)
	for range stars {
		b = append(b, '*')
	}
	return string(append(b, c.Last4...))
}

// starred is the cc_number form: stars, then the last 4 (************0004).
func (c *Card) starred(length int) string {
	return strings.Repeat("*", max(length-len(c.Last4), 0)) + c.Last4
}

// Order is a PayU order.
type Order struct {
	ID            int64
	MerchantID    int64
	AccountID     int64
	Status        string
	ReferenceCode string
	Description   string
	Language      string
	NotifyURL     string
	PartnerID     string
	Signature     string
	Shipping      *Address
	Buyer         *Buyer
	Value         emulators.Decimal
	Currency      string
	Tax           emulators.Decimal
	TaxReturnBase emulators.Decimal
	Test          bool
	// TxIDs are the order's transactions, oldest first.
	TxIDs         []string
	ProcessedTxID string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	LinkBase      string
	Scenario      string
	History       []admin.Change
}

// buyerEmail is the order's buyer e-mail, else the payer's: buyerEmail of
// the scenarios (§14), PayerEmail of the Khipu payment (§7.7), email_buyer
// (§10) and buyerEmail of the response page (§11).
func buyerEmail(o Order, t Transaction) string {
	if o.Buyer != nil && o.Buyer.Email != "" {
		return o.Buyer.Email
	}
	if t.Payer != nil {
		return t.Payer.Email
	}
	return ""
}

func cloneOrder(o Order) Order {
	o.TxIDs = slices.Clone(o.TxIDs)
	o.History = slices.Clone(o.History)
	o.Shipping = clonePtr(o.Shipping)
	if o.Buyer = clonePtr(o.Buyer); o.Buyer != nil {
		o.Buyer.Shipping = clonePtr(o.Buyer.Shipping)
	}
	return o
}

// clonePtr returns a pointer to a copy of *p, or nil.
func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

// kv is one extraParameters pair; a non-zero T makes it a date.
type kv struct {
	K, V string
	T    time.Time
}

// Transaction is a PayU transaction: a payment, capture, void or refund.
type Transaction struct {
	ID              string
	OrderID         int64
	MerchantID      int64
	AccountID       int64
	Type            string
	ParentID        string
	PaymentMethod   string
	PaymentCountry  string
	Source          string
	State           string
	PendingReason   string
	ResponseCode    string
	NetCode         string
	NetMsg          string
	Trazability     string
	AuthCode        string
	ResponseMessage string
	OperationDate   time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
	Value           emulators.Decimal
	Currency        string
	Card            *Card
	CardLength      int
	Payer           *Payer
	DeviceSessionID string
	IPAddress       string
	Cookie          string
	UserAgent       string
	// Extra are the request's extraParameters as sent; RespExtra the
	// response's (EXPIRATION_DATE, URL_PAYMENT_REDIRECT, BANK_URL, ...).
	Extra        []kv
	RespExtra    []kv
	Installments int
	ResponseURL  string
	ExpiresAt    time.Time
	Token        string
	KhipuPayment string
	BankID       string
	Prepaid      bool
	ApprovedAt   time.Time
	Test         bool
	Language     string
	Scenario     string

	// Bookkeeping of a payment parent.
	Captured       bool
	Voided         bool
	CapturedValue  emulators.Decimal
	RefundPending  emulators.Decimal
	RefundApproved emulators.Decimal

	// The redirect_payment plan, decided at creation (§14).
	Redirect redirectPlan

	// The decision planned for a pending payment or refund (persist.go).
	Review *reviewPlan `json:",omitempty"`

	// Confirmation bookkeeping (§10).
	ConfirmSent     bool
	ConfirmAttempts int
	ConfirmDelivery string

	History []admin.Change
}

// redirectPlan is what a redirect_payment rule decided for a WebPay or
// Khipu transaction when it was created.
type redirectPlan struct {
	Matched       bool
	Rule          string
	Outcome       string
	ResponseCode  string
	Auto          bool
	ResponseDelay time.Duration
	Delay         time.Duration // of the robot payer, from the SUBMIT
}

func cloneTx(t Transaction) Transaction {
	t.Extra = slices.Clone(t.Extra)
	t.RespExtra = slices.Clone(t.RespExtra)
	t.History = slices.Clone(t.History)
	t.Card = clonePtr(t.Card)
	if t.Payer = clonePtr(t.Payer); t.Payer != nil {
		t.Payer.Billing = clonePtr(t.Payer.Billing)
	}
	return t
}

func (t *Transaction) extra(k string) string {
	for _, e := range t.Extra {
		if e.K == k {
			return e.V
		}
	}
	return ""
}

// respExtra sets a response extraParameter (in order of first setting).
func (t *Transaction) setRespExtra(k, v string, at time.Time) {
	for i := range t.RespExtra {
		if t.RespExtra[i].K == k {
			t.RespExtra[i].V, t.RespExtra[i].T = v, at
			return
		}
	}
	t.RespExtra = append(t.RespExtra, kv{K: k, V: v, T: at})
}

// methodInfo describes a Chile payment method (§6.2).
type methodInfo struct {
	Name   string
	ID     string
	Type   string // CREDIT_CARD, DEBIT_CARD, BANK_TRANSFER
	TypeID string // 2, 6, 14
	Card   bool
	Debit  bool
	Brand  string
}

var methods = []methodInfo{
	{Name: "AMEX", ID: "711", Type: "CREDIT_CARD", TypeID: "2", Card: true, Brand: "AMEX"},
	{Name: "DINERS", ID: "712", Type: "CREDIT_CARD", TypeID: "2", Card: true, Brand: "DINERS"},
	{Name: "MASTERCARD", ID: "713", Type: "CREDIT_CARD", TypeID: "2", Card: true, Brand: "MASTERCARD"},
	{Name: "MASTERCARD_DEBIT", ID: "714", Type: "DEBIT_CARD", TypeID: "6", Card: true, Debit: true, Brand: "MASTERCARD"},
	{Name: "TRANSBANK_DEBIT", ID: "715", Type: "DEBIT_CARD", TypeID: "6"},
	{Name: "VISA", ID: "716", Type: "CREDIT_CARD", TypeID: "2", Card: true, Brand: "VISA"},
	{Name: "VISA_DEBIT", ID: "717", Type: "DEBIT_CARD", TypeID: "6", Card: true, Debit: true, Brand: "VISA"},
	{Name: "KHIPU", ID: "718", Type: "BANK_TRANSFER", TypeID: "14"},
}

func method(name string) (methodInfo, bool) {
	for _, m := range methods {
		if m.Name == name {
			return m, true
		}
	}
	return methodInfo{}, false
}

// khipuBank is a test bank of GET_BANKS_LIST (§6.4).
type khipuBank struct {
	ID, Name string
	Min      emulators.Decimal
}

var khipuBanks = []khipuBank{
	{ID: "Bawdf", Name: "DemoBank", Min: emulators.MustDecimal("200.0000")},
	{ID: "Qwert", Name: "DemoBank2", Min: emulators.MustDecimal("100.0000")},
}

func bank(id string) (khipuBank, bool) {
	for _, b := range khipuBanks {
		if b.ID == id {
			return b, true
		}
	}
	return khipuBank{}, false
}

// statePol maps a transaction state to state_pol (§9.2).
func statePol(state string) string {
	switch state {
	case StateApproved:
		return "4"
	case StateDeclined, StateError:
		return "6"
	case StateExpired:
		return "5"
	}
	return "7"
}

// transactionState is the response page's transactionState (§9.2).
func transactionState(state string) string {
	if state == StateError {
		return "104"
	}
	return statePol(state)
}

var responseCodePol = map[string]string{
	"APPROVED": "1", "PAYMENT_NETWORK_REJECTED": "4", "ENTITY_DECLINED": "5", "INSUFFICIENT_FUNDS": "6",
	"INVALID_CARD": "7", "CONTACT_THE_ENTITY": "8", "EXPIRED_CARD": "9", "RESTRICTED_CARD": "10",
	"INVALID_EXPIRATION_DATE_OR_SECURITY_CODE": "12", "REPEAT_TRANSACTION": "13", "INVALID_TRANSACTION": "14",
	"EXCEEDED_AMOUNT": "17", "ABANDONED_TRANSACTION": "19", "EXPIRED_TRANSACTION": "20",
	"CREDIT_CARD_NOT_AUTHORIZED_FOR_INTERNET_TRANSACTIONS": "22", "ANTIFRAUD_REJECTED": "23",
	"BANK_FRAUD_REJECTED": "23", "DIGITAL_CERTIFICATE_NOT_FOUND": "9995", "BANK_UNREACHABLE": "9996",
	"PAYMENT_NETWORK_NO_CONNECTION": "9996", "PAYMENT_NETWORK_NO_RESPONSE": "9996",
	"ENTITY_MESSAGING_ERROR": "9997", "NOT_ACCEPTED_TRANSACTION": "9998",
	"INTERNAL_PAYMENT_PROVIDER_ERROR": "9999", "INACTIVE_PAYMENT_PROVIDER": "9999", "ERROR": "9999",
	"PAYMENT_NETWORK_BAD_RESPONSE": "9999", "ERROR_CONVERTING_TRANSACTION_AMOUNTS": "9999",
	"PENDING_TRANSACTION_REVIEW": "15", "PENDING_TRANSACTION_CONFIRMATION": "25", "PENDING_PAYMENT_IN_ENTITY": "25",
}

// polResponseCode maps a responseCode to response_code_pol (§9.2); codes
// outside the table give 25 while pending and 9999 otherwise.
func polResponseCode(code, state string) string {
	if c, ok := responseCodePol[code]; ok {
		return c
	}
	if state == StatePending {
		return "25"
	}
	return "9999"
}
