package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"slices"
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
	kind  flagKind
	// def returns the built-in default as the flag shows it ("" = none).
	def   func(c sandbox.Config) string
	apply func(cfg *sandbox.Config, v string) error
}

// flagKind is the type a flag shows in -h and parses its value as.
type flagKind int

const (
	textFlag flagKind = iota
	intFlag
	floatFlag
	boolFlag
)

func (s setting) env() string {
	return "SANDBOX_" + strings.ToUpper(strings.ReplaceAll(s.flag, "-", "_"))
}

var settings = []setting{
	{flag: "addr", key: "addr", usage: "listen address host:port",
		def:   func(c sandbox.Config) string { return c.Addr },
		apply: func(c *sandbox.Config, v string) error { c.Addr = v; return nil }},
	{flag: "public-url", key: "public_url", usage: "base of every URL handed out (default: from each request's Host)",
		apply: func(c *sandbox.Config, v string) error { c.PublicURL = v; return nil }},
	{flag: "log-level", key: "log_level", usage: "debug, info, warn or error (request lines are debug)",
		def:   func(c sandbox.Config) string { return c.LogLevel },
		apply: func(c *sandbox.Config, v string) error { c.LogLevel = v; return nil }},
	{flag: "log-format", key: "log_format", usage: "text (key=value lines) or json (one object a line, for log collectors)",
		def:   func(c sandbox.Config) string { return c.LogFormat },
		apply: func(c *sandbox.Config, v string) error { c.LogFormat = v; return nil }},
	{flag: "time-scale", key: "time_scale", usage: "factor applied to the waits the sandbox schedules (0.01 = 100× faster)", kind: floatFlag,
		def: func(c sandbox.Config) string { return strconv.FormatFloat(c.TimeScale, 'g', -1, 64) },
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
	{flag: "no-debug-headers", key: "debug_headers", usage: "do not send X-Sandbox-* debug headers", kind: boolFlag,
		apply: func(c *sandbox.Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%q is not true or false", v)
			}
			c.DebugHeaders = !b
			return nil
		}},
	{flag: "scenario", key: "scenario", usage: "active scenario: a name or a YAML file",
		def:   func(c sandbox.Config) string { return c.Scenario },
		apply: func(c *sandbox.Config, v string) error { c.Scenario = v; return nil }},
	{flag: "scenarios", key: "scenarios_dir", usage: "directory of extra scenario files, re-read when they change",
		apply: func(c *sandbox.Config, v string) error { c.ScenariosDir = v; return nil }},
	{flag: "max-objects", key: "max_objects", usage: "objects of each kind a provider keeps before forgetting the oldest", kind: intFlag,
		def: func(c sandbox.Config) string { return strconv.Itoa(c.MaxObjects) },
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
	{flag: "persist", key: "persist", usage: "keep the state (objects, clock offset, scenarios) in DATA_DIR (state.db and its write-ahead log) across restarts", kind: boolFlag,
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
	{flag: "seed", key: "seed", usage: "make ids, tokens and probability draws deterministic (default: random)", kind: intFlag,
		apply: func(c *sandbox.Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("%q is not a whole number", v)
			}
			c.Seed = &n
			return nil
		}},
}

// serveFlags declares the flags of serve (or of another command that reads
// the same configuration, such as sandbox ca: cmd names it, extra adds its
// own flags), typed (int, float, bool, string) and with the built-in
// defaults shown by -h. A flag only counts when it is given (flag.Visit):
// the defaults shown never override the file or the environment.
func serveFlags(cmd string, out io.Writer, extra func(*flag.FlagSet)) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("sandbox "+cmd, flag.ContinueOnError)
	fs.SetOutput(out)
	configPath := fs.String("config", "", "configuration file (YAML); env SANDBOX_CONFIG")
	defaults := sandbox.DefaultConfig()
	for _, s := range settings {
		usage := s.usage + "; env " + s.env()
		def := ""
		if s.def != nil {
			def = s.def(defaults)
		}
		switch s.kind {
		case boolFlag:
			fs.Bool(s.flag, false, usage)
		case intFlag:
			n, _ := strconv.ParseInt(def, 10, 64)
			fs.Int64(s.flag, n, usage)
		case floatFlag:
			f, _ := strconv.ParseFloat(def, 64)
			fs.Float64(s.flag, f, usage)
		default:
			fs.String(s.flag, def, usage)
		}
	}
	if extra != nil {
		extra(fs)
	}
	fs.Usage = func() {
		if cmd == "serve" {
			fmt.Fprintln(out, "usage: sandbox [serve] [flags]   (sandbox -h lists the other commands)")
		} else {
			fmt.Fprintf(out, "usage: sandbox %s [flags]\n", cmd)
		}
		fmt.Fprintln(out, "Precedence: flag > SANDBOX_* variable > --config file > built-in default.")
		fs.PrintDefaults()
	}
	return fs, configPath
}

