package khipu

import (
	"errors"
	"strconv"
	"time"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
)

// Request decoding (v2 form, v3 JSON) into one input shape, and the field
// rules of §7 applied to it.

// value is one request field: its text and how it was sent.
type value struct {
	text string
	kind wire.LitKind // v2 values are all strings
}

// input holds the fields present in a request. A JSON null is absent.
type input map[string]value

// formInput turns decoded v2 parameters into an input.
func formInput(p params) input {
	in := make(input, len(p))
	for k, v := range p {
		in[k] = value{text: v, kind: wire.LitString}
	}
	return in
}

var errMalformedJSON = errors.New("malformed JSON")

// maxJSONDepth bounds the nesting of v3 bodies (a Khipu body is flat).
const maxJSONDepth = 32

// decodeJSONInput decodes a v3 JSON body (§10) with the shared literal
// decoder: an object whose values keep their literal text (numbers are
// never read through float64); a null is absent. Anything that is not one
// JSON object is errMalformedJSON.
func decodeJSONInput(body []byte) (input, error) {
	ms, err := wire.DecodeObject(body, maxJSONDepth)
	if err != nil {
		return nil, errMalformedJSON
	}
	in := make(input, len(ms))
	for _, m := range ms {
		if m.Kind == wire.LitNull {
			delete(in, m.Key) // as if absent, even after a value
			continue
		}
		in[m.Key] = value{text: m.Text, kind: m.Kind}
	}
	return in, nil
}

// Field messages (§9.4).
const (
	msgRequired      = "Campo obligatorio"                                                                   // F1
	msgAmountFormat  = "Monto inválido: use '.' como separador decimal y sin separador de miles"             // F3
	msgAmountZero    = "El monto debe ser mayor que cero"                                                    // F4
	msgCurrency      = "Moneda no soportada"                                                                 // F8
	msgBankUnknown   = "Banco no encontrado"                                                                 // F9
	msgBankDeveloper = "Las cuentas de cobro en modo desarrollador solo pueden pagarse con bancos de prueba" // F10
	msgDate          = "Fecha inválida: use formato ISO-8601"                                                // F11
	msgDatePast      = "La fecha debe ser posterior a la fecha actual"                                       // F12
	msgBool          = "Valor booleano inválido"                                                             // F13
	msgEmail         = "Correo electrónico inválido"                                                         // F14
	msgURL           = "URL inválida"                                                                        // F15
	msgSendEmail     = "Obligatorio cuando send_email es verdadero"                                          // F16
	msgContract      = "Obligatorio cuando se indica contract_url"                                           // F17
	msgNotifyVersion = "Versión de API de notificación no soportada"                                         // F18
	msgPaymentMethod = "Medio de pago no disponible"                                                         // F19
	msgNoPayment     = "No existe un pago con ese identificador"                                             // F20
	msgNoToken       = "No existe un pago con ese token de notificación"                                     // F21
	msgType          = "Tipo de dato inválido"                                                               // F23
	msgBodyTooLarge  = "Solicitud demasiado grande"
)

func msgMaxLength(n int) string {
	return "Excede el largo máximo de " + strconv.Itoa(n) + " caracteres"
} // F2

func msgDecimals(n int, currency string) string { // F5
	return "El monto admite a lo más " + strconv.Itoa(n) + " decimales para " + currency
}

func msgAboveMax(max emulators.Decimal) string { // F6
	return "El monto excede el máximo por pago de esta cuenta de cobro (" + max.Normalize().String() + ")"
}

func msgBelowMin(min emulators.Decimal) string { // F7
	return "El monto es menor al mínimo aceptado por el banco (" + min.Normalize().String() + ")"
}

func msgAboveRefundable(rest emulators.Decimal) string { // F22
	return "El monto excede el saldo reembolsable (" + rest.Normalize().String() + ")"
}

// currencies accepted at creation (§7); v3 also takes CLF.
var currenciesV2 = map[string]bool{"CLP": true, "ARS": true, "PEN": true, "MXN": true, "USD": true, "EUR": true, "BOB": true, "COP": true}

// decimalsFor is the most decimals an amount may have in a currency (§7, F5).
func decimalsFor(currency string) int {
	if currency == "CLP" {
		return 0
	}
	return 4
}

