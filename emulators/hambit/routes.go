package hambit

import (
	"errors"
	"io/fs"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/callback"
	"github.com/paysandbox/sandbox/emulators/internal/then"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
	"github.com/paysandbox/sandbox/scenarios"
)

// Body limits (spec §3.1).
const (
	maxBody  = 64 << 10
	maxDepth = 8
)

// operation is one endpoint under /api/v3/{country}/ (spec §2.3).
type operation struct {
	path   string // after the country (and product) segment
	method string
	signed bool
	perm   string // permCollect, permPayout, or permAny
	title  string // journal operation name
	handle func(s *Service, c echo.Context, r *apiRequest) error
}

const permAny = "collect or payout"

var operations = []operation{
	{path: "ping", method: http.MethodGet, title: "ping"},
	{path: "createCollectingOrder", method: http.MethodPost, signed: true, perm: permCollect, title: "create collection", handle: (*Service).handleCreateCollection},
	{path: "createTransferOrder", method: http.MethodPost, signed: true, perm: permPayout, title: "create transfer", handle: (*Service).handleCreateTransfer},
	{path: "query/collectingOrder", method: http.MethodPost, signed: true, perm: permCollect, title: "query collection orders", handle: queryOrders(kindCollection)},
	{path: "query/transferOrder", method: http.MethodPost, signed: true, perm: permPayout, title: "query transfer orders", handle: queryOrders(kindTransfer)},
	{path: "query/balance", method: http.MethodGet, signed: true, perm: permAny, title: "query balance", handle: (*Service).handleBalance},
	{path: "query/bank", method: http.MethodPost, signed: true, perm: permPayout, title: "query bank", handle: (*Service).handleBanks},
}

// operationNames are the first path segments of the operations (a product
// segment may not take one of them).
var operationNames = map[string]bool{"ping": true, "createCollectingOrder": true, "createTransferOrder": true, "query": true}

// apiRequest is what the pipeline established about a signed request.
type apiRequest struct {
	c        echo.Context
	country  Country
	op       *operation
	scenario string
	account  *account
	headers  authHeaders
	params   params
	linkBase string
}

// Register mounts the production tree on g (mounted at /hambit). /ping,
// the cashier and the static files are plain paths; under /api/v3/ the
// country (and product) segments are found by route, and each operation's
// method through the same kit dispatcher (spec §2.3).
func (s *Service) Register(g *echo.Group) {
	g.Use(s.errorStep().Middleware, wire.Recover(s.deps.Log))
	rt := wire.Router{NotAllowed: methodNotAllowed}
	ops := make([]echo.HandlerFunc, len(operations))
	for i := range operations {
		op := &operations[i]
		ops[i] = rt.Handler(wire.Methods{op.method: s.serveOp(op)})
	}
	rt.Add(g, "/ping", wire.Methods{http.MethodGet: ops[0]})
	g.Any("/api/v3/*", func(c echo.Context) error {
		i, err := s.route(c)
		if err != nil {
			return err
		}
		return ops[i](c)
	})
	rt.Add(g, "/cashier/:id", wire.Methods{http.MethodGet: s.handleCashier, http.MethodPost: s.handleCashierAction})
	rt.Add(g, "/static/*", wire.Methods{http.MethodGet: s.handleStatic})
}

// methodNotAllowed is Hambit's 405 for a known path (spec §3.3).
func methodNotAllowed(c echo.Context, method string, allow []string) error {
	return &emulators.Error{Kind: emulators.MethodNotAllowed, Allow: allow,
		Detail: "method " + method + " not allowed on " + wire.RequestInfo(c).OriginalPath + "; use " + strings.Join(allow, ", ")}
}

func notFound(detail string) error {
	return &emulators.Error{Kind: emulators.NotFound, Code: "path", Detail: detail}
}

// route finds the operation of a path under /api/v3/ (spec §2.2, §2.3):
// its index in operations. The method is the dispatcher's business.
func (s *Service) route(c echo.Context) (int, error) {
	orig := wire.RequestInfo(c).OriginalPath
	segs := strings.Split(c.Param("*"), "/")
	ct, ok := s.countries[segs[0]]
	if !ok {
		return 0, notFound("unknown country segment " + quoteShort(segs[0]) + " in " + orig + "; known: " + strings.Join(s.segments(), ", "))
	}
	segs = segs[1:]
	if len(segs) > 1 && slices.Contains(ct.Products, segs[0]) {
		segs = segs[1:]
	}
	p := strings.Join(segs, "/")
	for i := range operations {
		if operations[i].path == p {
			return i, nil
		}
	}
	return 0, notFound("no Hambit endpoint at " + orig)
}

// country is the country of a path under /api/v3/ that route accepted
// (the zero Country for /ping).
func (s *Service) country(c echo.Context) Country {
	seg, _, _ := strings.Cut(c.Param("*"), "/")
	return s.countries[seg]
}

func (s *Service) segments() []string {
	out := make([]string, 0, len(s.countries))
	for k := range s.countries {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// handleStatic serves GET /hambit/static/{name}: the cashier's CSS and JS (spec §8).
func (s *Service) handleStatic(c echo.Context) error {
	name := c.Param("*")
	err := wire.Static(c, s.static, name, "no-cache")
	if errors.Is(err, fs.ErrNotExist) {
		return notFound("no static file " + quoteShort(name))
	}
	return err
}

// callbackPolicy is the one outbound route: how the callbacks Hambit POSTs to the order's notifyUrl (§10) are delivered —
// the retry schedule and timeout of the callbacks configuration, unless the
// scenario's callback point sets its own (then.Callback).
func (s *Service) callbackPolicy(plan scenarios.Plan) callback.Policy {
	return then.Callback(plan, s.cfg.Callbacks.Retry, s.cfg.Callbacks.Timeout)
}
