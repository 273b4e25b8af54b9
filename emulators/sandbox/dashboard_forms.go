package sandbox

import (
	"cmp"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/admin"
	"github.com/paysandbox/sandbox/scenarios"
)

// The handlers below are the dashboard forms' targets when the page script
// does not run: each does what its admin API call does, then redirects back
// with a message (?ok= or ?err=). With the script, the forms call the admin
// API directly and these are never reached.

// backTo returns the form's "return" path when it is a dashboard page, else def.
func backTo(c echo.Context, def string) string {
	r := c.FormValue("return")
	if strings.HasPrefix(r, "/_sandbox/") && !strings.HasPrefix(r, "//") && !strings.Contains(r, "\\") {
		return r
	}
	return def
}

// redirectWith redirects to target adding ok= or err=.
func redirectWith(c echo.Context, target, key, msg string) error {
	u, err := url.Parse(target)
	if err != nil {
		u = &url.URL{Path: "/_sandbox/"}
	}
	q := u.Query()
	q.Del("ok")
	q.Del("err")
	q.Set(key, msg)
	u.RawQuery = q.Encode()
	return c.Redirect(http.StatusSeeOther, u.String())
}

func (d *dashboard) actionForm(c echo.Context) error {
	name, id, action := c.Param("provider"), c.Param("id"), c.Param("action")
	back := backTo(c, objectURL(name, id))
	p, err := d.s.provider(name)
	if err != nil {
		return redirectWith(c, back, "err", err.Error())
	}
	o, err := p.Object(id)
	if err != nil {
		return redirectWith(c, back, "err", emulators.AsError(err).Msg)
	}
	var spec *admin.Action
	for i := range o.Actions {
		if o.Actions[i].Name == action {
			spec = &o.Actions[i]
		}
	}
	params := map[string]any{}
	if spec != nil {
		form, _ := c.FormParams()
		params = actionParams(spec.Params, form)
	}
	raw, _ := json.Marshal(params)
	after, err := p.Act(c.Request().Context(), id, action, raw)
	if err != nil {
		return redirectWith(c, back, "err", action+": "+emulators.AsError(err).Msg)
	}
	return redirectWith(c, back, "ok", actionMessage(action, o.Status, after.Status))
}

// actionMessage says what an action did: "pay → verifying", or
// "resend_callback: done (still paid)" when the status did not change.
// The page script writes the same text (dashboard.js, actionFlash).
func actionMessage(action, before, after string) string {
	if after == "" || after == before {
		if after == "" {
			return action + ": done"
		}
		return action + ": done (still " + after + ")"
	}
	return action + " → " + after
}

// advancedMessage says what an advance did: "advanced 15m: 3 timers fired".
// The page script writes the same text (dashboard.js, advanceFlash).
func advancedMessage(by time.Duration, fired uint64) string {
	timers := "no timer was due"
	switch {
	case fired == 1:
		timers = "1 timer fired"
	case fired > 1:
		timers = strconv.FormatUint(fired, 10) + " timers fired"
	}
	return "advanced " + shortDuration(by) + ": " + timers
}

// shortDuration writes 15m0s as 15m and 3h0m0s as 3h.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// actionParams turns form values into an action's JSON parameters, the way
// the page script does: empty optional values are left out, booleans are
// JSON booleans, everything else (decimals included) a JSON string.
func actionParams(spec []admin.Param, form url.Values) map[string]any {
	out := map[string]any{}
	for _, p := range spec {
		v := strings.TrimSpace(form.Get(p.Name))
		switch p.Type {
		case "bool":
			on := v == "on" || v == "true" || v == "1"
			if on || !p.Optional {
				out[p.Name] = on
			}
		default:
			if v == "" && p.Optional {
				continue
			}
			out[p.Name] = v
		}
	}
	return out
}

func (d *dashboard) resendForm(c echo.Context) error {
	id := c.Param("id")
	back := backTo(c, "/_sandbox/journal?kind=callback")
	if err := d.s.disp.Resend(id); err != nil {
		return redirectWith(c, back, "err", err.Error())
	}
	return redirectWith(c, back, "ok", "delivery "+id+" re-sent (one attempt, no retries)")
}

func (d *dashboard) activateForm(c echo.Context) error {
	name := c.FormValue("name")
	if err := d.s.scen.SetActive(name); err != nil {
		return redirectWith(c, "/_sandbox/scenarios", "err", emulators.AsError(err).Msg)
	}
	return redirectWith(c, "/_sandbox/scenarios", "ok", "active scenario: "+name)
}

func (d *dashboard) uploadForm(c echo.Context) error {
	text := c.FormValue("yaml")
	if fh, err := c.FormFile("file"); err == nil {
		f, err := fh.Open()
		if err == nil {
			b, _ := io.ReadAll(io.LimitReader(f, scenarios.MaxFileSize+1))
			f.Close()
			text = string(b)
		}
	}
	sc, err := d.s.scen.Upload([]byte(text))
	if e := scenarioError(err); e != nil {
		return d.renderScenarios(c, http.StatusConflict, text, []uploadProblem{{Message: emulators.AsError(e).Msg, Text: emulators.AsError(e).Msg}})
	}
	if err != nil {
		return d.renderScenarios(c, http.StatusBadRequest, text, uploadProblems(err))
	}
	return redirectWith(c, "/_sandbox/scenarios", "ok", "scenario "+sc.Name+" uploaded")
}

// uploadProblems lists a failed upload's problems: the admin API's
// "problems" and the no-script scenarios page show the same list.
func uploadProblems(err error) []uploadProblem {
	probs := scenarios.Problems(err)
	if len(probs) == 0 {
		return []uploadProblem{{Message: emulators.AsError(err).Msg, Text: err.Error()}}
	}
	out := make([]uploadProblem, len(probs))
	for i, p := range probs {
		out[i] = uploadProblem{Line: p.Line, Rule: p.Rule, Message: p.Msg, Text: p.String()}
	}
	return out
}

func (d *dashboard) advanceForm(c echo.Context) error {
	back := backTo(c, "/_sandbox/clock")
	by, err := parseAdvance(c.FormValue("by"))
	if err != nil {
		return redirectWith(c, back, "err", emulators.AsError(err).Msg)
	}
	a, err := d.s.advance(by)
	if err != nil {
		return redirectWith(c, back, "err", emulators.AsError(err).Msg)
	}
	return redirectWith(c, back, "ok", advancedMessage(by, uint64(len(*a.Fired))))
}

func (d *dashboard) resetForm(c echo.Context) error {
	back := backTo(c, "/_sandbox/clock")
	name := c.FormValue("provider")
	if err := d.s.reset(name); err != nil {
		return redirectWith(c, back, "err", emulators.AsError(err).Msg)
	}
	return redirectWith(c, back, "ok", resetMessage(name))
}

// resetMessage says what a reset wiped (dashboard.js writes the same).
func resetMessage(provider string) string {
	return "reset: " + cmp.Or(provider, "every provider") + "'s objects, timers, callbacks and journal entries are forgotten"
}
