package hambit

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/admin"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
	"github.com/paysandbox/sandbox/scenarios"
)

// Order kinds.
const (
	kindCollection = "collection"
	kindTransfer   = "transfer"
)

// Statuses (spec §7.1).
const (
	statusPending    = 1  // collection: awaiting payment; transfer: accepted
	statusPaid       = 2  // collection: payment success (final)
	statusProcessing = 2  // transfer: in bank processing
	statusRejected   = 4  // transfer: bank rejection (final)
	statusSuccess    = 8  // transfer: success (final)
	statusFailed     = 16 // both: failed (final)
)

// Pay types (spec §7.1).
const (
	payTypeBank         = 102
	payTypeGen          = 118
	payTypeTransferBank = 202
)

// Error messages: a JSON object serialised into a string (spec §8, §9).
const (
	msgInsufficient = `{"errorMsg":"merchant account balance is insufficient."}`
	msgPayFailed    = `{"errorMsg":"payment failed."}`
	msgRejected     = `{"errorMsg":"bank rejected the transfer."}`
	msgTransferFail = `{"errorMsg":"bank transfer failed."}`
)

// errorMsgJSON wraps a plain text override in the documented shape; a text
// that already is a JSON object is kept as it is.
func errorMsgJSON(text, def string) string {
	if text == "" {
		return def
	}
	var probe map[string]any
	if json.Unmarshal([]byte(text), &probe) == nil {
		return text
	}
	b, _ := json.Marshal(map[string]string{"errorMsg": text})
	return string(b)
}

// Transfer outcomes of the payout point.
const (
	outcomeSuccess       = "success"
	outcomeBankRejection = "bank_rejection"
	outcomeFailed        = "failed"
	outcomeStuck         = "stuck"
)

// Pay outcomes of the pay point.
const (
	payWait   = "wait"
	payPay    = "pay"
	payAmount = "pay_amount"
	payFail   = "fail"
	payExpire = "expire"
)

// order is a collection or a transfer, as stored.
type order struct {
	Kind       string
	OrderID    string
	CashierID  string // collections
	Seq        int64  // sequence of OrderID
	AccessKey  string
	MerchantID int64
	Merchant   string // merchant name
	Country    string
	Currency   string
	Scenario   string
	LinkBase   string

	ExternalOrderID string
	Amount          emulators.Decimal
	ActualAmount    emulators.Decimal // collections once paid; transfers amount + fee
	Fee             emulators.Decimal
	Status          int
	ErrorMsg        string
	ChannelOrderID  string

	Created   time.Time // sandbox clock, milliseconds kept
	Updated   time.Time
	PaidAt    time.Time // collection paid / transfer success
	DoneAt    time.Time // orderCompleteTime
	ExpiresAt time.Time // cashier expiry (collections)
	Closed    bool      // cashier closed (expired or let expire)

	PayType     int
	PayTypeName string
	ChannelType string
	Remark      string
	NotifyURL   string
	ReturnURL   string

	// collection request fields
	UserInfoType string
	CustomerType string
	UserInfoNo   string

	// transfer request fields
	AccountNo    string
	UserInfoName string
	AccountType  string
	BankName     string
	BankCode     string
	UserInfoKind string // transfer userInfoType (1–4)
	Reserved     bool   // amount + fee frozen
	Underfunded  bool

	// Scenario plans decided at creation.
	PayPlan    payPlan
	PayoutPlan payoutPlan

	History []admin.Change
}

// payPlan is the pay point's decision, stored with the collection.
type payPlan struct {
	Matched  bool
	Rule     string
	Auto     bool
	Outcome  string
	Delay    time.Duration
	Amount   string // pay_amount: decimal or "<n>%"
	ErrorMsg string
}

// payoutPlan is the payout point's decision, stored with the transfer.
type payoutPlan struct {
	Rule             string
	Outcome          string
	ProcessingAfter  time.Duration
	FinalAfter       time.Duration
	NotifyProcessing bool
	ErrorMsg         string
}

