package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The load command measures the budgets of docs/design.md against a sandbox on
// this machine: it generates correctly signed traffic (fresh nonces and
// timestamps where a provider wants them) at a given concurrency for a
// bounded time, only on the loopback interface, and prints throughput and
// latency percentiles next to a bare Go handler measured in the same run.

const loadUsage = `usage: sandbox load [flags] MODE

Modes:
  baseline            a bare net/http handler in its own process (the floor)
  healthz             GET /healthz
  khipu-create        signed Khipu API 2.0 payment creation (POST /khipu/api/2.0/payments)
  khipu-get           signed Khipu API 2.0 payment lookups of payments created first
  hambit-collection   signed Hambit collection orders (fresh timestamp and nonce each)
  payu-card           PayU card AUTHORIZATION_AND_CAPTURE with the order signature
  callbacks           N Khipu notifications scheduled at once (robot payers an hour ahead),
                      delivered to a built-in receiver as the clock reaches them
  store               N stored Khipu payments: RSS, and lookup latency at 1,000 and at N
  startup             start the sandbox N times: time to the first answer and idle RSS
  hostile             peak RSS through 8 concurrent 10 MB wrong-signature creates, 20 clients
                      that never read a 1,000-entry journal page and 500 slow-body connections
  flow                whole payments per provider (Khipu, Hambit, PayU): create under
                      ci-approve-all, await the signed callback at a loopback merchant,
                      read the payment back; flows/s and flow latency (the sandbox it
                      starts runs with --time-scale 0.001)

Without --target the command starts a fresh sandbox (this binary) on a free
loopback port, measures its startup and samples its memory (RSS) during the run.
The bare handler runs as a separate process of this binary too: it reads the
body and answers a fixed text of the size of the mode's answer, to the very
requests the mode sends. The two are measured in alternating rounds (-rounds)
so that both see the same machine. -cpus SERVER:CLIENT pins the servers and
the generator (e.g. -cpus 0:1: a one-CPU sandbox, as in a --cpus=1 container).

Flags:
`

type loadOptions struct {
	target      string
	concurrency int
	duration    time.Duration
	warmup      time.Duration
	sample      time.Duration
	baseline    bool
	n           int
	rounds      int
	rate        time.Duration
	burst       bool
	clientProcs int
	serveFlags  string
	binary      string
	cpus        cpuPlan
	bareBytes   int
	profile     string
}

func loadCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sandbox load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o loadOptions
	fs.StringVar(&o.target, "target", "", "base URL of a running sandbox on loopback (default: start one)")
	fs.IntVar(&o.concurrency, "c", 32, "concurrent connections")
	fs.DurationVar(&o.duration, "d", 10*time.Second, "measured duration (at most 5m)")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured warm-up before the measurement")
	fs.DurationVar(&o.sample, "sample", 5*time.Second, "RSS sampling interval of a started sandbox")
	fs.BoolVar(&o.baseline, "baseline", true, "also measure a bare Go handler in the same run")
	fs.IntVar(&o.n, "n", 0, "callbacks: notifications (default 100000); store: payments (default 100000); startup: runs (default 10)")
	fs.IntVar(&o.rounds, "rounds", 3, "alternating rounds of baseline and mode; each round measures d/rounds")
	fs.DurationVar(&o.rate, "interval", 0, "callbacks: create one payment per interval (default 200µs: 5,000/s)")
	fs.BoolVar(&o.burst, "burst", false, "callbacks: make every notification due at the same instant (throughput)")
	fs.IntVar(&o.clientProcs, "client-procs", 1, "GOMAXPROCS of the load generator (the servers keep theirs)")
	fs.StringVar(&o.serveFlags, "serve-flags", "", `extra flags for the sandbox the command starts, e.g. "--max-objects 20000"`)
	fs.StringVar(&o.binary, "binary", "", "sandbox binary to start (default: this executable)")
	cpus := fs.String("cpus", "", `pin the servers and the load generator to CPUs: SERVER:CLIENT, e.g. "0:1" (Linux)`)
	fs.StringVar(&o.profile, "profile", "", "save the started sandbox's CPU profile and execution trace (last round), mutex, block and heap profiles, gctrace and per-request latencies in this directory")
	fs.IntVar(&o.bareBytes, "bare-bytes", 0, "serve-baseline: bytes of the bare handler's fixed answer (default: the size of a Khipu create answer)")
	fs.Usage = func() {
		fmt.Fprint(stderr, loadUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("load: name one mode")
	}
	if o.duration <= 0 || o.duration > 5*time.Minute {
		return errors.New("load: -d must be between 0 and 5m")
	}
	if o.concurrency < 1 || o.concurrency > 1024 {
		return errors.New("load: -c must be between 1 and 1024")
	}
	var err error
	if o.cpus, err = parseCPUs(*cpus); err != nil {
		return err
	}
	if o.binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		o.binary = exe
	}
	mode := fs.Arg(0)
	if _, ok := generators[mode]; o.profile != "" && (!ok || o.target != "") {
		return fmt.Errorf("load: -profile works in the request modes (khipu-create, khipu-get, hambit-collection, payu-card, healthz) against the sandbox the command starts (no -target), not in %s", mode)
	}
	switch mode {
	case "startup":
		return loadStartup(ctx, o, stdout)
	case "baseline":
		return loadBaselineOnly(ctx, o, stdout)
	case "serve-baseline": // internal: the bare handler's process
		return serveBaseline(ctx, o.bareBytes, stdout)
	case "flow":
		return loadFlow(ctx, o, stdout)
	}
	gen, ok := generators[mode]
	if !ok && mode != "callbacks" && mode != "store" && mode != "hostile" {
		fs.Usage()
		return fmt.Errorf("load: unknown mode %q", mode)
	}

	var child *spawned
	var prof *profiling
	if o.target == "" {
		args := append([]string{"serve", "--addr", "127.0.0.1:0", "--log-level", "warn"}, strings.Fields(o.serveFlags)...)
		var env []string
		var stderr io.Writer = os.Stderr
		if o.profile != "" {
			var err error
			if prof, err = newProfiling(o.profile); err != nil {
				return err
			}
			var flags []string
			flags, env, stderr = prof.spawnFlags()
			args = append(args, flags...)
		}
		var err error
		child, err = spawnWith(ctx, o.binary, o.cpus.server, env, stderr, args...)
		if err != nil {
			return err
		}
		defer child.stop()
		o.target = child.base
		fmt.Fprintf(stdout, "started %s: first answer after %v, idle RSS %s\n", o.target, child.startup.Round(100*time.Microsecond), mib(child.rss()))
	}
	if err := loopbackOnly(o.target); err != nil {
		return err
	}
	if err := pinClient(o, stdout); err != nil {
		return err
	}
	// The generator's own heap is small and all garbage: with the sandbox's
	// GOGC it would collect several dozen times a second on its one CPU and
	// add its pauses to every latency it measures (wrk, in C, has none).
	// Servers are separate processes and keep their own setting.
	debug.SetGCPercent(800)
	switch mode {
	case "callbacks":
		return loadCallbacks(ctx, o, child, stdout)
	case "store":
		return loadStore(ctx, o, child, stdout)
	case "hostile":
		return loadHostile(ctx, o, child, stdout)
	}

	g, err := gen(ctx, o.target)
	if err != nil {
		return fmt.Errorf("load %s: %w", mode, err)
	}
	var bare *spawned
	var bareGen func(w, i int) (*http.Request, error)
	if o.baseline {
		// The floor answers what the mode answers, byte for byte in size,
		// to the very requests the mode sends.
		size, err := answerSize(g, o.concurrency)
		if err != nil {
			return fmt.Errorf("load %s: %w", mode, err)
		}
		if bare, err = spawnBaseline(ctx, o.cpus.server, size); err != nil {
			return err
		}
		defer bare.stop()
		bareGen = redirect(g, bare.base)
		fmt.Fprintf(stdout, "bare handler %s: reads the body, answers a fixed %d bytes (the size of the first %s answer)\n", bare.base, size, mode)
	}
	var samples []string
	stopSampling := make(chan struct{})
	var sampled sync.WaitGroup
	if child != nil {
		sampled.Go(func() {
			t := time.NewTicker(o.sample)
			defer t.Stop()
			start := time.Now()
			for {
				select {
				case <-t.C:
					samples = append(samples, fmt.Sprintf("%4.0fs %s", time.Since(start).Seconds(), mib(child.rss())))
				case <-stopSampling:
					return
				}
			}
		})
	}
	// Alternate rounds: baseline, mode, baseline, mode, … so that both see
	// the same machine (other processes, CPU frequency, the host's neighbours).
	var res, base result
	round := o
	round.duration = o.duration / time.Duration(max(o.rounds, 1))
	for r := range max(o.rounds, 1) {
		if bare != nil {
			b, err := hammer(ctx, round, bareGen)
			if err != nil {
				return err
			}
			base = base.merge(b)
		}
		var saved func() error
		if prof != nil && r == max(o.rounds, 1)-1 {
			saved = prof.capture(ctx, child, round.warmup+round.duration)
		}
		m, err := hammer(ctx, round, g)
		if err != nil {
			return err
		}
		if saved != nil {
			if err := saved(); err != nil {
				return err
			}
		}
		res = res.merge(m)
	}
	close(stopSampling)
	sampled.Wait()
	if bare != nil {
		fmt.Fprintln(stdout, base.line("baseline (bare Go handler)"))
	}
	fmt.Fprintln(stdout, res.line(mode))
	if bare != nil && base.rps > 0 {
		fmt.Fprintf(stdout, "%s at %.0f%% of the bare handler's throughput (median of %d alternating rounds: %s)\n",
			mode, 100*res.rps/base.rps, max(o.rounds, 1), ratios(res.rounds, base.rounds))
	}
	if child != nil {
		fmt.Fprintf(stdout, "sandbox RSS during the run: %s\n", strings.Join(samples, ", "))
		time.Sleep(time.Second) // let in-flight work finish before the last reading
		fmt.Fprintf(stdout, "sandbox RSS after the run: %s\n", mib(child.rss()))
	}
	if res.failures > 0 {
		fmt.Fprintf(stdout, "first failure: %s\n", res.firstFailure)
	}
	if prof != nil {
		if err := prof.after(ctx, child); err != nil {
			return err
		}
		if err := writeTimeline(filepath.Join(o.profile, "latency.txt"), "sandbox", res.timeline, readGCTrace(filepath.Join(o.profile, "gctrace.txt"), child.started), stdout); err != nil {
			return err
		}
		if bare != nil {
			if err := writeTimeline(filepath.Join(o.profile, "latency-bare.txt"), "bare handler", base.timeline, nil, stdout); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "profile: saved in %s (go tool pprof %s/cpu.pprof; go tool trace %s/trace.out)\n", o.profile, o.profile, o.profile)
	}
	return nil
}

