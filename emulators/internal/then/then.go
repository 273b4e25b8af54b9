// Package then carries out the timing effects of a scenario plan, the same
// way for every provider: the robot payer and its default wait (auto),
// `delay` (a wait on the sandbox clock before an effect or a callback) and
// `response_delay` (the HTTP answer held, wall-clock). Providers decide
// what happens; this package decides when. It knows no provider.
// The keys are those of docs/design.md, Scenario vocabulary.
package then

import (
	"time"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators/internal/callback"
	"github.com/paysandbox/sandbox/emulators/internal/clock"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
	"github.com/paysandbox/sandbox/scenarios"
)

// DefaultRobotDelay is how long a robot payer (auto: true) waits after the
// object's creation when its rule sets no delay.
const DefaultRobotDelay = 2 * time.Second

// KindRobot is the schedule kind of a robot payer's timer.
const KindRobot = "robot_payer"

// RobotDelay is the wait of the robot payer a payer point's plan asks for:
// its delay, or DefaultRobotDelay.
func RobotDelay(p scenarios.Plan) time.Duration { return p.DelayOr(DefaultRobotDelay) }

// Schedule runs fn once d of sandbox time has passed (scaled by
// --time-scale like every sandbox wait), on grp, listed in the schedule
// under l. It is where a plan's `delay` and a robot payer's wait take
// effect.
func Schedule(grp *clock.Group, d time.Duration, l clock.Label, fn func()) *clock.Timer {
	return grp.Wait(max(d, 0), fn).Describe(l)
}

// Due is the sandbox-clock instant at which a plan's delay of d, starting
// now, ends (scaled by --time-scale as Schedule scales it): the time a
// persisted plan keeps so that a restart resumes it (ScheduleAt).
func Due(clk *clock.Clock, d time.Duration) time.Time {
	return clk.Now().Add(clk.Scaled(max(d, 0)))
}

// ScheduleAt runs fn at the sandbox-clock instant at (at once when it has
// passed), on grp, listed in the schedule under l: Schedule for a delay
// whose end was fixed by Due.
func ScheduleAt(grp *clock.Group, at time.Time, l clock.Label, fn func()) *clock.Timer {
	return grp.At(at, fn).Describe(l)
}

// RobotLabel is how the schedule lists a robot payer: KindRobot, the rule
// that asked for it and what it will do.
func RobotLabel(provider, object, rule, outcome string) clock.Label {
	return clock.Label{Provider: provider, Object: object, Kind: KindRobot, Rule: rule, Detail: "robot payer: " + outcome}
}

// Left is what remains at now of a wait of d that began at from, never
// less than 0: the wait to schedule again when work persisted across a
// restart resumes (a robot payer, a delayed step).
func Left(now, from time.Time, d time.Duration) time.Duration {
	return max(from.Add(d).Sub(now), 0)
}

// Respond holds an HTTP answer for a plan's response_delay (wall-clock:
// it is about the merchant's HTTP client, not the sandbox clock). It
// reports false when the request ended or the sandbox began to stop first;
// the caller then answers nothing more.
func Respond(c echo.Context, responseDelay time.Duration) bool {
	return wire.Sleep(c, responseDelay)
}

// Callback is the delivery policy a callback point's plan sets: its
// delay, duplicate and fail_attempts, its retry intervals or retry, its
// per-attempt timeout or timeout. A provider adds what is its own (a
// retry window).
func Callback(p scenarios.Plan, retry []time.Duration, timeout time.Duration) callback.Policy {
	return callback.Policy{
		Delay:     p.DelayOr(0),
		Retry:     p.RetryOr(retry),
		Timeout:   p.TimeoutOr(timeout),
		Duplicate: p.Duplicate,
		FailFirst: p.FailAttempts,
	}
}
