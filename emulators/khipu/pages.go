package khipu

import (
	"bytes"
	"cmp"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/clock"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/then"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
)

// Payer pages (§12): plain HTML forms that work without JavaScript. Every
// step POSTs to the page's own URL with a hidden step and attempt; the
// answer is a 303 to {page}?attempt={id}, whose GET renders the attempt's
// current step. Attempts live on the server; no cookies.

// attempt is one payer's walk through the simplified-transfer flow.
type attempt struct {
	ID        string
	PaymentID string
	Step      string
	Prev      string // the step "No, continuar pagando" returns to
	BankID    string
	Email     string
	RUT       string // formatted
	Account   string
	Coords    [3]string // card positions asked for
	Error     string
	OpCode    string
	Outcome   string // during the progress step: the outcome to apply
	Seq       int
}

// Steps of §12.2 (the values of the hidden step field and of attempt.Step).
const (
	stepBank        = "bank"
	stepEmail       = "email"
	stepLogin       = "login"
	stepAccount     = "account"
	stepCoordinates = "coordinates"
	stepProgress    = "progress"
	stepSuccess     = "success"
	stepBankError   = "bank_error"
	stepUncertain   = "uncertain"
	stepAbandon     = "abandon"
	stepCancelled   = "cancelled"
	stepLost        = "lost" // another attempt paid first
)

// finalSteps are shown even though the payment is no longer payable.
var finalSteps = map[string]bool{stepProgress: true, stepSuccess: true, stepUncertain: true, stepCancelled: true, stepLost: true}

// DemoBank test data (§12.2).
const (
	demoPassword    = "1234"
	maxPageFormBody = 64 << 10
)

var pageFuncs = template.FuncMap{}

// view is what the templates render.
type view struct {
	Title    string
	Screen   string
	Static   string // URL prefix of the assets
	Action   string // the form target (this page)
	Attempt  string
	Error    string
	Merchant string
	Amount   string
	ID       string
	Subject  string
	Body     string
	Currency string

	Banks       []bankView
	BankName    string
	Preselected bool
	Email       string
	RUT         string
	Accounts    []accountView
	Coords      [3]string
	Card        []cardRow
	OpCode      string
	ReturnURL   string
	CancelURL   string
	ManualURL   string
	SimpleURL   string
	Refresh     string // meta refresh "N;url=…" (empty: none)
	Message     string
	Detail      string
	Abandonable bool

	Receipt *receiptView
}

type bankView struct {
	ID, Name, Note     string
	Disabled, Selected bool
}

// cardRow is one row of the coordinates card drawing (§12.2 step 5).
type cardRow struct {
	Num   string
	Cells []cardCell
}

type cardCell struct {
	Pos string
	Ask bool // one of the three positions asked for
}

// cardColumns and cardRows span the coordinates card.
const (
	cardColumns = "ABCDEFGHIJ"
	cardRows    = "12345"
)

// drawCard lays out the card with the asked positions marked.
func drawCard(asked [3]string) []cardRow {
	rows := make([]cardRow, len(cardRows))
	for i := range cardRows {
		r := cardRow{Num: cardRows[i : i+1]}
		for j := range cardColumns {
			pos := cardColumns[j:j+1] + r.Num
			r.Cells = append(r.Cells, cardCell{Pos: pos, Ask: pos == asked[0] || pos == asked[1] || pos == asked[2]})
		}
		rows[i] = r
	}
	return rows
}

type accountView struct {
	Value, Label string
}

type receiptView struct {
	Code, Subject, Amount, Merchant, Bank, RUT, OpCode, Conciliated, Method string
}

// treeBase returns the mount point of the production tree as the client
// sees it ("/khipu", or "" under host routing), from the request path.
func treeBase(c echo.Context) string {
	p := requestPath(c.Request())
	for _, mark := range []string{"/payment/", "/receipts/"} {
		if i := strings.Index(p, mark); i >= 0 {
			return p[:i]
		}
	}
	return ""
}