func cloneOrder(o order) order {
	o.History = append([]admin.Change(nil), o.History...)
	return o
}

// cashierOpen reports whether the payer may still pay on the page.
func (o *order) cashierOpen(now time.Time) bool {
	return o.Status == statusPending && !o.Closed && now.Before(o.ExpiresAt)
}

// queryStatusText is orderStatusCode of query results (spec §7.1).
func (o *order) queryStatusText() string {
	if o.Kind == kindCollection {
		switch o.Status {
		case statusPending:
			return "Accepted"
		case statusPaid:
			return "Payment success"
		case statusFailed:
			return "Failed"
		}
		return ""
	}
	return transferStatusText(o.Status)
}

// pushStatusText is orderStatus of callbacks and currencyOrderVo.
func (o *order) pushStatusText() string {
	if o.Kind == kindCollection && o.Status == statusPending {
		return "Awaiting Payment"
	}
	return o.queryStatusText()
}

func transferStatusText(st int) string {
	switch st {
	case statusPending:
		return "Accepted"
	case statusProcessing:
		return "In bank processing"
	case statusRejected:
		return "Bank rejection"
	case statusSuccess:
		return "Success"
	case statusFailed:
		return "Failed"
	}
	return ""
}

// statusLabel is "2 Payment success", used in transitions and the admin API.
func (o *order) statusLabel() string {
	return fmt.Sprintf("%d %s", o.Status, o.queryStatusText())
}

// accountTypeName renders a transfer's accountType in query results (spec §6.5).
func accountTypeName(code string) string {
	switch code {
	case "0":
		return "CURRENT"
	case "1":
		return "SAVINGS"
	case "2":
		return "VISTA"
	case "3":
		return "RUT"
	}
	return code
}

// money renders an amount as plain decimal text without trailing zeros.
func money(d emulators.Decimal) string { return d.Normalize().String() }

// seconds truncates a time to whole seconds, in epoch milliseconds (spec §7.3).
func seconds(t time.Time) int64 { return t.Unix() * 1000 }

// millis is a time in epoch milliseconds.
func millis(t time.Time) int64 { return t.UnixMilli() }

// optSeconds is a nullable time in whole seconds (null when zero).
func optSeconds(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	v := seconds(t)
	return &v
}

func strPtr(s string) *string { return &s }

// ---- API views ----

// currencyOrderVo is the order inside the create-collection answer (spec §6.2).
type currencyOrderVo struct {
	OrderID         string `json:"orderId"`
	ExternalOrderID string `json:"externalOrderId"`
	Currency        string `json:"currency"`
	Amount          string `json:"amount"`
	TradeNote       string `json:"tradeNote"`
	ChannelID       int64  `json:"channelId"`
	MerchantName    string `json:"merchantName"`
	OrderStatus     string `json:"orderStatus"`
	OrderStatusCode int    `json:"orderStatusCode"`
	OrderTime       int64  `json:"orderTime"`
	PayParam        string `json:"payParam"`
	PayType         int    `json:"payType"`
	PayTypeName     string `json:"payTypeName"`
	PayURL          string `json:"payUrl"`
}

// createCollectionData is the data of the create-collection answer.
type createCollectionData struct {
	CashierURL            string          `json:"cashierUrl"`
	Currency              string          `json:"currency"`
	CurrencyOrderVo       currencyOrderVo `json:"currencyOrderVo"`
	CashierCurrencyAmount json.Number     `json:"cashierCurrencyAmount"`
	CashierExpireTime     int64           `json:"cashierExpireTime"`
	CashierID             string          `json:"cashierId"`
	IsCreateOrder         bool            `json:"isCreateOrder"`
	MerchantID            int64           `json:"merchantId"`
	PayType               int             `json:"payType"`
	ReturnURL             string          `json:"returnUrl"`
	UserInfoName          string          `json:"userInfoName"`
	UserInfoNo            string          `json:"userInfoNo"`
	UserInfoType          string          `json:"userInfoType"`
	Version               string          `json:"version"`
}

