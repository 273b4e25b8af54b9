package payu

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/paysandbox/sandbox/emulators"
)

// Config is the payu: section of the configuration file (docs/payu.md
// §5 and the dotted names of the spec, e.g. payu.webpay.token_ttl).
type Config struct {
	Hosts           []string   `yaml:"hosts"`
	BuiltinAccounts bool       `yaml:"builtin_accounts"`
	Merchants       []Merchant `yaml:"merchants"`
	Callbacks       Callbacks  `yaml:"callbacks"`

	// SignatureMode is checked (default), lenient or strict (§7.4).
	SignatureMode string `yaml:"signature_mode"`
	// Validation is lenient (default) or strict (§4.3).
	Validation string `yaml:"validation"`
	// ResponseFormat is request (default: answer in the request's format) or
	// xml (always XML unless Accept names JSON) (§3.2).
	ResponseFormat string `yaml:"response_format"`
	// XMLDates is bogota (default) or epoch_millis (§3.4).
	XMLDates string `yaml:"xml_dates"`

	IDs           IDs           `yaml:"ids"`
	Cards         Cards         `yaml:"cards"`
	PendingReview PendingReview `yaml:"pending_review"`
	WebPay        WebPay        `yaml:"webpay"`
	Khipu         KhipuConfig   `yaml:"khipu"`
	Refund        RefundConfig  `yaml:"refund"`
}

// Callbacks configure the confirmation page deliveries (§10).
type Callbacks struct {
	Timeout time.Duration   `yaml:"timeout"`
	Retry   []time.Duration `yaml:"retry"`
	// PostPaymentTransactions also notifies CAPTURE, VOID, REFUND and
	// PARTIAL_REFUND decisions.
	PostPaymentTransactions bool `yaml:"post_payment_transactions"`
}

// IDs configure the generated identifiers (§13).
type IDs struct {
	OrderIDStart int64 `yaml:"order_id_start"`
}

// Cards configure the card decision table (§7.5).
type Cards struct {
	// DefaultOutcome decides rule 11 (approve or decline).
	DefaultOutcome  string   `yaml:"default_outcome"`
	PrepaidPrefixes []string `yaml:"prepaid_prefixes"`
}

// PendingReview optionally decides PENDING_REVIEW cards by itself.
type PendingReview struct {
	AutoDecide *AutoDecide `yaml:"auto_decide"`
}

// AutoDecide is a wait and an outcome (approve or decline).
type AutoDecide struct {
	Delay   time.Duration `yaml:"delay"`
	Outcome string        `yaml:"outcome"`
}

// WebPay configures the emulated WebPay Plus page (§7.6).
type WebPay struct {
	TokenTTL time.Duration `yaml:"token_ttl"`
}

// KhipuConfig configures payments through the Khipu emulator (§7.7).
type KhipuConfig struct {
	ReceiverID int64         `yaml:"receiver_id"`
	PaymentTTL time.Duration `yaml:"payment_ttl"`
}

// RefundConfig configures the refund review (§8).
type RefundConfig struct {
	ReviewDelay time.Duration `yaml:"review_delay"`
}

// Merchant is a PayU merchant with its accounts (§5).
type Merchant struct {
	MerchantID    int64     `yaml:"merchant_id"`
	APILogin      string    `yaml:"api_login"`
	APIKey        string    `yaml:"api_key"`
	PublicKey     string    `yaml:"public_key"`
	SignatureMode string    `yaml:"signature_mode"`
	Name          string    `yaml:"name"`
	Address       string    `yaml:"address"`
	Phone         string    `yaml:"phone"`
	URL           string    `yaml:"url"`
	Accounts      []Account `yaml:"accounts"`
}

// Account is one of a merchant's accounts (one per country in PayU).
type Account struct {
	AccountID       int64    `yaml:"account_id"`
	Currencies      []string `yaml:"currencies"`
	TwoStepFlow     *bool    `yaml:"two_step_flow"` // default true
	AllowNoCVV      *bool    `yaml:"allow_no_cvv"`  // default true
	ConfirmationURL string   `yaml:"confirmation_url"`
	ResponseURL     string   `yaml:"response_url"`
	// MinAmount is the smallest order value (0: none).
	MinAmount emulators.Decimal `yaml:"min_amount"`
}

