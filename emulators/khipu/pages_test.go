package khipu

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// payer drives the payer pages with plain HTTP, as CI without a browser can.
type payer struct {
	k    *kenv
	t    *testing.T
	path string // current page path (no query)
	loc  string // current URL (path + query)
	code int
	body string
}

var attemptRE = regexp.MustCompile(`name="attempt" value="([^"]*)"`)

func (k *kenv) open(t *testing.T, path string) *payer {
	t.Helper()
	p := &payer{k: k, t: t}
	p.get(path)
	return p
}

func (p *payer) get(loc string) {
	p.t.Helper()
	rec := p.k.do(req("GET", loc, ""))
	p.loc, p.code, p.body = loc, rec.Code, rec.Body.String()
	p.path, _, _ = strings.Cut(loc, "?")
	if len(p.body) > 100<<10 {
		p.t.Errorf("page %s is %d bytes (budget 100 KB)", loc, len(p.body))
	}
}

// submit posts a step with the attempt of the current page; it returns the
// redirect target and follows it when it stays on the sandbox.
func (p *payer) submit(step string, fields ...string) string {
	p.t.Helper()
	form := url.Values{"step": {step}}
	if m := attemptRE.FindStringSubmatch(p.body); m != nil {
		form.Set("attempt", m[1])
	}
	for i := 0; i+1 < len(fields); i += 2 {
		form.Set(fields[i], fields[i+1])
	}
	rec := p.k.do(req("POST", p.path, form.Encode(), "Content-Type: application/x-www-form-urlencoded"))
	if rec.Code != http.StatusSeeOther {
		p.t.Fatalf("POST %s step %s: %d %.300s", p.path, step, rec.Code, rec.Body)
	}
	loc := rec.Header().Get("Location")
	if strings.HasPrefix(loc, "/khipu/") {
		p.get(loc)
	}
	return loc
}

func (p *payer) want(substrs ...string) {
	p.t.Helper()
	for _, s := range substrs {
		if !strings.Contains(p.body, s) {
			p.t.Fatalf("page %s lacks %q:\n%s", p.loc, s, p.body)
		}
	}
}

// login walks email, login and account from the e-mail step.
func (p *payer) login(rut string) {
	p.t.Helper()
	p.submit("email", "email", "pagador@example.com")
	p.want("Ingresa a DemoBank", `"1234"`, "99 99 99 simula un error del banco")
	p.submit("login", "rut", rut, "password", "1234")
	p.want("Cuenta Corriente N° ", "Cuenta Vista N° ")
	acct := regexp.MustCompile(`name="account" value="(\d+)"`).FindStringSubmatch(p.body)[1]
	p.submit("account", "account", acct)
	p.want("Tarjeta de coordenadas", `id="c1"`)
}