// createRequest is a validated create (§7).
type createRequest struct {
	Subject          string
	Currency         string
	Amount           emulators.Decimal
	TransactionID    string
	ReturnURL        string
	CancelURL        string
	NotifyURL        string
	NotifyAPIVersion string
	ExpiresAt        time.Time // zero: the default
	SendEmail        bool
	SendReminders    bool
	// The optional fields, as the payment keeps them (bank_id, payer_name
	// and payer_email as GivenBankID, GivenPayerName, GivenPayerEmail).
	paymentOptions
}

// validator collects field errors in the order of §7.
type validator struct {
	in   input
	errs []emulators.FieldError
}

func (v *validator) add(field, msg string) {
	v.errs = append(v.errs, emulators.FieldError{Field: field, Message: msg})
}

// str returns an optional string field; wrong JSON types and lengths over
// max are errors (ok false).
func (v *validator) str(name string, max int) (string, bool) {
	x, present := v.in[name]
	if !present {
		return "", true
	}
	if x.kind != wire.LitString {
		v.add(name, msgType)
		return "", false
	}
	if runeLen(x.text) > max {
		v.add(name, msgMaxLength(max))
		return "", false
	}
	return x.text, true
}

// required is str for a required field (absent or empty: F1).
func (v *validator) required(name string, max int) (string, bool) {
	s, ok := v.str(name, max)
	if ok && s == "" {
		v.add(name, msgRequired)
		return "", false
	}
	return s, ok
}

func (v *validator) url(name string) string { return v.checked(name, 1024, isHTTPURL, msgURL) }

func (v *validator) email(name string) string { return v.checked(name, 255, isEmail, msgEmail) }

// checked is str for a field whose non-empty value must pass valid (msg
// otherwise).
func (v *validator) checked(name string, max int, valid func(string) bool, msg string) string {
	s, ok := v.str(name, max)
	if !ok || s == "" {
		return s
	}
	if !valid(s) {
		v.add(name, msg)
		return ""
	}
	return s
}

func (v *validator) boolean(name string) bool {
	x, present := v.in[name]
	if !present {
		return false
	}
	if x.kind.Nested() {
		v.add(name, msgType)
		return false
	}
	b, err := parseBool(x.text)
	if err != nil {
		v.add(name, msgBool)
		return false
	}
	return b
}

// date returns an optional date that must lie after now (F11, F12).
func (v *validator) date(name string, now time.Time) time.Time {
	x, present := v.in[name]
	if !present || (x.kind == wire.LitString && x.text == "") {
		return time.Time{}
	}
	if x.kind != wire.LitString {
		v.add(name, msgType)
		return time.Time{}
	}
	t, err := parseDate(x.text)
	if err != nil {
		v.add(name, msgDate)
		return time.Time{}
	}
	if !t.After(now) {
		v.add(name, msgDatePast)
		return time.Time{}
	}
	return t
}

// amountMessage checks an amount value (§7: F3, F4, F5; F2 over 16
// characters; F23 for a JSON type that is neither number nor string) and
// returns the parsed amount or the message of the first broken rule.
func amountMessage(x value, currency string) (emulators.Decimal, string) {
	if x.kind != wire.LitString && x.kind != wire.LitNumber {
		return emulators.Decimal{}, msgType
	}
	d, err := parseAmount(x.text)
	switch {
	case errors.Is(err, errAmountLength):
		return d, msgMaxLength(maxAmountChars)
	case err != nil:
		return d, msgAmountFormat
	case d.Sign() <= 0:
		return d, msgAmountZero
	}
	if n := decimalsFor(currency); currency != "" && d.Places() > n {
		return d, msgDecimals(n, currency)
	}
	return d, ""
}

