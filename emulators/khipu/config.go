package khipu

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/paysandbox/sandbox/emulators"
)

// Config is the khipu: section of the configuration file (§3;
// docs/design.md, Configuration file). Lists given in the file replace the defaults.
type Config struct {
	// Hosts are the real Khipu hosts routed to the production tree (§2.1).
	Hosts []string `yaml:"hosts"`
	// BuiltinAccounts adds the built-in receiver 123456 even when Receivers
	// lists others (it is always present when Receivers is empty).
	BuiltinAccounts bool `yaml:"builtin_accounts"`
	// Receivers are the collection accounts (§3.1).
	Receivers []Receiver `yaml:"receivers"`
	// Callbacks configure the delivery of notifications (§3.3, §13.3).
	Callbacks Callbacks `yaml:"callbacks"`
	// Banks are the banks the API lists and the payer pages offer (§3.2).
	Banks []Bank `yaml:"banks"`
	// Verify holds Khipu's verification delays (§3.3).
	Verify Verify `yaml:"verify"`
	// MaxBody bounds request bodies (§3.3): "10MiB", "512KiB" or bytes.
	MaxBody ByteSize `yaml:"max_body"`
}

// Callbacks configure the delivery of notifications.
type Callbacks struct {
	// Timeout is the per-attempt HTTP timeout (wall-clock).
	Timeout time.Duration `yaml:"timeout"`
	// Retry are the intervals between attempts after a failure (waits).
	Retry []time.Duration `yaml:"retry"`
	// Window is the time after the first attempt after which no attempt starts (a wait).
	Window time.Duration `yaml:"window"`
}

// Verify holds the delays of Khipu's verification of a transfer (waits).
type Verify struct {
	SimplifiedDelay time.Duration `yaml:"simplified_delay"`
	ManualDelay     time.Duration `yaml:"manual_delay"`
}

// Receiver is a collection account (§3.1). Keys left out take the
// documented defaults.
type Receiver struct {
	ReceiverID int64  `yaml:"receiver_id"`
	Secret     string `yaml:"secret"`
	APIKey     string `yaml:"api_key"`
	// Name is shown on the payer pages ("Destinatario"); default "Cobrador Sandbox".
	Name string `yaml:"name"`
	// Kind is developer (only test banks; default) or production.
	Kind string `yaml:"kind"`
	// MaxAmount is the CLP maximum per payment; default 50000, 0 = no limit.
	MaxAmount *emulators.Decimal `yaml:"max_amount"`
	// NotifyURL is the default notification URL of the account.
	NotifyURL string `yaml:"notify_url"`
	// NotifyAPIVersion is the default notification API: "1.3" (default) or "3.0".
	NotifyAPIVersion string `yaml:"notify_api_version"`
	// ConfirmEnabled says whether POST /payments/{id}/confirm is contracted (default true).
	ConfirmEnabled *bool `yaml:"confirm_enabled"`
	// RefundsEnabled says whether refunds are allowed (default true).
	RefundsEnabled *bool `yaml:"refunds_enabled"`
}

// Bank is one bank of the list (§3.2).
type Bank struct {
	BankID    string            `yaml:"bank_id"`
	Name      string            `yaml:"name"`
	Type      string            `yaml:"type"`
	MinAmount emulators.Decimal `yaml:"min_amount"`
	Parent    string            `yaml:"parent"`
	// Test banks are the only ones developer receivers see.
	Test    bool   `yaml:"test"`
	Message string `yaml:"message"`
	LogoURL string `yaml:"logo_url"`
}

// Built-in receiver values (§3.1): deliberately fake.
const (
	DefaultReceiverID = 123456
	DefaultSecret     = "sbx-khipu-secret-NOT-REAL"
	DefaultAPIKey     = "sbx-khipu-apikey-NOT-REAL"
	defaultName       = "Cobrador Sandbox"
)

const (
	kindDeveloper  = "developer"
	kindProduction = "production"
)

const demoBankMessage = "Este es un banco de pruebas. Las transacciones no son reales."
const demoBankLogo = "https://s3.amazonaws.com/static.khipu.com/logos/bancos/chile/demobank-icon.png"