// generator returns a function building the i-th request of worker w.
type generator func(ctx context.Context, base string) (func(w, i int) (*http.Request, error), error)

// generators holds the provider traffic modes (filled in load_providers.go).
var generators = map[string]generator{
	"healthz": func(ctx context.Context, base string) (func(w, i int) (*http.Request, error), error) {
		return func(w, i int) (*http.Request, error) { return http.NewRequest(http.MethodGet, base+"/healthz", nil) }, nil
	},
}

type result struct {
	requests, failures int
	rps                float64
	p50, p90, p99, max time.Duration
	firstFailure       string
	rounds             []float64       // req/s of each round
	latencies          []time.Duration // all of them, sorted (for merging)
	timeline           []sample        // every measured request, by worker
}

// merge adds round r to the result: requests and failures add up, rps is
// the median of the rounds, percentiles come from every latency.
func (a result) merge(b result) result {
	out := result{requests: a.requests + b.requests, failures: a.failures + b.failures, firstFailure: a.firstFailure}
	if out.firstFailure == "" {
		out.firstFailure = b.firstFailure
	}
	out.rounds = append(append([]float64(nil), a.rounds...), b.rps)
	sorted := slices.Clone(out.rounds)
	slices.Sort(sorted)
	out.rps = sorted[len(sorted)/2]
	out.latencies = append(append([]time.Duration(nil), a.latencies...), b.latencies...)
	out.timeline = append(append([]sample(nil), a.timeline...), b.timeline...)
	slices.Sort(out.latencies)
	if all := out.latencies; len(all) > 0 {
		pct := func(p float64) time.Duration { return all[min(len(all)-1, int(float64(len(all))*p))] }
		out.p50, out.p90, out.p99, out.max = pct(0.50), pct(0.90), pct(0.99), all[len(all)-1]
	}
	return out
}

