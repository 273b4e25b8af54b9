package payu

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/paysandbox/sandbox/emulators"
)

// Validation of the request tables (§4.3, §7.1). Messages follow PayU's
// observed shape: "property: <path>, message: <msg>", several joined by one
// space and sorted by path; paths inside transaction are relative to it.

// req levels of a rule.
const (
	optional = iota
	reqE     // required in lenient and strict mode
	reqS     // required only in strict mode
)

// kinds of a rule's value.
const (
	kText = iota
	kObject
	kInt
	kDecimal
	kBool
	kExpiry
)

type rule struct {
	path     string // dotted, relative to the base
	min, max int    // sizes in characters (max 0: none)
	req      int
	kind     int
}

// newPaymentRules are the DOC-CL card table rows (§7.1), relative to transaction.
var newPaymentRules = []rule{
	{path: "order", req: reqE, kind: kObject},
	{path: "order.accountId", req: reqE, kind: kInt},
	{path: "order.referenceCode", min: 1, max: 255, req: reqE},
	{path: "order.description", min: 1, max: 255, req: reqS},
	{path: "order.language", min: 2, max: 2, req: reqS},
	{path: "order.notifyUrl", max: 2048},
	{path: "order.partnerId", max: 255},
	{path: "order.signature", max: 255, req: reqE},
	{path: "order.shippingAddress", kind: kObject},
	{path: "order.shippingAddress.street1", max: 100},
	{path: "order.shippingAddress.street2", max: 100},
	{path: "order.shippingAddress.city", max: 50},
	{path: "order.shippingAddress.state", max: 40},
	{path: "order.shippingAddress.country", min: 2, max: 2},
	{path: "order.shippingAddress.postalCode", max: 8},
	{path: "order.shippingAddress.phone", max: 11},
	{path: "order.buyer", req: reqS, kind: kObject},
	{path: "order.buyer.merchantBuyerId", max: 100},
	{path: "order.buyer.fullName", max: 150, req: reqS},
	{path: "order.buyer.emailAddress", max: 255, req: reqS},
	{path: "order.buyer.contactPhone", max: 20, req: reqS},
	{path: "order.buyer.dniNumber", max: 20, req: reqS},
	{path: "order.buyer.shippingAddress", req: reqS, kind: kObject},
	{path: "order.buyer.shippingAddress.street1", max: 150, req: reqS},
	{path: "order.buyer.shippingAddress.street2", max: 100},
	{path: "order.buyer.shippingAddress.city", max: 50, req: reqS},
	{path: "order.buyer.shippingAddress.state", max: 40, req: reqS},
	{path: "order.buyer.shippingAddress.country", min: 2, max: 2, req: reqS},
	{path: "order.buyer.shippingAddress.postalCode", max: 20, req: reqS},
	{path: "order.buyer.shippingAddress.phone", max: 20, req: reqS},
	{path: "order.additionalValues", req: reqE, kind: kObject},
	{path: "order.additionalValues.TX_VALUE", req: reqE, kind: kObject},
	{path: "order.additionalValues.TX_VALUE.value", req: reqE, kind: kDecimal},
	{path: "order.additionalValues.TX_VALUE.currency", min: 3, max: 3, req: reqE},
	{path: "order.additionalValues.TX_TAX", kind: kObject},
	{path: "order.additionalValues.TX_TAX.value", kind: kDecimal},
	{path: "order.additionalValues.TX_TAX.currency", min: 3, max: 3},
	{path: "order.additionalValues.TX_TAX_RETURN_BASE", kind: kObject},
	{path: "order.additionalValues.TX_TAX_RETURN_BASE.value", kind: kDecimal},
	{path: "order.additionalValues.TX_TAX_RETURN_BASE.currency", min: 3, max: 3},
	{path: "payer", req: reqS, kind: kObject},
	{path: "payer.emailAddress", max: 255, req: reqS},
	{path: "payer.merchantPayerId", max: 100},
	{path: "payer.fullName", max: 150, req: reqS},
	{path: "payer.contactPhone", max: 20, req: reqS},
	{path: "payer.dniNumber", max: 20, req: reqS},
	{path: "payer.dniType", max: 2},
	{path: "payer.birthdate", max: 10},
	{path: "payer.billingAddress", req: reqS, kind: kObject},
	{path: "payer.billingAddress.street1", max: 100, req: reqS},
	{path: "payer.billingAddress.street2", max: 100},
	{path: "payer.billingAddress.city", max: 50, req: reqS},
	{path: "payer.billingAddress.state", max: 40},
	{path: "payer.billingAddress.country", min: 2, max: 2, req: reqS},
	{path: "payer.billingAddress.postalCode", max: 20},
	{path: "payer.billingAddress.phone", max: 20},
	{path: "type", max: 32, req: reqE},
	{path: "paymentMethod", max: 32, req: reqE},
	{path: "paymentCountry", min: 2, max: 2, req: reqE},
	{path: "deviceSessionId", max: 255, req: reqS},
	{path: "ipAddress", max: 39, req: reqS},
	{path: "cookie", max: 255, req: reqS},
	{path: "userAgent", max: 1024, req: reqS},
	{path: "extraParameters", kind: kObject},
}

