package main

import (
	"testing"
	"time"
)

func TestMemoryLimitFor(t *testing.T) {
	const MiB = 1 << 20
	tests := []struct {
		live uint64
		want int64
	}{
		{0, 64 * MiB},            // idle: the floor, GOGC decides
		{30 * MiB, 64 * MiB},     // 30 + 10 + 16 = 56: still the floor
		{60 * MiB, 96 * MiB},     // 60 + 20 + 16 = 96
		{90 * MiB, 136 * MiB},    // 100,000 paid payments: 90 + 30 + 16
		{300 * MiB, 416 * MiB},   // far beyond the budget: the limit follows, never below live
		{3000 * MiB, 4016 * MiB}, // large heaps keep a third more room
	}
	for _, tt := range tests {
		if got := memoryLimitFor(tt.live); got != tt.want {
			t.Errorf("memoryLimitFor(%d MiB) = %d MiB, want %d MiB", tt.live/MiB, got/MiB, tt.want/MiB)
		}
		if got := memoryLimitFor(tt.live); got <= int64(tt.live) {
			t.Errorf("limit %d is not above the live heap %d", got, tt.live)
		}
	}
}

func TestIsServe(t *testing.T) {
	for args, want := range map[string]bool{"": true, "serve": true, "--addr": true, "load": false, "healthcheck": false, "version": false} {
		var a []string
		if args != "" {
			a = []string{args}
		}
		if got := isServe(a); got != want {
			t.Errorf("isServe(%q) = %v", args, got)
		}
	}
}

func TestShouldRelease(t *testing.T) {
	const MiB = 1 << 20
	tests := []struct {
		name     string
		idle     time.Duration
		heap     uint64
		released bool
		want     bool
	}{
		{"busy: the collector runs anyway", time.Second, 300 * MiB, false, false},
		{"idle after a burst", 10 * time.Second, 300 * MiB, false, true},
		{"idle and already released", time.Minute, 300 * MiB, true, false},
		{"idle with a small heap", time.Minute, 40 * MiB, false, false},
		{"idle after a hostile burst", 10 * time.Second, 100 * MiB, false, true},
	}
	for _, tt := range tests {
		if got := shouldRelease(tt.idle, tt.heap, tt.released); got != tt.want {
			t.Errorf("%s: shouldRelease = %v, want %v", tt.name, got, tt.want)
		}
	}
}