// DefaultConfig returns the built-in defaults of §3.
func DefaultConfig() Config {
	return Config{
		Hosts: []string{"khipu.com", "payment-api.khipu.com"},
		Callbacks: Callbacks{
			Timeout: 30 * time.Second,
			Retry: []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 30 * time.Minute,
				time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 12 * time.Hour, 12 * time.Hour},
			Window: 48 * time.Hour,
		},
		Banks: []Bank{
			{BankID: "Bawdf", Name: "DemoBank", Type: "Persona", MinAmount: emulators.DecimalFromInt(200), Test: true, Message: demoBankMessage, LogoURL: demoBankLogo},
			{BankID: "Qwert", Name: "DemoBank2", Type: "Persona", MinAmount: emulators.DecimalFromInt(100), Test: true, Message: demoBankMessage, LogoURL: demoBankLogo},
		},
		Verify:  Verify{SimplifiedDelay: 2 * time.Second, ManualDelay: 10 * time.Second},
		MaxBody: 10 << 20,
	}
}

// builtinReceiver is the zero-configuration receiver of §3.1.
func builtinReceiver() Receiver {
	return Receiver{ReceiverID: DefaultReceiverID, Secret: DefaultSecret, APIKey: DefaultAPIKey}
}

// effectiveReceivers returns the configured receivers plus the built-in
// one when none is configured or builtin_accounts is set.
func (c *Config) effectiveReceivers() []Receiver {
	out := append([]Receiver(nil), c.Receivers...)
	if len(out) == 0 || c.BuiltinAccounts {
		out = append(out, builtinReceiver())
	}
	return out
}

// Validate checks the section; each problem is one line "key.path: message".
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	for i, h := range c.Hosts {
		if strings.TrimSpace(h) == "" || strings.ContainsAny(h, "/: ") {
			bad(fmt.Sprintf("hosts[%d]", i), "%q: expected a host name such as khipu.com", h)
		}
	}
	ids := map[int64]string{}
	keys := map[string]string{}
	if c.BuiltinAccounts || len(c.Receivers) == 0 {
		ids[DefaultReceiverID] = "the built-in receiver"
		keys[DefaultAPIKey] = "the built-in receiver"
	}
	for i, r := range c.Receivers {
		key := fmt.Sprintf("receivers[%d]", i)
		switch {
		case r.ReceiverID <= 0:
			bad(key+".receiver_id", "required: a positive integer")
		case ids[r.ReceiverID] != "":
			bad(key+".receiver_id", "%d is also used by %s", r.ReceiverID, ids[r.ReceiverID])
		default:
			ids[r.ReceiverID] = key
		}
		if r.Secret == "" {
			bad(key+".secret", "required")
		}
		switch {
		case r.APIKey == "":
			bad(key+".api_key", "required")
		case keys[r.APIKey] != "":
			bad(key+".api_key", "also used by %s", keys[r.APIKey])
		default:
			keys[r.APIKey] = key
		}
		if r.Kind != "" && r.Kind != kindDeveloper && r.Kind != kindProduction {
			bad(key+".kind", "%q: expected developer or production", r.Kind)
		}
		if r.MaxAmount != nil && r.MaxAmount.Sign() < 0 {
			bad(key+".max_amount", "%s: expected 0 (no limit) or more", r.MaxAmount)
		}
		if r.NotifyURL != "" && !isHTTPURL(r.NotifyURL) {
			bad(key+".notify_url", "%q: expected an absolute http(s) URL", r.NotifyURL)
		}
		if v := r.NotifyAPIVersion; v != "" && v != "1.3" && v != "3.0" {
			bad(key+".notify_api_version", "%q: expected \"1.3\" or \"3.0\"", v)
		}
	}
	if c.Callbacks.Timeout <= 0 {
		bad("callbacks.timeout", "%v: expected a positive duration such as 30s", c.Callbacks.Timeout)
	}
	for i, d := range c.Callbacks.Retry {
		if d <= 0 {
			bad(fmt.Sprintf("callbacks.retry[%d]", i), "%v: expected a positive duration", d)
		}
	}
	if c.Callbacks.Window < 0 {
		bad("callbacks.window", "%v: expected 0 (no limit) or a positive duration", c.Callbacks.Window)
	}
	bankIDs := map[string]bool{}
	for i, b := range c.Banks {
		key := fmt.Sprintf("banks[%d]", i)
		switch {
		case b.BankID == "":
			bad(key+".bank_id", "required")
		case runeLen(b.BankID) > 5:
			bad(key+".bank_id", "%q: at most 5 characters", b.BankID)
		case bankIDs[b.BankID]:
			bad(key+".bank_id", "%q is listed twice", b.BankID)
		}
		bankIDs[b.BankID] = true
		if b.Name == "" {
			bad(key+".name", "required")
		}
		if b.MinAmount.Sign() < 0 {
			bad(key+".min_amount", "%s: expected 0 or more", b.MinAmount)
		}
	}
	if c.Verify.SimplifiedDelay < 0 {
		bad("verify.simplified_delay", "%v: expected 0 or a positive duration", c.Verify.SimplifiedDelay)
	}
	if c.Verify.ManualDelay < 0 {
		bad("verify.manual_delay", "%v: expected 0 or a positive duration", c.Verify.ManualDelay)
	}
	if c.MaxBody <= 0 {
		bad("max_body", "%d: expected a positive size such as 10MiB", c.MaxBody)
	}
	return errors.Join(errs...)
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// ByteSize is a size in bytes, written in the configuration file as an
// integer or with a unit: 10MiB, 512KiB, 1MB, 2048B.
type ByteSize int64

