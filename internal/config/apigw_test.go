package config

import (
	"strings"
	"testing"
	"time"
)

func parseAPIGW(t *testing.T, section string) (*Config, error) {
	t.Helper()
	return Parse([]byte("api_gateway:\n"+section), t.TempDir(), func(string) (string, bool) { return "", false })
}

func TestAPIGatewayDefaults(t *testing.T) {
	cfg, err := parseAPIGW(t, "  enabled: true\n  routes:\n    - prefix: /v0/\n      upstream: http://127.0.0.1:8888\n")
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.APIGateway
	if g.Addr != ":8443" || g.Replay != "memory" || g.ClockSkew != 5*time.Second || g.MaxTokenLifetime() != time.Minute ||
		!g.NewlineSignaturesEnabled() || !g.StoreKeysEnabled() || g.KeyIDHeader != "X-Portcullis-Key-Id" ||
		g.RateLimit.PerSecond != 50 || g.RateLimit.Burst != 100 || !strings.HasSuffix(g.KeysFile, "apigw/keys.properties") {
		t.Fatalf("defaults: %+v", g)
	}
	if g.Routes[0].Prefix != "/v0" || g.Routes[0].ResponseHeaderTimeout != time.Minute {
		t.Fatalf("route defaults: %+v", g.Routes[0])
	}
}

func TestAPIGatewayMaxLifetimeZeroIsOff(t *testing.T) {
	cfg, err := parseAPIGW(t, "  enabled: true\n  max_lifetime: 0s\n  routes:\n    - prefix: /\n      upstream: unix:///run/x.sock\n")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.APIGateway.MaxTokenLifetime() != 0 {
		t.Fatalf("max_lifetime 0 gave %s", cfg.APIGateway.MaxTokenLifetime())
	}
}

func TestAPIGatewayValidation(t *testing.T) {
	cases := []struct{ section, want string }{
		{"  enabled: true\n", "api_gateway.routes: at least one route"},
		{"  enabled: true\n  replay: etcd\n  routes: [{prefix: /, upstream: 'http://a:1'}]\n", "api_gateway.replay: must be one of memory, store, redis, off"},
		{"  enabled: true\n  routes: [{prefix: v0, upstream: 'http://a:1'}]\n", "api_gateway.routes[0].prefix"},
		{"  enabled: true\n  routes: [{prefix: /a/../b, upstream: 'http://a:1'}]\n", "api_gateway.routes[0].prefix"},
		{"  enabled: true\n  routes: [{prefix: /, upstream: 'ftp://a'}]\n", "api_gateway.routes[0].upstream"},
		{"  enabled: true\n  routes: [{prefix: /, upstream: 'unix://'}]\n", "api_gateway.routes[0].upstream"},
		{"  enabled: true\n  routes: [{prefix: /a, upstream: 'http://a:1'}, {prefix: /a/, upstream: 'http://b:1'}]\n", "already routed"},
		{"  enabled: true\n  key_id_header: Authorization\n  routes: [{prefix: /, upstream: 'http://a:1'}]\n", "api_gateway.key_id_header"},
		{"  enabled: true\n  key_id_header: Content-Length\n  routes: [{prefix: /, upstream: 'http://a:1'}]\n", "api_gateway.key_id_header"},
		{"  enabled: true\n  groups_header: connection\n  routes: [{prefix: /, upstream: 'http://a:1'}]\n", "api_gateway.groups_header"},
		{"  enabled: true\n  key_id_header: X-Forwarded-For\n  routes: [{prefix: /, upstream: 'http://a:1'}]\n", "api_gateway.key_id_header"},
		{"  enabled: true\n  max_lifetime: -1s\n  routes: [{prefix: /, upstream: 'http://a:1'}]\n", "api_gateway.max_lifetime"},
		{"  enabled: true\n  max_token_bytes: 10\n  routes: [{prefix: /, upstream: 'http://a:1'}]\n", "api_gateway.max_token_bytes"},
		{"  enabled: true\n  routes: [{prefix: /, upstream: 'http://a:1', actions: {spend: []}}]\n", "api_gateway.routes[0].actions.spend"},
		{"  enabled: true\n  routes: [{prefix: /, upstream: 'http://a:1', upstream_ca: /ca.pem}]\n", "upstream_ca"},
		{"  enabled: true\n  routes: [{prefix: /, upstream: 'http://a:1', groups: ['']}]\n", "api_gateway.routes[0].groups: group \"\""},
		{"  enabled: true\n  routes: [{prefix: /, upstream: 'http://a:1', groups: ['stats,watcher']}]\n", "api_gateway.routes[0].groups: group \"stats,watcher\""},
		{"  enabled: true\n  routes: [{prefix: /, upstream: 'http://a:1', actions: {spend: ['spender ']}}]\n", "api_gateway.routes[0].actions.spend: group \"spender \""},
		{"  enabled: true\n  rate_limit: {per_second: -1}\n  routes: [{prefix: /, upstream: 'http://a:1'}]\n", "api_gateway.rate_limit.per_second: must not be negative"},
		{"  enabled: true\n  rate_limit: {per_second: 5, burst: -1}\n  routes: [{prefix: /, upstream: 'http://a:1'}]\n", "api_gateway.rate_limit.burst: must not be negative"},
	}
	for _, c := range cases {
		_, err := parseAPIGW(t, c.section)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.section, err, c.want)
		}
	}
}
