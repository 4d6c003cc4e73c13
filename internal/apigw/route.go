package apigw

import (
	"fmt"
	"net/http/httputil"
	"os"
	"sort"
	"strings"

	"github.com/portcullis/portcullis/internal/config"
)

// route forwards one path prefix to one upstream.
type route struct {
	prefix string // "/" or "/v0" (no trailing slash)
	strip  bool
	groups []string
	// actions maps the first path segment after the prefix to its groups;
	// nil means no per-action check.
	actions map[string][]string
	proxy   *httputil.ReverseProxy
	// fast takes the requests it can (see fastForward.eligible); nil
	// when the upstream is https.
	fast *fastForward
}

func buildRoutes(cfg *config.APIGatewayConfig, g *Gateway) ([]*route, error) {
	routes := make([]*route, 0, len(cfg.Routes))
	for i, rc := range cfg.Routes {
		r := &route{prefix: rc.Prefix, strip: rc.StripPrefix, groups: rc.Groups}
		if r.prefix != "/" {
			r.prefix = strings.TrimSuffix(r.prefix, "/")
		}
		if !strings.HasPrefix(r.prefix, "/") {
			return nil, fmt.Errorf("route %d: prefix %q must start with /", i, rc.Prefix)
		}
		if len(rc.Actions) > 0 || rc.APIProperties != "" {
			r.actions = map[string][]string{}
			for a, gs := range rc.Actions {
				r.actions[a] = append(r.actions[a], gs...)
			}
		}
		if rc.APIProperties != "" {
			data, err := os.ReadFile(rc.APIProperties)
			if err != nil {
				return nil, fmt.Errorf("route %s: api.properties: %w", r.prefix, err)
			}
			acts, err := ParseAPIProperties(data)
			if err != nil {
				return nil, fmt.Errorf("route %s: %s: %w", r.prefix, rc.APIProperties, err)
			}
			for a, gs := range acts {
				r.actions[a] = append(r.actions[a], gs...)
			}
		}
		p, err := g.newProxy(cfg, rc, r)
		if err != nil {
			return nil, fmt.Errorf("route %s: %w", r.prefix, err)
		}
		r.proxy = p
		routes = append(routes, r)
	}
	// Longest prefix first, so /v0/admin wins over /v0 and / comes last.
	sort.SliceStable(routes, func(i, j int) bool { return len(routes[i].prefix) > len(routes[j].prefix) })
	return routes, nil
}

// match returns the route for a clean path, or nil. A prefix matches
// whole segments only: /v0 takes /v0 and /v0/x, not /v0x.
func match(routes []*route, p string) *route {
	for _, r := range routes {
		if r.prefix == "/" || p == r.prefix || strings.HasPrefix(p, r.prefix) && p[len(r.prefix)] == '/' {
			return r
		}
	}
	return nil
}

// rest is the path after the prefix, starting with "/".
func (r *route) rest(p string) string {
	if r.prefix == "/" {
		return p
	}
	if s := p[len(r.prefix):]; s != "" {
		return s
	}
	return "/"
}

// action is the first path segment after the prefix.
func (r *route) action(p string) string {
	a, _, _ := strings.Cut(strings.TrimPrefix(r.rest(p), "/"), "/")
	return a
}

// allow reports whether k may call path p on this route, and if not why.
// Groups are compared exactly.
func (r *route) allow(k *Key, p string) (bool, string) {
	if len(r.groups) > 0 && !inAny(k, r.groups) {
		return false, "key is in none of the groups allowed on " + r.prefix
	}
	if r.actions == nil {
		return true, ""
	}
	a := r.action(p)
	gs, ok := r.actions[a]
	if !ok {
		return false, "action " + quoteAction(a) + " is not allowed"
	}
	if !inAny(k, gs) {
		return false, "key is in none of the groups allowed to call " + quoteAction(a)
	}
	return true, ""
}

func inAny(k *Key, groups []string) bool {
	for _, g := range groups {
		if k.InGroup(g) {
			return true
		}
	}
	return false
}

func quoteAction(a string) string {
	if len(a) > 64 {
		a = a[:64] + "..."
	}
	return fmt.Sprintf("%q", a)
}
