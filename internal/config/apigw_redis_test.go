package config

import (
	"strings"
	"testing"
)

func TestAPIGatewayRedis(t *testing.T) {
	const routes = "  routes: [{prefix: /, upstream: 'http://a:1'}]\n"
	for _, c := range []struct{ section, want string }{
		{"  enabled: true\n  replay: redis\n" + routes, "api_gateway.redis.url: is required with replay: redis"},
		{"  enabled: true\n  replay: redis\n  redis: {url: 'http://:secret@h:1'}\n" + routes, `api_gateway.redis.url: must start with redis://, rediss:// or unix://, not "http:"`},
		{"  enabled: true\n  replay: redis\n  redis: {url: 'redis://:secret@h:1/0', ca_file: /ca.pem}\n" + routes, "api_gateway.redis.ca_file: needs a rediss:// URL"},
		{"  enabled: true\n  replay: redis\n  redis: {url: 'redis://:secret@h:%zz'}\n" + routes, "api_gateway.redis.url: does not parse"},
		{"  enabled: true\n  redis: {url: 'redis://h:1'}\n" + routes, `api_gateway.redis: is set but replay is "memory"`},
	} {
		_, err := parseAPIGW(t, c.section)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.section, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%q: the error repeats the password: %v", c.section, err)
		}
	}

	// The URL (which holds the password) may come from the environment.
	env := map[string]string{"PORTCULLIS_API_GATEWAY_REDIS_URL": "rediss://:pw@redis.internal:6380/2"}
	cfg, err := Parse([]byte("api_gateway:\n  enabled: true\n  replay: redis\n  redis: {ca_file: /etc/redis-ca.pem}\n"+routes), t.TempDir(),
		func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.APIGateway.Redis
	if r.URL != env["PORTCULLIS_API_GATEWAY_REDIS_URL"] || r.KeyPrefix != "portcullis:replay:" || r.CAFile != "/etc/redis-ca.pem" {
		t.Fatalf("redis settings: %+v", r)
	}
}
