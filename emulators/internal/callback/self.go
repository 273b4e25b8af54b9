package callback

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

// ErrSelf is the error of an attempt refused because its URL names the
// sandbox's own admin API or dashboard and its target is the sandbox.
var ErrSelf = errors.New("refused: the callback URL is the sandbox's own admin API or dashboard")

// sandboxTree reports whether u's path is in the sandbox's own tree
// (/_sandbox: admin API, dashboard), after decoding and cleaning it as a
// router would. The demo shop's callback endpoints are a merchant's and
// stay reachable, as do the providers' endpoints (PayU → Khipu style
// calls are legitimate).
func sandboxTree(u *url.URL) bool {
	p := path.Clean("/" + strings.ReplaceAll(u.Path, "\\", "/"))
	p = strings.ToLower(p)
	if p != "/_sandbox" && !strings.HasPrefix(p, "/_sandbox/") {
		return false
	}
	return !strings.HasPrefix(p, "/_sandbox/demo/callbacks/")
}

// guardedClient sends requests whose URL names the sandbox's tree: it
// resolves the host itself, refuses when any address it resolves to is one
// of the sandbox's listeners (self), and dials the address it checked (no
// second lookup a rebinding DNS could answer differently). Connections are
// not kept: each request is checked when it dials.
func guardedClient(self func(net.IP, int) bool) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	tr := &http.Transport{
		Proxy:             nil,
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, portText, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			port, err := strconv.Atoi(portText)
			if err != nil {
				return nil, err
			}
			ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
			if err != nil {
				return nil, err
			}
			for _, ip := range ips {
				if self(ip.IP, port) {
					return nil, fmt.Errorf("%w (%s resolves to %s, where the sandbox listens)", ErrSelf, host, net.JoinHostPort(ip.IP.String(), portText))
				}
			}
			if len(ips) == 0 {
				return nil, fmt.Errorf("no address for %s", host)
			}
			return dialer.DialContext(ctx, network, net.JoinHostPort(ips[0].IP.String(), portText))
		},
	}
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
