package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// load -profile DIR: the sandbox the command starts serves Go's profiler on
// a loopback port (serve --pprof 127.0.0.1:0) and prints its garbage
// collections (GODEBUG=gctrace=1); the command saves, in DIR, a CPU profile
// and an execution trace of the last measured round, the mutex, block and
// heap profiles after it, the collector's lines, and every measured
// request's start and latency; it then says whether the slow requests
// cluster and how many of them overlap a collection.

// profiling is what -profile keeps while the run goes on.
type profiling struct {
	dir     string
	gctrace *os.File
}

func newProfiling(dir string) (*profiling, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(dir, "gctrace.txt"))
	if err != nil {
		return nil, err
	}
	return &profiling{dir: dir, gctrace: f}, nil
}

// spawnFlags are the sandbox's extra flags and environment under -profile.
func (p *profiling) spawnFlags() (flags, env []string, stderr io.Writer) {
	return []string{"--pprof", "127.0.0.1:0"}, []string{"GODEBUG=gctrace=1"}, p.gctrace
}

// capture starts a CPU profile and an execution trace of the next d of
// child; wait returns when both are saved.
func (p *profiling) capture(ctx context.Context, child *spawned, d time.Duration) (wait func() error) {
	secs := strconv.Itoa(max(1, int(d/time.Second)))
	errs := make(chan error, 2)
	for _, f := range []struct{ path, file string }{{"profile?seconds=" + secs, "cpu.pprof"}, {"trace?seconds=" + secs, "trace.out"}} {
		go func() { errs <- p.fetch(ctx, child, f.path, f.file) }()
	}
	return func() error {
		err1, err2 := <-errs, <-errs
		if err1 != nil {
			return err1
		}
		return err2
	}
}

// after saves the profiles that accumulate over the run.
func (p *profiling) after(ctx context.Context, child *spawned) error {
	for _, name := range []string{"mutex", "block", "heap"} {
		if err := p.fetch(ctx, child, name, name+".pprof"); err != nil {
			return err
		}
	}
	return p.gctrace.Close()
}

func (p *profiling) fetch(ctx context.Context, child *spawned, path, file string) error {
	if child == nil || child.pprof == "" {
		return fmt.Errorf("load -profile: the sandbox serves no profiler (started with --target, or a build without --pprof)")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, child.pprof+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("load -profile: %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("load -profile: %s: HTTP %d", path, resp.StatusCode)
	}
	f, err := os.Create(filepath.Join(p.dir, file))
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// sample is one measured request: when it started and how long it took.
type sample struct {
	at time.Time
	d  time.Duration
}

// gcSpan is one garbage collection of the child, from its gctrace line.
type gcSpan struct{ from, to time.Time }

// gcLineRE matches "gc 12 @3.456s 2%: 0.018+1.2+0.003 ms clock, …".
var gcLineRE = regexp.MustCompile(`^gc \d+ @([0-9.]+)s \d+%: ([0-9.+]+) ms clock`)

// readGCTrace reads the collections of a gctrace file whose process started
// at start.
func readGCTrace(path string, start time.Time) []gcSpan {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []gcSpan
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := gcLineRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		at, _ := time.ParseDuration(m[1] + "s") // decimal, exact
		var d time.Duration
		for part := range strings.SplitSeq(m[2], "+") {
			ms, _ := time.ParseDuration(part + "ms")
			d += ms
		}
		from := start.Add(at)
		out = append(out, gcSpan{from, from.Add(d)})
	}
	return out
}

// writeTimeline saves the samples of the server called name as
// "start_ms latency_us" lines (start from the first sample) and describes
// where the slowest 1 % fall: how many 100 ms windows hold them, and how
// many overlap a collection of gcs (against the share of all requests
// that do). The bare handler's timeline, in the same run, shows what the
// machine itself does to the tail.
func writeTimeline(path, name string, samples []sample, gcs []gcSpan, stdout io.Writer) error {
	if len(samples) == 0 {
		return nil
	}
	slices.SortFunc(samples, func(a, b sample) int { return a.at.Compare(b.at) })
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	t0 := samples[0].at
	for _, s := range samples {
		fmt.Fprintf(w, "%.3f %d\n", float64(s.at.Sub(t0))/1e6, s.d.Microseconds())
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	ds := make([]time.Duration, len(samples))
	for i, s := range samples {
		ds[i] = s.d
	}
	slices.Sort(ds)
	p99 := ds[min(len(ds)-1, len(ds)*99/100)]
	overlaps := func(s sample) bool {
		end := s.at.Add(s.d)
		i, _ := slices.BinarySearchFunc(gcs, s.at, func(g gcSpan, t time.Time) int { return g.to.Compare(t) })
		return i < len(gcs) && gcs[i].from.Before(end)
	}
	windows := map[int64]int{} // slow requests per 100 ms window
	busy := map[int64]bool{}   // windows with any request (rounds alternate with the other server's)
	var slow, slowGC, allGC int
	for _, s := range samples {
		busy[int64(s.at.Sub(t0)/(100*time.Millisecond))] = true
		gc := overlaps(s)
		if gc {
			allGC++
		}
		if s.d > p99 {
			slow++
			windows[int64(s.at.Sub(t0)/(100*time.Millisecond))]++
			if gc {
				slowGC++
			}
		}
	}
	worst := 0
	for _, n := range windows {
		worst = max(worst, n)
	}
	fmt.Fprintf(stdout, "profile: %s: %d requests slower than p99 %v fall in %d of the %d 100-ms windows (the worst holds %d)\n",
		name, slow, p99.Round(time.Microsecond), len(windows), len(busy), worst)
	if len(gcs) > 0 && slow > 0 {
		fmt.Fprintf(stdout, "profile: %s: %d collections; %.0f%% of those slow requests overlap one, against %.0f%% of all requests\n",
			name, len(gcs), 100*float64(slowGC)/float64(slow), 100*float64(allGC)/float64(len(samples)))
	}
	return nil
}
