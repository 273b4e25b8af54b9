package hambit

import (
	"time"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators/internal/wire"
	"github.com/paysandbox/sandbox/scenarios"
)

// cashierLifetime is how long a cashier accepts payment (spec §8).
const cashierLifetime = 30 * time.Minute

// defaultAutoDelay is the robot payer's default wait (docs/design.md, Scenario vocabulary: auto).
const defaultAutoDelay = 2 * time.Second

// requestAttrs returns the scenario attributes of a request: its top-level
// fields as text plus country, currency and access_key (spec §11). They are
// built on the first call only, and only a scenario with rules for the point
// makes that call (scenarios.Engine.DecideFunc), so a create under the
// default scenario does not pay for them.
func requestAttrs(r *apiRequest) func() scenarios.Attrs {
	var a scenarios.Attrs
	return func() scenarios.Attrs {
		if a != nil {
			return a
		}
		a = scenarios.Attrs{}
		for k, p := range r.params {
			if !p.kind.Nested() {
				a[k] = p.text
			}
		}
		a["country"] = r.country.Segment
		a["currency"] = r.country.Currency
		a["access_key"] = r.account.AccessKey
		return a
	}
}

// decideRequest takes a request point's scenario decision (spec §11) and
// carries out its response_delay, error and fault. It returns the plan and
// the request's attributes (for the pay point, decided next); a non-nil
// error means the request must end.
func (s *Service) decideRequest(c echo.Context, r *apiRequest, point string) (scenarios.Plan, func() scenarios.Attrs, error) {
	attrs := requestAttrs(r)
	plan := s.deps.Scenarios.DecideFunc(r.scenario, provider, point, attrs)
	n := wire.Annotate(c)
	n.Scenario, n.Rule = plan.Scenario, plan.Rule
	if !plan.Matched {
		return plan, attrs, nil
	}
	if plan.ResponseDelay > 0 && !wire.Sleep(c, plan.ResponseDelay) {
		// The client went away or the sandbox is stopping: answer nothing.
		return plan, attrs, wire.Fault(c, wire.FaultTimeout, contentTypeJSON, nil)
	}
	if se, ok := plan.Error.(ScenarioError); ok {
		return plan, attrs, &scenarioError{ScenarioError: se, rule: plan.Rule}
	}
	if plan.Fault != "" {
		sample := []byte(`{"code":"200","success":true,"msg":"成功","msgEn":"SUCCESS","data":{"orderId":""}}`)
		return plan, attrs, wire.Fault(c, plan.Fault, contentTypeJSON, sample)
	}
	return plan, attrs, nil
}

// handleCreateCollection serves POST /api/v3/{country}/createCollectingOrder (spec §6.2).
func (s *Service) handleCreateCollection(c echo.Context, r *apiRequest) error {
	req, err := validateCollection(r.params, r.country)
	if err != nil {
		return err
	}
	_, attrs, err := s.decideRequest(c, r, PointCreateCollection)
	if err != nil {
		return err
	}
	o, err := s.createCollection(r, req, attrs)
	if err != nil {
		return err
	}
	n := wire.Annotate(c)
	n.AddObject(o.OrderID)
	n.AddObject(o.CashierID)
	if n.Rule == "" && o.PayPlan.Rule != "" {
		n.Rule = o.PayPlan.Rule // the pay plan stored with the order
	}
	return ok(c, o.createCollectionData(r.account.merchantID))
}

// handleCreateTransfer serves POST /api/v3/{country}/createTransferOrder (spec §6.3).
func (s *Service) handleCreateTransfer(c echo.Context, r *apiRequest) error {
	req, err := validateTransfer(r.params, r.country, s.banks[r.country.Currency])
	if err != nil {
		return err
	}
	plan, _, err := s.decideRequest(c, r, PointPayout)
	if err != nil {
		return err
	}
	o, err := s.createTransfer(r, req, plan)
	if err != nil {
		return err
	}
	wire.Annotate(c).AddObject(o.OrderID)
	type created struct {
		OrderID         string `json:"orderId"`
		OrderStatus     string `json:"orderStatus"`
		ExternalOrderID string `json:"externalOrderId"`
		CurrencyType    string `json:"currencyType"`
	}
	return ok(c, created{OrderID: o.OrderID, OrderStatus: "Accepted", ExternalOrderID: o.ExternalOrderID, CurrencyType: o.Currency})
}