// K-PAY-01: the full DemoBank flow with 11 22 33.
func TestPayerFlowSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newKEnv(t)
		bp := basicPayment()
		bp.Set("return_url", "http://shop.test/return?order=1&x=%C3%B1")
		bp.Set("body", "Dos cafés")
		id := k.createV2(bp)
		info := k.open(t, "/khipu/payment/info/"+id)
		info.want("Cobrador Sandbox", "MONTO A PAGAR", "$1.570", "Código", id, "Ver detalle", "Detalle del pago", "Asunto", "Dos cafés",
			"Transferencia simplificada", "Transferencia manual", `href="/khipu/payment/simplified/`+id+`"`, `href="/khipu/static/khipu.css"`)

		p := k.open(t, "/khipu/payment/simplified/"+id)
		p.want("Selecciona tu banco o cuenta", "Buscar banco o institución financiera", "Mostrar todos", `id="bank-Bawdf"`, "DemoBank2")
		p.submit("bank", "bank_id", "Bawdf")
		p.want("Ingresa un email para recibir tu comprobante de pago")
		p.submit("email", "email", "not-an-email")
		p.want("Correo electrónico inválido")
		p.login("11.111.111-1")
		p.submit("coordinates", "c1", "12", "c2", "34", "c3", "56")
		p.want("Coordenadas incorrectas, inténtalo nuevamente")
		if k.stored(id).Status != statusPending {
			t.Fatal("wrong coordinates changed the payment")
		}
		p.submit("coordinates", "c1", "11", "c2", "22", "c3", "33")
		p.want("¡Listo, transferiste!", "Enviaremos el comprobante de pago a tu correo", "Código operación", "Te redireccionaremos en 5 segundos",
			"Finalizar y volver", `content="5;url=http://shop.test/return?order=1&amp;x=%C3%B1"`)
		op := k.stored(id).OperationCode
		if len(op) != 10 || !strings.Contains(p.body, op) {
			t.Errorf("operation code %q not shown", op)
		}
		m := k.payment(id)
		if m["status"] != "verifying" || m["bank"] != "DemoBank" || m["receipt_url"] != "" {
			t.Errorf("after the transfer: %v", m)
		}
		time.Sleep(2 * time.Second)
		k.advance(0)
		m = k.payment(id)
		want := map[string]any{"status": "done", "status_detail": "normal", "bank": "DemoBank", "bank_id": "Bawdf",
			"payer_name": "Cobrador de desarrollo #123.456", "payer_email": "pagador@example.com", "personal_identifier": "11.111.111-1",
			"bank_account_number": "111111110001", "payment_method": "simplified_transfer", "funds_source": "not-available",
			"receipt_url": "http://127.0.0.1:8080/khipu/receipts/" + id, "conciliation_date": "2000-01-01T00:00:02.000Z"}
		for key, v := range want {
			if m[key] != v {
				t.Errorf("%s = %v, want %v", key, m[key], v)
			}
		}
		k.env.Merchant.Next(t, time.Second)
		// The attempt's page keeps its result; a fresh visit sees the payment paid.
		p.get(p.loc)
		p.want("¡Listo, transferiste!")
		k.open(t, "/khipu/payment/simplified/"+id).want("Este cobro ya fue pagado")
		// Every step was journaled.
		if n := len(k.journalEntries("page")); n < 7 {
			t.Errorf("%d page entries", n)
		}
	})
}

// K-PAY-02 (and K-SM-07 for bank errors): 99 99 99 → bank error, still pending; retry succeeds.
func TestPayerFlowBankError(t *testing.T) {
	k := newKEnv(t)
	id := k.createV2(basicPayment())
	p := k.open(t, "/khipu/payment/simplified/"+id)
	p.submit("bank", "bank_id", "Bawdf")
	p.login("16.142.874-4")
	p.submit("coordinates", "c1", "99", "c2", "99", "c3", "99")
	p.want("No se pudo completar la transferencia", "DemoBank informa: Error ejecutando transferencia", "Pago no realizado",
		"Reintentar pago", "Pagar con otro banco", "Paga con transferencia manual", `href="/khipu/payment/manual/`+id+`"`)
	if m := k.payment(id); m["status"] != "pending" || m["bank"] != "" {
		t.Fatalf("after a bank error: %v", m)
	}
	p.submit("retry")
	p.want("Ingresa a DemoBank")
	p.submit("login", "rut", "16.142.874-4", "password", "1234")
	p.submit("account", "account", "161428740002")
	p.submit("coordinates", "c1", "11", "c2", "22", "c3", "33")
	p.want("¡Listo, transferiste!")
	if m := k.payment(id); m["status"] != "verifying" || m["bank_account_number"] != "161428740002" {
		t.Errorf("after retry: %v", m)
	}
	// Another bank after an error restarts at the bank choice.
	id = k.createV2(basicPayment())
	p = k.open(t, "/khipu/payment/simplified/"+id)
	p.submit("bank", "bank_id", "Bawdf")
	p.login("11.111.111-1")
	p.submit("coordinates", "c1", "99", "c2", "99", "c3", "99")
	p.submit("other_bank")
	p.want("Selecciona tu banco o cuenta")
	p.submit("bank", "bank_id", "Qwert")
	p.login("11.111.111-1")
	p.want("DemoBank2")
}

