package payu

import (
	"strconv"

	"github.com/paysandbox/sandbox/emulators"
)

// respExtraVal renders a transaction's response extraParameters (null when none).
func respExtraVal(t Transaction) val {
	if len(t.RespExtra) == 0 {
		return null
	}
	f := make([]field, 0, len(t.RespExtra))
	for _, e := range t.RespExtra {
		if !e.T.IsZero() {
			f = append(f, fl(e.K, vdate(e.T)))
		} else {
			f = append(f, fl(e.K, vstr(e.V)))
		}
	}
	return vmap(f...)
}

// txResponse is the transactionResponse of a SUBMIT_TRANSACTION answer (§7.3).
func txResponse(t Transaction) val {
	f := make([]field, 0, 17)
	f = append(f, fl("orderId", vint(t.OrderID)), fl("transactionId", vstrn(t.ID)))
	f = append(f, txResponseCommon(t)...)
	f = append(f, fl("referenceQuestionnaire", null), fl("extraParameters", respExtraVal(t)), fl("additionalInfo", null))
	return vobj(f...)
}

// refundFirstAnswer is the exact first answer to a REFUND (§8, DOC-REF): a
// transactionResponse with no transactionId, PENDING / PENDING_REVIEW and
// the orderId as responseMessage; every other field is null.
func refundFirstAnswer(orderID int64) val {
	return txResponse(Transaction{OrderID: orderID, State: StatePending, PendingReason: "PENDING_REVIEW",
		ResponseMessage: strconv.FormatInt(orderID, 10)})
}

// queryTxResponse is a transactionResponse inside Queries (no ids; §12).
func queryTxResponse(t Transaction) val {
	return vobj(append(txResponseCommon(t), fl("extraParameters", respExtraVal(t)))...)
}

// txResponseCommon are the fields, state to operationDate, that the
// transactionResponse of the Payments API and of Queries share.
func txResponseCommon(t Transaction) []field {
	return []field{
		fl("state", vstr(t.State)),
		fl("paymentNetworkResponseCode", vstrn(t.NetCode)),
		fl("paymentNetworkResponseErrorMessage", vstrn(t.NetMsg)),
		fl("trazabilityCode", vstrn(t.Trazability)),
		fl("authorizationCode", vstrn(t.AuthCode)),
		fl("pendingReason", vstrn(t.PendingReason)),
		fl("responseCode", vstrn(t.ResponseCode)),
		fl("errorCode", null),
		fl("responseMessage", vstrn(t.ResponseMessage)),
		fl("transactionDate", null),
		fl("transactionTime", null),
		fl("operationDate", vdate(t.OperationDate)),
	}
}

func addressVal(a *Address) val {
	if a == nil {
		return null
	}
	return vobj(fl("street1", vstrn(a.Street1)), fl("street2", vstrn(a.Street2)), fl("city", vstrn(a.City)),
		fl("state", vstrn(a.State)), fl("country", vstrn(a.Country)), fl("postalCode", vstrn(a.PostalCode)),
		fl("phone", vstrn(a.Phone)))
}

// amountsVal is an additionalValues map with every key of §12 (scale 2).
func amountsVal(value emulators.Decimal, currency string, tx bool) val {
	zero := emulators.DecimalFromInt(0)
	type amount struct {
		k string
		v emulators.Decimal
	}
	keys := []amount{
		{"TX_VALUE", value}, {"TX_TAX", zero}, {"TX_TAX_RETURN_BASE", zero}, {"TX_ADDITIONAL_VALUE", zero},
		{"PM_VALUE", value}, {"PM_PURCHASE_VALUE", value}, {"PM_NETWORK_VALUE", value}, {"PM_TAX", zero},
		{"PM_TAX_RETURN_BASE", zero}, {"PM_ADDITIONAL_VALUE", zero}, {"PM_PAYER_COMMISSION_VALUE", zero},
		{"PM_PAYER_INTEREST_VALUE", zero}, {"PM_PAYER_PRICING_VALUES", zero},
	}
	if tx {
		keys = append(keys, amount{"CURRENT_TX_VALUE", value}, amount{"PM_PAYER_TOTAL_AMOUNT", value})
	}
	f := make([]field, len(keys))
	for i, k := range keys {
		f[i] = fl(k.k, additionalValue(k.v, currency))
	}
	return vmap(f...)
}

