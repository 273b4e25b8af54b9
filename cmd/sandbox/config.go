package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/paysandbox/sandbox/emulators/sandbox"
)

// setting is one top-level configuration key that a flag and a SANDBOX_*
// variable can also set. These names are part of the operational interface
// (Docker and CI configurations use them): do not rename.
type setting struct {
	flag  string // --flag; env = SANDBOX_ + upper(flag) with '-' → '_'
	key   string // key in the configuration file
	usage string
	apply func(cfg *sandbox.Config, v string) error
	bool  bool
}

func (s setting) env() string {
	return "SANDBOX_" + strings.ToUpper(strings.ReplaceAll(s.flag, "-", "_"))
}

var settings = []setting{
	{flag: "addr", key: "addr", usage: "listen address (default 127.0.0.1:8080)",
		apply: func(c *sandbox.Config, v string) error { c.Addr = v; return nil }},
	{flag: "public-url", key: "public_url", usage: "base of every URL handed out (default: from each request's Host)",
		apply: func(c *sandbox.Config, v string) error { c.PublicURL = v; return nil }},
	{flag: "log-level", key: "log_level", usage: "debug, info, warn or error",
		apply: func(c *sandbox.Config, v string) error { c.LogLevel = v; return nil }},
	{flag: "time-scale", key: "time_scale", usage: "factor applied to the waits the sandbox schedules (0.01 = 100× faster)",
		apply: func(c *sandbox.Config, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fmt.Errorf("%q is not a number", v)
			}
			c.TimeScale = f
			return nil
		}},
	{flag: "admin-token", key: "admin_token", usage: "bearer token required by the admin API and dashboard (default: open)",
		apply: func(c *sandbox.Config, v string) error { c.AdminToken = v; return nil }},
	{flag: "no-debug-headers", key: "debug_headers", usage: "do not send X-Sandbox-* debug headers", bool: true,
		apply: func(c *sandbox.Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%q is not true or false", v)
			}
			c.DebugHeaders = !b
			return nil
		}},
	{flag: "scenario", key: "scenario", usage: "active scenario: a name or a YAML file (default \"default\")",
		apply: func(c *sandbox.Config, v string) error { c.Scenario = v; return nil }},
	{flag: "scenarios", key: "scenarios_dir", usage: "directory of extra scenario files, re-read when they change",
		apply: func(c *sandbox.Config, v string) error { c.ScenariosDir = v; return nil }},
	{flag: "max-objects", key: "max_objects", usage: "objects of each kind a provider keeps before forgetting the oldest (default 100000)",
		apply: func(c *sandbox.Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("%q is not a whole number", v)
			}
			c.MaxObjects = n
			return nil
		}},
	{flag: "data-dir", key: "data_dir", usage: "directory the sandbox keeps its state in (the local CA under ca/; default $XDG_DATA_HOME/paysandbox or ~/.local/share/paysandbox)",
		apply: func(c *sandbox.Config, v string) error { c.DataDir = v; return nil }},
	{flag: "persist", key: "persist", usage: "keep the state (objects, clock offset, scenarios) in DATA_DIR/state.db across restarts", bool: true,
		apply: func(c *sandbox.Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%q is not true or false", v)
			}
			c.Persist = b
			return nil
		}},
	{flag: "tls-addr", key: "tls_addr", usage: "HTTPS listen address, certificates from the local CA (default: none; e.g. 127.0.0.1:8443)",
		apply: func(c *sandbox.Config, v string) error { c.TLSAddr = v; return nil }},
	{flag: "tls-ca-cert", key: "tls_ca_cert", usage: "CA certificate (PEM) to mint certificates with instead of the local CA; with --tls-ca-key",
		apply: func(c *sandbox.Config, v string) error { c.TLSCACert = v; return nil }},
	{flag: "tls-ca-key", key: "tls_ca_key", usage: "private key (PEM) of --tls-ca-cert",
		apply: func(c *sandbox.Config, v string) error { c.TLSCAKey = v; return nil }},
	{flag: "allowed-hosts", key: "allowed_hosts", usage: "extra Host names the admin API and dashboard answer, comma-separated (Docker service names; .suffix for subdomains)",
		apply: func(c *sandbox.Config, v string) error {
			c.AllowedHosts = nil
			for _, h := range strings.Split(v, ",") {
				if h = strings.TrimSpace(h); h != "" {
					c.AllowedHosts = append(c.AllowedHosts, h)
				}
			}
			return nil
		}},
	{flag: "seed", key: "seed", usage: "make ids, tokens and probability draws deterministic",
		apply: func(c *sandbox.Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("%q is not a whole number", v)
			}
			c.Seed = &n
			return nil
		}},
}

// parseConfig builds the configuration with the precedence
// flag > SANDBOX_* environment > --config file > built-in defaults, and
// validates it once.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (sandbox.Config, error) {
	return parseConfigFor("serve", args, getenv, stderr, nil)
}

// parseConfigFor is parseConfig for another command that reads the same
// configuration (sandbox ca); extra adds that command's own flags.
func parseConfigFor(cmd string, args []string, getenv func(string) string, stderr io.Writer, extra func(*flag.FlagSet)) (sandbox.Config, error) {
	fs := flag.NewFlagSet("sandbox "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration file (YAML); env SANDBOX_CONFIG")
	values := map[string]*string{}
	bools := map[string]*bool{}
	for _, s := range settings {
		if s.bool {
			bools[s.flag] = fs.Bool(s.flag, false, s.usage+"; env "+s.env())
		} else {
			values[s.flag] = fs.String(s.flag, "", s.usage+"; env "+s.env())
		}
	}
	if extra != nil {
		extra(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: sandbox %s [flags]\n", cmd)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return sandbox.Config{}, err
	}
	if fs.NArg() > 0 {
		return sandbox.Config{}, fmt.Errorf("unexpected argument %q (see sandbox "+cmd+" -h)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	cfg := sandbox.DefaultConfig()
	path := *configPath
	if !set["config"] {
		path = getenv("SANDBOX_CONFIG")
	}
	if path != "" {
		if err := sandbox.LoadConfigFile(path, &cfg); err != nil {
			return cfg, err
		}
	}
	var errs []error
	for _, s := range settings {
		if v := getenv(s.env()); v != "" {
			if err := s.apply(&cfg, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", s.env(), err))
			}
		}
	}
	for _, s := range settings {
		if !set[s.flag] {
			continue
		}
		v := ""
		if s.bool {
			v = strconv.FormatBool(*bools[s.flag])
		} else {
			v = *values[s.flag]
		}
		if err := s.apply(&cfg, v); err != nil {
			errs = append(errs, fmt.Errorf("--%s: %w", s.flag, err))
		}
	}
	if len(errs) > 0 {
		return cfg, errors.Join(errs...)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	if cfg.DataDir == "" {
		cfg.DataDir = sandbox.DefaultDataDir(getenv)
	}
	return cfg, nil
}