func ratios(mode, base []float64) string {
	var parts []string
	for i := range min(len(mode), len(base)) {
		parts = append(parts, fmt.Sprintf("%.0f%%", 100*mode[i]/base[i]))
	}
	return strings.Join(parts, ", ")
}

func (r result) line(name string) string {
	return fmt.Sprintf("%-22s %8d req  %8.0f req/s  p50 %-8v p90 %-8v p99 %-8v max %-8v errors %d",
		name, r.requests, r.rps, r.p50.Round(time.Microsecond), r.p90.Round(time.Microsecond),
		r.p99.Round(time.Microsecond), r.max.Round(time.Microsecond), r.failures)
}

// hammer runs the workers: warm-up, then the measured window, each worker
// sending the requests of next one after the other on its own connection.
func hammer(ctx context.Context, o loadOptions, next func(w, i int) (*http.Request, error)) (result, error) {
	tr := &http.Transport{MaxIdleConns: o.concurrency * 2, MaxIdleConnsPerHost: o.concurrency * 2, IdleConnTimeout: time.Minute, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	bufs := make([][]byte, o.concurrency)
	for w := range bufs {
		bufs[w] = make([]byte, 32<<10)
	}
	return drive(ctx, o, func(ctx context.Context, w, i int) (string, error) {
		req, err := next(w, i)
		if err != nil {
			return "", err
		}
		resp, err := client.Do(req.WithContext(ctx))
		if err != nil {
			return req.Method + " " + req.URL.Path + ": " + err.Error(), nil
		}
		for {
			if _, rerr := resp.Body.Read(bufs[w]); rerr != nil {
				break
			}
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return req.Method + " " + req.URL.Path + ": " + fmt.Sprintf("HTTP %d", resp.StatusCode), nil
		}
		return "", nil
	})
}

// drive runs o.concurrency workers, each calling op for i = 0, 1, … one
// after the other: a warm-up, then the measured window, in which the
// duration of every op is recorded. op answers a failure description ("" for
// success), or an error that stops its worker (the traffic cannot be made).
func drive(ctx context.Context, o loadOptions, op func(ctx context.Context, w, i int) (string, error)) (result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var measuring atomic.Bool
	var failures atomic.Int64
	var firstFailure atomic.Value
	lat := make([][]sample, o.concurrency)
	counts := make([]int, o.concurrency)
	var wg sync.WaitGroup
	for w := range o.concurrency {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				start := time.Now()
				failure, err := op(ctx, w, i)
				if err != nil {
					firstFailure.CompareAndSwap(nil, err.Error())
					failures.Add(1)
					return
				}
				d := time.Since(start)
				if !measuring.Load() || ctx.Err() != nil {
					continue
				}
				counts[w]++
				lat[w] = append(lat[w], sample{start, d})
				if failure != "" {
					failures.Add(1)
					firstFailure.CompareAndSwap(nil, failure)
				}
			}
		})
	}
	select {
	case <-time.After(o.warmup):
	case <-ctx.Done():
	}
	measuring.Store(true)
	start := time.Now()
	select {
	case <-time.After(o.duration):
	case <-ctx.Done():
	}
	elapsed := time.Since(start)
	measuring.Store(false)
	cancel()
	wg.Wait()
	var all []time.Duration
	var timeline []sample
	n := 0
	for w := range lat {
		for _, s := range lat[w] {
			all = append(all, s.d)
		}
		timeline = append(timeline, lat[w]...)
		n += counts[w]
	}
	slices.Sort(all)
	r := result{requests: n, failures: int(failures.Load()), rps: float64(n) / elapsed.Seconds(), latencies: all, timeline: timeline}
	if ff, ok := firstFailure.Load().(string); ok {
		r.firstFailure = ff
	}
	if len(all) > 0 {
		pct := func(p float64) time.Duration { return all[min(len(all)-1, int(float64(len(all))*p))] }
		r.p50, r.p90, r.p99, r.max = pct(0.50), pct(0.90), pct(0.99), all[len(all)-1]
	}
	return r, nil
}

