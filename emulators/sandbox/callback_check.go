package sandbox

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"

	"github.com/paysandbox/sandbox/emulators/internal/admin"
)

// Callback verdicts of CheckCallback.
const (
	CallbackOK       = "ok"       // the signature holds under the provider's rules
	CallbackRejected = "rejected" // missing or wrong signature
	CallbackUnsigned = "unsigned" // the provider signs nothing (Khipu notification 1.3: fetch the payment by its token)
	CallbackUnknown  = "unknown"  // not recognisably a callback of these providers
)

// CallbackCheck is what a merchant concludes about a received callback by
// the provider's own rules, with this sandbox's credentials.
type CallbackCheck struct {
	Provider string `json:"provider,omitempty"`
	Verdict  string `json:"verdict"`
	Detail   string `json:"detail"`
}

// CheckCallback checks a callback the way a merchant must: Khipu API 3.0
// notifications by x-khipu-signature (HMAC-SHA256 over "t.body"), Hambit
// callbacks by the sign header (HMAC-SHA1 over the sorted parameters),
// PayU confirmations by the sign field (MD5 of apiKey~merchant_id~
// reference_sale~value~currency~state_pol). It uses the verifiers the demo
// shop uses, written from the providers' published rules independently of
// the emulators' signers.
func (s *Sandbox) CheckCallback(header http.Header, body []byte) CallbackCheck {
	h := make(http.Header, len(header)) // names as a server reads them off the wire
	for k, vs := range header {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	creds := func(provider, field string) []string {
		var out []string
		for _, d := range s.Describe("") {
			if d.Provider != provider {
				continue
			}
			for _, c := range d.Credentials {
				for _, f := range c.Fields {
					if f.Name == field {
						out = append(out, f.Value)
					}
				}
			}
		}
		return out
	}
	switch {
	case h.Get("X-Khipu-Signature") != "":
		for _, secret := range creds("khipu", "secret") {
			if khipuVerifyWebhook(secret, h.Get("X-Khipu-Signature"), body) {
				return CallbackCheck{"khipu", CallbackOK, "x-khipu-signature matches HMAC-SHA256(secret, t + \".\" + body)"}
			}
		}
		return CallbackCheck{"khipu", CallbackRejected, "x-khipu-signature does not match any receiver's secret"}
	case h.Get("Access_key") != "":
		sign, key := h.Get("Sign"), h.Get("Access_key")
		if sign == "" {
			return CallbackCheck{"hambit", CallbackRejected, "no sign header"}
		}
		secret := ""
		for _, d := range s.Describe("") {
			for _, c := range d.Credentials {
				if d.Provider == "hambit" && fieldOf(c.Fields, "access_key") == key {
					secret = fieldOf(c.Fields, "secret_key")
				}
			}
		}
		if secret == "" {
			return CallbackCheck{"hambit", CallbackRejected, "access_key " + truncate(key, 40) + " is not an account of this sandbox"}
		}
		for _, include := range []bool{false, true} {
			if hambitVerify(secret, body, key, h.Get("Timestamp"), h.Get("Nonce"), sign, include) {
				return CallbackCheck{"hambit", CallbackOK, "sign matches HMAC-SHA1 over the sorted body keys + access_key, timestamp, nonce"}
			}
		}
		return CallbackCheck{"hambit", CallbackRejected, "sign does not match the account's secret"}
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		if bytes.Contains(body, []byte(`"payment_id"`)) {
			return CallbackCheck{"khipu", CallbackRejected, "a Khipu 3.0 notification without x-khipu-signature"}
		}
		return CallbackCheck{"", CallbackUnknown, "a JSON body without a provider's signature headers"}
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return CallbackCheck{"", CallbackUnknown, "the body is neither JSON nor a form"}
	}
	if form.Get("notification_token") != "" {
		return CallbackCheck{"khipu", CallbackUnsigned, "notification " + truncate(form.Get("api_version"), 10) + " carries no signature: fetch the payment by its notification_token"}
	}
	if form.Has("merchant_id") || form.Has("reference_sale") {
		if form.Get("sign") == "" {
			return CallbackCheck{"payu", CallbackRejected, "no sign field"}
		}
		value, err := payuConfirmationValue(form.Get("value"))
		if err != nil {
			return CallbackCheck{"payu", CallbackRejected, "value " + truncate(strings.TrimSpace(form.Get("value")), 40) + " is not a decimal"}
		}
		merchants, keys := creds("payu", "merchantId"), creds("payu", "apiKey")
		for i := range min(len(merchants), len(keys)) {
			if merchants[i] == form.Get("merchant_id") && payuVerify(form.Get("sign"), keys[i], merchants[i], form.Get("reference_sale"),
				value, form.Get("currency"), form.Get("state_pol")) {
				return CallbackCheck{"payu", CallbackOK, "sign matches MD5(apiKey~merchant_id~reference_sale~value~currency~state_pol)"}
			}
		}
		return CallbackCheck{"payu", CallbackRejected, "sign does not match the merchant's apiKey"}
	}
	return CallbackCheck{"", CallbackUnknown, "not a Khipu, Hambit or PayU callback"}
}

func fieldOf(fs []admin.Field, name string) string {
	for _, f := range fs {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}
