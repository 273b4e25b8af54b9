package main

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The sandbox's memory policy, for `serve` unless GOGC or GOMEMLIMIT is set.
//
// With GOGC alone the heap may grow to 1.75× what is live (gcPercent):
// cheap while little is stored, but 100,000 stored payments would then
// cost twice their size. A soft memory limit that follows the live heap
// (a third more, plus a margin, never under a floor) keeps the process
// close to what it holds once it holds much, and costs nothing while it
// holds little (the GOGC goal is lower than the limit then). The limit is
// raised as the live heap grows, so the collector never runs flat out
// against a limit the objects kept have outgrown.
//
// The live heap is only known after a collection, and an idle process does
// not collect: after a burst (say 100,000 callbacks) the memory the burst
// used would stay with the process until the runtime's next forced
// collection, minutes later. So once the process has been idle for
// idleRelease with more heap than releaseAbove, it collects once and
// returns what is free to the system. The floor is 64 MiB so that a burst
// of hostile requests (README, Security) stays well under 128 MiB of RSS.
const (
	memoryFloor  = 64 << 20 // no limit below this: small heaps follow GOGC
	releaseAbove = 48 << 20 // an idle process holding more heap than this gives the free part back
	memoryMargin = 16 << 20 // stacks, buffers and the garbage of a burst
	memoryPeriod = 250 * time.Millisecond
	idleRelease  = 10 * time.Second
)

// memoryLimitFor is the soft memory limit for a live heap of live bytes.
func memoryLimitFor(live uint64) int64 {
	return max(memoryFloor, int64(live+live/3+memoryMargin))
}

// shouldRelease reports whether to collect and return free memory now: the
// process has run no collection for idle, holds more heap than releaseAbove,
// and the last collection was not already such a release.
func shouldRelease(idle time.Duration, heap uint64, released bool) bool {
	return idle >= idleRelease && heap > releaseAbove && !released
}

// followLiveHeap applies the policy every memoryPeriod until ctx ends.
func followLiveHeap(ctx context.Context) {
	samples := []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/gc/cycles/total:gc-cycles"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}
	value := func(i int) uint64 {
		if samples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return samples[i].Value.Uint64()
	}
	var cycles uint64
	lastCycle := time.Now()
	released := false // the last collection was ours, and memory was returned after it
	t := time.NewTicker(memoryPeriod)
	defer t.Stop()
	for {
		metrics.Read(samples)
		if live := value(0); live > 0 {
			debug.SetMemoryLimit(memoryLimitFor(live))
		}
		now := time.Now()
		if c := value(1); c != cycles {
			cycles, lastCycle, released = c, now, false
		}
		if heap := value(2) + value(3) + value(4); shouldRelease(now.Sub(lastCycle), heap, released) {
			debug.FreeOSMemory()
			metrics.Read(samples)
			cycles, lastCycle, released = value(1), time.Now(), true
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
