package engine_test

import (
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/config"
)

// TestEngineConfigValidation checks that every engine setting the
// configuration refuses is named in the message.
func TestEngineConfigValidation(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	for _, tt := range []struct{ yaml, field string }{
		{`addr: "2376"`, "engine.addr"},
		{`{insecure_http: true, tls_cert: /c.pem, tls_key: /k.pem}`, "engine.insecure_http"},
		{`{tls_cert: /c.pem}`, "engine.tls_cert"},
		{`upstream: "ftp://x"`, "engine.upstream"},
		{`upstream: "unix://"`, "engine.upstream"},
		{`{upstream: "unix:///var/run/docker.sock", upstream_tls: {ca: /ca.pem}}`, "engine.upstream_tls"},
		{`{upstream: "tcp://10.0.0.5:2376", upstream_tls: {cert: /c.pem}}`, "engine.upstream_tls"},
		{`max_inspect_bytes: 10`, "engine.max_inspect_bytes"},
		{`token_cache_ttl: 2h`, "engine.token_cache_ttl"},
		{`idle_timeout: -1s`, "engine.idle_timeout"},
		{`policies: {full: {allow: {ping: [GET]}}}`, "engine.policies.full"},
		{`policies: {ci: {allow: {everything: [GET]}}}`, "engine.policies.ci.allow.everything"},
		{`policies: {ci: {allow: {containers: [PATCHY]}}}`, "engine.policies.ci.allow.containers"},
		{`policies: {ci: {container_create: {bind_prefixes: [srv/ci]}}}`, "engine.policies.ci.container_create.bind_prefixes[0]"},
		{`policies: {ci: {container_create: {allow_capabilities: [NET_ADMIN, SYS_ADMN]}}}`, "engine.policies.ci.container_create.allow_capabilities[1]"},
	} {
		y := "engine:\n  " + tt.yaml + "\n"
		if strings.HasPrefix(tt.yaml, "{") {
			y = "engine: " + tt.yaml + "\n"
		}
		_, err := config.Parse([]byte(y), t.TempDir(), noEnv)
		if err == nil || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%s: got %v, want an error naming %s", tt.yaml, err, tt.field)
		}
	}
	ok := "engine: {policies: {ci: {allow: {containers: [\"*\"]}, container_create: {allow_capabilities: [cap_net_admin, SYS_PTRACE, ALL], bind_prefixes: [/srv/ci]}}}}\n"
	if _, err := config.Parse([]byte(ok), t.TempDir(), noEnv); err != nil {
		t.Fatalf("valid engine policy refused: %v", err)
	}
}
