// Command sandbox runs paysandbox: an offline emulator of the Khipu, Hambit
// and PayU Latam payment APIs, their payer pages and their callbacks.
//
//	sandbox [serve] [flags]        start the sandbox (the default)
//	sandbox scenarios check FILE…  check scenario files (--builtins: the embedded ones)
//	sandbox scenarios list         list the built-in scenarios
//	sandbox sign khipu|hambit|payu print a provider's string to sign and signature
//	sandbox ca [--out FILE]        print the local CA certificate (created on first use)
//	sandbox healthcheck            exit 0 when a sandbox answers on --addr, 1 otherwise
//	sandbox load MODE              measure throughput, latency and memory on loopback
//	sandbox version                print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
	"time"
	// The time-zone database travels in the binary (about 450 KB): the
	// Docker image has none, and Khipu's pages show Chile's local time,
	// which changes with daylight saving.
	_ "time/tzdata"

	"github.com/paysandbox/sandbox/emulators/hambit"
	"github.com/paysandbox/sandbox/emulators/khipu"
	"github.com/paysandbox/sandbox/emulators/payu"
	"github.com/paysandbox/sandbox/emulators/sandbox"
	"github.com/paysandbox/sandbox/scenarios"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

// exitError carries an exit status without a message (healthcheck, check).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// gcPercent is the garbage collector's target unless GOGC says otherwise: a
// sandbox keeps many small objects for a long time, and 75 (the heap may
// grow to 1.75× what is live, not 2×) keeps its memory within the budgets
// of docs/design.md while costing little throughput (README, Benchmarks).
const gcPercent = 75

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if isServe(os.Args[1:]) && os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		go followLiveHeap(ctx)
	}
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, nil)
	if code := exitCode(err, os.Stderr); code != 0 {
		os.Exit(code)
	}
}

// exitCode reports run's error on stderr, each line prefixed "sandbox: ",
// and returns the process's exit status.
func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if ee, ok := errors.AsType[exitError](err); ok {
		return ee.code
	}
	fmt.Fprintln(stderr, "sandbox: "+strings.ReplaceAll(err.Error(), "\n", "\nsandbox: "))
	return 1
}

// isServe reports whether args run the server (the default command).
func isServe(args []string) bool {
	return len(args) == 0 || strings.HasPrefix(args[0], "-") || args[0] == "serve"
}

// run executes one command line. ready, when not nil, is called with the
// listener's address once the server can answer (tests pass --addr
// 127.0.0.1:0 and learn the port there).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, ready func(net.Addr)) error {
	cmd := "serve"
	if len(args) > 0 {
		switch args[0] {
		case "-h", "-help", "--help", "help":
			return topHelp(args[1:], getenv, stdout)
		case "-version", "--version":
			cmd, args = "version", args[1:]
		default:
			if !strings.HasPrefix(args[0], "-") {
				cmd, args = args[0], args[1:]
			}
		}
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr, ready)
	case "scenarios":
		return scenariosCmd(args, stdout, stderr)
	case "sign":
		return signCmd(args, stdout)
	case "healthcheck":
		return healthcheck(ctx, args, getenv, stderr)
	case "ca":
		return caCmd(args, getenv, stdout, stderr)
	case "load":
		return loadCmd(ctx, args, stdout, stderr)
	case "export":
		return exportCmd(args, getenv, stdout, stderr)
	case "import":
		return importCmd(args, getenv, os.Stdin, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "sandbox", version)
		return nil
	}
	msg := fmt.Sprintf("unknown command %q", cmd)
	if s := closest(cmd, commands); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return fmt.Errorf("%s; commands: %s (sandbox -h)", msg, strings.Join(commands, ", "))
}

var commands = []string{"serve", "scenarios", "sign", "ca", "healthcheck", "load", "export", "import", "version", "help"}

const usage = `paysandbox: an offline emulator of the Khipu, Hambit and PayU Latam payment APIs.

Usage:
  sandbox [serve] [flags]                   start the sandbox (the default command)
  sandbox scenarios check [--builtins] FILE|DIR...
                                            check scenario files as serve loads them
  sandbox scenarios list                    list the built-in scenarios
  sandbox sign khipu|hambit|payu [flags]    print a provider's string to sign and signature
  sandbox ca [--out FILE]                   print (or write) the CA certificate clients trust for HTTPS
                                            and proxy mode
  sandbox healthcheck [--addr URL|HOST:PORT]
                                            exit 0 when a sandbox answers /healthz, 1 otherwise
  sandbox load [flags] MODE                 measure throughput and latency on loopback
  sandbox export [--data-dir D] FILE        write the persisted state as one JSON document (- for stdout)
  sandbox import [--data-dir D] [--replace] FILE
                                            load such a document into the data directory
  sandbox version                           print the version (also --version)
  sandbox help [COMMAND]                    this text, or a command's flags (also COMMAND -h)

`