// K-PAY-03: 55 55 55 → verifying, held until admin pay approve.
func TestPayerFlowUncertain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newKEnv(t)
		id := k.createV2(basicPayment())
		p := k.open(t, "/khipu/payment/simplified/"+id)
		p.submit("bank", "bank_id", "Bawdf")
		p.login("11.111.111-1")
		p.submit("coordinates", "c1", "55", "c2", "55", "c3", "55")
		p.want("Pago en verificación", "Tu banco no entregó una respuesta clara. Verificaremos el pago y te avisaremos por correo.", "Finalizar y volver")
		time.Sleep(24 * time.Hour)
		if k.stored(id).Status != statusVerifying {
			t.Fatalf("uncertain payment is %s", k.stored(id).state())
		}
		k.act(id, "pay", `{"outcome":"approve"}`)
		if k.stored(id).Status != statusDone {
			t.Fatalf("after admin approve: %s", k.stored(id).state())
		}
	})
}

// K-PAY-04: login rules; K-PAY-10: fixed_payer_personal_identifier.
func TestPayerLoginRules(t *testing.T) {
	k := newKEnv(t)
	bp := basicPayment()
	bp.Set("fixed_payer_personal_identifier", "16142874-4")
	id := k.createV2(bp)
	p := k.open(t, "/khipu/payment/simplified/"+id)
	p.submit("bank", "bank_id", "Bawdf")
	p.submit("email", "email", "a@b.cl")
	p.submit("login", "rut", "11.111.111-2", "password", "1234")
	p.want("El RUT ingresado no es válido", `value="11.111.111-2"`, `aria-invalid="true"`) // the field keeps what was typed
	p.submit("login", "rut", "16.142.874-4", "password", "4321")
	p.want("Clave incorrecta")
	p.submit("login", "rut", "11.111.111-1", "password", "1234")
	p.want("Este cobro solo puede ser pagado por el RUT indicado por el comercio")
	p.submit("login", "rut", "16142874-4", "password", "1234")
	p.want("Cuentas de 16.142.874-4")
}

// K-PAY-05: a preselected bank skips step 1; K-PAY-06: bank minimums.
func TestPayerBankChoice(t *testing.T) {
	k := newKEnv(t)
	bp := basicPayment()
	bp.Set("bank_id", "Qwert")
	id := k.createV2(bp)
	p := k.open(t, "/khipu/payment/simplified/"+id)
	p.want("Ingresa un email para recibir tu comprobante de pago")
	p.submit("email", "email", "a@b.cl")
	p.want("Ingresa a DemoBank2")
	p.submit("login", "rut", "11.111.111-1", "password", "1234")
	p.submit("account", "account", "111111110001")
	p.submit("coordinates", "c1", "99", "c2", "99", "c3", "99")
	if strings.Contains(p.body, "Pagar con otro banco") {
		t.Error("another bank offered for a preselected bank")
	}

	bp = basicPayment()
	bp.Set("amount", "150")
	id = k.createV2(bp)
	p = k.open(t, "/khipu/payment/simplified/"+id)
	if !regexp.MustCompile(`id="bank-Bawdf" class="bank" disabled`).MatchString(p.body) || !strings.Contains(p.body, "Monto mínimo $200") {
		t.Errorf("DemoBank not disabled for 150:\n%s", p.body)
	}
	if regexp.MustCompile(`id="bank-Qwert" class="bank" disabled`).MatchString(p.body) {
		t.Error("DemoBank2 disabled for 150")
	}
	p.submit("bank", "bank_id", "Bawdf")
	p.want("El monto es menor al mínimo aceptado por DemoBank")
	p.submit("bank", "bank_id", "Qwert")
	p.want("Ingresa un email")
}

