package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// --pprof serves the profiler on loopback only, and nothing else there.
func TestPprofLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "192.0.2.1:0", ":0", "example.com:0", "127.0.0.1"} {
		if c, err := startPprof(addr, io.Discard); err == nil {
			c.Close()
			t.Errorf("--pprof %s: no error", addr)
		}
	}
	var out bytes.Buffer
	c, err := startPprof("127.0.0.1:0", &out)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	base := strings.TrimSpace(strings.TrimPrefix(out.String(), "pprof on "))
	if !pprofRE.MatchString(out.String()) {
		t.Fatalf("announced %q", out.String())
	}
	for path, want := range map[string]int{"cmdline": 200, "mutex?debug=1": 200, "block?debug=1": 200, "../../healthz": 404} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s%s: %d, want %d", base, path, resp.StatusCode, want)
		}
	}
}

// The timeline counts the requests slower than p99, the 100 ms windows
// they fall in, and those that overlap a collection read from gctrace.
func TestTimelineAndGCTrace(t *testing.T) {
	dir := t.TempDir()
	start := time.Unix(1_700_000_000, 0)
	gctrace := "gc 1 @1.000s 2%: 0.050+40+0.010 ms clock, 0.05+1/2/3+0.01 ms cpu, 4->4->2 MB, 5 MB goal, 1 P\n" +
		"some other line\n" +
		"gc 2 @2.500s 3%: 0.1+9.9+0 ms clock, 0.1+1/2/3+0 ms cpu, 4->4->2 MB, 5 MB goal, 1 P\n"
	path := filepath.Join(dir, "gctrace.txt")
	if err := os.WriteFile(path, []byte(gctrace), 0o644); err != nil {
		t.Fatal(err)
	}
	gcs := readGCTrace(path, start)
	if len(gcs) != 2 || !gcs[0].from.Equal(start.Add(time.Second)) || gcs[0].to.Sub(gcs[0].from) != 40060*time.Microsecond || gcs[1].to.Sub(gcs[1].from) != 10*time.Millisecond {
		t.Fatalf("collections %v", gcs)
	}
	// 995 fast requests over 3 s (1 ms: p99, the 990th), and 5 slow ones
	// in 4 windows, three of them overlapping the first collection; of all
	// requests, 19 overlap one (16 fast ones, 3 slow).
	var samples []sample
	for i := range 995 {
		samples = append(samples, sample{start.Add(time.Duration(i) * 3 * time.Millisecond), time.Millisecond})
	}
	for i, at := range []time.Duration{500 * time.Millisecond, 1010 * time.Millisecond, 1020 * time.Millisecond, 990 * time.Millisecond, 2200 * time.Millisecond} {
		samples = append(samples, sample{start.Add(at), 50*time.Millisecond + time.Duration(i)})
	}
	var out bytes.Buffer
	if err := writeTimeline(filepath.Join(dir, "latency.txt"), "sandbox", samples, gcs, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sandbox: 5 requests slower than p99 1ms fall in 4 of the 30 100-ms windows (the worst holds 2)", "sandbox: 2 collections; 60% of those slow requests overlap one, against 2% of all requests"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, &out)
		}
	}
	data, _ := os.ReadFile(filepath.Join(dir, "latency.txt"))
	if lines := strings.Count(string(data), "\n"); lines != 1000 || !strings.HasPrefix(string(data), "0.000 1000\n") {
		t.Errorf("latency.txt: %d lines, starts %q", lines, data[:min(len(data), 20)])
	}
}

// load -profile against a sandbox binary it starts saves every profile.
func TestLoadProfile(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the binary and loads it for seconds")
	}
	bin := filepath.Join(t.TempDir(), "sandbox")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dir := filepath.Join(t.TempDir(), "prof")
	var out bytes.Buffer
	err := loadCmd(context.Background(), []string{"-binary", bin, "-baseline=false", "-rounds", "1", "-c", "2", "-d", "1s", "-warmup", "100ms", "-profile", dir, "khipu-create"}, &out, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, &out)
	}
	for _, f := range []string{"cpu.pprof", "trace.out", "mutex.pprof", "block.pprof", "heap.pprof", "latency.txt", "gctrace.txt"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || (st.Size() == 0 && f != "gctrace.txt") {
			t.Errorf("%s: %v", f, err)
		}
	}
	if !strings.Contains(out.String(), "requests slower than p99") || !strings.Contains(out.String(), fmt.Sprintf("profile: saved in %s", dir)) {
		t.Errorf("output:\n%s", &out)
	}
}

// FuzzReadGCTrace: whatever the sandbox's stderr holds, reading it as a
// gctrace never panics and gives collections that end after they start.
func FuzzReadGCTrace(f *testing.F) {
	f.Add("gc 1 @1.000s 2%: 0.050+40+0.010 ms clock, 0.05+1/2/3+0.01 ms cpu, 4->4->2 MB, 5 MB goal, 1 P\n")
	f.Add("gc 2 @99999999999999999999s 3%: 1e9+NaN+-1 ms clock\n")
	f.Add("gc 3 @.s 1%: ++ ms clock\nlevel=WARN msg=x\n")
	f.Fuzz(func(t *testing.T, text string) {
		path := filepath.Join(t.TempDir(), "gctrace.txt")
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, g := range readGCTrace(path, time.Unix(1_700_000_000, 0)) {
			if g.to.Before(g.from) {
				t.Fatalf("collection ends %v before it starts %v", g.to, g.from)
			}
		}
	})
}
