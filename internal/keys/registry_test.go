package keys

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// startRegistry runs a real distribution registry (binary bin) with token
// auth trusting bundle (and jwks for 3.x when not "") and returns its base
// URL.
func startRegistry(t *testing.T, bin, bundle, jwks string) string {
	t.Helper()
	dir := t.TempDir()
	port := testenv.FreePort(t)
	addr := testenv.Addr(port)
	cfg := fmt.Sprintf(`version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: %s}}
http: {addr: %s}
auth:
  token:
    realm: https://127.0.0.1:1/token
    service: registry
    issuer: portcullis
    rootcertbundle: %s
`, filepath.Join(dir, "storage"), addr, bundle)
	if jwks != "" {
		cfg += "    jwks: " + jwks + "\n"
	}
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var logs bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "serve", cfgPath)
	cmd.Env = []string{"HOME=" + dir, "PATH=/usr/bin:/bin", "OTEL_TRACES_EXPORTER=none"}
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", bin, logs.String())
		}
	})
	wctx, wcancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer wcancel()
	if err := testenv.WaitTCP(wctx, addr, 15*time.Second); err != nil {
		t.Fatalf("%s did not start: %v\n%s", bin, err, logs.String())
	}
	return "http://" + addr
}

// registryStatus asks GET /v2/ with the bearer token and returns the status.
func registryStatus(t *testing.T, base, token string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v2/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// registryClaims is a login token (empty access list) for the registry.
func registryClaims(t *testing.T) []byte {
	t.Helper()
	now := time.Now()
	b, err := json.Marshal(map[string]any{
		"iss": "portcullis", "sub": "alice", "aud": "registry",
		"exp": now.Add(5 * time.Minute).Unix(), "nbf": now.Add(-10 * time.Second).Unix(), "iat": now.Unix(),
		"jti": fmt.Sprint(now.UnixNano()), "access": []any{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRealRegistriesAcceptTokens proves the header choice against the
// registries themselves: distribution 2.8 and 3.x accept SignCompact's
// tokens (kid and x5c); 2.8 also finds the key by the libtrust kid alone
// and 3.x by the JWKS kid alone; a key they do not trust is refused.
func TestRealRegistriesAcceptTokens(t *testing.T) {
	testenv.Integration(t)
	v2bin := testenv.Require(t, "docker-registry")
	v3bin := testenv.Require(t, "registry")
	t.Parallel()

	dir := t.TempDir()
	var ks []*Key
	var v2bundle, v3bundle bytes.Buffer
	for _, alg := range []string{"ES256", "ES384", "ES512", "RS256", "RS512", "EdDSA"} {
		k := genKey(t, alg)
		ks = append(ks, k)
		certPath := filepath.Join(dir, alg+".crt")
		if err := k.Save(filepath.Join(dir, alg+".key"), certPath); err != nil {
			t.Fatal(err)
		}
		pemCert, err := os.ReadFile(certPath)
		if err != nil {
			t.Fatal(err)
		}
		v3bundle.Write(pemCert)
		if alg != "EdDSA" { // libtrust in 2.8 cannot load Ed25519 certificates
			v2bundle.Write(pemCert)
		}
	}
	set, err := NewSet(ks, 0)
	if err != nil {
		t.Fatal(err)
	}
	jwksDoc, err := set.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	v2 := startRegistry(t, v2bin, write("v2bundle.pem", v2bundle.Bytes()), "")
	v3 := startRegistry(t, v3bin, write("v3bundle.pem", v3bundle.Bytes()), write("jwks.json", jwksDoc))

	stranger := genKey(t, "ES256")
	for _, k := range append(ks, stranger) {
		full, err := k.SignCompact(registryClaims(t))
		if err != nil {
			t.Fatal(err)
		}
		kidOnly := forge(t, map[string]any{"typ": "JWT", "alg": k.Alg, "kid": k.KID}, registryClaims(t), k.Method(), k.Private)
		trusted := k != stranger
		type check struct {
			name, base, token string
			want              bool
		}
		cases := []check{
			{"v3 kid+x5c", v3, full, trusted},
			{"v3 kid via JWKS", v3, kidOnly, trusted},
		}
		if k.Alg != "EdDSA" {
			cases = append(cases, check{"v2.8 kid+x5c", v2, full, trusted}, check{"v2.8 libtrust kid", v2, kidOnly, trusted})
		}
		for _, c := range cases {
			want := http.StatusUnauthorized
			if c.want {
				want = http.StatusOK
			}
			if got := registryStatus(t, c.base, c.token); got != want {
				t.Errorf("%s %s (trusted=%v): status %d, want %d", k.Alg, c.name, trusted, got, want)
			}
		}
	}
}
