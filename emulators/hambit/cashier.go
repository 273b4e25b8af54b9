package hambit

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
)

// The cashier page (spec §8): GET shows the order, POST applies the payer's
// action (action=pay|pay_amount|fail|expire, amount).

// cashierView is what the cashier templates render.
type cashierView struct {
	Merchant        string
	Amount          string
	Currency        string
	ExternalOrderID string
	OrderID         string
	CashierID       string
	PayType         string
	PayTypeHelp     string // what the pay type means to a payer
	ReturnURL       string // the merchant's returnUrl: the way back
	ExpiresAtMS     int64
	NowMS           int64
	ExpiresAt       string
	State           string // open, expired, paid, failed
	Open            bool
	Error           string
	AmountInput     string
	Methods         []string
	Data            []field
	DataNote        string
	// result page
	Heading string
	Message string
}

type field struct{ Name, Value string }

// PageTitle is the <title> of every page (layout.html): the result's
// heading, else the cashier's merchant.
func (v *cashierView) PageTitle() string {
	if v.Heading != "" {
		return v.Heading + " · Hambit"
	}
	return "Hambit cashier · " + v.Merchant
}

func (s *Service) page(c echo.Context, status int, name string, v *cashierView) error {
	var buf bytes.Buffer
	if err := s.pages.ExecuteTemplate(&buf, name, v); err != nil {
		return &emulators.Error{Kind: emulators.Internal, Msg: "internal error", Detail: "cashier template: " + err.Error(), Err: err}
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

// cashierOrder finds the collection of a cashier page.
func (s *Service) cashierOrder(c echo.Context) (order, bool) {
	o, ok := s.lookup(c.Param("id"))
	if !ok || o.Kind != kindCollection {
		return order{}, false
	}
	return o, true
}

func (s *Service) notFoundPage(c echo.Context) error {
	return s.page(c, http.StatusNotFound, "notfound.html", &cashierView{
		Heading: "Cashier not found", Message: "There is no Hambit cashier " + c.Param("id") + "."})
}

// handleCashier serves GET /hambit/cashier/{cashierId} (spec §8).
func (s *Service) handleCashier(c echo.Context) error {
	wire.Annotate(c).Operation = "cashier page"
	o, ok := s.cashierOrder(c)
	if !ok {
		return s.notFoundPage(c)
	}
	wire.Annotate(c).AddObject(o.OrderID)
	v := s.cashierView(c, &o)
	return s.page(c, http.StatusOK, "cashier.html", v)
}

func (s *Service) cashierView(c echo.Context, o *order) *cashierView {
	now := s.now()
	v := &cashierView{
		Merchant: o.Merchant, Amount: money(o.Amount), Currency: o.Currency,
		ExternalOrderID: o.ExternalOrderID, OrderID: o.OrderID, CashierID: o.CashierID,
		PayType: o.PayTypeName + " (" + strconv.Itoa(o.PayType) + ")", PayTypeHelp: payTypeHelp(o.PayType), ReturnURL: o.ReturnURL,
		ExpiresAtMS: millis(o.ExpiresAt), NowMS: millis(now), ExpiresAt: o.ExpiresAt.UTC().Format("2006-01-02 15:04:05 UTC"),
		Open: o.cashierOpen(now), AmountInput: money(o.Amount),
	}
	switch {
	case o.Status == statusPaid:
		v.State = "paid"
	case o.Status == statusFailed:
		v.State = "failed"
	case !v.Open:
		v.State = "expired"
	default:
		v.State = "open"
	}
	if raw := c.QueryParam("data"); raw != "" {
		if val, err := decodeCashierParam(raw); err != nil {
			v.DataNote = "the data parameter could not be decoded: " + err.Error()
		} else if m, ok := val.(map[string]any); ok {
			v.Data = flatten("", m)
		}
	}
	if raw := c.QueryParam("pm"); raw != "" {
		if val, err := decodeCashierParam(raw); err == nil {
			v.Methods = methodsFor(val, o.Currency)
		}
	}
	return v
}

// decodeCashierParam decodes a data or pm parameter: Base64 of raw JSON
// (2024) or of URL-encoded JSON (2025), tolerating line breaks and a '+'
// read as a space.
func decodeCashierParam(raw string) (any, error) {
	v := strings.Map(func(r rune) rune {
		switch r {
		case '\n', '\r', '\t':
			return -1
		case ' ':
			return '+'
		}
		return r
	}, raw)
	var b []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err = enc.DecodeString(v); err == nil {
			break
		}
	}
	if err != nil {
		return nil, errors.New("not Base64")
	}
	if bytes.HasPrefix(b, []byte("%")) {
		u, err := url.QueryUnescape(string(b))
		if err != nil {
			return nil, errors.New("bad URL encoding inside the Base64")
		}
		b = []byte(u)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, errors.New("not JSON inside the Base64")
	}
	return out, nil
}

// flatten lists a decoded object's leaves as dotted names, sorted.
func flatten(prefix string, m map[string]any) []field {
	var out []field
	for k, v := range m {
		name := k
		if prefix != "" {
			name = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok {
			out = append(out, flatten(name, sub)...)
			continue
		}
		out = append(out, field{Name: name, Value: fmt.Sprint(v)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// methodsFor picks the pay types of a currency from a decoded pm list.
func methodsFor(val any, currency string) []string {
	list, _ := val.([]any)
	var out []string
	for _, item := range list {
		m, _ := item.(map[string]any)
		if m == nil || m["currencyType"] != currency {
			continue
		}
		pts, _ := m["payTypes"].([]any)
		for _, pt := range pts {
			if p, ok := pt.(map[string]any); ok {
				out = append(out, fmt.Sprintf("%v (%v)", p["value"], p["code"]))
			}
		}
	}
	return out
}

// handleCashierAction serves POST /hambit/cashier/{cashierId} (spec §8).
func (s *Service) handleCashierAction(c echo.Context) error {
	n := wire.Annotate(c)
	n.Operation = "cashier action"
	o, ok := s.cashierOrder(c)
	if !ok {
		return s.notFoundPage(c)
	}
	n.AddObject(o.OrderID)
	if err := wire.ParseForm(c, maxBody); err != nil {
		v := s.cashierView(c, &o)
		v.Error = "The form could not be read: " + emulators.AsError(err).Msg + "."
		return s.page(c, http.StatusBadRequest, "cashier.html", v)
	}
	action := c.FormValue("action")
	var amount *emulators.Decimal
	if action == payAmount {
		d, err := emulators.ParseDecimal(strings.TrimSpace(c.FormValue("amount")))
		msg := ""
		if err != nil {
			msg = "Enter an amount such as " + money(o.Amount) + "."
		} else if m := checkPaidAmount(d, o.Currency); m != "" {
			msg = "Amount " + m + "."
		}
		if msg != "" {
			v := s.cashierView(c, &o)
			v.Error, v.AmountInput = msg, c.FormValue("amount")
			return s.page(c, http.StatusBadRequest, "cashier.html", v)
		}
		amount = &d
	}
	chosen := action
	// A scenario pay plan without auto replaces the payer's action (spec §11).
	if p := o.PayPlan; p.Matched && !p.Auto && p.Outcome != "" && p.Outcome != payWait {
		switch action {
		case payPay, payAmount, payFail, payExpire:
			action = p.Outcome
			n.Scenario, n.Rule = o.Scenario, p.Rule
			if action == payAmount {
				d := s.planAmount(o)
				amount = &d
			}
		}
	}
	msg := ""
	var err error
	switch action {
	case payPay:
		o, err = s.payCollection(o.OrderID, nil, journal.CausePage, true)
	case payAmount:
		o, err = s.payCollection(o.OrderID, amount, journal.CausePage, true)
	case payFail:
		if chosen != action {
			msg = o.PayPlan.ErrorMsg
		}
		o, err = s.failCollection(o.OrderID, msg, journal.CausePage, true)
	case payExpire:
		o, err = s.closeCashier(o.OrderID, journal.CausePage)
	default:
		v := s.cashierView(c, &o)
		v.Error = "Choose one of the actions below."
		return s.page(c, http.StatusBadRequest, "cashier.html", v)
	}
	data := map[string]string{"action": chosen}
	if chosen != action {
		data["replaced_by"] = action
	}
	if err != nil {
		s.deps.Record(journal.KindPage, provider, "cashier "+o.CashierID+": "+chosen+" refused: "+emulators.DetailOf(err), data, o.OrderID, o.CashierID)
		if emulators.KindOf(err) != emulators.Conflict {
			return err
		}
		cur, _ := s.orders.Get(o.OrderID)
		v := s.cashierView(c, &cur)
		v.Heading, v.Message = "This payment can no longer be made", refusal(&cur, s.now())
		return s.page(c, http.StatusConflict, "result.html", v)
	}
	s.deps.Record(journal.KindPage, provider, "cashier "+o.CashierID+": "+action, data, o.OrderID, o.CashierID)
	v := s.cashierView(c, &o)
	switch action {
	case payPay, payAmount:
		if o.ReturnURL != "" {
			s.deps.Record(journal.KindPage, provider, "cashier "+o.CashierID+": redirect to "+o.ReturnURL, nil, o.OrderID)
			return c.Redirect(http.StatusSeeOther, o.ReturnURL)
		}
		v.Heading, v.Message = "Payment successful", "You paid "+money(o.ActualAmount)+" "+o.Currency+" to "+o.Merchant+"."
	case payFail:
		v.Heading, v.Message = "Payment failed", "The payment of "+money(o.Amount)+" "+o.Currency+" to "+o.Merchant+" failed."
	case payExpire:
		v.Heading, v.Message = "Cashier closed", "This cashier has expired. The order stays unpaid."
	}
	return s.page(c, http.StatusOK, "result.html", v)
}

// payTypeHelp says what a collection's pay type (payType, spec §6.2)
// means on the cashier: the code alone ("gen (118)") tells a payer nothing.
func payTypeHelp(code int) string {
	switch code {
	case payTypeBank:
		return "bank transfer: the payer pays from their bank account"
	case payTypeGen:
		return "generic checkout (GEN): the payer chooses how to pay on this page"
	}
	return "the payment method Hambit assigned to this order's currency"
}

// refusal explains why the cashier refuses an action.
func refusal(o *order, now time.Time) string {
	switch {
	case o.Status == statusPaid:
		return "This order has already been paid."
	case o.Status == statusFailed:
		return "This order has failed."
	case !o.cashierOpen(now):
		return "This cashier has expired. Ask the merchant for a new payment link."
	}
	return "The action was refused."
}