// khipuCreateAnswerSize is the size of the answer to a signed Khipu create
// of the load modes, the bare handler's default answer.
const khipuCreateAnswerSize = 327

// bareAnswer is the fixed answer of the bare handler: n bytes of JSON.
func bareAnswer(n int) []byte {
	const head, tail = `{"payment_id":"gqzdy6chjne9","pad":"`, `"}`
	n = max(n, len(head)+len(tail))
	return []byte(head + strings.Repeat("x", n-len(head)-len(tail)) + tail)
}

// bareHandler is the floor the sandbox is compared with: what a Go server
// does with no work at all (it reads the body and answers a fixed JSON).
func bareHandler(answer []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(answer)
	}
}

// serveBaseline runs the bare handler on a free loopback port until ctx ends
// (the child process of spawnBaseline).
func serveBaseline(ctx context.Context, size int, stdout io.Writer) error {
	if size <= 0 {
		size = khipuCreateAnswerSize
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: bareHandler(bareAnswer(min(size, 1<<20)))}
	go srv.Serve(ln)
	fmt.Fprintf(stdout, "sandbox ready on http://%s\n", ln.Addr())
	<-ctx.Done()
	return srv.Close()
}

// spawnBaseline starts the bare handler as a process of its own, so that it
// is measured the way the sandbox is (its own runtime and garbage collector).
// It is this executable (the load generator's), whatever -binary names, so
// that the floor stays the same when another build of the sandbox is loaded.
func spawnBaseline(ctx context.Context, cpus []int, size int) (*spawned, error) {
	binary, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return spawnArgs(ctx, binary, cpus, "load", "-bare-bytes", strconv.Itoa(size), "serve-baseline")
}

// bareKhipuCreate sends the signed Khipu creates of khipu-create to the bare
// handler at base (load baseline).
func bareKhipuCreate(base string) func(w, i int) (*http.Request, error) {
	g, _ := genKhipuCreate(context.Background(), base)
	return g
}

// redirect sends the requests of g to the server at base instead.
func redirect(g func(w, i int) (*http.Request, error), base string) func(w, i int) (*http.Request, error) {
	u, _ := url.Parse(base)
	return func(w, i int) (*http.Request, error) {
		req, err := g(w, i)
		if err != nil {
			return nil, err
		}
		req.URL.Scheme, req.URL.Host, req.Host = u.Scheme, u.Host, u.Host
		return req, nil
	}
}

// answerSize sends one request of g as worker w (one the measurement does
// not use) and measures its answer.
func answerSize(g func(w, i int) (*http.Request, error), w int) (int, error) {
	req, err := g(w, 0)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s %s: HTTP %d", req.Method, req.URL.Path, resp.StatusCode)
	}
	return int(n), err
}

// pinClient gives the load generator (this process) its CPUs and GOMAXPROCS,
// after the servers started: they keep theirs.
func pinClient(o loadOptions, stdout io.Writer) error {
	procs := o.clientProcs
	if o.cpus.client != nil {
		if err := pinProcess(os.Getpid(), o.cpus.client); err != nil {
			return err
		}
		procs = len(o.cpus.client)
		fmt.Fprintf(stdout, "pinned: servers on CPU %s, load generator on CPU %s (GOMAXPROCS %d)\n", cpuList(o.cpus.server), cpuList(o.cpus.client), procs)
	}
	if procs > 0 {
		runtime.GOMAXPROCS(procs)
	}
	return nil
}

func loadBaselineOnly(ctx context.Context, o loadOptions, stdout io.Writer) error {
	bare, err := spawnBaseline(ctx, o.cpus.server, o.bareBytes)
	if err != nil {
		return err
	}
	defer bare.stop()
	if err := pinClient(o, stdout); err != nil {
		return err
	}
	r, err := hammer(ctx, o, bareKhipuCreate(bare.base))
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, r.line("baseline"))
	return nil
}

