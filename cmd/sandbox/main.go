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
	if err == nil {
		return
	}
	if ee, ok := errors.AsType[exitError](err); ok {
		os.Exit(ee.code)
	}
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	fmt.Fprintln(os.Stderr, "sandbox: "+strings.ReplaceAll(err.Error(), "\n", "\nsandbox: "))
	os.Exit(1)
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
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
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
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, strings.TrimSpace(usage))
}

const usage = `usage:
  sandbox [serve] [flags]          start the sandbox (sandbox serve -h lists the flags)
  sandbox scenarios check FILE...  check scenario files; --builtins checks the embedded ones
  sandbox scenarios list           list the built-in scenarios
  sandbox sign khipu|hambit|payu   print a provider's string to sign and signature (-h for each)
  sandbox ca [--out FILE]          print (or write) the CA certificate clients trust for HTTPS and proxy mode
  sandbox healthcheck [--addr A]   exit 0 when a sandbox answers /healthz, 1 otherwise
  sandbox load [flags] MODE        measure throughput and latency on loopback (sandbox load -h)
  sandbox export [--data-dir D] FILE             write the persisted state as one JSON document (- for stdout)
  sandbox import [--data-dir D] [--replace] FILE load such a document into the data directory
  sandbox version                  print the version
`

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, ready func(net.Addr)) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	level, _ := sandbox.ParseLevel(cfg.LogLevel)
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
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

func listenError(addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("cannot listen on %s: the address is already in use (another sandbox? choose one with --addr)", addr)
	}
	return fmt.Errorf("cannot listen on %s: %v", addr, err)
}

func healthcheck(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("sandbox healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "", "address of the sandbox (default $SANDBOX_ADDR or 127.0.0.1:8080)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
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
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: bad address %q\n", a)
		return exitError{1}
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	url := "http://" + net.JoinHostPort(host, port) + "/healthz"
	cctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(cctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: %s: %v\n", url, err)
		return exitError{1}
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "healthcheck: %s answered %d\n", url, resp.StatusCode)
		return exitError{1}
	}
	return nil
}

func scenariosCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: sandbox scenarios check [--builtins] FILE... | sandbox scenarios list")
	}
	switch args[0] {
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
		return fmt.Errorf("unknown scenarios command %q (check, list)", args[0])
	}
	fs2 := flag.NewFlagSet("sandbox scenarios check", flag.ContinueOnError)
	fs2.SetOutput(stderr)
	builtins := fs2.Bool("builtins", false, "also check the built-in scenarios")
	if err := fs2.Parse(args[1:]); err != nil {
		return err
	}
	type file struct {
		name string
		data []byte
		err  error
	}
	var files []file
	if *builtins {
		bfs := scenarios.Builtins()
		names, _ := fs.Glob(bfs, "*.yaml")
		sort.Strings(names)
		for _, n := range names {
			data, err := fs.ReadFile(bfs, n)
			files = append(files, file{"builtin/" + n, data, err})
		}
	}
	for _, p := range fs2.Args() {
		data, err := os.ReadFile(p)
		files = append(files, file{p, data, err})
	}
	if len(files) == 0 {
		//lint:ignore ST1005 a usage line ends with FILE... like the other usage lines
		return errors.New("usage: sandbox scenarios check [--builtins] FILE...")
	}
	bad := 0
	for _, f := range files {
		if f.err != nil {
			fmt.Fprintf(stdout, "%s: %v\n", f.name, f.err)
			bad++
			continue
		}
		s, err := scenarios.Load(f.name, f.data, scenarios.Default)
		if err != nil {
			fmt.Fprintln(stdout, err)
			bad++
			continue
		}
		fmt.Fprintf(stdout, "%s: ok (scenario %q, %d rules)\n", f.name, s.Name, len(s.Rules))
	}
	if bad > 0 {
		fmt.Fprintf(stderr, "%d of %d files have problems\n", bad, len(files))
		return exitError{1}
	}
	return nil
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i > 0 {
		return s[:i+1]
	}
	return s
}

func signCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: sandbox sign khipu|hambit|payu [flags] (sandbox sign khipu -h)")
	}
	switch args[0] {
	case "khipu":
		return khipu.SignCommand(args[1:], stdout)
	case "hambit":
		return hambit.SignCommand(args[1:], stdout)
	case "payu":
		return payu.SignCommand(args[1:], stdout)
	}
	return fmt.Errorf("sign: unknown provider %q (khipu, hambit, payu)", args[0])
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
