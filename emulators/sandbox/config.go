package sandbox

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/paysandbox/sandbox/emulators/hambit"
	"github.com/paysandbox/sandbox/emulators/khipu"
	"github.com/paysandbox/sandbox/emulators/payu"
	"github.com/paysandbox/sandbox/scenarios"
)

// Config is the whole sandbox configuration: the configuration file's
// layout (docs/design.md, Configuration file), after flags and SANDBOX_*
// variables have been applied on top of it.
type Config struct {
	Addr         string  `yaml:"addr"`
	PublicURL    string  `yaml:"public_url"`
	LogLevel     string  `yaml:"log_level"`
	LogFormat    string  `yaml:"log_format"`
	TimeScale    float64 `yaml:"time_scale"`
	AdminToken   string  `yaml:"admin_token"`
	DebugHeaders bool    `yaml:"debug_headers"`
	Scenario     string  `yaml:"scenario"`
	ScenariosDir string  `yaml:"scenarios_dir"`
	Seed         *int64  `yaml:"seed"`
	MaxObjects   int     `yaml:"max_objects"`
	// DataDir keeps state across restarts (the local CA under ca/); "" =
	// none, and the CA cannot be created. The command fills in
	// DefaultDataDir.
	DataDir string `yaml:"data_dir"`
	// Persist keeps every provider's objects, the clock offset and the
	// uploaded and active scenarios in DataDir/state.db across restarts
	// (issue #18). Off by default: memory only.
	Persist bool `yaml:"persist"`
	// TLSAddr is the HTTPS listener's address ("" = none).
	TLSAddr string `yaml:"tls_addr"`
	// TLSCACert and TLSCAKey name a CA of the user's (PEM) used instead of
	// the one kept in DataDir.
	TLSCACert string `yaml:"tls_ca_cert"`
	TLSCAKey  string `yaml:"tls_ca_key"`
	// AllowedHosts are extra Host names the admin API and dashboard answer
	// (Docker service names); ".example.test" allows every subdomain.
	AllowedHosts []string      `yaml:"allowed_hosts"`
	Khipu        khipu.Config  `yaml:"khipu"`
	Hambit       hambit.Config `yaml:"hambit"`
	PayU         payu.Config   `yaml:"payu"`

	src        *configSource   // the file the configuration was read from
	overridden map[string]bool // top-level keys set by a flag or variable
}

// configSource remembers the file's nodes so that Validate can name the
// line of a bad value.
type configSource struct {
	name string
	root *yaml.Node
}

// Override records that a flag or SANDBOX_* variable set this top-level
// key: a bad value of it is then not blamed on the file's line.
func (c *Config) Override(key string) {
	if c.overridden == nil {
		c.overridden = map[string]bool{}
	}
	c.overridden[key] = true
}

// DefaultAddr is where the sandbox listens with no configuration.
const DefaultAddr = "127.0.0.1:8080"

// DefaultMaxObjects is how many objects of each kind a provider keeps
// (payments, orders); beyond it the oldest are forgotten, so a sandbox
// under sustained load stays within its memory.
const DefaultMaxObjects = 100_000

// DefaultConfig returns the built-in defaults: zero configuration works.
func DefaultConfig() Config {
	return Config{
		Addr:         DefaultAddr,
		LogLevel:     "info",
		LogFormat:    "text",
		TimeScale:    1,
		DebugHeaders: true,
		Scenario:     scenarios.DefaultScenario,
		MaxObjects:   DefaultMaxObjects,
		Khipu:        khipu.DefaultConfig(),
		Hambit:       hambit.DefaultConfig(),
		PayU:         payu.DefaultConfig(),
	}
}

// LoadConfigFile decodes a configuration file over cfg. Loading is strict:
// unknown keys, wrong types and bad durations are errors naming the file,
// line and key, all reported at once.
func LoadConfigFile(path string, cfg *Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	return DecodeConfig(path, data, cfg)
}

// DecodeConfig is LoadConfigFile for text already read.
func DecodeConfig(name string, data []byte, cfg *Config) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := scenarios.SyntaxError(data, err)
		if line > 0 {
			return fmt.Errorf("%s:%d: %s", name, line, msg)
		}
		return fmt.Errorf("%s: %s", name, msg)
	}
	if len(doc.Content) == 0 {
		return nil // an empty file: defaults
	}
	cfg.src = &configSource{name: name, root: doc.Content[0]}
	probs := scenarios.StrictDecode(name, doc.Content[0], cfg)
	if len(probs) > 0 {
		lines := make([]string, len(probs))
		for i, p := range probs {
			lines[i] = p.String()
		}
		return errors.New(strings.Join(lines, "\n"))
	}
	return nil
}

