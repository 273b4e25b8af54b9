package hambit

import "time"

// Config is the hambit: section of the configuration file.
type Config struct {
	Hosts           []string  `yaml:"hosts"`
	BuiltinAccounts bool      `yaml:"builtin_accounts"`
	Accounts        []Account `yaml:"accounts"`
	Callbacks       Callbacks `yaml:"callbacks"`
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

// Account is one API key of one merchant.
type Account struct {
	AccessKey string `yaml:"access_key"`
	SecretKey string `yaml:"secret_key"`
}
