package hambit

import (
	"encoding/json"
	"net/url"
	"strconv"

	"github.com/paysandbox/sandbox/emulators/internal/callback"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/scenarios"
)

// callbackURL is the order's notifyUrl, else the account's notify_url, with
// any fragment dropped (spec §10.1).
func (s *Service) callbackURL(o order) string {
	u := o.NotifyURL
	if u == "" {
		if a := s.accounts[o.AccessKey]; a != nil {
			u = a.NotifyURL
		}
	}
	if u == "" {
		return ""
	}
	if p, err := url.Parse(u); err == nil {
		p.Fragment, p.RawFragment = "", ""
		return p.String()
	}
	return u
}

// callbackBody serialises the order's current state as its callback.
func (s *Service) callbackBody(o order, numeric bool) []byte {
	if o.Kind == kindCollection {
		return o.paymentCallbackBody(numeric)
	}
	return o.transferCallbackBody()
}

// notify sends the automatic callback of an event, under the order's
// scenario (spec §10, callback point of §11).
func (s *Service) notify(o order, event string) {
	acct := s.accounts[o.AccessKey]
	plan := s.deps.Scenarios.DecideFunc(o.Scenario, provider, PointCallback, func() scenarios.Attrs { return o.callbackAttrs(event) })
	numeric := acct.CallbackAmounts == amountsNumeric
	if f, ok := scenarios.Param[ScenarioAmountFormat](plan, "amount_format"); ok {
		numeric = f == amountsNumeric
	}
	del := s.delivery(o, acct, event, s.callbackBody(o, numeric), plan.BadSignature)
	del.SupersedeKey = provider + ":" + o.OrderID
	del.Rule = plan.Label()
	del.Resume, _ = json.Marshal(callbackResume{Order: o.OrderID, Bad: plan.BadSignature})
	del.Policy = s.callbackPolicy(plan)
	switch {
	case plan.Skip:
		del.SkipReason = "scenario"
	case del.URL == "":
		del.SkipReason = "no_url"
	}
	if plan.Matched {
		s.deps.Record(journal.KindNote, provider, "callback "+event+" of "+o.OrderID+" under "+plan.Scenario+" "+plan.Rule,
			map[string]string{"scenario": plan.Scenario, "rule": plan.Rule}, o.OrderID)
	}
	s.deps.Dispatcher.Send(del)
}

// callbackResume is what rebuilds a pending callback after a restart
// (issue #18): the body is kept as first sent.
type callbackResume struct {
	Order string `json:"order"`
	Bad   string `json:"bad,omitempty"`
}

// ResumeDelivery rebuilds a callback kept across a restart; false when its
// order or account is gone.
func (s *Service) ResumeDelivery(p callback.Pending) (callback.Delivery, bool) {
	var r callbackResume
	if json.Unmarshal(p.Resume, &r) != nil {
		return callback.Delivery{}, false
	}
	o, ok := s.orders.Get(r.Order)
	if !ok {
		return callback.Delivery{}, false
	}
	acct := s.accounts[o.AccessKey]
	if acct == nil {
		return callback.Delivery{}, false
	}
	return s.delivery(o, acct, p.Event, p.Body, r.Bad), true
}

// resendCallback is the manual callback (admin resend_callback): the body of
// the order's current state, one attempt now, no retries (spec §10.4).
func (s *Service) resendCallback(o order) string {
	acct := s.accounts[o.AccessKey]
	event := "manual callback (status " + strconv.Itoa(o.Status) + ")"
	del := s.delivery(o, acct, event, s.callbackBody(o, acct.CallbackAmounts == amountsNumeric), "")
	del.Policy = callback.Policy{Timeout: s.cfg.Callbacks.Timeout}
	if del.URL == "" {
		del.SkipReason = "no_url"
		return s.deps.Dispatcher.Send(del)
	}
	return s.deps.Dispatcher.SendNow(del)
}

func (s *Service) delivery(o order, acct *account, event string, body []byte, bad string) callback.Delivery {
	objects := []string{o.OrderID}
	if o.CashierID != "" {
		objects = append(objects, o.CashierID)
	}
	return callback.Delivery{
		Provider: provider, Objects: objects, Event: event, URL: s.callbackURL(o),
		ContentType: contentTypeJSON, Body: body, Sign: s.signer(acct, bad), Ack: callback.ExactlyOK,
	}
}

// signer signs each attempt like a request: the body's params plus a fresh
// timestamp (wall clock) and nonce, with the secret of the key that created
// the order and the account's empty-value convention (spec §5.4). bad is a
// scenario's bad_signature: wrong (the secret plus "-wrong") or missing.
func (s *Service) signer(acct *account, bad string) func(callback.AttemptInfo, []byte) callback.Signed {
	return func(_ callback.AttemptInfo, body []byte) callback.Signed {
		ts := strconv.FormatInt(s.wallNow().UnixMilli(), 10)
		nonce := s.deps.Random.UUID()
		secret := acct.SecretKey
		if bad == "wrong" {
			secret += "-wrong"
		}
		str, sign := signCallback(acct, secret, body, ts, nonce)
		hs := []callback.Header{{Name: "access_key", Value: acct.AccessKey}, {Name: "timestamp", Value: ts}, {Name: "nonce", Value: nonce}}
		if bad != "missing" {
			hs = append(hs, callback.Header{Name: "sign", Value: sign})
		}
		return callback.Signed{Headers: hs, StringToSign: str}
	}
}

// signCallback computes the string to sign and sign of a callback body:
// the body's params as sent (numbers as their text) plus the three headers,
// with the account's empty-value convention (spec §5.4).
func signCallback(acct *account, secret string, body []byte, ts, nonce string) (string, string) {
	ps, err := parseParams(body)
	if err != nil {
		ps = params{}
	}
	str := canonical(ps, acct.AccessKey, ts, nonce, canonOptions{includeEmpty: acct.includeEmpty()})
	return str, hmacSign(secret, str)
}
