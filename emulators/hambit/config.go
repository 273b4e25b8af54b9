package hambit

import (
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paysandbox/sandbox/emulators"
)

// Config is the hambit: section of the configuration file (spec §4).
type Config struct {
	// Hosts are the real Hambit hosts routed to this tree without the
	// /hambit prefix.
	Hosts []string `yaml:"hosts"`
	// BuiltinAccounts adds the two built-in accounts to the listed ones
	// (they exist anyway when no account is listed).
	BuiltinAccounts bool      `yaml:"builtin_accounts"`
	Accounts        []Account `yaml:"accounts"`
	Callbacks       Callbacks `yaml:"callbacks"`
	// Countries is the table of path segments (spec §2.2).
	Countries []Country `yaml:"countries"`
	// Banks are the bank lists per currency (spec §6.7).
	Banks map[string][]Bank `yaml:"banks"`
	// TimestampWindow is the ± tolerance of the timestamp header (wall clock).
	TimestampWindow time.Duration `yaml:"timestamp_window"`
	// NodeTag is the 8-character node part of order ids (spec §7.2).
	NodeTag string `yaml:"node_tag"`
	// SequenceStart is the first sequence number of order ids.
	SequenceStart int64 `yaml:"sequence_start"`
	// Payout holds the default step delays of transfers (spec §9).
	Payout PayoutTiming `yaml:"payout"`
}

// Callbacks configure the delivery of callbacks (spec §10).
type Callbacks struct {
	// Timeout is the per-attempt HTTP timeout (wall clock).
	Timeout time.Duration `yaml:"timeout"`
	// Retry are the intervals between attempts after a failure (scaled).
	Retry []time.Duration `yaml:"retry"`
}

// PayoutTiming are the waits of the transfer lifecycle (scaled).
type PayoutTiming struct {
	ProcessingAfter time.Duration `yaml:"processing_after"` // 1 Accepted → 2 In bank processing
	FinalAfter      time.Duration `yaml:"final_after"`      // 2 → 8, 4 or 16
}

// Country is one path segment: /api/v3/{segment}/… in its currency.
type Country struct {
	Segment  string `yaml:"segment"`
	Currency string `yaml:"currency"`
	// Products are optional path segments after the country that reach the
	// same handlers (/api/v3/mex/bankTransfers/createCollectingOrder).
	Products []string `yaml:"products"`
	// MinAmount and MaxAmount bound order amounts; zero means no bound.
	MinAmount emulators.Decimal `yaml:"min_amount"`
	MaxAmount emulators.Decimal `yaml:"max_amount"`
}

// Bank is one entry of a currency's bank list.
type Bank struct {
	Name string `yaml:"name"`
	Code string `yaml:"code"`
}

// Account is one API key of one merchant (spec §4).
type Account struct {
	AccessKey string `yaml:"access_key"`
	SecretKey string `yaml:"secret_key"`
	// IPWhitelist lists IPs or CIDRs; empty, or containing 0.0.0.0, allows any IP.
	IPWhitelist []string `yaml:"ip_whitelist"`
	// Permissions is a subset of collect, payout; empty means both.
	Permissions  []string `yaml:"permissions"`
	MerchantName string   `yaml:"merchant_name"`
	// MerchantID is the 19-digit merchant id (0: derived from the access key).
	MerchantID int64 `yaml:"merchant_id"`
	// Balances are the initial available balances per currency.
	Balances  map[string]emulators.Decimal `yaml:"balances"`
	NotifyURL string                       `yaml:"notify_url"`
	Fees      Fees                         `yaml:"fees"`
	// CallbackAmounts is string (default) or numeric (payment callbacks, spec §10.3).
	CallbackAmounts string `yaml:"callback_amounts"`
	// CallbackEmptyValues is skip (default) or include (outgoing signatures, spec §5.4).
	CallbackEmptyValues string `yaml:"callback_empty_values"`
}

