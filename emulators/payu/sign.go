package payu

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"hash"
	"strconv"
	"strings"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
)

// Money in this file is emulators.Decimal from the literal as sent; nothing
// here ever converts an amount to float64 (§3.5, guarded by a test).

// OrderSignature returns the order signature the official PHP SDK puts in
// transaction.order.signature (§7.4): the lower-case hex MD5 of
// apiKey~merchantId~referenceCode~amount~currency, with the amount rounded
// half-even to no decimals ("10000.00" and "10000" both sign "10000"). An
// amount that is not a plain decimal is signed as given.
func OrderSignature(apiKey string, merchantID int64, referenceCode, amount, currency string) string {
	value := amount
	if d, err := emulators.ParseDecimal(strings.TrimSpace(amount)); err == nil {
		value = d.Round(0, emulators.HalfEven).String()
	}
	return hexHash("md5", orderString(apiKey, merchantID, referenceCode, value, currency))
}

// ConfirmationSignature returns the sign field of a confirmation page POST
// (§10): md5(apiKey~merchant_id~reference_sale~new_value~currency~state_pol),
// where new_value is value with two decimals minus one trailing zero
// ("10000.00" → "10000.0", "150.26" stays). A merchant verifies a POST by
// recomputing this from the posted fields.
func ConfirmationSignature(apiKey string, merchantID int64, referenceSale, value, currency, statePol string) string {
	return hexHash("md5", confirmationString(apiKey, merchantID, referenceSale, value, currency, statePol))
}

// ResponseSignature returns the signature parameter of the response page
// (§11.2): md5(apiKey~merchantId~referenceCode~new_value~currency~transactionState)
// with new_value = TX_VALUE rounded half-even to one decimal, in decimal
// arithmetic ("150.35" → "150.4", "150.25" → "150.2").
func ResponseSignature(apiKey string, merchantID int64, referenceCode, txValue, currency, transactionState string) string {
	return hexHash("md5", responseString(apiKey, merchantID, referenceCode, txValue, currency, transactionState))
}

func orderString(apiKey string, merchantID int64, ref, value, currency string) string {
	return apiKey + "~" + strconv.FormatInt(merchantID, 10) + "~" + ref + "~" + value + "~" + currency
}

// confirmationValue is §10's new_value.
func confirmationValue(value string) string {
	d, err := emulators.ParseDecimal(strings.TrimSpace(value))
	if err != nil {
		return value
	}
	s := d.Round(2, emulators.HalfEven).String()
	return strings.TrimSuffix(s, "0")
}

func confirmationString(apiKey string, merchantID int64, ref, value, currency, state string) string {
	return orderString(apiKey, merchantID, ref, confirmationValue(value), currency) + "~" + state
}

// responseValue is §11.2's new_value: one decimal, half-even.
func responseValue(value string) string {
	d, err := emulators.ParseDecimal(strings.TrimSpace(value))
	if err != nil {
		return value
	}
	return d.Round(1, emulators.HalfEven).String()
}

func responseString(apiKey string, merchantID int64, ref, value, currency, state string) string {
	return orderString(apiKey, merchantID, ref, responseValue(value), currency) + "~" + state
}

func newHash(algo string) hash.Hash {
	switch algo {
	case "sha1":
		return sha1.New()
	case "sha256":
		return sha256.New()
	}
	return md5.New()
}

func hexHash(algo, s string) string {
	h := newHash(algo)
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil))
}

// candidate is one (algorithm, value rendering) the order signature check tries.
type candidate struct {
	algo, rendering string
	value           string // the rendered TX_VALUE.value
	str             string // the string to sign
	sig             string // its hex hash
}

// renderings of TX_VALUE.value that real clients sign (§7.4): as sent (docs,
// ActiveMerchant), 0 decimals half-even (PHP SDK), 1 decimal, 2 decimals
// (Java and .NET SDKs).
func renderings(literal string) [][2]string {
	out := [][2]string{{"as-sent", literal}}
	d, err := emulators.ParseDecimal(strings.TrimSpace(literal))
	if err != nil {
		return out
	}
	for i, name := range []string{"0-decimals", "1-decimal", "2-decimals"} {
		out = append(out, [2]string{name, d.Round(i, emulators.HalfEven).String()})
	}
	return out
}

// signatureCandidates lists every candidate of a mode; strict has only md5
// over the value as sent.
func signatureCandidates(mode, apiKey string, merchantID int64, ref, literal, currency string) []candidate {
	algos := []string{"md5", "sha1", "sha256"}
	rs := renderings(literal)
	if mode == ModeStrict {
		algos, rs = algos[:1], rs[:1]
	}
	var out []candidate
	seen := map[string]bool{}
	for _, r := range rs {
		for _, a := range algos {
			str := orderString(apiKey, merchantID, ref, r[1], currency)
			if seen[a+"\x00"+str] {
				continue
			}
			seen[a+"\x00"+str] = true
			out = append(out, candidate{algo: a, rendering: r[0], value: r[1], str: str, sig: hexHash(a, str)})
		}
	}
	return out
}

// signatureCheck is the verdict of an order signature check.
type signatureCheck struct {
	ok       bool   // a candidate matched
	accepted bool   // the request goes on (ok, or lenient)
	match    string // algo/rendering of the match
	expected string // the canonical string (value as sent)
	note     *journal.Signature
}

// checkOrderSignature checks got against the candidates of mode (§7.4).
func checkOrderSignature(mode, apiKey string, merchantID int64, ref, literal, currency, got string) signatureCheck {
	cands := signatureCandidates(mode, apiKey, merchantID, ref, literal, currency)
	g := strings.ToLower(strings.TrimSpace(got))
	res := signatureCheck{expected: orderString(apiKey, merchantID, ref, literal, currency)}
	js := &journal.Signature{
		Scheme:   "PayU order signature " + mode + ": md5/sha1/sha256 of apiKey~merchantId~referenceCode~TX_VALUE~currency",
		Received: got,
	}
	for i, c := range cands {
		m := subtle.ConstantTimeCompare([]byte(g), []byte(c.sig)) == 1
		if m && !res.ok {
			res.ok = true
			res.match = c.algo + "/" + c.rendering
		}
		if i == 0 {
			js.Expected = c.sig
		}
		js.Candidates = append(js.Candidates, journal.Candidate{
			Name: c.algo + "/" + c.rendering, StringToSign: c.str, Signature: c.sig, Match: m,
		})
	}
	switch {
	case res.ok:
		res.accepted = true
		js.Verdict = journal.VerdictOK
		js.Detail = res.match
	case mode == ModeLenient:
		res.accepted = true
		js.Verdict = journal.VerdictTolerated
		js.Detail = "no candidate matches; accepted because the signature mode is lenient"
	default:
		js.Verdict = journal.VerdictRejected
		js.Detail = "no candidate matches (mode " + mode + ")"
	}
	res.note = js
	return res
}
