package khipu

import "time"

// Config is the khipu: section of the configuration file.
type Config struct {
	Hosts           []string   `yaml:"hosts"`
	BuiltinAccounts bool       `yaml:"builtin_accounts"`
	Receivers       []Receiver `yaml:"receivers"`
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

// Receiver is a collection account.
type Receiver struct {
	ReceiverID int64  `yaml:"receiver_id"`
	Secret     string `yaml:"secret"`
	APIKey     string `yaml:"api_key"`
}