// findOrders returns the merchant's orders of a kind in a currency that
// match every given key of q (spec §6.4), newest first.
func (s *Service) findOrders(kind string, merchantID int64, currency string, q queryRequest) []order {
	id := q.orderID
	if id == "" {
		s.mu.Lock()
		id = s.byExternal[externalKey(kind, merchantID, q.externalOrderID)]
		s.mu.Unlock()
	}
	if id == "" {
		return nil
	}
	o, found := s.orders.Get(id)
	if !found || o.Kind != kind || o.MerchantID != merchantID || o.Currency != currency {
		return nil
	}
	if q.externalOrderID != "" && o.ExternalOrderID != q.externalOrderID {
		return nil
	}
	return []order{o}
}

// queryOrders is the handler of query/collectingOrder (kind collection,
// spec §6.4) and query/transferOrder (kind transfer, spec §6.5).
func queryOrders(kind string) func(s *Service, c echo.Context, r *apiRequest) error {
	return func(s *Service, c echo.Context, r *apiRequest) error {
		q, err := validateQuery(r.params)
		if err != nil {
			return err
		}
		out := []any{}
		for _, o := range s.findOrders(kind, r.account.merchantID, r.country.Currency, q) {
			wire.Annotate(c).AddObject(o.OrderID)
			out = append(out, o.apiView())
		}
		return ok(c, out)
	}
}

// balanceView is one element of the balance answer (spec §6.6).
type balanceView struct {
	AccountBalance           string `json:"accountBalance"`
	AccountFreezeAmount      string `json:"accountFreezeAmount"`
	AccountStatusID          int    `json:"accountStatusId"`
	AccountWaitSettledAmount string `json:"accountWaitSettledAmount"`
	CurrencyType             string `json:"currencyType"`
	AccountStatus            string `json:"accountStatus"`
}

func viewBalance(b balance, currency string) balanceView {
	return balanceView{AccountBalance: money(b.Available), AccountFreezeAmount: money(b.Frozen), AccountStatusID: 4,
		AccountWaitSettledAmount: money(b.WaitSettled), CurrencyType: currency, AccountStatus: "InAndOut"}
}

// handleBalance serves GET /api/v3/{country}/query/balance (spec §6.6).
func (s *Service) handleBalance(c echo.Context, r *apiRequest) error {
	b := s.balanceOf(r.account.AccessKey, r.country.Currency)
	return ok(c, []balanceView{viewBalance(b, r.country.Currency)})
}

// bankView is one element of the bank answer (spec §6.7).
type bankView struct {
	BankName     string `json:"bankName"`
	BankCode     string `json:"bankCode"`
	CurrencyType string `json:"currencyType"`
}

// handleBanks serves POST /api/v3/{country}/query/bank (spec §6.7).
func (s *Service) handleBanks(c echo.Context, r *apiRequest) error {
	name, err := validateBankQuery(r.params)
	if err != nil {
		return err
	}
	out := []bankView{}
	for _, b := range s.banks[r.country.Currency] {
		if name == "" || b.Name == name {
			out = append(out, bankView{BankName: b.Name, BankCode: b.Code, CurrencyType: r.country.Currency})
		}
	}
	return ok(c, out)
}

// externalKey indexes externalOrderId per merchant and order kind (spec §6.2).
func externalKey(kind string, merchantID int64, ext string) string {
	return kind + "|" + itoa(merchantID) + "|" + ext
}

// duplicateError is the code-300 answer to a reused externalOrderId.
func duplicateError(kind, ext, existing string) error {
	return errParam("externalOrderId " + quoteShort(ext) + " is already used by " + kind + " " + existing + " of this merchant")
}