// Fees are an account's fee rules per direction (spec §7.4).
type Fees struct {
	Collect Fee `yaml:"collect"`
	Payout  Fee `yaml:"payout"`
}

// Fee is round_half_up(amount × percent / 100) + fixed. A nil Percent means 1.
type Fee struct {
	Percent *emulators.Decimal `yaml:"percent"`
	Fixed   emulators.Decimal  `yaml:"fixed"`
}

// Built-in accounts (spec §4).
const (
	DefaultAccessKey = "SBXFAKE1"
	DefaultSecretKey = "sandbox-fake-hambit-secret"
	SampleAccessKey  = "pFqV75X3"
	SampleSecretKey  = "emulator-test-secret"
)

// DefaultConfig returns the built-in defaults.
func DefaultConfig() Config {
	retry := make([]time.Duration, 9)
	for i := range retry {
		retry[i] = 3 * time.Minute
	}
	return Config{
		Hosts:           []string{"apis.hambit.co", "t-apis.hambit.co"},
		Callbacks:       Callbacks{Timeout: 10 * time.Second, Retry: retry},
		Countries:       defaultCountries(),
		Banks:           map[string][]Bank{"CLP": chileBanks()},
		TimestampWindow: 300 * time.Second,
		NodeTag:         "SANDBOX1",
		SequenceStart:   1,
		Payout:          PayoutTiming{ProcessingAfter: time.Second, FinalAfter: 2 * time.Second},
	}
}

func defaultCountries() []Country {
	one := emulators.DecimalFromInt(1)
	return []Country{
		{Segment: "chl", Currency: "CLP", MinAmount: one},
		{Segment: "cl", Currency: "CLP", MinAmount: one},
		{Segment: "bra", Currency: "BRL", Products: []string{"pix"}, MinAmount: one},
		{Segment: "mex", Currency: "MXN", Products: []string{"bankTransfers"}, MinAmount: one},
		{Segment: "vn", Currency: "VND", MinAmount: one},
		{Segment: "ph", Currency: "PHP", MinAmount: one},
		{Segment: "ind", Currency: "INR", MinAmount: one},
		{Segment: "col", Currency: "COP", MinAmount: one},
		{Segment: "per", Currency: "PEN", MinAmount: one},
	}
}

// chileBanks is CL §5.8 read row by row without duplicates; 0001 is
// documented, the other codes are stable synthetic ones (spec §6.7).
func chileBanks() []Bank {
	names := []string{
		"Banco de Chile", "Scotiabank", "Banco Internacional", "BCI (Bco de Credito e Inv)", "Banco Estado",
		"Banco do Brasil", "Scotiabank Chile", "Itau-Corpbanca", "BCI", "Banco Bice",
		"Banco Corpbanca", "Hsbc Bank", "Banco Santiago", "HSBC Bank Chile", "Banco Santander",
		"Banco Santander Chile", "Itau Chile", "Itau Corpbanca", "JP Morgan Chase Bank N.A.", "Banco Security",
		"Banco de La Nacion Argentina", "Banco Falabella", "The bank of Tokio-Mitsubishi UFJ, LTD", "Banco Ripley", "Rabobank Chile",
		"Banco Consorcio", "Deutsche Bank (Chile)", "Banco Penta", "Banco Paris", "Rabobank",
		"Banco BTG Pactual Chile", "BBVA", "Coopeuch", "Caja los Andes", "Banco Ptg Pactual",
		"Tenpo", "Banco Nuevo", "Los Andes", "Prepago Los Heroes", "Mercado Pago",
		"BBVA (Bco Bilbao Vizcaya Arg)", "Banco de Chile - Edwards", "Banco del Desarrollo", "Banco Estado (Banco del Estado de Chile)",
	}
	out := make([]Bank, len(names))
	for i, n := range names {
		out[i] = Bank{Name: n, Code: fmt.Sprintf("%04d", i+1)}
	}
	return out
}