// cardRules apply to creditCard or debitCard, whichever carries the card.
var cardRules = []rule{
	{path: "number", min: 13, max: 20, req: reqE},
	{path: "securityCode", min: 1, max: 4, req: reqE},
	{path: "expirationDate", min: 7, max: 7, req: reqE, kind: kExpiry},
	{path: "name", min: 1, max: 255, req: reqE},
	{path: "processWithoutCvv2", kind: kBool},
}

// postPaymentRules are CAPTURE, VOID, REFUND and PARTIAL_REFUND (§8).
var postPaymentRules = []rule{
	{path: "order", req: reqE, kind: kObject},
	{path: "order.id", req: reqE, kind: kInt},
	{path: "parentTransactionId", max: 36, req: reqE},
	{path: "type", max: 32, req: reqE},
	{path: "reason", max: 255},
	{path: "additionalValues", kind: kObject},
	{path: "additionalValues.TX_VALUE", kind: kObject},
	{path: "additionalValues.TX_VALUE.value", kind: kDecimal},
	{path: "additionalValues.TX_VALUE.currency", min: 3, max: 3},
	{path: "order.additionalValues", kind: kObject},
	{path: "order.additionalValues.TX_VALUE", kind: kObject},
	{path: "order.additionalValues.TX_VALUE.value", kind: kDecimal},
	{path: "order.additionalValues.TX_VALUE.currency", min: 3, max: 3},
}

// validator collects violations.
type validator struct {
	lang    string
	strict  bool
	props   []string // "property: p, message: m"
	formats []string // (S) invalid value texts
}

func (v *validator) prop(path, msg string) {
	v.props = append(v.props, "property: "+path+", message: "+msg)
}

func (v *validator) format(path, value string) {
	v.formats = append(v.formats, invalidValue(value, path))
}

// invalidValue is the (S) bad-format text.
func invalidValue(value, path string) string {
	return "Sandbox: invalid value [" + value + "] for " + path
}

func mustNotBeNull(lang string) string {
	switch lang {
	case "es":
		return "No puede ser vacio"
	case "pt":
		return "Não pode ser vazio"
	}
	return "must not be null"
}

func sizeMsg(lang string, min, max int) string {
	switch lang {
	case "es":
		return fmt.Sprintf("el tamaño debe estar entre %d y %d", min, max)
	case "pt":
		return fmt.Sprintf("tamanho deve estar entre %d e %d", min, max)
	}
	return fmt.Sprintf("size must be between %d and %d", min, max)
}

// apply checks rules against base (the node the paths are relative to);
// prefix is prepended to reported paths.
func (v *validator) apply(base *node, prefix string, rules []rule) {
	for _, r := range rules {
		parts := strings.Split(r.path, ".")
		parent := base.get(parts[:len(parts)-1]...)
		if parent == nil || parent.kind != nObject {
			continue // the parent's own rule reports it
		}
		v.check(parent.kids[parts[len(parts)-1]], prefix+r.path, r)
	}
}

func (v *validator) check(n *node, path string, r rule) {
	required := r.req == reqE || (r.req == reqS && v.strict)
	if n == nil || (n.kind == nScalar && strings.TrimSpace(n.text) == "") {
		if required {
			v.prop(path, mustNotBeNull(v.lang))
		}
		return
	}
	if r.kind == kObject {
		if n.kind != nObject {
			v.format(path, n.text)
		}
		return
	}
	if n.kind != nScalar {
		v.format(path, "{…}")
		return
	}
	text := n.text
	switch r.kind {
	case kInt:
		if _, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64); err != nil {
			v.format(path, text)
		}
		return
	case kDecimal:
		if _, err := emulators.ParseDecimal(strings.TrimSpace(text)); err != nil {
			v.format(path, text)
		}
		return
	case kBool:
		if _, ok := parseBool(text); !ok {
			v.format(path, text)
		}
		return
	case kExpiry:
		if !expiryRe.MatchString(strings.TrimSpace(text)) {
			v.format(path, text)
			return
		}
	}
	n2 := utf8.RuneCountInString(text)
	if (r.max > 0 && n2 > r.max) || (v.strict && n2 < r.min) {
		v.prop(path, sizeMsg(v.lang, r.min, r.max))
	}
}

var expiryRe = regexp.MustCompile(`^[0-9]{4}/(0[1-9]|1[0-2])$`)

// parseBool reads true/false (and 1/0); an empty value is false.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1":
		return true, true
	case "false", "0", "":
		return false, true
	}
	return false, false
}

// err returns the collected violations as one code ERROR, or nil.
func (v *validator) err() error {
	if len(v.props) == 0 && len(v.formats) == 0 {
		return nil
	}
	sort.Strings(v.props)
	parts := append(append([]string(nil), v.props...), v.formats...)
	msg := strings.Join(parts, " ")
	return apiErr(msg)
}
