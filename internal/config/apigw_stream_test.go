package config

import (
	"strings"
	"testing"
	"time"
)

func TestAPIGatewayStreamIdleTimeout(t *testing.T) {
	const routes = "  routes: [{prefix: /, upstream: 'http://a:1'}]\n"
	cfg, err := parseAPIGW(t, "  enabled: true\n"+routes)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.APIGateway.StreamIdleTimeout; got != 5*time.Minute {
		t.Fatalf("default stream_idle_timeout %s, want 5m", got)
	}
	cfg, err = parseAPIGW(t, "  enabled: true\n  stream_idle_timeout: 30s\n"+routes)
	if err != nil || cfg.APIGateway.StreamIdleTimeout != 30*time.Second {
		t.Fatalf("stream_idle_timeout 30s: %v %v", cfg, err)
	}
	if _, err := parseAPIGW(t, "  enabled: true\n  stream_idle_timeout: -1s\n"+routes); err == nil || !strings.Contains(err.Error(), "api_gateway.stream_idle_timeout: must not be negative") {
		t.Fatalf("negative stream_idle_timeout: %v", err)
	}
}
