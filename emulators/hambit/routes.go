package hambit

import (
	"errors"
	"io/fs"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/paysandbox/sandbox/emulators"
	"github.com/paysandbox/sandbox/emulators/internal/journal"
	"github.com/paysandbox/sandbox/emulators/internal/wire"
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
	g.Use(wire.Errors{Debug: s.deps.DebugHeaders, Log: s.deps.Log, FromHTTP: s.httpError, Shape: s.answer}.Middleware, wire.Recover(s.deps.Log))
	rt := wire.Router{NotAllowed: methodNotAllowed}
	ops := make([]echo.HandlerFunc, len(operations))
	for i := range operations {
		op := &operations[i]
		ops[i] = rt.Handler(wire.Methods{op.method: func(c echo.Context) error { return s.serveOp(c, op) }})
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

// serveOp serves one operation once routing and the method are settled:
// the scenario header, then the checks of spec §3.4 in order.
func (s *Service) serveOp(c echo.Context, op *operation) error {
	n := wire.Annotate(c)
	n.Operation = op.title
	scen, err := s.deps.Scenarios.Resolve(c.Request().Header.Get("X-Sandbox-Scenario"))
	if err != nil {
		return err
	}
	n.Scenario = scen
	if !op.signed {
		return s.handlePing(c)
	}
	r, err := s.authenticate(c, op)
	if err != nil {
		return err
	}
	r.country, r.scenario = s.country(c), scen
	r.linkBase = wire.LinkBase(c.Request(), s.deps.PublicURL)
	return op.handle(s, c, r)
}

// authenticate runs steps 2–10 of spec §3.4.
func (s *Service) authenticate(c echo.Context, op *operation) (*apiRequest, error) {
	req := c.Request()
	n := wire.Annotate(c)
	// 2. body size and depth
	body, err := wire.ReadBody(c, maxBody)
	if err != nil {
		if emulators.KindOf(err) == emulators.TooLarge {
			return nil, errParam("request body exceeds " + wire.HumanBytes(maxBody))
		}
		return nil, errParam(emulators.DetailOf(err))
	}
	if err := wire.CheckJSONDepth(body, maxDepth); err != nil {
		return nil, errParam(err.Error())
	}
	// 3. headers present and well formed
	h, msg := readAuthHeaders(req.Header)
	if msg != "" {
		return nil, errParam(msg)
	}
	// 4. access_key known
	acct := s.accounts[h.accessKey]
	if acct == nil {
		return nil, s.rejectSignature(c, nil, h, "unknown access_key "+quoteShort(h.accessKey))
	}
	// 5. IP whitelist
	ip, okIP := peerIP(req)
	if !okIP || !acct.allowsIP(ip) {
		return nil, errIP("caller IP " + ip.String() + " is not in the whitelist of access_key " + h.accessKey)
	}
	// 6. body: UTF-8 JSON object; empty only for GET
	if len(strings.TrimSpace(string(body))) == 0 && req.Method != http.MethodGet {
		return nil, errParam("empty body: expected a JSON object")
	}
	ps, err := parseParams(body)
	if err != nil {
		return nil, errParam(err.Error())
	}
	// 7. timestamp window (wall clock)
	ms, _ := strconv.ParseInt(h.timestamp, 10, 64)
	skew := s.wallNow().Sub(time.UnixMilli(ms))
	if skew < 0 {
		skew = -skew
	}
	if skew > s.cfg.TimestampWindow {
		cs := candidates(ps, acct.SecretKey, h.accessKey, h.timestamp, h.nonce)
		dir := "old"
		if time.UnixMilli(ms).After(s.wallNow()) {
			dir = "ahead"
		}
		return nil, s.rejectSignature(c, cs, h, "timestamp "+strconv.FormatInt(int64(skew.Round(time.Second)/time.Second), 10)+" s "+dir+
			", outside the +/-"+strconv.FormatInt(int64(s.cfg.TimestampWindow/time.Second), 10)+" s window (wall clock)")
	}
	// 8. signature: the usual rendering first; the other candidates only
	// when it does not match (they are for the diagnostics).
	cs := firstCandidate(ps, acct.SecretKey, h.accessKey, h.timestamp, h.nonce)
	i := matchSign(cs, h.sign)
	if i < 0 {
		cs = candidates(ps, acct.SecretKey, h.accessKey, h.timestamp, h.nonce)
		i = matchSign(cs, h.sign)
	}
	if i < 0 {
		return nil, s.rejectSignature(c, cs, h, "sign "+quoteShort(h.sign)+" matches none of "+strconv.Itoa(len(cs))+
			" candidate strings; expected "+cs[0].sign+" for X-Sandbox-String-To-Sign (empty values skipped, numbers as sent)")
	}
	n.Signature = signatureNote(cs, h, journal.VerdictOK, i, "")
	// 9. nonce
	if !s.nonces.remember(h.accessKey, h.nonce, s.wallNow(), 2*s.cfg.TimestampWindow) {
		n.Signature.Verdict, n.Signature.Detail = journal.VerdictRejected, "nonce already used by this access_key"
		s.setStringToSign(c, cs[0].str)
		return nil, errSignature("nonce already used by this access_key")
	}
	// 10. permission
	switch op.perm {
	case permAny:
		if !acct.perms[permCollect] && !acct.perms[permPayout] {
			return nil, errIP("access_key " + h.accessKey + " has neither the collect nor the payout permission")
		}
	default:
		if !acct.perms[op.perm] {
			return nil, errIP("access_key " + h.accessKey + " lacks the " + op.perm + " permission")
		}
	}
	return &apiRequest{op: op, account: acct, headers: h, params: ps}, nil
}

// rejectSignature answers 307 with the debug headers of spec §3.5 and
// journals every candidate.
func (s *Service) rejectSignature(c echo.Context, cs []candidate, h authHeaders, detail string) error {
	n := wire.Annotate(c)
	n.Signature = signatureNote(cs, h, journal.VerdictRejected, -1, detail)
	if len(cs) > 0 {
		s.setStringToSign(c, cs[0].str)
	} else if s.deps.DebugHeaders {
		// Unknown key: no secret, but the string the key would have signed.
		ps, err := parseParams(wire.Body(c))
		if err == nil {
			s.setStringToSign(c, canonical(ps, h.accessKey, h.timestamp, h.nonce, canonOptions{}))
		}
	}
	return errSignature(detail)
}

func signatureNote(cs []candidate, h authHeaders, verdict string, match int, detail string) *journal.Signature {
	sig := &journal.Signature{Verdict: verdict, Scheme: "HMAC-SHA1 Base64 over sorted body keys + access_key, timestamp, nonce (Hambit)",
		Received: h.sign, Detail: detail}
	for i, c := range cs {
		sig.Candidates = append(sig.Candidates, journal.Candidate{Name: c.name, StringToSign: c.str, Signature: c.sign, Match: i == match})
	}
	if len(cs) > 0 {
		sig.Expected = cs[0].sign
	}
	return sig
}

// handlePing serves GET /ping (spec §6.1): not signed, not enveloped.
func (s *Service) handlePing(c echo.Context) error {
	ip, _ := peerIP(c.Request())
	if key, ok := header(c.Request().Header, "access_key"); ok {
		if a := s.accounts[strings.TrimSpace(key)]; a != nil && !a.allowsIP(ip) {
			return errIP("caller IP " + ip.String() + " is not in the whitelist of access_key " + a.AccessKey)
		}
	}
	type pong struct {
		Version   string `json:"version"`
		Timestamp int64  `json:"timestamp"`
		AccessIP  string `json:"accessIp"`
		Node      string `json:"node"`
	}
	return wire.JSON(c, http.StatusOK, contentTypeJSON, pong{Version: "1.0.1", Timestamp: millis(s.now()), AccessIP: ip.String(), Node: s.node})
}

// handleStatic serves the cashier's CSS and JS.
func (s *Service) handleStatic(c echo.Context) error {
	name := c.Param("*")
	err := wire.Static(c, s.static, name, "no-cache")
	if errors.Is(err, fs.ErrNotExist) {
		return notFound("no static file " + quoteShort(name))
	}
	return err
}