// channelID is the Decision of spec §6.2: 10^18 + payType.
func channelID(payType int) int64 { return 1_000_000_000_000_000_000 + int64(payType) }

// cashierPath is the path of a collection's cashier page.
func cashierPath(cashierID string) string { return "/hambit/cashier/" + cashierID }

// payParam is the order's payParam / payUrl (spec §6.2).
func (o *order) payParam() string {
	return o.LinkBase + cashierPath(o.CashierID) + "?currency=" + o.Currency + "&pay_id=" + o.ChannelOrderID
}

func (o *order) currencyOrderVo() currencyOrderVo {
	pp := o.payParam()
	return currencyOrderVo{
		OrderID: o.OrderID, ExternalOrderID: o.ExternalOrderID, Currency: o.Currency, Amount: money(o.Amount),
		TradeNote: o.Remark, ChannelID: channelID(o.PayType), MerchantName: o.Merchant,
		OrderStatus: o.pushStatusText(), OrderStatusCode: o.Status, OrderTime: millis(o.Created),
		PayParam: pp, PayType: o.PayType, PayTypeName: o.PayTypeName, PayURL: pp,
	}
}

// createCollectionData builds the answer's data with the cashier URL.
func (o *order) createCollectionData(merchantID int64) createCollectionData {
	d := createCollectionData{
		Currency: o.Currency, CurrencyOrderVo: o.currencyOrderVo(),
		CashierCurrencyAmount: json.Number(o.Amount.Fixed(3)),
		CashierExpireTime:     millis(o.ExpiresAt), CashierID: o.CashierID, IsCreateOrder: true,
		MerchantID: merchantID, PayType: o.PayType, ReturnURL: o.ReturnURL,
		UserInfoNo: o.UserInfoNo, UserInfoType: o.UserInfoType,
	}
	base := o.LinkBase + cashierPath(o.CashierID)
	d.CashierURL = base + "?data=" + cashierData(d, base) + "&pm=" + pmParam
	return d
}

// queryHead and queryTail are the fields a collection query element
// (spec §6.4) and a transfer query element (§6.5) begin and end with, in
// their wire order (embedded, they stay in place in the JSON).
type queryHead struct {
	OrderID           string `json:"orderId"`
	CashierID         string `json:"cashierId"`
	OrderType         int    `json:"orderType"`
	OrderResourceType int    `json:"orderResourceType"`
	UserID            string `json:"userId"`
	OrderStatus       int    `json:"orderStatus"`
	OrderTime         int64  `json:"orderTime"`
	ChannelOrderID    string `json:"channelOrderId"`
	ExternalOrderID   string `json:"externalOrderId"`
	OrderAmount       string `json:"orderAmount"`
}

type queryTail struct {
	CurrencyType          string  `json:"currencyType"`
	PayType               int     `json:"payType"`
	TradeNote             string  `json:"tradeNote"`
	NotifyURL             string  `json:"notifyUrl"`
	MarkStatus            int     `json:"markStatus"`
	ErrorMsg              *string `json:"errorMsg"`
	ErrorMsgEn            *string `json:"errorMsgEn"`
	AccountType           string  `json:"accountType"`
	AccountName           string  `json:"accountName"`
	AccountNo             string  `json:"accountNo"`
	OrderTypeCode         string  `json:"orderTypeCode"`
	OrderResourceTypeCode string  `json:"orderResourceTypeCode"`
	OrderStatusCode       string  `json:"orderStatusCode"`
	PayTypeCode           string  `json:"payTypeCode"`
}

// collectionQuery is one element of a collection query (spec §6.4).
type collectionQuery struct {
	queryHead
	OrderActualAmount *string `json:"orderActualAmount"`
	OrderEntryAmount  *string `json:"orderEntryAmount"`
	OrderFee          *string `json:"orderFee"`
	OrderPayTime      *int64  `json:"orderPayTime"`
	OrderCompleteTime *int64  `json:"orderCompleteTime"`
	queryTail
}