// builtinAccounts are the zero-config default and the documentation sample
// (spec §4), with 1000000 in each configured currency.
func (c *Config) builtinAccounts() []Account {
	bal := map[string]emulators.Decimal{}
	for _, ct := range c.Countries {
		bal[ct.Currency] = emulators.DecimalFromInt(1000000)
	}
	return []Account{
		{AccessKey: DefaultAccessKey, SecretKey: DefaultSecretKey, MerchantName: "paysandbox_fake_merchant",
			MerchantID: 1000000000000000001, Balances: maps.Clone(bal)},
		{AccessKey: SampleAccessKey, SecretKey: SampleSecretKey, MerchantName: "hambit_doc_sample",
			MerchantID: 1707285840326127617, Balances: maps.Clone(bal)},
	}
}

// effectiveAccounts is the configured accounts plus the built-ins when the
// section lists none or asks for them.
func (c *Config) effectiveAccounts() []Account {
	out := append([]Account(nil), c.Accounts...)
	if len(c.Accounts) == 0 || c.BuiltinAccounts {
		out = append(out, c.builtinAccounts()...)
	}
	return out
}

var (
	segmentRE  = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
	nodeTagRE  = regexp.MustCompile(`^[A-Z0-9-]{1,8}$`)
	productRE  = regexp.MustCompile(`^[A-Za-z0-9]+$`)
)

// Validate checks the section; each problem is one line "key.path: message".
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	for i, h := range c.Hosts {
		if strings.TrimSpace(h) == "" || strings.ContainsAny(h, "/ :") {
			bad(fmt.Sprintf("hosts[%d]", i), "%q is not a host name (e.g. apis.hambit.co)", h)
		}
	}
	if c.Callbacks.Timeout <= 0 {
		bad("callbacks.timeout", "must be positive (e.g. 10s)")
	}
	for i, d := range c.Callbacks.Retry {
		if d <= 0 {
			bad(fmt.Sprintf("callbacks.retry[%d]", i), "must be positive (e.g. 3m)")
		}
	}
	if c.TimestampWindow <= 0 {
		bad("timestamp_window", "must be positive (e.g. 300s)")
	}
	if !nodeTagRE.MatchString(c.NodeTag) {
		bad("node_tag", "%q: expected 1 to 8 characters of A-Z, 0-9 and - (e.g. SANDBOX1)", c.NodeTag)
	}
	if c.SequenceStart < 1 || c.SequenceStart > maxSequence {
		bad("sequence_start", "%d: expected 1 to %d", c.SequenceStart, maxSequence)
	}
	if c.Payout.ProcessingAfter < 0 {
		bad("payout.processing_after", "must not be negative")
	}
	if c.Payout.FinalAfter < 0 {
		bad("payout.final_after", "must not be negative")
	}
	if len(c.Countries) == 0 {
		bad("countries", "at least one country segment is required (e.g. {segment: chl, currency: CLP})")
	}
	segs := map[string]bool{}
	for i, ct := range c.Countries {
		key := fmt.Sprintf("countries[%d]", i)
		if !segmentRE.MatchString(ct.Segment) {
			bad(key+".segment", "%q: expected a path segment such as chl", ct.Segment)
		} else if segs[ct.Segment] {
			bad(key+".segment", "%q is listed twice", ct.Segment)
		}
		segs[ct.Segment] = true
		if !currencyRE.MatchString(ct.Currency) {
			bad(key+".currency", "%q: expected an ISO 4217 code such as CLP", ct.Currency)
		}
		for j, p := range ct.Products {
			if !productRE.MatchString(p) || operationNames[p] || p == "query" {
				bad(fmt.Sprintf("%s.products[%d]", key, j), "%q: expected a product segment such as pix", p)
			}
		}
		if ct.MinAmount.Sign() < 0 {
			bad(key+".min_amount", "must not be negative")
		}
		if ct.MaxAmount.Sign() < 0 {
			bad(key+".max_amount", "must not be negative")
		}
		if !ct.MaxAmount.IsZero() && ct.MaxAmount.Cmp(ct.MinAmount) < 0 {
			bad(key+".max_amount", "%s is below min_amount %s", ct.MaxAmount, ct.MinAmount)
		}
	}
	for cur, banks := range c.Banks {
		if !currencyRE.MatchString(cur) {
			bad("banks."+cur, "expected an ISO 4217 code such as CLP")
		}
		names := map[string]bool{}
		for i, b := range banks {
			key := fmt.Sprintf("banks.%s[%d]", cur, i)
			if b.Name == "" {
				bad(key+".name", "required")
			} else if names[b.Name] {
				bad(key+".name", "%q is listed twice", b.Name)
			}
			names[b.Name] = true
			if b.Code == "" {
				bad(key+".code", "required")
			}
		}
	}
	keys := map[string]int{}
	for i, a := range c.effectiveAccounts() {
		key := fmt.Sprintf("accounts[%d]", i)
		if i >= len(c.Accounts) {
			key = "builtin account " + a.AccessKey
		}
		for _, p := range a.problems() {
			errs = append(errs, fmt.Errorf("%s.%s", key, p))
		}
		if a.AccessKey != "" {
			if j, dup := keys[a.AccessKey]; dup {
				bad(key+".access_key", "%q is also used by accounts[%d]", a.AccessKey, j)
			}
			keys[a.AccessKey] = i
		}
	}
	return errors.Join(errs...)
}

