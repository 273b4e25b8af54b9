package payu

import (
	"strconv"
	"strings"

	"github.com/paysandbox/sandbox/emulators/internal/wire"
)

// dispatchReports serves the Queries API commands (§12).
func (s *Service) dispatchReports(cl *call) error {
	note := wire.Annotate(cl.c)
	if cl.x.command == "PING" {
		p := vobj(fl("payload", vstr("ping")))
		p.f[0].v.class = "string"
		return s.ok(cl, p)
	}
	key := map[string]string{
		"ORDER_DETAIL": "orderId", "ORDER_DETAIL_BY_REFERENCE_CODE": "referenceCode", "TRANSACTION_RESPONSE_DETAIL": "transactionId",
	}[cl.x.command]
	v := &validator{lang: cl.lang}
	v.apply(cl.req, "", []rule{{path: "details", req: reqE, kind: kObject}, {path: "details." + key, req: reqE}})
	if cl.x.command == "ORDER_DETAIL" {
		v.apply(cl.req, "", []rule{{path: "details.orderId", req: reqE, kind: kInt}})
		v.formats = dedupe(v.formats)
		v.props = dedupe(v.props)
	}
	if err := v.err(); err != nil {
		return err
	}
	arg := strings.TrimSpace(cl.req.s("details", key))
	note.AddObject(arg)
	found := func(payload val, class string) error {
		payload.class = class
		return s.ok(cl, vobj(fl("payload", payload)))
	}
	switch cl.x.command {
	case "ORDER_DETAIL":
		id, _ := strconv.ParseInt(arg, 10, 64)
		o, ok := s.orders.Get(id)
		if !ok {
			return s.ok(cl, null)
		}
		if o.MerchantID != cl.merchant.MerchantID {
			return apiErr("Sandbox: order [" + arg + "] does not belong to this merchant")
		}
		return found(s.orderVal(o), "order")
	case "ORDER_DETAIL_BY_REFERENCE_CODE":
		var rows []Order
		for _, id := range s.refs.newestFirst(cl.merchant.MerchantID, arg) {
			if o, ok := s.orders.Get(id); ok {
				rows = append(rows, o)
			}
		}
		if len(rows) == 0 {
			return s.ok(cl, null)
		}
		items := make([]val, len(rows))
		for i, o := range rows {
			items[i] = s.orderVal(o)
		}
		return found(vlist("order", items...), "list")
	default:
		t, ok := s.txs.Get(arg)
		if !ok {
			return s.ok(cl, null)
		}
		if t.MerchantID != cl.merchant.MerchantID {
			return apiErr("Sandbox: order [" + strconv.FormatInt(t.OrderID, 10) + "] does not belong to this merchant")
		}
		return found(queryTxResponse(t), "transactionResponse")
	}
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	out := xs[:0]
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
