package payu

import (
	"bytes"
	"html/template"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/then"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
)

// TBK integration cards (§7.6): the declined ones; the approved ones (one of
// them fails Luhn and is accepted all the same); every other Luhn-valid
// number is approved.
var (
	webpayDeclined = map[string]bool{"5186008541233829": true, "5186174110629480": true}
	webpayApproved = map[string]bool{"4051884239937763": true, "4511346660037060": true, "4051886000056590": true}
)

// pageFuncs are the template helpers of the PayU pages.
var pageFuncs = template.FuncMap{
	"clp": func(d emulators.Decimal) string { return clp(d) },
}

// clp formats an amount the Chilean way: $10.000 (decimals, if any, after a comma).
func clp(d emulators.Decimal) string {
	s := d.String()
	intPart, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	var b strings.Builder
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(r)
	}
	out := "$" + b.String()
	if frac != "" && strings.Trim(frac, "0") != "" {
		out += "," + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}

// page renders a PayU page template.
func (s *Service) page(c echo.Context, status int, name string, data map[string]any) error {
	var b bytes.Buffer
	if err := s.pages.ExecuteTemplate(&b, name, data); err != nil {
		return &emulators.Error{Kind: emulators.Internal, Msg: "internal error", Detail: "rendering " + name + ": " + err.Error(), Err: err}
	}
	return c.HTMLBlob(status, b.Bytes())
}

// maxPageForm bounds the WebPay page's form (a token, an action, a card).
const maxPageForm = 64 << 10

// handleWebPay serves GET and POST /payu/webpay/initTransaction: the
// emulated WebPay Plus page (§7.6).
func (s *Service) handleWebPay(c echo.Context) error {
	if c.Request().Method == http.MethodPost {
		// Bounded, and an unreadable form is an error, never a form with
		// fields missing (issue #13).
		if err := wire.ParseForm(c, maxPageForm); err != nil {
			return err
		}
	}
	token := strings.TrimSpace(c.QueryParam("token_ws"))
	if token == "" {
		token = strings.TrimSpace(c.FormValue("token_ws"))
	}
	note := wire.Annotate(c)
	note.Operation = "WebPay page"
	id, _ := s.tokens.Get(token)
	t, ok := s.txs.Get(id)
	if !ok {
		return s.page(c, http.StatusNotFound, "notfound.html", map[string]any{"Message": "Sandbox: unknown token_ws"})
	}
	o, _ := s.orders.Get(t.OrderID)
	m, _ := s.merchantByID(o.MerchantID)
	note.AddObject(id)
	then.Respond(c, t.Redirect.ResponseDelay)

	if t.State == StatePending && !s.now().Before(t.ExpiresAt) {
		s.expireWebPay(id)
		t, _ = s.txs.Get(id)
	}
	data := map[string]any{
		"Merchant": m.Name, "Amount": t.Value, "Reference": o.ReferenceCode, "Description": o.Description,
		"Token": token, "Card": robotCard, "ResponseLink": o.LinkBase + "/payu/response/" + id,
		"Action": o.LinkBase + "/payu/webpay/initTransaction", "State": t.State, "Code": t.ResponseCode,
	}
	if t.State != StatePending {
		return s.page(c, http.StatusOK, "webpay_done.html", data)
	}
	action := c.FormValue("action")
	if c.Request().Method != http.MethodPost || action == "" {
		s.deps.Record(journal.KindPage, provider, "WebPay page shown for transaction "+id, nil, id)
		return s.page(c, http.StatusOK, "webpay.html", data)
	}
	decision, number := "abandon", ""
	if action == "pay" {
		number = strings.Map(func(r rune) rune {
			if r == ' ' || r == '-' {
				return -1
			}
			return r
		}, c.FormValue("card"))
		if !luhn(number) && !webpayApproved[number] {
			data["Error"] = "El número de tarjeta no es válido."
			data["Card"] = c.FormValue("card")
			s.deps.Record(journal.KindPage, provider, "WebPay page: invalid card number for transaction "+id, nil, id)
			return s.page(c, http.StatusOK, "webpay.html", data)
		}
		decision = "approve"
		if webpayDeclined[number] {
			decision = "decline"
		}
	}
	code := ""
	if t.Redirect.Matched && t.Redirect.Outcome != "" && !t.Redirect.Auto {
		decision, code = t.Redirect.Outcome, t.Redirect.ResponseCode
	}
	if _, err := s.decideWebPay(id, decision, code, number, journal.CausePage, "WebPay page ("+action+")"); err != nil {
		t, _ = s.txs.Get(id)
		data["State"] = t.State
		return s.page(c, http.StatusOK, "webpay_done.html", data)
	}
	s.deps.Record(journal.KindPage, provider, "WebPay page: "+decision+" for transaction "+id+"; to the response page", nil, id)
	return c.Redirect(http.StatusSeeOther, o.LinkBase+"/payu/response/"+id)
}

// brandOf guesses the franchise of a card number entered on the WebPay page.
func brandOf(n string) string {
	switch {
	case strings.HasPrefix(n, "4"):
		return "VISA"
	case strings.HasPrefix(n, "34"), strings.HasPrefix(n, "37"):
		return "AMEX"
	case strings.HasPrefix(n, "36"), strings.HasPrefix(n, "38"), strings.HasPrefix(n, "30"):
		return "DINERS"
	}
	return "MASTERCARD"
}

// decideWebPay settles a pending WebPay transaction: approve, decline,
// abandon (Anular compra) or expire.
func (s *Service) decideWebPay(id, decision, code, number, cause, why string) (Transaction, error) {
	out := settleOutcome(decision, code)
	return s.updateTx(id, cause, why, func(w *work, t *Transaction) error {
		if t.State != StatePending {
			msg := "transaction " + id + " is " + t.State + ", not PENDING"
			return &emulators.Error{Kind: emulators.Conflict, Msg: msg, Detail: msg}
		}
		if number != "" {
			t.Card = cardOf(number, "", methodInfo{Brand: brandOf(number), Debit: true})
			t.CardLength = len(number)
		}
		s.applyOutcome(t, &w.o, out, s.now())
		t.OperationDate = s.now()
		return nil
	})
}
