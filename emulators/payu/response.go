package payu

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
)

// lapPaymentMethodType names the §6.2 type codes.
var lapTypeNames = map[string]string{"2": "CREDIT_CARD", "6": "DEBIT_CARD", "14": "BANK_TRANSFER"}

// responseParams are the response page's GET parameters (§11.1), read
// from the transaction's state now.
func (s *Service) responseParams(o Order, t Transaction) []pair {
	m, _ := s.merchantByID(o.MerchantID)
	mi, _ := method(t.PaymentMethod)
	txValue := money2(t.Value)
	state := transactionState(t.State)
	processing := t.OperationDate
	if processing.IsZero() {
		processing = t.CreatedAt
	}
	ps := []pair{
		{"merchantId", strconv.FormatInt(m.MerchantID, 10)},
		{"merchant_name", m.Name},
		{"merchant_address", m.Address},
		{"telephone", m.Phone},
		{"merchant_url", m.URL},
		{"transactionState", state},
		{"lapTransactionState", t.State},
		{"message", t.State},
		{"referenceCode", o.ReferenceCode},
		{"reference_pol", strconv.FormatInt(o.ID, 10)},
		{"transactionId", t.ID},
		{"description", o.Description},
		{"trazabilityCode", t.Trazability},
		{"cus", ""},
		{"orderLanguage", o.Language},
		{"extra1", t.extra("EXTRA1")},
		{"extra2", t.extra("EXTRA2")},
		{"extra3", t.extra("EXTRA3")},
		{"polTransactionState", statePol(t.State)},
		{"signature", ResponseSignature(m.APIKey, m.MerchantID, o.ReferenceCode, txValue, t.Currency, state)},
		{"polResponseCode", polResponseCode(t.ResponseCode, t.State)},
		{"lapResponseCode", t.ResponseCode},
		{"risk", ""},
		{"polPaymentMethod", mi.ID},
		{"lapPaymentMethod", t.PaymentMethod},
		{"polPaymentMethodType", mi.TypeID},
		{"lapPaymentMethodType", lapTypeNames[mi.TypeID]},
		{"installmentsNumber", strconv.Itoa(max(t.Installments, 1))},
		{"TX_VALUE", txValue},
		{"TX_TAX", ".00"},
		{"currency", t.Currency},
		{"lng", o.Language},
		{"pseCycle", ""},
		{"buyerEmail", buyerEmail(o, t)},
		{"pseBank", ""},
		{"pseReference1", ""},
		{"pseReference2", ""},
		{"pseReference3", ""},
		{"authorizationCode", t.AuthCode},
		{"TX_ADMINISTRATIVE_FEE", ".00"},
		{"TX_TAX_ADMINISTRATIVE_FEE", ".00"},
		{"TX_TAX_ADMINISTRATIVE_FEE_RETURN_BASE", ".00"},
		{"processingDate", processing.In(bogota).Format("2006-01-02")},
	}
	if t.PaymentMethod == "TRANSBANK_DEBIT" && t.Card != nil {
		ps = append(ps, pair{"cc_number", t.Card.starred(t.CardLength)})
	}
	return ps
}

// responseURL is RESPONSE_URL with the parameters, or "" when there is none.
func (s *Service) responseURL(o Order, t Transaction) string {
	if t.ResponseURL == "" {
		return ""
	}
	sep := "?"
	if strings.Contains(t.ResponseURL, "?") {
		sep = "&"
	}
	return t.ResponseURL + sep + string(encodeForm(s.responseParams(o, t)))
}

// handleResponse serves GET /payu/response/{transactionId}: the hop from the
// WebPay and Khipu pages to the merchant's response page (§11).
func (s *Service) handleResponse(c echo.Context) error {
	id := c.Param("id")
	t, ok := s.txs.Get(id)
	if !ok {
		return s.page(c, http.StatusNotFound, "notfound.html", map[string]any{"Message": "Sandbox: unknown transaction [" + id + "]"})
	}
	o, _ := s.orders.Get(t.OrderID)
	wire.Annotate(c).AddObject(id)
	wire.Annotate(c).Operation = "response page"
	if target := s.responseURL(o, t); target != "" {
		s.deps.Record(journal.KindPage, provider, "response page redirect for transaction "+id+" ("+t.State+")",
			map[string]string{"location": target}, id)
		return c.Redirect(http.StatusFound, target)
	}
	s.deps.Record(journal.KindPage, provider, "response page for transaction "+id+" rendered by the sandbox (no RESPONSE_URL)", nil, id)
	return s.page(c, http.StatusOK, "response.html", map[string]any{"Params": s.responseParams(o, t), "State": t.State, "Order": o})
}
