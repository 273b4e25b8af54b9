package then_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators/internal/clock"
	"github.com/paysandbox/sandbox/emulators/internal/then"
	"github.com/paysandbox/sandbox/scenarios"
)

// frozen is a sandbox clock whose real time stands still: only Advance
// moves it, so nothing fires on its own.
func frozen(t *testing.T, scale float64) *clock.Clock {
	t.Helper()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := clock.New(clock.Options{Now: func() time.Time { return at }, Scale: scale})
	t.Cleanup(c.Close)
	return c
}

func TestSchedule(t *testing.T) {
	tests := []struct {
		name  string
		scale float64
		d     time.Duration
		// fires after advancing this far, not before (by a nanosecond)
		due time.Duration
	}{
		{"delay", 1, 5 * time.Second, 5 * time.Second},
		{"scaled by --time-scale", 0.5, 4 * time.Second, 2 * time.Second},
		{"negative is now", 1, -time.Second, 0},
		{"zero is now", 1, 0, 0},
	}
	for _, tt := range tests {
		for _, at := range []bool{false, true} {
			name := tt.name
			if at {
				name += ", ScheduleAt(Due)" // a persisted plan's way: the same instant
			}
			t.Run(name, func(t *testing.T) {
				c := frozen(t, tt.scale)
				fired := 0
				l := clock.Label{Provider: "p", Object: "o1", Kind: "review", Rule: "s rules[0]", Detail: "d"}
				if at {
					then.ScheduleAt(c.NewGroup(), then.Due(c, tt.d), l, func() { fired++ })
				} else {
					then.Schedule(c.NewGroup(), tt.d, l, func() { fired++ })
				}
				s := c.Scheduled(nil)
				if tt.due == 0 && len(s) == 0 {
					// Due now: the clock's goroutine may have taken it
					// already (Advance below waits for that firing).
				} else if len(s) != 1 || s[0].Label != l || !s[0].Due.Equal(c.Now().Add(tt.due)) {
					t.Fatalf("scheduled %+v, want one timer labelled %+v due in %v", s, l, tt.due)
				}
				if tt.due > 0 {
					if err := c.Advance(tt.due - 1); err != nil {
						t.Fatal(err)
					}
					if fired != 0 {
						t.Fatalf("fired %d times before its wait was over", fired)
					}
				}
				if err := c.Advance(1); err != nil {
					t.Fatal(err)
				}
				if fired != 1 {
					t.Fatalf("fired %d times once due, want 1", fired)
				}
			})
		}
	}
}

func TestRobot(t *testing.T) {
	d := 7 * time.Second
	tests := []struct {
		name string
		plan scenarios.Plan
		want time.Duration
	}{
		{"no delay: the default", scenarios.Plan{Matched: true, Then: scenarios.Then{Auto: true}}, then.DefaultRobotDelay},
		{"the rule's delay", scenarios.Plan{Matched: true, Then: scenarios.Then{Auto: true, Delay: &d}}, d},
		{"delay 0 acts at once", scenarios.Plan{Matched: true, Then: scenarios.Then{Auto: true, Delay: new(time.Duration)}}, 0},
	}
	for _, tt := range tests {
		if got := then.RobotDelay(tt.plan); got != tt.want {
			t.Errorf("%s: RobotDelay = %v, want %v", tt.name, got, tt.want)
		}
	}
	want := clock.Label{Provider: "khipu", Object: "id1", Kind: then.KindRobot, Rule: "ci rules[0]", Detail: "robot payer: approve"}
	if got := then.RobotLabel("khipu", "id1", "ci rules[0]", "approve"); got != want {
		t.Errorf("RobotLabel = %+v, want %+v", got, want)
	}
}

// The scenario documentation states the default the kit applies.
func TestDefaultRobotDelayDocumented(t *testing.T) {
	table := scenarios.SharedThenKeys()
	want := "(default " + then.DefaultRobotDelay.String() + ")"
	for _, k := range table {
		if k.Name == "auto" && strings.Contains(k.Doc, want) {
			return
		}
	}
	t.Errorf("the documentation of then.auto does not say %q: %+v", want, table)
}

func TestLeft(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		now  time.Time
		d    time.Duration
		want time.Duration
	}{
		{from, 2 * time.Second, 2 * time.Second},
		{from.Add(time.Second), 2 * time.Second, time.Second},
		{from.Add(time.Hour), 2 * time.Second, 0},
	}
	for _, tt := range tests {
		if got := then.Left(tt.now, from, tt.d); got != tt.want {
			t.Errorf("Left(%v after, %v) = %v, want %v", tt.now.Sub(from), tt.d, got, tt.want)
		}
	}
}

func TestRespond(t *testing.T) {
	e := echo.New()
	c := e.NewContext(httptest.NewRequest("GET", "/", nil), httptest.NewRecorder())
	if !then.Respond(c, 0) {
		t.Error("no response_delay: Respond = false, want true")
	}
	// A client that went away ends the hold (and the answer).
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c = e.NewContext(httptest.NewRequest("GET", "/", nil).WithContext(ctx), httptest.NewRecorder())
	if then.Respond(c, time.Hour) {
		t.Error("request ended: Respond = true, want false")
	}
}

func TestCallback(t *testing.T) {
	retry, timeout := []time.Duration{time.Minute}, 10*time.Second
	d, to := 5*time.Second, 3*time.Second
	got := then.Callback(scenarios.Plan{}, retry, timeout)
	if got.Delay != 0 || !slices.Equal(got.Retry, retry) || got.Timeout != timeout || got.Duplicate != 0 || got.FailFirst != 0 {
		t.Errorf("no rule: %+v, want the provider's retry and timeout", got)
	}
	p := scenarios.Plan{Matched: true, Then: scenarios.Then{Delay: &d, Retry: []time.Duration{time.Second}, RetrySet: true,
		Timeout: &to, Duplicate: 2, FailAttempts: 1}}
	got = then.Callback(p, retry, timeout)
	if got.Delay != d || !slices.Equal(got.Retry, []time.Duration{time.Second}) || got.Timeout != to || got.Duplicate != 2 || got.FailFirst != 1 {
		t.Errorf("rule: %+v, want the rule's delay, retry, timeout, duplicate and fail_attempts", got)
	}
	p.Then = scenarios.Then{Retry: nil, RetrySet: true}
	if got = then.Callback(p, retry, timeout); len(got.Retry) != 0 {
		t.Errorf("retry: []: %v, want no retries", got.Retry)
	}
}