// problems lists what is wrong with one account, each "key: message".
func (a *Account) problems() []string {
	var out []string
	bad := func(key, format string, args ...any) {
		out = append(out, key+": "+fmt.Sprintf(format, args...))
	}
	if a.AccessKey == "" {
		bad("access_key", "required")
	} else if strings.ContainsAny(a.AccessKey, " \t\r\n") {
		bad("access_key", "must not contain white space")
	}
	if a.SecretKey == "" {
		bad("secret_key", "required")
	}
	for i, ip := range a.IPWhitelist {
		if _, err := parseIPEntry(ip); err != nil {
			bad(fmt.Sprintf("ip_whitelist[%d]", i), "%v", err)
		}
	}
	for i, p := range a.Permissions {
		if p != permCollect && p != permPayout {
			bad(fmt.Sprintf("permissions[%d]", i), "%q: expected collect or payout", p)
		}
	}
	if a.MerchantID != 0 && (a.MerchantID < 1e18 || a.MerchantID > 9e18) {
		bad("merchant_id", "%d: expected a 19-digit id such as 1707285840326127617", a.MerchantID)
	}
	for cur, v := range a.Balances {
		if !currencyRE.MatchString(cur) {
			bad("balances."+cur, "expected an ISO 4217 code such as CLP")
		}
		if v.Sign() < 0 {
			bad("balances."+cur, "must not be negative")
		}
	}
	if a.NotifyURL != "" {
		if msg := checkURL(a.NotifyURL); msg != "" {
			bad("notify_url", "%s", msg)
		}
	}
	for _, f := range []struct {
		key string
		fee Fee
	}{{"fees.collect", a.Fees.Collect}, {"fees.payout", a.Fees.Payout}} {
		if f.fee.Percent != nil && (f.fee.Percent.Sign() < 0 || f.fee.Percent.Cmp(emulators.DecimalFromInt(100)) > 0) {
			bad(f.key+".percent", "%s: expected 0 to 100", f.fee.Percent)
		}
		if f.fee.Fixed.Sign() < 0 {
			bad(f.key+".fixed", "must not be negative")
		}
	}
	switch a.CallbackAmounts {
	case "", amountsString, amountsNumeric:
	default:
		bad("callback_amounts", "%q: expected string or numeric", a.CallbackAmounts)
	}
	switch a.CallbackEmptyValues {
	case "", "skip", "include":
	default:
		bad("callback_empty_values", "%q: expected skip or include", a.CallbackEmptyValues)
	}
	return out
}