// topHelp prints the command list and the flags of serve (the default
// command), or the help of one command.
func topHelp(args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "serve", "scenarios", "sign", "ca", "healthcheck", "load", "export", "import":
			return run(context.Background(), []string{args[0], "-h"}, getenv, stdout, stdout, nil)
		case "version":
			fmt.Fprintln(stdout, "usage: sandbox version (or sandbox --version): print the version")
			return nil
		}
		return fmt.Errorf("help: unknown command %q; commands: %s", args[0], strings.Join(commands, ", "))
	}
	fmt.Fprint(stdout, usage)
	fmt.Fprintln(stdout, "Flags of serve (each also a SANDBOX_* variable and a configuration file key):")
	fs, _ := serveFlags("serve", stdout, nil)
	fs.PrintDefaults()
	return nil
}

// closest returns the known word within two edits of w, if any.
func closest(w string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(w, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, ready func(net.Addr)) error {
	var pprofAddr string
	cfg, err := parseConfigFor("serve", args, getenv, stderr, pprofFlag(&pprofAddr))
	if err != nil {
		return err
	}
	if pprofAddr != "" {
		p, err := startPprof(pprofAddr, stdout)
		if err != nil {
			return err
		}
		defer p.Close()
	}
	log := newLogger(cfg, stderr)
	sb, err := sandbox.New(cfg, log, sandbox.Options{Version: version})
	if err != nil {
		return err
	}
	srv, err := listen(cfg, sb, log)
	if err != nil {
		sb.Close(context.Background())
		return err
	}
	errc := make(chan error, 2)
	srv.serve(errc)
	ln := srv.mainLn

	base := sb.LinkBaseFor(ln.Addr())
	for _, d := range sb.Describe(base) {
		for _, u := range d.BaseURLs {
			log.Info("base URL", "provider", d.Provider, "name", u.Name, "url", u.URL)
		}
		for _, c := range d.Credentials {
			attrs := []any{"provider", d.Provider, "account", c.Account}
			for _, f := range c.Fields {
				attrs = append(attrs, f.Name, f.Value)
			}
			log.Info("credentials", attrs...)
		}
	}
	log.Info("sandbox started", "version", version, "scenario", sb.Scenarios().Active(),
		"dashboard", base+"/_sandbox/", "demo", base+"/_sandbox/demo")
	if srv.tls != nil {
		log.Info("HTTPS listener", "url", "https://"+srv.tlsLn.Addr().String(), "names", strings.Join(sb.ServerNames(), " "))
	}
	log.Info("proxy mode", "HTTPS_PROXY", "http://"+ln.Addr().String(), "CA", base+"/_sandbox/ca.pem")
	fmt.Fprintf(stdout, "sandbox ready on http://%s\n", ln.Addr())
	if srv.tls != nil {
		fmt.Fprintf(stdout, "sandbox ready on https://%s\n", srv.tlsLn.Addr())
	}
	if ready != nil {
		ready(ln.Addr())
	}

	select {
	case err := <-errc:
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		srv.shutdown(sctx)
		sb.Close(sctx)
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	sb.BeginShutdown()
	if err := srv.shutdown(sctx); err != nil {
		log.Warn("HTTP shutdown incomplete", "err", err)
	}
	if err := sb.Close(sctx); err != nil {
		log.Warn("callback drain incomplete", "err", err)
	}
	log.Info("stopped")
	return nil
}

// newLogger builds the sandbox's logger: logfmt text for people, or one
// JSON object a line (--log-format json) for log collectors.
func newLogger(cfg sandbox.Config, w io.Writer) *slog.Logger {
	level, _ := sandbox.ParseLevel(cfg.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func listenError(addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("cannot listen on %s: the address is already in use (another sandbox? choose one with --addr)", addr)
	}
	return fmt.Errorf("cannot listen on %s: %v", addr, err)
}

func healthcheck(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("sandbox healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "", "the sandbox: a base URL (http://127.0.0.1:8080) or host:port (default $SANDBOX_ADDR or "+sandbox.DefaultAddr+")")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sandbox healthcheck [--addr URL|HOST:PORT] [--timeout D]")
		fmt.Fprintln(stderr, "Exits 0 when GET /healthz answers 200, 1 otherwise (for Docker HEALTHCHECK and CI).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	a := *addr
	if a == "" {
		a = getenv("SANDBOX_ADDR")
	}
	if a == "" {
		a = sandbox.DefaultAddr
	}
	target, err := healthURL(a)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: %v\n", err)
		return exitError{1}
	}
	cctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(cctx, http.MethodGet, target, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: %s: %v\n", target, err)
		return exitError{1}
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "healthcheck: %s answered %d\n", target, resp.StatusCode)
		return exitError{1}
	}
	return nil
}

// healthURL turns --addr into the /healthz URL: a listen address
// (host:port, :port, 0.0.0.0:port — the last two mean this machine) or the
// sandbox's base URL (http://host:port, https://…, with or without a path
// prefix).
func healthURL(a string) (string, error) {
	if strings.Contains(a, "://") {
		u, err := url.Parse(a)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", fmt.Errorf("bad address %q: expected http(s)://host:port or host:port", a)
		}
		return u.Scheme + "://" + u.Host + strings.TrimSuffix(u.Path, "/") + "/healthz", nil
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return "", fmt.Errorf("bad address %q: expected http(s)://host:port or host:port", a)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}

const scenariosUsage = `usage:
  sandbox scenarios check [--builtins] FILE|DIR...
      Load scenario files exactly as serve does (serve --scenario FILE,
      serve --scenarios DIR): every problem of every file, each as
      file:line: rule: message. A directory stands for its *.yaml and *.yml
      files; a scenario name defined by two files is refused in the second
      one. A file without name: is named after the file (orders.yaml →
      "orders"); the check says so. Exits 1 when any file has a problem.
  sandbox scenarios list
      List the built-in scenarios.
`

func scenariosCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, scenariosUsage)
		return errors.New("scenarios: name a command: check or list")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, scenariosUsage)
		return nil
	case "list":
		bfs := scenarios.Builtins()
		names, _ := fs.Glob(bfs, "*.yaml")
		sort.Strings(names)
		for _, n := range names {
			data, _ := fs.ReadFile(bfs, n)
			s, err := scenarios.Load(n, data, scenarios.Default)
			if err != nil {
				fmt.Fprintf(stdout, "%s: %v\n", n, err)
				continue
			}
			fmt.Fprintf(stdout, "%-18s %s\n", s.Name, firstSentence(s.Description))
		}
		return nil
	case "check":
	default:
		return fmt.Errorf("unknown scenarios command %q (check, list; sandbox scenarios -h)", args[0])
	}
	fs2 := flag.NewFlagSet("sandbox scenarios check", flag.ContinueOnError)
	fs2.SetOutput(stderr)
	builtins := fs2.Bool("builtins", false, "also check the built-in scenarios")
	fs2.Usage = func() {
		fmt.Fprint(stderr, scenariosUsage)
		fs2.PrintDefaults()
	}
	if err := fs2.Parse(args[1:]); err != nil {
		return err
	}
	var results []scenarios.FileResult
	if *builtins {
		bfs := scenarios.Builtins()
		names, _ := fs.Glob(bfs, "*.yaml")
		sort.Strings(names)
		for _, n := range names {
			data, err := fs.ReadFile(bfs, n)
			var s *scenarios.Scenario
			if err == nil {
				s, err = scenarios.Load("builtin/"+n, data, scenarios.Default)
			}
			results = append(results, scenarios.FileResult{Path: "builtin/" + n, Scenario: s, Err: err})
		}
	}
	results = append(results, scenarios.LoadFiles(fs2.Args(), scenarios.Default)...)
	if len(results) == 0 {
		fmt.Fprint(stderr, scenariosUsage)
		return errors.New("scenarios check: name at least one FILE or DIR (or --builtins)")
	}
	bad := 0
	for _, r := range results {
		if r.Err != nil {
			fmt.Fprintln(stdout, r.Err)
			bad++
			continue
		}
		named := ""
		if r.NamedAfterFile {
			named = " named after the file, which has no name:"
		}
		fmt.Fprintf(stdout, "%s: ok (scenario %q%s; %s)\n", r.Path, r.Scenario.Name, named, plural(len(r.Scenario.Rules), "rule", "rules"))
	}
	if bad > 0 {
		fmt.Fprintf(stderr, "%d of %d files have problems\n", bad, len(results))
		return exitError{1}
	}
	return nil
}

