package testenv

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// RegistryLine selects which Docker registry implementation to start.
type RegistryLine string

const (
	// RegistryV3 is distribution v3, built with go install.
	RegistryV3 RegistryLine = "v3"
	// RegistryV2 is Debian's docker-registry package (distribution 2.8).
	RegistryV2 RegistryLine = "v2"
)

// RegistryOptions configure a registry using token authentication.
type RegistryOptions struct {
	Line           RegistryLine
	Realm          string
	Service        string
	Issuer         string
	RootCertBundle string // path
	JWKS           string // path (v3 only)
	// CA signs the registry's TLS certificate (for localhost and 127.0.0.1).
	CA *CA
}

// Registry is a running registry.
type Registry struct {
	Port int
	// Host is localhost:PORT, the name clients use.
	Host string
	URL  string
	logs *Buffer
}

// Logs returns what the registry printed so far.
func (r *Registry) Logs() string { return r.logs.String() }

func registryBinary(t testing.TB, line RegistryLine) string {
	switch line {
	case RegistryV2:
		return Require(t, "docker-registry", "/usr/bin/docker-registry")
	default:
		gopath, _ := exec.Command("go", "env", "GOPATH").Output()
		return Require(t, filepath.Join(string(bytes.TrimSpace(gopath)), "bin", "registry"), "registry")
	}
}

// StartRegistry starts a registry over TLS on 127.0.0.1 and stops it when
// the test ends.
func StartRegistry(t testing.TB, o RegistryOptions) *Registry {
	t.Helper()
	bin := registryBinary(t, o.Line)
	dir := t.TempDir()
	port := FreePort(t)
	leaf := o.CA.Issue(t, "localhost", "localhost", "127.0.0.1")
	certPath, keyPath := leaf.WriteFiles(t, dir, "registry")
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: 127.0.0.1:%d
  tls:
    certificate: %s
    key: %s
auth:
  token:
    realm: %s
    service: %s
    issuer: %s
`, filepath.Join(dir, "data"), port, certPath, keyPath, o.Realm, o.Service, o.Issuer)
	if o.RootCertBundle != "" {
		cfg += "    rootcertbundle: " + o.RootCertBundle + "\n"
	}
	if o.JWKS != "" {
		cfg += "    jwks: " + o.JWKS + "\n"
	}
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve", cfgPath)
	cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none", "OTEL_SDK_DISABLED=true")
	logs := &Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start registry: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("registry (%s) logs:\n%s", o.Line, logs.String())
		}
	})
	r := &Registry{Port: port, Host: "localhost:" + strconv.Itoa(port), URL: "https://localhost:" + strconv.Itoa(port), logs: logs}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: o.CA.Pool}}}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := client.Get(r.URL + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return r
			}
		}
		select {
		case <-done:
			t.Fatalf("registry exited early:\n%s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("registry did not become ready (last error %v):\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