func (a Account) twoStep() bool    { return a.TwoStepFlow == nil || *a.TwoStepFlow }
func (a Account) allowNoCVV() bool { return a.AllowNoCVV == nil || *a.AllowNoCVV }

func (a Account) accepts(currency string) bool {
	if len(a.Currencies) == 0 {
		return currency == "CLP"
	}
	for _, c := range a.Currencies {
		if strings.EqualFold(c, currency) {
			return true
		}
	}
	return false
}

// The documented public test merchant (DOC-TEST), built in.
const (
	TestMerchantID = 508029
	TestAPILogin   = "pRRXKOl8ikMmt9u"
	TestAPIKey     = "4Vj8eK4rloUd272L48hsrarnUA"
	TestPublicKey  = "PKaC6H4cEDJD919n705L544kSU"
	TestAccountID  = 512325
)

// BuiltinMerchant returns the documented test merchant with its Chile account.
func BuiltinMerchant() Merchant {
	return Merchant{
		MerchantID: TestMerchantID, APILogin: TestAPILogin, APIKey: TestAPIKey, PublicKey: TestPublicKey,
		Name: "Sandbox Test Store", Address: "Av. Providencia 1234, Santiago", Phone: "7563126",
		URL:      "http://www.payu.com",
		Accounts: []Account{{AccountID: TestAccountID, Currencies: []string{"CLP"}}},
	}
}

// DefaultConfig returns the built-in defaults.
func DefaultConfig() Config {
	return Config{
		Hosts: []string{"sandbox.api.payulatam.com", "api.payulatam.com"},
		Callbacks: Callbacks{
			Timeout: 10 * time.Second,
			Retry: []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute,
				16 * time.Minute, 32 * time.Minute, 60 * time.Minute, 60 * time.Minute},
		},
		SignatureMode:  ModeChecked,
		Validation:     "lenient",
		ResponseFormat: "request",
		XMLDates:       "bogota",
		IDs:            IDs{OrderIDStart: 1400000000},
		Cards:          Cards{DefaultOutcome: "approve"},
		WebPay:         WebPay{TokenTTL: 5*time.Hour + 15*time.Minute},
		Khipu:          KhipuConfig{ReceiverID: 900000, PaymentTTL: 24 * time.Hour},
		Refund:         RefundConfig{ReviewDelay: 60 * time.Second},
	}
}

// Signature modes (§7.4).
const (
	ModeChecked = "checked"
	ModeLenient = "lenient"
	ModeStrict  = "strict"
)

func validMode(m string) bool { return m == ModeChecked || m == ModeLenient || m == ModeStrict }