// plural writes "1 rule", "2 rules", "0 rules".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i > 0 {
		return s[:i+1]
	}
	return s
}

const signUsage = `usage: sandbox sign khipu|hambit|payu [flags]
  Print what a provider signs (the string to sign), its signature and the
  header or field that carries it, to compare with what a client sends.
  sandbox sign PROVIDER -h lists each provider's flags.
`

func signCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, signUsage)
		return errors.New("sign: name a provider: khipu, hambit or payu")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, signUsage)
		return nil
	case "khipu":
		return khipu.SignCommand(args[1:], stdout)
	case "hambit":
		return hambit.SignCommand(args[1:], stdout)
	case "payu":
		return payu.SignCommand(args[1:], stdout)
	}
	return fmt.Errorf("sign: unknown provider %q (khipu, hambit, payu; sandbox sign -h)", args[0])
}

// caCmd prints the CA certificate (PEM) that HTTPS and proxy mode use,
// creating the local CA in the data directory on first use, or writes it
// to --out. It reads the same configuration as serve (--data-dir,
// --tls-ca-cert, --config, SANDBOX_*).
func caCmd(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var out string
	cfg, err := parseConfigFor("ca", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&out, "out", "", "write the certificate to this file instead of printing it")
	})
	if err != nil {
		return err
	}
	pem, fp, err := sandbox.LoadCA(cfg)
	if err != nil {
		return err
	}
	if out == "" {
		_, err := stdout.Write(pem)
		return err
	}
	if err := os.WriteFile(out, pem, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: paysandbox CA certificate, SHA-256 %s\n", out, fp)
	return nil
}
