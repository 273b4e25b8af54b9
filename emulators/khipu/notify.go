package khipu

import (
	"cmp"
	"encoding/json"
	"strconv"

	"github.com/paysandbox/sandbox/emulators/internal/callback"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/random"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
	"github.com/paysandbox/sandbox/scenarios"
)

// Notifications (§13): API 1.3 (unsigned form with the notification token)
// and API 3.0 (the payment as JSON, signed with x-khipu-signature), sent
// through the dispatcher when a payment becomes done.

// notifierUserAgent is the User-Agent of notifications (§13.1, Decision).
const notifierUserAgent = "paysandbox-khipu-notifier/1"

// notify sends the notification of a payment that became done, following
// the scenario's notify point.
func (s *Service) notify(p Payment) {
	r := s.receiver(p.ReceiverID)
	if r == nil {
		return
	}
	plan := s.deps.Scenarios.DecideFunc(p.Scenario, provider, PointNotify, func() scenarios.Attrs { return attrs(&p, p.API) })
	url := cmp.Or(p.NotifyURL, r.notifyURL)
	version := cmp.Or(p.NotifyAPIVersion, r.notifyAPIVersion)
	corrupt, _ := scenarios.Param[bool](plan, "corrupt_token")
	d := s.delivery(p, r, version, url, plan.BadSignature, corrupt)
	d.Rule = plan.Label()
	d.Policy = s.callbackPolicy(plan)
	d.Policy.Window = s.cfg.Callbacks.Window
	switch {
	case url == "":
		d.SkipReason = "no_url"
	case plan.Skip:
		d.SkipReason = "scenario"
	}
	d.Resume, _ = json.Marshal(notifyResume{Payment: p.ID, Version: version, Bad: plan.BadSignature})
	if plan.Matched {
		s.deps.Record(journal.KindNote, provider, "notification of payment "+p.ID+" follows scenario "+plan.Scenario+" "+plan.Rule,
			map[string]string{"scenario": plan.Scenario, "rule": plan.Rule}, p.ID)
	}
	s.deps.Dispatcher.Send(d)
}

// notifyResume is what rebuilds a pending notification after a restart
// (issue #18): the body is kept as first sent.
type notifyResume struct {
	Payment string `json:"payment"`
	Version string `json:"version"`
	Bad     string `json:"bad,omitempty"`
}

// ResumeDelivery rebuilds a notification kept across a restart; false when
// its payment or receiver is gone.
func (s *Service) ResumeDelivery(pd callback.Pending) (callback.Delivery, bool) {
	var nr notifyResume
	if json.Unmarshal(pd.Resume, &nr) != nil {
		return callback.Delivery{}, false
	}
	p, ok := s.payments.Get(nr.Payment)
	if !ok {
		return callback.Delivery{}, false
	}
	r := s.receiver(p.ReceiverID)
	if r == nil {
		return callback.Delivery{}, false
	}
	return s.delivery(p, r, nr.Version, pd.URL, nr.Bad, false), true
}

// resend sends one notification attempt now, built from the payment's
// current state (admin resend_callback, §15); version "" keeps the
// payment's own version.
func (s *Service) resend(p Payment, version string) string {
	r := s.receiver(p.ReceiverID)
	url := cmp.Or(p.NotifyURL, r.notifyURL)
	if version == "" {
		version = cmp.Or(p.NotifyAPIVersion, r.notifyAPIVersion)
	}
	d := s.delivery(p, r, version, url, "", false)
	d.Policy = callback.Policy{Timeout: s.cfg.Callbacks.Timeout}
	return s.deps.Dispatcher.SendNow(d)
}

// delivery builds the notification of p in the given API version.
func (s *Service) delivery(p Payment, r *receiver, version, url, badSignature string, corruptToken bool) callback.Delivery {
	d := callback.Delivery{
		Provider: provider, Objects: []string{p.ID}, URL: url, Ack: callback.ExactlyOK,
		Event: "payment " + p.state() + " (notification " + version + ")",
	}
	if version == "3.0" {
		body, _ := wire.MarshalJSON(p.toNotification())
		d.ContentType = "application/json"
		d.Body = body
		secret := r.secret
		if badSignature == "wrong" {
			secret += "-wrong"
		}
		d.Sign = func(info callback.AttemptInfo, body []byte) callback.Signed {
			headers := []callback.Header{{Name: "User-Agent", Value: notifierUserAgent}}
			ts := strconv.FormatInt(info.Time.UnixMilli(), 10)
			if badSignature != "missing" {
				headers = append(headers, callback.Header{Name: "x-khipu-signature", Value: "t=" + ts + ",s=" + notificationMAC(secret, ts, body)})
			}
			return callback.Signed{Headers: headers, StringToSign: ts + "." + string(body)}
		}
		return d
	}
	token := p.Token
	if corruptToken {
		token = s.deps.Random.String(64, random.LowerHexChars)
	}
	d.ContentType = "application/x-www-form-urlencoded"
	d.Body = []byte("api_version=1.3&notification_token=" + token)
	d.Sign = func(callback.AttemptInfo, []byte) callback.Signed {
		return callback.Signed{Headers: []callback.Header{{Name: "User-Agent", Value: notifierUserAgent}}}
	}
	return d
}
