package hambit

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
)

// validator applies the field rules of spec §6 to a body's params, in the
// order of the field tables; every broken rule is collected.
type validator struct {
	ps   params
	errs []emulators.FieldError
}

func (v *validator) fail(field, format string, args ...any) {
	v.errs = append(v.errs, emulators.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// err returns the code-300 error of the broken rules, or nil.
func (v *validator) err() error {
	if len(v.errs) == 0 {
		return nil
	}
	parts := make([]string, len(v.errs))
	for i, f := range v.errs {
		parts[i] = f.Field + ": " + f.Message
	}
	e := errParam(strings.Join(parts, "; "))
	e.Fields = v.errs
	return e
}

func kindName(k wire.LitKind) string {
	switch k {
	case wire.LitString:
		return "a string"
	case wire.LitNumber:
		return "a number"
	case wire.LitBool:
		return "a boolean"
	case wire.LitNull:
		return "null"
	}
	return "an object or array"
}

// present reports whether field carries a value ("required" = present and
// non-empty; null counts as absent).
func (v *validator) present(field string) bool {
	p, ok := v.ps[field]
	return ok && p.kind != wire.LitNull && !(p.kind == wire.LitString && p.text == "")
}

// text returns a documented String field; a number or any other JSON type
// is a broken rule (spec §6.2). ok is false when the field is absent,
// empty or of the wrong type.
func (v *validator) text(field string, required bool) (string, bool) {
	if !v.present(field) {
		if required {
			v.fail(field, "required")
		}
		return "", false
	}
	p := v.ps[field]
	if p.kind != wire.LitString {
		v.fail(field, "must be a JSON string, got %s", kindName(p.kind))
		return "", false
	}
	return p.text, true
}

// loose returns a field that is stored unchecked: a string, or the text of
// a number or boolean.
func (v *validator) loose(field string) string {
	p, ok := v.ps[field]
	if !ok || p.kind == wire.LitNull || p.kind.Nested() {
		return ""
	}
	return p.text
}

func (v *validator) oneOf(field, s string, opts ...string) bool {
	if slices.Contains(opts, s) {
		return true
	}
	v.fail(field, "must be one of %s, got %s", strings.Join(opts, " "), quoteShort(s))
	return false
}

func (v *validator) maxLen(field, s string, n int) bool {
	if l := utf8.RuneCountInString(s); l > n {
		v.fail(field, "max=%d characters, got %d", n, l)
		return false
	}
	return true
}

// url checks an optional absolute http(s) URL field and returns it.
func (v *validator) url(field string) string {
	s, ok := v.text(field, false)
	if !ok {
		return ""
	}
	if msg := checkURL(s); msg != "" {
		v.fail(field, "%s, got %s", msg, quoteShort(s))
		return ""
	}
	return s
}

var clpAmountRE = regexp.MustCompile(`^[1-9][0-9]{0,11}$`)

// amount checks an amount field of the country's currency (spec §6.2): a
// string or a number; CLP a positive integer of at most 12 digits, other
// currencies positive with at most 2 decimals; within the country's bounds.
func (v *validator) amount(field string, ct Country) (emulators.Decimal, bool) {
	if !v.present(field) {
		v.fail(field, "required")
		return emulators.Decimal{}, false
	}
	p := v.ps[field]
	if p.kind != wire.LitString && p.kind != wire.LitNumber {
		v.fail(field, "must be a string or a number, got %s", kindName(p.kind))
		return emulators.Decimal{}, false
	}
	d, err := emulators.ParseDecimal(p.text)
	if err != nil {
		if ct.Currency == "CLP" {
			v.fail(field, "Expected integer: CLP amounts are whole pesos (1 to 12 digits), got %s", quoteShort(p.text))
		} else {
			v.fail(field, "must be a plain decimal amount such as 100.50, got %s", quoteShort(p.text))
		}
		return emulators.Decimal{}, false
	}
	if d.Sign() <= 0 {
		v.fail(field, "must be greater than 0, got %s", quoteShort(p.text))
		return emulators.Decimal{}, false
	}
	if ct.Currency == "CLP" {
		if !clpAmountRE.MatchString(p.text) {
			v.fail(field, "Expected integer: CLP amounts are whole pesos (1 to 12 digits), got %s", quoteShort(p.text))
			return emulators.Decimal{}, false
		}
	} else if d.Places() > currencyPlaces(ct.Currency) {
		v.fail(field, "at most %d decimals for %s, got %s", currencyPlaces(ct.Currency), ct.Currency, quoteShort(p.text))
		return emulators.Decimal{}, false
	}
	if !ct.MinAmount.IsZero() && d.Cmp(ct.MinAmount) < 0 {
		v.fail(field, "below the minimum of %s %s", money(ct.MinAmount), ct.Currency)
		return emulators.Decimal{}, false
	}
	if !ct.MaxAmount.IsZero() && d.Cmp(ct.MaxAmount) > 0 {
		v.fail(field, "above the maximum of %s %s", money(ct.MaxAmount), ct.Currency)
		return emulators.Decimal{}, false
	}
	return d, true
}

// chileRules reports whether the Chile field rules apply (spec §2.2).
func chileRules(ct Country) bool { return ct.Currency == "CLP" }

// collectionRequest is a validated create-collection body.
type collectionRequest struct {
	amount                                 emulators.Decimal
	channelType, externalOrderID           string
	userInfoType, customerType, userInfoNo string
	notifyURL, remark, returnURL           string
}

// validateCollection applies spec §6.2's table.
func validateCollection(ps params, ct Country) (collectionRequest, error) {
	v := &validator{ps: ps}
	var r collectionRequest
	r.amount, _ = v.amount("amount", ct)
	if chileRules(ct) {
		if s, ok := v.text("channelType", true); ok && v.oneOf("channelType", s, "BANK", "GEN") {
			r.channelType = s
		}
	} else {
		r.channelType = v.loose("channelType")
	}
	if s, ok := v.text("externalOrderId", true); ok && v.maxLen("externalOrderId", s, 64) {
		r.externalOrderID = s
	}
	if chileRules(ct) {
		if s, ok := v.text("userInfoType", true); ok && v.oneOf("userInfoType", s, "CASH", "TC", "NET_BANKING") {
			r.userInfoType = s
		}
		if s, ok := v.text("customerType", true); ok && v.oneOf("customerType", s, "RUT", "PP") {
			r.customerType = s
		}
		if s, ok := v.text("userInfoNo", true); ok && v.maxLen("userInfoNo", s, 64) {
			r.userInfoNo = s
		}
	} else {
		r.userInfoType, r.customerType, r.userInfoNo = v.loose("userInfoType"), v.loose("customerType"), v.loose("userInfoNo")
	}
	r.notifyURL = v.url("notifyUrl")
	if chileRules(ct) {
		if s, ok := v.text("remark", false); ok && v.maxLen("remark", s, 255) {
			r.remark = s
		}
	} else {
		r.remark = v.loose("remark")
	}
	r.returnURL = v.url("returnUrl")
	return r, v.err()
}

// transferRequest is a validated create-transfer body.
type transferRequest struct {
	amount                                  emulators.Decimal
	channelType, externalOrderID, accountNo string
	userInfoName, accountType, userInfoNo   string
	userInfoType, bankName, bankCode        string
	remark, notifyURL                       string
}

var alnumRE = regexp.MustCompile(`^[A-Za-z0-9]+$`)

// validateTransfer applies spec §6.3's table.
func validateTransfer(ps params, ct Country, banks []Bank) (transferRequest, error) {
	v := &validator{ps: ps}
	var r transferRequest
	chile := chileRules(ct)
	r.amount, _ = v.amount("currencyAmount", ct)
	if chile {
		if s, ok := v.text("channelType", true); ok && v.oneOf("channelType", s, "BANK") {
			r.channelType = s
		}
	} else {
		r.channelType = cmp.Or(v.loose("channelType"), "BANK")
	}
	if s, ok := v.text("externalOrderId", true); ok && v.maxLen("externalOrderId", s, 64) {
		r.externalOrderID = s
	}
	if s, ok := v.text("accountNo", true); ok && v.maxLen("accountNo", s, 64) {
		r.accountNo = s
	}
	if chile {
		if s, ok := v.text("userInfoName", true); ok && v.maxLen("userInfoName", s, 128) {
			r.userInfoName = s
		}
		if s, ok := v.text("accountType", true); ok && v.oneOf("accountType", s, "0", "1", "2", "3") {
			r.accountType = s
		}
		infoType := ""
		if p, ok := v.ps["userInfoType"]; ok && p.kind == wire.LitString {
			infoType = p.text
		}
		if s, ok := v.text("userInfoNo", true); ok {
			r.userInfoNo = s
			checkIDNumber(v, s, infoType)
		}
		if s, ok := v.text("userInfoType", true); ok && v.oneOf("userInfoType", s, "1", "2", "3", "4") {
			r.userInfoType = s
		}
	} else {
		r.userInfoName, r.accountType = v.loose("userInfoName"), v.loose("accountType")
		r.userInfoNo, r.userInfoType = v.loose("userInfoNo"), v.loose("userInfoType")
	}
	if chile || len(banks) > 0 {
		if s, ok := v.text("bankName", true); ok {
			i := slices.IndexFunc(banks, func(b Bank) bool { return b.Name == s })
			if i < 0 {
				v.fail("bankName", "unknown bank %s (exact, case-sensitive name from query/bank, e.g. \"Banco de Chile\")", quoteShort(s))
			} else {
				r.bankName, r.bankCode = s, banks[i].Code
			}
		}
	} else {
		r.bankName = v.loose("bankName")
	}
	if chile {
		if s, ok := v.text("remark", false); ok && v.maxLen("remark", s, 255) {
			r.remark = s
		}
	} else {
		r.remark = v.loose("remark")
	}
	r.notifyURL = v.url("notifyUrl")
	return r, v.err()
}

// checkIDNumber applies the length rule of userInfoNo by userInfoType, after
// removing '.', '-' and spaces (spec §6.3).
func checkIDNumber(v *validator, s, infoType string) {
	clean := strings.NewReplacer(".", "", "-", "", " ", "").Replace(s)
	if !alnumRE.MatchString(clean) {
		v.fail("userInfoNo", "must be letters and digits (dots, hyphens and spaces are ignored), got %s", quoteShort(s))
		return
	}
	n := len(clean)
	switch infoType {
	case "1":
		if n < 7 || n > 9 {
			v.fail("userInfoNo", "a RUT (userInfoType 1) has 7 to 9 characters, got %d", n)
		}
	case "2":
		if n != 9 {
			v.fail("userInfoNo", "a RUN (userInfoType 2) has 9 characters, got %d", n)
		}
	case "3", "4":
		if n < 9 {
			v.fail("userInfoNo", "a passport or CE (userInfoType %s) has 9 characters or more, got %d", infoType, n)
		}
	}
	if n > 64 {
		v.fail("userInfoNo", "max=64 characters, got %d", n)
	}
}

// queryRequest is a validated order query (spec §6.4).
type queryRequest struct{ externalOrderID, orderID string }

func validateQuery(ps params) (queryRequest, error) {
	v := &validator{ps: ps}
	var q queryRequest
	if s, ok := v.text("externalOrderId", false); ok && v.maxLen("externalOrderId", s, 64) {
		q.externalOrderID = s
	}
	if s, ok := v.text("orderId", false); ok {
		q.orderID = s
	}
	if len(v.errs) == 0 && q.externalOrderID == "" && q.orderID == "" {
		v.fail("externalOrderId", "externalOrderId or orderId is required")
	}
	return q, v.err()
}

// validateBankQuery reads {"bankName": "…"}; missing counts as "" (spec §6.7).
func validateBankQuery(ps params) (string, error) {
	v := &validator{ps: ps}
	p, ok := ps["bankName"]
	if !ok || p.kind == wire.LitNull {
		return "", nil
	}
	if p.kind != wire.LitString {
		v.fail("bankName", "must be a JSON string, got %s", kindName(p.kind))
		return "", v.err()
	}
	return p.text, nil
}