// parseConfig builds the configuration with the precedence
// flag > SANDBOX_* environment > --config file > built-in defaults, and
// validates it once. Every problem is reported at once, those of the file
// as file:line: key: message.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (sandbox.Config, error) {
	return parseConfigFor("serve", args, getenv, stderr, nil)
}

// parseConfigFor is parseConfig for another command that reads the same
// configuration (sandbox ca); extra adds that command's own flags.
func parseConfigFor(cmd string, args []string, getenv func(string) string, stderr io.Writer, extra func(*flag.FlagSet)) (sandbox.Config, error) {
	fs, configPath := serveFlags(cmd, stderr, extra)
	usage := fs.Usage
	fs.SetOutput(io.Discard) // errors are returned once, help printed below
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr) // the flags too, not only the usage line
			usage()
			return sandbox.Config{}, err
		}
		return sandbox.Config{}, flagError(err)
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
	var errs []error
	if path != "" {
		// A file with problems still decodes what it can, so that the
		// checks below report the rest of its problems too.
		if err := sandbox.LoadConfigFile(path, &cfg); err != nil {
			errs = append(errs, err)
		}
	}
	for _, s := range settings {
		if v := getenv(s.env()); v != "" {
			cfg.Override(s.key)
			if err := s.apply(&cfg, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", s.env(), err))
			}
		}
	}
	for _, s := range settings {
		if !set[s.flag] {
			continue
		}
		cfg.Override(s.key)
		if err := s.apply(&cfg, fs.Lookup(s.flag).Value.String()); err != nil {
			errs = append(errs, fmt.Errorf("--%s: %w", s.flag, err))
		}
	}
	if err := cfg.Validate(); err != nil {
		errs = append(errs, withoutRepeats(err, errs))
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, inLineOrder(err)
	}
	if cfg.DataDir == "" {
		cfg.DataDir = sandbox.DefaultDataDir(getenv)
	}
	return cfg, nil
}

var fileLineRE = regexp.MustCompile(`^[^:]+:(\d+): `)

// inLineOrder sorts the problems of the configuration file by line; the
// others (flags, variables) keep their order after them.
func inLineOrder(err error) error {
	lines := strings.Split(err.Error(), "\n")
	line := func(l string) int {
		if m := fileLineRE.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			return n
		}
		return 1 << 30
	}
	slices.SortStableFunc(lines, func(a, b string) int { return line(a) - line(b) })
	return errors.New(strings.Join(lines, "\n"))
}

// withoutRepeats drops the lines of err that name a file line already
// reported in earlier (a value the file could not decode, then found
// wanting by Validate).
func withoutRepeats(err error, earlier []error) error {
	seen := map[string]bool{}
	for _, e := range earlier {
		for l := range strings.SplitSeq(e.Error(), "\n") {
			if at, _, ok := strings.Cut(l, ": "); ok {
				seen[at] = true
			}
		}
	}
	var keep []string
	for l := range strings.SplitSeq(err.Error(), "\n") {
		if at, _, ok := strings.Cut(l, ": "); ok && seen[at] {
			continue
		}
		keep = append(keep, l)
	}
	if len(keep) == 0 {
		return nil
	}
	return errors.New(strings.Join(keep, "\n"))
}

var badFlagRE = regexp.MustCompile(`^invalid (?:boolean )?value "(.*)" for flag -([a-z-]+): `)

// flagError rewrites the flag package's "invalid value "x" for flag -f:
// parse error" as the setting's own message: --f: "x" is not a number.
func flagError(err error) error {
	if m := badFlagRE.FindStringSubmatch(err.Error()); m != nil {
		for _, s := range settings {
			if s.flag == m[2] {
				if aerr := s.apply(&sandbox.Config{}, m[1]); aerr != nil {
					return fmt.Errorf("--%s: %w (sandbox serve -h)", s.flag, aerr)
				}
			}
		}
	}
	return fmt.Errorf("%w (sandbox serve -h lists the flags)", err)
}
