package hambit

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/paysandbox/sandbox/emulators/internal/wire"
)

// maxSequence is where the order-id sequence wraps to 1 (spec §7.2).
const maxSequence = 99999999

// sequence is the one monotonic counter of order ids per sandbox instance.
type sequence struct {
	mu   sync.Mutex
	next int64
}

// take returns n consecutive sequence numbers (a collection takes two).
func (q *sequence) take(n int) []int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]int64, n)
	for i := range out {
		out[i] = q.next
		q.next++
		if q.next > maxSequence {
			q.next = 1
		}
	}
	return out
}

// nodeTag pads or truncates the configured tag to 8 characters (spec §7.2).
func nodeTag(tag string) string {
	tag = strings.ToUpper(tag)
	if len(tag) > 8 {
		return tag[:8]
	}
	return tag + strings.Repeat("O", 8-len(tag))
}

// Id kinds (spec §7.2).
const (
	idKindCashier = 2 // also transfers
	idKindOrder   = 4
)

// orderID builds a 60-character id: O CURR {PAID|DRAW} yyyyMMddHHmmss
// epochms node kind sequence.
func orderID(op string, t time.Time, node string, kind int, seq int64) string {
	t = t.UTC()
	return fmt.Sprintf("OCURR%s%s%013d%s%08d%08d", op, t.Format("20060102150405"), t.UnixMilli(), node, kind, seq)
}

// channelOrderID is "0" + yyyyMMddHHmmss + the 8-digit sequence (spec §7.2).
func channelOrderID(t time.Time, seq int64) string {
	return fmt.Sprintf("0%s%08d", t.UTC().Format("20060102150405"), seq)
}

// pmList is the cashier's payment-method list, verbatim from CL §5.2.
const pmList = `[{"currencyType":"SOL","payTypes":[{"code":102,"value":"BANK"},{"code":118,"value":"gen"}]},{"currencyType":"MXN","payTypes":[{"code":102,"value":"BANK"},{"code":110,"value":"OXXO"},{"code":111,"value":"Cash"}]},{"currencyType":"NGN","payTypes":[{"code":102,"value":"BANK"},{"code":107,"value":"Charge"}]},{"currencyType":"COP","payTypes":[{"code":102,"value":"BANK"},{"code":118,"value":"gen"}]},{"currencyType":"IDR","payTypes":[{"code":102,"value":"BANK"},{"code":104,"value":"Virtual Accounts"},{"code":105,"value":"QRIS"},{"code":106,"value":"EWallet"}]},{"currencyType":"CLP","payTypes":[{"code":102,"value":"BANK"},{"code":118,"value":"gen"}]},{"currencyType":"KES","payTypes":[{"code":107,"value":"Charge"}]},{"currencyType":"INR","payTypes":[{"code":102,"value":"BANK"}]},{"currencyType":"BRL","payTypes":[{"code":101,"value":"PIX"},{"code":103,"value":"PIX_DYNAMIC"},{"code":109,"value":"Boleto"}]},{"currencyType":"VND","payTypes":[{"code":113,"value":"BankScanCode"},{"code":114,"value":"BankCardToCardTransfer"},{"code":115,"value":"MOMO"},{"code":116,"value":"ZaloPay"},{"code":117,"value":"ViettelMoney"},{"code":102,"value":"BANK"}]}]`

// pmParam is the pm query parameter of every cashier URL.
var pmParam = base64.StdEncoding.EncodeToString([]byte(pmList))

// payMethod is one entry of the pm list.
type payMethod struct {
	CurrencyType string `json:"currencyType"`
	PayTypes     []struct {
		Code  int    `json:"code"`
		Value string `json:"value"`
	} `json:"payTypes"`
}

var payMethods = func() []payMethod {
	var out []payMethod
	if err := json.Unmarshal([]byte(pmList), &out); err != nil {
		panic(err)
	}
	return out
}()

// payTypeFor maps a collection's channelType to its pay type: BANK 102 and
// GEN 118 (spec §6.2); other segments look the value up in the pm list of
// their currency; anything else is BANK.
func payTypeFor(currency, channelType string) (int, string) {
	switch channelType {
	case "BANK":
		return payTypeBank, "BANK"
	case "GEN":
		return payTypeGen, "gen"
	}
	for _, m := range payMethods {
		if m.CurrencyType != currency {
			continue
		}
		for _, pt := range m.PayTypes {
			if strings.EqualFold(pt.Value, channelType) {
				return pt.Code, pt.Value
			}
		}
	}
	return payTypeBank, "BANK"
}

// cashierData is the data query parameter: Base64 of the raw JSON of the
// answer's data with keys sorted at every level, cashierUrl without query
// string and the 3-decimal amount (spec §6.2).
func cashierData(d createCollectionData, cashierURL string) string {
	vo := d.CurrencyOrderVo
	m := map[string]any{
		"cashierCurrencyAmount": d.CashierCurrencyAmount,
		"cashierExpireTime":     d.CashierExpireTime,
		"cashierId":             d.CashierID,
		"cashierUrl":            cashierURL,
		"currency":              d.Currency,
		"currencyOrderVo": map[string]any{
			"amount": d.CashierCurrencyAmount, "channelId": vo.ChannelID, "currency": vo.Currency,
			"externalOrderId": vo.ExternalOrderID, "merchantName": vo.MerchantName, "orderId": vo.OrderID,
			"orderStatus": vo.OrderStatus, "orderStatusCode": vo.OrderStatusCode, "orderTime": vo.OrderTime,
			"payParam": vo.PayParam, "payType": vo.PayType, "payTypeName": vo.PayTypeName, "payUrl": vo.PayURL,
			"tradeNote": vo.TradeNote,
		},
		"isCreateOrder": d.IsCreateOrder,
		"merchantId":    d.MerchantID,
		"payType":       d.PayType,
		"returnUrl":     d.ReturnURL,
		"userInfoName":  d.UserInfoName,
		"userInfoNo":    d.UserInfoNo,
		"userInfoType":  d.UserInfoType,
		"version":       d.Version,
	}
	b, _ := wire.MarshalJSON(m)
	return base64.StdEncoding.EncodeToString(b)
}
