package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/apigw"
)

func runAPIKeyCLI(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	a := &App{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut}
	defer a.Close()
	root := NewRoot(a)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), errOut.String(), err
}

var apiKeyLine = regexp.MustCompile(`(?m)^  key: +([0-9a-f]{64})$`)

func verifyToken(t *testing.T, tok, secret string) *apigw.Token {
	t.Helper()
	// The lifetime cap is the gateway's business; here only the signature.
	pt, err := apigw.ParseToken(strings.TrimSpace(tok))
	if err != nil {
		t.Fatalf("token %q: %v", tok, err)
	}
	v := &apigw.Verifier{Skew: 5 * time.Second}
	if err := v.Verify(pt, []byte(secret)); err != nil {
		t.Fatalf("token does not verify: %v", err)
	}
	return pt
}

func TestAPIKeyLifecycle(t *testing.T) {
	dir := t.TempDir()
	d := "--data-dir=" + dir
	// A keys file with cyphernode's 000..002 makes the next id 003.
	if err := os.MkdirAll(filepath.Join(dir, "apigw"), 0o700); err != nil {
		t.Fatal(err)
	}
	file := "key000=" + strings.Repeat("a", 64) + "\nkey002=" + strings.Repeat("b", 64) + "\n"
	if err := os.WriteFile(filepath.Join(dir, "apigw", "keys.properties"), []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}

	out, _, err := runAPIKeyCLI(t, "", d, "apikey", "create", "--groups", "stats,watcher")
	if err != nil {
		t.Fatal(err)
	}
	m := apiKeyLine.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "Created API key 003\n") || !strings.Contains(out, "  groups: stats,watcher\n") {
		t.Fatalf("create output:\n%s", out)
	}
	secret := m[1]

	if _, _, err := runAPIKeyCLI(t, "", d, "apikey", "create", "--id", "003"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate id: %v", err)
	}
	if _, _, err := runAPIKeyCLI(t, "", d, "apikey", "create", "--id", "002"); err == nil || !strings.Contains(err.Error(), "keys.properties") {
		t.Fatalf("id of a file key: %v", err)
	}
	if _, _, err := runAPIKeyCLI(t, "", d, "apikey", "create", "--id", "a/b"); err == nil {
		t.Fatal("bad id accepted")
	}
	if _, _, err := runAPIKeyCLI(t, "", d, "apikey", "create", "--groups", "stats watcher"); err == nil || !strings.Contains(err.Error(), "--groups") {
		t.Fatalf("a group with a blank: %v", err)
	}

	out, _, err = runAPIKeyCLI(t, "", d, "apikey", "list")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^003 +stats,watcher +store +\d{4}-`).MatchString(out) || !regexp.MustCompile(`(?m)^000 +file`).MatchString(out) || strings.Contains(out, secret) {
		t.Fatalf("list output:\n%s", out)
	}

	out, _, err = runAPIKeyCLI(t, "", d, "apikey", "sign", "--id", "003", "--key", secret)
	if err != nil {
		t.Fatal(err)
	}
	pt := verifyToken(t, out, secret)
	if pt.ID != "003" || pt.Exp < time.Now().Unix()+8 || pt.Exp > time.Now().Unix()+11 {
		t.Fatalf("token id %s exp %d", pt.ID, pt.Exp)
	}
	out, stderr, err := runAPIKeyCLI(t, secret+"\n", d, "apikey", "sign", "--id", "003", "--key", "-", "--ttl", "2m")
	if err != nil {
		t.Fatal(err)
	}
	if pt := verifyToken(t, out, secret); pt.Exp < time.Now().Unix()+110 {
		t.Fatalf("--ttl 2m gave exp %d", pt.Exp)
	}
	if !strings.Contains(stderr, "max_lifetime") {
		t.Fatalf("no warning about the lifetime cap: %q", stderr)
	}
	if _, _, err := runAPIKeyCLI(t, "", d, "apikey", "sign", "--id", "003", "--key", "nothex"); err == nil {
		t.Fatal("bad key accepted")
	}
	// Longer than any key the gateway takes: a token it would never accept.
	if _, _, err := runAPIKeyCLI(t, "", d, "apikey", "sign", "--id", "003", "--key", strings.Repeat(secret, 3)); err == nil || !strings.Contains(err.Error(), "128") {
		t.Fatalf("a 192-character key: %v", err)
	}

	if out, _, err = runAPIKeyCLI(t, "", d, "apikey", "revoke", "003"); err != nil || !strings.Contains(out, "Revoked API key 003") {
		t.Fatalf("revoke: %v %s", err, out)
	}
	if _, _, err = runAPIKeyCLI(t, "", d, "apikey", "revoke", "003"); err == nil || !strings.Contains(err.Error(), "no key 003") {
		t.Fatalf("second revoke: %v", err)
	}
	if _, _, err = runAPIKeyCLI(t, "", d, "apikey", "revoke", "000"); err == nil || !strings.Contains(err.Error(), "remove its line") {
		t.Fatalf("revoke of a file key: %v", err)
	}
	if out, _, _ = runAPIKeyCLI(t, "", d, "apikey", "list"); strings.Contains(out, "003") {
		t.Fatalf("revoked key still listed:\n%s", out)
	}
}

// apiKeyConfig writes a config whose gateway routes every path to
// upstream and reads keys from the store and DIR/apigw/keys.properties.
func apiKeyConfig(t *testing.T, dir, upstream, extra string) string {
	t.Helper()
	y := "data_dir: " + dir + "\napi_gateway:\n  enabled: true\n  insecure_http: true\n  addr: 127.0.0.1:0\n  store_key_cache_ttl: 1ms\n" + extra +
		"  routes:\n    - prefix: /\n      upstream: " + upstream + "\n"
	p := filepath.Join(dir, "portcullis.yaml")
	if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAPIKeyThroughGateway: a key made by `apikey create` and a token
// made by `apikey sign` pass a gateway on the same store; after `apikey
// revoke` they do not. A revoke that leaves a key of the same id in the
// keys file says so instead of reporting the id revoked.
func TestAPIKeyThroughGateway(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Header.Get("X-Portcullis-Key-Id"))
	}))
	defer up.Close()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "apigw"), 0o700); err != nil {
		t.Fatal(err)
	}
	c := "--config=" + apiKeyConfig(t, dir, up.URL, "")

	out, _, err := runAPIKeyCLI(t, "", c, "apikey", "create", "--id", "cli1", "--groups", "watcher")
	if err != nil {
		t.Fatal(err)
	}
	m := apiKeyLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("create output:\n%s", out)
	}
	secret := m[1]

	a := &App{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard, ConfigPath: strings.TrimPrefix(c, "--config=")}
	defer a.Close()
	cfg, err := a.Config()
	if err != nil {
		t.Fatal(err)
	}
	st, err := a.Store(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	g, err := apigw.New(cfg.APIGateway, apigw.Deps{Keys: st})
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(g.Handler())
	defer gw.Close()
	call := func() (int, string) {
		t.Helper()
		tok, _, err := runAPIKeyCLI(t, secret+"\n", c, "apikey", "sign", "--id", "cli1", "--key", "-")
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("GET", gw.URL+"/x", nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(tok))
		resp, err := gw.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, body := call(); st != 200 || body != "cli1" {
		t.Fatalf("token from apikey sign: %d %s", st, body)
	}
	if _, _, err := runAPIKeyCLI(t, "", c, "apikey", "revoke", "cli1"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond) // store_key_cache_ttl
	if st, body := call(); st != 401 || !strings.Contains(body, "unknown_key") {
		t.Fatalf("revoked key: %d %s", st, body)
	}

	// The store's key 007 is shadowed by the file's 007: revoking the
	// stored one leaves 007 working, and the command must say so.
	if _, _, err := runAPIKeyCLI(t, "", c, "apikey", "create", "--id", "007"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "apigw", "keys.properties"), []byte("key007="+strings.Repeat("c", 64)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err = runAPIKeyCLI(t, "", c, "apikey", "revoke", "007")
	if err == nil || !strings.Contains(err.Error(), "keys.properties") || !strings.Contains(err.Error(), "still accepted") {
		t.Fatalf("revoke of a stored key shadowed by the file: %v; output %q", err, out)
	}
	if out, _, _ = runAPIKeyCLI(t, "", c, "apikey", "list"); strings.Contains(out, "store") {
		t.Fatalf("the stored 007 was not removed:\n%s", out)
	}
}

// TestAPIKeyCreateStoreKeysOff: with api_gateway.store_keys: false the
// gateway never reads the store, so create refuses rather than print a
// key that would not work.
func TestAPIKeyCreateStoreKeysOff(t *testing.T) {
	dir := t.TempDir()
	c := "--config=" + apiKeyConfig(t, dir, "http://127.0.0.1:1", "  store_keys: false\n")
	out, _, err := runAPIKeyCLI(t, "", c, "apikey", "create", "--groups", "watcher")
	if err == nil || !strings.Contains(err.Error(), "api_gateway.store_keys") {
		t.Fatalf("create with store_keys: false: %v\n%s", err, out)
	}
	if apiKeyLine.MatchString(out) {
		t.Fatal("a key was printed")
	}
}

// TestAPIKeyListBrokenFile: a keys file that does not parse does not hide
// the store's keys; list shows them and fails naming the file's line.
func TestAPIKeyListBrokenFile(t *testing.T) {
	dir := t.TempDir()
	d := "--data-dir=" + dir
	if _, _, err := runAPIKeyCLI(t, "", d, "apikey", "create", "--id", "s1", "--groups", "watcher"); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "apigw"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "apigw", "keys.properties"), []byte("key001="+strings.Repeat("a", 64)+"\nkey002=nothex\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := runAPIKeyCLI(t, "", d, "apikey", "list")
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("list with a broken keys file: %v", err)
	}
	if !regexp.MustCompile(`(?m)^s1 +watcher +store`).MatchString(out) {
		t.Fatalf("the store's keys are not listed:\n%s", out)
	}
}