// K-PAY-07 (and K-SM-07 for abandon): abandon → 303 to cancel_url; "No" returns; no cancel_url → page.
func TestPayerAbandon(t *testing.T) {
	k := newKEnv(t)
	id := k.createV2(basicPayment())
	p := k.open(t, "/khipu/payment/simplified/"+id)
	p.submit("bank", "bank_id", "Bawdf")
	p.submit("abandon")
	p.want("¿Quieres salir del pago?", "Sí, salir del pago", "No, continuar pagando")
	p.submit("abandon", "confirm", "no")
	p.want("Ingresa un email")
	p.submit("abandon")
	if loc := p.submit("abandon", "confirm", "yes"); loc != "http://shop.test/cancel" {
		t.Errorf("abandon went to %q", loc)
	}
	if m := k.payment(id); m["status"] != "pending" {
		t.Errorf("abandon changed the payment: %v", m["status"])
	}
	bp := basicPayment()
	bp.Del("cancel_url")
	id = k.createV2(bp)
	p = k.open(t, "/khipu/payment/simplified/"+id)
	p.submit("abandon")
	p.submit("abandon", "confirm", "yes")
	p.want("Pago cancelado")
	// Still payable afterwards.
	k.open(t, "/khipu/payment/simplified/"+id).want("Selecciona tu banco o cuenta")
}

// K-PAY-09: the manual transfer page.
func TestManualTransferPage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newKEnv(t)
		id := k.createV2(basicPayment())
		p := k.open(t, "/khipu/payment/manual/"+id)
		p.want("Transferencia manual", "$1.570", "Transfiere el monto exacto indicando el código del cobro", "000000000000",
			"Khipu Sandbox (cuenta ficticia)", `value="11.111.111-1"`, "Ya realicé la transferencia")
		rec := k.do(req("POST", "/khipu/payment/manual/"+id, "bank_id=Bawdf&rut=1-1", "Content-Type: application/x-www-form-urlencoded"))
		if !strings.Contains(rec.Body.String(), "El RUT ingresado no es válido") {
			t.Errorf("bad RUT: %d %.300s", rec.Code, rec.Body)
		}
		rec = k.do(req("POST", "/khipu/payment/manual/"+id, "bank_id=Qwert&rut=12.345.678-5", "Content-Type: application/x-www-form-urlencoded"))
		if rec.Code != 303 || rec.Header().Get("Location") != "/khipu/payment/manual/"+id {
			t.Fatalf("declare: %d %v", rec.Code, rec.Header())
		}
		k.open(t, "/khipu/payment/manual/"+id).want("Pago en verificación", "Finalizar y volver")
		time.Sleep(9 * time.Second)
		if k.stored(id).Status != statusVerifying {
			t.Fatalf("settled early: %s", k.stored(id).state())
		}
		time.Sleep(time.Second)
		k.advance(0)
		m := k.payment(id)
		if m["status"] != "done" || m["payment_method"] != "regular_transfer" || m["funds_source"] != "" ||
			m["bank_account_number"] != "123456780001" || m["bank"] != "DemoBank2" || m["personal_identifier"] != "12.345.678-5" {
			t.Errorf("manual payment: %v", m)
		}
	})
}

// K-PAY-11: receipt 404 before done, 200 after.
func TestReceiptPage(t *testing.T) {
	k := newKEnv(t)
	id := k.createV2(basicPayment())
	rec := k.do(req("GET", "/khipu/receipts/"+id, ""))
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), "Comprobante no disponible") {
		t.Errorf("before done: %d", rec.Code)
	}
	k.act(id, "pay", `{"skip_verify":true}`)
	p := k.open(t, "/khipu/receipts/"+id)
	if p.code != 200 {
		t.Fatalf("receipt: %d", p.code)
	}
	p.want("Comprobante de pago", id, "Compra de prueba", "$1.570", "Cobrador Sandbox", "DemoBank", "11.111.111-1", k.stored(id).OperationCode, "hora de Chile",
		"MONTO PAGADO", "Monto pagado")
	if strings.Contains(p.body, "MONTO A PAGAR") || strings.Contains(p.body, "Monto a pagar") {
		t.Errorf("the receipt of a paid payment still says MONTO A PAGAR")
	}
	if rec := k.do(req("GET", "/khipu/receipts/nope", "")); rec.Code != 404 || !strings.Contains(rec.Body.String(), "Cobro no encontrado") {
		t.Errorf("unknown receipt: %d", rec.Code)
	}
}