func (o *order) collectionQuery() collectionQuery {
	q := collectionQuery{
		queryHead: queryHead{OrderID: o.OrderID, CashierID: o.CashierID, OrderType: 1, OrderResourceType: 2,
			UserID: itoa(o.MerchantID), OrderStatus: o.Status, OrderTime: seconds(o.Created),
			ChannelOrderID: o.ChannelOrderID, ExternalOrderID: o.ExternalOrderID, OrderAmount: money(o.Amount)},
		queryTail: queryTail{CurrencyType: o.Currency, PayType: o.PayType, TradeNote: o.Remark, NotifyURL: o.NotifyURL,
			OrderTypeCode: "Pay", OrderResourceTypeCode: "Currency", OrderStatusCode: o.queryStatusText(),
			PayTypeCode: o.PayTypeName},
	}
	switch o.Status {
	case statusPaid:
		q.OrderActualAmount = strPtr(money(o.ActualAmount))
		q.OrderEntryAmount = strPtr(money(o.ActualAmount.Sub(o.Fee)))
		q.OrderFee = strPtr(money(o.Fee))
		q.OrderPayTime = optSeconds(o.PaidAt)
		q.OrderCompleteTime = optSeconds(o.DoneAt)
	case statusFailed:
		q.OrderCompleteTime = optSeconds(o.DoneAt)
		q.ErrorMsg, q.ErrorMsgEn = strPtr(o.ErrorMsg), strPtr(o.ErrorMsg)
	}
	return q
}

// transferQuery is one element of a transfer query (spec §6.5).
type transferQuery struct {
	queryHead
	OrderActualAmount string `json:"orderActualAmount"`
	OrderFee          string `json:"orderFee"`
	OrderPayTime      *int64 `json:"orderPayTime"`
	queryTail
}

func (o *order) transferQuery() transferQuery {
	q := transferQuery{
		queryHead: queryHead{OrderID: o.OrderID, OrderType: 2, OrderResourceType: 2, UserID: itoa(o.MerchantID),
			OrderStatus: o.Status, OrderTime: seconds(o.Created), ChannelOrderID: o.ChannelOrderID,
			ExternalOrderID: o.ExternalOrderID, OrderAmount: money(o.Amount)},
		OrderActualAmount: money(o.ActualAmount), OrderFee: money(o.Fee),
		queryTail: queryTail{CurrencyType: o.Currency, PayType: o.PayType, TradeNote: o.Remark,
			NotifyURL: o.NotifyURL, AccountType: accountTypeName(o.AccountType), AccountName: o.BankName,
			AccountNo: o.AccountNo, OrderTypeCode: "Transfer", OrderResourceTypeCode: "Currency",
			OrderStatusCode: o.queryStatusText(), PayTypeCode: o.PayTypeName},
	}
	if o.Status == statusSuccess {
		q.OrderPayTime = optSeconds(o.PaidAt)
	}
	if o.Status == statusRejected || o.Status == statusFailed {
		q.ErrorMsg, q.ErrorMsgEn = strPtr(o.ErrorMsg), strPtr(o.ErrorMsg)
	}
	return q
}

// apiView is the order as the query API shows it.
func (o *order) apiView() any {
	if o.Kind == kindCollection {
		return o.collectionQuery()
	}
	return o.transferQuery()
}

// paymentCallback is the collection callback body, keys in CL §6.2's order.
type paymentCallback struct {
	CurrencyType      string          `json:"currencyType"`
	ErrorMsg          string          `json:"errorMsg"`
	ErrorMsgEn        string          `json:"errorMsgEn"`
	ExternalOrderID   string          `json:"externalOrderId"`
	MarkStatus        int             `json:"markStatus"`
	OrderActualAmount json.RawMessage `json:"orderActualAmount"`
	OrderAmount       json.RawMessage `json:"orderAmount"`
	OrderFee          json.RawMessage `json:"orderFee"`
	OrderID           string          `json:"orderId"`
	OrderPayTime      *int64          `json:"orderPayTime"`
	OrderStatus       string          `json:"orderStatus"`
	OrderStatusCode   int             `json:"orderStatusCode"`
	OrderTime         int64           `json:"orderTime"`
	PayParam          string          `json:"payParam"`
	PayType           int             `json:"payType"`
	PayTypeName       string          `json:"payTypeName"`
	TradeNote         string          `json:"tradeNote"`
}

