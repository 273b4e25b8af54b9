package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
)

// pprofFlag declares serve's --pprof: Go's profiler on a loopback listener
// of its own, off unless given. sandbox load -profile uses it to read CPU,
// mutex and block profiles and an execution trace from the sandbox it loads.
func pprofFlag(addr *string) func(*flag.FlagSet) {
	return func(fs *flag.FlagSet) {
		fs.StringVar(addr, "pprof", "", "serve Go's profiler (/debug/pprof/) on this loopback host:port, e.g. 127.0.0.1:6060; also records mutex and block profiles (default: off)")
	}
}

// startPprof serves net/http/pprof on addr, which must be a loopback
// address, and says where on stdout ("pprof on http://…"). The mutex and
// block profiles are recorded from then on (a contended lock in 10, a
// blocking event per 100 µs blocked). It returns the listener's closer.
func startPprof(addr string, stdout io.Writer) (io.Closer, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--pprof %q: %v", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("--pprof %q: the profiler listens on a loopback address only (127.0.0.1, ::1)", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	runtime.SetMutexProfileFraction(10)
	runtime.SetBlockProfileRate(100_000)
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	fmt.Fprintf(stdout, "pprof on http://%s/debug/pprof/\n", ln.Addr())
	return srv, nil
}
