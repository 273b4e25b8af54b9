package payu

import "time"

// Config is the payu: section of the configuration file.
type Config struct {
	Hosts           []string   `yaml:"hosts"`
	BuiltinAccounts bool       `yaml:"builtin_accounts"`
	Merchants       []Merchant `yaml:"merchants"`
	Callbacks       Callbacks  `yaml:"callbacks"`
}

// Callbacks configure the delivery of callbacks.
type Callbacks struct {
	Timeout time.Duration   `yaml:"timeout"`
	Retry   []time.Duration `yaml:"retry"`
}

// DefaultConfig returns the built-in defaults.
func DefaultConfig() Config {
	return Config{}
}

// Validate checks the section; errors name the key.
func (c *Config) Validate() error { return nil }

// Merchant is a PayU merchant with its accounts.
type Merchant struct {
	MerchantID int64  `yaml:"merchant_id"`
	APILogin   string `yaml:"api_login"`
	APIKey     string `yaml:"api_key"`
}