// parseIPEntry parses an IP or a CIDR of a whitelist.
func parseIPEntry(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an IP or CIDR (e.g. 10.0.0.0/8)", s)
		}
		return p.Masked(), nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP or CIDR (e.g. 203.0.113.7)", s)
	}
	ip = ip.Unmap()
	return netip.PrefixFrom(ip, ip.BitLen()), nil
}

// checkURL returns why s is not an absolute http(s) URL, or "".
func checkURL(s string) string {
	if strings.ContainsAny(s, " \t\r\n") {
		return "must be an absolute http or https URL without spaces"
	}
	u, err := url.Parse(s)
	if err != nil || (!strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https")) || u.Host == "" {
		return "must be an absolute http or https URL"
	}
	return ""
}

// Permissions of an account.
const (
	permCollect = "collect"
	permPayout  = "payout"
)

// Callback amount formats.
const (
	amountsString  = "string"
	amountsNumeric = "numeric"
)

// account is an Account ready for use.
type account struct {
	Account
	nets         []netip.Prefix
	anyIP        bool
	perms        map[string]bool
	merchantID   int64
	merchantName string
	collectFee   feeRule
	payoutFee    feeRule
}

type feeRule struct{ percent, fixed emulators.Decimal }

// fee computes round_half_up(amount × percent / 100, places) + fixed (spec §7.4).
func (f feeRule) fee(amount emulators.Decimal, places int) emulators.Decimal {
	v := amount.Mul(f.percent).Mul(emulators.NewDecimal(1, 2)).Round(places, emulators.HalfUp)
	return v.Add(f.fixed).Normalize()
}

func newAccount(a Account) *account {
	acc := &account{Account: a, perms: map[string]bool{}}
	for _, s := range a.IPWhitelist {
		p, err := parseIPEntry(s)
		if err != nil {
			continue // Validate reported it
		}
		if p.Addr().IsUnspecified() {
			acc.anyIP = true
		}
		acc.nets = append(acc.nets, p)
	}
	if len(acc.nets) == 0 {
		acc.anyIP = true
	}
	if len(a.Permissions) == 0 {
		acc.perms[permCollect], acc.perms[permPayout] = true, true
	}
	for _, p := range a.Permissions {
		acc.perms[p] = true
	}
	acc.merchantID = a.MerchantID
	if acc.merchantID == 0 {
		h := fnv.New64a()
		h.Write([]byte(a.AccessKey))
		acc.merchantID = 1_000_000_000_000_000_000 + int64(h.Sum64()%8_000_000_000_000_000_000)
	}
	acc.merchantName = a.MerchantName
	if acc.merchantName == "" {
		acc.merchantName = "merchant_" + a.AccessKey
	}
	rule := func(f Fee) feeRule {
		r := feeRule{percent: emulators.DecimalFromInt(1), fixed: f.Fixed}
		if f.Percent != nil {
			r.percent = *f.Percent
		}
		return r
	}
	acc.collectFee, acc.payoutFee = rule(a.Fees.Collect), rule(a.Fees.Payout)
	return acc
}

// allowsIP reports whether the caller's IP passes the whitelist.
func (a *account) allowsIP(ip netip.Addr) bool {
	if a.anyIP {
		return true
	}
	ip = ip.Unmap()
	for _, p := range a.nets {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (a *account) includeEmpty() bool { return a.CallbackEmptyValues == "include" }

func (a *account) permissionList() string {
	var ps []string
	for _, p := range []string{permCollect, permPayout} {
		if a.perms[p] {
			ps = append(ps, p)
		}
	}
	return strings.Join(ps, ", ")
}

// currencyPlaces is the number of decimals an amount may have (spec §2.2).
func currencyPlaces(currency string) int {
	if currency == "CLP" {
		return 0
	}
	return 2
}

// currencies lists the currencies of the country table, in order.
func (c *Config) currencies() []string {
	var out []string
	for _, ct := range c.Countries {
		if !slices.Contains(out, ct.Currency) {
			out = append(out, ct.Currency)
		}
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
