package sandbox

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sort"
	"strings"

	"github.com/paysandbox/sandbox/emulators"
)

// The demo shop signs its requests with the providers' client helpers
// (khipu.SignRequest, hambit.NewHeaders, payu.OrderSignature), and verifies
// the callbacks it receives with its own code, written from the providers'
// published rules (docs/*.md) the way a shop's integration would:
// an independent second implementation of each check.

// khipuVerifyWebhook checks a notification API 3.0 signature header
// "t=<ms>,s=<base64 HMAC-SHA256(secret, t + "." + body)>" over the exact bytes.
func khipuVerifyWebhook(secret, header string, body []byte) bool {
	var t, s string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			t = v
		case "s":
			s = v
		}
	}
	if t == "" || s == "" {
		return false
	}
	got, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(t + "."))
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// hambitStringToSign builds Hambit's canonical string: the body's top-level
// keys plus access_key, timestamp and nonce, sorted bytewise, as key=value
// joined by "&", values raw (numbers as their source text), empty values
// skipped or included (hambit.md §5).
func hambitStringToSign(body []byte, accessKey, timestamp, nonce string, includeEmpty bool) (string, error) {
	m := map[string]string{}
	if len(bytes.TrimSpace(body)) > 0 {
		var raw map[string]json.RawMessage
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(&raw); err != nil {
			return "", err
		}
		if raw == nil {
			return "", errors.New("the body is not a JSON object")
		}
		for k, v := range raw {
			s, err := hambitValue(v)
			if err != nil {
				return "", err
			}
			m[k] = s
		}
	}
	delete(m, "sign")
	m["access_key"], m["timestamp"], m["nonce"] = accessKey, timestamp, nonce
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		if m[k] == "" && !includeEmpty {
			continue
		}
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, "&"), nil
}

func hambitValue(v json.RawMessage) (string, error) {
	t := bytes.TrimSpace(v)
	if len(t) == 0 {
		return "", nil
	}
	switch t[0] {
	case '"':
		var s string
		err := json.Unmarshal(t, &s)
		return s, err
	case 'n':
		return "", nil
	case '{', '[':
		var b bytes.Buffer
		err := json.Compact(&b, t)
		return b.String(), err
	}
	return string(t), nil // numbers as sent, true, false
}

// hambitSign returns Base64(HMAC-SHA1(secret, s)).
func hambitSign(secret, s string) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// hambitVerify checks a callback's sign header over the exact body bytes,
// under the account's empty-value convention (skip, or include).
func hambitVerify(secret string, body []byte, accessKey, timestamp, nonce, sign string, includeEmpty bool) bool {
	s, err := hambitStringToSign(body, accessKey, timestamp, nonce, includeEmpty)
	if err != nil {
		return false
	}
	want, _ := base64.StdEncoding.DecodeString(hambitSign(secret, s))
	got, err := base64.StdEncoding.DecodeString(sign)
	return err == nil && hmac.Equal(got, want)
}

// payuConfirmationValue renders a confirmation's value for its sign: two
// decimals, then one trailing zero dropped when the second decimal is 0
// (150.00 → 150.0, 150.26 → 150.26; payu.md §10).
func payuConfirmationValue(value string) (string, error) {
	d, err := emulators.ParseDecimal(value)
	if err != nil {
		return "", err
	}
	s := d.Round(2, emulators.HalfEven).String()
	return strings.TrimSuffix(s, "0"), nil
}

// payuResponseValue renders a response page's TX_VALUE for its signature:
// one decimal, half-even (payu.md §11.2).
func payuResponseValue(value string) (string, error) {
	d, err := emulators.ParseDecimal(value)
	if err != nil {
		return "", err
	}
	return d.Round(1, emulators.HalfEven).String(), nil
}

// payuVerify compares a received md5 hex signature with the expected one.
func payuVerify(received, apiKey, merchantID, reference, value, currency, state string) bool {
	sum := md5.Sum([]byte(apiKey + "~" + merchantID + "~" + reference + "~" + value + "~" + currency + "~" + state))
	got, err := hex.DecodeString(strings.ToLower(strings.TrimSpace(received)))
	return err == nil && hmac.Equal(got, sum[:])
}