// UnmarshalYAML accepts an integer or a number followed by B, KB, KiB, MB or MiB.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a size such as 10MiB", n.Line)
	}
	v, err := parseByteSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %v", n.Line, err)
	}
	*b = v
	return nil
}

// MarshalYAML renders the size in bytes.
func (b ByteSize) MarshalYAML() (any, error) { return int64(b), nil }

func parseByteSize(s string) (ByteSize, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("%q: expected a size such as 10MiB, 512KiB or a number of bytes", s)
	}
	return ByteSize(n * mult), nil
}

// receiver is a receiver with its defaults applied; internal receivers
// (payments created for PayU, §13.4) have no credentials.
type receiver struct {
	id               int64
	secret           string
	apiKey           string
	name             string
	kind             string
	maxAmount        emulators.Decimal // 0 = no limit
	notifyURL        string
	notifyAPIVersion string
	confirmEnabled   bool
	refundsEnabled   bool
	internal         bool
	macs             *macPool // keyed HMAC states for secret, this receiver's own
}

func newReceiver(r Receiver) *receiver {
	out := &receiver{
		id: r.ReceiverID, secret: r.Secret, apiKey: r.APIKey, name: r.Name, kind: r.Kind,
		maxAmount: emulators.DecimalFromInt(50000), notifyURL: r.NotifyURL, notifyAPIVersion: r.NotifyAPIVersion,
		confirmEnabled: true, refundsEnabled: true, macs: newMACPool(r.Secret),
	}
	if out.name == "" {
		out.name = defaultName
	}
	if out.kind == "" {
		out.kind = kindDeveloper
	}
	if r.MaxAmount != nil {
		out.maxAmount = *r.MaxAmount
	}
	if out.notifyAPIVersion == "" {
		out.notifyAPIVersion = "1.3"
	}
	if r.ConfirmEnabled != nil {
		out.confirmEnabled = *r.ConfirmEnabled
	}
	if r.RefundsEnabled != nil {
		out.refundsEnabled = *r.RefundsEnabled
	}
	return out
}

// seesBank reports whether the receiver may use bank b (§3.2: developer
// receivers see test banks only).
func (r *receiver) seesBank(b Bank) bool { return b.Test || r.kind == kindProduction }

// belowMinimum reports whether amount in currency is under the bank's
// minimum (§7 F7; like every amount limit, it applies to CLP only).
func (b Bank) belowMinimum(amount emulators.Decimal, currency string) bool {
	return currency == "CLP" && amount.Cmp(b.MinAmount) < 0
}

// findBank returns the bank with the given id (bank ids are unique, Validate).
func findBank(banks []Bank, id string) (Bank, bool) {
	for _, b := range banks {
		if b.BankID == id {
			return b, true
		}
	}
	return Bank{}, false
}

// bankFor returns the bank id names for receiver r, or the field message
// of a bank_id that is unknown (F9) or not visible to r (F10).
func bankFor(banks []Bank, r *receiver, id string) (Bank, string) {
	b, ok := findBank(banks, id)
	switch {
	case !ok:
		return Bank{}, msgBankUnknown
	case !r.seesBank(b):
		return Bank{}, msgBankDeveloper
	}
	return b, ""
}