// paymentCallbackBody serialises the payment callback of the order's current
// state; numeric writes the amounts as JSON numbers with 6 decimals.
func (o *order) paymentCallbackBody(numeric bool) []byte {
	amt := func(d emulators.Decimal) json.RawMessage {
		if numeric {
			return json.RawMessage(d.Fixed(6))
		}
		return json.RawMessage(`"` + money(d) + `"`)
	}
	actual, fee := emulators.Decimal{}, emulators.Decimal{}
	var payTime *int64
	if o.Status == statusPaid {
		actual, fee = o.ActualAmount, o.Fee
		payTime = optSeconds(o.PaidAt)
	}
	errMsg := ""
	if o.Status == statusFailed {
		errMsg = o.ErrorMsg
	}
	cb := paymentCallback{
		CurrencyType: o.Currency, ErrorMsg: errMsg, ErrorMsgEn: errMsg, ExternalOrderID: o.ExternalOrderID,
		OrderActualAmount: amt(actual), OrderAmount: amt(o.Amount), OrderFee: amt(fee), OrderID: o.OrderID,
		OrderPayTime: payTime, OrderStatus: o.pushStatusText(), OrderStatusCode: o.Status,
		OrderTime: seconds(o.Created), PayParam: o.payParam(), PayType: o.PayType, PayTypeName: o.PayTypeName,
		TradeNote: o.Remark,
	}
	b, _ := wire.MarshalJSON(cb)
	return b
}

// transferCallback is the transfer callback body, keys in CL §6.3's order.
type transferCallback struct {
	CurrencyType    string `json:"currencyType"`
	AccountCode     string `json:"accountCode"`
	AccountName     string `json:"accountName"`
	OrderID         string `json:"orderId"`
	AccountType     string `json:"accountType"`
	OrderFee        string `json:"orderFee"`
	OrderStatus     string `json:"orderStatus"`
	ExternalOrderID string `json:"externalOrderId"`
	PayTypeName     string `json:"payTypeName"`
	OrderAmount     string `json:"orderAmount"`
	OrderTime       int64  `json:"orderTime"`
	PayType         int    `json:"payType"`
	UserInfoName    string `json:"userInfoName"`
	AccountNo       string `json:"accountNo"`
	OrderStatusCode int    `json:"orderStatusCode"`
	MarkStatus      int    `json:"markStatus"`
	ErrorMsg        string `json:"errorMsg,omitempty"`
	ErrorMsgEn      string `json:"errorMsgEn,omitempty"`
}

func (o *order) transferCallbackBody() []byte {
	cb := transferCallback{
		CurrencyType: o.Currency, AccountCode: o.BankCode, AccountName: o.BankName, OrderID: o.OrderID,
		AccountType: o.AccountType, OrderFee: money(o.Fee), OrderStatus: o.pushStatusText(),
		ExternalOrderID: o.ExternalOrderID, PayTypeName: o.PayTypeName, OrderAmount: money(o.Amount),
		OrderTime: seconds(o.Created), PayType: o.PayType, UserInfoName: o.UserInfoName, AccountNo: o.AccountNo,
		OrderStatusCode: o.Status,
	}
	if o.Status == statusRejected || o.Status == statusFailed {
		cb.ErrorMsg, cb.ErrorMsgEn = o.ErrorMsg, o.ErrorMsg
	}
	b, _ := wire.MarshalJSON(cb)
	return b
}

// callbackAttrs are the scenario attributes of an order's callback event.
func (o *order) callbackAttrs(event string) scenarios.Attrs {
	return scenarios.Attrs{
		"event": event, "orderStatusCode": itoa(int64(o.Status)), "orderId": o.OrderID,
		"externalOrderId": o.ExternalOrderID, "access_key": o.AccessKey, "currency": o.Currency,
		"country": o.Country,
	}
}
