package engine

import (
	"testing"

	"github.com/portcullis/portcullis/internal/config"
)

func testPolicies() map[string]*Policy {
	return compilePolicies(config.EngineConfig{Policies: map[string]config.EnginePolicy{
		"ci": {Allow: map[string][]string{
			"containers": {"*"},
			"images":     {"read", "POST"},
			"exec":       {"POST"},
			"events":     {"GET"},
		}},
		"noping": {Allow: map[string][]string{"ping": {}}},
	}})
}

func TestPolicyDecide(t *testing.T) {
	ps := testPolicies()
	tests := []struct {
		policy, method, path string
		allowed              bool
	}{
		{"full", "POST", "/containers/create", true},
		{"full", "GET", "/containers/x/archive", true},
		{"full", "GET", "/something/unknown", true},

		{"read-only", "GET", "/_ping", true},
		{"read-only", "HEAD", "/_ping", true},
		{"read-only", "GET", "/containers/json", true},
		{"read-only", "GET", "/containers/abc/logs", true},
		{"read-only", "GET", "/images/json", true},
		{"read-only", "GET", "/events", true},
		{"read-only", "GET", "/info", true},
		{"read-only", "POST", "/containers/create", false},
		{"read-only", "DELETE", "/containers/abc", false},
		{"read-only", "POST", "/containers/abc/exec", false},
		{"read-only", "POST", "/exec/abc/start", false},
		{"read-only", "POST", "/images/load", false},
		{"read-only", "GET", "/containers/abc/archive", false},
		{"read-only", "HEAD", "/containers/abc/archive", false},
		{"read-only", "GET", "/containers/abc/export", false},
		{"read-only", "GET", "/containers/a/b/archive", false},
		{"read-only", "GET", "/images/get", false},
		{"read-only", "GET", "/images/library/busybox/get", false},
		{"read-only", "GET", "/swarm", false},
		{"read-only", "GET", "/swarm/unlockkey", false},
		{"read-only", "GET", "/configs/x", false},
		{"read-only", "GET", "/containers/abc/attach/ws", false},
		{"read-only", "GET", "/unknown", false},
		{"read-only", "GET", "/_ping/extra", false},
		{"read-only", "OPTIONS", "/_ping", false},

		{"ci", "GET", "/_ping", true},
		{"ci", "GET", "/version", true},
		{"ci", "GET", "/info", false},
		{"ci", "POST", "/containers/create", true},
		{"ci", "DELETE", "/containers/abc", true},
		{"ci", "GET", "/containers/abc/archive", false},
		{"ci", "PUT", "/containers/abc/archive", false},
		{"ci", "POST", "/containers/abc/exec", true},
		{"ci", "POST", "/exec/abc/start", true},
		{"ci", "GET", "/exec/abc/json", false},
		{"ci", "GET", "/images/json", true},
		{"ci", "POST", "/images/load", true},
		{"ci", "DELETE", "/images/busybox", false},
		{"ci", "GET", "/images/busybox/get", false},
		{"ci", "GET", "/events", true},
		{"ci", "POST", "/volumes/create", false},

		{"noping", "GET", "/_ping", false},
		{"noping", "GET", "/version", true},
	}
	for _, tt := range tests {
		t.Run(tt.policy+" "+tt.method+" "+tt.path, func(t *testing.T) {
			d := ps[tt.policy].Decide(classify(tt.method, tt.path))
			if d.Allowed != tt.allowed {
				t.Fatalf("allowed = %v (%s), want %v", d.Allowed, d.Rule, tt.allowed)
			}
			if !d.Allowed && d.Rule == "" {
				t.Fatal("a refusal must name its rule")
			}
		})
	}
}

func TestClassifyBodies(t *testing.T) {
	tests := []struct {
		method, path string
		section      string
		body         bodyKind
	}{
		{"POST", "/containers/create", "containers", bodyContainerCreate},
		{"POST", "/containers/abc/exec", "exec", bodyExecCreate},
		{"POST", "/containers/create/exec", "exec", bodyExecCreate},
		{"POST", "/containers/exec", "containers", bodyNone},
		{"POST", "/volumes/create", "volumes", bodyVolumeCreate},
		{"POST", "/containers/abc/start", "containers", bodyContainerStart},
		{"POST", "/containers/a/b/start", "containers", bodyContainerStart},
		{"POST", "/containers/start", "containers", bodyNone},
		{"POST", "/containers/abc/copy", "archive", bodyNone},
		{"POST", "/containers/copy", "containers", bodyNone},
		{"GET", "/containers/abc/start", "containers", bodyNone},
		{"DELETE", "/containers/abc/archive", "containers", bodyNone},
		{"POST", "/build", "build", bodyNone},
		{"POST", "/build/prune", "build", bodyNone},
		{"POST", "/grpc", "grpc", bodyNone},
	}
	for _, tt := range tests {
		r := classify(tt.method, tt.path)
		if r.Section != tt.section || r.Body != tt.body {
			t.Errorf("classify(%s %s) = %+v, want section %s body %d", tt.method, tt.path, r, tt.section, tt.body)
		}
	}
}

func TestRegistryCredentialCall(t *testing.T) {
	yes := []struct{ method, path string }{
		{"POST", "/images/create"},
		{"POST", "/images/127.0.0.1:5000/team/app/push"},
		{"GET", "/images/search"},
		{"GET", "/plugins/privileges"},
		{"POST", "/plugins/pull"},
		{"POST", "/plugins/vieux/sshfs:latest/upgrade"},
		{"POST", "/auth"},
	}
	no := []struct{ method, path string }{
		{"GET", "/images/create"},
		{"POST", "/images/load"},
		{"GET", "/images/json"},
		{"POST", "/images/busybox/tag"},
		{"GET", "/images/push/json"},
		{"GET", "/auth"},
		{"GET", "/containers/json"},
		{"POST", "/plugins/x/enable"},
		{"POST", "/build"},
	}
	for _, c := range yes {
		if !registryCredentialCall(c.method, c.path) {
			t.Errorf("%s %s is a registry credential call", c.method, c.path)
		}
	}
	for _, c := range no {
		if registryCredentialCall(c.method, c.path) {
			t.Errorf("%s %s is not a registry credential call", c.method, c.path)
		}
	}
}