// validateCreate applies §7 to a create request of receiver r. Banks are
// the configured ones; now is the sandbox clock.
func validateCreate(in input, v3 bool, r *receiver, banks []Bank, now time.Time) (createRequest, []emulators.FieldError) {
	v := &validator{in: in}
	var req createRequest
	req.Subject, _ = v.required("subject", 255)

	currency, currencyOK := v.required("currency", 255)
	if currencyOK {
		if currenciesV2[currency] || (v3 && currency == "CLF") {
			req.Currency = currency
		} else {
			v.add("currency", msgCurrency)
			currencyOK = false
		}
	}

	amountOK := false
	if x, present := in["amount"]; !present || (x.kind == wire.LitString && x.text == "") {
		v.add("amount", msgRequired)
	} else {
		cur := currency
		if !currencyOK {
			cur = "" // decimals checked at 4 when the currency is unknown
		}
		d, msg := amountMessage(x, cur)
		if msg == "" && currencyOK && currency == "CLP" && r.maxAmount.Sign() > 0 && d.Cmp(r.maxAmount) > 0 {
			msg = msgAboveMax(r.maxAmount)
		}
		if msg != "" {
			v.add("amount", msg)
		} else {
			req.Amount, amountOK = d, true
		}
	}
	amountIndex := len(v.errs) // the bank minimum (F7) is reported on amount, in its place

	req.TransactionID, _ = v.str("transaction_id", 255)
	req.Custom, _ = v.str("custom", 1073741824)
	req.Body, _ = v.str("body", 5120)

	var bank *Bank
	if id, ok := v.str("bank_id", 5); ok && id != "" {
		if b, msg := bankFor(banks, r, id); msg != "" {
			v.add("bank_id", msg)
		} else {
			bank, req.GivenBankID = &b, id
		}
	}
	if bank != nil && amountOK && bank.belowMinimum(req.Amount, req.Currency) {
		fe := emulators.FieldError{Field: "amount", Message: msgBelowMin(bank.MinAmount)}
		v.errs = append(v.errs[:amountIndex], append([]emulators.FieldError{fe}, v.errs[amountIndex:]...)...)
	}

	req.ReturnURL = v.url("return_url")
	req.CancelURL = v.url("cancel_url")
	req.PictureURL = v.url("picture_url")
	req.NotifyURL = v.url("notify_url")
	req.ContractURL = v.url("contract_url")

	if s, ok := v.str("notify_api_version", 255); ok {
		if s != "" && s != "1.3" && s != "3.0" {
			v.add("notify_api_version", msgNotifyVersion)
		} else {
			req.NotifyAPIVersion = s
		}
	}
	req.ExpiresAt = v.date("expires_date", now)
	req.SendEmail = v.boolean("send_email")

	if s, ok := v.str("payer_name", 255); ok {
		req.GivenPayerName = s
		if req.SendEmail && s == "" {
			v.add("payer_name", msgSendEmail)
		}
	}
	if _, present := in["payer_email"]; present {
		req.GivenPayerEmail = v.email("payer_email")
	}
	if req.SendEmail && req.GivenPayerEmail == "" && !hasField(v.errs, "payer_email") {
		v.add("payer_email", msgSendEmail)
	}
	req.SendReminders = v.boolean("send_reminders")
	req.ResponsibleUserEmail = v.email("responsible_user_email")

	if s, ok := v.str("fixed_payer_personal_identifier", 255); ok {
		req.FixedPayerPersonalIdentifier = s
		if req.ContractURL != "" && s == "" {
			v.add("fixed_payer_personal_identifier", msgContract)
		}
	}
	if x, present := in["integrator_fee"]; present && !(x.kind == wire.LitString && x.text == "") {
		if x.kind != wire.LitString && x.kind != wire.LitNumber {
			v.add("integrator_fee", msgType)
		} else if d, err := parseAmount(x.text); errors.Is(err, errAmountLength) {
			v.add("integrator_fee", msgMaxLength(maxAmountChars))
		} else if err != nil {
			v.add("integrator_fee", msgAmountFormat)
		} else if d.Sign() < 0 {
			v.add("integrator_fee", msgAmountZero)
		} else {
			req.IntegratorFee = d.String()
		}
	}
	req.CollectAccountUUID, _ = v.str("collect_account_uuid", 255)
	req.ConfirmTimeout = v.date("confirm_timeout_date", now)
	if s, ok := v.str("mandatory_payment_method", 255); ok {
		if s != "" && s != methodSimplified && s != methodRegular {
			v.add("mandatory_payment_method", msgPaymentMethod)
		} else {
			req.MandatoryPaymentMethod = s
		}
	}
	req.PSPClientMerchantName, _ = v.str("psp_client_merchant_name", 255)
	return req, v.errs
}

func hasField(errs []emulators.FieldError, field string) bool {
	for _, e := range errs {
		if e.Field == field {
			return true
		}
	}
	return false
}