// orderVal is the Queries order object (§12, DOC-Q field order).
func (s *Service) orderVal(o Order) val {
	var buyer val = null
	if b := o.Buyer; b != nil {
		buyer = vobj(fl("merchantBuyerId", vstrn(b.MerchantBuyerID)), fl("fullName", vstrn(b.FullName)),
			fl("emailAddress", vstrn(b.Email)), fl("contactPhone", vstrn(b.Phone)),
			fl("buyerAddress", addressVal(b.Shipping)), fl("dniNumber", vstrn(b.DNI)), flx("cnpj", "CNPJ", vstrn(b.CNPJ)))
	}
	txs := make([]val, 0, len(o.TxIDs))
	for i := len(o.TxIDs) - 1; i >= 0; i-- { // newest first
		if t, ok := s.txs.Get(o.TxIDs[i]); ok {
			txs = append(txs, s.txVal(t))
		}
	}
	var processed val = null
	if o.ProcessedTxID != "" {
		processed = vstr(o.ProcessedTxID)
	}
	return vobj(
		fl("id", vint(o.ID)), fl("accountId", vint(o.AccountID)), fl("status", vstr(o.Status)),
		fl("referenceCode", vstr(o.ReferenceCode)), fl("description", vstr(o.Description)), fl("airlineCode", null),
		fl("language", vstrn(o.Language)), fl("notifyUrl", vstrn(o.NotifyURL)),
		fl("shippingAddress", addressVal(o.Shipping)), fl("buyer", buyer), fl("antifraudMerchantId", null),
		fl("isTest", vbool(o.Test)), fl("transactions", vlist("transaction", txs...)),
		fl("additionalValues", amountsVal(o.Value, o.Currency, false)), fl("creationDate", vdate(o.CreatedAt)),
		fl("isCreatedUsingStandardIntegrationParams", null), fl("merchantId", vint(o.MerchantID)),
		fl("processedTransactionId", processed), fl("orderSignature", vstrn(o.Signature)),
	)
}

// txVal is the Queries transaction object (§12).
func (s *Service) txVal(t Transaction) val {
	var card val = null
	if t.Card != nil {
		cardType := "CREDIT"
		if t.Card.Debit {
			cardType = "DEBIT"
		}
		card = vobj(fl("maskedNumber", vstr(t.Card.masked(t.CardLength))), fl("issuerBank", null),
			fl("name", vstrn(t.Card.Name)), fl("cardType", vstr(cardType)))
	}
	var payer val = null
	if p := t.Payer; p != nil {
		payer = vobj(fl("merchantPayerId", vstrn(p.MerchantPayerID)), fl("fullName", vstrn(p.FullName)),
			fl("billingAddress", addressVal(p.Billing)), fl("emailAddress", vstrn(p.Email)),
			fl("contactPhone", vstrn(p.Phone)), fl("dniNumber", vstrn(p.DNI)), fl("dniType", vstrn(p.DNIType)))
	}
	var extra val = null
	if len(t.Extra) > 0 {
		f := make([]field, len(t.Extra))
		for i, e := range t.Extra {
			f[i] = fl(e.K, vstr(e.V))
		}
		extra = vmap(f...)
	}
	return vobj(
		fl("id", vstr(t.ID)), fl("order", null), fl("creditCard", card), fl("bankAccount", null),
		fl("type", vstr(t.Type)), fl("parentTransactionId", vstrn(t.ParentID)),
		fl("paymentMethod", vstr(t.PaymentMethod)), fl("source", vstrn(t.Source)),
		fl("paymentCountry", vstrn(t.PaymentCountry)), fl("transactionResponse", queryTxResponse(t)),
		fl("deviceSessionId", vstrn(t.DeviceSessionID)), fl("ipAddress", vstrn(t.IPAddress)),
		fl("cookie", vstrn(t.Cookie)), fl("userAgent", vstrn(t.UserAgent)), fl("expirationDate", null),
		fl("payer", payer), fl("termsAndConditionId", null),
		fl("additionalValues", amountsVal(t.Value, t.Currency, true)), fl("extraParameters", extra),
	)
}