// Two attempts: the first success wins, the other sees the payment paid.
func TestConcurrentAttempts(t *testing.T) {
	k := newKEnv(t)
	id := k.createV2(basicPayment())
	a := k.open(t, "/khipu/payment/simplified/"+id)
	b := k.open(t, "/khipu/payment/simplified/"+id)
	for _, p := range []*payer{a, b} {
		p.submit("bank", "bank_id", "Bawdf")
		p.login("11.111.111-1")
	}
	a.submit("coordinates", "c1", "11", "c2", "22", "c3", "33")
	a.want("¡Listo, transferiste!")
	b.submit("coordinates", "c1", "11", "c2", "22", "c3", "33")
	b.want("Pago en verificación")
	k.act(id, "pay", `{"outcome":"approve"}`)
	b.get(b.loc)
	b.want("Este cobro ya fue pagado")
}

// Scenario pay: delay shows the progress page; outcome overrides the
// coordinates.
func TestPayerScenario(t *testing.T) {
	const yaml = `name: pay-qa
rules:
  - {provider: khipu, on: pay, when: {transaction_id: SLOW}, then: {delay: 30s}}
  - {provider: khipu, on: pay, when: {transaction_id: FAILS}, then: {outcome: bank_error}}
`
	synctest.Test(t, func(t *testing.T) {
		k := newKEnv(t, withScenario(yaml), withActive("pay-qa"))
		bp := basicPayment()
		bp.Set("transaction_id", "SLOW")
		id := k.createV2(bp)
		p := k.open(t, "/khipu/payment/simplified/"+id)
		p.submit("bank", "bank_id", "Bawdf")
		p.login("11.111.111-1")
		p.submit("coordinates", "c1", "11", "c2", "22", "c3", "33")
		p.want("Pago en verificación", `http-equiv="refresh" content="2;url=/khipu/payment/simplified/`+id+`?attempt=`)
		if k.stored(id).Status != statusPending {
			t.Fatal("the outcome applied before the scenario delay")
		}
		time.Sleep(30 * time.Second)
		k.advance(0)
		p.get(p.loc)
		p.want("¡Listo, transferiste!")
		if k.stored(id).Status != statusVerifying {
			t.Errorf("after the delay: %s", k.stored(id).state())
		}

		bp.Set("transaction_id", "FAILS")
		id = k.createV2(bp)
		p = k.open(t, "/khipu/payment/simplified/"+id)
		p.submit("bank", "bank_id", "Bawdf")
		p.login("11.111.111-1")
		p.submit("coordinates", "c1", "11", "c2", "22", "c3", "33")
		p.want("No se pudo completar la transferencia")
	})
}

func TestPageEdges(t *testing.T) {
	k := newKEnv(t)
	rec := k.do(req("GET", "/khipu/payment/info/unknown00000", ""))
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), "Cobro no encontrado") || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Errorf("unknown payment page: %d %s", rec.Code, rec.Header())
	}
	bp := basicPayment()
	bp.Set("mandatory_payment_method", "regular_transfer")
	id := k.createV2(bp)
	rec = k.do(req("GET", "/khipu/payment/info/"+id, ""))
	if rec.Code != 302 || rec.Header().Get("Location") != "/khipu/payment/manual/"+id {
		t.Errorf("mandatory method: %d %v", rec.Code, rec.Header())
	}
	for _, asset := range []string{"khipu.css", "khipu.js", "khipu-logo.svg", "demobank.svg", "simplified_transfer.svg", "regular_transfer.svg"} {
		rec := k.do(req("GET", "/khipu/static/"+asset, ""))
		if rec.Code != 200 || rec.Body.Len() == 0 {
			t.Errorf("asset %s: %d", asset, rec.Code)
		}
	}
	if rec := k.do(req("GET", "/khipu/static/../khipu.go", "")); rec.Code != 404 {
		t.Errorf("path traversal: %d", rec.Code)
	}
	// Pages are offline: no absolute http(s) asset URLs.
	p := k.open(t, "/khipu/payment/simplified/"+id)
	if regexp.MustCompile(`(src|href)="https?://`).MatchString(p.body) {
		t.Errorf("page links the network:\n%s", p.body)
	}
	// A stale attempt id of another payment starts afresh.
	rec = k.do(req("GET", "/khipu/payment/simplified/"+id+"?attempt=nope", ""))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "Selecciona tu banco") {
		t.Errorf("stale attempt: %d", rec.Code)
	}
}
