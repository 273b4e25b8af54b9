package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// CPU pinning for `sandbox load -cpus SERVER:CLIENT`: the servers the
// command starts (the sandbox and the bare handler) run on the SERVER CPUs
// and the load generator on the CLIENT CPUs, which is what a container
// limited with --cpus=1 next to its test runner looks like, and what makes
// the one-CPU figures reproducible on a machine with more cores.

// cpuPlan is a parsed -cpus value; nil lists mean "not pinned".
type cpuPlan struct {
	server, client []int
}

// parseCPUs reads "SERVER:CLIENT", each a list like "0", "0,2" or "0-3".
func parseCPUs(s string) (cpuPlan, error) {
	if s == "" {
		return cpuPlan{}, nil
	}
	srv, cli, ok := strings.Cut(s, ":")
	if !ok {
		return cpuPlan{}, fmt.Errorf("load: -cpus %q: expected SERVER:CLIENT, e.g. 0:1 (server on CPU 0, load generator on CPU 1)", s)
	}
	var p cpuPlan
	var err error
	if p.server, err = parseCPUList(srv); err != nil {
		return cpuPlan{}, fmt.Errorf("load: -cpus %q: server CPUs: %v", s, err)
	}
	if p.client, err = parseCPUList(cli); err != nil {
		return cpuPlan{}, fmt.Errorf("load: -cpus %q: client CPUs: %v", s, err)
	}
	return p, nil
}

// parseCPUList reads a list of CPU numbers and ranges ("0", "0,2", "1-3").
func parseCPUList(s string) ([]int, error) {
	if s == "" {
		return nil, fmt.Errorf("empty list")
	}
	seen := map[int]bool{}
	var out []int
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(hi)
		}
		if err != nil || a < 0 || b < a || b >= 1024 {
			return nil, fmt.Errorf("%q is not a CPU number or range (0-1023)", part)
		}
		for c := a; c <= b; c++ {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// env returns the environment of a server process pinned to cpus: the
// GOMAXPROCS a Go program started under taskset would choose.
func (p cpuPlan) serverEnv() []string {
	if p.server == nil {
		return nil
	}
	return append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(len(p.server)))
}

// pinProcess sets the CPU affinity of every thread of process pid. Threads
// created later inherit the mask of the thread that creates them, so the
// list is read again until no unpinned thread appears.
func pinProcess(pid int, cpus []int) error {
	if cpus == nil {
		return nil
	}
	var set unix.CPUSet
	for _, c := range cpus {
		set.Set(c)
	}
	pinned := map[int]bool{}
	for range 10 {
		entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		if err != nil {
			return fmt.Errorf("load: pinning process %d: %v", pid, err)
		}
		fresh := 0
		for _, e := range entries {
			tid, err := strconv.Atoi(e.Name())
			if err != nil || pinned[tid] {
				continue
			}
			if err := unix.SchedSetaffinity(tid, &set); err != nil && err != unix.ESRCH {
				return fmt.Errorf("load: pinning process %d to CPUs %v: %v", pid, cpus, err)
			}
			pinned[tid] = true
			fresh++
		}
		if fresh == 0 {
			return nil
		}
	}
	return nil
}

// cpuList formats cpus for the report.
func cpuList(cpus []int) string {
	if cpus == nil {
		return "any"
	}
	parts := make([]string, len(cpus))
	for i, c := range cpus {
		parts[i] = strconv.Itoa(c)
	}
	return strings.Join(parts, ",")
}