var (
	pathStepRE = regexp.MustCompile(`^([^.\[]+)((?:\[\d+\])*)`)
)

// Validate checks the configuration once; every problem is one line
// "key.path: message", prefixed with "file:line: " when the value came
// from the configuration file.
func (c *Config) Validate() error {
	err := c.validate()
	if err == nil || c.src == nil {
		return err
	}
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		path, _, ok := strings.Cut(l, ": ")
		if !ok {
			continue
		}
		top, _, _ := strings.Cut(path, ".")
		top, _, _ = strings.Cut(top, "[")
		if c.overridden[top] {
			continue
		}
		if n := findNode(c.src.root, path); n != nil {
			lines[i] = fmt.Sprintf("%s:%d: %s", c.src.name, n.Line, l)
		}
	}
	return errors.New(strings.Join(lines, "\n"))
}

// findNode follows a key path such as "khipu.receivers[1].kind" through
// a YAML document; nil when the file does not hold it.
func findNode(n *yaml.Node, path string) *yaml.Node {
	for path != "" {
		m := pathStepRE.FindStringSubmatch(path)
		if m == nil {
			return nil
		}
		path = strings.TrimPrefix(strings.TrimPrefix(path, m[0]), ".")
		if n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == m[1] {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return nil
		}
		n = next
		for _, idx := range strings.Split(m[2], "]") {
			idx = strings.TrimPrefix(idx, "[")
			if idx == "" {
				continue
			}
			k, _ := strconv.Atoi(idx)
			if n.Kind != yaml.SequenceNode || k >= len(n.Content) {
				return nil
			}
			n = n.Content[k]
		}
	}
	return n
}

func (c *Config) validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("addr", "%q is not host:port (e.g. 127.0.0.1:8080 or :8080)", c.Addr)
	}
	if c.TLSAddr != "" {
		if _, _, err := net.SplitHostPort(c.TLSAddr); err != nil {
			bad("tls_addr", "%q is not host:port (e.g. 127.0.0.1:8443 or :443)", c.TLSAddr)
		}
	}
	if (c.TLSCACert == "") != (c.TLSCAKey == "") {
		bad("tls_ca_cert", "tls_ca_cert and tls_ca_key go together (the CA certificate and its private key, PEM)")
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("public_url", "%q is not an absolute http(s) URL", c.PublicURL)
		}
	}
	if _, err := ParseLevel(c.LogLevel); err != nil {
		bad("log_level", "%v", err)
	}
	if c.LogFormat != "" && c.LogFormat != "text" && c.LogFormat != "json" {
		bad("log_format", "%q: expected text or json", c.LogFormat)
	}
	if c.MaxObjects < 100 {
		bad("max_objects", "%d: expected at least 100 (the default is %d)", c.MaxObjects, DefaultMaxObjects)
	}
	if c.TimeScale <= 0 || c.TimeScale > 1000 {
		bad("time_scale", "%v: expected a factor above 0 (e.g. 0.01 to shrink waits 100×)", c.TimeScale)
	}
	sections := []struct {
		key string
		v   interface{ Validate() error }
	}{{"khipu", &c.Khipu}, {"hambit", &c.Hambit}, {"payu", &c.PayU}}
	for _, sec := range sections {
		if err := sec.v.Validate(); err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				errs = append(errs, fmt.Errorf("%s.%s", sec.key, line))
			}
		}
	}
	return errors.Join(errs...)
}

// DefaultDataDir is where the sandbox keeps its state when no data
// directory is configured: $XDG_DATA_HOME/paysandbox, else
// ~/.local/share/paysandbox on Unix-like systems, else the user's
// configuration directory (macOS Application Support, Windows AppData).
// It returns "" when the environment names no home.
func DefaultDataDir(getenv func(string) string) string {
	if d := getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "paysandbox")
	}
	switch runtime.GOOS {
	case "windows", "darwin", "ios", "plan9":
		if d, err := os.UserConfigDir(); err == nil {
			return filepath.Join(d, "paysandbox")
		}
		return ""
	}
	if home := getenv("HOME"); home != "" {
		return filepath.Join(home, ".local", "share", "paysandbox")
	}
	return ""
}

// ParseLevel maps a log level name to slog's.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%q: expected debug, info, warn or error", s)
}