// Validate checks the section; each problem is one line "key.path: message".
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	for i, h := range c.Hosts {
		if strings.TrimSpace(h) == "" || strings.ContainsAny(h, "/ ") {
			bad(fmt.Sprintf("hosts[%d]", i), "%q is not a host name", h)
		}
	}
	if c.Callbacks.Timeout < 0 {
		bad("callbacks.timeout", "must not be negative")
	}
	for i, d := range c.Callbacks.Retry {
		if d <= 0 {
			bad(fmt.Sprintf("callbacks.retry[%d]", i), "%v: expected a positive duration", d)
		}
	}
	if !validMode(c.SignatureMode) {
		bad("signature_mode", "%q: expected checked, lenient or strict", c.SignatureMode)
	}
	if c.Validation != "lenient" && c.Validation != "strict" {
		bad("validation", "%q: expected lenient or strict", c.Validation)
	}
	if c.ResponseFormat != "request" && c.ResponseFormat != "xml" {
		bad("response_format", "%q: expected request or xml", c.ResponseFormat)
	}
	if c.XMLDates != "bogota" && c.XMLDates != "epoch_millis" {
		bad("xml_dates", "%q: expected bogota or epoch_millis", c.XMLDates)
	}
	if c.IDs.OrderIDStart <= 0 {
		bad("ids.order_id_start", "%d: expected a positive number", c.IDs.OrderIDStart)
	}
	if o := c.Cards.DefaultOutcome; o != "approve" && o != "decline" {
		bad("cards.default_outcome", "%q: expected approve or decline", o)
	}
	for i, p := range c.Cards.PrepaidPrefixes {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			bad(fmt.Sprintf("cards.prepaid_prefixes[%d]", i), "%q: expected digits", p)
		}
	}
	if a := c.PendingReview.AutoDecide; a != nil {
		if a.Delay < 0 {
			bad("pending_review.auto_decide.delay", "must not be negative")
		}
		if a.Outcome != "approve" && a.Outcome != "decline" {
			bad("pending_review.auto_decide.outcome", "%q: expected approve or decline", a.Outcome)
		}
	}
	if c.WebPay.TokenTTL <= 0 {
		bad("webpay.token_ttl", "%v: expected a positive duration", c.WebPay.TokenTTL)
	}
	if c.Khipu.ReceiverID <= 0 {
		bad("khipu.receiver_id", "%d: expected a positive number", c.Khipu.ReceiverID)
	}
	if c.Khipu.PaymentTTL <= 0 {
		bad("khipu.payment_ttl", "%v: expected a positive duration", c.Khipu.PaymentTTL)
	}
	if c.Refund.ReviewDelay < 0 {
		bad("refund.review_delay", "must not be negative")
	}
	merchants := map[int64]string{}
	logins := map[string]string{}
	accounts := map[int64]string{}
	for i, m := range c.Merchants {
		key := fmt.Sprintf("merchants[%d]", i)
		if m.MerchantID <= 0 {
			bad(key+".merchant_id", "required (a positive number)")
		} else if other, dup := merchants[m.MerchantID]; dup {
			bad(key+".merchant_id", "%d is also used by %s", m.MerchantID, other)
		} else {
			merchants[m.MerchantID] = key
		}
		if m.APILogin == "" {
			bad(key+".api_login", "required")
		} else if other, dup := logins[m.APILogin]; dup {
			bad(key+".api_login", "%q is also used by %s", m.APILogin, other)
		} else {
			logins[m.APILogin] = key
		}
		if m.APIKey == "" {
			bad(key+".api_key", "required")
		}
		if m.SignatureMode != "" && !validMode(m.SignatureMode) {
			bad(key+".signature_mode", "%q: expected checked, lenient or strict", m.SignatureMode)
		}
		if len(m.Accounts) == 0 {
			bad(key+".accounts", "required (at least one account_id)")
		}
		for j, a := range m.Accounts {
			akey := fmt.Sprintf("%s.accounts[%d]", key, j)
			if a.AccountID <= 0 {
				bad(akey+".account_id", "required (a positive number)")
			} else if other, dup := accounts[a.AccountID]; dup {
				bad(akey+".account_id", "%d is also used by %s", a.AccountID, other)
			} else {
				accounts[a.AccountID] = akey
			}
			for k, cur := range a.Currencies {
				if len(cur) != 3 {
					bad(fmt.Sprintf("%s.currencies[%d]", akey, k), "%q: expected an ISO 4217 code", cur)
				}
			}
			if a.MinAmount.Sign() < 0 {
				bad(akey+".min_amount", "must not be negative")
			}
		}
	}
	return errors.Join(errs...)
}

// merchants returns the merchants in force: the configured ones, plus the
// built-in test merchant when none is configured or builtin_accounts is set.
func (c *Config) merchants() []Merchant {
	out := append([]Merchant(nil), c.Merchants...)
	if len(out) == 0 || c.BuiltinAccounts {
		b := BuiltinMerchant()
		for _, m := range out {
			if m.MerchantID == b.MerchantID || m.APILogin == b.APILogin {
				return out
			}
		}
		out = append(out, b)
	}
	return out
}