// loopbackOnly refuses to load anything but this machine.
func loopbackOnly(target string) error {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return fmt.Errorf("load: bad --target %q", target)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("load: --target %q is not a loopback address: the load command only loads this machine", target)
	}
	return nil
}

// spawned is a sandbox started by the load command.
type spawned struct {
	cmd     *exec.Cmd
	base    string
	pprof   string // the profiler's base URL (serve --pprof), or ""
	started time.Time
	startup time.Duration
}

var (
	readyRE = regexp.MustCompile(`^sandbox ready on (http://\S+)`)
	pprofRE = regexp.MustCompile(`^pprof on (http://\S+)`)
)

func spawn(ctx context.Context, binary string, cpus []int, extra ...string) (*spawned, error) {
	return spawnArgs(ctx, binary, cpus, append([]string{"serve", "--addr", "127.0.0.1:0"}, extra...)...)
}

// spawnArgs starts binary with args and waits for its ready line; with
// cpus, the process runs on those CPUs only (GOMAXPROCS their number).
func spawnArgs(ctx context.Context, binary string, cpus []int, args ...string) (*spawned, error) {
	return spawnWith(ctx, binary, cpus, nil, os.Stderr, args...)
}

// spawnWith is spawnArgs with extra environment variables and the child's
// standard error sent to stderr. A "pprof on" line before the ready line
// (serve --pprof) gives the profiler's address.
func spawnWith(ctx context.Context, binary string, cpus []int, env []string, stderr io.Writer, args ...string) (*spawned, error) {
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(cpuPlan{server: cpus}.serverEnv(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	lines := bufio.NewReader(out)
	var line, prof string
	var m []string
	for range 8 { // the ready line comes first, after a pprof line at most
		if line, err = lines.ReadString('\n'); err != nil {
			break
		}
		if p := pprofRE.FindStringSubmatch(line); p != nil {
			prof = p[1]
			continue
		}
		m = readyRE.FindStringSubmatch(line)
		break
	}
	if err != nil || m == nil {
		cmd.Process.Kill()
		return nil, fmt.Errorf("load: the sandbox did not start (%q, %v)", line, err)
	}
	if err := pinProcess(cmd.Process.Pid, cpus); err != nil {
		cmd.Process.Kill()
		return nil, err
	}
	resp, err := http.Get(m[1] + "/healthz")
	if err != nil {
		cmd.Process.Kill()
		return nil, err
	}
	resp.Body.Close()
	return &spawned{cmd: cmd, base: m[1], pprof: prof, started: start, startup: time.Since(start)}, nil
}

func (s *spawned) stop() {
	s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
	}
}

// rss reads the resident set size of the child from /proc (Linux).
func (s *spawned) rss() int64 { return s.procStatus("VmRSS:") }

// procStatus reads a size in kB (VmRSS:, VmHWM:, …) of the child's
// /proc/PID/status, in bytes; -1 when it cannot be read.
func (s *spawned) procStatus(field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return -1
}

func mib(n int64) string {
	if n < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// loadStartup starts the sandbox several times: time from exec to the first
// answered request, and RSS once idle.
func loadStartup(ctx context.Context, o loadOptions, stdout io.Writer) error {
	n := o.n
	if n <= 0 {
		n = 10
	}
	var times []time.Duration
	var rss []int64
	for range n {
		s, err := spawn(ctx, o.binary, o.cpus.server, "--log-level", "warn")
		if err != nil {
			return err
		}
		times = append(times, s.startup)
		time.Sleep(500 * time.Millisecond)
		rss = append(rss, s.rss())
		s.stop()
	}
	slices.Sort(times)
	slices.Sort(rss)
	fmt.Fprintf(stdout, "startup over %d runs: median %v, max %v (start to first answered request, built-in scenarios loaded)\n",
		n, times[n/2].Round(100*time.Microsecond), times[n-1].Round(100*time.Microsecond))
	fmt.Fprintf(stdout, "idle RSS: median %s, max %s\n", mib(rss[n/2]), mib(rss[n-1]))
	return nil
}