// baseView fills the common header (§12: merchant, amount, code, detail).
func (s *Service) baseView(c echo.Context, p *Payment) view {
	name := defaultName
	if r := s.receiver(p.ReceiverID); r != nil {
		name = r.name
	}
	tb := treeBase(c)
	return view{
		Static: tb + "/static", Action: requestPath(c.Request()), Merchant: name,
		Amount: displayAmount(p.Amount, p.Currency), ID: p.ID, Subject: p.Subject, Body: p.Body, Currency: p.Currency,
		ManualURL: tb + "/payment/manual/" + p.ID, SimpleURL: tb + "/payment/simplified/" + p.ID,
		ReturnURL: p.ReturnURL, CancelURL: p.CancelURL,
	}
}

// page wraps a page handler: errors render as HTML pages.
func (s *Service) page(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		setSurface(c, surfacePage)
		c.Response().Header().Set("Cache-Control", "no-store")
		wire.Annotate(c).Operation = "payer page"
		return h(c)
	}
}

func (s *Service) render(c echo.Context, status int, name string, v view) error {
	var buf bytes.Buffer
	if err := s.pages.ExecuteTemplate(&buf, name, v); err != nil {
		return &emulators.Error{Kind: emulators.Internal, Msg: "internal error", Detail: "rendering " + name + ": " + err.Error(), Err: err}
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// renderErrorPage answers an error on a payer page as HTML.
func (s *Service) renderErrorPage(c echo.Context, status int, msg string) {
	v := view{Static: treeBase(c) + "/static", Title: "Khipu", Screen: "error", Message: msg}
	if status == http.StatusNotFound {
		v.Title, v.Message = "Página no encontrada", "La página que buscas no existe."
	}
	var buf bytes.Buffer
	if err := s.pages.ExecuteTemplate(&buf, "message.html", v); err != nil {
		c.Blob(status, "text/plain; charset=utf-8", []byte(msg))
		return
	}
	c.HTMLBlob(status, buf.Bytes())
}

// paymentForPage loads the payment of a page; unknown ids get the 404 page
// "Cobro no encontrado" (§12).
func (s *Service) paymentForPage(c echo.Context) (Payment, bool, error) {
	id := c.Param("id")
	wire.Annotate(c).AddObject(id)
	p, ok := s.payments.Get(id)
	if !ok {
		return p, false, s.notFoundPage(c, "Cobro no encontrado", "No existe un cobro con el código "+id+".", "no payment "+strconv.Quote(id))
	}
	return p, true, nil
}

// payableForPage is paymentForPage for the pages that pay: a payment that
// cannot be paid now gets its guard page instead (ok false).
func (s *Service) payableForPage(c echo.Context) (Payment, bool, error) {
	p, ok, err := s.paymentForPage(c)
	if !ok {
		return p, false, err
	}
	if guarded, err := s.guard(c, &p); guarded {
		return p, false, err
	}
	return p, true, nil
}

// notFoundPage answers 404 with the message page headed title; why goes to
// X-Sandbox-Error-Detail.
func (s *Service) notFoundPage(c echo.Context, title, detail, why string) error {
	wire.ErrorDetail(c, why, s.deps.DebugHeaders)
	v := view{Static: treeBase(c) + "/static", Title: title, Screen: "notfound", Message: title, Detail: detail}
	return s.render(c, http.StatusNotFound, "message.html", v)
}

// guard renders the page of a payment that cannot be paid now (§12 state
// guards); it reports whether it rendered one.
func (s *Service) guard(c echo.Context, p *Payment) (bool, error) {
	v := s.baseView(c, p)
	switch {
	case p.Deleted:
		v.Title, v.Message, v.Detail = "Cobro eliminado", "Cobro eliminado", "El cobro ha sido eliminado por el comercio"
	case p.Status == statusDone:
		v.Title, v.Message, v.Detail = "Este cobro ya fue pagado", "Este cobro ya fue pagado", "No es necesario que vuelvas a pagarlo."
	case p.Status == statusVerifying:
		v.Title, v.Message, v.Detail = "Pago en verificación", "Pago en verificación", "Estamos verificando la transferencia. Te avisaremos por correo cuando termine."
	case p.expired(s.now()):
		v.Title, v.Message, v.Detail = "Cobro expirado", "Cobro expirado", "El plazo para pagar este cobro ha vencido"
	default:
		return false, nil
	}
	v.Screen = "guard"
	return true, s.render(c, http.StatusOK, "message.html", v)
}

func (s *Service) pageEvent(p *Payment, summary string, data map[string]string) {
	s.deps.Record(journal.KindPage, provider, "payment "+p.ID+": "+summary, data, p.ID)
}

// handleInfoPage serves GET /payment/info/{id} (§12.1).
func (s *Service) handleInfoPage(c echo.Context) error {
	p, ok, err := s.payableForPage(c)
	if !ok {
		return err
	}
	v := s.baseView(c, &p)
	switch p.MandatoryPaymentMethod {
	case methodSimplified:
		return c.Redirect(http.StatusFound, v.SimpleURL)
	case methodRegular:
		return c.Redirect(http.StatusFound, v.ManualURL)
	}
	s.pageEvent(&p, "payment info page", nil)
	v.Title, v.Screen, v.Abandonable = "Paga con Khipu", "info", false
	return s.render(c, http.StatusOK, "info.html", v)
}

// handleSimplifiedPage serves GET /payment/simplified/{id} (§12.2).
func (s *Service) handleSimplifiedPage(c echo.Context) error {
	p, ok, err := s.paymentForPage(c)
	if !ok {
		return err
	}
	at, found := s.attemptOf(c.QueryParam("attempt"), p.ID)
	if found && at.Step == stepCancelled && p.CancelURL != "" {
		return c.Redirect(http.StatusSeeOther, p.CancelURL)
	}
	if !found || !finalSteps[at.Step] {
		if done, err := s.guard(c, &p); done {
			return err
		}
	}
	if !found {
		at = s.newAttempt(&p)
		at.ID = "" // created on the first POST
		s.pageEvent(&p, "simplified transfer page opened", map[string]string{"step": at.Step})
	}
	return s.renderStep(c, &p, at)
}

func (s *Service) attemptOf(id, paymentID string) (attempt, bool) {
	if id == "" {
		return attempt{}, false
	}
	at, ok := s.attempts.Get(id)
	if !ok || at.PaymentID != paymentID {
		return attempt{}, false
	}
	return at, true
}

// newAttempt starts at the bank choice, or at the e-mail when the merchant
// preselected the bank (§12.2 step 1).
func (s *Service) newAttempt(p *Payment) attempt {
	at := attempt{ID: s.deps.Random.Hex(20), PaymentID: p.ID, Step: stepBank, Email: p.GivenPayerEmail}
	if p.GivenBankID != "" {
		at.BankID, at.Step = p.GivenBankID, stepEmail
	}
	return at
}

// renderStep renders the attempt's current step.
func (s *Service) renderStep(c echo.Context, p *Payment, at attempt) error {
	v := s.baseView(c, p)
	v.Screen, v.Attempt, v.Error, v.Email, v.RUT, v.Coords, v.OpCode = at.Step, at.ID, at.Error, at.Email, at.RUT, at.Coords, at.OpCode
	v.Preselected = p.GivenBankID != ""
	v.Abandonable = !finalSteps[at.Step] && at.Step != stepAbandon
	if b, ok := s.bank(at.BankID); ok {
		v.BankName = b.Name
	}
	self := v.Action
	if at.ID != "" {
		self += "?attempt=" + at.ID
	}
	switch at.Step {
	case stepBank:
		v.Title = "Selecciona tu banco o cuenta"
		r := s.receiver(p.ReceiverID)
		for _, b := range s.visibleBanks(r) {
			bv := bankView{ID: b.BankID, Name: b.Name}
			if b.belowMinimum(p.Amount, p.Currency) {
				bv.Disabled, bv.Note = true, "Monto mínimo "+displayAmount(b.MinAmount, "CLP")
			}
			v.Banks = append(v.Banks, bv)
		}
	case stepEmail:
		v.Title = "Ingresa tu email"
	case stepLogin:
		v.Title = "Ingresa a " + v.BankName
	case stepAccount:
		v.Title = "Selecciona la cuenta de origen"
		if r, err := parseRUT(at.RUT); err == nil {
			v.Accounts = []accountView{
				{Value: r.account(1), Label: "Cuenta Corriente N° " + r.account(1)},
				{Value: r.account(2), Label: "Cuenta Vista N° " + r.account(2)},
			}
		}
	case stepCoordinates:
		v.Title = "Tarjeta de coordenadas"
		v.Card = drawCard(at.Coords)
	case stepProgress:
		v.Title = "Pago en verificación"
		v.Refresh = "2;url=" + self
	case stepSuccess:
		v.Title = "¡Listo, transferiste!"
		if p.ReturnURL != "" {
			v.Refresh = "5;url=" + p.ReturnURL
		}
	case stepBankError:
		v.Title = "No se pudo completar la transferencia"
	case stepUncertain:
		v.Title = "Pago en verificación"
	case stepAbandon:
		v.Title = "¿Quieres salir del pago?"
	case stepCancelled:
		v.Title = "Pago cancelado"
	case stepLost:
		v.Title = "Este cobro ya fue pagado"
	}
	return s.render(c, http.StatusOK, "simplified.html", v)
}

// pageForm reads a page's form body.
func pageForm(c echo.Context) (params, error) {
	body, err := wire.ReadBody(c, maxPageFormBody)
	if err != nil {
		return nil, err
	}
	return decodeForm(string(body)), nil
}

// handleSimplifiedStep serves POST /payment/simplified/{id}: one step of
// the DemoBank flow (§12.2), answered with a 303 to the attempt's page.
func (s *Service) handleSimplifiedStep(c echo.Context) error {
	p, ok, err := s.paymentForPage(c)
	if !ok {
		return err
	}
	form, err := pageForm(c)
	if err != nil {
		return err
	}
	at, found := s.attemptOf(form["attempt"], p.ID)
	if !found {
		at = s.newAttempt(&p)
	}
	self := requestPath(c.Request()) + "?attempt=" + at.ID
	step := form["step"]
	data := map[string]string{"attempt": at.ID, "step": step, "from": at.Step}
	if finalSteps[at.Step] {
		return c.Redirect(http.StatusSeeOther, self)
	}
	if !p.Deleted && p.Status == statusPending && !p.expired(s.now()) {
		at = s.advance(&p, at, step, form)
	}
	at.Seq++
	s.attempts.Put(at.ID, at)
	data["to"] = at.Step
	if at.Error != "" {
		data["error"] = at.Error
	}
	s.pageEvent(&p, "simplified step "+step+" → "+at.Step, data)
	if at.Step == stepCancelled && p.CancelURL != "" {
		return c.Redirect(http.StatusSeeOther, p.CancelURL)
	}
	return c.Redirect(http.StatusSeeOther, self)
}

// advance applies one submitted step to a payable payment's attempt.
func (s *Service) advance(p *Payment, at attempt, step string, form params) attempt {
	at.Error = ""
	if step == stepAbandon {
		switch form["confirm"] {
		case "yes":
			at.Step = stepCancelled
		case "no":
			at.Step = cmp.Or(at.Prev, stepBank)
		default:
			if at.Step != stepAbandon {
				at.Prev = at.Step
			}
			at.Step = stepAbandon
		}
		return at
	}
	if step != at.Step && step != "retry" && step != "other_bank" {
		// A stale form (back button): show the attempt's current step.
		return at
	}
	r := s.receiver(p.ReceiverID)
	switch step {
	case stepBank:
		b, ok := s.bank(form["bank_id"])
		switch {
		case !ok || r == nil || !r.seesBank(b):
			at.Error = "Selecciona un banco de la lista"
		case b.belowMinimum(p.Amount, p.Currency):
			at.Error = "El monto es menor al mínimo aceptado por " + b.Name
		default:
			at.BankID, at.Step = b.BankID, stepEmail
		}
	case stepEmail:
		email := strings.TrimSpace(form["email"])
		at.Email = email
		if !isEmail(email) {
			at.Error = "Correo electrónico inválido"
		} else {
			at.Step = stepLogin
		}
	case stepLogin:
		rt, err := parseRUT(form["rut"])
		switch {
		case err != nil:
			// The field keeps what the payer typed (bounded), with the error.
			at.Error, at.RUT = "El RUT ingresado no es válido", truncRunes(strings.TrimSpace(form["rut"]), 20)
		case form["password"] != demoPassword:
			at.Error, at.RUT = "Clave incorrecta", rt.String()
		case p.FixedPayerPersonalIdentifier != "" && !sameRUT(p.FixedPayerPersonalIdentifier, rt):
			at.Error = "Este cobro solo puede ser pagado por el RUT indicado por el comercio"
		default:
			at.RUT, at.Step = rt.String(), stepAccount
		}
	case stepAccount:
		rt, _ := parseRUT(at.RUT)
		switch form["account"] {
		case rt.account(1), rt.account(2):
			at.Account, at.Step = form["account"], stepCoordinates
			at.Coords = s.cardPositions()
		default:
			at.Error = "Selecciona una cuenta"
		}
	case stepCoordinates:
		return s.submitCoordinates(p, at, form)
	case "retry":
		if at.Step == stepBankError {
			at.Step = stepLogin
		}
	case "other_bank":
		if at.Step == stepBankError && p.GivenBankID == "" {
			at.Step, at.BankID = stepBank, ""
		}
	}
	return at
}

// sameRUT compares the merchant's fixed identifier with the payer's RUT.
func sameRUT(fixed string, payer rut) bool {
	if r, err := parseRUT(fixed); err == nil {
		return r == payer
	}
	norm := strings.NewReplacer(".", "", "-", "", " ", "").Replace(strings.ToUpper(fixed))
	return norm == strings.ReplaceAll(strings.ReplaceAll(payer.String(), ".", ""), "-", "")
}

// cardPositions picks three positions of the coordinates card (S).
func (s *Service) cardPositions() [3]string {
	var out [3]string
	for i := 0; i < len(out); {
		pos := string(cardColumns[s.deps.Random.IntN(len(cardColumns))]) + string(cardRows[s.deps.Random.IntN(len(cardRows))])
		if pos != out[0] && pos != out[1] {
			out[i] = pos
			i++
		}
	}
	return out
}

// coordinatesOutcome maps the typed coordinates to an outcome (§12.2).
func coordinatesOutcome(c1, c2, c3 string) string {
	switch strings.TrimSpace(c1) + " " + strings.TrimSpace(c2) + " " + strings.TrimSpace(c3) {
	case "11 22 33":
		return "approve"
	case "99 99 99":
		return "bank_error"
	case "55 55 55":
		return "uncertain"
	}
	return ""
}

// submitCoordinates decides the transfer: the scenario's pay outcome
// overrides the coordinates; its delay shows the progress page first.
func (s *Service) submitCoordinates(p *Payment, at attempt, form params) attempt {
	outcome := coordinatesOutcome(form["c1"], form["c2"], form["c3"])
	if p.Pay.Matched && p.Pay.Outcome != "" {
		outcome = p.Pay.Outcome
	}
	if outcome == "" {
		at.Error = "Coordenadas incorrectas, inténtalo nuevamente"
		return at
	}
	if d := p.Pay.delayOr(0); p.Pay.Matched && d > 0 {
		at.Step, at.Outcome = stepProgress, outcome
		id, seq := at.ID, at.Seq+1
		then.Schedule(s.grp, d, clock.Label{Provider: provider, Object: id, Kind: "verification",
			Rule: p.Pay.Scenario + " " + p.Pay.Rule, Detail: "the payer's transfer in progress ends as " + outcome}, func() { s.finishProgress(id, seq) })
		return at
	}
	return s.applyOutcome(p, at, outcome)
}

// finishProgress applies the outcome of an attempt once the scenario's pay
// delay has passed.
func (s *Service) finishProgress(id string, seq int) {
	at, ok := s.attempts.Get(id)
	if !ok || at.Step != stepProgress || at.Seq != seq {
		return
	}
	p, ok := s.payments.Get(at.PaymentID)
	if !ok {
		return
	}
	if p.Deleted || p.Status != statusPending || p.expired(s.now()) {
		at.Step = stepLost
	} else {
		at = s.applyOutcome(&p, at, at.Outcome)
	}
	at.Seq++
	s.attempts.Put(at.ID, at)
	s.pageEvent(&p, "scenario pay delay over: "+at.Step, map[string]string{"attempt": id, "outcome": at.Outcome})
}

// applyOutcome applies a bank outcome to the attempt's payment.
func (s *Service) applyOutcome(p *Payment, at attempt, outcome string) attempt {
	at.Outcome = outcome
	b, _ := s.bank(at.BankID)
	rt, _ := parseRUT(at.RUT)
	tr := transfer{bank: b, rut: rt, email: at.Email, account: at.Account}
	switch outcome {
	case "approve", "uncertain":
		np, err := s.payerOutcome(*p, tr, outcome, journal.CausePage, "payer", false)
		if err != nil {
			at.Step = stepLost
			return at
		}
		at.OpCode = np.OperationCode
		at.Step = stepSuccess
		if outcome == "uncertain" {
			at.Step = stepUncertain
		}
	case "bank_error":
		s.payerOutcome(*p, tr, outcome, journal.CausePage, "payer", false)
		at.Step = stepBankError
	default: // abandon
		s.payerOutcome(*p, tr, "abandon", journal.CausePage, "payer", false)
		at.Step = stepCancelled
	}
	return at
}

// handleManualPage serves GET /payment/manual/{id} (§12.3).
func (s *Service) handleManualPage(c echo.Context) error {
	p, ok, err := s.payableForPage(c)
	if !ok {
		return err
	}
	return s.renderManual(c, &p, defaultRUT, "", "")
}

func (s *Service) renderManual(c echo.Context, p *Payment, rutText, bankID, errMsg string) error {
	v := s.baseView(c, p)
	v.Title, v.Screen, v.RUT, v.Error, v.Abandonable = "Transferencia manual", "manual", rutText, errMsg, false
	r := s.receiver(p.ReceiverID)
	for _, b := range s.visibleBanks(r) {
		v.Banks = append(v.Banks, bankView{ID: b.BankID, Name: b.Name, Selected: b.BankID == bankID})
	}
	return s.render(c, http.StatusOK, "manual.html", v)
}

// handleManualStep serves POST /payment/manual/{id}: the payer declares a
// manual transfer (§12.3).
func (s *Service) handleManualStep(c echo.Context) error {
	p, ok, err := s.payableForPage(c)
	if !ok {
		return err
	}
	form, err := pageForm(c)
	if err != nil {
		return err
	}
	r := s.receiver(p.ReceiverID)
	b, bankOK := s.bank(form["bank_id"])
	rt, rutErr := parseRUT(form["rut"])
	switch {
	case !bankOK || r == nil || !r.seesBank(b):
		return s.renderManual(c, &p, form["rut"], "", "Selecciona el banco de origen")
	case rutErr != nil:
		return s.renderManual(c, &p, form["rut"], b.BankID, "El RUT ingresado no es válido")
	}
	_, err = s.startTransfer(p.ID, transfer{manual: true, bank: b, rut: rt}, journal.CausePage, false)
	data := map[string]string{"bank_id": b.BankID, "rut": rt.String()}
	if err != nil {
		data["error"] = emulators.DetailOf(err)
	}
	s.pageEvent(&p, "manual transfer declared", data)
	return c.Redirect(http.StatusSeeOther, requestPath(c.Request()))
}

// handleReceipt serves GET /receipts/{id} (§12.4): only done payments.
func (s *Service) handleReceipt(c echo.Context) error {
	p, ok, err := s.paymentForPage(c)
	if !ok {
		return err
	}
	if p.Deleted || p.Status != statusDone {
		return s.notFoundPage(c, "Comprobante no disponible", "El cobro "+p.ID+" aún no ha sido pagado.",
			"payment "+p.ID+" is "+p.state()+"; receipts exist for done payments only (§12.4)")
	}
	v := s.baseView(c, &p)
	v.Title, v.Screen = "Comprobante de pago", "receipt"
	method := "Transferencia simplificada"
	switch p.PaymentMethod {
	case methodRegular:
		method = "Transferencia manual"
	case methodNotAvailable:
		method = "Pagado fuera de Khipu (marcado por el cobrador)"
	}
	v.Receipt = &receiptView{Code: p.ID, Subject: p.Subject, Amount: v.Amount, Merchant: v.Merchant,
		Bank: cmp.Or(p.Bank, "—"), RUT: cmp.Or(p.PersonalIdentifier, "—"), OpCode: cmp.Or(p.OperationCode, "—"),
		Conciliated: chileTime(p.ConciliatedAt), Method: method}
	return s.render(c, http.StatusOK, "receipt.html", v)
}

// chileTime renders t in Chile's time (America/Santiago when the zone
// database is available, else UTC−3).
func chileTime(t time.Time) string { return t.In(chileLocation()).Format("02/01/2006 15:04:05") }

// chileLocation loads the zone once: time.LoadLocation reads and parses the
// zone database on every call, and receipts are served per request.
var chileLocation = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation("America/Santiago")
	if err != nil {
		return time.FixedZone("CLT", -3*3600)
	}
	return loc
})

// truncRunes keeps at most n runes of s (a value echoed into a page).
func truncRunes(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		r = r[:n]
	}
	return string(r)
}
